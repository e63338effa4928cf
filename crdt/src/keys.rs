//! The one storage key layout, shared by the filesystem store, S3 and R2:
//!
//! ```text
//! vaults/{vault}/manifest
//! vaults/{vault}/docs/{doc}/head
//! vaults/{vault}/docs/{doc}/snap/{blake3}
//! vaults/{vault}/blobs/{blake3}
//! ```
//!
//! Keys are built only from [`VaultId`], [`DocId`] and [`ContentHash`], which
//! cannot hold an unvalidated string, so no key can escape its vault or gain
//! extra path segments. The parsers accept exactly the keys the builders make.
//!
//! The vault [`Manifest`] lives here too: it is the object at
//! [`manifest_key`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::{blake3_hex, is_blake3_hex};
use crate::ids::{random_bytes, validate_stored_doc_id, validate_vault_id, IdError, INDEX_DOC};
use crate::token::Revocations;

/// Why a string cannot be used in a storage key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// An invalid vault or doc id.
    #[error(transparent)]
    Id(#[from] IdError),
    /// Not a content address.
    #[error("invalid content hash: must be 64 lowercase hex digits (blake3)")]
    Hash,
}

macro_rules! validated_id {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `id`.
            pub fn new(id: &str) -> Result<$name, KeyError> {
                let check: fn(&str) -> Result<(), KeyError> = $check;
                check(id)?;
                Ok($name(id.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = KeyError;

            fn try_from(id: String) -> Result<$name, KeyError> {
                let check: fn(&str) -> Result<(), KeyError> = $check;
                check(&id)?;
                Ok($name(id))
            }
        }

        impl FromStr for $name {
            type Err = KeyError;

            fn from_str(id: &str) -> Result<$name, KeyError> {
                $name::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

validated_id!(
    /// A validated vault id: `[a-z0-9][a-z0-9-]{0,63}`.
    VaultId,
    |id| Ok(validate_vault_id(id)?)
);

validated_id!(
    /// A validated doc id: `index`, a 32-hex-digit file id, or a free-form
    /// doc's `app.{name}` ([`crate::ids::doc_endpoint_id`]).
    DocId,
    |id| Ok(validate_stored_doc_id(id)?)
);

validated_id!(
    /// A validated content address: blake3 as 64 lowercase hex digits.
    ContentHash,
    |id| if is_blake3_hex(id) { Ok(()) } else { Err(KeyError::Hash) }
);

impl DocId {
    /// The vault's index doc.
    pub fn index() -> DocId {
        DocId(INDEX_DOC.to_owned())
    }
}

impl ContentHash {
    /// The content address of `bytes`.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(blake3_hex(bytes))
    }
}

/// The vault every deployment has from its first start (the relay creates
/// it then; the worker treats it as created). Other vaults are made by an admin.
pub const DEFAULT_VAULT: &str = "default";

/// Prefix of every vault's keys: list it with delimiter `/` to find vaults.
pub const VAULTS_PREFIX: &str = "vaults/";

/// Prefix of all of one vault's keys (for export and deletion).
pub fn vault_prefix(vault: &VaultId) -> String {
    format!("vaults/{vault}/")
}

/// `vaults/{vault}/manifest`.
pub fn manifest_key(vault: &VaultId) -> String {
    format!("vaults/{vault}/manifest")
}

/// `vaults/{vault}/gc`: the garbage collector's state ([`crate::gc::GcState`]).
pub fn gc_key(vault: &VaultId) -> String {
    format!("vaults/{vault}/gc")
}

/// `vaults/{vault}/tokens`: the registry of tokens minted for the vault.
pub fn tokens_key(vault: &VaultId) -> String {
    format!("vaults/{vault}/tokens")
}

/// `vaults/{vault}/docs/`: lists every doc's head and snapshots.
pub fn docs_prefix(vault: &VaultId) -> String {
    format!("vaults/{vault}/docs/")
}

/// `vaults/{vault}/docs/{doc}/head`.
pub fn head_key(vault: &VaultId, doc: &DocId) -> String {
    format!("vaults/{vault}/docs/{doc}/head")
}

/// `vaults/{vault}/docs/{doc}/snap/`: lists one doc's snapshots.
pub fn snap_prefix(vault: &VaultId, doc: &DocId) -> String {
    format!("vaults/{vault}/docs/{doc}/snap/")
}

/// `vaults/{vault}/docs/{doc}/snap/{snapshot}`.
pub fn snap_key(vault: &VaultId, doc: &DocId, snapshot: &ContentHash) -> String {
    format!("vaults/{vault}/docs/{doc}/snap/{snapshot}")
}

/// `vaults/{vault}/blobs/`: lists the vault's blobs.
pub fn blobs_prefix(vault: &VaultId) -> String {
    format!("vaults/{vault}/blobs/")
}

/// `vaults/{vault}/blobs/{hash}`.
pub fn blob_key(vault: &VaultId, hash: &ContentHash) -> String {
    format!("vaults/{vault}/blobs/{hash}")
}

/// Which object of a doc a key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The doc's head pointer.
    Head,
    /// One of the doc's snapshots.
    Snapshot(ContentHash),
}

/// Any key of the layout, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKey {
    /// `vaults/{vault}/manifest`
    Manifest {
        /// The vault.
        vault: VaultId,
    },
    /// `vaults/{vault}/gc`
    Gc {
        /// The vault.
        vault: VaultId,
    },
    /// `vaults/{vault}/tokens`
    Tokens {
        /// The vault.
        vault: VaultId,
    },
    /// `vaults/{vault}/docs/{doc}/head` or `.../snap/{blake3}`
    Doc {
        /// The vault.
        vault: VaultId,
        /// The doc.
        doc: DocId,
        /// Head or snapshot.
        kind: KeyKind,
    },
    /// `vaults/{vault}/blobs/{blake3}`
    Blob {
        /// The vault.
        vault: VaultId,
        /// The blob's content address.
        hash: ContentHash,
    },
}

impl StorageKey {
    /// Parses a key of the layout; anything else (including keys of other
    /// applications sharing the bucket) gives `None`.
    pub fn parse(key: &str) -> Option<StorageKey> {
        // Longest key has six segments; a seventh means "not ours".
        let parts: Vec<&str> = key.split('/').take(7).collect();
        let parsed = match parts.as_slice() {
            ["vaults", vault, "manifest"] => StorageKey::Manifest {
                vault: VaultId::new(vault).ok()?,
            },
            ["vaults", vault, "gc"] => StorageKey::Gc {
                vault: VaultId::new(vault).ok()?,
            },
            ["vaults", vault, "tokens"] => StorageKey::Tokens {
                vault: VaultId::new(vault).ok()?,
            },
            ["vaults", vault, "docs", doc, "head"] => StorageKey::Doc {
                vault: VaultId::new(vault).ok()?,
                doc: DocId::new(doc).ok()?,
                kind: KeyKind::Head,
            },
            ["vaults", vault, "docs", doc, "snap", hash] => StorageKey::Doc {
                vault: VaultId::new(vault).ok()?,
                doc: DocId::new(doc).ok()?,
                kind: KeyKind::Snapshot(ContentHash::new(hash).ok()?),
            },
            ["vaults", vault, "blobs", hash] => StorageKey::Blob {
                vault: VaultId::new(vault).ok()?,
                hash: ContentHash::new(hash).ok()?,
            },
            _ => return None,
        };
        Some(parsed)
    }

    /// The vault the key belongs to.
    pub fn vault(&self) -> &VaultId {
        match self {
            StorageKey::Manifest { vault }
            | StorageKey::Gc { vault }
            | StorageKey::Tokens { vault }
            | StorageKey::Doc { vault, .. }
            | StorageKey::Blob { vault, .. } => vault,
        }
    }

    /// The key as stored.
    pub fn key(&self) -> String {
        match self {
            StorageKey::Manifest { vault } => manifest_key(vault),
            StorageKey::Gc { vault } => gc_key(vault),
            StorageKey::Tokens { vault } => tokens_key(vault),
            StorageKey::Doc {
                vault,
                doc,
                kind: KeyKind::Head,
            } => head_key(vault, doc),
            StorageKey::Doc {
                vault,
                doc,
                kind: KeyKind::Snapshot(hash),
            } => snap_key(vault, doc, hash),
            StorageKey::Blob { vault, hash } => blob_key(vault, hash),
        }
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Parses a head or snapshot key, as found when listing [`docs_prefix`].
pub fn parse_doc_key(key: &str) -> Option<(VaultId, DocId, KeyKind)> {
    match StorageKey::parse(key)? {
        StorageKey::Doc { vault, doc, kind } => Some((vault, doc, kind)),
        _ => None,
    }
}

/// Parses a blob key, as found when listing [`blobs_prefix`].
pub fn parse_blob_key(key: &str) -> Option<(VaultId, ContentHash)> {
    match StorageKey::parse(key)? {
        StorageKey::Blob { vault, hash } => Some((vault, hash)),
        _ => None,
    }
}

/// The manifest format version this code writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// Longest manifest accepted: room for tens of thousands of revocations.
pub const MAX_MANIFEST_LEN: usize = 4 << 20;

/// A vault's manifest: identity, reset epoch and revoked tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The vault id.
    pub vault: String,
    /// When the vault was created, unix milliseconds.
    pub created_ms: u64,
    /// Random, replaced when the vault is reset; clients drop their resync
    /// cursors when it changes, since positions from before mean nothing.
    pub epoch: String,
    /// Revoked token ids.
    #[serde(default)]
    pub revoked: Revocations,
    /// When an admin deleted the vault (unix ms): it refuses every request,
    /// and every key of it is removed once the grace period has passed;
    /// until then `tessera-relay vault undelete` clears this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<u64>,
}

/// Why a manifest was refused.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// Over [`MAX_MANIFEST_LEN`].
    #[error(
        "vault manifest is over {} bytes; it is not a manifest or is corrupt",
        MAX_MANIFEST_LEN
    )]
    TooLong,
    /// Not the JSON of a [`Manifest`].
    #[error("vault manifest is not valid: {0}")]
    Json(#[source] serde_json::Error),
    /// A format this code does not read.
    #[error("vault manifest format {0} is not supported by this version of Tessera; upgrade it")]
    UnsupportedFormat(u32),
    /// An invalid vault id.
    #[error("vault manifest names an invalid vault: {0}")]
    Vault(#[from] IdError),
    /// The epoch is not 32 lowercase hex digits.
    #[error("vault manifest epoch must be 32 lowercase hex digits")]
    Epoch,
}

impl Manifest {
    /// The manifest of a new vault, with a fresh epoch and no revocations.
    pub fn new(vault: &VaultId, created_ms: u64) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            vault: vault.to_string(),
            created_ms,
            epoch: new_epoch(),
            revoked: Revocations::default(),
            deleted_ms: None,
        }
    }

    /// The manifest after a reset of the vault's contents: a new epoch.
    /// Revocations are kept: a reset must not revive revoked tokens.
    pub fn reset(&self) -> Manifest {
        Manifest {
            epoch: new_epoch(),
            ..self.clone()
        }
    }

    /// The manifest as JSON.
    pub fn encode(&self) -> Vec<u8> {
        // Strings, integers and a list of strings: serialising cannot fail.
        serde_json::to_vec(self).expect("manifest serialises to JSON")
    }

    /// Parses and checks a manifest.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(ManifestError::TooLong);
        }
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::UnsupportedFormat(manifest.format));
        }
        validate_vault_id(&manifest.vault)?;
        let epoch_ok = manifest.epoch.len() == 32
            && manifest
                .epoch
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if !epoch_ok {
            return Err(ManifestError::Epoch);
        }
        Ok(manifest)
    }
}

fn new_epoch() -> String {
    hex::encode(random_bytes::<16>())
}

#[cfg(test)]
#[path = "tests/keys.rs"]
mod tests;
