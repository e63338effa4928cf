//! Many docs, one client each: connect time, and the server's RSS per small
//! idle doc once they are all loaded.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::{doc_id, Note};
use crate::conn::Conn;
use crate::procstat::Probe;
use crate::protocols::{sync_step1, sync_update, Endpoint, EMPTY_STATE_VECTOR};
use crate::stats::summary;

/// Sockets being set up at once: like a crowd of clients arriving, not one
/// at a time, yet not so many that the load generator itself is the limit.
const CONCURRENCY: usize = 32;

/// Opens `docs` sockets, each on its own doc with a small note written into
/// it; when `shared` and the protocol multiplexes, all docs go over one socket.
/// `settle` is how long the server gets after the last write before its RSS
/// is read: every server does something with idle docs after a while
/// (y-sweet checkpoints after 10 s, Hocuspocus stores after 2 s, Tessera
/// makes them dormant after 5 s, checked every 5 s).
pub async fn run(
    ep: &Endpoint,
    probe: Probe,
    docs: usize,
    shared: bool,
    settle: Duration,
) -> Result<Value> {
    let rss0 = probe.rss();
    let ids: Vec<String> = (0..docs).map(|_| doc_id()).collect();
    let t0 = Instant::now();
    let (conns, connect_ms) = if shared && ep.proto.multiplexed() {
        let mut c = Conn::open(ep, "").await.context("connect")?;
        let mut lat = Vec::with_capacity(docs);
        for (i, id) in ids.iter().enumerate() {
            let t = Instant::now();
            write_note(&mut c, id, i).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        (vec![c], lat)
    } else {
        let results: Vec<(Conn, f64)> = stream::iter(ids.iter().enumerate())
            .map(|(i, id)| async move {
                let t = Instant::now();
                let mut c = Conn::open(ep, id).await.context("connect")?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                write_note(&mut c, id, i).await?;
                anyhow::Ok((c, ms))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        results.into_iter().unzip()
    };
    let total_s = t0.elapsed().as_secs_f64();
    tokio::time::sleep(settle).await;
    let rss1 = probe.rss();
    let per_doc = (rss1.saturating_sub(rss0) as f64 * 1024.0 / docs as f64).round();
    let sockets = conns.len();
    for c in conns {
        c.close().await;
    }
    Ok(json!({
        "docs": docs,
        "sockets": sockets,
        "load_seconds": total_s,
        "connect_ms": summary(connect_ms),
        "rss_before_kib": rss0,
        "rss_loaded_kib": rss1,
        "rss_per_doc_bytes": per_doc,
        "settle_seconds": settle.as_secs_f64(),
        "server_peak_rss_kib": probe.peak_rss(),
        "server_cpu_s": probe.cpu(),
    }))
}

/// Joins `id`, writes a short note and waits until the server has applied it
/// (a sync step 1 after the update is answered only once the update is in).
async fn write_note(c: &mut Conn, id: &str, i: usize) -> Result<()> {
    c.join(id, EMPTY_STATE_VECTOR).await?;
    c.wait_synced(id, None).await.context("initial sync")?;
    let note = Note::new();
    c.tx.send(
        id,
        &sync_update(&note.append(&format!("note {i}: a few words of text"))),
    )
    .await?;
    c.tx.send(id, &sync_step1(&note.state_vector())).await?;
    c.wait_synced(id, None).await.context("barrier")?;
    Ok(())
}
