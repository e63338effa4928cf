//! What the room asks its shell to do, and how it is configured.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::rate::RateLimits;

/// Identifies one connection within a room. Chosen by the shell, unique per room.
pub type SessionId = u64;

/// Which endpoint a session connected through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The y-websocket doc endpoint: one doc, stock Yjs framing, no extensions.
    Doc(String),
    /// The vault endpoint: every doc over one socket, in vault envelopes.
    Vault,
}

/// WebSocket close codes the room (and the shells) use. 4000–4999 is the
/// range RFC 6455 leaves to applications.
pub mod close {
    /// The client sent a frame that is not valid protocol.
    pub const MALFORMED: u16 = 4400;
    /// No token, or a token that does not verify.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The token is valid but not for this (revoked, other vault, scope).
    pub const FORBIDDEN: u16 = 4403;
    /// The vault was deleted by an admin (see `DELETE /v1/vaults/{vault}`).
    pub const VAULT_DELETED: u16 = 4404;
    /// The doc was quarantined after it failed to apply an update.
    pub const DOC_QUARANTINED: u16 = 4410;
    /// A frame or message exceeded a limit.
    pub const TOO_LARGE: u16 = 4413;
    /// The client did not read fast enough; it should reconnect and resync.
    pub const SLOW_CONSUMER: u16 = 4429;
    /// The client (or its token) went over a rate limit; the reason ends in
    /// `retry after N s` (what HTTP says with 429 and `Retry-After`).
    pub const RATE_LIMITED: u16 = 4429;
    /// The relay failed; retry later.
    pub const INTERNAL: u16 = 4500;
    /// The relay is shutting down; reconnect.
    pub const GOING_AWAY: u16 = 1001;
}

/// One thing the shell must do. Effects are returned in the order they must
/// be carried out for each session (frames to one session stay in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a binary frame to a session.
    Send {
        /// The recipient.
        to: SessionId,
        /// The whole WebSocket frame.
        frame: Bytes,
    },
    /// Close a session's socket. The room has already forgotten the session.
    Close {
        /// The session to close.
        to: SessionId,
        /// WebSocket close code (see [`close`]).
        code: u16,
        /// Human-readable reason (≤ 123 bytes, the WebSocket limit).
        reason: String,
    },
    /// Read a doc's head snapshot and log entries, then call `Room::doc_loaded`
    /// (or `Room::doc_load_failed`). Never emitted twice for one load.
    Load {
        /// The doc to load.
        doc: String,
    },
    /// Append an update to the write-ahead log, then call `Room::durable`
    /// once it (and everything before it) is on stable storage.
    Persist {
        /// Log position; strictly increasing.
        ticket: u64,
        /// The doc the update belongs to.
        doc: String,
        /// The yrs v1 update.
        update: Bytes,
    },
    /// Store a snapshot of a doc (the merged state as a yrs v1 update), move
    /// its head, then call `Room::snapshot_stored` (or `Room::snapshot_failed`).
    Snapshot {
        /// The doc.
        doc: String,
        /// Merged state, a yrs v1 update.
        state: Vec<u8>,
        /// The last log ticket that changed this doc and is included.
        covers: u64,
    },
    /// Every log entry with a ticket below `below` is covered by a stored
    /// snapshot and may be dropped.
    CompactLog {
        /// First ticket that must be kept.
        below: u64,
    },
    /// A doc was quarantined (for logs and metrics; clients were told).
    Quarantined {
        /// The doc.
        doc: String,
        /// What went wrong.
        reason: String,
    },
}

/// The room's settings. Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomConfig {
    /// Limits on every input.
    pub limits: Limits,
    /// How fast one session or token may go.
    pub rates: RateLimits,
    /// A changed doc is snapshotted after this long without further changes…
    pub snapshot_debounce_ms: u64,
    /// …or at the latest this long after its first unsnapshotted change.
    pub snapshot_max_delay_ms: u64,
    /// First retry delay after a failed snapshot; doubles up to a minute·5.
    pub snapshot_retry_ms: u64,
    /// Awareness states not renewed within this time are removed (Yjs: 30 s).
    pub awareness_timeout_ms: u64,
    /// Frames queued per doc while it loads; a session exceeding it is closed.
    pub max_queued_frames: usize,
    /// Name and version announced in the vault endpoint's hello.
    pub server: String,
    /// Refuse index writes whose paths break the path policy (`bad-path`).
    /// Only tests turn this off, to stand in for a malicious relay.
    pub check_index_paths: bool,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            limits: Limits::default(),
            rates: RateLimits::default(),
            snapshot_debounce_ms: 2_000,
            snapshot_max_delay_ms: 30_000,
            snapshot_retry_ms: 1_000,
            awareness_timeout_ms: 30_000,
            max_queued_frames: 4_096,
            server: format!("tessera {}", crate::version()),
            check_index_paths: true,
        }
    }
}
