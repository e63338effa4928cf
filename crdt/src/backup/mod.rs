//! Backups of a vault as plain files: the decisions, without the I/O.
//!
//! A backup destination (a folder, an S3 prefix, an R2 bucket) holds the
//! vault in its folder layout — each note as its Markdown text, each
//! attachment as its bytes — plus a [`BackupManifest`] at [`MANIFEST_NAME`]
//! that records, per path, what was written and where it came from. The
//! shells (the relay's `backup` command and its scheduler, the worker's cron
//! handler) run the same steps:
//!
//! 1. read the manifest (none: a first run) and the vault's index;
//! 2. [`live_files`] lists the files the vault shows; for each, the shell
//!    names its [`Source`] (a note's current snapshot id, a blob's hash),
//!    which costs a head read per note but no note content;
//! 3. [`plan`] says which paths to move away ([`Plan::remove`]), which to
//!    fetch ([`Plan::fetch`]) and which to refuse ([`Plan::refused`]);
//! 4. per fetched file, [`needs_write`] compares the content hash with the
//!    manifest (an unchanged text under a new snapshot is not rewritten),
//!    and [`BackupManifest::record`] notes what is now at the destination;
//! 5. the shell writes the manifest every batch of files, so a run that is
//!    killed resumes where its last manifest write left off.
//!
//! Files deleted from the vault are not destroyed: they move to
//! `.tessera-backup/deleted/{run stamp}/{path}` ([`deleted_path`]), so an
//! accidental mass delete in the vault cannot empty its backup.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::blake3_hex;
use crate::vault::{Entry, EntryKind, Index, PathPolicy};

#[cfg(test)]
mod tests;

/// The manifest's name at the root of the destination.
pub const MANIFEST_NAME: &str = ".tessera-backup.json";

/// The folder at the root of the destination that holds moved-away files
/// (and, for a folder destination, temporary files). No vault file may be
/// backed up inside it.
pub const RESERVED_DIR: &str = ".tessera-backup";

/// The manifest format this code writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// Why a manifest cannot be used.
#[derive(Debug, Error)]
pub enum BackupError {
    /// Not JSON of the manifest's shape.
    #[error("the backup manifest is not valid: {0}")]
    BadManifest(String),
    /// Written by a newer version.
    #[error("the backup manifest has version {0}; this build reads version {MANIFEST_VERSION}")]
    Version(u32),
    /// The destination holds another vault's backup.
    #[error("the destination holds a backup of vault {found:?}, not {expected:?}: choose another destination")]
    OtherVault {
        /// The vault being backed up.
        expected: String,
        /// The vault the manifest names.
        found: String,
    },
}

/// What the destination holds, as of the last manifest write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// The vault backed up here.
    pub vault: String,
    /// The vault cursor of the last complete run: the index doc's snapshot
    /// id then (`None` before the first run finishes).
    pub index_snapshot: Option<String>,
    /// When a run last changed the destination, unix milliseconds.
    pub updated_ms: Option<u64>,
    /// Every file at the destination, by vault path.
    pub files: BTreeMap<String, FileRecord>,
}

/// One file at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// blake3 hex of the bytes written.
    pub hash: String,
    /// Their length.
    pub size: u64,
    /// Where they came from ([`Source::tag`]).
    pub source: String,
}

impl BackupManifest {
    /// The manifest of an empty destination.
    pub fn new(vault: &str) -> BackupManifest {
        BackupManifest {
            version: MANIFEST_VERSION,
            vault: vault.to_owned(),
            index_snapshot: None,
            updated_ms: None,
            files: BTreeMap::new(),
        }
    }

    /// Parses a stored manifest and checks it belongs to `vault`.
    pub fn decode(bytes: &[u8], vault: &str) -> Result<BackupManifest, BackupError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let v: Version =
            serde_json::from_slice(bytes).map_err(|e| BackupError::BadManifest(e.to_string()))?;
        if v.version != MANIFEST_VERSION {
            return Err(BackupError::Version(v.version));
        }
        let m: BackupManifest =
            serde_json::from_slice(bytes).map_err(|e| BackupError::BadManifest(e.to_string()))?;
        if m.vault != vault {
            return Err(BackupError::OtherVault {
                expected: vault.to_owned(),
                found: m.vault,
            });
        }
        Ok(m)
    }

    /// The manifest as stored: pretty JSON, so an operator can read it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Records that `bytes` from `source` are now at `path`.
    pub fn record(&mut self, path: &str, source: &Source, bytes: &[u8]) {
        self.files.insert(
            path.to_owned(),
            FileRecord {
                hash: blake3_hex(bytes),
                size: bytes.len() as u64,
                source: source.tag(),
            },
        );
    }

    /// Records that `path` is no longer at the destination.
    pub fn forget(&mut self, path: &str) {
        self.files.remove(path);
    }
}

/// What a file's content is derived from. When the source is the one the
/// manifest recorded, the content is too, and the file is not even fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A note at this snapshot id (the head's `snapshot`).
    Snapshot(String),
    /// A note with no stored snapshot yet: empty text.
    EmptyNote,
    /// An attachment with this blake3 hash.
    Blob(String),
}

impl Source {
    /// The tag stored in [`FileRecord::source`].
    pub fn tag(&self) -> String {
        match self {
            Source::Snapshot(id) => format!("snap:{id}"),
            Source::EmptyNote => "empty".to_owned(),
            Source::Blob(hash) => format!("blob:{hash}"),
        }
    }
}

/// A file the vault shows now, with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Vault path.
    pub path: String,
    /// The index entry's id (a note's doc id).
    pub id: String,
    /// Note or attachment.
    pub kind: EntryKind,
    /// Where its content comes from.
    pub source: Source,
}

/// A vault file that is not backed up, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Vault path.
    pub path: String,
    /// The reason, for the log.
    pub reason: &'static str,
}

/// What one run does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Paths in the manifest the vault no longer shows: move them away
    /// (before writing anything: a deleted file `x` may have become a folder).
    pub remove: Vec<String>,
    /// Files whose content must be read: new, from a new source, or all of
    /// them for a complete run.
    pub fetch: Vec<Wanted>,
    /// Files whose recorded source is current: left alone.
    pub unchanged: usize,
    /// Files that cannot be backed up.
    pub refused: Vec<Refusal>,
}

/// The files a backup holds: one per live path, the conflict winner that
/// every device shows (as the index's `lookup` picks it).
pub fn live_files(index: &Index) -> Vec<Entry> {
    index
        .list()
        .into_iter()
        .filter(|e| index.lookup(&e.path).is_some_and(|w| w.id == e.id))
        .collect()
}

/// Why `path` may not be written at a backup destination, if it may not:
/// the server's path policy, and the names the backup itself uses (a
/// co-editor's note named `.tessera-backup.json` must not overwrite the
/// manifest). Compared case-insensitively, for case-insensitive disks.
pub fn refusal_reason(path: &str) -> Option<&'static str> {
    if let Some(reason) = PathPolicy::server().reason(path) {
        return Some(reason);
    }
    let lower = path.to_lowercase();
    let first = lower.split('/').next().unwrap_or_default();
    if first == MANIFEST_NAME || first == RESERVED_DIR {
        return Some("a name the backup itself uses (.tessera-backup.json, .tessera-backup/)");
    }
    None
}

/// Decides a run from the manifest and the vault's files now.
///
/// `complete` fetches every file (and [`needs_write`] then rewrites it).
/// A path listed twice keeps its first listing. A file whose path is also a
/// folder of another file is refused (the folder's files are kept): a disk
/// cannot hold both, and one co-editor's stray entry must not fail every
/// backup of the vault.
pub fn plan(manifest: &BackupManifest, wanted: Vec<Wanted>, complete: bool) -> Plan {
    let mut out = Plan::default();
    let mut seen = BTreeSet::new();
    let mut ok = Vec::with_capacity(wanted.len());
    for w in wanted {
        if !seen.insert(w.path.clone()) {
            continue;
        }
        match refusal_reason(&w.path) {
            Some(reason) => out.refused.push(Refusal {
                path: w.path,
                reason,
            }),
            None => ok.push(w),
        }
    }
    let folders: BTreeSet<String> = ok
        .iter()
        .flat_map(|w| {
            w.path
                .match_indices('/')
                .map(|(i, _)| w.path[..i].to_owned())
        })
        .collect();
    let (ok, shadowed): (Vec<Wanted>, Vec<Wanted>) =
        ok.into_iter().partition(|w| !folders.contains(&w.path));
    out.refused.extend(shadowed.into_iter().map(|w| Refusal {
        path: w.path,
        reason: "another file is inside a folder of this name",
    }));
    let keep: BTreeSet<&str> = ok.iter().map(|w| w.path.as_str()).collect();
    out.remove = manifest
        .files
        .keys()
        .filter(|p| !keep.contains(p.as_str()))
        .cloned()
        .collect();
    for w in ok {
        let current = manifest
            .files
            .get(&w.path)
            .is_some_and(|r| r.source == w.source.tag());
        if current && !complete {
            out.unchanged += 1;
        } else {
            out.fetch.push(w);
        }
    }
    out
}

/// Whether fetched `bytes` for `path` must be written: always for a
/// complete run, else only when they differ from what the manifest records.
pub fn needs_write(manifest: &BackupManifest, path: &str, bytes: &[u8], complete: bool) -> bool {
    complete
        || manifest
            .files
            .get(path)
            .is_none_or(|r| r.size != bytes.len() as u64 || r.hash != blake3_hex(bytes))
}

/// Where a file removed from the vault goes: under
/// `.tessera-backup/deleted/{stamp}/`, keeping its path.
pub fn deleted_path(stamp: &str, path: &str) -> String {
    format!("{RESERVED_DIR}/deleted/{stamp}/{path}")
}

/// A run's stamp from its start time: `2026-12-02T01-50-43Z` (UTC; no
/// colons, which Windows forbids in names).
pub fn run_stamp(now_ms: u64) -> String {
    let secs = now_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}-{:02}-{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
