//! Cursors that follow the text: sticky positions in a note.
//!
//! An absolute offset goes stale as soon as anyone edits before it. A sticky
//! position (yrs [`StickyIndex`], Yjs `RelativePosition`) names the character
//! next to the cursor by its CRDT id instead, so it resolves to the right
//! offset after any edit, however many devices made it.
//!
//! # Association
//!
//! [`Assoc::After`] (Yjs `assoc: 0`, the default of
//! `Y.createRelativePositionFromTypeIndex` and what y-codemirror.next sends
//! for both anchor and head) ties the position to the character *after* it;
//! at the very end of the text it ties to the end of the text. Text that
//! another device types exactly at the cursor therefore lands *before* the
//! cursor: the cursor stays after it, as a caret does for its own typing.
//! [`Assoc::Before`] (`assoc: -1`) ties to the character before.
//!
//! # Wire forms
//!
//! Both forms are Yjs's own, so cursors interoperate with stock Yjs editors:
//!
//! - JSON, as `Y.relativePositionToJSON` writes and y-codemirror.next puts in
//!   awareness: `{"tname": "content", "item": {"client", "clock"}, "assoc"}`,
//!   or `{"tname": "content", "assoc"}` at an end of the text (`"type"` for
//!   a nested type, never produced here). `item` wins over `tname`. Absent and `null` fields are the same
//!   (a `Y.RelativePosition` object stringified directly has `null`s);
//!   unknown fields are ignored; `assoc` defaults to 0, and any negative
//!   number means "before", as in Yjs.
//! - Binary, as `Y.encodeRelativePosition` writes.
//!
//! Positions arrive from other devices, so reading one never panics: anything
//! malformed is a [`CursorError`], and a well-formed position that names an
//! item this note does not have (not yet received, garbage collected, or in
//! another document) resolves to `None`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use thiserror::Error;
use yrs::branch::{Branch, BranchPtr};
use yrs::encoding::read::{Cursor, Read};
use yrs::updates::encoder::Encode;
use yrs::{ClientID, IndexScope, IndexedSequence, StickyIndex, Text, ID};

pub use yrs::Assoc;

use crate::note::{first_split, DocError, Note, CONTENT};

/// Yjs client ids are below 2^53 (a JavaScript number's integer range).
const CLIENT_LIMIT: u64 = 1 << 53;

/// Why a relative position from another device was not understood.
#[derive(Debug, Error)]
pub enum CursorError {
    /// The text is not JSON at all.
    #[error("relative position is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON value is not an object.
    #[error("relative position must be a JSON object")]
    NotObject,
    /// None of `item`, `tname` and `type` is present.
    #[error("relative position has none of `item`, `tname`, `type`")]
    NoScope,
    /// An id is not `{client, clock}` with integers in range.
    #[error("`{0}` must be {{client, clock}} with client below 2^53 and clock below 2^32")]
    BadId(&'static str),
    /// `tname` is not a string.
    #[error("`tname` must be a string")]
    BadName,
    /// `assoc` is not a number.
    #[error("`assoc` must be a number")]
    BadAssoc,
    /// The binary form is truncated, has an unknown tag or numbers out of range.
    #[error("malformed binary relative position")]
    Binary,
}

/// A relative position in the JSON form of `Y.relativePositionToJSON`.
///
/// Yjs names the containing root type (`tname`) next to the `item` too; pass
/// its name as `root` (a note's is [`crate::note::CONTENT`]) to write exactly
/// what Yjs writes. Readers use `item` when present.
pub fn to_json(pos: &StickyIndex, root: Option<&str>) -> Value {
    let mut obj = Map::new();
    let id = |id: &ID| json!({ "client": id.client.get(), "clock": id.clock });
    match pos.scope() {
        IndexScope::Relative(item) => {
            if let Some(root) = root {
                obj.insert("tname".into(), Value::from(root));
            }
            obj.insert("item".into(), id(item))
        }
        IndexScope::Root(name) => obj.insert("tname".into(), Value::from(name.as_ref())),
        IndexScope::Nested(ty) => obj.insert("type".into(), id(ty)),
    };
    obj.insert("assoc".into(), Value::from(assoc_number(pos.assoc)));
    Value::Object(obj)
}

/// Reads the JSON form (see the module docs for what is accepted).
pub fn from_json(value: &Value) -> Result<StickyIndex, CursorError> {
    let obj = value.as_object().ok_or(CursorError::NotObject)?;
    let field = |key: &str| obj.get(key).filter(|v| !v.is_null());
    let assoc = match field("assoc") {
        None => Assoc::After,
        Some(v) => assoc_of(v.as_f64().ok_or(CursorError::BadAssoc)?),
    };
    // The precedence of Yjs's `createAbsolutePositionFromRelativePosition`.
    let scope = if let Some(item) = field("item") {
        IndexScope::Relative(id_from_json(item, "item")?)
    } else if let Some(name) = field("tname") {
        IndexScope::Root(Arc::from(name.as_str().ok_or(CursorError::BadName)?))
    } else if let Some(ty) = field("type") {
        IndexScope::Nested(id_from_json(ty, "type")?)
    } else {
        return Err(CursorError::NoScope);
    };
    Ok(StickyIndex::new(scope, assoc))
}

/// Reads the JSON form from text.
pub fn from_json_str(text: &str) -> Result<StickyIndex, CursorError> {
    from_json(&serde_json::from_str(text).map_err(CursorError::Json)?)
}

/// The binary form of `Y.encodeRelativePosition`.
pub fn encode_binary(pos: &StickyIndex) -> Vec<u8> {
    // yrs writes exactly what lib0 does: varuint tag, the id or name, then
    // the association as a signed varint (checked against Yjs in
    // crdt/tests/js/cursor.test.mjs).
    pos.encode_v1()
}

/// Reads the binary form of `Y.encodeRelativePosition`.
///
/// Parsed here rather than by yrs' `Decode`, which asserts (and so panics in
/// debug builds) on a client id of more than 53 bits.
pub fn decode_binary(bytes: &[u8]) -> Result<StickyIndex, CursorError> {
    let mut cur = Cursor::new(bytes);
    let bad = |_| CursorError::Binary;
    let read_id = |cur: &mut Cursor| -> Result<ID, CursorError> {
        let client: u64 = cur.read_var().map_err(bad)?;
        let clock: u32 = cur.read_var().map_err(bad)?;
        id(client as f64, f64::from(clock)).ok_or(CursorError::Binary)
    };
    let tag: u64 = cur.read_var().map_err(bad)?;
    let scope = match tag {
        0 => IndexScope::Relative(read_id(&mut cur)?),
        1 => IndexScope::Root(Arc::from(cur.read_string().map_err(bad)?)),
        2 => IndexScope::Nested(read_id(&mut cur)?),
        _ => return Err(CursorError::Binary),
    };
    // Yjs reads the association only when there are bytes left (old
    // encodings had none), as a lib0 signed varint: bit 6 of the first byte
    // is the sign. Only the sign matters, but the number must be complete.
    let assoc = if cur.has_content() {
        let first = cur.read_u8().map_err(bad)?;
        let mut more = first & 0x80 != 0;
        let mut nonzero = first & 0x3f != 0;
        let mut len = 1;
        while more {
            let b = cur.read_u8().map_err(bad)?;
            nonzero |= b & 0x7f != 0;
            more = b & 0x80 != 0;
            len += 1;
            if len > 10 {
                return Err(CursorError::Binary);
            }
        }
        if first & 0x40 != 0 && nonzero {
            Assoc::Before
        } else {
            Assoc::After
        }
    } else {
        Assoc::After
    };
    Ok(StickyIndex::new(scope, assoc))
}

/// Yjs's number for an association.
pub fn assoc_number(assoc: Assoc) -> i32 {
    match assoc {
        Assoc::After => 0,
        Assoc::Before => -1,
    }
}

/// The association Yjs gives a number: negative is "before".
pub fn assoc_of(n: f64) -> Assoc {
    if n < 0.0 {
        Assoc::Before
    } else {
        Assoc::After
    }
}

/// An id from two JavaScript numbers, when both are integers in range.
pub fn id(client: f64, clock: f64) -> Option<ID> {
    let integer = |n: f64, limit: f64| (0.0..limit).contains(&n) && n.fract() == 0.0;
    if integer(client, CLIENT_LIMIT as f64) && integer(clock, 4_294_967_296.0) {
        Some(ID::new(ClientID::new(client as u64), clock as u32))
    } else {
        None
    }
}

fn id_from_json(value: &Value, field: &'static str) -> Result<ID, CursorError> {
    let num = |key: &str| value.get(key).and_then(Value::as_f64);
    match (num("client"), num("clock")) {
        (Some(client), Some(clock)) => id(client, clock).ok_or(CursorError::BadId(field)),
        _ => Err(CursorError::BadId(field)),
    }
}

impl Note {
    /// A sticky position for UTF-16 offset `at` (see the module docs for
    /// `assoc`; [`Assoc::After`] is what y-codemirror.next uses).
    pub fn sticky_at(&self, at: u32, assoc: Assoc) -> Result<StickyIndex, DocError> {
        let txn = self.txn();
        let len = self.text_ref().len(&txn);
        if at > len {
            return Err(DocError::OutOfRange { at: at.into(), len });
        }
        if self.may_have_surrogates() && first_split(&self.text(), std::iter::once(at)).is_some() {
            return Err(DocError::SplitsCharacter { at });
        }
        // yrs has no item to name at the end of the text with `After`; Yjs
        // then names the text itself (`tname`), which resolves to its end.
        Ok(self
            .text_ref()
            .sticky_index(&txn, at, assoc)
            .unwrap_or_else(|| StickyIndex::from_type(&txn, self.text_ref(), assoc)))
    }

    /// The current UTF-16 offset of a sticky position, or `None` when it
    /// names something this note does not hold (an item not received yet or
    /// garbage collected, another type, a position inside a character).
    pub fn resolve(&self, pos: &StickyIndex) -> Option<u32> {
        let txn = self.txn();
        let offset = pos.get_offset(&txn)?;
        if offset.branch != BranchPtr::from(AsRef::<Branch>::as_ref(self.text_ref())) {
            return None;
        }
        let at = offset.index;
        if at > self.text_ref().len(&txn) {
            return None;
        }
        if self.may_have_surrogates() && first_split(&self.text(), std::iter::once(at)).is_some() {
            return None;
        }
        Some(at)
    }

    /// [`Note::sticky_at`] in the JSON form of `Y.relativePositionToJSON`.
    pub fn sticky_json_at(&self, at: u32, assoc: Assoc) -> Result<Value, DocError> {
        self.sticky_at(at, assoc)
            .map(|p| to_json(&p, Some(CONTENT)))
    }

    /// Resolves the JSON form; `None` for anything malformed or unknown.
    pub fn resolve_json(&self, json: &str) -> Option<u32> {
        self.resolve(&from_json_str(json).ok()?)
    }

    /// Resolves the binary form; `None` for anything malformed or unknown.
    pub fn resolve_binary(&self, bytes: &[u8]) -> Option<u32> {
        self.resolve(&decode_binary(bytes).ok()?)
    }
}

#[cfg(test)]
#[path = "tests/cursor.rs"]
mod tests;
