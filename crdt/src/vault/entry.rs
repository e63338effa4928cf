//! One index entry: its Rust shape and how it is stored in a nested `Y.Map`.

use serde::{Deserialize, Serialize};
use yrs::{Any, Map, Number, Out, ReadTxn};

/// What a file is: a note (its own CRDT doc) or a blob (content-addressed bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A Markdown note; its doc id is the entry's id.
    Note,
    /// An attachment stored by blake3 hash.
    Blob,
}

impl EntryKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EntryKind::Note => "note",
            EntryKind::Blob => "blob",
        }
    }

    fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "note" => Some(EntryKind::Note),
            "blob" => Some(EntryKind::Blob),
            _ => None,
        }
    }
}

/// File metadata; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// blake3 hex of the content (for blobs: their address).
    pub hash: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Modification time, milliseconds since the Unix epoch.
    pub mtime: Option<u64>,
}

/// One file as recorded in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Stable file id (32 lowercase hex digits).
    pub id: String,
    /// Vault-relative path.
    pub path: String,
    /// Note or blob.
    pub kind: EntryKind,
    /// Hash, size and mtime.
    #[serde(flatten)]
    pub meta: EntryMeta,
    /// Tombstone flag.
    pub deleted: bool,
    /// Set when this entry lost a path conflict: the id it was merged into.
    pub merged_into: Option<String>,
}

/// The optional fields of `meta` as map values (`None` = absent).
pub(super) fn meta_fields(meta: &EntryMeta) -> [(&'static str, Option<Any>); 3] {
    let number = |n: u64| Any::Number(Number::Int(i64::try_from(n).unwrap_or(i64::MAX)));
    [
        ("hash", meta.hash.as_deref().map(Any::from)),
        ("size", meta.size.map(number)),
        ("mtime", meta.mtime.map(number)),
    ]
}

/// Reads one entry; `None` for values that are not a well-formed entry map
/// (written by a foreign client), which are then ignored rather than trusted.
pub(super) fn read_entry<T: ReadTxn>(txn: &T, id: &str, value: Out) -> Option<Entry> {
    let Out::YMap(map) = value else {
        return None;
    };
    let string = |key: &str| match map.get(txn, key) {
        Some(Out::Any(Any::String(s))) => Some(s.to_string()),
        _ => None,
    };
    let number = |key: &str| match map.get(txn, key) {
        Some(Out::Any(Any::Number(n))) => n.as_i64().and_then(|n| u64::try_from(n).ok()),
        _ => None,
    };
    Some(Entry {
        id: id.to_owned(),
        path: string("path")?,
        kind: EntryKind::parse(&string("kind")?)?,
        meta: EntryMeta {
            hash: string("hash"),
            size: number("size"),
            mtime: number("mtime"),
        },
        deleted: matches!(map.get(txn, "deleted"), Some(Out::Any(Any::Bool(true)))),
        merged_into: string("mergedInto"),
    })
}
