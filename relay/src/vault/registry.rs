//! The vaults this process serves, started on first use.

use std::collections::HashMap;

use tessera_crdt::keys::VaultId;
use tokio::sync::Mutex;

use super::{start, PersistError, VaultDeps, VaultHandle, VaultStats};

/// Running vaults by id. Starting one (manifest, log recovery) happens once,
/// even when many connections arrive together.
pub struct Vaults {
    deps: VaultDeps,
    running: Mutex<HashMap<VaultId, VaultHandle>>,
}

impl Vaults {
    /// An empty registry.
    pub fn new(deps: VaultDeps) -> Self {
        Vaults {
            deps,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// What vaults are built from.
    pub fn deps(&self) -> &VaultDeps {
        &self.deps
    }

    /// The vault's handle, starting it if needed.
    pub async fn get(&self, id: &VaultId) -> Result<VaultHandle, PersistError> {
        let mut running = self.running.lock().await;
        if let Some(h) = running.get(id) {
            return Ok(h.clone());
        }
        let handle = start(id.clone(), self.deps.clone()).await?;
        running.insert(id.clone(), handle.clone());
        Ok(handle)
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
