//! What a room reports for metrics and health checks.

use super::{Phase, Room};

/// Counts for metrics and health checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Open sessions.
    pub sessions: usize,
    /// Docs held in memory (ready, loading or quarantined).
    pub docs_loaded: usize,
    /// Docs with changes not yet in a stored snapshot.
    pub docs_dirty: usize,
    /// Quarantined docs.
    pub docs_quarantined: usize,
    /// Acks waiting for durability.
    pub pending_acks: usize,
    /// Docs the vault holds (the catalog).
    pub docs_known: usize,
}

impl Room {
    /// Counts for metrics.
    pub fn stats(&self) -> RoomStats {
        RoomStats {
            sessions: self.sessions.len(),
            docs_loaded: self.docs.len(),
            docs_dirty: self.dirty.len(),
            docs_quarantined: self
                .docs
                .values()
                .filter(|l| matches!(l.phase, Phase::Quarantined(_)))
                .count(),
            pending_acks: self.acks.len(),
            docs_known: self.catalog.len(),
        }
    }
}
