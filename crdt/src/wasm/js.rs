//! Structured values as JavaScript objects: their TypeScript shapes, and
//! conversion to and from the core's Rust types through `js_sys`.

use js_sys::{Array, Object, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yrs::{IndexScope, StickyIndex, ID};

use crate::awareness::AwarenessEntry;
use crate::cursor::{self, Assoc};
use crate::note::{DeltaOp, TextEdit};
use crate::vault::{Entry, EntryMeta, PathConflict};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Replace `from..to` by `insert`; UTF-16 offsets in the text before the batch. */
export interface TextEdit { from: number; to: number; insert: string }
/** One step of an editor delta, in UTF-16 code units (Quill/Yjs style). */
export type DeltaOp = { retain: number } | { insert: string } | { delete: number };
/** File metadata; every field is optional. `mtime` in ms since the Unix epoch. */
export interface EntryMeta { hash?: string; size?: number; mtime?: number }
/** One file of the vault index. */
export interface Entry extends EntryMeta {
  id: string;
  path: string;
  kind: "note" | "blob";
  deleted: boolean;
  /** Set when this entry lost a path conflict: the id it was merged into. */
  mergedInto?: string;
}
/** A live path claimed by more than one id. */
export interface PathConflict { path: string; winner: string; losers: string[] }
/**
 * A Yjs relative position in the form of `Y.relativePositionToJSON` (what
 * y-codemirror.next puts in awareness): the item next to the position, or
 * the text's name at an end of it. `assoc` 0 (default) keeps to the
 * character after the position, negative to the one before.
 */
export interface RelativePositionJson {
  item?: { client: number; clock: number } | null;
  tname?: string | null;
  type?: { client: number; clock: number } | null;
  assoc?: number | null;
}
/** One client's awareness state; `state` is `null` when the client left. */
export interface AwarenessState { client: number; clock: number; state: unknown }
"#;

#[wasm_bindgen]
extern "C" {
    /// `TextEdit[]`
    #[wasm_bindgen(typescript_type = "TextEdit[]")]
    pub type TextEdits;
    /// `DeltaOp[]`
    #[wasm_bindgen(typescript_type = "DeltaOp[]")]
    pub type DeltaOps;
    /// `EntryMeta`
    #[wasm_bindgen(typescript_type = "EntryMeta")]
    pub type EntryMetaValue;
    /// `Entry`
    #[wasm_bindgen(typescript_type = "Entry")]
    pub type EntryValue;
    /// `Entry[]`
    #[wasm_bindgen(typescript_type = "Entry[]")]
    pub type Entries;
    /// `PathConflict[]`
    #[wasm_bindgen(typescript_type = "PathConflict[]")]
    pub type PathConflicts;
    /// `RelativePositionJson`
    #[wasm_bindgen(typescript_type = "RelativePositionJson")]
    pub type RelativePositionValue;
    /// `AwarenessState[]`
    #[wasm_bindgen(typescript_type = "AwarenessState[]")]
    pub type AwarenessStates;
}

/// Largest integer a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// An integer in `0..=max` read from a JavaScript number.
fn integer(v: &JsValue, max: f64) -> Option<f64> {
    v.as_f64()
        .filter(|n| (0.0..=max).contains(n) && n.fract() == 0.0)
}

fn array_of<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> JsValue) -> Array {
    let array = Array::new();
    for item in items {
        array.push(&f(item));
    }
    array
}

pub(super) fn read_edits(value: &TextEdits) -> Result<Vec<TextEdit>, JsError> {
    let value: &JsValue = value.as_ref();
    if !Array::is_array(value) {
        return Err(JsError::new("edits must be an array of {from, to, insert}"));
    }
    let array: &Array = value.unchecked_ref();
    (0..array.length())
        .map(|i| {
            let edit = array.get(i);
            if !edit.is_object() {
                return Err(JsError::new(&format!(
                    "edits[{i}] must be an object {{from, to, insert}}"
                )));
            }
            let offset = |key: &str| {
                integer(&get(&edit, key), u32::MAX.into())
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        JsError::new(&format!(
                            "edits[{i}].{key} must be an integer from 0 to 2^32-1"
                        ))
                    })
            };
            let insert = get(&edit, "insert");
            let insert = if absent(&insert) {
                String::new()
            } else {
                insert
                    .as_string()
                    .ok_or_else(|| JsError::new(&format!("edits[{i}].insert must be a string")))?
            };
            Ok(TextEdit {
                from: offset("from")?,
                to: offset("to")?,
                insert,
            })
        })
        .collect()
}

pub(super) fn delta_ops(ops: &[DeltaOp]) -> DeltaOps {
    array_of(ops, |op| {
        let obj = Object::new();
        match op {
            DeltaOp::Retain(n) => set(&obj, "retain", *n),
            DeltaOp::Insert(s) => set(&obj, "insert", s.as_str()),
            DeltaOp::Delete(n) => set(&obj, "delete", *n),
        }
        obj.into()
    })
    .unchecked_into()
}

/// `undefined`/`null` is no metadata; otherwise `{hash?, size?, mtime?}`.
pub(super) fn read_meta(value: Option<EntryMetaValue>) -> Result<EntryMeta, JsError> {
    let Some(value) = value.map(JsValue::from).filter(|v| !absent(v)) else {
        return Ok(EntryMeta::default());
    };
    if !value.is_object() {
        return Err(JsError::new(
            "meta must be an object {hash?, size?, mtime?}",
        ));
    }
    let hash = get(&value, "hash");
    let hash = if absent(&hash) {
        None
    } else {
        Some(
            hash.as_string()
                .ok_or_else(|| JsError::new("meta.hash must be a string"))?,
        )
    };
    let number = |key: &str| {
        let v = get(&value, key);
        if absent(&v) {
            return Ok(None);
        }
        integer(&v, MAX_SAFE)
            .map(|n| Some(n as u64))
            .ok_or_else(|| JsError::new(&format!("meta.{key} must be an integer from 0 to 2^53-1")))
    };
    Ok(EntryMeta {
        hash,
        size: number("size")?,
        mtime: number("mtime")?,
    })
}

pub(super) fn entry(e: &Entry) -> EntryValue {
    let obj = Object::new();
    set(&obj, "id", e.id.as_str());
    set(&obj, "path", e.path.as_str());
    set(&obj, "kind", e.kind.as_str());
    if let Some(hash) = &e.meta.hash {
        set(&obj, "hash", hash.as_str());
    }
    if let Some(size) = e.meta.size {
        set(&obj, "size", size as f64);
    }
    if let Some(mtime) = e.meta.mtime {
        set(&obj, "mtime", mtime as f64);
    }
    set(&obj, "deleted", e.deleted);
    if let Some(winner) = &e.merged_into {
        set(&obj, "mergedInto", winner.as_str());
    }
    obj.unchecked_into()
}

pub(super) fn entries(list: &[Entry]) -> Entries {
    array_of(list, |e| entry(e).into()).unchecked_into()
}

pub(super) fn conflicts(list: &[PathConflict]) -> PathConflicts {
    array_of(list, |c| {
        let obj = Object::new();
        set(&obj, "path", c.path.as_str());
        set(&obj, "winner", c.winner.as_str());
        let losers = array_of(&c.losers, |id| JsValue::from_str(id));
        set(&obj, "losers", losers);
        obj.into()
    })
    .unchecked_into()
}

/// `state` is parsed with the host's `JSON.parse`; text that is not JSON
/// reads as `null` (as a client that left).
pub(super) fn awareness_states(entries: &[AwarenessEntry<'_>]) -> AwarenessStates {
    array_of(entries, |e| {
        let obj = Object::new();
        set(&obj, "client", e.client as f64);
        set(&obj, "clock", e.clock as f64);
        set(&obj, "state", JSON::parse(e.state).unwrap_or(JsValue::NULL));
        obj.into()
    })
    .unchecked_into()
}

/// A relative position in a note, as `Y.relativePositionToJSON` writes it.
pub(super) fn relative_position(pos: &StickyIndex) -> RelativePositionValue {
    let obj = Object::new();
    let id = |id: &ID| {
        let o = Object::new();
        set(&o, "client", id.client.get() as f64);
        set(&o, "clock", id.clock);
        o
    };
    match pos.scope() {
        IndexScope::Relative(item) => {
            // Yjs names the root type next to the item; so do we (a note's
            // only type is its text).
            set(&obj, "tname", crate::note::CONTENT);
            set(&obj, "item", id(item));
        }
        IndexScope::Root(name) => set(&obj, "tname", name.as_ref()),
        IndexScope::Nested(ty) => set(&obj, "type", id(ty)),
    }
    set(&obj, "assoc", cursor::assoc_number(pos.assoc));
    obj.unchecked_into()
}

/// A relative position from another device, in any of the forms Yjs
/// produces: the JSON object, its JSON text, or the binary encoding as a
/// `Uint8Array`. `None` for anything malformed (the rules of
/// [`crate::cursor::from_json`]); never throws.
pub(super) fn read_relative_position(value: &JsValue) -> Option<StickyIndex> {
    if let Some(text) = value.as_string() {
        return read_relative_position_object(&JSON::parse(&text).ok()?);
    }
    if value.is_instance_of::<Uint8Array>() {
        let bytes = value.unchecked_ref::<Uint8Array>().to_vec();
        return cursor::decode_binary(&bytes).ok();
    }
    read_relative_position_object(value)
}

fn read_relative_position_object(value: &JsValue) -> Option<StickyIndex> {
    if !value.is_object() || Array::is_array(value) {
        return None;
    }
    let field = |key: &str| Some(get(value, key)).filter(|v| !absent(v));
    let id = |v: JsValue| {
        if !v.is_object() {
            return None;
        }
        cursor::id(get(&v, "client").as_f64()?, get(&v, "clock").as_f64()?)
    };
    let assoc = match field("assoc") {
        None => Assoc::After,
        Some(v) => cursor::assoc_of(v.as_f64()?),
    };
    let scope = if let Some(item) = field("item") {
        IndexScope::Relative(id(item)?)
    } else if let Some(name) = field("tname") {
        IndexScope::Root(name.as_string()?.into())
    } else if let Some(ty) = field("type") {
        IndexScope::Nested(id(ty)?)
    } else {
        return None;
    };
    Some(StickyIndex::new(scope, assoc))
}
