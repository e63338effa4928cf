//! `tessera-bench`: runs one scenario against one running server and prints
//! its figures as one JSON object. scripts/bench.sh starts the servers and
//! runs every scenario against each.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::{Parser, Subcommand};
use tessera_bench::procstat::Probe;
use tessera_bench::protocols::{Endpoint, Proto};
use tessera_bench::scenarios::{ack, fanout, manydocs, replay, vaultsync};
use tessera_crdt::token::{mint, Claims, Scope, TokenKey};

#[derive(Parser)]
#[command(about = "Load generator: Tessera vs y-websocket, Hocuspocus, y-sweet")]
struct Cli {
    /// y-websocket | hocuspocus | y-sweet | tessera (doc endpoint) | tessera-vault
    #[arg(long)]
    peer: String,
    /// ws://127.0.0.1:PORT
    #[arg(long)]
    url: String,
    /// The server's process id, for CPU and RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Tessera's server secret (tokens are minted from it).
    #[arg(long, env = "TESSERA_SECRET", default_value = "")]
    secret: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// One writer, N readers.
    Fanout {
        #[arg(long)]
        readers: usize,
        #[arg(long, default_value_t = 100)]
        paced_rate: u64,
        #[arg(long, default_value_t = 2.0)]
        paced_secs: f64,
        #[arg(long, default_value_t = 3.0)]
        saturated_secs: f64,
    },
    /// N docs, one client each (or one multiplexed socket with --shared).
    Manydocs {
        #[arg(long)]
        docs: usize,
        #[arg(long)]
        shared: bool,
        /// Seconds between the last write and reading the RSS.
        #[arg(long, default_value_t = 12.0)]
        settle_secs: f64,
    },
    /// Keystroke replay of an editing trace between two clients.
    Replay {
        #[arg(long)]
        trace: PathBuf,
        #[arg(long, default_value_t = usize::MAX)]
        limit: usize,
    },
    /// Cold sync of a vault, then warm resyncs.
    Vaultsync {
        #[arg(long)]
        notes: usize,
        #[arg(long)]
        vaults: PathBuf,
        #[arg(long, default_value_t = 10)]
        changed: usize,
    },
    /// Acknowledgement latency at a steady rate.
    Ack {
        #[arg(long, default_value_t = 10_000)]
        updates: u64,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let proto = Proto::parse(&cli.peer).ok_or_else(|| anyhow!("unknown peer {}", cli.peer))?;
    let vault = format!(
        "bench-{}",
        hex::encode(tessera_crdt::ids::random_bytes::<6>())
    );
    let token = if matches!(proto, Proto::TesseraDoc | Proto::TesseraVault) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let claims = Claims::new(&vault, Scope::Write, now, Some(86_400), None)?;
        mint(&TokenKey::from_secret(cli.secret.as_bytes()), &claims)
    } else {
        String::new()
    };
    let ep = Endpoint {
        proto,
        base: cli.url.trim_end_matches('/').to_owned(),
        vault,
        token,
    };
    let probe = Probe::start(cli.pid);
    let out = match cli.scenario {
        Scenario::Fanout {
            readers,
            paced_rate,
            paced_secs,
            saturated_secs,
        } => {
            let p = fanout::Params {
                readers,
                paced_rate,
                paced: Duration::from_secs_f64(paced_secs),
                saturated: Duration::from_secs_f64(saturated_secs),
            };
            fanout::run(&ep, probe, p).await?
        }
        Scenario::Manydocs {
            docs,
            shared,
            settle_secs,
        } => {
            manydocs::run(
                &ep,
                probe,
                docs,
                shared,
                Duration::from_secs_f64(settle_secs),
            )
            .await?
        }
        Scenario::Replay { trace, limit } => {
            let (start, ops) = replay::load_trace(&trace)?;
            replay::run(&ep, probe, &start, &ops, limit).await?
        }
        Scenario::Vaultsync {
            notes,
            vaults,
            changed,
        } => {
            let texts = vaultsync::note_texts(&vaults, notes)?;
            vaultsync::run(&ep, probe, &texts, changed).await?
        }
        Scenario::Ack { updates, rate } => ack::run(&ep, probe, updates, rate).await?,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
