//! The vault's actor: one task that owns the room and carries out its effects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tessera_crdt::keys::{DocId, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::room::{close, Effect, Room, SessionId};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::{millis, persist, wall_ms, Cmd, SessionTx, SnapshotOutcome, VaultDeps, VaultStats};
use crate::wal::{Recovered, WalHandle};

pub(super) struct Actor {
    pub(super) id: VaultId,
    pub(super) deps: VaultDeps,
    pub(super) room: Room,
    pub(super) wal: WalHandle,
    pub(super) tx: mpsc::Sender<Cmd>,
    pub(super) sessions: HashMap<SessionId, SessionTx>,
    pub(super) recovered: Recovered,
    /// Requests waiting for a doc to load.
    pub(super) waiting: Vec<(String, Waiting)>,
    pub(super) flushes: Vec<oneshot::Sender<()>>,
    pub(super) catalog_path: PathBuf,
    pub(super) started: Instant,
    pub(super) dirty_since: Option<Instant>,
    /// A compaction is running in its own task.
    pub(super) compacting: bool,
    /// The highest `below` asked for while one was running.
    pub(super) compact_next: Option<u64>,
    /// Catalog changes appended since its base was last rewritten, and the
    /// base's size then: the base is rewritten once the appended lines
    /// outgrow it, so the catalog's own compaction stays O(1) amortized.
    pub(super) catalog_appended: usize,
    pub(super) catalog_base: usize,
    /// When a command other than a stats or unload query last arrived.
    pub(super) last_activity: Instant,
    /// Set when the vault unloads: the run loop ends.
    pub(super) unloaded: bool,
    /// File requests waiting for a doc to load.
    pub(super) files_waiting: Vec<super::files::PendingFile>,
    /// File edits applied, answered once the log is durable through their ticket.
    pub(super) files_durable: Vec<(
        u64,
        super::files::FileReplyTx,
        tessera_crdt::files::FileReply,
    )>,
}

impl Actor {
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, initial: Vec<Effect>) {
        self.deps.metrics.vaults_loaded.fetch_add(1, Relaxed);
        self.apply(initial).await;
        let mut durable = self.wal.durable();
        let mut housekeeping = tokio::time::interval(Duration::from_secs(5));
        loop {
            let deadline = self
                .room
                .next_deadline()
                .map(|t| self.started + Duration::from_millis(t));
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        self.handle(cmd).await;
                        if self.unloaded {
                            break;
                        }
                    }
                    None => break,
                },
                changed = durable.changed() => {
                    if changed.is_err() {
                        self.fail("the write-ahead log failed").await;
                        break;
                    }
                    let through = *durable.borrow_and_update();
                    let fx = self.room.durable(through);
                    self.apply(fx).await;
                    self.release_files();
                }
                () = sleep => {
                    let fx = self.room.tick(self.now());
                    self.apply(fx).await;
                }
                _ = housekeeping.tick() => self.housekeeping(),
            }
        }
        self.deps.metrics.vaults_loaded.fetch_sub(1, Relaxed);
    }

    async fn handle(&mut self, cmd: Cmd) {
        let now = self.now();
        if !matches!(cmd, Cmd::Stats { .. } | Cmd::UnloadIfIdle { .. }) {
            self.last_activity = Instant::now();
        }
        let fx = match cmd {
            Cmd::Join {
                session,
                endpoint,
                claims,
                tx,
            } => {
                self.sessions.insert(session, tx);
                self.room.join_claims(session, endpoint, &claims, now)
            }
            Cmd::Leave { session } => {
                self.sessions.remove(&session);
                self.room.leave(session, now)
            }
            Cmd::Frame { session, bytes } => self.room.receive(session, &bytes, now),
            Cmd::Revoke { token_id } => self.room.revoke(&token_id),
            Cmd::Restore { doc, text, reply } => {
                self.wait_for(doc, Waiting::Restore { text, reply }).await;
                Vec::new()
            }
            Cmd::State { doc, reply } => {
                self.wait_for(doc, Waiting::State(reply)).await;
                Vec::new()
            }
            Cmd::Files { req, reply } => {
                let pending = super::files::PendingFile {
                    req,
                    reply,
                    loads: 0,
                };
                self.file_step(pending).await;
                Vec::new()
            }
            Cmd::Flush { reply } => {
                self.flushes.push(reply);
                let fx = self.room.flush();
                self.apply(fx).await;
                self.check_flushes();
                Vec::new()
            }
            Cmd::CloseAll {
                code,
                reason,
                reply,
            } => {
                let now = self.now();
                for (session, tx) in std::mem::take(&mut self.sessions) {
                    let _ = tx.close.send(Some((code, reason.clone())));
                    let fx = self.room.leave(session, now);
                    self.apply(fx).await;
                }
                let _ = reply.send(());
                Vec::new()
            }
            Cmd::GoingAway { reply } => {
                let now = self.now();
                for (session, tx) in std::mem::take(&mut self.sessions) {
                    let _ = tx.close.send(Some((
                        close::GOING_AWAY,
                        "the relay is shutting down; reconnect shortly".into(),
                    )));
                    let fx = self.room.leave(session, now);
                    self.apply(fx).await;
                }
                let _ = reply.send(());
                Vec::new()
            }
            Cmd::Stats { reply } => {
                let _ = reply.send(self.stats());
                Vec::new()
            }
            Cmd::UnloadIfIdle { idle_for, reply } => {
                self.unloaded = self.may_unload(idle_for);
                if self.unloaded {
                    debug!(vault = %self.id, "idle: unloaded from memory");
                }
                let _ = reply.send(self.unloaded);
                Vec::new()
            }
            Cmd::Loaded { doc, result } => {
                let fx = match result {
                    Ok(stored) => {
                        let log = self.recovered.docs.remove(&doc).unwrap_or_default();
                        let (state, covers) =
                            stored.map_or((None, 0), |s| (Some(s.state), s.covers));
                        self.room
                            .doc_loaded(&doc, state.as_deref(), covers, &log, now)
                    }
                    Err(reason) => {
                        self.deps.metrics.error("load-failed");
                        warn!(vault = %self.id, doc, %reason, "loading a note failed");
                        self.room.doc_load_failed(&doc, &reason)
                    }
                };
                self.apply(fx).await;
                self.serve_waiting().await;
                self.retry_files().await;
                Vec::new()
            }
            Cmd::SnapshotDone {
                doc,
                covers,
                result,
            } => {
                match result {
                    Ok(outcome) => {
                        let m = &self.deps.metrics;
                        match outcome {
                            SnapshotOutcome::Written => m.snapshots_written.fetch_add(1, Relaxed),
                            SnapshotOutcome::Unchanged => {
                                m.snapshots_unchanged.fetch_add(1, Relaxed)
                            }
                        };
                        let fx = self.room.snapshot_stored(&doc, covers, now);
                        self.apply(fx).await;
                    }
                    Err(reason) => {
                        self.deps.metrics.error("snapshot-failed");
                        warn!(vault = %self.id, doc, %reason, "storing a snapshot failed; will retry");
                        self.room.snapshot_failed(&doc, now);
                    }
                }
                self.check_flushes();
                Vec::new()
            }
            Cmd::Compacted { saved } => {
                self.compacting = false;
                match saved {
                    Ok(CatalogSave::Appended(n)) => {
                        self.catalog_appended = self.catalog_appended.saturating_add(n)
                    }
                    Ok(CatalogSave::Rebased(n)) => {
                        (self.catalog_appended, self.catalog_base) = (0, n)
                    }
                    // Not stored: they go with the next save.
                    Err(entries) => self.room.catalog_unsaved(entries),
                }
                if self.room.stats().docs_dirty == 0 {
                    self.dirty_since = None;
                }
                if let Some(below) = self.compact_next.take() {
                    self.compact(below);
                }
                Vec::new()
            }
        };
        self.apply(fx).await;
    }

    /// Carries out the room's effects, in order.
    pub(super) async fn apply(&mut self, effects: Vec<Effect>) {
        let mut queue = std::collections::VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Send { to, frame } => {
                    let Some(s) = self.sessions.get(&to) else {
                        continue;
                    };
                    let len = frame.len() as u64;
                    match s.frames.try_send(frame) {
                        Ok(()) => {
                            self.deps.metrics.frames_out.fetch_add(1, Relaxed);
                            self.deps.metrics.bytes_out.fetch_add(len, Relaxed);
                        }
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            // Never drop a frame silently: the client resyncs on reconnect.
                            self.deps.metrics.error("slow-consumer");
                            if let Some(s) = self.sessions.remove(&to) {
                                let _ = s.close.send(Some((
                                    close::SLOW_CONSUMER,
                                    "too slow to keep up; reconnect to resync".into(),
                                )));
                            }
                            queue.extend(self.room.leave(to, self.now()));
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            self.sessions.remove(&to);
                            queue.extend(self.room.leave(to, self.now()));
                        }
                    }
                }
                Effect::Close { to, code, reason } => {
                    if let Some(s) = self.sessions.remove(&to) {
                        let _ = s.close.send(Some((code, reason)));
                    }
                }
                Effect::Load { doc } => self.spawn_load(doc),
                Effect::Persist {
                    ticket,
                    doc,
                    update,
                } => {
                    if let Err(e) = self.wal.append(ticket, doc, update).await {
                        error!(vault = %self.id, error = %e, "appending to the write-ahead log failed");
                        self.fail("the relay could not write its log").await;
                        return;
                    }
                    self.deps.metrics.updates_logged.fetch_add(1, Relaxed);
                    self.dirty_since.get_or_insert_with(Instant::now);
                }
                Effect::Snapshot { doc, state, covers } => self.spawn_snapshot(doc, state, covers),
                Effect::CompactLog { below } => self.compact(below),
                Effect::Quarantined { doc, reason } => {
                    self.deps.metrics.error("doc-quarantined");
                    error!(vault = %self.id, doc, %reason, "note quarantined");
                }
            }
        }
    }

    fn spawn_load(&self, doc: String) {
        let (store, tx, vault) = (self.deps.store.clone(), self.tx.clone(), self.id.clone());
        tokio::spawn(async move {
            let result = match DocId::new(&doc) {
                Ok(id) => persist::load_doc(store.as_ref(), &vault, &id)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Cmd::Loaded { doc, result }).await;
        });
    }

    fn spawn_snapshot(&self, doc: String, state: Vec<u8>, covers: u64) {
        let (store, tx, vault, keep) = (
            self.deps.store.clone(),
            self.tx.clone(),
            self.id.clone(),
            self.deps.snapshot_keep,
        );
        tokio::spawn(async move {
            let result = match DocId::new(&doc) {
                Ok(id) => persist::store_snapshot(
                    store.as_ref(),
                    &vault,
                    &id,
                    &state,
                    covers,
                    keep,
                    wall_ms(),
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx
                .send(Cmd::SnapshotDone {
                    doc,
                    covers,
                    result,
                })
                .await;
        });
    }

    /// Saves the catalog's changes, then releases the log below `below`, in
    /// a task of its own: the catalog's fsync took tens of milliseconds on a
    /// busy disk, and every socket of the vault waited for it when the actor
    /// did it inline. One compaction runs at a time; requests made meanwhile
    /// are folded into the next one. Until it finishes the log is simply
    /// kept, which is always safe.
    ///
    /// Only the entries changed since the last save are appended (O(changed
    /// docs)); the whole catalog is rewritten as a new base only once the
    /// appended lines outgrow the base. Rewriting it at every compaction made
    /// loading n docs cost O(n²).
    fn compact(&mut self, below: u64) {
        if self.compacting {
            self.compact_next = Some(self.compact_next.map_or(below, |b| b.max(below)));
            return;
        }
        self.compacting = true;
        let changes = self.room.catalog_changes();
        let rebase =
            self.catalog_appended + changes.len() > (2 * self.catalog_base).max(CATALOG_MIN_REBASE);
        let full = rebase.then(|| self.room.catalog());
        let path = self.catalog_path.clone();
        let (wal, tx, vault) = (self.wal.clone(), self.tx.clone(), self.id.clone());
        tokio::spawn(async move {
            let save = tokio::task::spawn_blocking(move || {
                let done = match &full {
                    Some(all) => {
                        persist::write_catalog(&path, all).map(|()| CatalogSave::Rebased(all.len()))
                    }
                    None if changes.is_empty() => Ok(CatalogSave::Appended(0)),
                    None => persist::append_catalog(&path, &changes)
                        .map(|()| CatalogSave::Appended(changes.len())),
                };
                done.map_err(|e| (e.to_string(), changes))
            })
            .await;
            let saved = match save {
                Ok(Ok(saved)) => {
                    if let Err(e) = wal.compact(below).await {
                        warn!(vault = %vault, error = %e, "log compaction failed; will retry later");
                    }
                    Ok(saved)
                }
                // Keep the log: without a saved catalog, compaction would lose cursors.
                Ok(Err((e, changes))) => {
                    warn!(vault = %vault, error = %e, "saving the change catalog failed; log kept");
                    Err(changes)
                }
                Err(e) => {
                    // The changes went down with the task: the next save rewrites the base.
                    warn!(vault = %vault, error = %e, "saving the change catalog panicked; log kept");
                    Ok(CatalogSave::Appended(usize::MAX))
                }
            };
            let _ = tx.send(Cmd::Compacted { saved }).await;
        });
    }

    async fn wait_for(&mut self, doc: String, what: Waiting) {
        let fx = self.room.open(&doc, self.now());
        self.waiting.push((doc, what));
        self.apply(fx).await;
        self.serve_waiting().await;
    }

    /// Answers requests whose doc is now loaded.
    async fn serve_waiting(&mut self) {
        let now = self.now();
        for (doc, what) in std::mem::take(&mut self.waiting) {
            let Some(state) = self.room.doc_state(&doc) else {
                if !self.room.is_loading(&doc) {
                    // Loading failed, or the note is quarantined.
                    what.fail("the note could not be loaded");
                } else {
                    self.waiting.push((doc, what));
                }
                continue;
            };
            match what {
                Waiting::State(reply) => {
                    let _ = reply.send(Ok(state));
                }
                Waiting::Restore { text, reply } => {
                    let update = Note::from_update(tessera_crdt::ids::random_client_id(), &state)
                        .and_then(|mut note| note.import_text(&text))
                        .map_err(|e| e.to_string());
                    let outcome = match update {
                        Ok(Some(update)) => match self.room.server_write(&doc, &update, now) {
                            Ok(fx) => {
                                Box::pin(self.apply(fx)).await;
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        Ok(None) => Ok(()),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(outcome);
                }
            }
        }
    }

    fn check_flushes(&mut self) {
        if self.room.stats().docs_dirty == 0 {
            for reply in self.flushes.drain(..) {
                let _ = reply.send(());
            }
        }
    }

    fn housekeeping(&mut self) {
        let evicted = self
            .room
            .evict_idle(self.now(), millis(self.deps.idle_evict));
        if !evicted.is_empty() {
            debug!(vault = %self.id, count = evicted.len(), "evicted idle notes");
        }
        let dormant = self
            .room
            .hibernate_idle(self.now(), millis(self.deps.dormant_after));
        if dormant > 0 {
            debug!(vault = %self.id, count = dormant, "idle notes made dormant");
        }
        if self.room.stats().docs_dirty == 0 {
            self.dirty_since = None;
        }
    }

    /// Nothing connected, nothing unsaved or in flight, and quiet for
    /// `idle_for`: everything the vault holds is in its log and storage, so
    /// the next connection can start it again from there.
    fn may_unload(&self, idle_for: Duration) -> bool {
        self.room.is_idle()
            && self.sessions.is_empty()
            && self.waiting.is_empty()
            && self.flushes.is_empty()
            && !self.compacting
            && self.files_waiting.is_empty()
            && self.files_durable.is_empty()
            && self.last_activity.elapsed() >= idle_for
    }

    fn stats(&self) -> VaultStats {
        VaultStats {
            room: self.room.stats(),
            snapshot_lag: self.dirty_since.map(|d| d.elapsed()).unwrap_or_default(),
            wal_bytes: self.wal.size_bytes(),
        }
    }

    /// The vault can no longer make writes durable: close every session so
    /// clients keep their edits and retry, rather than believe them saved.
    async fn fail(&mut self, reason: &str) {
        self.deps.metrics.error("wal-failed");
        for (_, s) in self.sessions.drain() {
            let _ = s.close.send(Some((close::INTERNAL, reason.to_owned())));
        }
        info!(vault = %self.id, "vault stopped");
    }
}

/// Fewest appended catalog lines that make the next save rewrite the base.
const CATALOG_MIN_REBASE: usize = 4096;

/// How a compaction stored the catalog.
pub(crate) enum CatalogSave {
    /// This many changed entries were appended.
    Appended(usize),
    /// The whole catalog, this many entries, became the new base.
    Rebased(usize),
}

/// A request parked until its doc is loaded.
pub(super) enum Waiting {
    State(oneshot::Sender<Result<Vec<u8>, String>>),
    Restore {
        text: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

impl Waiting {
    fn fail(self, reason: &str) {
        match self {
            Waiting::State(reply) => {
                let _ = reply.send(Err(reason.to_owned()));
            }
            Waiting::Restore { reply, .. } => {
                let _ = reply.send(Err(reason.to_owned()));
            }
        }
    }
}
