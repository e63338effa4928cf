//! The vault's catalog as the shells load and store it: every doc and the
//! last ticket that changed it, which is what change cursors are answered from.

use super::Room;

impl Room {
    /// Says that the catalog given to [`Room::load_catalog`] holds every doc
    /// the vault has (the shell kept it since the vault was created, so no
    /// stored note is missing from it). From then on a read-only message —
    /// a sync step 1, awareness — about a doc outside the catalog is answered
    /// as for an empty doc and loads nothing: otherwise any token, read-only
    /// included, could make the room load, and keep in memory, one doc per
    /// random id it sends. Without this call every doc id is looked up in
    /// storage, as a lost catalog must not hide stored notes.
    pub fn mark_catalog_complete(&mut self) {
        self.catalog_complete = true;
    }

    /// Tells the room every doc the vault holds and its last change ticket
    /// (from stored heads). Without it, change cursors cannot be honoured and
    /// the shell must start a new epoch.
    pub fn load_catalog(&mut self, entries: impl IntoIterator<Item = (String, u64)>) {
        for (doc, ticket) in entries {
            let t = self.catalog.entry(doc).or_default();
            *t = (*t).max(ticket);
        }
    }

    /// Every doc of the vault and the last ticket that changed it, sorted by
    /// doc id. The shell persists this before compacting the log so change
    /// cursors survive a restart.
    pub fn catalog(&self) -> Vec<(String, u64)> {
        let mut entries: Vec<(String, u64)> =
            self.catalog.iter().map(|(d, t)| (d.clone(), *t)).collect();
        entries.sort_unstable();
        entries
    }

    /// The catalog entries changed since the last call (sorted by doc id),
    /// with their current tickets. A shell that keeps its catalog as a base
    /// plus appended changes stores these before compacting the log, which
    /// costs O(changed docs) instead of rewriting [`Room::catalog`] each time.
    /// If storing them fails, hand them back with [`Room::catalog_unsaved`].
    pub fn catalog_changes(&mut self) -> Vec<(String, u64)> {
        let mut entries: Vec<(String, u64)> = self
            .catalog_unsaved
            .drain()
            .filter_map(|d| self.catalog.get(&d).map(|t| (d, *t)))
            .collect();
        entries.sort_unstable();
        entries
    }

    /// Marks entries taken by [`Room::catalog_changes`] as unsaved again
    /// (their write failed), so the next call returns them.
    pub fn catalog_unsaved(&mut self, entries: impl IntoIterator<Item = (String, u64)>) {
        self.catalog_unsaved
            .extend(entries.into_iter().map(|(doc, _)| doc));
    }
}
