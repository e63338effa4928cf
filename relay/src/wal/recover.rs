//! Reading segments back on open: collect the records, check that tickets
//! rise, and tell a torn tail (cut it off) from damage that may hide
//! acknowledged records (refuse to start).

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;

use super::error::WalError;
use super::log::Segment;
use super::record::{self, Bad};
use super::segment;
use super::{Recovered, WalOptions};

/// Reads one segment into `recovered`, checking that tickets rise. Damage in
/// the last segment with nothing valid after it is a torn tail and is cut
/// off; any other damage is an error.
pub(super) fn scan_segment(
    path: &Path,
    first: u64,
    is_last: bool,
    opts: &WalOptions,
    floor: u64,
    last_seen: &mut u64,
    recovered: &mut Recovered,
) -> Result<Segment, WalError> {
    let bytes = segment::read_segment(path)?;
    let mut at = 0usize;
    let mut last = None;
    let mut found: BTreeMap<&str, Vec<(u64, Bytes)>> = BTreeMap::new();
    while at < bytes.len() {
        let rec = match record::decode(&bytes[at..], opts.max_record_bytes) {
            Ok(rec) => rec,
            Err(bad) => {
                torn_tail(path, &bytes, at, bad, is_last, opts)?;
                let dropped = (bytes.len() - at) as u64;
                tracing::warn!(
                    segment = %path.display(),
                    offset = at,
                    dropped,
                    "write-ahead log: cut off a torn tail (a write interrupted by a crash, never acknowledged)"
                );
                segment::truncate_segment(path, at as u64)?;
                recovered.truncated_bytes += dropped;
                break;
            }
        };
        if rec.ticket < first || rec.ticket <= *last_seen {
            return Err(WalError::Corrupt {
                path: path.to_path_buf(),
                offset: at as u64,
                reason: format!(
                    "ticket {} is out of order (segment starts at {first}, previous ticket {})",
                    rec.ticket, *last_seen
                ),
            });
        }
        *last_seen = rec.ticket;
        last = Some(rec.ticket);
        if rec.ticket >= floor {
            found
                .entry(rec.doc)
                .or_default()
                .push((rec.ticket, Bytes::copy_from_slice(rec.update)));
        }
        at += rec.len;
    }
    for (doc, entries) in found {
        recovered
            .docs
            .entry(doc.to_owned())
            .or_default()
            .extend(entries);
    }
    Ok(Segment {
        first,
        last,
        bytes: at as u64,
        path: path.to_path_buf(),
    })
}

/// Decides whether damage at `at` may be cut off: only in the last segment,
/// and only if no valid record follows it (a valid record after the damage
/// may have been acknowledged; skipping the damage would silently lose
/// whatever the damaged record held).
fn torn_tail(
    path: &Path,
    bytes: &[u8],
    at: usize,
    bad: Bad,
    is_last: bool,
    opts: &WalOptions,
) -> Result<(), WalError> {
    let corrupt = |reason: String| WalError::Corrupt {
        path: path.to_path_buf(),
        offset: at as u64,
        reason,
    };
    if !is_last {
        return Err(corrupt(format!(
            "{bad} in a segment that is not the newest"
        )));
    }
    // A record over the cap that is otherwise intact was written under a
    // larger cap: cutting it off would drop an acknowledged update. Decoding
    // only slices `bytes`, so checking it uncapped allocates nothing.
    if matches!(bad, Bad::TooLong(_)) && record::decode(&bytes[at..], u64::MAX).is_ok() {
        return Err(corrupt(format!(
            "{bad} ({} bytes); it is intact, so raise max_record_bytes",
            opts.max_record_bytes
        )));
    }
    if let Some(next) = record::find_valid_after(bytes, at + 1, opts.max_record_bytes) {
        return Err(corrupt(format!(
            "{bad}, yet a valid record follows at byte {next}"
        )));
    }
    Ok(())
}
