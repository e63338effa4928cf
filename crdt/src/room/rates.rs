//! The room's rate limits: frames and bytes per session, connections per
//! token. Going over closes (or refuses) the socket with 4429 and a reason
//! that ends in `retry after N s`, so a client knows when to come back.

use super::{close, Effect, Room, Session, SessionId};
use crate::rate::{Bucket, RateLimited, RateLimits, RateTable};

/// Tokens whose connection rate the room remembers at once; beyond it,
/// buckets that refilled are forgotten (see [`RateTable`]).
const MAX_TOKENS: usize = 4_096;

/// A session's frame and byte buckets.
#[derive(Debug)]
pub(super) struct SessionRate {
    frames: Bucket,
    bytes: Bucket,
}

impl SessionRate {
    pub(super) fn new(rates: &RateLimits) -> Self {
        SessionRate {
            frames: rates.frames(),
            bytes: rates.bytes(),
        }
    }

    /// Counts one frame of `len` bytes.
    pub(super) fn take(&mut self, len: usize, now: u64) -> Result<(), RateLimited> {
        // Bytes first: a refused frame then costs no frame token either way
        // (both buckets only change on success).
        let mut bytes = self.bytes.clone();
        bytes.take(len as u64, now, "bytes")?;
        self.frames.take(1, now, "frames")?;
        self.bytes = bytes;
        Ok(())
    }
}

/// The per-token connection table for a room.
pub(super) fn connect_table(rates: &RateLimits) -> RateTable<String> {
    RateTable::new(rates.connects(), MAX_TOKENS)
}

/// The close reason for a rate refusal (`rate-limited: …; retry after N s`).
pub(super) fn reason(limited: &RateLimited) -> String {
    format!("rate-limited: {limited}")
}

/// The effect refusing a session that was never admitted.
pub(super) fn refusal(session: SessionId, limited: &RateLimited) -> Effect {
    Effect::Close {
        to: session,
        code: close::RATE_LIMITED,
        reason: reason(limited),
    }
}

impl Room {
    /// Whether a new session of `token_id` may join now: under the token's
    /// open-socket cap and its connection rate. Sessions without a token id
    /// (auth disabled) are not counted.
    pub(super) fn admit(&mut self, token_id: Option<&str>, now: u64) -> Result<(), RateLimited> {
        let Some(token) = token_id else {
            return Ok(());
        };
        let cap = self.config.rates.sockets_per_token;
        if cap > 0 {
            let open = self.open_by_token.get(token).copied().unwrap_or(0);
            if open >= cap {
                return Err(RateLimited {
                    what: "open sockets for this token",
                    rate: format!("{cap} at once"),
                    // A socket closing frees a place; there is no schedule.
                    retry_after_secs: 30,
                });
            }
        }
        self.connects
            .take(&token.to_owned(), 1, now, "connections for this token")
    }

    /// Adds a session, counting it against its token.
    pub(super) fn insert_session(&mut self, id: SessionId, session: Session) {
        if let Some(token) = &session.token_id {
            *self.open_by_token.entry(token.clone()).or_default() += 1;
        }
        if let Some(old) = self.sessions.insert(id, session) {
            self.count_closed(old.token_id.as_deref());
        }
    }

    /// A session of `token_id` is gone.
    pub(super) fn count_closed(&mut self, token_id: Option<&str>) {
        let Some(token) = token_id else { return };
        if let Some(n) = self.open_by_token.get_mut(token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.open_by_token.remove(token);
            }
        }
    }
}
