//! `tessera-partition`: simulated devices with random edits, renames,
//! deletes, disconnects, offline periods and relay kill -9 restarts; after
//! each round all devices must agree, with no paragraph duplicated and one
//! live entry per path. Seeded: `--seed` replays a run.

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use tessera_reliability::partition::{self, PartitionOptions};
use tessera_reliability::server::Server;

#[derive(Parser)]
#[command(about = "partition and convergence rounds against the relay (or the worker)")]
struct Args {
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Devices.
    #[arg(long, default_value_t = 4)]
    devices: usize,
    /// Random events per round.
    #[arg(long, default_value_t = 60)]
    steps: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Renames may also target the shared paths, so two offline devices can
    /// move two different notes onto one path (the plugin has no rule for it).
    #[arg(long)]
    rename_onto_shared_paths: bool,
    /// Self-test: never resolve path conflicts; a run with a collision must fail.
    #[arg(long)]
    skip_conflict_resolution: bool,
    /// The relay binary.
    #[arg(
        long,
        env = "TESSERA_RELAY_BIN",
        default_value = "target/debug/tessera-relay"
    )]
    relay_bin: PathBuf,
    /// Run against the worker under `wrangler dev` from this repository root instead.
    #[arg(long)]
    worker_root: Option<PathBuf>,
    /// The worker's token secret.
    #[arg(long, env = "TESSERA_SECRET", default_value = "")]
    secret: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let mut server = match &args.worker_root {
        Some(root) => Server::worker(root, &tmp.path().join("state"), &args.secret).await?,
        None => Server::relay(&args.relay_bin, &tmp.path().join("data"), &[]).await?,
    };
    let opts = PartitionOptions {
        rounds: args.rounds,
        devices: args.devices,
        steps: args.steps,
        seed: args.seed,
        rename_onto_shared_paths: args.rename_onto_shared_paths,
        skip_conflict_resolution: args.skip_conflict_resolution,
    };
    let report = partition::run(&mut server, &opts, |l| println!("{l}")).await?;
    println!("{}", report.summary());
    Ok(())
}
