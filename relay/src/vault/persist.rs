//! What a vault reads from and writes to storage: heads, snapshots, the
//! manifest, and the local change catalog.
//!
//! Snapshots are content-addressed and written before the head that points to
//! them; the head moves with a conditional write, so two writers can never
//! both think they advanced it. An unchanged state is never written again.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tessera_crdt::keys::{self, ContentHash, DocId, Manifest, VaultId};
use tessera_crdt::publish::{self, Step};
use tessera_crdt::snapshot::Head;
use thiserror::Error;

use crate::store::{PutCondition, PutOutcome, Store, StoreError};

/// Largest snapshot file read back (a note's merged state plus header).
pub const MAX_SNAPSHOT_BYTES: usize = 256 << 20;

/// Why a storage operation of a vault failed.
#[derive(Debug, Error)]
pub enum PersistError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored object is damaged or inconsistent.
    #[error("{0}")]
    Corrupt(String),
    /// An id was invalid.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// Another writer kept moving the head.
    #[error("the head of {0} kept changing under us; will retry")]
    Contended(String),
    /// Local file I/O failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A doc's stored state: the snapshot's merged state and the last log ticket it covers.
pub struct Stored {
    /// The merged state (a yrs v1 update).
    pub state: Vec<u8>,
    /// Last ticket included.
    pub covers: u64,
}

/// Reads a doc's head and the snapshot it points to; `None` for a new doc.
pub async fn load_doc(
    store: &dyn Store,
    vault: &VaultId,
    doc: &DocId,
) -> Result<Option<Stored>, PersistError> {
    let Some(head) = read_head(store, vault, doc).await? else {
        return Ok(None);
    };
    let hash = ContentHash::new(&head.0.snapshot)?;
    let state = read_snapshot(store, vault, doc, &hash).await?;
    Ok(Some(Stored {
        state,
        covers: head.0.covers,
    }))
}

/// Reads a head and its ETag.
pub async fn read_head(
    store: &dyn Store,
    vault: &VaultId,
    doc: &DocId,
) -> Result<Option<(Head, crate::store::ETag)>, PersistError> {
    let key = keys::head_key(vault, doc);
    let Some(obj) = store.get(&key).await? else {
        return Ok(None);
    };
    let head =
        Head::decode(&obj.bytes).map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))?;
    Ok(Some((head, obj.etag)))
}

/// Reads and verifies one snapshot, returning its merged state.
pub async fn read_snapshot(
    store: &dyn Store,
    vault: &VaultId,
    doc: &DocId,
    hash: &ContentHash,
) -> Result<Vec<u8>, PersistError> {
    let key = keys::snap_key(vault, doc, hash);
    let obj = store
        .get(&key)
        .await?
        .ok_or_else(|| PersistError::Corrupt(format!("{key} is missing")))?;
    publish::verify(&obj.bytes, vault, doc, hash, MAX_SNAPSHOT_BYTES)
        .map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))
}

/// What storing a snapshot did.
#[derive(Debug, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// A new snapshot was written and the head moved.
    Written,
    /// The head already holds this exact state; nothing was written.
    Unchanged,
}

/// Stores a snapshot of `state` covering `covers`, moves the head, keeps
/// `keep` versions and deletes the ones that fell out (the core decides;
/// this carries it out, retrying when another writer moved the head).
pub async fn store_snapshot(
    store: &dyn Store,
    vault: &VaultId,
    doc: &DocId,
    state: &[u8],
    covers: u64,
    keep: usize,
    now_ms: u64,
) -> Result<SnapshotOutcome, PersistError> {
    let prepared = publish::prepare(vault, doc, state, covers, now_ms)
        .map_err(|e| PersistError::Corrupt(e.to_string()))?;
    let mut written = false;
    for _ in 0..8 {
        let current = read_head(store, vault, doc).await?;
        let step = prepared
            .step(current.as_ref().map(|(h, _)| h), keep)
            .map_err(|e| PersistError::Corrupt(e.to_string()))?;
        let Step::Advance { head, drop } = step else {
            return Ok(SnapshotOutcome::Unchanged);
        };
        if !written {
            // Content-addressed: an existing object with this name has these bytes.
            store
                .put(
                    &prepared.key,
                    Bytes::from(prepared.file.clone()),
                    PutCondition::IfAbsent,
                )
                .await?;
            written = true;
        }
        let cond = current.map_or(PutCondition::IfAbsent, |(_, etag)| {
            PutCondition::IfMatch(etag)
        });
        if let PutOutcome::Written(_) = store
            .put(&prepared.head_key, Bytes::from(head), cond)
            .await?
        {
            for key in drop {
                // Best effort: a leftover old version costs space, not correctness.
                let _ = store.delete(&key).await;
            }
            return Ok(SnapshotOutcome::Written);
        }
    }
    Err(PersistError::Contended(prepared.head_key))
}

/// The revocation list in the vault's stored manifest, if there is one.
pub async fn read_revocations(
    store: &dyn Store,
    vault: &VaultId,
) -> Result<Option<tessera_crdt::token::Revocations>, PersistError> {
    let Some(obj) = store.get(&keys::manifest_key(vault)).await? else {
        return Ok(None);
    };
    let manifest =
        Manifest::decode(&obj.bytes).map_err(|e| PersistError::Corrupt(e.to_string()))?;
    Ok(Some(manifest.revoked))
}

/// True when the vault was created: its manifest is in the store.
pub async fn manifest_exists(store: &dyn Store, vault: &VaultId) -> Result<bool, PersistError> {
    Ok(store.get(&keys::manifest_key(vault)).await?.is_some())
}

/// Reads the vault's manifest, creating it on first use. `catalog_intact`
/// says whether the local change catalog survived; if not, an existing
/// vault's epoch is renewed so clients never trust a cursor the relay can't
/// honour.
pub async fn load_manifest(
    store: &dyn Store,
    vault: &VaultId,
    now_ms: u64,
    catalog_intact: bool,
) -> Result<Manifest, PersistError> {
    let key = keys::manifest_key(vault);
    for _ in 0..8 {
        match store.get(&key).await? {
            Some(obj) => {
                let mut manifest = Manifest::decode(&obj.bytes)
                    .map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))?;
                if catalog_intact {
                    return Ok(manifest);
                }
                manifest = manifest.reset();
                match store
                    .put(
                        &key,
                        Bytes::from(manifest.encode()),
                        PutCondition::IfMatch(obj.etag),
                    )
                    .await?
                {
                    PutOutcome::Written(_) => return Ok(manifest),
                    PutOutcome::PreconditionFailed => continue,
                }
            }
            None => {
                let manifest = Manifest::new(vault, now_ms);
                match store
                    .put(&key, Bytes::from(manifest.encode()), PutCondition::IfAbsent)
                    .await?
                {
                    PutOutcome::Written(_) => return Ok(manifest),
                    PutOutcome::PreconditionFailed => continue,
                }
            }
        }
    }
    Err(PersistError::Contended(key))
}

/// Applies `change` to the stored manifest with a conditional write.
pub async fn update_manifest(
    store: &dyn Store,
    vault: &VaultId,
    change: impl Fn(&mut Manifest),
) -> Result<Manifest, PersistError> {
    let key = keys::manifest_key(vault);
    for _ in 0..8 {
        let (mut manifest, cond) = match store.get(&key).await? {
            Some(obj) => (
                Manifest::decode(&obj.bytes)
                    .map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))?,
                PutCondition::IfMatch(obj.etag),
            ),
            None => (Manifest::new(vault, 0), PutCondition::IfAbsent),
        };
        change(&mut manifest);
        if let PutOutcome::Written(_) = store
            .put(&key, Bytes::from(manifest.encode()), cond)
            .await?
        {
            return Ok(manifest);
        }
    }
    Err(PersistError::Contended(key))
}

/// Where a vault's change catalog lives on local disk.
pub fn catalog_path(data: &Path, vault: &VaultId) -> PathBuf {
    data.join("catalog").join(format!("{vault}.json"))
}

/// Reads the local change catalog; `None` when missing or unreadable.
pub fn read_catalog(path: &Path) -> Option<Vec<(String, u64)>> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the change catalog atomically (temp file, fsync, rename, fsync dir).
pub fn write_catalog(path: &Path, entries: &[(String, u64)]) -> Result<(), PersistError> {
    use std::io::Write;
    let io = |e| PersistError::Io(path.to_owned(), e);
    let dir = path
        .parent()
        .ok_or_else(|| PersistError::Corrupt("catalog path has no parent".into()))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    let json = serde_json::to_vec(entries).map_err(|e| PersistError::Corrupt(e.to_string()))?;
    f.write_all(&json).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}
