//! Vault sync: a device downloads every note of a vault (cold), then comes
//! back after 0 or K notes were edited elsewhere (warm).
//!
//! Every client is handed the list of doc ids (Tessera would read it from the
//! index doc; the peers have no such thing), so only note traffic is compared.
//! Multiplexed protocols (Tessera's vault endpoint, Hocuspocus) use one socket
//! with up to `IN_FLIGHT` docs being synced at once; the others open one
//! socket per doc, `CONCURRENCY` at a time. Bytes are WebSocket payloads in
//! both directions.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use futures_util::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::{doc_id, Note};
use crate::conn::Conn;
use crate::procstat::Probe;
use crate::protocols::{
    changes_since, classify, hocuspocus_auth, sync_step1, sync_update, Endpoint, Incoming, Proto,
    EMPTY_STATE_VECTOR,
};

/// What the other device adds to each changed note.
const EDIT: &str = " (edited elsewhere)";

/// How long a doc may take to arrive after the sync step 2 before it is
/// reported as incomplete.
const LATE: std::time::Duration = std::time::Duration::from_secs(3);

/// Docs syncing at once on one multiplexed socket.
const IN_FLIGHT: usize = 64;
/// Sockets open at once when each doc has its own.
const CONCURRENCY: usize = 32;

/// Note texts from real vaults (`*.md` under `dir`), cycled to `n` notes.
pub fn note_texts(dir: &Path, n: usize) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    anyhow::ensure!(!texts.is_empty(), "no .md files under {}", dir.display());
    Ok((0..n).map(|i| texts[i % texts.len()].clone()).collect())
}

/// Time and bytes of one sync.
struct Sync {
    secs: f64,
    bytes_out: u64,
    bytes_in: u64,
    docs: usize,
}

impl Sync {
    fn json(&self) -> Value {
        json!({
            "seconds": self.secs,
            "ms": self.secs * 1000.0,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "bytes": self.bytes_out + self.bytes_in,
            "docs_synced": self.docs,
        })
    }
}

/// Runs load → cold sync → warm resync (0 changed) → warm resync (`changed` changed).
pub async fn run(ep: &Endpoint, probe: Probe, texts: &[String], changed: usize) -> Result<Value> {
    let ids: Vec<String> = (0..texts.len()).map(|_| doc_id()).collect();
    let t0 = Instant::now();
    // Load with the same protocol the device uses.
    let loaded: Vec<(String, Note)> = ids
        .iter()
        .zip(texts)
        .map(|(id, t)| {
            let n = Note::new();
            n.append(t);
            (id.clone(), n)
        })
        .collect();
    eprintln!("vaultsync: loading {} notes", loaded.len());
    push(ep, &loaded, false)
        .await
        .context("loading the vault")?;
    let load_s = t0.elapsed().as_secs_f64();
    let state_bytes: usize = loaded.iter().map(|(_, n)| n.state().len()).sum();

    // Cold: an empty device. Tessera's vault client remembers the cursor from hello.
    let mut device: HashMap<String, Note> =
        ids.iter().map(|id| (id.clone(), Note::new())).collect();
    let mut expect: HashMap<String, usize> = ids
        .iter()
        .cloned()
        .zip(texts.iter().map(String::len))
        .collect();
    eprintln!("vaultsync: cold sync");
    let cpu = Probe::start(probe.pid());
    let (cold, cursor) = sync(ep, &ids, &mut device, &expect, None)
        .await
        .context("cold sync")?;
    let cold_cpu = cpu.cpu();
    let wrong = ids
        .iter()
        .zip(texts)
        .filter(|(id, t)| device.get(*id).map(|n| n.text()) != Some((*t).clone()))
        .count();

    eprintln!("vaultsync: warm resync, no changes");
    let (warm0, cursor) = sync(ep, &ids, &mut device, &expect, cursor)
        .await
        .context("warm resync, no changes")?;

    // Another device edits `changed` notes.
    let edits: Vec<(String, Note)> = ids
        .iter()
        .take(changed)
        .map(|id| {
            let n = Note::new();
            n.append(EDIT);
            (id.clone(), n)
        })
        .collect();
    eprintln!("vaultsync: editing {changed} notes, then warm resync");
    let editor = push(ep, &edits, true).await.context("editing notes")?;
    for (id, _) in &edits {
        if let Some(n) = expect.get_mut(id) {
            *n += EDIT.len();
        }
    }
    let (warm_k, _) = sync(ep, &ids, &mut device, &expect, cursor)
        .await
        .context("warm resync with changes")?;
    let got = ids
        .iter()
        .take(changed)
        .filter(|id| device.get(*id).is_some_and(|n| n.text().contains(EDIT)))
        .count();
    for c in editor {
        c.close().await;
    }

    Ok(json!({
        "notes": ids.len(),
        "state_bytes": state_bytes,
        "load_seconds": load_s,
        "cold": cold.json(),
        "cold_server_cpu_s": cold_cpu,
        "warm_0": warm0.json(),
        "cold_notes_wrong": wrong,
        "warm_changed": changed,
        "warm_edits_received": got,
        "warm_k": warm_k.json(),
        "server_peak_rss_kib": probe.peak_rss(),
    }))
}

/// Writes each note's state to the server and waits until it is applied.
/// With `stay`, the sockets stay open (returned): the editing device is
/// still online. y-websocket loses an edit whose socket closes while the doc
/// is still loading from LevelDB, so closing at once would not be fair to it.
async fn push(ep: &Endpoint, notes: &[(String, Note)], stay: bool) -> Result<Vec<Conn>> {
    let ep_ref = ep;
    if ep.proto.multiplexed() {
        let mut c = Conn::open(ep, "").await?;
        for chunk in notes.chunks(IN_FLIGHT) {
            for (id, n) in chunk {
                if ep.proto == Proto::Hocuspocus {
                    c.tx.feed(id, &hocuspocus_auth("bench")).await?;
                }
                c.tx.feed(id, &sync_update(&n.state())).await?;
                // Answered only after the update is applied: a barrier.
                c.tx.feed(id, &sync_step1(&n.state_vector())).await?;
            }
            c.tx.flush().await?;
            let mut pending: HashSet<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            while !pending.is_empty() {
                let frame = c.rx.recv().await?;
                let (d, m) = c.rx.ep.unframe(&frame)?;
                match classify(m) {
                    Incoming::Step2(_) => {
                        pending.remove(d);
                    }
                    Incoming::Error(e) => return Err(anyhow!("server error on {d}: {e}")),
                    _ => {}
                }
            }
        }
        if stay {
            return Ok(vec![c]);
        }
        c.close().await;
        return Ok(Vec::new());
    }
    let conns: Vec<Option<Conn>> = stream::iter(notes)
        .map(|(id, n)| async move {
            let mut c = Conn::open(ep_ref, id).await?;
            c.tx.send(id, &sync_update(&n.state())).await?;
            c.tx.send(id, &sync_step1(&n.state_vector())).await?;
            c.wait_synced(id, None).await?;
            if stay {
                return anyhow::Ok(Some(c));
            }
            c.close().await;
            anyhow::Ok(None)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(conns.into_iter().flatten().collect())
}

/// Brings `device` up to date. Tessera's vault endpoint with a cursor asks
/// for the changed docs only; everything else syncs every doc. Returns the
/// figures and (Tessera) the cursor to resume from next time.
async fn sync(
    ep: &Endpoint,
    ids: &[String],
    device: &mut HashMap<String, Note>,
    expect: &HashMap<String, usize>,
    cursor: Option<(String, u64)>,
) -> Result<(Sync, Option<(String, u64)>)> {
    let t0 = Instant::now();
    if !ep.proto.multiplexed() {
        let jobs: Vec<(String, Note, usize)> = ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    device.remove(id).unwrap_or_default(),
                    expect.get(id).copied().unwrap_or(0),
                )
            })
            .collect();
        let results: Vec<(String, Note, u64, u64)> = stream::iter(jobs)
            .map(|(id, note, want)| async move {
                let mut c = Conn::open(ep, &id).await?;
                c.join(&id, &note.state_vector()).await?;
                note.apply(&c.wait_synced(&id, None).await?)?;
                // y-websocket answers from memory while it is still loading the
                // doc from LevelDB; the rest follows as an update.
                let deadline = tokio::time::Instant::now() + LATE;
                while note.text().len() < want {
                    let Ok(frame) = tokio::time::timeout_at(deadline, c.rx.recv()).await else {
                        eprintln!(
                            "vaultsync: doc {id}: {} of {want} bytes of text after {LATE:?}",
                            note.text().len()
                        );
                        break;
                    };
                    if let Incoming::Update(u) = classify(&frame?) {
                        note.apply(u)?;
                    }
                }
                let (o, i) = c.bytes();
                c.close().await;
                anyhow::Ok((id, note, o, i))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut s = Sync {
            secs: 0.0,
            bytes_out: 0,
            bytes_in: 0,
            docs: ids.len(),
        };
        for (id, note, o, i) in results {
            device.insert(id, note);
            s.bytes_out += o;
            s.bytes_in += i;
        }
        s.secs = t0.elapsed().as_secs_f64();
        return Ok((s, None));
    }

    let mut c = Conn::open(ep, "").await?;
    let mut next_cursor = None;
    let mut todo: Vec<String> = ids.to_vec();
    if ep.proto == Proto::TesseraVault {
        // The hello comes first; with a cursor, ask what changed since.
        let (epoch, now) = loop {
            let frame = c.rx.recv().await?;
            let (_, m) = c.rx.ep.unframe(&frame)?;
            if let Incoming::Hello { epoch, cursor } = classify(m) {
                break (epoch.to_owned(), cursor);
            }
        };
        next_cursor = Some((epoch.clone(), now));
        if let Some((old_epoch, old)) = &cursor {
            c.tx.send("", &changes_since(old_epoch, *old)).await?;
            todo = loop {
                let frame = c.rx.recv().await?;
                let (_, m) = c.rx.ep.unframe(&frame)?;
                if let Incoming::Changes { cursor, docs } = classify(m) {
                    next_cursor = Some((epoch.clone(), cursor));
                    break docs
                        .into_iter()
                        .map(str::to_owned)
                        .filter(|d| device.contains_key(d))
                        .collect();
                }
            };
        }
    }
    let n = todo.len();
    let mut next = 0;
    let mut pending: HashSet<String> = HashSet::new();
    while next < n || !pending.is_empty() {
        while pending.len() < IN_FLIGHT && next < n {
            let id = &todo[next];
            let sv = device
                .get(id)
                .map(Note::state_vector)
                .unwrap_or_else(|| EMPTY_STATE_VECTOR.to_vec());
            if ep.proto == Proto::Hocuspocus {
                c.tx.feed(id, &hocuspocus_auth("bench")).await?;
            }
            c.tx.feed(id, &sync_step1(&sv)).await?;
            pending.insert(id.clone());
            next += 1;
        }
        c.tx.flush().await?;
        let frame = c.rx.recv().await?;
        let (d, m) = c.rx.ep.unframe(&frame)?;
        match classify(m) {
            Incoming::Step2(update) | Incoming::Update(update) if pending.contains(d) => {
                if let Some(note) = device.get(d) {
                    note.apply(update)?;
                    // Synced once the note has what the server holds (see above).
                    if note.text().len() >= expect.get(d).copied().unwrap_or(0) {
                        pending.remove(d);
                    }
                }
            }
            Incoming::Error(e) => return Err(anyhow!("server error on {d}: {e}")),
            _ => {}
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let (bytes_out, bytes_in) = c.bytes();
    c.close().await;
    Ok((
        Sync {
            secs,
            bytes_out,
            bytes_in,
            docs: n,
        },
        next_cursor,
    ))
}
