//! The per-vault room: the state machine both relay shells drive.
//!
//! A shell feeds the room events — a session joined, a frame arrived, the log
//! is durable through ticket N, a snapshot was stored, the time is now T — and
//! carries out the [`Effect`]s it returns: send these bytes, load this doc,
//! append this update to the log, store this snapshot, close that socket.
//! The room never does I/O and never reads a clock, so the relay (tokio) and
//! the worker (Durable Objects) behave identically, and tests drive it
//! directly.
//!
//! Writes flow like this: a frame is decoded under the limits; the session's
//! scope is checked; the update is applied to the doc (a yrs panic
//! quarantines only that doc); a change gets a log ticket ([`Effect::Persist`])
//! and is forwarded to the doc's other sessions at once; the writer's ack is
//! sent when the shell reports the ticket durable. Changed docs are
//! snapshotted on a debounce ([`Effect::Snapshot`]); once stored, the log
//! below the oldest unsnapshotted change is released ([`Effect::CompactLog`]).

mod acks;
mod doc;
mod effects;
mod schedule;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;

pub use doc::{Applied, CrdtError};
pub use effects::{close, Effect, Endpoint, RoomConfig, SessionId};

use crate::awareness::{decode_update, AwarenessTable};
use crate::encoding::DecodeError;
use crate::ids::validate_doc_id;
use crate::protocol::{ErrorCode, Message, SyncMessage, VaultFrame, VAULT_LEVEL};
use crate::token::Scope;
use acks::AckQueue;
use doc::CrdtDoc;
use schedule::SnapState;

/// What the room knows about a connection.
#[derive(Debug)]
struct Session {
    endpoint: Endpoint,
    scope: Scope,
    token_id: Option<String>,
    /// Writes received per doc, numbering acks and refusals.
    writes: HashMap<String, u64>,
    /// Docs this session receives updates for.
    docs: HashSet<String>,
}

/// Work that arrived for a doc while it was loading.
#[derive(Debug)]
enum Queued {
    /// A doc-endpoint session waits for its greeting (step 1 + awareness).
    Greet(SessionId),
    /// A message (re-encoded without its envelope) and its write number.
    Frame {
        session: SessionId,
        message: Vec<u8>,
        seq: u64,
    },
}

enum Phase {
    Loading(VecDeque<Queued>),
    Ready(Box<CrdtDoc>),
    Quarantined(String),
}

struct LiveDoc {
    phase: Phase,
    subscribers: BTreeSet<SessionId>,
    awareness: AwarenessTable<SessionId>,
    snap: SnapState,
    last_active_ms: u64,
}

/// Counts for metrics and health checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Open sessions.
    pub sessions: usize,
    /// Docs held in memory (ready, loading or quarantined).
    pub docs_loaded: usize,
    /// Docs with changes not yet in a stored snapshot.
    pub docs_dirty: usize,
    /// Quarantined docs.
    pub docs_quarantined: usize,
    /// Acks waiting for durability.
    pub pending_acks: usize,
    /// Docs the vault holds (the catalog).
    pub docs_known: usize,
}

/// One vault's live state. See the module docs for the event flow.
pub struct Room {
    vault: String,
    config: RoomConfig,
    epoch: String,
    sessions: HashMap<SessionId, Session>,
    docs: HashMap<String, LiveDoc>,
    /// Every doc of the vault and the last ticket that changed it.
    catalog: HashMap<String, u64>,
    /// Docs with log entries not yet loaded, and their first such ticket.
    recovering: HashMap<String, u64>,
    /// Docs with unsnapshotted changes.
    dirty: BTreeSet<String>,
    next_ticket: u64,
    acks: AckQueue,
    compacted_below: u64,
}

impl Room {
    /// A room for `vault` whose change cursors belong to `epoch`.
    pub fn new(vault: &str, config: RoomConfig, epoch: &str) -> Room {
        Room {
            vault: vault.to_owned(),
            config,
            epoch: epoch.to_owned(),
            sessions: HashMap::new(),
            docs: HashMap::new(),
            catalog: HashMap::new(),
            recovering: HashMap::new(),
            dirty: BTreeSet::new(),
            next_ticket: 1,
            acks: AckQueue::new(0),
            compacted_below: 1,
        }
    }

    /// The vault this room serves.
    pub fn vault(&self) -> &str {
        &self.vault
    }

    /// The room's settings.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// Tells the room every doc the vault holds and its last change ticket
    /// (from stored heads). Without it, change cursors cannot be honoured and
    /// the shell must start a new epoch.
    pub fn load_catalog(&mut self, entries: impl IntoIterator<Item = (String, u64)>) {
        for (doc, ticket) in entries {
            let t = self.catalog.entry(doc).or_default();
            *t = (*t).max(ticket);
        }
    }

    /// Start-up after a restart: `next_ticket` exceeds every ticket ever
    /// issued (the log keeps its base across compaction), and `logged` lists
    /// each doc that has log entries with its first and last ticket. Those
    /// docs are loaded at once so their entries reach a snapshot; until then
    /// the log below them is never compacted.
    pub fn recover(
        &mut self,
        next_ticket: u64,
        logged: impl IntoIterator<Item = (String, u64, u64)>,
    ) -> Vec<Effect> {
        self.next_ticket = self.next_ticket.max(next_ticket);
        self.acks = AckQueue::new(self.next_ticket - 1);
        let mut out = Vec::new();
        for (doc, first, last) in logged {
            self.recovering.insert(doc.clone(), first);
            self.load_catalog([(doc.clone(), last)]);
            if !self.docs.contains_key(&doc) {
                self.docs.insert(doc.clone(), LiveDoc::loading(0));
                out.push(Effect::Load { doc });
            }
        }
        out
    }

    /// A session joined. Doc-endpoint sessions are greeted like the
    /// y-websocket server does (sync step 1, then awareness); vault-endpoint
    /// sessions get a hello with their scope and the change cursor.
    pub fn join(
        &mut self,
        session: SessionId,
        endpoint: Endpoint,
        scope: Scope,
        token_id: Option<String>,
        now: u64,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Endpoint::Doc(doc) = &endpoint {
            if let Err(e) = validate_doc_id(doc) {
                out.push(Effect::Close {
                    to: session,
                    code: close::MALFORMED,
                    reason: e.to_string(),
                });
                return out;
            }
        }
        let mut s = Session {
            endpoint: endpoint.clone(),
            scope,
            token_id,
            writes: HashMap::new(),
            docs: HashSet::new(),
        };
        match endpoint {
            Endpoint::Vault => {
                self.sessions.insert(session, s);
                let scope = scope.to_string();
                let hello = Message::Hello {
                    server: &self.config.server,
                    scope: &scope,
                    epoch: &self.epoch,
                    cursor: self.acks.durable_through(),
                };
                out.push(send(session, hello.to_vault_frame(VAULT_LEVEL)));
            }
            Endpoint::Doc(doc) => {
                s.docs.insert(doc.clone());
                self.sessions.insert(session, s);
                let live = self.live(&doc, now, &mut out);
                live.subscribers.insert(session);
                match &mut live.phase {
                    Phase::Loading(queue) => queue.push_back(Queued::Greet(session)),
                    Phase::Ready(_) => self.greet(session, &doc, &mut out),
                    Phase::Quarantined(reason) => {
                        let reason = reason.clone();
                        self.refuse(
                            session,
                            &doc,
                            ErrorCode::DocQuarantined,
                            0,
                            &reason,
                            &mut out,
                        );
                    }
                }
            }
        }
        out
    }

    /// A session left (socket closed). Its awareness states are removed and
    /// the removal is announced to the others.
    pub fn leave(&mut self, session: SessionId, _now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        self.drop_session(session, &mut out);
        out
    }

    /// A frame arrived from a session.
    pub fn receive(&mut self, session: SessionId, frame: &[u8], now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(s) = self.sessions.get(&session) else {
            return out;
        };
        let limits = self.config.limits;
        match s.endpoint.clone() {
            Endpoint::Doc(doc) => match Message::decode(frame, &limits) {
                Ok(message) => self.on_message(session, &doc, message, now, &mut out),
                Err(e) => self.reject_frame(session, None, &e, &mut out),
            },
            Endpoint::Vault => match VaultFrame::decode(frame, &limits) {
                Ok(f) if f.doc == VAULT_LEVEL => {
                    self.on_vault_message(session, f.message, &mut out)
                }
                Ok(f) => match validate_doc_id(f.doc) {
                    Ok(()) => self.on_message(session, f.doc, f.message, now, &mut out),
                    Err(e) => {
                        let seq = if f.message.is_write() {
                            self.count_write(session, f.doc)
                        } else {
                            0
                        };
                        self.refuse(
                            session,
                            f.doc,
                            ErrorCode::BadDocId,
                            seq,
                            &e.to_string(),
                            &mut out,
                        );
                    }
                },
                Err(e) => {
                    let doc = crate::encoding::Reader::new(frame)
                        .read_var_str("doc id", limits.max_doc_id_bytes)
                        .ok();
                    self.reject_frame(session, doc, &e, &mut out)
                }
            },
        }
        out
    }

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
        match failure {
            Some(reason) => {
                live.phase = Phase::Loading(queue);
                self.quarantine(doc, &reason, &mut out);
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
                if let Queued::Frame { session, seq, .. } = q {
                    if seq > 0 {
                        self.refuse(session, doc, ErrorCode::Internal, seq, &text, &mut out);
                    }
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

    /// Closes every session authenticated by token `token_id`.
    pub fn revoke(&mut self, token_id: &str) -> Vec<Effect> {
        let mut out = Vec::new();
        let victims: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.token_id.as_deref() == Some(token_id))
            .map(|(id, _)| *id)
            .collect();
        for session in victims {
            self.close_session(session, close::FORBIDDEN, "token revoked", &mut out);
        }
        out
    }

    /// Starts loading `doc` if it is not in memory, without a session (for
    /// restore). Returns the [`Effect::Load`] to carry out, if any.
    pub fn open(&mut self, doc: &str, now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        if validate_doc_id(doc).is_ok() {
            self.live(doc, now, &mut out);
        }
        out
    }

    /// True while `doc` is being loaded.
    pub fn is_loading(&self, doc: &str) -> bool {
        matches!(
            self.docs.get(doc).map(|l| &l.phase),
            Some(Phase::Loading(_))
        )
    }

    /// Every doc of the vault and the last ticket that changed it, sorted by
    /// doc id. The shell persists this before compacting the log so change
    /// cursors survive a restart.
    pub fn catalog(&self) -> Vec<(String, u64)> {
        let mut entries: Vec<(String, u64)> =
            self.catalog.iter().map(|(d, t)| (d.clone(), *t)).collect();
        entries.sort_unstable();
        entries
    }

    /// The merged state of a loaded doc (for restore and export), or `None`
    /// when it is not loaded and ready.
    pub fn doc_state(&self, doc: &str) -> Option<Vec<u8>> {
        match &self.docs.get(doc)?.phase {
            Phase::Ready(crdt) => crdt.encode_state().ok(),
            _ => None,
        }
    }

    /// A change made by the relay itself (restoring an old version): logged,
    /// forwarded to every session on the doc and snapshotted like any write.
    /// The doc must be loaded ([`Room::doc_state`] returns `Some`).
    pub fn server_write(
        &mut self,
        doc: &str,
        update: &[u8],
        now: u64,
    ) -> Result<Vec<Effect>, CrdtError> {
        let mut out = Vec::new();
        let Some(LiveDoc {
            phase: Phase::Ready(crdt),
            ..
        }) = self.docs.get_mut(doc)
        else {
            return Err(CrdtError::Malformed("the doc is not loaded".to_owned()));
        };
        if let Applied::Changed { effective } = crdt.apply(update)? {
            self.record_change(doc, effective.into(), None, now, &mut out);
        }
        Ok(out)
    }

    /// Counts for metrics.
    pub fn stats(&self) -> RoomStats {
        RoomStats {
            sessions: self.sessions.len(),
            docs_loaded: self.docs.len(),
            docs_dirty: self.dirty.len(),
            docs_quarantined: self
                .docs
                .values()
                .filter(|l| matches!(l.phase, Phase::Quarantined(_)))
                .count(),
            pending_acks: self.acks.len(),
            docs_known: self.catalog.len(),
        }
    }

    /// True when nothing is connected, nothing waits for storage, and the
    /// room could be dropped.
    pub fn is_idle(&self) -> bool {
        self.sessions.is_empty()
            && self.dirty.is_empty()
            && self.recovering.is_empty()
            && self.acks.len() == 0
    }

    /// The change cursor: the highest durable ticket.
    pub fn cursor(&self) -> u64 {
        self.acks.durable_through()
    }

    // ----- message handling -----

    fn on_vault_message(
        &mut self,
        session: SessionId,
        message: Message<'_>,
        out: &mut Vec<Effect>,
    ) {
        if let Message::ChangesSince { epoch, cursor } = message {
            let now_cursor = self.acks.durable_through();
            let reset = epoch != self.epoch || cursor > now_cursor;
            let mut docs: Vec<&str> = self
                .catalog
                .iter()
                .filter(|(_, t)| reset || **t > cursor)
                .map(|(d, _)| d.as_str())
                .collect();
            docs.sort_unstable();
            let reply = Message::Changes {
                epoch: &self.epoch,
                cursor: now_cursor,
                reset,
                docs,
            };
            out.push(send(session, reply.to_vault_frame(VAULT_LEVEL)));
        }
        // Other vault-level messages from a client carry nothing for the relay.
    }

    fn on_message(
        &mut self,
        session: SessionId,
        doc: &str,
        message: Message<'_>,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let seq = if message.is_write() {
            self.count_write(session, doc)
        } else {
            0
        };
        let is_new = !self.docs.contains_key(doc) && !self.catalog.contains_key(doc);
        if is_new
            && message.is_write()
            && self.catalog.len() >= self.config.limits.max_docs_per_vault
        {
            let text = format!(
                "this vault already holds {} notes, the limit",
                self.config.limits.max_docs_per_vault
            );
            self.refuse(session, doc, ErrorCode::LimitExceeded, seq, &text, out);
            return;
        }
        let max_queued = self.config.max_queued_frames;
        let live = self.live(doc, now, out);
        live.last_active_ms = now;
        match &mut live.phase {
            Phase::Ready(_) => self.on_ready(session, doc, message, seq, now, out),
            Phase::Loading(queue) if queue.len() < max_queued => {
                queue.push_back(Queued::Frame {
                    session,
                    message: message.to_bytes(),
                    seq,
                });
            }
            Phase::Loading(_) => self.close_session(
                session,
                close::TOO_LARGE,
                "too many messages while the note loads",
                out,
            ),
            Phase::Quarantined(reason) => {
                let reason = reason.clone();
                self.refuse(session, doc, ErrorCode::DocQuarantined, seq, &reason, out);
            }
        }
    }

    fn on_ready(
        &mut self,
        session: SessionId,
        doc: &str,
        message: Message<'_>,
        seq: u64,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let is_vault = s.endpoint == Endpoint::Vault;
        let scope = s.scope;
        if is_vault && !matches!(message, Message::QueryAwareness) && s.docs.insert(doc.to_owned())
        {
            self.subscribe(session, doc, out);
        }
        match message {
            Message::Sync(SyncMessage::Step1(sv)) => self.on_step1(session, doc, sv, is_vault, out),
            Message::Sync(SyncMessage::Step2(update) | SyncMessage::Update(update)) => {
                self.on_write(session, doc, update, seq, scope, now, out)
            }
            Message::Awareness(bytes) => match decode_update(bytes, &self.config.limits) {
                Ok(entries) => {
                    let forwarded = self
                        .docs
                        .get_mut(doc)
                        .and_then(|l| l.awareness.apply(session, &entries, now));
                    if let Some(update) = forwarded {
                        self.broadcast(
                            doc,
                            is_vault.then_some(session),
                            &Message::Awareness(&update),
                            out,
                        );
                    }
                }
                Err(e) => self.reject_frame(session, Some(doc), &e, out),
            },
            Message::QueryAwareness => {
                if let Some(update) = self.docs.get(doc).and_then(|l| l.awareness.full_update()) {
                    out.push(send(
                        session,
                        frame_for(is_vault, doc, &Message::Awareness(&update)),
                    ));
                }
            }
            // Acks, errors, hellos and auth messages from a client mean nothing to the relay.
            _ => {}
        }
    }

    fn on_step1(
        &mut self,
        session: SessionId,
        doc: &str,
        sv: &[u8],
        is_vault: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some(Phase::Ready(crdt)) = self.docs.get(doc).map(|l| &l.phase) else {
            return;
        };
        match crdt
            .diff(sv)
            .and_then(|diff| Ok((diff, crdt.state_vector()?)))
        {
            Ok((diff, ours)) => {
                out.push(send(
                    session,
                    frame_for(is_vault, doc, &Message::Sync(SyncMessage::Step2(&diff))),
                ));
                if is_vault {
                    // Ask for what we lack; the doc endpoint did this in its greeting.
                    out.push(send(
                        session,
                        frame_for(true, doc, &Message::Sync(SyncMessage::Step1(&ours))),
                    ));
                }
            }
            Err(CrdtError::Malformed(e)) => self.refuse(
                session,
                doc,
                ErrorCode::Malformed,
                0,
                &format!("bad state vector: {e}"),
                out,
            ),
            Err(CrdtError::Panicked(e)) => self.quarantine(doc, &e, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_write(
        &mut self,
        session: SessionId,
        doc: &str,
        update: &[u8],
        seq: u64,
        scope: Scope,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let max_doc = self.config.limits.max_doc_bytes;
        let Some(live) = self.docs.get_mut(doc) else {
            return;
        };
        let Phase::Ready(crdt) = &mut live.phase else {
            return;
        };
        let result = if scope < Scope::Write {
            match crdt.would_be_noop(update) {
                Ok(true) => Ok(Applied::Unchanged),
                Ok(false) => {
                    let text = "this token is read-only: your change was not saved";
                    return self.refuse(session, doc, ErrorCode::PermissionDenied, seq, text, out);
                }
                Err(e) => Err(e),
            }
        } else if crdt.approx_bytes.saturating_add(update.len()) > max_doc {
            let text = format!("this note would exceed {max_doc} bytes, the limit");
            return self.refuse(session, doc, ErrorCode::LimitExceeded, seq, &text, out);
        } else {
            crdt.apply(update)
        };
        let ticket = match result {
            Ok(Applied::Changed { effective }) => {
                let from_vault = self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.endpoint == Endpoint::Vault);
                self.record_change(
                    doc,
                    effective.into(),
                    from_vault.then_some(session),
                    now,
                    out,
                )
            }
            Ok(Applied::Unchanged) => self.next_ticket - 1,
            Err(CrdtError::Malformed(e)) => {
                return self.refuse(
                    session,
                    doc,
                    ErrorCode::Malformed,
                    seq,
                    &format!("bad update: {e}"),
                    out,
                )
            }
            Err(CrdtError::Panicked(e)) => return self.quarantine(doc, &e, out),
        };
        if seq > 0 {
            self.acks.push(ticket, session, doc, seq);
            let due = self.acks.release(0);
            out.extend(due.into_iter().filter_map(|(s, d, q)| {
                let vault = self
                    .sessions
                    .get(&s)
                    .is_some_and(|x| x.endpoint == Endpoint::Vault);
                vault.then(|| send(s, Message::Ack { seq: q }.to_vault_frame(&d)))
            }));
        }
    }

    // ----- helpers -----

    /// Logs a change under a new ticket, marks the doc for a snapshot and
    /// forwards it to the doc's sessions (except `skip`). Returns the ticket.
    fn record_change(
        &mut self,
        doc: &str,
        update: Bytes,
        skip: Option<SessionId>,
        now: u64,
        out: &mut Vec<Effect>,
    ) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(live) = self.docs.get_mut(doc) {
            live.snap.changed(ticket, now);
        }
        self.dirty.insert(doc.to_owned());
        self.catalog.insert(doc.to_owned(), ticket);
        out.push(Effect::Persist {
            ticket,
            doc: doc.to_owned(),
            update: update.clone(),
        });
        self.broadcast(doc, skip, &Message::Sync(SyncMessage::Update(&update)), out);
        ticket
    }

    /// The doc's live state, starting a load if it is not in memory.
    fn live(&mut self, doc: &str, now: u64, out: &mut Vec<Effect>) -> &mut LiveDoc {
        if !self.docs.contains_key(doc) {
            out.push(Effect::Load {
                doc: doc.to_owned(),
            });
        }
        self.docs
            .entry(doc.to_owned())
            .or_insert_with(|| LiveDoc::loading(now))
    }

    fn subscribe(&mut self, session: SessionId, doc: &str, out: &mut Vec<Effect>) {
        if let Some(live) = self.docs.get_mut(doc) {
            live.subscribers.insert(session);
            if let Some(update) = live.awareness.full_update() {
                out.push(send(
                    session,
                    frame_for(true, doc, &Message::Awareness(&update)),
                ));
            }
        }
    }

    fn greet(&mut self, session: SessionId, doc: &str, out: &mut Vec<Effect>) {
        let Some(live) = self.docs.get(doc) else {
            return;
        };
        let Phase::Ready(crdt) = &live.phase else {
            return;
        };
        match crdt.state_vector() {
            Ok(sv) => out.push(send(
                session,
                Message::Sync(SyncMessage::Step1(&sv)).to_bytes(),
            )),
            Err(e) => return self.quarantine(doc, &e.to_string(), out),
        }
        if let Some(update) = live.awareness.full_update() {
            out.push(send(session, Message::Awareness(&update).to_bytes()));
        }
    }

    fn count_write(&mut self, session: SessionId, doc: &str) -> u64 {
        let Some(s) = self.sessions.get_mut(&session) else {
            return 0;
        };
        let n = s.writes.entry(doc.to_owned()).or_default();
        *n += 1;
        *n
    }

    /// Sends `message` to every subscriber of `doc` except `skip`.
    fn broadcast(
        &self,
        doc: &str,
        skip: Option<SessionId>,
        message: &Message<'_>,
        out: &mut Vec<Effect>,
    ) {
        let Some(live) = self.docs.get(doc) else {
            return;
        };
        let (mut plain, mut framed): (Option<Bytes>, Option<Bytes>) = (None, None);
        for &to in &live.subscribers {
            if Some(to) == skip {
                continue;
            }
            let Some(s) = self.sessions.get(&to) else {
                continue;
            };
            let frame = if s.endpoint == Endpoint::Vault {
                framed
                    .get_or_insert_with(|| Bytes::from(message.to_vault_frame(doc)))
                    .clone()
            } else {
                plain
                    .get_or_insert_with(|| Bytes::from(message.to_bytes()))
                    .clone()
            };
            out.push(Effect::Send { to, frame });
        }
    }

    /// Tells a session no. Vault sessions get an error frame and stay
    /// connected; stock Yjs clients get the y-protocols permission-denied
    /// message, or a close with a reason they can log.
    fn refuse(
        &mut self,
        session: SessionId,
        doc: &str,
        code: ErrorCode,
        seq: u64,
        text: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.endpoint == Endpoint::Vault {
            out.push(send(
                session,
                Message::Error { code, seq, text }.to_vault_frame(doc),
            ));
            return;
        }
        let close_code = match code {
            ErrorCode::PermissionDenied => {
                out.push(send(
                    session,
                    Message::PermissionDenied { reason: text }.to_bytes(),
                ));
                return;
            }
            ErrorCode::LimitExceeded => close::TOO_LARGE,
            ErrorCode::DocQuarantined => close::DOC_QUARANTINED,
            ErrorCode::Internal | ErrorCode::Other(_) => close::INTERNAL,
            ErrorCode::Malformed | ErrorCode::BadDocId => close::MALFORMED,
        };
        self.close_session(session, close_code, text, out);
    }

    /// A frame that could not be decoded: the connection is out of step, so
    /// it is closed (vault sessions first get an error frame naming the doc).
    fn reject_frame(
        &mut self,
        session: SessionId,
        doc: Option<&str>,
        e: &DecodeError,
        out: &mut Vec<Effect>,
    ) {
        let (code, close_code) = match e {
            DecodeError::TooLong { .. } => (ErrorCode::LimitExceeded, close::TOO_LARGE),
            _ => (ErrorCode::Malformed, close::MALFORMED),
        };
        let text = e.to_string();
        if let (Some(doc), Some(s)) = (doc, self.sessions.get(&session)) {
            if s.endpoint == Endpoint::Vault {
                out.push(send(
                    session,
                    Message::Error {
                        code,
                        seq: 0,
                        text: &text,
                    }
                    .to_vault_frame(doc),
                ));
            }
        }
        self.close_session(session, close_code, &text, out);
    }

    fn close_session(
        &mut self,
        session: SessionId,
        code: u16,
        reason: &str,
        out: &mut Vec<Effect>,
    ) {
        if self.sessions.contains_key(&session) {
            self.drop_session(session, out);
            out.push(Effect::Close {
                to: session,
                code,
                reason: truncate_reason(reason),
            });
        }
    }

    fn drop_session(&mut self, session: SessionId, out: &mut Vec<Effect>) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.acks.forget(session);
        for doc in s.docs {
            let removal = self.docs.get_mut(&doc).and_then(|live| {
                live.subscribers.remove(&session);
                if let Phase::Loading(queue) = &mut live.phase {
                    queue.retain(|q| !matches!(q, Queued::Greet(s) | Queued::Frame { session: s, .. } if *s == session));
                }
                live.awareness.remove_owner(session)
            });
            if let Some(update) = removal {
                self.broadcast(&doc, None, &Message::Awareness(&update), out);
            }
        }
    }

    fn start_snapshot(&mut self, doc: &str, out: &mut Vec<Effect>) {
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
    fn quarantine(&mut self, doc: &str, reason: &str, out: &mut Vec<Effect>) {
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

    fn maybe_compact(&mut self, out: &mut Vec<Effect>) {
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

impl LiveDoc {
    fn loading(now: u64) -> LiveDoc {
        LiveDoc {
            phase: Phase::Loading(VecDeque::new()),
            subscribers: BTreeSet::new(),
            awareness: AwarenessTable::default(),
            snap: SnapState::default(),
            last_active_ms: now,
        }
    }
}

fn send(to: SessionId, frame: Vec<u8>) -> Effect {
    Effect::Send {
        to,
        frame: Bytes::from(frame),
    }
}

fn frame_for(is_vault: bool, doc: &str, message: &Message<'_>) -> Vec<u8> {
    if is_vault {
        message.to_vault_frame(doc)
    } else {
        message.to_bytes()
    }
}

/// WebSocket close reasons are limited to 123 bytes; cut on a char boundary.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}
