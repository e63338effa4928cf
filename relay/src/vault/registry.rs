//! The vaults this process serves: created by an admin, started on first use.

use std::collections::HashMap;
use std::time::Duration;

use tessera_crdt::keys::VaultId;
use tokio::sync::Mutex;

use super::{persist, start, PersistError, VaultDeps, VaultHandle, VaultStats};

/// Running vaults by id. Starting one (manifest, log recovery) happens once,
/// even when many connections arrive together.
pub struct Vaults {
    deps: VaultDeps,
    running: Mutex<HashMap<VaultId, VaultHandle>>,
    /// Start vaults that were never created (`--auto-create-vaults`).
    auto_create: bool,
}

impl Vaults {
    /// An empty registry.
    pub fn new(deps: VaultDeps) -> Self {
        Vaults {
            deps,
            running: Mutex::new(HashMap::new()),
            auto_create: false,
        }
    }

    /// Lets requests with a valid token create their vault (test suites).
    pub fn auto_create(mut self, on: bool) -> Self {
        self.auto_create = on;
        self
    }

    /// The vault's handle if an admin created it (its manifest is in the
    /// store), starting it if needed; `None` otherwise, having touched
    /// nothing on disk or in the store.
    pub async fn get_existing(&self, id: &VaultId) -> Result<Option<VaultHandle>, PersistError> {
        if let Some(h) = self.running.lock().await.get(id) {
            return Ok(Some(h.clone()));
        }
        if !self.auto_create && !persist::manifest_exists(self.deps.store.as_ref(), id).await? {
            return Ok(None);
        }
        self.get(id).await.map(Some)
    }

    /// Creates the vault (its manifest) if it does not exist, and starts it.
    pub async fn create(&self, id: &VaultId) -> Result<VaultHandle, PersistError> {
        self.get(id).await
    }

    /// What vaults are built from.
    pub fn deps(&self) -> &VaultDeps {
        &self.deps
    }

    /// The vault's handle, creating and starting it if needed.
    async fn get(&self, id: &VaultId) -> Result<VaultHandle, PersistError> {
        let mut running = self.running.lock().await;
        if let Some(h) = running.get(id) {
            return Ok(h.clone());
        }
        let handle = start(id.clone(), self.deps.clone()).await?;
        running.insert(id.clone(), handle.clone());
        Ok(handle)
    }

    /// Unloads every vault that nothing refers to and that has been idle for
    /// `idle_for` (its actor stops; the next request starts it again from
    /// its log and storage). Returns how many were unloaded.
    pub async fn unload_idle(&self, idle_for: Duration) -> usize {
        // Held throughout: a request that would start or join a vault waits,
        // so it never gets a handle to an actor that is stopping.
        let mut running = self.running.lock().await;
        let mut unloaded = Vec::new();
        for (id, handle) in running.iter() {
            if handle.is_unreferenced() && handle.unload_if_idle(idle_for).await {
                unloaded.push(id.clone());
            }
        }
        for id in &unloaded {
            running.remove(id);
        }
        unloaded.len()
    }

    /// Stops a running vault (its sockets close with 1001) and forgets it.
    pub async fn stop(&self, id: &VaultId) {
        let handle = self.running.lock().await.remove(id);
        if let Some(h) = handle {
            h.going_away().await;
        }
    }

    /// Handles of every running vault.
    pub async fn all(&self) -> Vec<VaultHandle> {
        self.running.lock().await.values().cloned().collect()
    }

    /// Counters summed over running vaults, plus the worst snapshot lag.
    pub async fn stats(&self) -> VaultStats {
        let mut total = VaultStats::default();
        for v in self.all().await {
            if let Some(s) = v.stats().await {
                total.room.sessions += s.room.sessions;
                total.room.docs_loaded += s.room.docs_loaded;
                total.room.docs_dirty += s.room.docs_dirty;
                total.room.docs_quarantined += s.room.docs_quarantined;
                total.room.pending_acks += s.room.pending_acks;
                total.room.docs_known += s.room.docs_known;
                total.wal_bytes += s.wal_bytes;
                total.snapshot_lag = total.snapshot_lag.max(s.snapshot_lag);
            }
        }
        total
    }

    /// Re-reads every running vault's revocation list from storage and
    /// applies ids revoked elsewhere (the CLI without `--url`, another relay):
    /// their tokens are refused from now on and their sockets close with 4403.
    pub async fn refresh_revocations(&self) {
        for v in self.all().await {
            match persist::read_revocations(self.deps.store.as_ref(), &v.id).await {
                Ok(Some(stored)) => {
                    // A deletion or undeletion made elsewhere (the CLI) too.
                    if let Ok(deleted) =
                        persist::read_deleted(self.deps.store.as_ref(), &v.id).await
                    {
                        if deleted != v.deleted_ms() {
                            v.set_deleted(deleted).await;
                        }
                    }
                    let known = v.revocations();
                    for id in stored.iter().filter(|id| !known.is_revoked(id)) {
                        v.revoke(id).await;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(vault = %v.id, error = %e, "re-reading revocations failed; retried on the next poll")
                }
            }
        }
    }

    /// Closes every socket of every vault with 1001 (shutdown).
    pub async fn going_away(&self) {
        for v in self.all().await {
            v.going_away().await;
        }
    }

    /// Snapshots every changed doc of every vault and waits (shutdown).
    pub async fn flush_all(&self) {
        for v in self.all().await {
            v.flush().await;
        }
    }
}
