//! `tessera-soak`: many clients on a few docs for a fixed time on loopback;
//! fails on any error, any lost acked write, or relay RSS still growing
//! after warm-up (mean of the late half of the samples over the early half).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use tessera_reliability::server::Server;
use tessera_reliability::soak::{self, SoakOptions};

#[derive(Parser)]
#[command(about = "bounded loopback soak against the relay, with RSS from /proc")]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Docs shared by the clients.
    #[arg(long, default_value_t = 50)]
    docs: usize,
    /// Seconds of writing.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seconds of warm-up (RSS samples before are not judged).
    #[arg(long, default_value_t = 20)]
    warmup_seconds: u64,
    /// Mean pause between one client's writes, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pause_ms: u64,
    /// Largest accepted RSS growth after warm-up, in percent.
    #[arg(long, default_value_t = 25)]
    max_growth_percent: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The relay binary.
    #[arg(
        long,
        env = "TESSERA_RELAY_BIN",
        default_value = "target/debug/tessera-relay"
    )]
    relay_bin: PathBuf,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let server = Server::relay(&args.relay_bin, &tmp.path().join("data"), &[]).await?;
    let opts = SoakOptions {
        clients: args.clients,
        docs: args.docs,
        duration: Duration::from_secs(args.seconds),
        warmup: Duration::from_secs(args.warmup_seconds),
        pause_ms: args.pause_ms,
        seed: args.seed,
    };
    let report = soak::run(&server, &opts, |l| println!("{l}")).await?;
    let warm = opts.warmup.as_secs();
    let mid = warm + (args.seconds.saturating_sub(warm)) / 2;
    let early = report.mean_rss(warm, mid);
    let late = report.mean_rss(mid, u64::MAX);
    let growth = (late.saturating_sub(early) * 100)
        .checked_div(early)
        .unwrap_or(0);
    let peak = report.rss.iter().map(|(_, k)| *k).max().unwrap_or(0);
    for e in &report.error_examples {
        eprintln!("  {e}");
    }
    println!(
        "soak: clients {}, docs {}, seconds {}, writes {}, acked {}, errors {}, lost {}, relay RSS mean {} MiB after warm-up, {} MiB in the last half, peak {} MiB, growth {growth}%",
        args.clients, args.docs, args.seconds, report.writes, report.acked, report.errors, report.lost,
        early / 1024, late / 1024, peak / 1024
    );
    if report.errors > 0 || report.lost > 0 {
        bail!(
            "{} errors, {} acked writes lost",
            report.errors,
            report.lost
        );
    }
    if report.acked == 0 {
        bail!("nothing was acknowledged: the soak proved nothing");
    }
    if growth > args.max_growth_percent {
        bail!(
            "relay RSS grew {growth}% after warm-up (limit {}%)",
            args.max_growth_percent
        );
    }
    Ok(())
}
