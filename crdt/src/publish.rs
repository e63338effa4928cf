//! The decisions of publishing and reading snapshots, shared by every shell.
//!
//! A shell reads a doc's head (with its ETag), asks [`Prepared::step`] what to
//! do, writes the snapshot file if absent, moves the head with a conditional
//! write, and deletes what fell out of retention; on a lost race it reads the
//! head again and asks again. Reading back, [`verify`] checks a fetched file
//! against its name and owner. Only the I/O differs between the relay (files
//! or S3) and the worker (R2).

use crate::keys::{self, ContentHash, DocId, VaultId};
use crate::snapshot::{self, Head, HistoryEntry, SnapshotError, SnapshotHeader};

/// A snapshot encoded and named, ready to publish.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Where the snapshot file goes (content-addressed).
    pub key: String,
    /// The encoded snapshot file.
    pub file: Vec<u8>,
    /// Where the doc's head lives.
    pub head_key: String,
    entry: HistoryEntry,
    state_id: String,
    covers: u64,
    vault: VaultId,
    doc: DocId,
}

/// What to do next, given the current head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The head already holds this exact state: write nothing. (The log
    /// entries it covers are redundant, so the log may drop them.)
    Unchanged,
    /// Write [`Prepared::file`] at [`Prepared::key`] unless it exists, then
    /// put `head` at [`Prepared::head_key`] — only if the head is still the
    /// one read (or still absent) — then delete `drop`.
    Advance {
        /// The new head, encoded.
        head: Vec<u8>,
        /// Snapshot keys that fell out of retention.
        drop: Vec<String>,
    },
}

/// Encodes a snapshot of `state` covering log tickets through `covers`.
pub fn prepare(
    vault: &VaultId,
    doc: &DocId,
    state: &[u8],
    covers: u64,
    now_ms: u64,
) -> Result<Prepared, SnapshotError> {
    let header = SnapshotHeader {
        vault: vault.to_string(),
        doc: doc.to_string(),
        created_ms: now_ms,
        covers,
    };
    let file = snapshot::encode(&header, state)?;
    let entry = HistoryEntry::new(&file, state, now_ms);
    let hash =
        ContentHash::new(&entry.snapshot).map_err(|_| SnapshotError::HeadInvalid("snapshot id"))?;
    Ok(Prepared {
        key: keys::snap_key(vault, doc, &hash),
        head_key: keys::head_key(vault, doc),
        state_id: crate::hash::blake3_hex(state),
        file,
        entry,
        covers,
        vault: vault.clone(),
        doc: doc.clone(),
    })
}

impl Prepared {
    /// Decides against the current head (`None` when the doc has none yet),
    /// keeping `keep` versions.
    pub fn step(&self, current: Option<&Head>, keep: usize) -> Result<Step, SnapshotError> {
        let (head, dropped) = match current {
            Some(head)
                if head
                    .history
                    .first()
                    .is_some_and(|e| e.state == self.state_id) =>
            {
                return Ok(Step::Unchanged)
            }
            Some(head) => head.advance(self.entry.clone(), self.covers, keep)?,
            None => (Head::first(self.entry.clone(), self.covers), Vec::new()),
        };
        let drop = dropped
            .iter()
            .filter_map(|id| ContentHash::new(id).ok())
            .map(|h| keys::snap_key(&self.vault, &self.doc, &h))
            .collect();
        Ok(Step::Advance {
            head: head.encode(),
            drop,
        })
    }
}

/// Checks a fetched snapshot file: it hashes to its name, decodes within
/// `max_len`, and belongs to `vault`/`doc`. Returns the merged state.
pub fn verify(
    bytes: &[u8],
    vault: &VaultId,
    doc: &DocId,
    name: &ContentHash,
    max_len: usize,
) -> Result<Vec<u8>, SnapshotError> {
    if snapshot::snapshot_id(bytes) != name.as_str() {
        return Err(SnapshotError::Checksum);
    }
    let snap = snapshot::decode(bytes, max_len)?;
    if snap.header.vault != vault.as_str() || snap.header.doc != doc.as_str() {
        return Err(SnapshotError::HeadInvalid(
            "the snapshot belongs to another doc",
        ));
    }
    Ok(snap.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (VaultId, DocId) {
        (
            VaultId::new("default").unwrap(),
            DocId::new("0123456789abcdef0123456789abcdef").unwrap(),
        )
    }

    #[test]
    fn a_first_snapshot_creates_the_head_and_drops_nothing() {
        let (v, d) = ids();
        let p = prepare(&v, &d, b"state", 3, 1_000).unwrap();
        let Step::Advance { head, drop } = p.step(None, 5).unwrap() else {
            panic!("expected advance")
        };
        let head = Head::decode(&head).unwrap();
        assert_eq!((head.covers, drop.len()), (3, 0));
        assert!(p
            .key
            .starts_with("vaults/default/docs/0123456789abcdef0123456789abcdef/snap/"));
        assert_eq!(
            verify(
                &p.file,
                &v,
                &d,
                &ContentHash::new(&head.snapshot).unwrap(),
                1 << 20
            )
            .unwrap(),
            b"state"
        );
    }

    #[test]
    fn the_same_state_again_is_unchanged_even_with_a_later_cover() {
        let (v, d) = ids();
        let first = prepare(&v, &d, b"state", 3, 1_000).unwrap();
        let Step::Advance { head, .. } = first.step(None, 5).unwrap() else {
            panic!()
        };
        let head = Head::decode(&head).unwrap();
        let again = prepare(&v, &d, b"state", 9, 2_000).unwrap();
        assert_eq!(again.step(Some(&head), 5).unwrap(), Step::Unchanged);
    }

    #[test]
    fn retention_names_the_snapshot_keys_to_delete() {
        let (v, d) = ids();
        let mut head: Option<Head> = None;
        let mut dropped = Vec::new();
        for i in 0..4u64 {
            let p = prepare(&v, &d, format!("state {i}").as_bytes(), i + 1, i).unwrap();
            let Step::Advance { head: h, drop } = p.step(head.as_ref(), 2).unwrap() else {
                panic!()
            };
            head = Some(Head::decode(&h).unwrap());
            dropped.extend(drop);
        }
        assert_eq!(dropped.len(), 2);
        assert!(dropped.iter().all(|k| k.contains("/snap/")));
    }

    #[test]
    fn a_snapshot_under_the_wrong_name_or_doc_is_refused() {
        let (v, d) = ids();
        let p = prepare(&v, &d, b"state", 1, 0).unwrap();
        let wrong = ContentHash::new(&"0".repeat(64)).unwrap();
        assert!(verify(&p.file, &v, &d, &wrong, 1 << 20).is_err());
        let other = DocId::new("fedcba9876543210fedcba9876543210").unwrap();
        let name = ContentHash::new(&snapshot::snapshot_id(&p.file)).unwrap();
        assert!(verify(&p.file, &v, &other, &name, 1 << 20).is_err());
    }
}
