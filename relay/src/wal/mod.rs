//! A per-vault write-ahead log on local disk, with group-commit fsync.
//!
//! The room emits [`Effect::Persist`](tessera_crdt::room::Effect) for every
//! change; the shell appends it here and tells the room `durable(ticket)`
//! once the log reports that ticket durable. Acks go out only after that, so
//! a crash loses nothing that was acknowledged.
//!
//! Layout: `<data>/wal/<vault>/` holds segment files named by their first
//! ticket (`00000000000000000001.log`, …) and, once compacted, a `base` file
//! with the compaction floor. Record format: see [`record`].
//!
//! Durability: one writer task per vault takes every record queued since its
//! last commit, writes them with one `write`, and calls `sync_data` once
//! (group commit); records that arrive while that fsync runs wait in the
//! channel and form the next batch, so the number of fsyncs grows with time,
//! not with load. New segments and removals are followed by a directory
//! fsync; a segment is fsynced before the next one is started, so only the
//! last segment can ever have a torn tail.
//!
//! Recovery: a damaged tail of the last segment (a crash mid-write: never
//! acknowledged) is cut off and reported; damage anywhere else, or damage
//! followed by a valid record, is an error naming the file and offset.
//!
//! One process must own a log directory at a time; the relay holds its data
//! directory exclusively.

mod error;
mod log;
mod record;
mod recover;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;

pub use error::WalError;
pub use log::{CompactReport, Wal};
pub use writer::{WalHandle, WalStats};

/// Tunables of a vault's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is started when a record would take the current one
    /// past this size. Compaction removes whole segments, so this is also
    /// the granularity at which space is given back.
    pub segment_bytes: u64,
    /// The largest record accepted, header and checksum included. Lengths
    /// read from disk above it are treated as damage, never allocated.
    pub max_record_bytes: u64,
    /// Records that may wait for the writer; `append` waits beyond it.
    pub queue_depth: usize,
    /// A group commit stops taking records past this many update bytes, so
    /// one fsync never waits behind an unbounded write.
    pub max_batch_bytes: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            max_record_bytes: 64 << 20,
            queue_depth: 1024,
            max_batch_bytes: 8 << 20,
        }
    }
}

/// What a log held when it was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Exceeds every ticket ever issued, including compacted ones: give it
    /// to `Room::recover`.
    pub next_ticket: u64,
    /// The compaction floor: entries below it were covered by snapshots and
    /// are not returned.
    pub floor: u64,
    /// Log entries per doc, in ticket order (for `Room::doc_loaded`).
    pub docs: BTreeMap<String, Vec<(u64, Bytes)>>,
    /// Bytes of torn tail cut off the last segment (never acknowledged).
    pub truncated_bytes: u64,
}

impl Recovered {
    /// Each doc with log entries, and its first and last ticket (for
    /// `Room::recover`).
    pub fn logged(&self) -> Vec<(String, u64, u64)> {
        self.docs
            .iter()
            .filter_map(|(doc, entries)| {
                let first = entries.first()?.0;
                let last = entries.last()?.0;
                Some((doc.clone(), first, last))
            })
            .collect()
    }

    /// How many entries were recovered.
    pub fn len(&self) -> usize {
        self.docs.values().map(Vec::len).sum()
    }

    /// True when no entries were recovered.
    pub fn is_empty(&self) -> bool {
        self.docs.values().all(Vec::is_empty)
    }
}

/// The log directory of `vault` under the data directory:
/// `<data>/wal/<vault>/`. The vault id is validated so it cannot name a
/// path outside `<data>/wal`.
pub fn vault_dir(data: &Path, vault: &str) -> Result<PathBuf, tessera_crdt::ids::IdError> {
    tessera_crdt::ids::validate_vault_id(vault)?;
    Ok(data.join("wal").join(vault))
}
