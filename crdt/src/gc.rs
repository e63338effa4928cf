//! Garbage collection, decided without I/O: which stored objects of a vault
//! nothing needs any more.
//!
//! A doc (head and snapshots) is needed while a live index entry has its id
//! (the index doc itself always is); a blob is needed while a live entry
//! carries its hash. Anything else is a candidate, collected once it has
//! been a candidate for the whole retention: a deleted note stays
//! restorable (undelete the entry, then history/restore) until then, and a
//! note or blob that is referenced again in time (restored, or an
//! attachment uploaded just before its entry) leaves the candidates.
//!
//! Index entries carry no deletion time, and an object's modification time
//! says when it was written, not when it stopped being needed (a note last
//! edited a year ago and deleted today is not a year past its deletion). So
//! the collector remembers when it first saw each candidate ([`GcState`],
//! stored by the shell between runs): the retention counts from then.
//!
//! The shell lists the vault's keys with their sizes, reads the index and
//! its stored [`GcState`], calls [`plan`] with the time, deletes what the
//! plan says (each doc's head first, so a crash halfway never leaves a head
//! pointing at a deleted snapshot) and stores the plan's new state. A vault
//! whose index cannot be read is never collected.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::INDEX_DOC;
use crate::keys::{KeyKind, StorageKey, VaultId};
use crate::vault::Entry;

/// Default retention: 30 days.
pub const DEFAULT_RETENTION_MS: u64 = 30 * 24 * 3600 * 1000;

/// The [`GcState`] format this code writes and reads.
pub const GC_STATE_FORMAT: u32 = 1;

/// Longest stored [`GcState`] accepted (a candidate is ~80 bytes).
pub const MAX_GC_STATE_LEN: usize = 16 << 20;

/// One stored object, as a listing reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What the collector remembers between runs: when each candidate was
/// first seen unreferenced (`doc/{id}` or `blob/{hash}` → unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcState {
    /// [`GC_STATE_FORMAT`].
    pub format: u32,
    /// Candidates and the time each was first seen.
    #[serde(default)]
    pub candidates: BTreeMap<String, u64>,
}

/// A stored [`GcState`] that cannot be used.
#[derive(Debug, Error)]
pub enum GcStateError {
    /// Over [`MAX_GC_STATE_LEN`].
    #[error("the collector's state is over {MAX_GC_STATE_LEN} bytes; it is corrupt")]
    TooLong,
    /// Not its JSON, or another format.
    #[error("the collector's state is not valid: {0}")]
    Invalid(String),
}

impl GcState {
    /// The state as JSON.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = self.clone();
        s.format = GC_STATE_FORMAT;
        // Strings and integers only: serialising cannot fail.
        serde_json::to_vec(&s).expect("gc state serialises to JSON")
    }

    /// Parses a stored state.
    pub fn decode(bytes: &[u8]) -> Result<GcState, GcStateError> {
        if bytes.len() > MAX_GC_STATE_LEN {
            return Err(GcStateError::TooLong);
        }
        let s: GcState =
            serde_json::from_slice(bytes).map_err(|e| GcStateError::Invalid(e.to_string()))?;
        if s.format != GC_STATE_FORMAT {
            return Err(GcStateError::Invalid(format!("format {}", s.format)));
        }
        Ok(s)
    }
}

/// What one collection run decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// Keys to delete, in order (a doc's head before its snapshots).
    pub delete: Vec<String>,
    /// Bytes those keys hold.
    pub bytes_freed: u64,
    /// Docs and blobs collected by this plan.
    pub docs_collected: usize,
    /// Blobs collected by this plan.
    pub blobs_collected: usize,
    /// Candidates still inside their retention.
    pub waiting: usize,
    /// Bytes the vault's listed objects hold, before deletion.
    pub bytes_stored: u64,
    /// The state to store for the next run.
    pub state: GcState,
}

/// Decides what to delete from `vault`'s `stored` objects, given every
/// index entry (tombstones included), the previous run's state, the time
/// and the retention (both in unix milliseconds). Keys of other vaults and
/// of other kinds (the manifest) are never deleted.
pub fn plan(
    vault: &VaultId,
    entries: &[Entry],
    stored: &[Stored],
    previous: &GcState,
    now_ms: u64,
    retention_ms: u64,
) -> GcPlan {
    let live_docs: HashSet<&str> = entries
        .iter()
        .filter(|e| !e.deleted)
        .map(|e| e.id.as_str())
        .collect();
    let live_hashes: HashSet<&str> = entries
        .iter()
        .filter(|e| !e.deleted)
        .filter_map(|e| e.meta.hash.as_deref())
        .collect();

    // Candidate → its keys (head first) and their bytes.
    let mut groups: BTreeMap<String, (Vec<String>, u64, bool)> = BTreeMap::new();
    let mut out = GcPlan::default();
    for object in stored {
        let Some(parsed) = StorageKey::parse(&object.key) else {
            continue;
        };
        if parsed.vault() != vault {
            continue;
        }
        out.bytes_stored += object.size;
        let (candidate, head) = match &parsed {
            StorageKey::Doc { doc, kind, .. } => {
                if doc.as_str() == INDEX_DOC || live_docs.contains(doc.as_str()) {
                    continue;
                }
                (format!("doc/{doc}"), matches!(kind, KeyKind::Head))
            }
            StorageKey::Blob { hash, .. } => {
                if live_hashes.contains(hash.as_str()) {
                    continue;
                }
                (format!("blob/{hash}"), false)
            }
            _ => continue,
        };
        let group = groups.entry(candidate).or_default();
        if head {
            group.0.insert(0, object.key.clone());
        } else {
            group.0.push(object.key.clone());
        }
        group.1 += object.size;
        group.2 = true;
    }

    let mut seen = BTreeSet::new();
    for (candidate, (keys, bytes, _)) in groups {
        let since = previous
            .candidates
            .get(&candidate)
            .copied()
            .filter(|&t| t <= now_ms)
            .unwrap_or(now_ms);
        // Kept in the state until its keys are gone: a failed delete is
        // retried on the next run without a new retention.
        out.state.candidates.insert(candidate.clone(), since);
        seen.insert(candidate.clone());
        if now_ms.saturating_sub(since) >= retention_ms {
            out.delete.extend(keys);
            out.bytes_freed += bytes;
            if candidate.starts_with("doc/") {
                out.docs_collected += 1;
            } else {
                out.blobs_collected += 1;
            }
        } else {
            out.waiting += 1;
        }
    }
    out.state.format = GC_STATE_FORMAT;
    out
}

#[cfg(test)]
#[path = "tests/gc.rs"]
mod tests;
