//! The vault index: the doc (id `index`) that says which files exist and where.
//!
//! `Y.Map files` maps a stable file id to a nested `Y.Map` entry
//! `{path, kind: "note"|"blob", hash?, size?, mtime?, deleted?, mergedInto?}`.
//! Entries are keyed by id rather than by path, and each entry is its own map,
//! so concurrent changes merge field by field: a rename on one device and a
//! metadata change on another both survive, and two concurrent renames of one
//! file resolve (last writer wins on `path`) to one name instead of two files.
//! A note's doc id is its file id, so a rename never touches the note itself.
//!
//! Deletion leaves a tombstone (`deleted: true`): the entry stays so a device
//! that was offline learns the file is gone instead of re-uploading it.
//!
//! # Two ids for one path
//!
//! Two devices that both create `Notes/a.md` before syncing produce two
//! entries with different ids and one live path. The rule is deterministic:
//! **the smallest id (byte order) wins**. [`Index::lookup`] applies it at once,
//! before anyone has resolved anything, so every device shows the same file at
//! that path. Then the device that created the losing entry (it knows because
//! the loser's id is one it made) resolves the conflict:
//!
//! 1. load the winner's note doc and call
//!    [`Note::merge_union`](crate::note::Note::merge_union) with the loser's
//!    text: lines the winner lacks are added, common lines stay once, and
//!    identical copies add nothing;
//! 2. send that update, then call [`Index::retire`]`(loser, winner)`, which
//!    tombstones the loser and records `mergedInto`, so peers (and a later
//!    reader of an old link to the loser) can follow it to the winner.
//!
//! Until the loser is retired, [`Index::conflicts`] reports the path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use yrs::types::{Event, PathSegment};
use yrs::updates::decoder::Decode;
use yrs::{
    Any, DeepObservable, Doc, Map, MapPrelim, MapRef, Out, Transact, TransactionMut, Update,
};

use crate::ids;
use crate::note::{new_doc, DocError};

mod entry;
mod path;

use entry::{meta_fields, read_entry};
pub use entry::{Entry, EntryKind, EntryMeta};
pub use path::{
    fold_key, validate_path, PathPolicy, DEFAULT_CONFIG_DIR, MAX_PATH_BYTES, MAX_SEGMENT_BYTES,
    TRASH_DIR,
};

/// Name of the root `Y.Map` holding the entries.
pub const FILES: &str = "files";

const OBSERVER_KEY: &str = "tessera-index-changes";

/// Why an index operation was refused. A refused operation changes nothing.
#[derive(Debug, Error)]
pub enum VaultError {
    /// The path breaks a rule of the path policy ([`PathPolicy`]).
    #[error("invalid path {path:?}: {reason}")]
    BadPath {
        /// The refused path.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A file id that is not 32 lowercase hex digits.
    #[error("invalid file id {0:?}: must be 32 lowercase hex digits")]
    BadId(String),
    /// No live entry has this id.
    #[error("no live entry with id {0}")]
    NotFound(String),
    /// A live entry already has this path.
    #[error("path {0:?} is already taken by another file")]
    PathTaken(String),
    /// An entry with this id exists already (possibly as a tombstone).
    #[error("an entry with id {0} already exists")]
    IdTaken(String),
    /// `retire` was asked to merge an entry into itself.
    #[error("entry {0} cannot be merged into itself")]
    SelfMerge(String),
    /// The update or state vector bytes were refused.
    #[error(transparent)]
    Doc(#[from] DocError),
}

/// A live path claimed by more than one id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathConflict {
    /// The contested path.
    pub path: String,
    /// The id every device shows at that path (the smallest).
    pub winner: String,
    /// The other ids, ascending; each is retired by the device that made it.
    pub losers: Vec<String>,
}

/// Ids whose entries changed: `ids` while `apply_remote` runs (its answer),
/// `dirty` always (what the path table has not taken in yet).
#[derive(Default)]
struct Capture {
    active: bool,
    ids: BTreeSet<String>,
    dirty: BTreeSet<String>,
}

/// Live path → ids claiming it, and id → live path. Kept in step with the
/// doc through the observer, so a lookup costs a map access instead of a
/// scan of every entry (an engine looks up each path of a 10k-note vault).
#[derive(Default)]
struct PathTable {
    by_path: BTreeMap<String, BTreeSet<String>>,
    path_of: HashMap<String, String>,
}

/// The index doc of one vault.
pub struct Index {
    doc: Doc,
    files: MapRef,
    capture: Arc<Mutex<Capture>>,
    paths: Mutex<PathTable>,
}

impl Index {
    /// An empty index. `client_id` from [`ids::random_client_id`].
    pub fn new(client_id: u64) -> Index {
        let doc = new_doc(client_id);
        let files = doc.get_or_insert_map(FILES);
        let capture = Arc::new(Mutex::new(Capture::default()));
        let shared = Arc::clone(&capture);
        files.observe_deep(OBSERVER_KEY, move |txn, events| {
            let mut capture = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let mut changed = BTreeSet::new();
            for event in events.iter() {
                collect_changed_ids(txn, event, &mut changed);
            }
            if capture.active {
                capture.ids.extend(changed.iter().cloned());
            }
            capture.dirty.extend(changed);
        });
        Index {
            doc,
            files,
            capture,
            paths: Mutex::new(PathTable::default()),
        }
    }

    /// An index loaded from an update (typically a stored snapshot).
    pub fn from_update(client_id: u64, update: &[u8]) -> Result<Index, VaultError> {
        let mut index = Index::new(client_id);
        index.apply_remote(update)?;
        Ok(index)
    }

    /// The underlying yrs doc. Write only through [`Index`]'s methods.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Adds an entry under a fresh random id; returns the id and the update.
    pub fn create(
        &mut self,
        path: &str,
        kind: EntryKind,
        meta: EntryMeta,
    ) -> Result<(String, Vec<u8>), VaultError> {
        let id = ids::new_file_id();
        let update = self.create_with_id(&id, path, kind, meta)?;
        Ok((id, update))
    }

    /// Adds an entry under a given id (e.g. one chosen before going online).
    pub fn create_with_id(
        &mut self,
        id: &str,
        path: &str,
        kind: EntryKind,
        meta: EntryMeta,
    ) -> Result<Vec<u8>, VaultError> {
        if !ids::is_file_id(id) {
            return Err(VaultError::BadId(id.to_owned()));
        }
        validate_path(path)?;
        if self.get(id).is_some() {
            return Err(VaultError::IdTaken(id.to_owned()));
        }
        self.ensure_free(path, &[])?;
        let mut fields: Vec<(&str, Any)> = vec![
            ("path", Any::from(path)),
            ("kind", Any::from(kind.as_str())),
        ];
        fields.extend(
            meta_fields(&meta)
                .into_iter()
                .flat_map(|(k, v)| Some((k, v?))),
        );
        let prelim: MapPrelim = fields.into_iter().collect();
        let mut txn = self.doc.transact_mut();
        self.files.insert(&mut txn, id, prelim);
        Ok(txn.encode_update_v1())
    }

    /// Moves one file to `new_path`, keeping its id (and so its note doc).
    pub fn rename(&mut self, id: &str, new_path: &str) -> Result<Vec<u8>, VaultError> {
        validate_path(new_path)?;
        let entry = self.live(id)?;
        if entry.path != new_path {
            self.ensure_free(new_path, &[id])?;
        }
        let mut txn = self.doc.transact_mut();
        if entry.path != new_path {
            let map = self.entry_map(&txn, id)?;
            map.insert(&mut txn, "path", new_path);
        }
        Ok(txn.encode_update_v1())
    }

    /// Moves every live entry under folder `from` to folder `to`, in one
    /// transaction, so peers never see a half-moved folder.
    pub fn move_folder(&mut self, from: &str, to: &str) -> Result<Vec<u8>, VaultError> {
        validate_path(from)?;
        validate_path(to)?;
        if to == from || to.starts_with(&format!("{from}/")) {
            return Err(VaultError::BadPath {
                path: to.to_owned(),
                reason: "a folder cannot move into itself",
            });
        }
        let prefix = format!("{from}/");
        let moves: Vec<(String, String)> = self
            .list()
            .into_iter()
            .filter_map(|e| {
                let rest = e.path.strip_prefix(&prefix)?;
                Some((e.id.clone(), format!("{to}/{rest}")))
            })
            .collect();
        let moving: Vec<&str> = moves.iter().map(|(id, _)| id.as_str()).collect();
        for (_, path) in &moves {
            validate_path(path)?;
            self.ensure_free(path, &moving)?;
        }
        let mut txn = self.doc.transact_mut();
        for (id, path) in &moves {
            let map = self.entry_map(&txn, id)?;
            map.insert(&mut txn, "path", path.as_str());
        }
        Ok(txn.encode_update_v1())
    }

    /// Replaces the metadata: fields that are `None` are removed.
    pub fn set_meta(&mut self, id: &str, meta: EntryMeta) -> Result<Vec<u8>, VaultError> {
        self.live(id)?;
        let mut txn = self.doc.transact_mut();
        let map = self.entry_map(&txn, id)?;
        for (key, value) in meta_fields(&meta) {
            match value {
                Some(v) => {
                    map.insert(&mut txn, key, v);
                }
                None => {
                    map.remove(&mut txn, key);
                }
            }
        }
        Ok(txn.encode_update_v1())
    }

    /// Tombstones an entry (`deleted: true`); the entry itself stays.
    /// Deleting a tombstone again is allowed and changes nothing.
    pub fn delete(&mut self, id: &str) -> Result<Vec<u8>, VaultError> {
        let entry = self
            .get(id)
            .ok_or_else(|| VaultError::NotFound(id.to_owned()))?;
        let mut txn = self.doc.transact_mut();
        if !entry.deleted {
            let map = self.entry_map(&txn, id)?;
            map.insert(&mut txn, "deleted", true);
        }
        Ok(txn.encode_update_v1())
    }

    /// Tombstones `loser` and records that its content went into `winner`.
    /// Call after merging the loser's text into the winner's note.
    pub fn retire(&mut self, loser: &str, winner: &str) -> Result<Vec<u8>, VaultError> {
        if loser == winner {
            return Err(VaultError::SelfMerge(loser.to_owned()));
        }
        self.get(loser)
            .ok_or_else(|| VaultError::NotFound(loser.to_owned()))?;
        self.live(winner)?;
        let mut txn = self.doc.transact_mut();
        let map = self.entry_map(&txn, loser)?;
        map.insert(&mut txn, "deleted", true);
        map.insert(&mut txn, "mergedInto", winner);
        Ok(txn.encode_update_v1())
    }

    /// The entry with this id, tombstones included.
    pub fn get(&self, id: &str) -> Option<Entry> {
        let txn = self.doc.transact();
        let value = self.files.get(&txn, id)?;
        read_entry(&txn, id, value)
    }

    /// Live entries, sorted by path then id. Entries in a path conflict are
    /// all listed; [`Index::lookup`] tells which one a path shows.
    pub fn list(&self) -> Vec<Entry> {
        let mut entries = self.entries(|e| !e.deleted);
        // (path, id) is unique, so an unstable sort gives the one order.
        entries.sort_unstable_by(|a, b| (&a.path, &a.id).cmp(&(&b.path, &b.id)));
        entries
    }

    /// Every entry, tombstones included, in no particular order: what the
    /// relay needs to tell which path a doc id had (path-limited tokens) and
    /// which docs and blobs are still referenced (garbage collection).
    pub fn all_entries(&self) -> Vec<Entry> {
        self.entries(|_| true)
    }

    /// The live entry shown at `path`: when several claim it, the smallest id.
    pub fn lookup(&self, path: &str) -> Option<Entry> {
        let winner = self.paths().by_path.get(path)?.first()?.clone();
        self.get(&winner)
    }

    /// Live paths claimed by more than one id, sorted by path.
    pub fn conflicts(&self) -> Vec<PathConflict> {
        // Sets keep the ids sorted (and share code with the change capture).
        self.paths()
            .by_path
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(path, ids)| {
                let path = path.clone();
                let mut ids = ids.iter().cloned();
                let winner = ids.next().unwrap_or_default();
                PathConflict {
                    path,
                    winner,
                    losers: ids.collect(),
                }
            })
            .collect()
    }

    /// Integrates a peer's update; returns the ids whose entries changed, sorted.
    pub fn apply_remote(&mut self, update: &[u8]) -> Result<Vec<String>, VaultError> {
        let update = Update::decode_v1(update).map_err(|e| DocError::BadUpdate(e.to_string()))?;
        self.set_capture(true);
        let result = {
            let mut txn = self.doc.transact_mut();
            txn.apply_update(update)
            // Dropping `txn` commits it and runs the observer.
        };
        let ids = self.set_capture(false);
        result.map_err(|e| DocError::BadUpdate(e.to_string()))?;
        Ok(ids.into_iter().collect())
    }

    /// The v1-encoded state vector.
    pub fn state_vector(&self) -> Vec<u8> {
        crate::note::state_vector_of(&self.doc)
    }

    /// The whole state as one v1 update.
    pub fn encode_state(&self) -> Vec<u8> {
        crate::note::encode_state_of(&self.doc)
    }

    /// What a peer with this v1 state vector is missing, as a v1 update.
    pub fn diff_since(&self, sv: &[u8]) -> Result<Vec<u8>, VaultError> {
        Ok(crate::note::diff_since_of(&self.doc, sv)?)
    }

    /// The path table, brought up to date with every change since last asked.
    fn paths(&self) -> MutexGuard<'_, PathTable> {
        let dirty = {
            let mut capture = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut capture.dirty)
        };
        let mut table = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        for id in dirty {
            if let Some(old) = table.path_of.remove(&id) {
                if let Some(ids) = table.by_path.get_mut(&old) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        table.by_path.remove(&old);
                    }
                }
            }
            if let Some(entry) = self.get(&id).filter(|e| !e.deleted) {
                table
                    .by_path
                    .entry(entry.path.clone())
                    .or_default()
                    .insert(id.clone());
                table.path_of.insert(id, entry.path);
            }
        }
        table
    }

    fn set_capture(&self, active: bool) -> BTreeSet<String> {
        let mut capture = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
        capture.active = active;
        std::mem::take(&mut capture.ids)
    }

    /// All well-formed entries that pass `keep`.
    fn entries(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let txn = self.doc.transact();
        self.files
            .iter(&txn)
            .filter_map(|(id, value)| read_entry(&txn, id, value))
            .filter(|e| keep(e))
            .collect()
    }

    fn live(&self, id: &str) -> Result<Entry, VaultError> {
        self.get(id)
            .filter(|e| !e.deleted)
            .ok_or_else(|| VaultError::NotFound(id.to_owned()))
    }

    /// PathTaken when a live entry other than `except` has `path`.
    fn ensure_free(&self, path: &str, except: &[&str]) -> Result<(), VaultError> {
        let taken = self
            .paths()
            .by_path
            .get(path)
            .is_some_and(|ids| ids.iter().any(|id| !except.contains(&id.as_str())));
        if taken {
            Err(VaultError::PathTaken(path.to_owned()))
        } else {
            Ok(())
        }
    }

    fn entry_map(&self, txn: &TransactionMut, id: &str) -> Result<MapRef, VaultError> {
        match self.files.get(txn, id) {
            Some(Out::YMap(map)) => Ok(map),
            _ => Err(VaultError::NotFound(id.to_owned())),
        }
    }
}

/// Adds the ids an observed event touched: keys of `files` itself, or the
/// entry whose nested map changed.
fn collect_changed_ids(txn: &TransactionMut, event: &Event, ids: &mut BTreeSet<String>) {
    match event.path().front() {
        Some(PathSegment::Key(id)) => {
            ids.insert(id.to_string());
        }
        Some(PathSegment::Index(_)) => {}
        None => {
            if let Event::Map(e) = event {
                ids.extend(e.keys(txn).keys().map(|k| k.to_string()));
            }
        }
    }
}
