//! What can go wrong with the write-ahead log, with enough context (file,
//! offset, ticket) to act on it.

use std::io;
use std::path::PathBuf;

/// A write-ahead log failure.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// A file system call failed.
    #[error("write-ahead log: could not {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "fsync", …).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Damage that is not a torn tail: acknowledged records may be behind it,
    /// so the log refuses to open rather than skip them.
    #[error(
        "write-ahead log {} is corrupt at byte {offset}: {reason}; \
         refusing to start because acknowledged updates may be lost",
        path.display()
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the first bad record in that file.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// An update larger than the configured record limit.
    #[error(
        "write-ahead log: ticket {ticket} needs a {len}-byte record, over the {max}-byte limit"
    )]
    TooLarge {
        /// The refused ticket.
        ticket: u64,
        /// The record's size.
        len: u64,
        /// The limit ([`super::WalOptions::max_record_bytes`]).
        max: u64,
    },
    /// Tickets must be appended in strictly increasing order.
    #[error("write-ahead log: ticket {ticket} is not above {last}, the last ticket appended")]
    OutOfOrder {
        /// The refused ticket.
        ticket: u64,
        /// The highest ticket appended so far.
        last: u64,
    },
    /// The bounded queue to the writer is full (only from `try_append`).
    #[error("write-ahead log: the write queue is full")]
    Full,
    /// An earlier write or fsync failed. After a failed fsync the page cache
    /// can no longer be trusted, so the log takes no more writes.
    #[error("write-ahead log failed and takes no more writes: {0}")]
    Failed(String),
    /// The log was closed.
    #[error("write-ahead log is closed")]
    Closed,
}

impl WalError {
    /// Wraps an I/O error with the operation and path.
    pub(super) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| WalError::Io { op, path, source }
    }
}
