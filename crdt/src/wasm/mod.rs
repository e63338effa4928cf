//! JavaScript bindings for the Obsidian plugin (feature `wasm`).
//!
//! The plugin speaks the protocol and edits documents only through these
//! functions, so there is one implementation of both, in Rust. Numbers that
//! JavaScript must read exactly (client ids, cursors, acks) cross as `f64`:
//! they are all below 2^53.
//!
//! Structured values cross as plain JavaScript objects and arrays, built and
//! read here with `js_sys` (no JSON text and no serde on either side: the
//! module is downloaded by every mobile user, and a JSON codec in WASM costs
//! more than everything it carries). Their TypeScript shapes (`TextEdit`,
//! `DeltaOp`, `EntryMeta`, `Entry`, `PathConflict`, `AwarenessState`,
//! `RelativePositionJson`) are declared in the generated `.d.ts`. Absent optional fields are left out of
//! returned objects (not `null`); in arguments, `undefined` and `null` both
//! mean absent. Bytes cross as `Uint8Array`.

mod docs;
mod frames;
mod js;

pub use docs::{WasmIndex, WasmNote};
pub use frames::*;
pub use js::{
    AwarenessStates, DeltaOps, Entries, EntryMetaValue, EntryValue, PathConflicts,
    RelativePositionValue, TextEdits,
};

use wasm_bindgen::prelude::*;

/// blake3 of `bytes` as 64 lowercase hex digits (attachments, content hashes).
#[wasm_bindgen(js_name = blake3Hex)]
pub fn blake3_hex(bytes: &[u8]) -> String {
    crate::hash::blake3_hex(bytes)
}

/// A fresh 128-bit file id.
#[wasm_bindgen(js_name = newFileId)]
pub fn new_file_id() -> String {
    crate::ids::new_file_id()
}

/// A random Yjs client id below 2^53.
#[wasm_bindgen(js_name = randomClientId)]
pub fn random_client_id() -> f64 {
    crate::ids::random_client_id() as f64
}

/// Why the path policy refuses `path` on a device whose config folder is
/// `configDir` (`app.vault.configDir`), or `undefined` when it is acceptable.
/// The engine asks this before it creates, renames, writes, trashes or
/// uploads anything, so the rules exist once, in the core.
#[wasm_bindgen(js_name = pathProblem)]
pub fn path_problem(path: &str, config_dir: &str) -> Option<String> {
    crate::vault::PathPolicy::device(config_dir)
        .reason(path)
        .map(str::to_owned)
}

/// The key under which paths collide on case-insensitive, Unicode-normalising
/// file systems (`a.md` and `A.md`, NFC and NFD): equal keys, one file.
#[wasm_bindgen(js_name = pathFoldKey)]
pub fn path_fold_key(path: &str) -> String {
    crate::vault::fold_key(path)
}

/// The core's version.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    crate::version().to_owned()
}

/// Merges several yrs v1 updates into one (compacting a pending queue).
#[wasm_bindgen(js_name = mergeUpdates)]
pub fn merge_updates(updates: Vec<js_sys::Uint8Array>) -> Result<Vec<u8>, JsError> {
    let owned: Vec<Vec<u8>> = updates.iter().map(|u| u.to_vec()).collect();
    let refs: Vec<&[u8]> = owned.iter().map(|u| u.as_slice()).collect();
    yrs::merge_updates_v1(refs).map_err(|e| JsError::new(&format!("cannot merge updates: {e}")))
}

pub(crate) fn to_js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn client_id(id: f64) -> Result<u64, JsError> {
    if (0.0..9_007_199_254_740_992.0).contains(&id) && id.fract() == 0.0 {
        Ok(id as u64)
    } else {
        Err(JsError::new(
            "client id must be an integer between 0 and 2^53",
        ))
    }
}
