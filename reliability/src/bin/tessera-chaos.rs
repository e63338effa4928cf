//! `tessera-chaos`: writers on the vault endpoint, `kill -9` of the server at
//! seeded moments, restart, and a check that every acknowledged write is
//! there. Ends with `cycles N, acked M, lost K`; exits 1 if K > 0.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;
use tessera_reliability::chaos::{self, ChaosOptions};
use tessera_reliability::server::Server;

#[derive(Parser)]
#[command(about = "kill -9 chaos against the relay (or the worker under wrangler dev)")]
struct Args {
    /// Kill/restart cycles.
    #[arg(long, default_value_t = 10)]
    cycles: u32,
    /// Seed for kill moments and edits.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent writer sockets.
    #[arg(long, default_value_t = 3)]
    writers: usize,
    /// Note docs written to.
    #[arg(long, default_value_t = 8)]
    docs: usize,
    /// Upper bound of the seeded kill delay, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    max_kill_delay_ms: u64,
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
    /// Self-test: delete the relay's WAL after every kill; the run must then
    /// report lost writes (proves the check can fail).
    #[arg(long)]
    sabotage_wal: bool,
    /// The worker's token secret (as in .dev.vars).
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
    let opts = ChaosOptions {
        cycles: args.cycles,
        seed: args.seed,
        writers: args.writers,
        docs: args.docs,
        max_kill_delay_ms: args.max_kill_delay_ms,
        sabotage: args
            .sabotage_wal
            .then(|| tmp.path().join("data").join("wal")),
    };
    let report = chaos::run(&mut server, &opts, |l| println!("{l}")).await?;
    if !report.lost_examples.is_empty() {
        eprintln!(
            "lost, for example: {:?}\n{}",
            report.lost_examples,
            server.log_tail()
        );
    }
    println!("{}", report.summary());
    if report.lost > 0 {
        bail!("{} acknowledged writes were lost", report.lost);
    }
    if report.acked == 0 {
        bail!("nothing was acknowledged: the run proved nothing");
    }
    Ok(())
}
