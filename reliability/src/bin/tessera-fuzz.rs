//! `tessera-fuzz`: runs the hostile-input targets for a time or an execution
//! budget each and prints executions, outcomes and crashes per target.
//! Exits 1 on any crash or invariant violation.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use tessera_reliability::fuzz::{self, Budget, Target};

#[derive(Parser)]
#[command(about = "stable-Rust mutation fuzzer for Tessera's decoders and room")]
struct Args {
    /// Targets to run (frame, envelope, extension, token, snapshot, update); all if none.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Seconds per target.
    #[arg(long, conflicts_with = "execs")]
    seconds: Option<u64>,
    /// Executions per target.
    #[arg(long)]
    execs: Option<u64>,
    /// Seed for the mutator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The seed corpus (one folder per target).
    #[arg(long, default_value = "reliability/corpus")]
    corpus: PathBuf,
    /// Write the built-in seeds into the corpus folder and exit.
    #[arg(long)]
    write_corpus: bool,
    /// Where failing inputs are saved.
    #[arg(long, default_value = "target/fuzz-failures")]
    crashes: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let targets: Vec<Target> = if args.targets.is_empty() {
        Target::ALL.to_vec()
    } else {
        args.targets
            .iter()
            .map(|n| {
                Target::ALL
                    .into_iter()
                    .find(|t| t.name() == n)
                    .ok_or_else(|| anyhow::anyhow!("unknown target {n}"))
            })
            .collect::<Result<_>>()?
    };
    if args.write_corpus {
        for t in targets {
            let n = fuzz::write_corpus(&args.corpus, t)?;
            println!("{}: {n} seeds", t.name());
        }
        return Ok(());
    }
    let budget = match (args.seconds, args.execs) {
        (Some(s), _) => Budget::Time(Duration::from_secs(s)),
        (None, Some(n)) => Budget::Execs(n),
        (None, None) => Budget::Time(Duration::from_secs(10)),
    };
    let mut bad = 0;
    for t in targets {
        let corpus = fuzz::load_corpus(&args.corpus, t)?;
        let stats = fuzz::run(t, &corpus, budget, args.seed, &args.crashes)?;
        println!("{}", stats.line(t));
        for (path, reason) in &stats.failures {
            println!("  {}: {reason}", path.display());
        }
        bad += stats.crashes + stats.violations;
    }
    if bad > 0 {
        bail!("{bad} crashes or invariant violations");
    }
    Ok(())
}
