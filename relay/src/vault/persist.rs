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

/// When the vault was deleted, from its stored manifest (`None`: not
/// deleted, or no manifest).
pub async fn read_deleted(store: &dyn Store, vault: &VaultId) -> Result<Option<u64>, PersistError> {
    let Some(obj) = store.get(&keys::manifest_key(vault)).await? else {
        return Ok(None);
    };
    let manifest =
        Manifest::decode(&obj.bytes).map_err(|e| PersistError::Corrupt(e.to_string()))?;
    Ok(manifest.deleted_ms)
}

/// True when the vault was created: its manifest is in the store.
pub async fn manifest_exists(store: &dyn Store, vault: &VaultId) -> Result<bool, PersistError> {
    Ok(store.get(&keys::manifest_key(vault)).await?.is_some())
}

/// Reads the vault's manifest, creating it on first use. `catalog_intact`
/// says whether the local change catalog survived; if not, an existing
/// vault's epoch is renewed so clients never trust a cursor the relay can't
/// honour. The flag returned is true when the manifest was created now (the
/// vault is new, so an empty catalog is complete).
pub async fn load_manifest(
    store: &dyn Store,
    vault: &VaultId,
    now_ms: u64,
    catalog_intact: bool,
) -> Result<(Manifest, bool), PersistError> {
    let key = keys::manifest_key(vault);
    for _ in 0..8 {
        match store.get(&key).await? {
            Some(obj) => {
                let mut manifest = Manifest::decode(&obj.bytes)
                    .map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))?;
                if catalog_intact {
                    return Ok((manifest, false));
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
                    PutOutcome::Written(_) => return Ok((manifest, false)),
                    PutOutcome::PreconditionFailed => continue,
                }
            }
            None => {
                let manifest = Manifest::new(vault, now_ms);
                match store
                    .put(&key, Bytes::from(manifest.encode()), PutCondition::IfAbsent)
                    .await?
                {
                    PutOutcome::Written(_) => return Ok((manifest, true)),
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

/// Where a vault's change catalog lives on local disk: a base file (the
/// whole catalog, rewritten atomically) and, beside it, a log of changes
/// appended since (`.log`, one `["doc",ticket]` line each). Appending costs
/// O(changed docs) per log compaction; rewriting the base each time cost
/// O(docs), which made a bulk load of n docs O(n²).
pub fn catalog_path(data: &Path, vault: &VaultId) -> PathBuf {
    data.join("catalog").join(format!("{vault}.json"))
}

/// The appended changes beside the base file at `path`.
fn catalog_log_path(path: &Path) -> PathBuf {
    path.with_extension("log")
}

/// Reads the local change catalog (base, then appended changes; the highest
/// ticket of a doc wins); `None` when it is missing or damaged, so the
/// caller starts a new epoch instead of trusting lost cursors. A torn last
/// line (a crash during an append, whose log compaction never ran) is
/// ignored; a damaged line before the last is damage. The vault writes a
/// new base at start-up ([`write_catalog`], which drops the log), so later
/// appends never follow a torn line.
pub fn read_catalog(path: &Path) -> Option<Vec<(String, u64)>> {
    let bytes = std::fs::read(path).ok()?;
    let mut entries: Vec<(String, u64)> = serde_json::from_slice(&bytes).ok()?;
    let appended = match std::fs::read(catalog_log_path(path)) {
        Ok(log) => parse_catalog_log(&log)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(entries),
        Err(_) => return None,
    };
    if appended.is_empty() {
        return Some(entries);
    }
    let mut merged: std::collections::HashMap<String, u64> = entries.drain(..).collect();
    for (doc, ticket) in appended {
        let t = merged.entry(doc).or_default();
        *t = (*t).max(ticket);
    }
    let mut entries: Vec<(String, u64)> = merged.into_iter().collect();
    entries.sort_unstable();
    Some(entries)
}

/// The complete lines of an appended catalog log; `None` if a line other
/// than the last is not a `["doc",ticket]` record.
fn parse_catalog_log(log: &[u8]) -> Option<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut lines = log.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        // Only a line followed by a newline was completely written.
        let complete = lines.peek().is_some();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<(String, u64)>(line) {
            Ok(entry) if complete => out.push(entry),
            Ok(_) => {}
            Err(_) if !complete => {}
            Err(_) => return None,
        }
    }
    Some(out)
}

/// Appends changed entries to the catalog beside `path` and fsyncs them.
/// The base must exist (a vault's first save writes it with
/// [`write_catalog`]), so a missing base always means a lost catalog.
pub fn append_catalog(path: &Path, entries: &[(String, u64)]) -> Result<(), PersistError> {
    use std::io::Write;
    let log = catalog_log_path(path);
    let io = |e| PersistError::Io(log.clone(), e);
    let mut lines = Vec::with_capacity(entries.len() * 48);
    for entry in entries {
        serde_json::to_writer(&mut lines, entry)
            .map_err(|e| PersistError::Corrupt(e.to_string()))?;
        lines.push(b'\n');
    }
    let created = !log.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io)?;
    f.write_all(&lines).map_err(io)?;
    f.sync_data().map_err(io)?;
    if created {
        // The new file's directory entry must be durable too.
        sync_dir(path)?;
    }
    Ok(())
}

/// Writes the whole catalog atomically as the new base (temp file, fsync,
/// rename, fsync dir), then drops the appended log it now contains. A crash
/// between the two leaves a log whose entries the base already holds.
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
    sync_dir(path)?;
    match std::fs::remove_file(catalog_log_path(path)) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

fn sync_dir(path: &Path) -> Result<(), PersistError> {
    let dir = path
        .parent()
        .ok_or_else(|| PersistError::Corrupt("catalog path has no parent".into()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PersistError::Io(dir.to_owned(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(d, t)| ((*d).to_owned(), *t)).collect()
    }

    #[test]
    fn appended_changes_are_read_back_over_the_base_and_the_highest_ticket_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog").join("v.json");
        write_catalog(&path, &entries(&[("a", 1), ("b", 2)])).unwrap();
        append_catalog(&path, &entries(&[("b", 5), ("c", 6)])).unwrap();
        append_catalog(&path, &entries(&[("a", 7)])).unwrap();
        assert_eq!(
            read_catalog(&path),
            Some(entries(&[("a", 7), ("b", 5), ("c", 6)]))
        );
        // A new base holds everything and drops the appended lines.
        write_catalog(&path, &entries(&[("a", 7), ("b", 5), ("c", 6)])).unwrap();
        assert!(!catalog_log_path(&path).exists());
        assert_eq!(
            read_catalog(&path),
            Some(entries(&[("a", 7), ("b", 5), ("c", 6)]))
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_damage_before_it_loses_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.json");
        write_catalog(&path, &entries(&[("a", 1)])).unwrap();
        append_catalog(&path, &entries(&[("a", 4)])).unwrap();
        let log = catalog_log_path(&path);
        let whole = std::fs::read(&log).unwrap();
        std::fs::write(&log, [whole.as_slice(), b"[\"b\",9"].concat()).unwrap();
        assert_eq!(read_catalog(&path), Some(entries(&[("a", 4)])));
        std::fs::write(&log, [b"\x00\x00garbage\n".as_slice(), &whole].concat()).unwrap();
        assert_eq!(
            read_catalog(&path),
            None,
            "a damaged catalog is never trusted"
        );
    }

    #[test]
    fn without_a_base_there_is_no_catalog_whatever_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.json");
        append_catalog(&path, &entries(&[("a", 4)])).unwrap();
        assert_eq!(read_catalog(&path), None);
    }
}
