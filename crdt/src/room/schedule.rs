//! When a changed doc gets snapshotted, and which log entries it still needs.
//!
//! A doc is snapshotted after `debounce` without changes, or at the latest
//! `max_delay` after its first unsnapshotted change, so a doc typed into all
//! day still reaches storage regularly. A failed snapshot is retried with
//! exponential backoff. Unchanged docs are never snapshotted.

use super::RoomConfig;

/// The longest a failed snapshot waits before its next attempt.
const MAX_RETRY_MS: u64 = 300_000;

/// Snapshot bookkeeping for one doc.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnapState {
    /// Last log ticket that changed the doc (0: none since it was created).
    pub last_ticket: u64,
    /// First ticket not covered by a stored snapshot; `None` when clean.
    pub oldest_unsnapshotted: Option<u64>,
    /// When the doc first changed after its last stored snapshot.
    pub dirty_since: Option<u64>,
    /// When the doc last changed.
    pub last_change_ms: u64,
    /// `Some(covers)` while a snapshot is being stored.
    pub in_flight: Option<u64>,
    /// Not before this time (after a failure).
    pub retry_at: Option<u64>,
    failures: u32,
}

impl SnapState {
    /// Records a change logged under `ticket` at `now`.
    pub fn changed(&mut self, ticket: u64, now: u64) {
        self.last_ticket = ticket;
        self.oldest_unsnapshotted.get_or_insert(ticket);
        self.dirty_since.get_or_insert(now);
        self.last_change_ms = now;
    }

    /// True when changes wait for a snapshot.
    pub fn is_dirty(&self) -> bool {
        self.dirty_since.is_some()
    }

    /// When the next snapshot is due, if one is needed and none is running.
    pub fn due(&self, cfg: &RoomConfig) -> Option<u64> {
        let since = self.dirty_since?;
        if self.in_flight.is_some() {
            return None;
        }
        let due =
            (self.last_change_ms + cfg.snapshot_debounce_ms).min(since + cfg.snapshot_max_delay_ms);
        Some(due.max(self.retry_at.unwrap_or(0)))
    }

    /// Marks a snapshot covering `last_ticket` as started; returns what it covers.
    pub fn start(&mut self) -> u64 {
        self.in_flight = Some(self.last_ticket);
        self.last_ticket
    }

    /// A snapshot covering `covers` is stored. Changes after it keep the doc dirty.
    pub fn stored(&mut self, covers: u64, now: u64) {
        self.in_flight = None;
        self.retry_at = None;
        self.failures = 0;
        if self.last_ticket <= covers {
            self.oldest_unsnapshotted = None;
            self.dirty_since = None;
        } else {
            self.oldest_unsnapshotted = Some(covers + 1);
            self.dirty_since = Some(
                self.dirty_since
                    .map_or(now, |d| d.max(now.min(self.last_change_ms))),
            );
        }
    }

    /// A snapshot failed: try again later, backing off.
    pub fn failed(&mut self, now: u64, cfg: &RoomConfig) {
        self.in_flight = None;
        self.failures = self.failures.saturating_add(1);
        let shift = (self.failures - 1).min(20);
        let delay = cfg
            .snapshot_retry_ms
            .saturating_mul(1 << shift)
            .min(MAX_RETRY_MS);
        self.retry_at = Some(now + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RoomConfig {
        RoomConfig {
            snapshot_debounce_ms: 2_000,
            snapshot_max_delay_ms: 30_000,
            snapshot_retry_ms: 1_000,
            ..RoomConfig::default()
        }
    }

    #[test]
    fn a_clean_doc_is_never_due() {
        assert_eq!(SnapState::default().due(&cfg()), None);
    }

    #[test]
    fn a_quiet_doc_is_due_after_the_debounce() {
        let mut s = SnapState::default();
        s.changed(1, 10_000);
        assert_eq!(s.due(&cfg()), Some(12_000));
    }

    #[test]
    fn a_busy_doc_is_due_at_the_maximum_delay_after_its_first_change() {
        let mut s = SnapState::default();
        for t in 0..100 {
            s.changed(t + 1, t * 1_000);
        }
        assert_eq!(s.due(&cfg()), Some(30_000));
    }

    #[test]
    fn changes_made_while_a_snapshot_is_stored_keep_the_doc_dirty() {
        let mut s = SnapState::default();
        s.changed(1, 0);
        assert_eq!(s.start(), 1);
        assert_eq!(s.due(&cfg()), None, "one snapshot at a time");
        s.changed(2, 500);
        s.stored(1, 1_000);
        assert_eq!(s.oldest_unsnapshotted, Some(2));
        assert!(s.is_dirty());
        s.start();
        s.stored(2, 3_000);
        assert!(!s.is_dirty());
        assert_eq!(s.oldest_unsnapshotted, None);
    }

    #[test]
    fn failed_snapshots_back_off_exponentially_up_to_a_cap() {
        let mut s = SnapState::default();
        s.changed(1, 0);
        let mut delays = Vec::new();
        for _ in 0..12 {
            s.start();
            s.failed(100_000, &cfg());
            delays.push(s.due(&cfg()).unwrap() - 100_000);
        }
        assert_eq!(&delays[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(*delays.last().unwrap(), MAX_RETRY_MS);
    }
}
