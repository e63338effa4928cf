//! Path-limited write tokens in the room: which writes of a session whose
//! token carries path prefixes ([`crate::token::WritePaths`]) are refused.
//!
//! A write is checked against the paths it touches:
//! - an index write, against every entry it changes, both the path the entry
//!   had (so nothing outside is renamed in, changed or deleted) and the path
//!   it would have (so nothing is created or renamed out);
//! - a note write, against the path the index gives the note's id (live or
//!   tombstone). A doc the index does not name yet passes: devices send a new
//!   note's text before its index entry, and until an entry (itself checked)
//!   names it, no device shows it.
//!
//! Writes that change nothing pass, so a limited device can finish a sync
//! of docs outside its prefixes. Paths are looked up in a table built from
//! the index and rebuilt only when the index's state vector moved. While the
//! index loads, note writes wait in its load queue, in order.

use std::collections::HashMap;

use super::doc::CrdtDoc;
use super::{close, Effect, Phase, Queued, Room, SessionId};
use crate::ids::INDEX_DOC;
use crate::protocol::{ErrorCode, Message, SyncMessage};
use crate::token::{Claims, WritePaths};

/// Doc id → path, from the index as of state vector `sv`.
#[derive(Debug, Default)]
pub(super) struct PathTable {
    sv: Vec<u8>,
    paths: HashMap<String, String>,
}

/// What the gate decided about a write.
pub(super) enum Gate {
    /// Apply it.
    Pass,
    /// It was refused or deferred: the refusal (or queueing) is done.
    Stop,
}

impl Room {
    /// [`Room::join`] for a session authenticated by `claims`: the token's
    /// scope, id and path prefixes. For a path-limited token the index is
    /// loaded at once, so its first note write need not wait for it.
    pub fn join_claims(
        &mut self,
        session: SessionId,
        endpoint: super::Endpoint,
        claims: &Claims,
        now: u64,
    ) -> Vec<Effect> {
        let mut out = self.join(
            session,
            endpoint,
            claims.scope,
            claims.token_id().map(str::to_owned),
            now,
        );
        if let (Some(s), Some(paths)) = (self.sessions.get_mut(&session), &claims.paths) {
            s.paths = Some(paths.clone());
            self.live(INDEX_DOC, now, &mut out);
        }
        out
    }

    /// Checks a write of a path-limited session before it is applied
    /// (`doc` is ready). Refuses it with `path-not-allowed`, defers it until
    /// the index is loaded, or lets it pass.
    pub(super) fn path_gate(
        &mut self,
        session: SessionId,
        doc: &str,
        update: &[u8],
        seq: u64,
        now: u64,
        out: &mut Vec<Effect>,
    ) -> Gate {
        let Some(paths) = self.sessions.get(&session).and_then(|s| s.paths.clone()) else {
            return Gate::Pass;
        };
        let Some(Phase::Ready(crdt)) = self.docs.get(doc).map(|l| &l.phase) else {
            return Gate::Pass;
        };
        if matches!(crdt.would_be_noop(update), Ok(true)) {
            return Gate::Pass;
        }
        let index_ready = match self.docs.get(INDEX_DOC).map(|l| &l.phase) {
            Some(Phase::Ready(_)) => true,
            Some(Phase::Quarantined(_)) => {
                let text = "the vault index is quarantined, so this token's path limits cannot \
                            be checked; the change was not saved";
                self.refuse(session, doc, ErrorCode::PathNotAllowed, seq, text, out);
                return Gate::Stop;
            }
            Some(Phase::Loading(_)) | None => false,
        };
        if !index_ready {
            self.defer_until_index(session, doc, update, seq, now, out);
            return Gate::Stop;
        }
        match self.outside_path(doc, update, &paths) {
            Ok(None) => Gate::Pass,
            Ok(Some(path)) => {
                let text = format!(
                    "path-not-allowed: {path:?} is outside this token's paths ({}); the change \
                     was not saved",
                    paths.as_slice().join(", ")
                );
                self.refuse(session, doc, ErrorCode::PathNotAllowed, seq, &text, out);
                Gate::Stop
            }
            Err(text) => {
                self.refuse(session, doc, ErrorCode::PathNotAllowed, seq, &text, out);
                Gate::Stop
            }
        }
    }

    /// The first path `update` to `doc` touches outside `paths`, if any.
    /// `Err` when the index cannot tell (it is unreadable).
    fn outside_path(
        &mut self,
        doc: &str,
        update: &[u8],
        paths: &WritePaths,
    ) -> Result<Option<String>, String> {
        let cannot = |e: super::CrdtError| {
            format!("this token's path limits cannot be checked ({e}); the change was not saved")
        };
        let Some(Phase::Ready(index)) = self.docs.get(INDEX_DOC).map(|l| &l.phase) else {
            return Err("the vault index is not loaded; retry".to_owned());
        };
        let changes = if doc == INDEX_DOC {
            Some(index.index_changes(update).map_err(cannot)?)
        } else {
            None
        };
        let table = refresh(&mut self.path_table, index).map_err(cannot)?;
        let Some(changes) = changes else {
            return Ok(table.paths.get(doc).filter(|p| !paths.allows(p)).cloned());
        };
        for (id, after) in changes {
            let before = table.paths.get(&id);
            if let Some(p) = before.filter(|p| !paths.allows(p)) {
                return Ok(Some(p.clone()));
            }
            if let Some(entry) = after.filter(|e| !paths.allows(&e.path)) {
                return Ok(Some(entry.path));
            }
        }
        Ok(None)
    }

    /// Queues a note write behind the index's load (starting it if needed).
    fn defer_until_index(
        &mut self,
        session: SessionId,
        doc: &str,
        update: &[u8],
        seq: u64,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let max_queued = self.config.max_queued_frames;
        let live = self.live(INDEX_DOC, now, out);
        let Phase::Loading(queue) = &mut live.phase else {
            return;
        };
        if queue.len() >= max_queued {
            let reason = "too many messages while the vault index loads";
            return self.close_session(session, close::TOO_LARGE, reason, out);
        }
        queue.push_back(Queued::Deferred {
            session,
            doc: doc.to_owned(),
            message: Message::Sync(SyncMessage::Update(update)).to_bytes(),
            seq,
        });
    }

    /// Runs a write that waited for the index, now that it is loaded.
    pub(super) fn replay_deferred(
        &mut self,
        session: SessionId,
        doc: &str,
        message: Vec<u8>,
        seq: u64,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let live = self.live(doc, now, out);
        match &mut live.phase {
            Phase::Ready(_) => {
                if let Ok(m) = Message::decode(&message, &self.config.limits) {
                    self.on_ready(session, doc, m, seq, now, out);
                }
            }
            Phase::Loading(queue) => queue.push_back(Queued::Frame {
                session,
                message,
                seq,
            }),
            Phase::Quarantined(reason) => {
                let reason = reason.clone();
                self.refuse(session, doc, ErrorCode::DocQuarantined, seq, &reason, out);
            }
        }
    }
}

/// The path table for `index`'s current state, rebuilt if the index moved.
fn refresh<'t>(
    slot: &'t mut Option<PathTable>,
    index: &CrdtDoc,
) -> Result<&'t PathTable, super::CrdtError> {
    let sv = index.state_vector()?;
    if slot.as_ref().is_none_or(|t| t.sv != sv) {
        let paths = index
            .index_entries()?
            .into_iter()
            .map(|e| (e.id, e.path))
            .collect();
        *slot = Some(PathTable { sv, paths });
    }
    Ok(slot.get_or_insert_with(PathTable::default))
}
