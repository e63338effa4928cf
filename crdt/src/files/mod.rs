//! Files over REST (`/v1/vaults/{vault}/files…`): the requests, their
//! parsing and the answers, shared by the relay and the worker.
//!
//! This module is pure: it turns what a shell read off the wire (the raw
//! path, the query, `If-Match`, the body) into a [`FileRequest`], and a
//! listing into JSON. The room carries the request out
//! ([`Room::files`](crate::room::Room::files)): every edit goes through it
//! like a device's write — logged, broadcast, snapshotted, in
//! `changes-since` — and text enters a note only as a minimal diff, so an
//! edit a device makes meanwhile survives.
//!
//! A file's **version** is the change cursor (log ticket) of its last
//! change: for a note, of its text; for a blob or a tombstone, of its index
//! entry. It is the `ETag` (quoted) and what `If-Match` compares.

mod parse;

pub use parse::{decode_path, parse_condition, parse_list_query, text_body};

use serde::Serialize;

use crate::vault::{Entry, EntryKind};

/// The largest note body a `PUT` or append reads, in bytes: the default
/// [`max_update_bytes`](crate::limits::Limits::max_update_bytes), since the
/// text becomes one update. The room also holds the update itself to the
/// configured limit.
pub const MAX_TEXT_BODY: u64 = 16 << 20;

/// The `Content-Type` of a note.
pub const MARKDOWN: &str = "text/markdown; charset=utf-8";

/// A precondition on a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// No precondition.
    None,
    /// `If-Match: <version>, …`: the file exists at one of these versions.
    IfMatch(Vec<u64>),
    /// `If-Match: *`: the file exists.
    IfExists,
    /// `If-None-Match: *`: the file does not exist (create only).
    IfAbsent,
}

impl Condition {
    /// Whether a file at `current` (`None`: absent) meets the condition.
    pub fn holds(&self, current: Option<u64>) -> bool {
        match (self, current) {
            (Condition::None, _) => true,
            (Condition::IfMatch(versions), Some(v)) => versions.contains(&v),
            (Condition::IfExists, Some(_)) => true,
            (Condition::IfAbsent, None) => true,
            _ => false,
        }
    }
}

/// `?since=` and `?epoch=` of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// List only what changed after this cursor, tombstones included.
    pub since: Option<u64>,
    /// The epoch the cursor belongs to; another epoch lists everything.
    pub epoch: Option<String>,
}

/// One file request, parsed and checked (path policy, body, conditions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRequest {
    /// `GET …/files`.
    List(ListQuery),
    /// `GET …/files/{path}`.
    Get {
        /// Vault-relative path; passed the server path policy.
        path: String,
    },
    /// `PUT …/files/{path}`: the note's new text.
    Put {
        /// Vault-relative path; passed the server path policy.
        path: String,
        /// The whole new text.
        text: String,
        /// `If-Match` / `If-None-Match`.
        condition: Condition,
        /// Wall-clock milliseconds, for the entry's `mtime`.
        wall_ms: u64,
    },
    /// `POST …/files/{path}?append`: a line added at the end.
    Append {
        /// Vault-relative path; passed the server path policy.
        path: String,
        /// The text of the line.
        text: String,
        /// Wall-clock milliseconds, for the entry's `mtime`.
        wall_ms: u64,
    },
    /// `DELETE …/files/{path}`: tombstones the entry.
    Delete {
        /// Vault-relative path; passed the server path policy.
        path: String,
        /// `If-Match`.
        condition: Condition,
    },
}

/// One file in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// Vault-relative path.
    pub path: String,
    /// The stable file id (a note's doc id).
    pub id: String,
    /// `note` or `blob`, as the index records it.
    pub kind: EntryKind,
    /// blake3 hex of the content, if the index records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Size in bytes, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Modification time (unix ms), if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<u64>,
    /// The file's version (see the module docs).
    pub version: u64,
    /// Present and true for a deleted file (only in `?since=` listings).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl FileInfo {
    /// The listing entry of `e` at `version`.
    pub fn of(e: &Entry, version: u64) -> FileInfo {
        FileInfo {
            path: e.path.clone(),
            id: e.id.clone(),
            kind: e.kind,
            hash: e.meta.hash.clone(),
            size: e.meta.size,
            mtime: e.meta.mtime,
            version,
            deleted: e.deleted,
        }
    }
}

/// The body of `GET …/files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The epoch cursors belong to.
    pub epoch: String,
    /// Pass as `?since=` next time: everything up to here is listed.
    pub cursor: u64,
    /// True when `?since=` could not be honoured (other epoch, or a cursor
    /// from the future): every live file is listed.
    pub reset: bool,
    /// The files, sorted by path.
    pub files: Vec<FileInfo>,
}

/// What the room says to do next with a file request.
#[derive(Debug)]
pub enum FileStep {
    /// A doc the request needs is loading: carry out `effects`, then ask
    /// again once [`Room::is_loading`](crate::room::Room::is_loading)`(doc)`
    /// is false.
    Wait {
        /// The doc being loaded.
        doc: String,
        /// The effects to carry out (the load, the first time).
        effects: Vec<crate::room::Effect>,
    },
    /// A blob: answer with its bytes, read from storage by hash.
    Blob {
        /// Its content address.
        hash: String,
        /// Its version, for the `ETag`.
        version: u64,
    },
    /// The answer.
    Done(FileReply),
}

/// An answer to a file request, and what to do before sending it.
#[derive(Debug)]
pub struct FileReply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The file's version, sent as the `ETag`.
    pub version: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
    /// Effects to carry out (log appends, broadcasts) before answering.
    pub effects: Vec<crate::room::Effect>,
    /// Answer only once the log is durable through this ticket
    /// ([`Room::cursor`](crate::room::Room::cursor)).
    pub durable_at: Option<u64>,
}

impl FileReply {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value, version: Option<u64>) -> FileReply {
        FileReply {
            status,
            content_type: "application/json",
            version,
            body: value.to_string().into_bytes(),
            effects: Vec::new(),
            durable_at: None,
        }
    }

    /// The `ETag` header value: the version, quoted.
    pub fn etag(&self) -> Option<String> {
        self.version.map(etag)
    }
}

/// The `ETag` of a version: the number, quoted.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests;
