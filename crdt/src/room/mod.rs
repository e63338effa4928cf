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

mod absent;
mod acks;
mod announce;
mod catalog;
mod dispatch;
mod doc;
mod durability;
mod effects;
mod files;
mod hibernate;
mod outbound;
mod pending;
mod rates;
mod schedule;
mod scope;
mod stats;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

pub use absent::MAX_ABSENT_FOLLOWS;
pub use doc::{Applied, CrdtError};
pub use effects::{close, Effect, Endpoint, RoomConfig, SessionId};
pub use hibernate::SessionRecord;
pub use stats::RoomStats;

use crate::awareness::AwarenessTable;
use crate::ids::{validate_doc_id, validate_stored_doc_id};
use crate::protocol::{ErrorCode, Message, VaultFrame, VAULT_LEVEL};
use crate::token::{Scope, WritePaths};
use acks::AckQueue;
use doc::CrdtDoc;
use outbound::send;
use schedule::SnapState;

/// What the room knows about a connection.
#[derive(Debug)]
struct Session {
    endpoint: Endpoint,
    scope: Scope,
    token_id: Option<String>,
    /// The token's path prefixes: writes outside them are refused.
    paths: Option<WritePaths>,
    /// Writes received per doc, numbering acks and refusals.
    writes: HashMap<String, u64>,
    /// Docs this session receives updates for.
    docs: HashSet<String>,
    /// Whether this (vault) session's first `changes-since` was answered.
    /// Until then it gets no announcements: an announcement's cursor would
    /// let the device skip changes made before it connected (issue 15).
    baseline: bool,
    /// Frames and bytes this session may still send ([`crate::rate`]).
    rate: rates::SessionRate,
    /// Docs in `docs` the vault does not hold yet (bounded: see `absent.rs`).
    absent: HashSet<String>,
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
    /// (In the index's queue) a path-limited session's write to another doc
    /// that waits for the index, to be checked against its path.
    Deferred {
        session: SessionId,
        doc: String,
        message: Vec<u8>,
        seq: u64,
    },
}

impl Queued {
    /// The session the work is for.
    fn session(&self) -> SessionId {
        match self {
            Queued::Greet(s)
            | Queued::Frame { session: s, .. }
            | Queued::Deferred { session: s, .. } => *s,
        }
    }
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

/// One vault's live state. See the module docs for the event flow.
pub struct Room {
    vault: String,
    config: RoomConfig,
    epoch: String,
    sessions: HashMap<SessionId, Session>,
    docs: HashMap<String, LiveDoc>,
    /// Every doc of the vault and the last ticket that changed it.
    catalog: HashMap<String, u64>,
    /// Catalog entries changed since the shell last took them
    /// ([`Room::catalog_changes`]): what it must append to its stored
    /// catalog before the log below them may be compacted.
    catalog_unsaved: HashSet<String>,
    /// True when the catalog is known to hold every doc of the vault
    /// ([`Room::mark_catalog_complete`]): a read of a doc outside it is
    /// answered as empty, without a load.
    catalog_complete: bool,
    /// Docs with log entries not yet loaded, and their first such ticket.
    recovering: HashMap<String, u64>,
    /// Docs with unsnapshotted changes.
    dirty: BTreeSet<String>,
    next_ticket: u64,
    acks: AckQueue,
    compacted_below: u64,
    /// Changes not yet announced to vault sessions that do not follow them.
    unannounced: VecDeque<(u64, String)>,
    /// Index entry id → the ticket that last changed the entry (for file
    /// versions). Kept in memory only: entries not changed since the index
    /// was loaded have [`Room::index_base`].
    entry_tickets: HashMap<String, u64>,
    /// The index's last change ticket when it was first loaded: the version
    /// of every entry not changed since (an upper bound, so a `?since=`
    /// listing never misses a change).
    index_base: Option<u64>,
    /// Doc id → index path, for path-limited sessions (built on first use).
    path_table: Option<scope::PathTable>,
    /// New connections per token.
    connects: crate::rate::RateTable<String>,
    /// Open sessions per token id.
    open_by_token: HashMap<String, u32>,
}

impl Room {
    /// A room for `vault` whose change cursors belong to `epoch`.
    pub fn new(vault: &str, config: RoomConfig, epoch: &str) -> Room {
        Room {
            vault: vault.to_owned(),
            epoch: epoch.to_owned(),
            sessions: HashMap::new(),
            docs: HashMap::new(),
            catalog: HashMap::new(),
            catalog_unsaved: HashSet::new(),
            catalog_complete: false,
            recovering: HashMap::new(),
            dirty: BTreeSet::new(),
            next_ticket: 1,
            acks: AckQueue::new(0),
            compacted_below: 1,
            unannounced: VecDeque::new(),
            entry_tickets: HashMap::new(),
            index_base: None,
            path_table: None,
            connects: rates::connect_table(&config.rates),
            open_by_token: HashMap::new(),
            config,
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
            // The log may hold changes the stored catalog never saw (it is
            // saved only before a compaction): they must be saved before
            // the entries that prove them are dropped.
            self.catalog_unsaved.insert(doc.clone());
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
            if let Err(e) = validate_stored_doc_id(doc) {
                out.push(Effect::Close {
                    to: session,
                    code: close::MALFORMED,
                    reason: e.to_string(),
                });
                return out;
            }
        }
        if let Err(limited) = self.admit(token_id.as_deref(), now) {
            out.push(rates::refusal(session, &limited));
            return out;
        }
        let mut s = Session {
            endpoint: endpoint.clone(),
            scope,
            token_id,
            paths: None,
            writes: HashMap::new(),
            docs: HashSet::new(),
            baseline: false,
            rate: rates::SessionRate::new(&self.config.rates),
            absent: HashSet::new(),
        };
        match endpoint {
            Endpoint::Vault => {
                self.insert_session(session, s);
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
                self.insert_session(session, s);
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
        let Some(s) = self.sessions.get_mut(&session) else {
            return out;
        };
        if let Err(limited) = s.rate.take(frame.len(), now) {
            self.close_session(
                session,
                close::RATE_LIMITED,
                &rates::reason(&limited),
                &mut out,
            );
            return out;
        }
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
        if validate_stored_doc_id(doc).is_ok() {
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
    /// The doc must be loaded ([`Room::doc_state`] returns `Some`). Index
    /// changes are held to the path policy like a device's.
    pub fn server_write(
        &mut self,
        doc: &str,
        update: &[u8],
        now: u64,
    ) -> Result<Vec<Effect>, CrdtError> {
        let mut out = Vec::new();
        self.server_apply(doc, update, now, &mut out)
            .map_err(|e| e.into_crdt())?;
        Ok(out)
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

    /// The doc's live state, starting a load if it is not in memory.
    fn live(&mut self, doc: &str, now: u64, out: &mut Vec<Effect>) -> &mut LiveDoc {
        if !self.docs.contains_key(doc) {
            out.push(Effect::Load {
                doc: doc.to_owned(),
            });
            let mut live = LiveDoc::loading(now);
            live.subscribers = self.waiting_subscribers(doc);
            if !live.subscribers.is_empty() {
                self.absent_created(doc);
            }
            self.docs.insert(doc.to_owned(), live);
        }
        self.docs
            .entry(doc.to_owned())
            .or_insert_with(|| LiveDoc::loading(now))
    }

    fn count_write(&mut self, session: SessionId, doc: &str) -> u64 {
        let Some(s) = self.sessions.get_mut(&session) else {
            return 0;
        };
        let n = s.writes.entry(doc.to_owned()).or_default();
        *n += 1;
        *n
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
