//! Measures a running relay for its issue report: idle RSS, RSS with 10k
//! small notes loaded, durable-ack latency at ~1k updates/s, and snapshot
//! writes per minute for one busy note among 10k idle ones.
//!
//! Usage: relay_report --url http://127.0.0.1:PORT --secret S --pid PID [--docs 10000] [--busy-secs 60]
//! (scripts/bench-relay.sh starts the relay and runs this.)

use std::time::Duration;

use anyhow::{bail, Context};
use tessera_conformance::{fresh_doc, fresh_vault, Target};
use tessera_crdt::token::Scope;
use tokio::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn rss_kib(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

async fn metric(base: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics")).await.ok();
    let text = match text {
        Some(r) => r.text().await.unwrap_or_default(),
        None => String::new(),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = arg("--url").context("--url")?;
    let secret = arg("--secret").context("--secret")?;
    let pid = arg("--pid").context("--pid")?;
    let n_docs: usize = arg("--docs")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(10_000);
    let busy_secs: u64 = arg("--busy-secs")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(60);
    let target = Target::new(&base, &secret);
    let idle_rss = rss_kib(&pid)?;

    // 10k small notes over one socket.
    let vault = fresh_vault();
    let mut loader = target.vault_client(&vault, Scope::Write).await?;
    let docs: Vec<String> = (0..n_docs).map(|_| fresh_doc()).collect();
    let t0 = Instant::now();
    for (i, doc) in docs.iter().enumerate() {
        loader
            .append(doc, &format!("note {i}: a few words of text"))
            .await?;
        // Read whatever already arrived: a client that stops reading is
        // disconnected by the relay's backpressure (4429), as it should be.
        while let Ok(true) = loader
            .pump(Instant::now() + Duration::from_micros(200), "acks")
            .await
        {}
    }
    for doc in &docs {
        let seq = loader.writes.get(doc).copied().unwrap_or(0);
        loader.wait_ack(doc, seq).await?;
    }
    let load_secs = t0.elapsed().as_secs_f64();
    // Wait until every note is snapshotted, so the busy phase counts only its own.
    let settle = Instant::now() + Duration::from_secs(600);
    while metric(&base, "tessera_docs_dirty").await > 0.0 {
        if Instant::now() > settle {
            bail!("snapshots of the loaded notes did not finish");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let loaded_rss = rss_kib(&pid)?;
    let docs_loaded = metric(&base, "tessera_docs_loaded").await;

    // Durable-ack latency at ~1k updates/s on one note.
    let mut writer = target.vault_client(&vault, Scope::Write).await?;
    let doc = fresh_doc();
    writer.open_and_sync(&doc).await?;
    let base_seq = writer.writes.get(&doc).copied().unwrap_or(0);
    let mut sent_at = Vec::new();
    let mut acked_at: Vec<Option<Instant>> = Vec::new();
    let start = Instant::now();
    let n = 10_000u64;
    for i in 0..n {
        let due = start + Duration::from_micros(i * 1000);
        while Instant::now() < due {
            let _ = writer.pump(due, "acks").await;
            record(&writer, &doc, base_seq, &mut acked_at);
        }
        sent_at.push(Instant::now());
        acked_at.push(None);
        writer.append(&doc, "k").await?;
    }
    writer.wait_ack(&doc, base_seq + n).await?;
    record(&writer, &doc, base_seq, &mut acked_at);
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = sent_at
        .iter()
        .zip(&acked_at)
        .map(|(s, a)| {
            a.unwrap_or_else(Instant::now)
                .duration_since(*s)
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));

    // One busy note among the idle ones: snapshot writes per minute.
    let before = metric(&base, "tessera_snapshots_written_total").await;
    let busy_start = Instant::now();
    let mut i = 0u64;
    // About ten keystrokes a second, like someone typing steadily.
    while busy_start.elapsed() < Duration::from_secs(busy_secs) {
        writer.append(&doc, "t").await?;
        i += 1;
        let next = Instant::now() + Duration::from_millis(100);
        while Instant::now() < next {
            let _ = writer.pump(next, "acks").await;
        }
    }
    let after = metric(&base, "tessera_snapshots_written_total").await;
    let per_minute = (after - before) * 60.0 / busy_start.elapsed().as_secs_f64();

    let report = serde_json::json!({
        "idle_rss_kib": idle_rss,
        "docs": n_docs,
        "docs_loaded": docs_loaded,
        "load_seconds": load_secs,
        "rss_with_docs_kib": loaded_rss,
        "rss_per_doc_bytes": (loaded_rss.saturating_sub(idle_rss) as f64 * 1024.0 / n_docs as f64).round(),
        "ack_latency_ms": { "updates": n, "rate_per_s": n as f64 / elapsed, "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99), "max": lat.last().copied().unwrap_or(0.0) },
        "busy_doc": { "updates": i, "seconds": busy_secs, "snapshot_writes_per_minute": per_minute },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Marks every write up to the highest ack as acknowledged now.
fn record(
    client: &tessera_conformance::client::VaultClient,
    doc: &str,
    base: u64,
    acked_at: &mut [Option<Instant>],
) {
    let acked = client
        .acked
        .get(doc)
        .copied()
        .unwrap_or(0)
        .saturating_sub(base) as usize;
    let now = Instant::now();
    let upto = acked.min(acked_at.len());
    for slot in acked_at[..upto].iter_mut().rev() {
        if slot.is_some() {
            break;
        }
        *slot = Some(now);
    }
}
