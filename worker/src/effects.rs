//! Carrying out one [`Effect`] of the room: frames to sockets, log entries
//! to SQLite, loads and snapshots in R2. Returns the effects the room asks
//! for next (after a load, a durable write, a stored snapshot).

use tessera_crdt::keys::DocId;
use tessera_crdt::room::{close, Effect};
use worker::console_error;

use crate::object::VaultObject;
use crate::respond::now_ms;

/// Carries out `effect` and returns the follow-up effects.
pub(crate) async fn carry_out(obj: &VaultObject, effect: Effect) -> Vec<Effect> {
    let now = now_ms();
    match effect {
        Effect::Send { to, frame } => obj
            .with(|live| {
                let sent = live.sockets.get(&to).map(|ws| ws.send_with_bytes(&frame));
                match sent {
                    Some(Err(_)) => {
                        // The socket is gone: the session leaves like on a close.
                        live.sockets.remove(&to);
                        live.room.leave(to, now)
                    }
                    _ => Vec::new(),
                }
            })
            .unwrap_or_default(),
        Effect::Close { to, code, reason } => {
            let ws = obj.with(|live| live.sockets.remove(&to)).flatten();
            if let Some(ws) = ws {
                let _ = ws.close(Some(code), Some(reason));
            }
            if let Ok(log) = obj.log() {
                let _ = log.drop_session(to);
            }
            Vec::new()
        }
        Effect::Load { doc } => load(obj, &doc, now).await,
        Effect::Persist {
            ticket,
            doc,
            update,
        } => {
            let written = obj
                .log()
                .map_err(|e| e.message)
                .and_then(|log| log.append(ticket, &doc, &update).map_err(|e| e.to_string()));
            match written {
                // The output gate holds the ack until SQLite has it on disk.
                Ok(()) => obj
                    .with(|live| live.room.durable(ticket))
                    .unwrap_or_default(),
                Err(e) => {
                    console_error!("appending to the log failed: {e}");
                    fail(obj, "the relay could not write its log")
                }
            }
        }
        Effect::Snapshot { doc, state, covers } => {
            let open = obj.with(|l| (l.vault.clone(), l.snapshot_keep));
            let result = match (obj.store(), DocId::new(&doc), open) {
                (Ok(store), Ok(id), Some((vault, keep))) => store
                    .store_snapshot(&vault, &id, &state, covers, keep, now)
                    .await
                    .map_err(|e| e.to_string()),
                (Err(e), _, _) => Err(e.message),
                (_, Err(e), _) => Err(e.to_string()),
                (_, _, None) => Err("the vault is not open".to_owned()),
            };
            let now = now_ms();
            obj.with(|live| match result {
                Ok(_) => live.room.snapshot_stored(&doc, covers, now),
                Err(e) => {
                    console_error!("storing a snapshot of {doc} failed; will retry: {e}");
                    live.room.snapshot_failed(&doc, now);
                    Vec::new()
                }
            })
            .unwrap_or_default()
        }
        Effect::CompactLog { below } => {
            // Only the entries changed since the last save (the catalog
            // table keeps the rest): O(changed docs) per compaction.
            let changes = obj
                .with(|live| live.room.catalog_changes())
                .unwrap_or_default();
            let saved = match obj.log() {
                // Keep the log if the catalog could not be saved: cursors depend on it.
                Ok(log) => match log.save_catalog(&changes) {
                    Ok(()) => {
                        if let Err(e) = log.compact(below) {
                            console_error!("log compaction failed; log kept: {e}");
                        }
                        true
                    }
                    Err(e) => {
                        console_error!("saving the change catalog failed; log kept: {e}");
                        false
                    }
                },
                Err(e) => {
                    console_error!("log compaction failed; log kept: {}", e.message);
                    false
                }
            };
            if !saved {
                // Not saved: they go with the next compaction.
                obj.with(|live| live.room.catalog_unsaved(changes));
            }
            Vec::new()
        }
        Effect::Quarantined { doc, reason } => {
            console_error!("note {doc} quarantined: {reason}");
            Vec::new()
        }
    }
}

/// Reads a doc's head snapshot from R2 and its log entries from SQLite.
async fn load(obj: &VaultObject, doc: &str, now: u64) -> Vec<Effect> {
    let stored = match (obj.store(), DocId::new(doc), obj.with(|l| l.vault.clone())) {
        (Ok(store), Ok(id), Some(vault)) => {
            store.load_doc(&vault, &id).await.map_err(|e| e.to_string())
        }
        (Err(e), _, _) => Err(e.message),
        (_, Err(e), _) => Err(e.to_string()),
        (_, _, None) => Err("the vault is not open".to_owned()),
    };
    let log = obj
        .log()
        .map_err(|e| e.message)
        .and_then(|log| log.entries(doc).map_err(|e| e.to_string()));
    let now = now.max(now_ms());
    obj.with(|live| match (stored, log) {
        (Ok(stored), Ok(entries)) => {
            let (state, covers) = stored.map_or((None, 0), |(s, c)| (Some(s), c));
            live.room
                .doc_loaded(doc, state.as_deref(), covers, &entries, now)
        }
        (Err(e), _) | (_, Err(e)) => {
            console_error!("loading note {doc} failed: {e}");
            live.room.doc_load_failed(doc, &e)
        }
    })
    .unwrap_or_default()
}

/// The vault can no longer make writes durable: close every session so
/// clients keep their edits and retry, rather than believe them saved.
fn fail(obj: &VaultObject, reason: &str) -> Vec<Effect> {
    obj.with(|live| {
        live.poisoned = true;
        let ids: Vec<_> = live.sockets.keys().copied().collect();
        let mut out = Vec::new();
        for to in ids {
            out.push(Effect::Close {
                to,
                code: close::INTERNAL,
                reason: reason.to_owned(),
            });
            out.extend(live.room.leave(to, now_ms()));
        }
        out
    })
    .unwrap_or_default()
}
