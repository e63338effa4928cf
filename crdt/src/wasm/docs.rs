//! Note and index docs for JavaScript. Structured values cross as plain
//! objects (see [`super::js`]), bytes as `Uint8Array`.

use wasm_bindgen::prelude::*;

use super::js::{
    self, DeltaOps, Entries, EntryMetaValue, EntryValue, PathConflicts, RelativePositionValue,
    TextEdits,
};
use super::{client_id, to_js_err};
use crate::cursor::{self, Assoc};
use crate::note::Note;
use crate::vault::{EntryKind, Index};

/// A note doc (`Y.Text content`) with UTF-16 offsets, as CodeMirror counts.
#[wasm_bindgen]
pub struct WasmNote {
    inner: Note,
}

#[wasm_bindgen]
impl WasmNote {
    /// An empty note editing as `clientId`.
    #[wasm_bindgen(constructor)]
    pub fn new(client: f64) -> Result<WasmNote, JsError> {
        Ok(WasmNote {
            inner: Note::new(client_id(client)?),
        })
    }

    /// A note restored from a stored state (a yrs v1 update).
    #[wasm_bindgen(js_name = fromUpdate)]
    pub fn from_update(client: f64, update: &[u8]) -> Result<WasmNote, JsError> {
        Ok(WasmNote {
            inner: Note::from_update(client_id(client)?, update).map_err(to_js_err)?,
        })
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.inner.text()
    }

    /// Length in UTF-16 code units.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> u32 {
        self.inner.len_utf16()
    }

    /// Inserts `text` at UTF-16 offset `at`; returns the update to send.
    pub fn insert(&mut self, at: u32, text: &str) -> Result<Vec<u8>, JsError> {
        self.inner.insert(at, text).map_err(to_js_err)
    }

    /// Deletes `len` UTF-16 units at `at`; returns the update to send.
    pub fn delete(&mut self, at: u32, len: u32) -> Result<Vec<u8>, JsError> {
        self.inner.delete(at, len).map_err(to_js_err)
    }

    /// Applies editor changes `[{from, to, insert}]` given in the
    /// coordinates of the text before them (CodeMirror's `iterChanges`), as
    /// one transaction; returns the update to send.
    #[wasm_bindgen(js_name = applyEdits)]
    pub fn apply_edits(&mut self, edits: &TextEdits) -> Result<Vec<u8>, JsError> {
        let edits = js::read_edits(edits)?;
        self.inner.apply_edits(&edits).map_err(to_js_err)
    }

    /// Applies a remote update; returns the editor delta
    /// `[{retain: n} | {insert: s} | {delete: n}]` in UTF-16 units.
    #[wasm_bindgen(js_name = applyRemote)]
    pub fn apply_remote(&mut self, update: &[u8]) -> Result<DeltaOps, JsError> {
        let delta = self.inner.apply_remote(update).map_err(to_js_err)?;
        Ok(js::delta_ops(&delta))
    }

    /// Brings text read from disk in as a minimal diff; `undefined` when equal.
    #[wasm_bindgen(js_name = importText)]
    pub fn import_text(&mut self, disk: &str) -> Result<Option<Vec<u8>>, JsError> {
        self.inner.import_text(disk).map_err(to_js_err)
    }

    /// Adds what `other` has and this note lacks, keeping everything here
    /// (first sync of divergent copies); `undefined` when nothing is added.
    #[wasm_bindgen(js_name = mergeUnion)]
    pub fn merge_union(&mut self, other: &str) -> Result<Option<Vec<u8>>, JsError> {
        self.inner.merge_union(other).map_err(to_js_err)
    }

    /// The state vector (for sync step 1).
    #[wasm_bindgen(js_name = stateVector)]
    pub fn state_vector(&self) -> Vec<u8> {
        self.inner.state_vector()
    }

    /// The whole state as one update (for local persistence).
    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&self) -> Vec<u8> {
        self.inner.encode_state()
    }

    /// What a peer with `stateVector` lacks (for sync step 2).
    #[wasm_bindgen(js_name = diffSince)]
    pub fn diff_since(&self, state_vector: &[u8]) -> Result<Vec<u8>, JsError> {
        self.inner.diff_since(state_vector).map_err(to_js_err)
    }

    /// A sticky (Yjs relative) position for UTF-16 offset `at`, as
    /// `Y.relativePositionToJSON` writes it, so stock Yjs editors read it.
    /// `assoc` as in Yjs: 0 (default; what y-codemirror.next uses) keeps to
    /// the character after `at`, so text another device types at `at` lands
    /// before the position; negative keeps to the character before.
    #[wasm_bindgen(js_name = stickyAt)]
    pub fn sticky_at(&self, at: u32, assoc: Option<f64>) -> Result<RelativePositionValue, JsError> {
        let pos = self
            .inner
            .sticky_at(at, assoc_arg(assoc))
            .map_err(to_js_err)?;
        Ok(js::relative_position(&pos))
    }

    /// `stickyAt` in the binary form of `Y.encodeRelativePosition`.
    #[wasm_bindgen(js_name = stickyBinaryAt)]
    pub fn sticky_binary_at(&self, at: u32, assoc: Option<f64>) -> Result<Vec<u8>, JsError> {
        let pos = self
            .inner
            .sticky_at(at, assoc_arg(assoc))
            .map_err(to_js_err)?;
        Ok(cursor::encode_binary(&pos))
    }

    /// The current UTF-16 offset of a relative position from any device:
    /// the JSON object (`Y.relativePositionToJSON`, or a stringified
    /// `Y.RelativePosition`), its JSON text, or the binary form as a
    /// `Uint8Array`. `undefined` when it is malformed or names text this note
    /// does not hold (yet); never throws.
    #[wasm_bindgen(js_name = resolveSticky)]
    pub fn resolve_sticky(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] pos: &JsValue,
    ) -> Option<u32> {
        self.inner.resolve(&js::read_relative_position(pos)?)
    }

    /// blake3 of the text's UTF-8 bytes, hex.
    #[wasm_bindgen(js_name = contentHash)]
    pub fn content_hash(&self) -> String {
        self.inner.content_hash()
    }
}

/// Yjs's association number (absent is 0, "after").
fn assoc_arg(assoc: Option<f64>) -> Assoc {
    assoc.map_or(Assoc::After, cursor::assoc_of)
}

/// A newly created index entry: its id and the update to send.
#[wasm_bindgen]
pub struct Created {
    id: String,
    update: Vec<u8>,
}

#[wasm_bindgen]
impl Created {
    /// The new file id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }
    /// The update to send.
    #[wasm_bindgen(getter)]
    pub fn update(&self) -> Vec<u8> {
        self.update.clone()
    }
}

/// The vault index doc: file id → `{path, kind, hash?, size?, mtime?, deleted?}`.
/// Entries cross as `Entry` objects (absent optional fields left out).
#[wasm_bindgen]
pub struct WasmIndex {
    inner: Index,
}

fn parse_kind(s: &str) -> Result<EntryKind, JsError> {
    match s {
        "note" => Ok(EntryKind::Note),
        "blob" => Ok(EntryKind::Blob),
        _ => Err(JsError::new("kind must be \"note\" or \"blob\"")),
    }
}

#[wasm_bindgen]
impl WasmIndex {
    /// An empty index editing as `clientId`.
    #[wasm_bindgen(constructor)]
    pub fn new(client: f64) -> Result<WasmIndex, JsError> {
        Ok(WasmIndex {
            inner: Index::new(client_id(client)?),
        })
    }

    /// An index restored from a stored state.
    #[wasm_bindgen(js_name = fromUpdate)]
    pub fn from_update(client: f64, update: &[u8]) -> Result<WasmIndex, JsError> {
        Ok(WasmIndex {
            inner: Index::from_update(client_id(client)?, update).map_err(to_js_err)?,
        })
    }

    /// Creates an entry (`kind`: "note" | "blob"; `meta`: `{hash?, size?, mtime?}`, optional).
    pub fn create(
        &mut self,
        path: &str,
        kind: &str,
        meta: Option<EntryMetaValue>,
    ) -> Result<Created, JsError> {
        let (id, update) = self
            .inner
            .create(path, parse_kind(kind)?, js::read_meta(meta)?)
            .map_err(to_js_err)?;
        Ok(Created { id, update })
    }

    /// Creates an entry under a chosen id.
    #[wasm_bindgen(js_name = createWithId)]
    pub fn create_with_id(
        &mut self,
        id: &str,
        path: &str,
        kind: &str,
        meta: Option<EntryMetaValue>,
    ) -> Result<Vec<u8>, JsError> {
        self.inner
            .create_with_id(id, path, parse_kind(kind)?, js::read_meta(meta)?)
            .map_err(to_js_err)
    }

    /// Renames an entry, keeping its id.
    pub fn rename(&mut self, id: &str, path: &str) -> Result<Vec<u8>, JsError> {
        self.inner.rename(id, path).map_err(to_js_err)
    }

    /// Moves every live entry under folder `from` to `to`, in one transaction.
    #[wasm_bindgen(js_name = moveFolder)]
    pub fn move_folder(&mut self, from: &str, to: &str) -> Result<Vec<u8>, JsError> {
        self.inner.move_folder(from, to).map_err(to_js_err)
    }

    /// Replaces an entry's hash/size/mtime: fields left out are removed.
    #[wasm_bindgen(js_name = setMeta)]
    pub fn set_meta(&mut self, id: &str, meta: Option<EntryMetaValue>) -> Result<Vec<u8>, JsError> {
        self.inner
            .set_meta(id, js::read_meta(meta)?)
            .map_err(to_js_err)
    }

    /// Deletes an entry (a tombstone, so concurrent edits don't resurrect it as a copy).
    pub fn delete(&mut self, id: &str) -> Result<Vec<u8>, JsError> {
        self.inner.delete(id).map_err(to_js_err)
    }

    /// Retires the losing id of a path conflict after its text was merged into the winner.
    pub fn retire(&mut self, loser: &str, winner: &str) -> Result<Vec<u8>, JsError> {
        self.inner.retire(loser, winner).map_err(to_js_err)
    }

    /// One entry (tombstones included), or `undefined`.
    pub fn get(&self, id: &str) -> Option<EntryValue> {
        self.inner.get(id).map(|e| js::entry(&e))
    }

    /// Live entries, sorted by path.
    pub fn list(&self) -> Entries {
        js::entries(&self.inner.list())
    }

    /// The entry that owns `path` (the conflict winner), or `undefined`.
    pub fn lookup(&self, path: &str) -> Option<EntryValue> {
        self.inner.lookup(path).map(|e| js::entry(&e))
    }

    /// Paths claimed by more than one live id: `[{path, winner, losers}]`.
    pub fn conflicts(&self) -> PathConflicts {
        js::conflicts(&self.inner.conflicts())
    }

    /// Applies a remote update; returns the ids of the changed entries.
    #[wasm_bindgen(js_name = applyRemote)]
    pub fn apply_remote(&mut self, update: &[u8]) -> Result<Vec<String>, JsError> {
        self.inner.apply_remote(update).map_err(to_js_err)
    }

    /// The state vector.
    #[wasm_bindgen(js_name = stateVector)]
    pub fn state_vector(&self) -> Vec<u8> {
        self.inner.state_vector()
    }

    /// The whole state as one update.
    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&self) -> Vec<u8> {
        self.inner.encode_state()
    }

    /// What a peer with `stateVector` lacks.
    #[wasm_bindgen(js_name = diffSince)]
    pub fn diff_since(&self, state_vector: &[u8]) -> Result<Vec<u8>, JsError> {
        self.inner.diff_since(state_vector).map_err(to_js_err)
    }
}
