//! Acknowledgement latency at a steady ~1k updates/s on one doc.
//!
//! Tessera acks a write once it is fsynced to its log (durable). Of the peers
//! only Hocuspocus acknowledges at all: its sync-status message (type 8)
//! says an update was applied in memory, not stored, so its figure is a lower
//! bound for what a durable ack would cost. y-websocket and y-sweet have no
//! acknowledgement in their protocol.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{doc_id, Note};
use crate::conn::Conn;
use crate::procstat::Probe;
use crate::protocols::{classify, sync_update, Endpoint, Incoming, Proto, EMPTY_STATE_VECTOR};
use crate::stats::summary;

/// Hocuspocus' sync-status message type.
const HOCUSPOCUS_SYNC_STATUS: u8 = 8;

/// Sends `n` updates at `rate`/s and times each acknowledgement.
pub async fn run(ep: &Endpoint, probe: Probe, n: u64, rate: u64) -> Result<Value> {
    let kind = match ep.proto {
        Proto::TesseraVault => "durable (fsynced write-ahead log)",
        Proto::Hocuspocus => "applied in memory (sync status), not durable",
        _ => bail!("{:?} has no acknowledgements", ep.proto),
    };
    let doc = doc_id();
    let mut c = Conn::open(ep, &doc).await.context("connect")?;
    c.join(&doc, EMPTY_STATE_VECTOR).await?;
    c.wait_synced(&doc, None).await?;
    let Conn { mut tx, mut rx } = c;
    // Writes are acknowledged in order; Tessera's ack carries the count,
    // Hocuspocus' status one per update.
    let acked: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let acks = acked.clone();
    let proto = ep.proto;
    let reader = tokio::spawn(async move {
        loop {
            let frame = rx.recv().await?;
            let now = Instant::now();
            let (_, m) = rx.ep.unframe(&frame)?;
            let mut a = acks.lock().await;
            match (proto, classify(m)) {
                (Proto::TesseraVault, Incoming::Ack(seq)) => {
                    while (a.len() as u64) < seq {
                        a.push(now);
                    }
                }
                (Proto::Hocuspocus, _) if m.first() == Some(&HOCUSPOCUS_SYNC_STATUS) => a.push(now),
                (_, Incoming::Error(e)) => bail!("server error: {e}"),
                _ => {}
            }
        }
        #[allow(unreachable_code)]
        anyhow::Ok(())
    });
    let base = acked.lock().await.len();
    let note = Note::new();
    let cpu = Probe::start(probe.pid());
    let mut sent = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let update = sync_update(&note.append("k"));
        sent.push(Instant::now());
        tx.send(&doc, &update).await?;
    }
    let deadline = Instant::now() + crate::conn::STUCK;
    while acked.lock().await.len() < base + n as usize {
        if Instant::now() > deadline || reader.is_finished() {
            bail!(
                "only {} of {n} writes were acknowledged",
                acked.lock().await.len() - base
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    reader.abort();
    let a = acked.lock().await;
    let lat: Vec<f64> = sent
        .iter()
        .zip(&a[base..])
        .map(|(s, a)| a.saturating_duration_since(*s).as_secs_f64() * 1000.0)
        .collect();
    Ok(json!({
        "kind": kind,
        "updates": n,
        "rate_per_s": n as f64 / elapsed,
        "latency_ms": summary(lat),
        "server_cpu_s": cpu.cpu(),
    }))
}
