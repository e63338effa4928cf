//! Garbage collection in the relay: the I/O around the core's decision
//! ([`tessera_crdt::gc::plan`]). Each pass visits every vault in storage:
//! it reads the vault's current index (from its running room, so changes
//! still in the write-ahead log count), lists the vault's objects with
//! their sizes, deletes what the plan says and stores the collector's state.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use tessera_crdt::gc::{self, GcState, Stored as Listed};
use tessera_crdt::ids::INDEX_DOC;
use tessera_crdt::keys::{self, StorageKey, VaultId};
use tessera_crdt::vault::Index;
use tracing::{info, warn};

use super::{PersistError, Vaults};
use crate::store::PutCondition;

/// What one vault's collection did.
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    /// Objects deleted.
    pub deleted: usize,
    /// Bytes those held.
    pub bytes_freed: u64,
    /// Bytes the vault holds after the pass.
    pub bytes_stored: u64,
    /// Candidates still inside their retention.
    pub waiting: usize,
}

impl Vaults {
    /// One collection pass over every vault in storage; errors are logged
    /// per vault and never stop the others. A vault deleted more than
    /// `grace_ms` ago is purged: every key of it, and its local log.
    pub async fn collect_garbage(&self, retention_ms: u64, grace_ms: u64) {
        let store = self.deps().store.clone();
        let vaults = match store.list(keys::VAULTS_PREFIX).await {
            Ok(keys) => keys,
            Err(e) => return warn!(error = %e, "garbage collection could not list vaults"),
        };
        let mut ids: Vec<VaultId> = vaults
            .iter()
            .filter_map(|k| match StorageKey::parse(k) {
                Some(StorageKey::Manifest { vault }) => Some(vault),
                _ => None,
            })
            .collect();
        ids.dedup();
        for id in ids {
            match super::persist::read_deleted(store.as_ref(), &id).await {
                Ok(Some(deleted)) => {
                    if super::wall_ms().saturating_sub(deleted) >= grace_ms {
                        match self.purge(&id).await {
                            Ok(n) => {
                                info!(vault = %id, objects = n, "deleted vault purged after its grace period")
                            }
                            Err(e) => {
                                warn!(vault = %id, error = %e, "purging a deleted vault failed; retried on the next pass")
                            }
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(vault = %id, error = %e, "garbage collection could not read the manifest");
                    continue;
                }
            }
            match self.collect_vault(&id, retention_ms).await {
                Ok(r) => {
                    let metrics = &self.deps().metrics;
                    metrics.gc_deleted.fetch_add(r.deleted as u64, Relaxed);
                    metrics.set_vault_storage(id.as_str(), r.bytes_stored);
                    if r.deleted > 0 {
                        info!(vault = %id, deleted = r.deleted, bytes = r.bytes_freed, "garbage collected");
                    }
                }
                Err(e) => {
                    warn!(vault = %id, error = %e, "garbage collection failed; retried on the next pass")
                }
            }
        }
        self.deps().metrics.gc_runs.fetch_add(1, Relaxed);
    }

    /// Removes every key of a deleted vault (the manifest last, so a crash
    /// halfway leaves a vault that is still marked deleted) and its local
    /// write-ahead log and catalog. Returns how many objects were removed.
    pub async fn purge(&self, id: &VaultId) -> Result<usize, PersistError> {
        self.stop(id).await;
        let store = self.deps().store.clone();
        let manifest = keys::manifest_key(id);
        let keys: Vec<String> = store.list(&keys::vault_prefix(id)).await?;
        let mut n = 0;
        for key in keys.iter().filter(|k| **k != manifest) {
            store.delete(key).await?;
            n += 1;
        }
        let data = &self.deps().data;
        for path in [
            data.join("wal").join(id.as_str()),
            super::persist::catalog_path(data, id),
        ] {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(e) = removed {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(PersistError::Io(path, e));
                }
            }
        }
        let log = super::persist::catalog_path(data, id).with_extension("json.log");
        let _ = std::fs::remove_file(log);
        store.delete(&manifest).await?;
        Ok(n + 1)
    }

    /// Collects one vault. A vault whose index cannot be read is left alone.
    pub async fn collect_vault(
        &self,
        id: &VaultId,
        retention_ms: u64,
    ) -> Result<GcReport, PersistError> {
        let store = self.deps().store.clone();
        let Some(vault) = self.get_existing(id).await? else {
            return Ok(GcReport::default());
        };
        let state = vault
            .doc_state(INDEX_DOC)
            .await
            .map_err(PersistError::Corrupt)?;
        let entries = Index::from_update(0, &state)
            .map_err(|e| PersistError::Corrupt(format!("the index could not be read: {e}")))?
            .all_entries();
        let listed: Vec<Listed> = store
            .list_sizes(&keys::vault_prefix(id))
            .await?
            .into_iter()
            .map(|(key, size)| Listed { key, size })
            .collect();
        let gc_key = keys::gc_key(id);
        let previous = match store.get(&gc_key).await? {
            Some(obj) => GcState::decode(&obj.bytes).unwrap_or_else(|e| {
                // Starting over only delays collection by one retention.
                warn!(vault = %id, error = %e, "the collector's state is unreadable; starting over");
                GcState::default()
            }),
            None => GcState::default(),
        };
        let plan = gc::plan(
            id,
            &entries,
            &listed,
            &previous,
            super::wall_ms(),
            retention_ms,
        );
        let mut report = GcReport {
            waiting: plan.waiting,
            bytes_stored: plan.bytes_stored,
            ..GcReport::default()
        };
        for key in &plan.delete {
            store.delete(key).await?;
            report.deleted += 1;
        }
        report.bytes_freed = plan.bytes_freed;
        report.bytes_stored = plan.bytes_stored.saturating_sub(plan.bytes_freed);
        if plan.state != previous {
            store
                .put(
                    &gc_key,
                    Bytes::from(plan.state.encode()),
                    PutCondition::Always,
                )
                .await?;
        }
        Ok(report)
    }
}
