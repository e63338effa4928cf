//! Loading, acknowledging, snapshotting and forgetting docs: the room's
//! durability decisions, driven by the shell's storage reports and clock.

use bytes::Bytes;

use super::doc::CrdtDoc;
use super::outbound::send;
use super::{Effect, Endpoint, Phase, Queued, Room, SessionId};
use crate::protocol::{ErrorCode, Message};

impl Room {
    /// The shell loaded a doc: its head snapshot (if any) covering tickets
    /// through `covers`, and its log entries after that, in order.
    pub fn doc_loaded(
        &mut self,
        doc: &str,
        snapshot: Option<&[u8]>,
        covers: u64,
        log: &[(u64, Bytes)],
        now: u64,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(live) = self.docs.get_mut(doc) else {
            return out;
        };
        let Phase::Loading(queue) = &mut live.phase else {
            return out;
        };
        let queue = std::mem::take(queue);
        let mut crdt = CrdtDoc::new();
        let mut failure = None;
        for bytes in snapshot.into_iter().chain(
            log.iter()
                .filter(|(t, _)| *t > covers)
                .map(|(_, u)| u.as_ref()),
        ) {
            if let Err(e) = crdt.apply(bytes) {
                failure = Some(format!("stored state could not be applied: {e}"));
                break;
            }
        }
        if let Some((last, _)) = log.iter().rev().find(|(t, _)| *t > covers) {
            let first = log
                .iter()
                .find(|(t, _)| *t > covers)
                .map_or(*last, |(t, _)| *t);
            live.snap.changed(*last, now);
            live.snap.oldest_unsnapshotted = Some(first);
            self.dirty.insert(doc.to_owned());
        }
        self.recovering.remove(doc);
        live.last_active_ms = now;
        if doc == crate::ids::INDEX_DOC && self.index_base.is_none() {
            self.index_base = Some(self.catalog.get(doc).copied().unwrap_or(0));
        }
        match failure {
            Some(reason) => {
                self.quarantine(doc, &reason, &mut out);
                // Sessions that were waiting for the load hear it too, with
                // the number of any write they sent meanwhile.
                let text = format!("this note is closed after an internal error: {reason}");
                for q in queue {
                    let (session, on, seq, why) = match q {
                        Queued::Greet(session) => (session, doc.to_owned(), 0, text.as_str()),
                        Queued::Frame { session, seq, .. } => {
                            (session, doc.to_owned(), seq, text.as_str())
                        }
                        // A path-limited write to another doc waited for the
                        // index to check its path: it cannot be checked now.
                        Queued::Deferred {
                            session, doc, seq, ..
                        } => (
                            session,
                            doc,
                            seq,
                            "the vault's index could not be loaded, so this path-limited \
                             write cannot be checked; it was not saved",
                        ),
                    };
                    let code = if on == doc {
                        ErrorCode::DocQuarantined
                    } else {
                        ErrorCode::Internal
                    };
                    self.refuse(session, &on, code, seq, why, &mut out);
                }
            }
            None => {
                live.phase = Phase::Ready(Box::new(crdt));
                for q in queue {
                    match q {
                        Queued::Greet(session) => self.greet(session, doc, &mut out),
                        Queued::Frame {
                            session,
                            message,
                            seq,
                        } => {
                            if let Ok(m) = Message::decode(&message, &self.config.limits) {
                                self.on_ready(session, doc, m, seq, now, &mut out);
                            }
                        }
                        Queued::Deferred {
                            session,
                            doc: target,
                            message,
                            seq,
                        } => self.replay_deferred(session, &target, message, seq, now, &mut out),
                    }
                }
            }
        }
        out
    }

    /// Loading a doc failed (storage unreachable). Waiting sessions are told;
    /// the next request tries again.
    pub fn doc_load_failed(&mut self, doc: &str, reason: &str) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(live) = self.docs.remove(doc) else {
            return out;
        };
        let text = format!("the relay could not load this note: {reason}");
        for session in live.subscribers.iter().copied() {
            self.refuse(session, doc, ErrorCode::Internal, 0, &text, &mut out);
        }
        if let Phase::Loading(queue) = live.phase {
            for q in queue {
                match q {
                    Queued::Frame { session, seq, .. } if seq > 0 => {
                        self.refuse(session, doc, ErrorCode::Internal, seq, &text, &mut out);
                    }
                    Queued::Deferred {
                        session,
                        doc: target,
                        seq,
                        ..
                    } => {
                        let text = format!("the relay could not load the vault index: {reason}");
                        self.refuse(session, &target, ErrorCode::Internal, seq, &text, &mut out);
                    }
                    _ => {}
                }
            }
        }
        for session in live.subscribers {
            if let Some(s) = self.sessions.get_mut(&session) {
                s.docs.remove(doc);
            }
        }
        out
    }

    /// The log is durable through `ticket`: release the acks waiting for it.
    pub fn durable(&mut self, ticket: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        for (session, doc, seq) in self.acks.release(ticket) {
            if matches!(self.sessions.get(&session), Some(s) if s.endpoint == Endpoint::Vault) {
                out.push(send(session, Message::Ack { seq }.to_vault_frame(&doc)));
            }
        }
        let durable = self.acks.durable_through();
        self.announce_durable(durable, &mut out);
        out
    }

    /// A snapshot of `doc` covering tickets through `covers` is stored and
    /// its head moved.
    pub fn snapshot_stored(&mut self, doc: &str, covers: u64, now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Some(live) = self.docs.get_mut(doc) {
            live.snap.stored(covers, now);
            if !live.snap.is_dirty() {
                self.dirty.remove(doc);
            }
        }
        self.maybe_compact(&mut out);
        out
    }

    /// Storing a snapshot failed; it is retried with backoff.
    pub fn snapshot_failed(&mut self, doc: &str, now: u64) {
        if let Some(live) = self.docs.get_mut(doc) {
            live.snap.failed(now, &self.config);
        }
    }

    /// Advances time: starts due snapshots and expires silent awareness states.
    pub fn tick(&mut self, now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        let due: Vec<String> = self
            .dirty
            .iter()
            .filter(|d| {
                self.docs
                    .get(*d)
                    .and_then(|l| l.snap.due(&self.config))
                    .is_some_and(|t| t <= now)
            })
            .cloned()
            .collect();
        for doc in due {
            self.start_snapshot(&doc, &mut out);
        }
        let timeout = self.config.awareness_timeout_ms;
        let mut expired = Vec::new();
        for (doc, live) in &mut self.docs {
            if let Some(update) = live.awareness.expire(now, timeout) {
                expired.push((doc.clone(), update));
            }
        }
        for (doc, update) in expired {
            self.broadcast(&doc, None, &Message::Awareness(&update), &mut out);
        }
        out
    }

    /// Snapshots every changed doc now, regardless of debounce (shutdown).
    pub fn flush(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        let dirty: Vec<String> = self.dirty.iter().cloned().collect();
        for doc in dirty {
            if self
                .docs
                .get(&doc)
                .is_some_and(|l| l.snap.in_flight.is_none())
            {
                self.start_snapshot(&doc, &mut out);
            }
        }
        out
    }

    /// When the shell should call [`Room::tick`] next, if anything is scheduled.
    pub fn next_deadline(&self) -> Option<u64> {
        let snapshots = self
            .dirty
            .iter()
            .filter_map(|d| self.docs.get(d)?.snap.due(&self.config));
        let awareness = self
            .docs
            .values()
            .filter_map(|l| l.awareness.next_expiry(self.config.awareness_timeout_ms));
        snapshots.chain(awareness).min()
    }

    /// Drops docs nobody uses that have been idle for `idle_ms` and hold no
    /// unsnapshotted changes; they reload on demand. Returns their ids.
    pub fn evict_idle(&mut self, now: u64, idle_ms: u64) -> Vec<String> {
        let idle: Vec<String> = self
            .docs
            .iter()
            .filter(|(_, l)| {
                matches!(l.phase, Phase::Ready(_))
                    && l.subscribers.is_empty()
                    && !l.snap.is_dirty()
                    && l.snap.in_flight.is_none()
                    && l.snap.oldest_unsnapshotted.is_none()
                    && now.saturating_sub(l.last_active_ms) >= idle_ms
            })
            .map(|(d, _)| d.clone())
            .collect();
        for d in &idle {
            self.docs.remove(d);
        }
        idle
    }

    /// Makes docs that have been idle for `idle_ms` dormant (see
    /// `CrdtDoc::hibernate`), subscribed or not: a vault's thousands of notes
    /// that are open on some device but not being edited then cost about
    /// their encoded size. Returns how many went dormant now.
    pub fn hibernate_idle(&mut self, now: u64, idle_ms: u64) -> usize {
        let mut n = 0;
        for live in self.docs.values_mut() {
            if now.saturating_sub(live.last_active_ms) < idle_ms {
                continue;
            }
            if let Phase::Ready(crdt) = &mut live.phase {
                // A doc that cannot be encoded stays live; it is still correct.
                if !crdt.is_dormant() && crdt.hibernate().is_ok() {
                    n += 1;
                }
            }
        }
        n
    }

    pub(super) fn start_snapshot(&mut self, doc: &str, out: &mut Vec<Effect>) {
        let Some(live) = self.docs.get_mut(doc) else {
            return;
        };
        let Phase::Ready(crdt) = &mut live.phase else {
            return;
        };
        match crdt.encode_state() {
            Ok(state) => {
                crdt.approx_bytes = state.len();
                let covers = live.snap.start();
                out.push(Effect::Snapshot {
                    doc: doc.to_owned(),
                    state,
                    covers,
                });
            }
            Err(e) => self.quarantine(doc, &e.to_string(), out),
        }
    }

    /// Closes a doc whose state can no longer be trusted. Its log entries are
    /// kept (never compacted) so nothing acknowledged is lost.
    pub(super) fn quarantine(&mut self, doc: &str, reason: &str, out: &mut Vec<Effect>) {
        let Some(live) = self.docs.get_mut(doc) else {
            return;
        };
        live.phase = Phase::Quarantined(format!(
            "this note is closed after an internal error: {reason}"
        ));
        live.snap.in_flight = None;
        // Stop snapshotting it, but keep its log.
        live.snap.dirty_since = None;
        self.dirty.remove(doc);
        let subscribers: Vec<SessionId> = live.subscribers.iter().copied().collect();
        out.push(Effect::Quarantined {
            doc: doc.to_owned(),
            reason: reason.to_owned(),
        });
        let text = format!("this note is closed after an internal error: {reason}");
        for session in subscribers {
            self.refuse(session, doc, ErrorCode::DocQuarantined, 0, &text, out);
        }
    }

    pub(super) fn maybe_compact(&mut self, out: &mut Vec<Effect>) {
        let below = self
            .docs
            .values()
            .filter_map(|l| l.snap.oldest_unsnapshotted)
            .chain(self.recovering.values().copied())
            .min()
            .unwrap_or(self.next_ticket);
        if below > self.compacted_below {
            self.compacted_below = below;
            out.push(Effect::CompactLog { below });
        }
    }
}
