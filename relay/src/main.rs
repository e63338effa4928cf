//! `tessera-relay`: run the relay, or manage a vault from the command line.

mod cli;

use clap::Parser;
use tessera_relay::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match args.command {
        None => cli::serve::run(args.serve).await,
        Some(Command::Serve(serve)) => cli::serve::run(serve).await,
        Some(Command::Token(a)) => cli::admin::token(a),
        Some(Command::Tokens(cmd)) => cli::tokens::run(cmd).await,
        Some(Command::Vault(cmd)) => cli::vault::run(cmd).await,
        Some(Command::Revoke(a)) => cli::admin::revoke(a).await,
        Some(Command::Export(a)) => cli::export::run(a).await,
        Some(Command::Backup(a)) => cli::backup::run(a).await,
        Some(Command::History(a)) => cli::admin::history(a).await,
        Some(Command::Restore(a)) => cli::admin::restore(a).await,
        Some(Command::Check(a)) => cli::admin::check(a).await,
    }
}
