//! Snapshot files and the per-doc head pointer.
//!
//! A snapshot is the merged state of one doc, encoded as a yrs v1 update,
//! wrapped in a small self-checking file. It is stored under its content
//! address ([`snapshot_id`]), so a snapshot object is never overwritten.
//!
//! # Snapshot file layout (format version 1)
//!
//! All integers are little-endian.
//!
//! | offset        | size | field                                             |
//! |---------------|------|---------------------------------------------------|
//! | 0             | 4    | magic `b"TSNP"`                                   |
//! | 4             | 1    | format version, `1`                               |
//! | 5             | 4    | `h`: header length, u32, at most [`MAX_HEADER_LEN`] |
//! | 9             | h    | header: JSON of [`SnapshotHeader`]                |
//! | 9 + h         | 8    | `s`: state length, u64                            |
//! | 17 + h        | s    | state: the doc as one yrs v1 update               |
//! | 17 + h + s    | 32   | blake3 of bytes `0 .. 17 + h + s`                 |
//!
//! The header is JSON so that it reads well in a hex dump and in tools; it is
//! tiny next to the state. Unknown header fields are refused: a change of
//! meaning needs a new format version, not a silently ignored field.
//!
//! [`decode`] checks the size limit, magic, version, that the length fields
//! add up to exactly the file size, and the checksum, all before it parses
//! the header. It does not decode the state: that is yrs' job, in the shell,
//! where a yrs panic can be contained.
//!
//! # Head pointer
//!
//! [`Head`] is a small JSON object per doc naming the current snapshot and the
//! retained history. The shell writes it with a conditional write (ETag or
//! compare-and-swap), after the snapshot object itself is durable, so a crash
//! between the two leaves at worst an unreferenced snapshot, never a head
//! that points at nothing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::{blake3_hex, is_blake3_hex};
use crate::ids::{validate_stored_doc_id, validate_vault_id, IdError};

/// The first four bytes of every snapshot file.
pub const MAGIC: [u8; 4] = *b"TSNP";
/// The snapshot format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Longest header accepted. Valid headers are under 200 bytes.
pub const MAX_HEADER_LEN: u32 = 1024;
/// Longest head pointer accepted by [`Head::decode`].
pub const MAX_HEAD_LEN: usize = 1 << 20;

const CHECKSUM_LEN: usize = 32;
/// Magic, version, header length, state length, checksum.
const FIXED_LEN: usize = 4 + 1 + 4 + 8 + CHECKSUM_LEN;

/// What a snapshot is of, and how much of the write-ahead log it includes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotHeader {
    /// The vault id.
    pub vault: String,
    /// The doc id.
    pub doc: String,
    /// When the snapshot was made, unix milliseconds.
    pub created_ms: u64,
    /// The highest write-ahead-log position whose update this snapshot
    /// includes; replay after loading it starts above this position.
    pub covers: u64,
}

/// A decoded snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// What the snapshot is of.
    pub header: SnapshotHeader,
    /// The doc's merged state as one yrs v1 update (not yet decoded by yrs).
    pub state: Vec<u8>,
}

/// Why a snapshot file or head pointer was refused.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// The file is over the caller's size limit.
    #[error("snapshot is {len} bytes, over the {max}-byte limit; raise the snapshot size limit if the doc is really this large")]
    TooLong {
        /// The file's size.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// The file ends before its length fields say it should.
    #[error("snapshot file is truncated; the object is incomplete, restore an older snapshot from the doc's history")]
    Truncated,
    /// The file does not start with the snapshot magic.
    #[error(
        "not a Tessera snapshot (wrong magic bytes); check that the storage key names a snapshot"
    )]
    BadMagic,
    /// The file is from a format version this code does not read.
    #[error("snapshot format version {0} is not supported by this version of Tessera; upgrade it")]
    UnsupportedVersion(u8),
    /// A length field is out of range or the lengths do not add up to the size.
    #[error("snapshot length fields do not match its size; the file is corrupt, restore an older snapshot from the doc's history")]
    LengthMismatch,
    /// The checksum does not match the content.
    #[error("snapshot checksum does not match; the file is corrupt, restore an older snapshot from the doc's history")]
    Checksum,
    /// The header is not the JSON of a [`SnapshotHeader`].
    #[error("snapshot header is not valid: {0}")]
    Header(#[source] serde_json::Error),
    /// The header names an invalid vault or doc id.
    #[error("snapshot header names an invalid id: {0}")]
    Id(#[from] IdError),
    /// The head pointer is not valid JSON of a [`Head`].
    #[error("head pointer is not valid: {0}")]
    HeadJson(#[source] serde_json::Error),
    /// The head pointer is over [`MAX_HEAD_LEN`].
    #[error(
        "head pointer is over {} bytes; it is not a head pointer or is corrupt",
        MAX_HEAD_LEN
    )]
    HeadTooLong,
    /// The head pointer parses but is inconsistent; the reason is fixed text.
    #[error("head pointer is inconsistent: {0}")]
    HeadInvalid(&'static str),
    /// A new snapshot includes less of the log than the current head.
    #[error("snapshot covers log position {covers} but the head already covers {head}; it was built from stale state, rebuild it from the current doc")]
    Stale {
        /// What the current head covers.
        head: u64,
        /// What the refused snapshot covers.
        covers: u64,
    },
}

/// Encodes a snapshot file. Refuses invalid ids, so that nothing is written
/// that [`decode`] would later refuse.
pub fn encode(header: &SnapshotHeader, state: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    validate_vault_id(&header.vault)?;
    validate_stored_doc_id(&header.doc)?;
    // Only strings and integers: serialising cannot fail.
    let json = serde_json::to_vec(header).expect("snapshot header serialises to JSON");
    // Valid ids keep the header under 200 bytes; the check guards the format,
    // not a case that can occur.
    let header_len = u32::try_from(json.len())
        .ok()
        .filter(|&n| n <= MAX_HEADER_LEN)
        .ok_or(SnapshotError::LengthMismatch)?;

    let mut out = Vec::with_capacity(FIXED_LEN + json.len() + state.len());
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&(state.len() as u64).to_le_bytes());
    out.extend_from_slice(state);
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    Ok(out)
}

/// Decodes and checks a snapshot file of at most `max_len` bytes.
pub fn decode(bytes: &[u8], max_len: usize) -> Result<Snapshot, SnapshotError> {
    if bytes.len() > max_len {
        return Err(SnapshotError::TooLong {
            len: bytes.len(),
            max: max_len,
        });
    }
    let mut r = Reader(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let [version] = r.array::<1>()?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    let header_len = u32::from_le_bytes(r.array()?);
    if header_len > MAX_HEADER_LEN {
        return Err(SnapshotError::LengthMismatch);
    }
    let header_json = r.take(header_len as usize)?;
    let state_len = u64::from_le_bytes(r.array()?);

    // The rest must be exactly the state and the checksum: no more, no less.
    let rest = r.0.len() as u64;
    match state_len.checked_add(CHECKSUM_LEN as u64) {
        Some(needed) if needed == rest => {}
        Some(needed) if needed > rest => return Err(SnapshotError::Truncated),
        _ => return Err(SnapshotError::LengthMismatch),
    }
    let state = r.take(r.0.len().saturating_sub(CHECKSUM_LEN))?;
    let (body, checksum) = bytes
        .split_last_chunk::<CHECKSUM_LEN>()
        .ok_or(SnapshotError::Truncated)?;
    if blake3::hash(body).as_bytes() != checksum {
        return Err(SnapshotError::Checksum);
    }

    let header: SnapshotHeader =
        serde_json::from_slice(header_json).map_err(SnapshotError::Header)?;
    validate_vault_id(&header.vault)?;
    validate_stored_doc_id(&header.doc)?;
    Ok(Snapshot {
        header,
        state: state.to_vec(),
    })
}

/// The content address of an encoded snapshot: blake3 hex of the whole file.
pub fn snapshot_id(encoded: &[u8]) -> String {
    blake3_hex(encoded)
}

/// Reads fields front to back; running out of bytes means truncation.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if n > self.0.len() {
            return Err(SnapshotError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        self.take(N)?
            .try_into()
            .map_err(|_| SnapshotError::Truncated)
    }
}

/// One retained snapshot of a doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// The snapshot's id ([`snapshot_id`]).
    pub snapshot: String,
    /// blake3 hex of the snapshot's state bytes alone. The snapshot id also
    /// covers the header (time, log position), so two snapshots of an
    /// unchanged doc have different ids; this lets the shell see that the
    /// doc did not change without fetching the snapshot ([`Head::holds_state`]).
    pub state: String,
    /// When the snapshot was made, unix milliseconds.
    pub created_ms: u64,
    /// Size of the encoded snapshot file, bytes.
    pub size: u64,
}

impl HistoryEntry {
    /// The entry for a snapshot file `encoded` holding `state`.
    pub fn new(encoded: &[u8], state: &[u8], created_ms: u64) -> HistoryEntry {
        HistoryEntry {
            snapshot: snapshot_id(encoded),
            state: blake3_hex(state),
            created_ms,
            size: encoded.len() as u64,
        }
    }
}

/// The per-doc head pointer: which snapshot is current, and the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The current snapshot's id.
    pub snapshot: String,
    /// The highest log position the current snapshot includes.
    pub covers: u64,
    /// When the head last changed, unix milliseconds (the current snapshot's
    /// creation time: the head is never changed without a new snapshot).
    pub updated_ms: u64,
    /// Retained snapshots, newest first; the first is the current one.
    pub history: Vec<HistoryEntry>,
}

impl Head {
    /// The head of a doc's first snapshot.
    pub fn first(entry: HistoryEntry, covers: u64) -> Head {
        Head {
            snapshot: entry.snapshot.clone(),
            covers,
            updated_ms: entry.created_ms,
            history: vec![entry],
        }
    }

    /// The head after making `entry` current, keeping the newest `keep`
    /// snapshots (at least one: the current snapshot is never dropped), and
    /// the ids that fell out of retention, for the shell to delete after the
    /// new head is written.
    ///
    /// The same snapshot again returns the head unchanged and drops nothing,
    /// so the shell has nothing to write. A snapshot that covers less of the
    /// log than the head is refused: installing it would lose the updates in
    /// between once their log entries are dropped.
    pub fn advance(
        &self,
        entry: HistoryEntry,
        covers: u64,
        keep: usize,
    ) -> Result<(Head, Vec<String>), SnapshotError> {
        if entry.snapshot == self.snapshot {
            return Ok((self.clone(), Vec::new()));
        }
        if covers < self.covers {
            return Err(SnapshotError::Stale {
                head: self.covers,
                covers,
            });
        }
        let mut history = Vec::with_capacity(self.history.len() + 1);
        history.push(entry.clone());
        // An id may appear only once, or it could be reported dropped while
        // it is still retained.
        history.extend(
            self.history
                .iter()
                .filter(|e| e.snapshot != entry.snapshot)
                .cloned(),
        );
        let dropped = if history.len() > keep.max(1) {
            history
                .split_off(keep.max(1))
                .into_iter()
                .map(|e| e.snapshot)
                .collect()
        } else {
            Vec::new()
        };
        let head = Head {
            snapshot: entry.snapshot,
            covers,
            updated_ms: entry.created_ms,
            history,
        };
        Ok((head, dropped))
    }

    /// True when the current snapshot holds exactly `state`: the doc has not
    /// changed, and no new snapshot needs to be written.
    pub fn holds_state(&self, state: &[u8]) -> bool {
        self.history
            .first()
            .is_some_and(|current| current.state == blake3_hex(state))
    }

    /// The head as JSON.
    pub fn encode(&self) -> Vec<u8> {
        // Only strings, integers and a list: serialising cannot fail.
        serde_json::to_vec(self).expect("head serialises to JSON")
    }

    /// Parses and checks a head pointer.
    pub fn decode(bytes: &[u8]) -> Result<Head, SnapshotError> {
        if bytes.len() > MAX_HEAD_LEN {
            return Err(SnapshotError::HeadTooLong);
        }
        let head: Head = serde_json::from_slice(bytes).map_err(SnapshotError::HeadJson)?;
        if !is_blake3_hex(&head.snapshot) {
            return Err(SnapshotError::HeadInvalid(
                "current snapshot id is not a blake3 hash",
            ));
        }
        match head.history.first() {
            None => return Err(SnapshotError::HeadInvalid("history is empty")),
            Some(current) if current.snapshot != head.snapshot => {
                return Err(SnapshotError::HeadInvalid(
                    "history does not start with the current snapshot",
                ))
            }
            Some(_) => {}
        }
        let mut seen = BTreeSet::new();
        for e in &head.history {
            if !is_blake3_hex(&e.snapshot) || !is_blake3_hex(&e.state) {
                return Err(SnapshotError::HeadInvalid(
                    "history holds an id that is not a blake3 hash",
                ));
            }
            if !seen.insert(e.snapshot.as_str()) {
                return Err(SnapshotError::HeadInvalid("history lists a snapshot twice"));
            }
        }
        Ok(head)
    }
}

#[cfg(test)]
#[path = "tests/snapshot.rs"]
mod tests;
