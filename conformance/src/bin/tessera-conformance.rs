//! `tessera-conformance --url URL --secret S [--filter substring] [--max-blob N]`
//!
//! Runs the conformance suite against a running relay (or worker) and prints
//! one line per case, then `conformance: N/M passed`. Exits non-zero when any
//! case fails.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tessera_conformance::{run_all, Target, DEFAULT_MAX_BLOB};

/// Black-box conformance suite for Tessera relays.
#[derive(Debug, Parser)]
#[command(name = "tessera-conformance", version, about)]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:8787
    #[arg(long, env = "TESSERA_URL")]
    url: String,
    /// The server's token secret (tokens for any vault and scope are minted with it).
    #[arg(long, env = "TESSERA_SECRET", hide_env_values = true)]
    secret: String,
    /// Run only cases whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// The blob size limit the server was started with, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BLOB)]
    max_blob: u64,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for case in tessera_conformance::cases() {
            println!("{}", case.name);
        }
        return ExitCode::SUCCESS;
    }
    let mut target = Target::new(args.url, args.secret);
    target.max_blob = args.max_blob;
    let report = run_all(&target, args.filter.as_deref(), |line| {
        println!("{line}");
        let _ = std::io::stdout().flush();
    })
    .await;
    println!("{}", report.summary());
    if report.failed.is_empty() && !report.passed.is_empty() {
        ExitCode::SUCCESS
    } else {
        if report.passed.is_empty() && report.failed.is_empty() {
            eprintln!("no case matched the filter");
        }
        ExitCode::FAILURE
    }
}
