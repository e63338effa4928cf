//! What a vault keeps in R2: heads, snapshots, the manifest and blobs, under
//! the one key layout of `tessera_crdt::keys` that the relay uses too, so a
//! bucket written by one can be read by the other.
//!
//! Snapshots are content-addressed and written before the head that points
//! to them; the head moves with a conditional put (`onlyIf etagMatches`, or
//! `etagDoesNotMatch: "*"` to create it), so two writers can never both
//! think they advanced it. An unchanged state is never written again.

use tessera_crdt::keys::{self, ContentHash, DocId, Manifest, VaultId};
use tessera_crdt::publish::{self, Step};
use tessera_crdt::snapshot::Head;
use tessera_crdt::token::TokenRegistry;
use worker::{Bucket, Conditional};

/// Largest snapshot file read back (the relay's limit).
pub const MAX_SNAPSHOT_BYTES: usize = 256 << 20;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// R2 failed or could not be reached: retry.
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    /// A stored object is damaged or inconsistent.
    #[error("{0}")]
    Corrupt(String),
    /// A snapshot the head names is not there.
    #[error("{0} is missing")]
    Missing(String),
    /// An id was invalid.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// Another writer kept moving the object.
    #[error("the head of {0} kept changing under us; will retry")]
    Contended(String),
}

impl From<worker::Error> for StoreError {
    fn from(e: worker::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// When a put may replace what is stored.
enum Condition {
    /// Only if nothing is stored under the key.
    IfAbsent,
    /// Only if the stored object still has this etag.
    IfMatch(String),
}

/// The vault's R2 bucket.
pub struct Store {
    bucket: Bucket,
}

impl Store {
    /// Wraps the bucket binding.
    pub fn new(bucket: Bucket) -> Store {
        Store { bucket }
    }

    /// The object under `key` and its etag, or `None`.
    pub async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let Some(obj) = self.bucket.get(key).execute().await? else {
            return Ok(None);
        };
        let etag = obj.etag();
        let bytes = match obj.body() {
            Some(body) => body.bytes().await?,
            None => Vec::new(),
        };
        Ok(Some((bytes, etag)))
    }

    /// True when an object exists under `key` (a HEAD, no body).
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.bucket.head(key).await?.is_some())
    }

    /// Stores `bytes` if the condition holds; `false` when it did not.
    async fn put_if(&self, key: &str, bytes: Vec<u8>, cond: Condition) -> Result<bool, StoreError> {
        let only_if = match cond {
            Condition::IfAbsent => Conditional {
                etag_does_not_match: Some("*".to_owned()),
                ..Conditional::default()
            },
            Condition::IfMatch(etag) => Conditional {
                etag_matches: Some(etag),
                ..Conditional::default()
            },
        };
        let put = self
            .bucket
            .put(key, bytes)
            .only_if(only_if)
            .execute()
            .await?;
        Ok(put.is_some())
    }

    /// Stores a blob unless it is already there; `true` when newly written.
    pub async fn put_blob(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        self.put_if(key, bytes, Condition::IfAbsent).await
    }

    /// Removes an object; a missing one is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).await?;
        Ok(())
    }

    /// Checks that R2 answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.bucket
            .list()
            .prefix(keys::VAULTS_PREFIX)
            .limit(1)
            .execute()
            .await?;
        Ok(())
    }

    /// Reads a head and its etag.
    pub async fn read_head(
        &self,
        vault: &VaultId,
        doc: &DocId,
    ) -> Result<Option<(Head, String)>, StoreError> {
        let key = keys::head_key(vault, doc);
        let Some((bytes, etag)) = self.get(&key).await? else {
            return Ok(None);
        };
        let head = Head::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
        Ok(Some((head, etag)))
    }

    /// Reads and verifies one snapshot, returning its merged state.
    pub async fn read_snapshot(
        &self,
        vault: &VaultId,
        doc: &DocId,
        hash: &ContentHash,
    ) -> Result<Vec<u8>, StoreError> {
        let key = keys::snap_key(vault, doc, hash);
        let (bytes, _) = self
            .get(&key)
            .await?
            .ok_or_else(|| StoreError::Missing(key.clone()))?;
        publish::verify(&bytes, vault, doc, hash, MAX_SNAPSHOT_BYTES)
            .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
    }

    /// A doc's head snapshot state and the last ticket it covers; `None` for a new doc.
    pub async fn load_doc(
        &self,
        vault: &VaultId,
        doc: &DocId,
    ) -> Result<Option<(Vec<u8>, u64)>, StoreError> {
        let Some((head, _)) = self.read_head(vault, doc).await? else {
            return Ok(None);
        };
        let hash = ContentHash::new(&head.snapshot)?;
        let state = self.read_snapshot(vault, doc, &hash).await?;
        Ok(Some((state, head.covers)))
    }

    /// Stores a snapshot of `state` covering `covers`, moves the head, keeps
    /// `keep` versions and deletes the ones that fell out (the core decides;
    /// this carries it out). `true` when a new snapshot was written, `false`
    /// when the head already held this state.
    #[allow(clippy::too_many_arguments)]
    pub async fn store_snapshot(
        &self,
        vault: &VaultId,
        doc: &DocId,
        state: &[u8],
        covers: u64,
        keep: usize,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let prepared = publish::prepare(vault, doc, state, covers, now_ms)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut written = false;
        for _ in 0..8 {
            let current = self.read_head(vault, doc).await?;
            let step = prepared
                .step(current.as_ref().map(|(h, _)| h), keep)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let Step::Advance { head, drop } = step else {
                return Ok(false);
            };
            if !written {
                // Content-addressed: an existing object with this name has these bytes.
                self.put_if(&prepared.key, prepared.file.clone(), Condition::IfAbsent)
                    .await?;
                written = true;
            }
            let cond = current.map_or(Condition::IfAbsent, |(_, etag)| Condition::IfMatch(etag));
            if self.put_if(&prepared.head_key, head, cond).await? {
                for key in drop {
                    // Best effort: a leftover old version costs space, not correctness.
                    let _ = self.delete(&key).await;
                }
                return Ok(true);
            }
        }
        Err(StoreError::Contended(prepared.head_key))
    }

    /// Reads the vault's manifest, creating it on first use. When the change
    /// catalog is not intact the epoch is renewed, as the relay does.
    pub async fn load_manifest(
        &self,
        vault: &VaultId,
        now_ms: u64,
        catalog_intact: bool,
    ) -> Result<Manifest, StoreError> {
        let key = keys::manifest_key(vault);
        for _ in 0..8 {
            let (manifest, cond) = match self.get(&key).await? {
                Some((bytes, etag)) => {
                    let manifest = Manifest::decode(&bytes)
                        .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
                    if catalog_intact {
                        return Ok(manifest);
                    }
                    (manifest.reset(), Condition::IfMatch(etag))
                }
                None => (Manifest::new(vault, now_ms), Condition::IfAbsent),
            };
            if self.put_if(&key, manifest.encode(), cond).await? {
                return Ok(manifest);
            }
        }
        Err(StoreError::Contended(key))
    }

    /// Applies `change` to the stored manifest with a conditional write.
    /// Applies `change` to the vault's token registry with a conditional
    /// write; `change` returns false when there is nothing to store.
    pub async fn update_registry(
        &self,
        vault: &VaultId,
        change: impl Fn(&mut TokenRegistry) -> bool,
    ) -> Result<(), StoreError> {
        let key = keys::tokens_key(vault);
        for _ in 0..8 {
            let (mut registry, cond) = match self.get(&key).await? {
                Some((bytes, etag)) => (
                    TokenRegistry::decode(&bytes)
                        .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?,
                    Condition::IfMatch(etag),
                ),
                None => (TokenRegistry::default(), Condition::IfAbsent),
            };
            if !change(&mut registry) {
                return Ok(());
            }
            if self.put_if(&key, registry.encode(), cond).await? {
                return Ok(());
            }
        }
        Err(StoreError::Contended(key))
    }

    /// The vault's token registry (empty when none was written yet).
    pub async fn read_registry(&self, vault: &VaultId) -> Result<TokenRegistry, StoreError> {
        match self.get(&keys::tokens_key(vault)).await? {
            Some((bytes, _)) => {
                TokenRegistry::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
            None => Ok(TokenRegistry::default()),
        }
    }

    pub async fn update_manifest(
        &self,
        vault: &VaultId,
        change: impl Fn(&mut Manifest),
    ) -> Result<Manifest, StoreError> {
        let key = keys::manifest_key(vault);
        for _ in 0..8 {
            let (mut manifest, cond) = match self.get(&key).await? {
                Some((bytes, etag)) => (
                    Manifest::decode(&bytes)
                        .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?,
                    Condition::IfMatch(etag),
                ),
                None => (Manifest::new(vault, 0), Condition::IfAbsent),
            };
            change(&mut manifest);
            if self.put_if(&key, manifest.encode(), cond).await? {
                return Ok(manifest);
            }
        }
        Err(StoreError::Contended(key))
    }
}
