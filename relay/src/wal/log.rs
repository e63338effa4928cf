//! The log itself, driven synchronously: recovery on open, batched appends,
//! fsync, rotation and compaction. The writer task runs these on the
//! blocking pool; nothing here touches the async runtime.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::error::WalError;
use super::record;
use super::recover::scan_segment;
use super::segment;
use super::{Recovered, WalOptions};

/// One record to append.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub ticket: u64,
    pub doc: String,
    pub update: Bytes,
}

/// Counters shared with handles, for metrics and tests.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub fsyncs: AtomicU64,
    pub commits: AtomicU64,
    pub appends: AtomicU64,
    pub size_bytes: AtomicU64,
    pub segments: AtomicU64,
}

/// What a compaction removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Segments deleted.
    pub segments: usize,
    /// Bytes given back.
    pub bytes: u64,
}

#[derive(Debug)]
pub(super) struct Segment {
    /// From the file name: no record in it has a smaller ticket.
    pub first: u64,
    /// Its last record's ticket, `None` while empty.
    pub last: Option<u64>,
    /// Its length, including bytes written but not yet fsynced.
    pub bytes: u64,
    pub path: PathBuf,
}

impl Segment {
    /// True when every ticket it holds (or would be named for) is below `floor`.
    fn covered_by(&self, floor: u64) -> bool {
        self.last.unwrap_or(self.first) < floor
    }
}

/// A vault's write-ahead log. Open it with [`Wal::open`], then hand it to
/// its group-commit writer with [`Wal::start`].
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    /// In ticket order; the last one is the segment being written.
    segments: Vec<Segment>,
    /// Open for appending on `segments.last()`, if any.
    active: Option<File>,
    /// The highest ticket written (or, right after opening, next_ticket - 1).
    last_ticket: u64,
    /// Tickets below it are covered by snapshots.
    floor: u64,
    /// True when bytes were written since the last fsync.
    unsynced: bool,
    buf: Vec<u8>,
    pub(super) counters: Arc<Counters>,
}

impl Wal {
    /// Opens (or creates) the log in `dir` and recovers what it holds. A torn
    /// tail of the last segment is cut off and counted in
    /// [`Recovered::truncated_bytes`]; any other damage is
    /// [`WalError::Corrupt`]. Blocking: call it from `spawn_blocking` or
    /// before the runtime starts.
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions) -> Result<(Wal, Recovered), WalError> {
        let dir = dir.as_ref().to_path_buf();
        create_durably(&dir)?;
        let floor = segment::read_base(&dir)?.unwrap_or(1).max(1);
        let files = segment::list_segments(&dir)?;
        let mut recovered = Recovered {
            floor,
            ..Recovered::default()
        };
        let mut segments = Vec::with_capacity(files.len());
        // The highest ticket seen, compacted or not: tickets must rise.
        let mut last_seen = 0u64;
        let count = files.len();
        for (i, (first, path)) in files.into_iter().enumerate() {
            if first <= last_seen && last_seen > 0 {
                return Err(WalError::Corrupt {
                    path,
                    offset: 0,
                    reason: format!(
                        "segment starts at ticket {first} but ticket {last_seen} came before"
                    ),
                });
            }
            let is_last = i + 1 == count;
            let seg = scan_segment(
                &path,
                first,
                is_last,
                &opts,
                floor,
                &mut last_seen,
                &mut recovered,
            )?;
            segments.push(seg);
        }
        let named = segments.last().map_or(0, |s| s.first);
        recovered.next_ticket = floor.max(last_seen + 1).max(named).max(1);
        let mut wal = Wal {
            dir,
            opts,
            segments,
            active: None,
            last_ticket: recovered.next_ticket - 1,
            floor,
            unsynced: false,
            buf: Vec::new(),
            counters: Arc::new(Counters::default()),
        };
        // A compaction that crashed after moving the floor left covered
        // segments behind; finish its work.
        wal.remove_covered()?;
        if let Some(seg) = wal.segments.last() {
            let file = OpenOptions::new()
                .append(true)
                .open(&seg.path)
                .map_err(WalError::io("open", &seg.path))?;
            wal.active = Some(file);
        }
        wal.publish_size();
        tracing::debug!(
            dir = %wal.dir.display(),
            next_ticket = recovered.next_ticket,
            entries = recovered.len(),
            truncated = recovered.truncated_bytes,
            "write-ahead log opened"
        );
        Ok((wal, recovered))
    }

    /// The directory this log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The highest ticket written; durable once [`Wal::sync`] returns.
    pub(super) fn last_ticket(&self) -> u64 {
        self.last_ticket
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// The record limit, for checking appends before they are queued.
    pub(super) fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Refuses what could never be written: a doc id longer than the
    /// format's u16, or a record over the size cap.
    pub(super) fn check_entry(
        max_record_bytes: u64,
        ticket: u64,
        doc: &str,
        update: &[u8],
    ) -> Result<(), WalError> {
        let len = record::encoded_len(doc, update);
        // The body length is stored as a u32.
        let max = max_record_bytes.min(u64::from(u32::MAX));
        if doc.len() > usize::from(u16::MAX) || len > max {
            return Err(WalError::TooLarge { ticket, len, max });
        }
        Ok(())
    }

    /// Writes `entries` (in ticket order, above every ticket written so far)
    /// to the page cache, starting new segments as needed. Not durable until
    /// [`Wal::sync`].
    pub(super) fn write(&mut self, entries: &[Entry]) -> Result<(), WalError> {
        for e in entries {
            if e.ticket <= self.last_ticket {
                return Err(WalError::OutOfOrder {
                    ticket: e.ticket,
                    last: self.last_ticket,
                });
            }
            Self::check_entry(self.opts.max_record_bytes, e.ticket, &e.doc, &e.update)?;
            let len = record::encoded_len(&e.doc, &e.update);
            let rotate = match (&self.active, self.segments.last()) {
                (Some(_), Some(s)) => s.bytes > 0 && s.bytes + len > self.opts.segment_bytes,
                _ => true,
            };
            if rotate {
                self.rotate(e.ticket)?;
            }
            record::encode(&mut self.buf, e.ticket, &e.doc, &e.update);
            if let Some(seg) = self.segments.last_mut() {
                seg.bytes += len;
                seg.last = Some(e.ticket);
            }
            self.last_ticket = e.ticket;
        }
        self.flush()?;
        self.counters
            .appends
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.publish_size();
        Ok(())
    }

    /// Makes everything written durable: one `sync_data` for the whole batch.
    pub(super) fn sync(&mut self) -> Result<(), WalError> {
        if !self.unsynced {
            return Ok(());
        }
        if let (Some(file), Some(seg)) = (&self.active, self.segments.last()) {
            file.sync_data().map_err(WalError::io("fsync", &seg.path))?;
            self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        self.unsynced = false;
        Ok(())
    }

    /// Drops every segment whose tickets are all below `below` (covered by
    /// snapshots). The floor is recorded durably first, in the `base` file:
    /// that keeps `next_ticket` above every ticket ever issued even when no
    /// segment is left, and it is cheaper and clearer than keeping a
    /// fully-covered segment around only for its name.
    pub fn compact(&mut self, below: u64) -> Result<CompactReport, WalError> {
        if below <= self.floor {
            return Ok(CompactReport::default());
        }
        // Bytes pending in the buffer belong to the active segment; write
        // them before that segment may be deleted.
        self.flush()?;
        segment::write_base(&self.dir, below)?;
        self.floor = below;
        let report = self.remove_covered()?;
        tracing::debug!(dir = %self.dir.display(), below, segments = report.segments, bytes = report.bytes, "write-ahead log compacted");
        Ok(report)
    }

    /// Deletes segments below the floor, oldest first, then fsyncs the
    /// directory. The active segment goes too when fully covered; the next
    /// append starts a new one.
    fn remove_covered(&mut self) -> Result<CompactReport, WalError> {
        let mut report = CompactReport::default();
        while let Some(seg) = self.segments.first() {
            if !seg.covered_by(self.floor) {
                break;
            }
            if self.segments.len() == 1 {
                // Whatever it held is covered by snapshots: nothing left to sync.
                self.active = None;
                self.unsynced = false;
            }
            fs::remove_file(&seg.path).map_err(WalError::io("remove", &seg.path))?;
            report.segments += 1;
            report.bytes += seg.bytes;
            self.segments.remove(0);
        }
        if report.segments > 0 {
            segment::sync_dir(&self.dir)?;
            self.publish_size();
        }
        Ok(report)
    }

    /// Closes the current segment (fsynced, so only the newest segment can
    /// ever have a torn tail) and starts one named after `first`.
    fn rotate(&mut self, first: u64) -> Result<(), WalError> {
        self.flush()?;
        self.sync()?;
        let path = segment::segment_path(&self.dir, first);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(WalError::io("create", &path))?;
        // The new name must be durable before records in it are acknowledged.
        segment::sync_dir(&self.dir)?;
        tracing::debug!(segment = %path.display(), "write-ahead log segment started");
        self.active = Some(file);
        self.segments.push(Segment {
            first,
            last: None,
            bytes: 0,
            path,
        });
        Ok(())
    }

    /// Writes the buffered records to the active segment.
    fn flush(&mut self) -> Result<(), WalError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (Some(file), Some(seg)) = (&mut self.active, self.segments.last()) else {
            // Unreachable: `write` rotates before buffering anything.
            self.buf.clear();
            return Ok(());
        };
        file.write_all(&self.buf)
            .map_err(WalError::io("write", &seg.path))?;
        self.buf.clear();
        self.unsynced = true;
        Ok(())
    }

    fn publish_size(&self) {
        self.counters
            .size_bytes
            .store(self.size_bytes(), Ordering::Relaxed);
        self.counters
            .segments
            .store(self.segments.len() as u64, Ordering::Relaxed);
    }
}

/// Creates `dir` and any missing ancestors, fsyncing each new entry's
/// parent: a directory that vanishes in a crash takes its segments along.
fn create_durably(dir: &Path) -> Result<(), WalError> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(p) = at {
        if p.is_dir() {
            break;
        }
        missing.push(p);
        at = p.parent();
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(WalError::io("create", dir))?;
    for p in missing.iter().rev() {
        if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
            segment::sync_dir(parent)?;
        }
    }
    Ok(())
}
