//! One note: a yrs document holding a single `Y.Text` named [`CONTENT`].
//!
//! Every offset and length crossing this API is in UTF-16 code units, the unit
//! of CodeMirror and of Yjs in JavaScript, so positions from the editor can be
//! used as they are and a stock Yjs client sees the same indices.
//!
//! Local changes return the v1 update of exactly that change, ready to send.
//! Remote updates come back as a delta the editor can apply to the text it
//! shows. Text read from disk enters only as a minimal diff (see the private
//! `diff` module), never as delete-all plus insert-all, so a concurrent edit
//! elsewhere in the note survives an external change to the file.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use yrs::types::Delta;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, ClientID, Doc, GetString, Observable, OffsetKind, Options, Out, ReadTxn, StateVector,
    Text, TextRef, Transact, TransactionMut, Update,
};

use crate::diff;
use crate::hash::blake3_hex;

/// Name of the `Y.Text` that holds a note's content.
pub const CONTENT: &str = "content";

/// Key under which a [`Note`] registers its text observer.
const OBSERVER_KEY: &str = "tessera-note-delta";

/// A new empty doc that counts text offsets in UTF-16 code units.
///
/// `client_id` must come from [`crate::ids::random_client_id`]: yrs' default
/// generator is not seeded from the OS on wasm32. Yjs client ids have 53 bits;
/// higher bits are dropped here rather than tripping a yrs debug assertion.
pub fn new_doc(client_id: u64) -> Doc {
    let client_id = ClientID::new(client_id & ((1 << 53) - 1));
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::with_client_id(client_id)
    })
}

/// Why a note operation was refused. A refused operation changes nothing,
/// with the exception noted on [`DocError::BadUpdate`].
#[derive(Debug, Error)]
pub enum DocError {
    /// The bytes are not a v1 update yrs can integrate. Decoding errors leave
    /// the doc untouched; an update that decodes but fails to integrate may
    /// have been partly applied by yrs, and the caller should quarantine it.
    #[error("malformed update: {0}")]
    BadUpdate(String),
    /// The bytes are not a v1 state vector.
    #[error("malformed state vector: {0}")]
    BadStateVector(String),
    /// A position or range end lies past the end of the text.
    #[error("position {at} is past the end of the text ({len} UTF-16 code units)")]
    OutOfRange {
        /// The offending position (u64 because `at + len` may overflow u32).
        at: u64,
        /// The text's length in UTF-16 code units.
        len: u32,
    },
    /// A position falls between the two halves of a surrogate pair; yrs would
    /// replace the character with two U+FFFD instead of refusing.
    #[error("position {at} falls inside a surrogate pair")]
    SplitsCharacter {
        /// The offending position.
        at: u32,
    },
    /// Edits must be sorted, non-overlapping, and each `from <= to`.
    #[error(
        "edit {from}..{to} is reversed or overlaps the previous edit, which ends at {prev_to}"
    )]
    UnorderedEdits {
        /// Start of the offending edit.
        from: u32,
        /// End of the offending edit.
        to: u32,
        /// End of the edit before it (0 for the first).
        prev_to: u32,
    },
}

/// One step of an editor delta. Lengths are UTF-16 code units.
///
/// Serializes like Quill/Yjs deltas: `{"retain":n}`, `{"insert":"s"}`,
/// `{"delete":n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeltaOp {
    /// Keep the next `n` code units.
    Retain(u32),
    /// Insert this text here.
    Insert(String),
    /// Remove the next `n` code units.
    Delete(u32),
}

/// A replacement of `from..to` by `insert`.
///
/// Positions are UTF-16 code units in the text *before* any edit of the batch
/// is applied (like CodeMirror's `iterChanges`); a batch is sorted and
/// non-overlapping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TextEdit {
    /// Start of the replaced range.
    pub from: u32,
    /// End of the replaced range (exclusive); equal to `from` for an insert.
    pub to: u32,
    /// The replacement text.
    pub insert: String,
}

/// What the text observer shares with the note.
#[derive(Default)]
struct Capture {
    /// Only `apply_remote` wants a delta; computing one walks the whole text,
    /// which local keystrokes must not pay for.
    active: bool,
    delta: Vec<DeltaOp>,
}

/// A note's CRDT document and the operations the sync engine needs on it.
pub struct Note {
    doc: Doc,
    text: TextRef,
    capture: Arc<Mutex<Capture>>,
    /// False while the text certainly holds no character outside the BMP, so
    /// no position can split a surrogate pair and checking one costs nothing.
    /// Set as soon as such a character may have entered; never cleared.
    may_have_surrogates: bool,
}

impl Note {
    /// An empty note.
    pub fn new(client_id: u64) -> Note {
        let doc = new_doc(client_id);
        let text = doc.get_or_insert_text(CONTENT);
        let capture = Arc::new(Mutex::new(Capture::default()));
        let shared = Arc::clone(&capture);
        text.observe(OBSERVER_KEY, move |txn, event| {
            let mut capture = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if capture.active {
                let ops = event.delta(txn).iter().filter_map(delta_op);
                for op in ops {
                    push_op(&mut capture.delta, op);
                }
            }
        });
        Note {
            doc,
            text,
            capture,
            may_have_surrogates: false,
        }
    }

    /// A note loaded from an update (typically a stored snapshot).
    pub fn from_update(client_id: u64, update: &[u8]) -> Result<Note, DocError> {
        let mut note = Note::new(client_id);
        note.apply_remote(update)?;
        Ok(note)
    }

    /// The underlying yrs doc. Write only through [`Note`]'s methods, which
    /// keep its bookkeeping right.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// The text's length in UTF-16 code units.
    pub fn len_utf16(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }

    /// Inserts `s` at UTF-16 offset `at`; returns the update of this change.
    pub fn insert(&mut self, at: u32, s: &str) -> Result<Vec<u8>, DocError> {
        self.apply_edits(&[TextEdit {
            from: at,
            to: at,
            insert: s.to_owned(),
        }])
    }

    /// Deletes `len` UTF-16 code units at `at`; returns the update of this change.
    pub fn delete(&mut self, at: u32, len: u32) -> Result<Vec<u8>, DocError> {
        let to = u64::from(at) + u64::from(len);
        let to = u32::try_from(to).map_err(|_| DocError::OutOfRange {
            at: to,
            len: self.len_utf16(),
        })?;
        self.apply_edits(&[TextEdit {
            from: at,
            to,
            insert: String::new(),
        }])
    }

    /// Applies a batch of edits as one transaction; returns its one update.
    pub fn apply_edits(&mut self, edits: &[TextEdit]) -> Result<Vec<u8>, DocError> {
        self.check_edits(edits)?;
        if edits
            .iter()
            .any(|e| e.insert.chars().any(|c| c.len_utf16() == 2))
        {
            self.may_have_surrogates = true;
        }
        let mut txn = self.doc.transact_mut();
        // Back to front, so each edit's positions are still those of the
        // original text when it is applied.
        for edit in edits.iter().rev() {
            if edit.to > edit.from {
                self.text
                    .remove_range(&mut txn, edit.from, edit.to - edit.from);
            }
            if !edit.insert.is_empty() {
                self.text.insert(&mut txn, edit.from, &edit.insert);
            }
        }
        Ok(encode_txn(&txn))
    }

    /// Integrates an update from a peer and returns what changed in the text,
    /// as a delta against the text before the update.
    pub fn apply_remote(&mut self, update: &[u8]) -> Result<Vec<DeltaOp>, DocError> {
        let update = Update::decode_v1(update).map_err(|e| DocError::BadUpdate(e.to_string()))?;
        self.set_capture(true);
        let result = {
            let mut txn = self.doc.transact_mut();
            txn.apply_update(update)
            // The observer runs when `txn` drops here, filling the capture.
        };
        let delta = self.set_capture(false);
        result.map_err(|e| DocError::BadUpdate(e.to_string()))?;
        if delta
            .iter()
            .any(|op| matches!(op, DeltaOp::Insert(s) if s.chars().any(|c| c.len_utf16() == 2)))
        {
            self.may_have_surrogates = true;
        }
        Ok(delta)
    }

    /// Brings the note to `disk` with a minimal diff. `None` when already equal.
    pub fn import_text(&mut self, disk: &str) -> Result<Option<Vec<u8>>, DocError> {
        let current = self.text();
        if current == disk {
            return Ok(None);
        }
        let edits = diff::minimal_edits(&current, disk);
        self.apply_edits(&edits).map(Some)
    }

    /// Adds the lines of `other` that this note lacks, keeping all of its own
    /// text. Used on first sync of two divergent copies of one note: common
    /// lines stay once, lines only in `other` are inserted where they belong.
    /// `None` when `other` adds nothing.
    pub fn merge_union(&mut self, other: &str) -> Result<Option<Vec<u8>>, DocError> {
        let edits = diff::union_inserts(&self.text(), other);
        if edits.is_empty() {
            return Ok(None);
        }
        self.apply_edits(&edits).map(Some)
    }

    /// The v1-encoded state vector.
    pub fn state_vector(&self) -> Vec<u8> {
        state_vector_of(&self.doc)
    }

    /// The whole state as one v1 update.
    pub fn encode_state(&self) -> Vec<u8> {
        encode_state_of(&self.doc)
    }

    /// What a peer with this v1 state vector is missing, as a v1 update.
    pub fn diff_since(&self, state_vector: &[u8]) -> Result<Vec<u8>, DocError> {
        diff_since_of(&self.doc, state_vector)
    }

    /// blake3 hex of the text's UTF-8 bytes; equals `hash::blake3_hex` of the
    /// file the engine would write, so it recognises its own writes.
    pub fn content_hash(&self) -> String {
        blake3_hex(self.text().as_bytes())
    }

    /// The note's `Y.Text`, for the cursor module.
    pub(crate) fn text_ref(&self) -> &TextRef {
        &self.text
    }

    /// A read transaction on the doc.
    pub(crate) fn txn(&self) -> yrs::Transaction<'_> {
        self.doc.transact()
    }

    /// Whether a position might fall inside a surrogate pair.
    pub(crate) fn may_have_surrogates(&self) -> bool {
        self.may_have_surrogates
    }

    fn set_capture(&self, active: bool) -> Vec<DeltaOp> {
        let mut capture = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
        capture.active = active;
        std::mem::take(&mut capture.delta)
    }

    fn check_edits(&self, edits: &[TextEdit]) -> Result<(), DocError> {
        let len = self.len_utf16();
        let mut prev_to = 0;
        for (i, e) in edits.iter().enumerate() {
            if e.from > e.to || (i > 0 && e.from < prev_to) {
                return Err(DocError::UnorderedEdits {
                    from: e.from,
                    to: e.to,
                    prev_to,
                });
            }
            if e.to > len {
                return Err(DocError::OutOfRange {
                    at: e.to.into(),
                    len,
                });
            }
            prev_to = e.to;
        }
        if self.may_have_surrogates {
            let positions = edits.iter().flat_map(|e| [e.from, e.to]);
            if let Some(at) = first_split(&self.text(), positions) {
                return Err(DocError::SplitsCharacter { at });
            }
        }
        Ok(())
    }
}

/// The first of `positions` (ascending) that falls inside a surrogate pair.
pub(crate) fn first_split(text: &str, positions: impl Iterator<Item = u32>) -> Option<u32> {
    let mut chars = text.chars();
    let mut offset = 0u32;
    for at in positions {
        while offset < at {
            match chars.next() {
                Some(c) => offset += c.len_utf16() as u32,
                None => return None,
            }
        }
        if offset > at {
            return Some(at);
        }
    }
    None
}

/// The update of everything this transaction changed, taken before commit.
///
/// Not `encode_diff` after commit: a diff carries the doc's whole delete
/// set, so every update would grow with the note's history.
fn encode_txn(txn: &TransactionMut) -> Vec<u8> {
    txn.encode_update_v1()
}

/// Converts one yrs delta step. Embeds and nested types are not part of a
/// note's schema and have no place in the editor's text, so they are dropped.
fn delta_op(d: &Delta<Out>) -> Option<DeltaOp> {
    match d {
        Delta::Retain(n, _) => Some(DeltaOp::Retain(*n)),
        Delta::Deleted(n) => Some(DeltaOp::Delete(*n)),
        Delta::Inserted(Out::Any(Any::String(s)), _) => Some(DeltaOp::Insert(s.to_string())),
        Delta::Inserted(_, _) => None,
    }
}

/// Appends `op`, merging it into the last step when both are the same kind.
fn push_op(delta: &mut Vec<DeltaOp>, op: DeltaOp) {
    match (delta.last_mut(), op) {
        (Some(DeltaOp::Retain(a)), DeltaOp::Retain(b)) => *a += b,
        (Some(DeltaOp::Delete(a)), DeltaOp::Delete(b)) => *a += b,
        (Some(DeltaOp::Insert(a)), DeltaOp::Insert(b)) => a.push_str(&b),
        (_, op) => delta.push(op),
    }
}

/// A doc's v1-encoded state vector (notes and the index alike).
pub(crate) fn state_vector_of(doc: &Doc) -> Vec<u8> {
    doc.transact().state_vector().encode_v1()
}

/// A doc's whole state as one v1 update.
pub(crate) fn encode_state_of(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// What a peer with the v1 `state_vector` is missing from `doc`.
pub(crate) fn diff_since_of(doc: &Doc, state_vector: &[u8]) -> Result<Vec<u8>, DocError> {
    let sv = StateVector::decode_v1(state_vector)
        .map_err(|e| DocError::BadStateVector(e.to_string()))?;
    Ok(doc.transact().encode_state_as_update_v1(&sv))
}
