//! Keystroke replay: an editing trace typed into one client, one update per
//! keystroke, relayed to a second client. Total time until the second client
//! has every keystroke, and the server's CPU time for it.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::fanout::drain;
use super::{doc_id, marker, markers, Note};
use crate::conn::Conn;
use crate::procstat::Probe;
use crate::protocols::{classify, sync_update, Endpoint, Incoming, EMPTY_STATE_VECTOR};

/// Most characters (inserted or deleted) the typist may be ahead of the
/// receiver: at most as many updates, below Tessera's send queue and
/// y-sweet's per-connection channel (1024; y-sweet drops what overflows).
const WINDOW: u64 = 256;

/// One keystroke: delete `delete` chars at `at`, then insert `insert` there.
#[derive(Debug)]
pub struct Op {
    at: u32,
    delete: u32,
    insert: String,
}

/// Reads a trace in the automerge-perf format (`txns[].patches[] = [pos, del, ins]`),
/// gzipped. Positions are code points; the traces used here are ASCII.
pub fn load_trace(path: &Path) -> Result<(String, Vec<Op>)> {
    let mut json = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
    )
    .read_to_string(&mut json)?;
    let trace: Value = serde_json::from_str(&json)?;
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut ops = Vec::new();
    for txn in trace["txns"]
        .as_array()
        .ok_or_else(|| anyhow!("trace has no txns"))?
    {
        for p in txn["patches"]
            .as_array()
            .ok_or_else(|| anyhow!("txn without patches"))?
        {
            let insert = p[2]
                .as_str()
                .ok_or_else(|| anyhow!("bad insert"))?
                .to_owned();
            anyhow::ensure!(insert.is_ascii(), "only ASCII traces are supported");
            ops.push(Op {
                at: u32::try_from(p[0].as_u64().ok_or_else(|| anyhow!("bad pos"))?)?,
                delete: u32::try_from(p[1].as_u64().ok_or_else(|| anyhow!("bad delete"))?)?,
                insert,
            });
        }
    }
    Ok((start, ops))
}

/// Replays `ops` (at most `limit` of them) from a typist to a receiver.
pub async fn run(
    ep: &Endpoint,
    probe: Probe,
    start: &str,
    ops: &[Op],
    limit: usize,
) -> Result<Value> {
    let ops = &ops[..ops.len().min(limit)];
    let doc = doc_id();
    let mut r = Conn::open(ep, &doc).await.context("receiver connect")?;
    r.join(&doc, EMPTY_STATE_VECTOR).await?;
    r.wait_synced(&doc, None).await?;
    let mut w = Conn::open(ep, &doc).await.context("typist connect")?;
    w.join(&doc, EMPTY_STATE_VECTOR).await?;
    w.wait_synced(&doc, None).await?;
    let Conn {
        tx: mut wtx,
        rx: wrx,
    } = w;
    let echo = tokio::spawn(drain(wrx));

    let note = Note::new();
    if !start.is_empty() {
        wtx.send(&doc, &sync_update(&note.append(start))).await?;
    }
    // Hocuspocus merges updates that arrive close together, so the receiver
    // cannot count messages: progress is characters inserted (the typist's
    // clock) plus characters deleted, and the end is a marker in a root the
    // text never shows.
    let progress = Arc::new(AtomicU64::new(0));
    let client = note.client_id();
    let end = marker(99_999_999);
    let Conn {
        tx: rtx,
        rx: mut rrx,
    } = r;
    let seen = progress.clone();
    let receiver = tokio::spawn(async move {
        let _keep = rtx;
        // The receiver applies what it gets, like any client: its state
        // vector tells how far the typist's edits have arrived.
        let copy = Note::new();
        let mut deleted = 0u64;
        loop {
            let frame = rrx.recv().await?;
            let (_, message) = rrx.ep.unframe(&frame)?;
            if let Incoming::Update(u) = classify(message) {
                deleted += u64::from(copy.apply_counting_deletes(u)?);
                seen.fetch_max(
                    u64::from(copy.clock_of(client)) + deleted,
                    Ordering::Relaxed,
                );
                if markers(u).any(|m| m == 99_999_999) {
                    return anyhow::Ok((Instant::now(), rrx.bytes_in));
                }
            }
        }
    });

    let cpu = Probe::start(probe.pid());
    let t0 = Instant::now();
    let mut typed = start.len() as u64;
    for op in ops {
        let deadline = Instant::now() + Duration::from_secs(5);
        while typed.saturating_sub(progress.load(Ordering::Relaxed)) >= WINDOW {
            if receiver.is_finished() {
                receiver.await??;
                anyhow::bail!("the receiver stopped early");
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "receiver stopped getting keystrokes ({} of {typed} characters arrived)",
                progress.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        let update = note.splice(op.at, op.delete, &op.insert);
        wtx.send(&doc, &sync_update(&update)).await?;
        typed += u64::from(op.delete) + op.insert.len() as u64;
    }
    wtx.send(&doc, &sync_update(&note.mark(&end))).await?;
    let (done, bytes_in) = tokio::time::timeout(Duration::from_secs(300), receiver)
        .await
        .map_err(|_| anyhow!("receiver did not get every keystroke"))???;
    let secs = done.duration_since(t0).as_secs_f64();
    echo.abort();
    Ok(json!({
        "ops": ops.len(),
        "seconds": secs,
        "ops_per_s": ops.len() as f64 / secs.max(1e-9),
        "server_cpu_s": cpu.cpu(),
        "typist_bytes_out": wtx.bytes_out,
        "receiver_bytes_in": bytes_in,
        "server_peak_rss_kib": probe.peak_rss(),
        "final_len": note.text().len(),
    }))
}
