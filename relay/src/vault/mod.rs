//! One task per vault: it owns the vault's [`Room`] and carries out its
//! effects — frames to sockets, appends to the write-ahead log, loads and
//! snapshots in storage — so the room stays single-threaded and I/O-free.
//!
//! Load and snapshot I/O runs in short-lived tasks that report back to the
//! actor; none outlives the doc it serves. Log appends go to the WAL's
//! group-commit writer, whose durable watermark releases the acks.

mod actor;
mod files;
mod gc;
mod persist;
mod registry;
mod tokens;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tessera_crdt::keys::VaultId;
use tessera_crdt::rate::{RateLimited, RequestRate};
use tessera_crdt::room::{Endpoint, Room, RoomConfig, RoomStats, SessionId};
use tessera_crdt::token::{Claims, Revocations};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::warn;

pub use files::FileAnswer;
pub use gc::GcReport;
pub use persist::{load_doc, read_head, read_snapshot, PersistError, SnapshotOutcome, Stored};
pub use registry::Vaults;
pub use tokens::{list_tokens, read_registry, record_minted, record_seen, update_registry};

use crate::metrics::Metrics;
use crate::store::Store;
use crate::wal::{Wal, WalOptions};

/// Commands a vault's actor accepts.
pub(crate) enum Cmd {
    Join {
        session: SessionId,
        endpoint: Endpoint,
        claims: Box<Claims>,
        tx: SessionTx,
    },
    Leave {
        session: SessionId,
    },
    Frame {
        session: SessionId,
        bytes: Bytes,
    },
    Revoke {
        token_id: String,
    },
    Restore {
        doc: String,
        text: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    State {
        doc: String,
        reply: oneshot::Sender<Result<Vec<u8>, String>>,
    },
    Files {
        req: tessera_crdt::files::FileRequest,
        reply: files::FileReplyTx,
    },
    CloseAll {
        code: u16,
        reason: String,
        reply: oneshot::Sender<()>,
    },
    GoingAway {
        reply: oneshot::Sender<()>,
    },
    Flush {
        reply: oneshot::Sender<()>,
    },
    Stats {
        reply: oneshot::Sender<VaultStats>,
    },
    /// Stops the actor if the vault has been idle (see [`Room::is_idle`]) for
    /// at least `idle_for`; replies whether it stopped.
    UnloadIfIdle {
        idle_for: Duration,
        reply: oneshot::Sender<bool>,
    },
    Loaded {
        doc: String,
        result: Result<Option<Stored>, String>,
    },
    SnapshotDone {
        doc: String,
        covers: u64,
        result: Result<SnapshotOutcome, String>,
    },
    /// A log compaction (catalog saved, log released) finished.
    Compacted {
        /// How the catalog was saved, or the changes that were not.
        saved: Result<actor::CatalogSave, Vec<(String, u64)>>,
    },
}

/// The sending half of a connection, held by the actor.
#[derive(Clone)]
pub struct SessionTx {
    /// Frames for the socket; bounded, so a slow reader is noticed.
    pub frames: mpsc::Sender<Bytes>,
    /// Set once to close the socket with a code and reason.
    pub close: watch::Sender<Option<(u16, String)>>,
}

/// A vault's counters, for metrics and `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct VaultStats {
    /// The room's counts.
    pub room: RoomStats,
    /// How long the oldest unsnapshotted change has waited.
    pub snapshot_lag: Duration,
    /// Bytes of log on disk.
    pub wal_bytes: u64,
}

/// Everything a vault needs from the process.
#[derive(Clone)]
pub struct VaultDeps {
    /// Snapshots, heads, blobs and manifests.
    pub store: Arc<dyn Store>,
    /// The local data directory (log, catalog).
    pub data: PathBuf,
    /// Process-wide metrics.
    pub metrics: Arc<Metrics>,
    /// The room's settings.
    pub room: RoomConfig,
    /// Snapshots kept per doc.
    pub snapshot_keep: usize,
    /// Docs idle this long are evicted.
    pub idle_evict: Duration,
    /// Docs idle this long are kept as encoded state only.
    pub dormant_after: Duration,
    /// Write-ahead log settings.
    pub wal: WalOptions,
}

/// A handle to a running vault.
#[derive(Clone)]
pub struct VaultHandle {
    /// The vault id.
    pub id: VaultId,
    tx: mpsc::Sender<Cmd>,
    revoked: Arc<RwLock<Revocations>>,
    /// When this process last stored each token's last-seen time (unix s).
    seen: Arc<std::sync::Mutex<HashMap<String, u64>>>,
    /// When an admin deleted the vault (unix ms), as last read from its manifest.
    deleted: Arc<RwLock<Option<u64>>>,
    /// HTTP requests per token.
    requests: Arc<std::sync::Mutex<RequestRate>>,
}

impl VaultHandle {
    /// True when the token id has been revoked for this vault.
    pub fn is_revoked(&self, token_id: &str) -> bool {
        self.revoked
            .read()
            .map(|r| r.is_revoked(token_id))
            .unwrap_or(true)
    }

    /// True when the connection of token `token_id` at `now_secs` should be
    /// stored as its last-seen time (coarsely: see [`tokens::SEEN_EVERY_SECS`]);
    /// marks it stored.
    pub fn seen_due(&self, token_id: &str, now_secs: u64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let due = seen
            .get(token_id)
            .is_none_or(|t| now_secs.saturating_sub(*t) >= tokens::SEEN_EVERY_SECS);
        if due {
            seen.insert(token_id.to_owned(), now_secs);
        }
        due
    }

    /// Counts one HTTP request (or socket upgrade) made with `claims` against
    /// the token's request rate in this vault.
    pub fn admit_request(&self, claims: &Claims, now_ms: u64) -> Result<(), RateLimited> {
        match self.requests.lock() {
            Ok(mut r) => r.admit(claims, now_ms),
            // A poisoned lock means a panic elsewhere; do not refuse for it.
            Err(_) => Ok(()),
        }
    }

    /// When an admin deleted the vault (unix ms), if it is deleted.
    pub fn deleted_ms(&self) -> Option<u64> {
        self.deleted.read().map(|d| *d).unwrap_or(None)
    }

    /// Records the vault's deletion state; a deletion closes every socket
    /// with [`close::VAULT_DELETED`].
    pub async fn set_deleted(&self, deleted_ms: Option<u64>) {
        let was = self.deleted_ms();
        if let Ok(mut d) = self.deleted.write() {
            *d = deleted_ms;
        }
        if was.is_none() && deleted_ms.is_some() {
            let reason = "the vault was deleted by an admin".to_owned();
            self.close_all(tessera_crdt::room::close::VAULT_DELETED, reason)
                .await;
        }
    }

    /// The vault's revocation list (for token checks).
    pub fn revocations(&self) -> Revocations {
        self.revoked.read().map(|r| r.clone()).unwrap_or_default()
    }

    pub(crate) async fn send(&self, cmd: Cmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// Connects a session.
    pub(crate) async fn join(
        &self,
        session: SessionId,
        endpoint: Endpoint,
        claims: Claims,
        tx: SessionTx,
    ) -> bool {
        self.send(Cmd::Join {
            session,
            endpoint,
            claims: Box::new(claims),
            tx,
        })
        .await
    }

    /// Marks a token revoked here and closes its sockets (storage is updated by the caller).
    pub async fn revoke(&self, token_id: &str) {
        if let Ok(mut r) = self.revoked.write() {
            r.revoke(token_id);
        }
        self.send(Cmd::Revoke {
            token_id: token_id.to_owned(),
        })
        .await;
    }

    /// Replaces a note's text with `text` as a new edit (restore).
    pub async fn restore(&self, doc: &str, text: String) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        if !self
            .send(Cmd::Restore {
                doc: doc.to_owned(),
                text,
                reply,
            })
            .await
        {
            return Err("the vault is shutting down".into());
        }
        rx.await.unwrap_or_else(|_| Err("the vault stopped".into()))
    }

    /// A doc's merged state, loading it if needed.
    pub async fn doc_state(&self, doc: &str) -> Result<Vec<u8>, String> {
        let (reply, rx) = oneshot::channel();
        if !self
            .send(Cmd::State {
                doc: doc.to_owned(),
                reply,
            })
            .await
        {
            return Err("the vault is shutting down".into());
        }
        rx.await.unwrap_or_else(|_| Err("the vault stopped".into()))
    }

    /// Serves a file request (see `tessera_crdt::files`); edits are answered
    /// once durable.
    pub async fn files(
        &self,
        req: tessera_crdt::files::FileRequest,
    ) -> Result<FileAnswer, tessera_crdt::api::ApiError> {
        let gone = || tessera_crdt::api::ApiError::unavailable("the vault stopped; retry");
        let (reply, rx) = oneshot::channel();
        if !self.send(Cmd::Files { req, reply }).await {
            return Err(gone());
        }
        rx.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Snapshots every changed doc and waits until they are stored.
    pub async fn flush(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Cmd::Flush { reply }).await {
            let _ = rx.await;
        }
    }

    /// Closes every socket with 1001 (the relay is shutting down).
    pub async fn going_away(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Cmd::GoingAway { reply }).await {
            let _ = rx.await;
        }
    }

    /// Stops the vault's actor if it has been idle for `idle_for`; true if it
    /// stopped (or had already). Only the registry calls this, holding its
    /// lock and the last handle, so nothing can join the stopping actor.
    pub(crate) async fn unload_if_idle(&self, idle_for: Duration) -> bool {
        let (reply, rx) = oneshot::channel();
        if !self.send(Cmd::UnloadIfIdle { idle_for, reply }).await {
            return true;
        }
        rx.await.unwrap_or(true)
    }

    /// True when no clone of this handle exists but this one: no connection,
    /// request or task refers to the vault.
    pub(crate) fn is_unreferenced(&self) -> bool {
        Arc::strong_count(&self.revoked) == 1
    }

    /// Closes every socket with `code` and `reason`.
    pub async fn close_all(&self, code: u16, reason: String) {
        let (reply, rx) = oneshot::channel();
        if self
            .send(Cmd::CloseAll {
                code,
                reason,
                reply,
            })
            .await
        {
            let _ = rx.await;
        }
    }

    /// The vault's counters.
    pub async fn stats(&self) -> Option<VaultStats> {
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Stats { reply }).await.then_some(())?;
        rx.await.ok()
    }
}

/// Opens a vault: manifest, log recovery, catalog; then starts its actor.
pub(crate) async fn start(id: VaultId, deps: VaultDeps) -> Result<VaultHandle, PersistError> {
    let catalog_path = persist::catalog_path(&deps.data, &id);
    let catalog = tokio::task::spawn_blocking({
        let p = catalog_path.clone();
        move || persist::read_catalog(&p)
    })
    .await
    .ok()
    .flatten();
    let wal_dir = crate::wal::vault_dir(&deps.data, id.as_str())
        .map_err(|e| PersistError::Corrupt(e.to_string()))?;
    let opts = deps.wal.clone();
    let (wal, recovered) = tokio::task::spawn_blocking(move || Wal::open(wal_dir, opts))
        .await
        .map_err(|e| PersistError::Corrupt(e.to_string()))?
        .map_err(|e| PersistError::Corrupt(e.to_string()))?;
    // Without the local catalog, change cursors handed out before can't be
    // honoured: an existing vault gets a new epoch, so clients resync fully once.
    let (manifest, created) =
        persist::load_manifest(deps.store.as_ref(), &id, wall_ms(), catalog.is_some()).await?;
    let mut room = Room::new(id.as_str(), deps.room.clone(), &manifest.epoch);
    if catalog.is_some() || created {
        room.mark_catalog_complete();
    }
    room.load_catalog(catalog.unwrap_or_default());
    let initial = room.recover(recovered.next_ticket, recovered.logged());
    // Saved now, so a restart before the first compaction keeps the epoch.
    let entries = room.catalog();
    let entries_len = entries.len();
    let path = catalog_path.clone();
    tokio::task::spawn_blocking(move || persist::write_catalog(&path, &entries))
        .await
        .map_err(|e| PersistError::Corrupt(e.to_string()))??;
    if recovered.truncated_bytes > 0 {
        warn!(vault = %id, bytes = recovered.truncated_bytes, "dropped a torn log tail (never acknowledged)");
    }
    let wal = wal.start();
    let (tx, rx) = mpsc::channel(1024);
    let revoked = Arc::new(RwLock::new(manifest.revoked.clone()));
    let handle = VaultHandle {
        id: id.clone(),
        tx: tx.clone(),
        revoked,
        seen: Arc::default(),
        deleted: Arc::new(RwLock::new(manifest.deleted_ms)),
        requests: Arc::new(std::sync::Mutex::new(RequestRate::new(&deps.room.rates))),
    };
    let actor = actor::Actor {
        compacting: false,
        compact_next: None,
        catalog_appended: 0,
        catalog_base: entries_len,
        id,
        deps,
        room,
        wal,
        tx,
        sessions: HashMap::new(),
        recovered,
        waiting: Vec::new(),
        flushes: Vec::new(),
        files_waiting: Vec::new(),
        files_durable: Vec::new(),
        catalog_path,
        started: Instant::now(),
        dirty_since: None,
        last_activity: Instant::now(),
        unloaded: false,
    };
    tokio::spawn(actor.run(rx, initial));
    Ok(handle)
}

/// Creates the vault's manifest if it has none (a no-op for an existing vault).
pub async fn create_manifest(
    store: &dyn Store,
    vault: &VaultId,
    now_ms: u64,
) -> Result<(), PersistError> {
    persist::load_manifest(store, vault, now_ms, true)
        .await
        .map(|_| ())
}

/// Marks the vault deleted at `deleted_ms` (or, with `None`, undeleted) in
/// its manifest.
pub async fn mark_deleted(
    store: &dyn Store,
    vault: &VaultId,
    deleted_ms: Option<u64>,
) -> Result<(), PersistError> {
    persist::update_manifest(store, vault, |m| m.deleted_ms = deleted_ms)
        .await
        .map(|_| ())
}

/// Records a revoked token id in the vault's manifest.
pub async fn persist_revocation(
    store: &dyn Store,
    vault: &VaultId,
    token_id: &str,
) -> Result<(), PersistError> {
    persist::update_manifest(store, vault, |m| {
        m.revoked.revoke(token_id);
    })
    .await
    .map(|_| ())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Wall-clock milliseconds since the Unix epoch (for snapshot headers only).
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}
