//! Files in a vault's log directory: segments named by their first ticket,
//! the `base` file, and the directory fsync that makes creating or removing
//! them durable.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::error::WalError;

/// Segment files are `<first ticket, 20 digits>.log`: 20 digits hold any
/// u64, and zero padding makes name order ticket order.
const SEGMENT_EXT: &str = "log";
/// Holds the compaction floor; see [`write_base`].
const BASE_FILE: &str = "base";
const BASE_TMP: &str = "base.tmp";
const BASE_MAGIC: [u8; 4] = *b"TWB1";
const BASE_LEN: usize = 4 + 8 + 16;

/// The path of the segment whose first ticket is `first`.
pub fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.{SEGMENT_EXT}"))
}

/// Segments in `dir` as (first ticket, path), in ticket order. Other files
/// are ignored (a leftover `base.tmp` is removed).
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(WalError::io("list", dir))? {
        let entry = entry.map_err(WalError::io("list", dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name == BASE_TMP {
            // A compaction crashed before its rename; the old base stands.
            fs::remove_file(&path).map_err(WalError::io("remove", &path))?;
            continue;
        }
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(first) = stem.parse::<u64>() {
                out.push((first, path));
                continue;
            }
        }
        tracing::debug!(file = %path.display(), "ignoring a stray file in the log directory");
    }
    out.sort_by_key(|(first, _)| *first);
    Ok(out)
}

/// Reads a whole segment. Its size comes from the file system, not from
/// bytes inside it, and segments are bounded by the rotation size plus one
/// record.
pub fn read_segment(path: &Path) -> Result<Vec<u8>, WalError> {
    let mut file = File::open(path).map_err(WalError::io("open", path))?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(WalError::io("read", path))?;
    Ok(buf)
}

/// Cuts a segment back to `len` bytes (dropping a torn tail) and makes that
/// durable before anything new is written after it.
pub fn truncate_segment(path: &Path, len: u64) -> Result<(), WalError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(WalError::io("open", path))?;
    file.set_len(len).map_err(WalError::io("truncate", path))?;
    file.sync_all().map_err(WalError::io("fsync", path))
}

/// Makes entries created, renamed or removed in `dir` durable. Without it a
/// new segment (and the records acknowledged in it) could vanish in a crash.
pub fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WalError::io("fsync directory", dir))
}

/// The compaction floor: every ticket below it is covered by a snapshot.
/// `None` if the log was never compacted.
pub fn read_base(dir: &Path) -> Result<Option<u64>, WalError> {
    let path = dir.join(BASE_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalError::io("read", &path)(e)),
    };
    let corrupt = |reason: &str| WalError::Corrupt {
        path: path.clone(),
        offset: 0,
        reason: reason.to_owned(),
    };
    if bytes.len() != BASE_LEN || bytes[..4] != BASE_MAGIC {
        return Err(corrupt("not a base file"));
    }
    if blake3::hash(&bytes[..12]).as_bytes()[..16] != bytes[12..] {
        return Err(corrupt("checksum mismatch"));
    }
    let mut floor = [0u8; 8];
    floor.copy_from_slice(&bytes[4..12]);
    Ok(Some(u64::from_le_bytes(floor)))
}

/// Records the compaction floor atomically (write a temporary file, fsync,
/// rename, fsync the directory), so a crash leaves the old or the new floor,
/// never a torn one. It must be durable before any segment is removed:
/// the floor is what keeps `next_ticket` above every ticket ever issued once
/// the segments that held those tickets are gone.
pub fn write_base(dir: &Path, floor: u64) -> Result<(), WalError> {
    let tmp = dir.join(BASE_TMP);
    let mut bytes = Vec::with_capacity(BASE_LEN);
    bytes.extend_from_slice(&BASE_MAGIC);
    bytes.extend_from_slice(&floor.to_le_bytes());
    let check = blake3::hash(&bytes);
    bytes.extend_from_slice(&check.as_bytes()[..16]);
    let mut file = File::create(&tmp).map_err(WalError::io("create", &tmp))?;
    file.write_all(&bytes)
        .map_err(WalError::io("write", &tmp))?;
    file.sync_all().map_err(WalError::io("fsync", &tmp))?;
    drop(file);
    let path = dir.join(BASE_FILE);
    fs::rename(&tmp, &path).map_err(WalError::io("rename", &path))?;
    sync_dir(dir)
}
