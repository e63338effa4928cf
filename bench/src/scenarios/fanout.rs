//! Fan-out: one writer, N readers on one doc.
//!
//! Two phases on the same sockets:
//! 1. paced — the writer sends at a fixed, moderate rate; the delivery
//!    latency (send → each reader's receipt) is the server's own delay;
//! 2. saturated — the writer sends as fast as the slowest reader keeps up
//!    (at most `WINDOW` updates ahead of it): updates/s is the throughput.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::{doc_id, marker, markers, Note};
use crate::conn::{Conn, Receiver};
use crate::procstat::Probe;
use crate::protocols::{classify, sync_update, Endpoint, Incoming, EMPTY_STATE_VECTOR};
use crate::stats::summary;

/// Most updates the writer may be ahead of the slowest reader. Below
/// Tessera's per-connection send queue (1024), so its backpressure never
/// disconnects a reader that is merely behind.
const WINDOW: u64 = 256;

/// Phase lengths.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Readers.
    pub readers: usize,
    /// Paced phase: updates per second and duration.
    pub paced_rate: u64,
    /// Paced phase duration.
    pub paced: Duration,
    /// Saturated phase duration.
    pub saturated: Duration,
}

/// Shared between the writer and the readers.
struct Shared {
    t0: Instant,
    /// Send time of each update, nanoseconds after `t0`.
    sent: Vec<AtomicU64>,
    /// The last sequence number, once the writer knows it.
    last: AtomicU64,
    /// Updates received so far, per reader.
    progress: Vec<AtomicU64>,
}

/// Runs the scenario; returns updates/s, latencies and server CPU.
pub async fn run(ep: &Endpoint, probe: Probe, p: Params) -> Result<Value> {
    let doc = doc_id();
    let cap = 2_000_000usize;
    let shared = Arc::new(Shared {
        t0: Instant::now(),
        sent: (0..cap).map(|_| AtomicU64::new(0)).collect(),
        last: AtomicU64::new(u64::MAX),
        progress: (0..p.readers).map(|_| AtomicU64::new(0)).collect(),
    });

    let mut readers = Vec::new();
    for i in 0..p.readers {
        let mut c = Conn::open(ep, &doc).await.context("reader connect")?;
        c.join(&doc, EMPTY_STATE_VECTOR).await?;
        c.wait_synced(&doc, None).await.context("reader sync")?;
        let shared = shared.clone();
        let Conn { tx, rx } = c;
        readers.push(tokio::spawn(async move {
            let r = read(rx, &shared, i).await;
            drop(tx);
            r
        }));
    }
    let mut w = Conn::open(ep, &doc).await.context("writer connect")?;
    w.join(&doc, EMPTY_STATE_VECTOR).await?;
    w.wait_synced(&doc, None).await.context("writer sync")?;
    let Conn {
        tx: mut wtx,
        rx: wrx,
    } = w;
    // The server echoes to the writer too (and Tessera acks): keep reading.
    let drain = tokio::spawn(drain(wrx));
    let note = Note::new();
    let cpu = Probe::start(probe.pid());

    // Phase 1: paced.
    let paced_n = (p.paced_rate as f64 * p.paced.as_secs_f64()) as u64;
    let start = Instant::now();
    let mut seq = 0u64;
    let send = |seq: u64| {
        shared.sent[seq as usize].store(shared.t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        sync_update(&note.append(&marker(seq)))
    };
    for _ in 0..paced_n {
        let due = start + Duration::from_secs_f64(seq as f64 / p.paced_rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let m = send(seq);
        wtx.send(&doc, &m).await?;
        seq += 1;
    }
    let paced_end = seq;
    wait_progress(&shared, paced_end).await?;
    let cpu_paced = cpu.cpu();

    // Phase 2: saturated.
    let cpu = Probe::start(probe.pid());
    let sat_start = Instant::now();
    let sat_first = seq;
    while sat_start.elapsed() < p.saturated && (seq as usize) < cap - 1 {
        while seq - slowest(&shared) >= WINDOW {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        let m = send(seq);
        wtx.send(&doc, &m).await?;
        seq += 1;
    }
    shared.last.store(seq, Ordering::SeqCst);
    let m = send(seq);
    wtx.send(&doc, &m).await?;
    let mut paced_lat = Vec::new();
    let mut sat_lat = Vec::new();
    let mut done_at = 0u64;
    for r in readers {
        let (lat, last_ns) = r.await.context("reader task")??;
        done_at = done_at.max(last_ns);
        for (s, l) in lat {
            // BENCH_DEBUG=1 names the slow deliveries (for finding stalls).
            if std::env::var_os("BENCH_DEBUG").is_some() && l > 5.0 {
                eprintln!("fanout: update {s} took {l:.1} ms");
            }
            if s < paced_end {
                paced_lat.push(l);
            } else {
                sat_lat.push(l);
            }
        }
    }
    let sat_secs = Duration::from_nanos(done_at)
        .saturating_sub(sat_start - shared.t0)
        .as_secs_f64();
    let sat_updates = seq + 1 - sat_first;
    let (wbytes_out, echo_bytes) = (wtx.bytes_out, drain.abort_handle());
    echo_bytes.abort();
    Ok(json!({
        "readers": p.readers,
        "paced": {
            "rate_per_s": p.paced_rate,
            "updates": paced_end,
            "latency_ms": summary(paced_lat),
            "server_cpu_s": cpu_paced,
        },
        "saturated": {
            "updates": sat_updates,
            "seconds": sat_secs,
            "updates_per_s": sat_updates as f64 / sat_secs.max(1e-9),
            "deliveries_per_s": (sat_updates as f64 * p.readers as f64) / sat_secs.max(1e-9),
            "latency_ms": summary(sat_lat),
            "server_cpu_s": cpu.cpu(),
        },
        "writer_bytes_out": wbytes_out,
        "server_peak_rss_kib": probe.peak_rss(),
    }))
}

/// The lowest progress of any reader.
fn slowest(shared: &Shared) -> u64 {
    shared
        .progress
        .iter()
        .map(|p| p.load(Ordering::Relaxed))
        .min()
        .unwrap_or(u64::MAX)
}

async fn wait_progress(shared: &Shared, n: u64) -> Result<()> {
    let deadline = Instant::now() + crate::conn::STUCK;
    while slowest(shared) < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "readers stuck at {} of {n}",
            slowest(shared)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// A reader: records (seq, latency ms) per update until the last one, and
/// the time it arrived (ns after t0).
async fn read(mut rx: Receiver, shared: &Shared, me: usize) -> Result<(Vec<(u64, f64)>, u64)> {
    let mut lat = Vec::new();
    loop {
        let frame = rx.recv().await?;
        let now = shared.t0.elapsed().as_nanos() as u64;
        let (_, message) = rx.ep.unframe(&frame)?;
        if let Incoming::Update(u) = classify(message) {
            for s in markers(u) {
                let sent = shared
                    .sent
                    .get(s as usize)
                    .map(|t| t.load(Ordering::Relaxed))
                    .unwrap_or(now);
                lat.push((s, now.saturating_sub(sent) as f64 / 1e6));
                shared.progress[me].fetch_max(s + 1, Ordering::Relaxed);
                if s == shared.last.load(Ordering::SeqCst) {
                    return Ok((lat, now));
                }
            }
        }
    }
}

/// Reads and discards everything (the writer's echo and acks).
pub async fn drain(mut rx: Receiver) -> u64 {
    while rx.recv().await.is_ok() {}
    rx.bytes_in
}
