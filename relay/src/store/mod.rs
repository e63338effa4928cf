//! The relay's object storage, behind one trait: [`Store`].
//!
//! Two backends: [`FsStore`] (the embedded default, a directory on local disk)
//! and [`S3Store`] (any S3-compatible service). Both hold the one key layout
//! of [`tessera_crdt::keys`] and refuse any other key, so a key can never name
//! something outside the vault layout (or, on disk, outside the data dir).
//!
//! Head pointers are updated with conditional writes ([`PutCondition`]): the
//! compactor reads a head with its [`ETag`], writes a snapshot, then swaps the
//! head with `IfMatch`; losing that race is a normal outcome
//! ([`PutOutcome::PreconditionFailed`]), not an error.

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use tessera_crdt::ids::{validate_stored_doc_id, validate_vault_id};
use tessera_crdt::keys::StorageKey;

mod fs;
mod s3;

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod seaweedfs;

pub use fs::FsStore;
pub use s3::{S3Config, S3Store};

/// An opaque version tag of a stored object: the S3 ETag as the server sent
/// it (quotes included), or for the filesystem store the blake3 hex of the
/// content. Only ever compared for equality or handed back in
/// [`PutCondition::IfMatch`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

/// An object read from the store.
#[derive(Debug, Clone)]
pub struct Object {
    /// The whole content.
    pub bytes: Bytes,
    /// Its version tag, for a later [`PutCondition::IfMatch`].
    pub etag: ETag,
}

/// When a put may replace what is stored.
#[derive(Debug, Clone)]
pub enum PutCondition {
    /// Unconditionally (content-addressed snapshots and blobs).
    Always,
    /// Only if nothing is stored under the key (creating a head or manifest).
    IfAbsent,
    /// Only if the stored object still has this tag (swapping a head).
    IfMatch(ETag),
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored; the new object's tag.
    Written(ETag),
    /// The condition did not hold; nothing was written.
    PreconditionFailed,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Network trouble, a timeout or a server error: retry with backoff.
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    /// The service refused the request (e.g. 400, 403, no such bucket):
    /// a configuration or credentials problem that retrying will not fix.
    #[error(
        "object store refused the request: {0}; check the bucket, endpoint, region and credentials"
    )]
    Rejected(String),
    /// Local disk I/O failed.
    #[error("object store I/O error: {0}")]
    Io(#[from] io::Error),
    /// Not a key (or list prefix) of the `vaults/...` layout. A bug in the
    /// caller or a hostile id: never retry.
    #[error("invalid storage key {0:?}: not part of the vaults/... key layout")]
    BadKey(String),
    /// Another process holds the data directory's lock.
    #[error(
        "data directory {} is in use by another relay process (it holds {}/LOCK); \
         stop that process or choose another --data directory",
        .0.display(),
        .0.display()
    )]
    InUse(PathBuf),
}

impl StoreError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            // A full or busy disk can recover once an operator steps in;
            // anything else local (permissions, corruption) will not.
            StoreError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::Interrupted
                    | io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::StorageFull
                    | io::ErrorKind::ResourceBusy
            ),
            StoreError::Rejected(_) | StoreError::BadKey(_) | StoreError::InUse(_) => false,
        }
    }
}

/// Object storage for vault snapshots, heads, blobs and manifests.
///
/// Keys are exactly the keys of [`tessera_crdt::keys`]; anything else is
/// refused with [`StoreError::BadKey`] before any I/O.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The object under `key`, or `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError>;

    /// Stores `bytes` under `key` if `cond` holds. Atomic: a reader sees the
    /// old object or the new one, never a mix or a partial write.
    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        cond: PutCondition,
    ) -> Result<PutOutcome, StoreError>;

    /// Removes the object under `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Every key under `prefix` (a directory-like prefix of the layout,
    /// ending in `/`), sorted. Objects outside the layout are skipped.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// [`Store::list`] with each object's size in bytes (garbage collection
    /// and the storage metrics): one listing, no object read.
    async fn list_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError>;

    /// Checks that the store is reachable and usable (readiness probes and
    /// `tessera-relay check`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Where the data lives, for logs and `check`: `fs:/path` or
    /// `s3://bucket/prefix @ endpoint`. Never includes credentials.
    fn describe(&self) -> String;
}

/// Refuses anything that is not a key of the layout.
pub(crate) fn validate_key(key: &str) -> Result<(), StoreError> {
    match StorageKey::parse(key) {
        Some(_) => Ok(()),
        None => Err(StoreError::BadKey(key.to_owned())),
    }
}

/// Refuses anything that is not a directory-like prefix of the layout:
///
/// ```text
/// vaults/
/// vaults/{vault}/
/// vaults/{vault}/docs/
/// vaults/{vault}/docs/{doc}/
/// vaults/{vault}/docs/{doc}/snap/
/// vaults/{vault}/blobs/
/// ```
// tessera_crdt::keys builds these prefixes but has no parser for them, so
// the inverse lives here.
pub(crate) fn validate_prefix(prefix: &str) -> Result<(), StoreError> {
    let bad = || StoreError::BadKey(prefix.to_owned());
    let Some(dir) = prefix.strip_suffix('/') else {
        return Err(bad());
    };
    let parts: Vec<&str> = dir.split('/').take(6).collect();
    let ok = match parts.as_slice() {
        ["vaults"] => true,
        ["vaults", vault] | ["vaults", vault, "docs" | "blobs"] => validate_vault_id(vault).is_ok(),
        ["vaults", vault, "docs", doc] | ["vaults", vault, "docs", doc, "snap"] => {
            validate_vault_id(vault).is_ok() && validate_stored_doc_id(doc).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_crdt::keys::{
        blobs_prefix, docs_prefix, snap_prefix, vault_prefix, DocId, VaultId, VAULTS_PREFIX,
    };

    #[test]
    fn every_prefix_the_key_module_builds_is_a_valid_list_prefix() {
        let vault = VaultId::new("v1").unwrap();
        let doc = DocId::index();
        for prefix in [
            VAULTS_PREFIX.to_owned(),
            vault_prefix(&vault),
            docs_prefix(&vault),
            format!("{}{}/", docs_prefix(&vault), doc),
            snap_prefix(&vault, &doc),
            blobs_prefix(&vault),
        ] {
            assert!(validate_prefix(&prefix).is_ok(), "{prefix}");
        }
    }

    #[test]
    fn prefixes_outside_the_layout_are_bad_keys() {
        for prefix in [
            "",
            "/",
            "vaults",
            "vaults/v1",
            "../",
            "vaults/../",
            "vaults/UPPER/",
            "vaults/v1/docs/../",
            "vaults/v1/other/",
            "vaults/v1/docs/index/snap/x/",
            "vaults//",
        ] {
            assert!(
                matches!(validate_prefix(prefix), Err(StoreError::BadKey(_))),
                "{prefix:?}"
            );
        }
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(StoreError::Unavailable("503".into()).is_retryable());
        assert!(StoreError::Io(io::ErrorKind::StorageFull.into()).is_retryable());
        assert!(!StoreError::Io(io::ErrorKind::PermissionDenied.into()).is_retryable());
        assert!(!StoreError::Rejected("403".into()).is_retryable());
        assert!(!StoreError::BadKey("../x".into()).is_retryable());
    }
}
