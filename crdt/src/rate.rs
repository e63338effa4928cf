//! Rate limits: token buckets driven by the caller's clock.
//!
//! Sizes bound what one message may be ([`crate::limits`]); rates bound how
//! much one connection or one token may ask for over time, so a single
//! client cannot take a relay's CPU or bandwidth from everyone else. The
//! room keeps a bucket per session (frames and bytes) and per token
//! (connections); the shells keep a [`RateTable`] per token for HTTP
//! requests. Nothing here reads a clock: every call takes `now_ms`.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How fast sessions and tokens may go. A rate of 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Frames one session may send per second, sustained…
    pub frames_per_sec: u32,
    /// …and at once. A device's first sync of a large vault is one burst
    /// (a step 1 and an update per note), so this is sized for 50k notes.
    pub frame_burst: u32,
    /// Bytes of frames one session may send per second, sustained…
    pub bytes_per_sec: u64,
    /// …and at once (a first sync uploads every note).
    pub byte_burst: u64,
    /// New sockets one token may open per minute, sustained…
    pub connects_per_min: u32,
    /// …and at once (a stock Yjs client opens one socket per doc).
    pub connect_burst: u32,
    /// Sockets one token may hold open in one vault at the same time.
    pub sockets_per_token: u32,
    /// HTTP requests one token may make per second, sustained…
    pub requests_per_sec: u32,
    /// …and at once (an attachment sync is a burst of requests).
    pub request_burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::from_rates(Rates::default())
    }
}

/// The sustained rates a shell's configuration sets; bursts follow from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// Frames per session per second.
    pub frames_per_sec: u32,
    /// Bytes per session per second.
    pub bytes_per_sec: u64,
    /// New sockets per token per minute.
    pub connects_per_min: u32,
    /// Open sockets per token.
    pub sockets_per_token: u32,
    /// HTTP requests per token per second.
    pub requests_per_sec: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            frames_per_sec: 2_000,
            bytes_per_sec: 16 << 20,
            connects_per_min: 300,
            sockets_per_token: 256,
            requests_per_sec: 50,
        }
    }
}

/// Bursts as multiples of the sustained rate: 60 s of frames (a first sync
/// of a 50k-note vault: a step 1 and an update per note), 32 s of bytes, a minute of connections, 20 s of requests.
const FRAME_BURST_SECS: u32 = 60;
const BYTE_BURST_SECS: u64 = 32;
const REQUEST_BURST_SECS: u32 = 20;

impl RateLimits {
    /// Limits with these sustained rates and the bursts that go with them.
    pub fn from_rates(r: Rates) -> Self {
        RateLimits {
            frames_per_sec: r.frames_per_sec,
            frame_burst: r.frames_per_sec.saturating_mul(FRAME_BURST_SECS),
            bytes_per_sec: r.bytes_per_sec,
            byte_burst: r.bytes_per_sec.saturating_mul(BYTE_BURST_SECS),
            connects_per_min: r.connects_per_min,
            connect_burst: r.connects_per_min,
            sockets_per_token: r.sockets_per_token,
            requests_per_sec: r.requests_per_sec,
            request_burst: r.requests_per_sec.saturating_mul(REQUEST_BURST_SECS),
        }
    }

    /// No rate limit at all (for benchmarks that measure raw throughput).
    pub fn unlimited() -> Self {
        RateLimits {
            frames_per_sec: 0,
            frame_burst: 0,
            bytes_per_sec: 0,
            byte_burst: 0,
            connects_per_min: 0,
            connect_burst: 0,
            sockets_per_token: 0,
            requests_per_sec: 0,
            request_burst: 0,
        }
    }

    /// A session's frame bucket.
    pub fn frames(&self) -> Bucket {
        Bucket::per_sec(self.frames_per_sec as u64, self.frame_burst as u64)
    }

    /// A session's byte bucket.
    pub fn bytes(&self) -> Bucket {
        Bucket::per_sec(self.bytes_per_sec, self.byte_burst)
    }

    /// A token's connection bucket.
    pub fn connects(&self) -> Bucket {
        Bucket::new(
            self.connects_per_min as u64,
            60_000,
            self.connect_burst as u64,
        )
    }

    /// A token's HTTP request bucket.
    pub fn requests(&self) -> Bucket {
        Bucket::per_sec(self.requests_per_sec as u64, self.request_burst as u64)
    }
}

/// A rate was exceeded: what, and when asking again can succeed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("too many {what}: over {rate}; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// What was counted ("frames", "bytes", "connections", "requests").
    pub what: &'static str,
    /// The sustained rate, in words ("1000 per second").
    pub rate: String,
    /// Whole seconds until the bucket holds enough again (at least 1).
    pub retry_after_secs: u64,
}

/// A token bucket: holds up to `burst` units, refilled at `rate` units per
/// `period_ms`. The level is kept in unit·ms/period ticks (one unit is
/// `period_ms` ticks; a millisecond adds `rate` ticks), so refilling is exact
/// however often it is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    rate: u64,
    period_ms: u64,
    burst: u64,
    /// Ticks available.
    level: u128,
    /// When `level` was last brought up to date; `None` before first use
    /// (a new bucket starts full whatever the clock says).
    at_ms: Option<u64>,
}

impl Bucket {
    /// `rate` units per `period_ms`, up to `burst` at once. A rate or burst
    /// of 0 makes a bucket that never refuses.
    pub fn new(rate: u64, period_ms: u64, burst: u64) -> Bucket {
        Bucket {
            rate,
            period_ms: period_ms.max(1),
            burst,
            level: burst as u128 * period_ms.max(1) as u128,
            at_ms: None,
        }
    }

    /// `rate` units per second, up to `burst` at once.
    pub fn per_sec(rate: u64, burst: u64) -> Bucket {
        Bucket::new(rate, 1_000, burst)
    }

    /// True when this bucket never refuses.
    pub fn is_unlimited(&self) -> bool {
        self.rate == 0 || self.burst == 0
    }

    /// Takes `n` units at `now_ms`, or says how long until they are there.
    /// A refused take takes nothing. `n` above the burst is refused with the
    /// time to a full bucket (the caller's size limits bound `n`).
    pub fn take(&mut self, n: u64, now_ms: u64, what: &'static str) -> Result<(), RateLimited> {
        if self.is_unlimited() {
            return Ok(());
        }
        self.refill(now_ms);
        let need = n.min(self.burst) as u128 * self.period_ms as u128;
        if self.level >= need {
            self.level -= need;
            return Ok(());
        }
        let wait_ms = (need - self.level).div_ceil(self.rate as u128);
        Err(RateLimited {
            what,
            rate: self.describe(),
            retry_after_secs: u64::try_from(wait_ms.div_ceil(1_000))
                .unwrap_or(u64::MAX)
                .max(1),
        })
    }

    /// True when the bucket is full at `now_ms` (a table may forget it: a new
    /// bucket would be the same).
    pub fn is_full(&self, now_ms: u64) -> bool {
        let mut b = self.clone();
        b.refill(now_ms);
        b.level >= b.full()
    }

    fn refill(&mut self, now_ms: u64) {
        let full = self.full();
        if let Some(at) = self.at_ms {
            // A clock that went backwards refills nothing (and never panics).
            let elapsed = now_ms.saturating_sub(at) as u128;
            let gained = elapsed * self.rate as u128;
            self.level = self.level.saturating_add(gained).min(full);
        }
        self.at_ms = Some(match self.at_ms {
            Some(at) => at.max(now_ms),
            None => now_ms,
        });
    }

    fn full(&self) -> u128 {
        self.burst as u128 * self.period_ms as u128
    }

    fn describe(&self) -> String {
        match self.period_ms {
            1_000 => format!("{} per second", self.rate),
            60_000 => format!("{} per minute", self.rate),
            p => format!("{} per {p} ms", self.rate),
        }
    }
}

/// Buckets by key (a token id), bounded: when full, buckets that have
/// refilled completely are forgotten (a new one would be the same); if none
/// has, new keys share one overflow bucket rather than growing the table.
#[derive(Debug)]
pub struct RateTable<K> {
    template: Bucket,
    max_keys: usize,
    buckets: HashMap<K, Bucket>,
    overflow: Bucket,
}

impl<K: Hash + Eq + Clone> RateTable<K> {
    /// A table whose buckets start as copies of `template`.
    pub fn new(template: Bucket, max_keys: usize) -> Self {
        RateTable {
            overflow: template.clone(),
            template,
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes `n` units from `key`'s bucket.
    pub fn take(
        &mut self,
        key: &K,
        n: u64,
        now_ms: u64,
        what: &'static str,
    ) -> Result<(), RateLimited> {
        if self.template.is_unlimited() {
            return Ok(());
        }
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            self.buckets.retain(|_, b| !b.is_full(now_ms));
            if self.buckets.len() >= self.max_keys {
                return self.overflow.take(n, now_ms, what);
            }
        }
        self.buckets
            .entry(key.clone())
            .or_insert_with(|| self.template.clone())
            .take(n, now_ms, what)
    }

    /// Keys with a bucket of their own.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no key has a bucket.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// Tokens whose HTTP request rate one vault remembers at once.
const MAX_REQUEST_TOKENS: usize = 4_096;

/// HTTP requests per token in one vault: the shells keep one per vault and
/// ask it after the door admitted a request, before any work is done.
#[derive(Debug)]
pub struct RequestRate {
    table: RateTable<String>,
}

impl RequestRate {
    /// A vault's request rate under `limits`.
    pub fn new(limits: &RateLimits) -> Self {
        RequestRate {
            table: RateTable::new(limits.requests(), MAX_REQUEST_TOKENS),
        }
    }

    /// Counts one request made with `claims` at `now_ms` (none without a
    /// token: `--insecure-no-auth` has no one to count).
    pub fn admit(&mut self, claims: &crate::token::Claims, now_ms: u64) -> Result<(), RateLimited> {
        match claims.token_id() {
            Some(id) => self
                .table
                .take(&id.to_owned(), 1, now_ms, "requests for this token"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_bucket_allows_its_whole_burst_then_refuses_with_a_retry_time() {
        let mut b = Bucket::per_sec(10, 5);
        for _ in 0..5 {
            b.take(1, 1_000, "frames").unwrap();
        }
        let e = b.take(1, 1_000, "frames").unwrap_err();
        assert_eq!(e.what, "frames");
        assert_eq!(e.retry_after_secs, 1);
        assert!(e.to_string().contains("10 per second"), "{e}");
    }

    #[test]
    fn a_bucket_refills_at_its_rate_and_no_further_than_its_burst() {
        let mut b = Bucket::per_sec(10, 5);
        b.take(5, 0, "frames").unwrap();
        assert!(
            b.take(1, 50, "frames").is_err(),
            "half a unit is not a unit"
        );
        b.take(1, 100, "frames").unwrap();
        // A long idle time refills to the burst, not beyond.
        b.take(5, 100_000, "frames").unwrap();
        assert!(b.take(1, 100_000, "frames").is_err());
    }

    #[test]
    fn a_refused_take_takes_nothing() {
        let mut b = Bucket::per_sec(1, 3);
        b.take(2, 0, "x").unwrap();
        assert!(b.take(2, 0, "x").is_err());
        b.take(1, 0, "x").unwrap();
    }

    #[test]
    fn retry_after_covers_the_whole_wait_for_slow_rates() {
        let mut b = Bucket::new(2, 60_000, 1);
        b.take(1, 0, "connections").unwrap();
        let e = b.take(1, 0, "connections").unwrap_err();
        assert_eq!(e.retry_after_secs, 30);
        assert!(e.to_string().contains("2 per minute"));
        assert!(b.take(1, 29_000, "connections").is_err());
        b.take(1, 30_000, "connections").unwrap();
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing_and_never_panics() {
        let mut b = Bucket::per_sec(10, 2);
        b.take(2, 10_000, "x").unwrap();
        assert!(b.take(1, 0, "x").is_err());
        assert!(b.take(1, 10_050, "x").is_err());
        b.take(1, 10_100, "x").unwrap();
    }

    #[test]
    fn a_zero_rate_or_burst_never_refuses() {
        let mut b = Bucket::per_sec(0, 10);
        let mut c = Bucket::per_sec(10, 0);
        for _ in 0..100_000 {
            b.take(u64::MAX, 0, "x").unwrap();
            c.take(1, 0, "x").unwrap();
        }
    }

    #[test]
    fn a_take_larger_than_the_burst_waits_for_a_full_bucket_rather_than_forever() {
        let mut b = Bucket::per_sec(100, 1_000);
        b.take(1_000, 0, "bytes").unwrap();
        let e = b.take(1_000_000, 0, "bytes").unwrap_err();
        assert_eq!(e.retry_after_secs, 10);
        b.take(1_000_000, 10_000, "bytes").unwrap();
    }

    #[test]
    fn extreme_values_never_overflow() {
        let mut b = Bucket::new(u64::MAX, 1, u64::MAX);
        b.take(u64::MAX, u64::MAX, "x").unwrap();
        b.take(u64::MAX, u64::MAX, "x").unwrap_err();
        let mut c = Bucket::new(1, u64::MAX, 1);
        c.take(1, 0, "x").unwrap();
        let e = c.take(1, 0, "x").unwrap_err();
        assert!(e.retry_after_secs > 0);
    }

    #[test]
    fn a_table_keeps_keys_apart() {
        let mut t = RateTable::new(Bucket::per_sec(1, 2), 10);
        t.take(&"a", 2, 0, "requests").unwrap();
        assert!(t.take(&"a", 1, 0, "requests").is_err());
        t.take(&"b", 2, 0, "requests").unwrap();
    }

    #[test]
    fn a_full_table_forgets_refilled_buckets_and_never_grows_past_its_bound() {
        let mut t = RateTable::new(Bucket::per_sec(1, 2), 3);
        for k in 0..3 {
            t.take(&k, 2, 0, "requests").unwrap();
        }
        // All three are empty: a fourth key shares the overflow bucket.
        t.take(&99, 2, 0, "requests").unwrap();
        assert!(t.take(&100, 1, 0, "requests").is_err());
        assert_eq!(t.len(), 3);
        // Once they have refilled, they are forgotten and the new key gets its own.
        t.take(&100, 1, 10_000, "requests").unwrap();
        assert_eq!(t.len(), 1);
        for k in 1_000..100_000u32 {
            let _ = t.take(&k, 1, 20_000, "requests");
        }
        assert!(t.len() <= 3);
    }
}
