//! One doc's CRDT state inside the room, with every call into yrs contained.
//!
//! yrs is trusted to merge, not to survive every byte sequence: each call that
//! takes remote bytes runs under `catch_unwind`, and a panic is reported as
//! [`CrdtError::Panicked`] so the room can quarantine this doc alone.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use thiserror::Error;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::pending;
use crate::ids::random_client_id;
use crate::vault::{Entry, Index, PathPolicy};

/// Why yrs could not take some bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CrdtError {
    /// The bytes are not a valid update or state vector; nothing changed.
    #[error("{0}")]
    Malformed(String),
    /// yrs panicked: the doc can no longer be trusted.
    #[error("the document engine failed: {0}")]
    Panicked(String),
}

/// What applying a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The doc changed; `effective` is the update to log and forward.
    Changed {
        /// The change as integrated (or the original bytes while parts wait
        /// for missing dependencies, so nothing acknowledged is ever dropped).
        effective: Vec<u8>,
    },
    /// The write contained nothing the doc did not already have.
    Unchanged,
}

/// What an index update would do ([`CrdtDoc::index_check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexCheck {
    /// Ids of the entries it changes, sorted.
    pub changed: Vec<String>,
    /// The first live entry it would put at a refused path: `(path, reason)`.
    pub violation: Option<(String, &'static str)>,
}

/// A doc's merged state on the relay.
///
/// An idle doc can be made dormant ([`CrdtDoc::hibernate`]): the yrs doc
/// (its block store, type map, observers: kilobytes even for a short note)
/// is replaced by its encoded state (about the size of the text). Reads of a
/// dormant doc decode a temporary copy; the first write brings it back to life.
pub(crate) struct CrdtDoc {
    state: State,
    client_id: u64,
    /// Running estimate of the encoded state size, for the per-doc limit.
    pub approx_bytes: usize,
}

enum State {
    Live(Doc),
    /// The v1-encoded merged state, and its state vector: a cold peer's
    /// sync (empty state vector) and the doc endpoint's greeting are then
    /// answered from these bytes without decoding the doc.
    Dormant {
        state: Box<[u8]>,
        sv: Box<[u8]>,
    },
}

impl CrdtDoc {
    /// An empty doc with a fresh client id (the relay writes only on restore).
    pub fn new() -> Self {
        let client_id = random_client_id();
        CrdtDoc {
            state: State::Live(crate::note::new_doc(client_id)),
            client_id,
            approx_bytes: 0,
        }
    }

    /// Replaces the yrs doc by its encoded state until the doc is written to again.
    pub fn hibernate(&mut self) -> Result<(), CrdtError> {
        if let State::Live(doc) = &self.state {
            let doc = doc.clone();
            let (bytes, sv) = contained(move || {
                let txn = doc.transact();
                (
                    txn.encode_state_as_update_v1(&StateVector::default()),
                    txn.state_vector().encode_v1(),
                )
            })?;
            self.approx_bytes = bytes.len();
            self.state = State::Dormant {
                state: bytes.into_boxed_slice(),
                sv: sv.into_boxed_slice(),
            };
        }
        Ok(())
    }

    /// True while the doc is held as encoded bytes only.
    pub fn is_dormant(&self) -> bool {
        matches!(self.state, State::Dormant { .. })
    }

    /// The yrs doc: the live one, or one decoded from the dormant state.
    fn doc(&self) -> Result<Doc, CrdtError> {
        match &self.state {
            State::Live(doc) => Ok(doc.clone()),
            State::Dormant { state: bytes, .. } => {
                let doc = crate::note::new_doc(self.client_id);
                let decoded = contained(|| Update::decode_v1(bytes))?
                    .map_err(|e| CrdtError::Malformed(e.to_string()))?;
                let d = doc.clone();
                contained(move || d.transact_mut().apply_update(decoded))?
                    .map_err(|e| CrdtError::Malformed(e.to_string()))?;
                Ok(doc)
            }
        }
    }

    /// The live yrs doc, waking a dormant one for good.
    fn wake(&mut self) -> Result<Doc, CrdtError> {
        let doc = self.doc()?;
        self.state = State::Live(doc.clone());
        Ok(doc)
    }

    /// Applies a write and reports whether it changed anything.
    pub fn apply(&mut self, update: &[u8]) -> Result<Applied, CrdtError> {
        let decoded = decode_update(update)?;
        let doc = &self.wake()?;
        let sv = contained(|| doc.transact().state_vector())?;
        if pending::may_pend(&sv, &decoded) {
            self.trial(update)?;
        }
        let outcome = contained(move || {
            let mut txn = doc.transact_mut();
            txn.apply_update(decoded)
                .map_err(|e| CrdtError::Malformed(e.to_string()))?;
            let pending =
                txn.store().pending_update().is_some() || txn.store().pending_ds().is_some();
            if pending {
                // Pending only through origins the trial could not foresee:
                // the doc now holds what yrs would panic on, so it is
                // quarantined here, before anything encodes it.
                pending::encodable(&txn).map_err(|e| {
                    CrdtError::Panicked(format!("an update left parts yrs cannot encode: {e}"))
                })?;
            }
            let changed = txn.before_state() != txn.after_state() || !txn.delete_set().is_empty();
            Ok(if pending {
                Applied::Changed {
                    effective: update.to_vec(),
                }
            } else if changed {
                Applied::Changed {
                    effective: txn.encode_update_v1(),
                }
            } else {
                Applied::Unchanged
            })
        })??;
        if let Applied::Changed { effective } = &outcome {
            self.approx_bytes += effective.len();
        }
        Ok(outcome)
    }

    /// Applies `update` to a scratch copy of this doc: Malformed if yrs
    /// would keep parts of it pending that it could not encode later.
    fn trial(&self, update: &[u8]) -> Result<(), CrdtError> {
        let state = self.encode_state()?;
        let decoded = decode_update(update)?;
        let client_id = self.client_id;
        contained(move || {
            let scratch = Doc::with_client_id(client_id);
            let mut txn = scratch.transact_mut();
            let base =
                Update::decode_v1(&state).map_err(|e| CrdtError::Malformed(e.to_string()))?;
            txn.apply_update(base)
                .map_err(|e| CrdtError::Malformed(e.to_string()))?;
            txn.apply_update(decoded)
                .map_err(|e| CrdtError::Malformed(e.to_string()))?;
            pending::encodable(&txn).map_err(|e| {
                CrdtError::Malformed(format!(
                    "the update waits for changes the relay does not have, in a form that \
                     cannot be kept until they arrive ({e}); resync"
                ))
            })
        })?
    }

    /// True when `update` would change nothing: every block it carries is
    /// already known and everything it deletes is already deleted. Used to
    /// let read-only clients complete a sync without being told off.
    pub fn would_be_noop(&self, update: &[u8]) -> Result<bool, CrdtError> {
        let decoded = decode_update(update)?;
        let doc = &self.doc()?;
        contained(move || {
            let txn = doc.transact();
            let ours = txn.state_vector();
            let news = decoded.state_vector();
            if news.iter().any(|(client, clock)| ours.get(client) < *clock) {
                return false;
            }
            let deleted = txn.snapshot().delete_set;
            decoded.delete_set().iter().all(|(client, wanted)| {
                let mut have: Vec<Range<u32>> = deleted
                    .iter()
                    .find(|(c, _)| *c == client)
                    .map(|(_, r)| r.iter().cloned().collect())
                    .unwrap_or_default();
                have.sort_by_key(|r| r.start);
                wanted.iter().all(|r| covered(&have, r))
            })
        })
    }

    /// For the index doc: which entries `update` would change, and the first
    /// one it would create or rename to a path `policy` refuses, as
    /// `(path, reason)` (never, without a policy). See [`CrdtDoc::index_changes`].
    pub fn index_check(
        &self,
        update: &[u8],
        policy: Option<&PathPolicy>,
    ) -> Result<IndexCheck, CrdtError> {
        let changes = self.index_changes(update)?;
        let violation = policy.and_then(|policy| {
            changes.iter().find_map(|(_, entry)| {
                let entry = entry.as_ref().filter(|e| !e.deleted)?;
                let reason = policy.reason(&entry.path)?;
                Some((entry.path.clone(), reason))
            })
        });
        Ok(IndexCheck {
            changed: changes.into_iter().map(|(id, _)| id).collect(),
            violation,
        })
    }

    /// For the index doc: each entry `update` would change, by id (sorted),
    /// with what it would be afterwards (`None`: removed from the map). The
    /// update is applied to a scratch copy, so the doc itself is untouched.
    ///
    /// An update whose parts wait for missing dependencies cannot be checked
    /// (the waiting parts are invisible until they integrate, and would then
    /// integrate unchecked): it is reported as malformed, so the writer
    /// resyncs and sends everything at once.
    pub fn index_changes(&self, update: &[u8]) -> Result<Vec<(String, Option<Entry>)>, CrdtError> {
        let state = self.encode_state()?;
        // Decode first, under the same clock bounds as a real write.
        decode_update(update)?;
        contained(move || {
            let mut scratch = Index::from_update(self.client_id, &state)
                .map_err(|e| CrdtError::Malformed(e.to_string()))?;
            let changed = scratch
                .apply_remote(update)
                .map_err(|e| CrdtError::Malformed(e.to_string()))?;
            let pending = {
                let txn = scratch.doc().transact();
                txn.store().pending_update().is_some() || txn.store().pending_ds().is_some()
            };
            if pending {
                return Err(CrdtError::Malformed(
                    "the index update depends on changes the relay does not have, so its \
                     paths cannot be checked; resync"
                        .to_owned(),
                ));
            }
            Ok(changed
                .into_iter()
                .map(|id| {
                    let entry = scratch.get(&id);
                    (id, entry)
                })
                .collect())
        })?
    }

    /// For the index doc: every entry, tombstones included.
    pub fn index_entries(&self) -> Result<Vec<Entry>, CrdtError> {
        let state = self.encode_state()?;
        contained(move || {
            Index::from_update(self.client_id, &state)
                .map(|index| index.all_entries())
                .map_err(|e| CrdtError::Malformed(e.to_string()))
        })?
    }

    /// The update a peer with state vector `sv` lacks (sync step 2).
    pub fn diff(&self, sv: &[u8]) -> Result<Vec<u8>, CrdtError> {
        let sv = decoded(|| StateVector::decode_v1(sv))?;
        let doc = &self.doc()?;
        contained(move || doc.transact().encode_state_as_update_v1(&sv))
    }

    /// What a peer that sent step 1 with `sv` gets: the update it lacks
    /// (step 2) and our state vector (our step 1), from one decode of a
    /// dormant doc, or none when the peer has nothing yet: then the update
    /// is the dormant state itself.
    pub fn sync_reply(&self, sv: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CrdtError> {
        let sv = decoded(|| StateVector::decode_v1(sv))?;
        if let State::Dormant { state, sv: ours } = &self.state {
            if sv.is_empty() {
                return Ok((state.to_vec(), ours.to_vec()));
            }
        }
        let doc = &self.doc()?;
        contained(move || {
            let txn = doc.transact();
            (
                txn.encode_state_as_update_v1(&sv),
                txn.state_vector().encode_v1(),
            )
        })
    }

    /// This doc's state vector (sync step 1).
    pub fn state_vector(&self) -> Result<Vec<u8>, CrdtError> {
        if let State::Dormant { sv, .. } = &self.state {
            return Ok(sv.to_vec());
        }
        let doc = &self.doc()?;
        contained(move || doc.transact().state_vector().encode_v1())
    }

    /// The whole merged state, for a snapshot.
    pub fn encode_state(&self) -> Result<Vec<u8>, CrdtError> {
        match &self.state {
            State::Dormant { state, .. } => Ok(state.to_vec()),
            State::Live(_) => self.diff(&[0]),
        }
    }
}

/// True when the sorted `have` ranges cover all of `want` (adjacent ranges
/// count as one), in one pass over `have`.
fn covered(have: &[Range<u32>], want: &Range<u32>) -> bool {
    let mut pos = want.start;
    for r in have {
        if pos >= want.end {
            break;
        }
        if r.start > pos {
            return false;
        }
        pos = pos.max(r.end);
    }
    pos >= want.end
}

/// Decodes an update; see [`decoded`]. Clocks at or past 2^31 are refused
/// here, before the doc is touched: yrs 0.28 computes clock offsets as
/// `i32` while integrating, which overflows (a panic halfway through a
/// transaction, or a silent wrap in release builds) on such clocks. No real
/// client gets near them: a clock counts one client's inserted characters.
fn decode_update(update: &[u8]) -> Result<Update, CrdtError> {
    const MAX_CLOCK: u32 = i32::MAX as u32;
    let in_range = |set: &yrs::IdSet| {
        set.iter()
            .all(|(_, ranges)| ranges.iter().all(|r| r.end <= MAX_CLOCK))
    };
    decoded(|| {
        let decoded = Update::decode_v1(update).map_err(|e| e.to_string())?;
        // Block ranges (GC'ed ones included) and deletions.
        if in_range(&decoded.insertions(true)) && in_range(decoded.delete_set()) {
            Ok(decoded)
        } else {
            Err(format!(
                "the update uses clocks past {MAX_CLOCK}, which no real client reaches"
            ))
        }
    })
}

/// Runs a yrs decoder over remote bytes. Decoding builds a new value and
/// touches no doc, so a decoder panic (yrs asserts and overflows on some
/// hostile inputs) means malformed bytes, not a doc that can no longer be
/// trusted: it is refused like any decode error, and the doc stays open.
fn decoded<T, E: std::fmt::Display>(decode: impl FnOnce() -> Result<T, E>) -> Result<T, CrdtError> {
    match contained(decode) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CrdtError::Malformed(e.to_string())),
        Err(CrdtError::Panicked(msg)) | Err(CrdtError::Malformed(msg)) => Err(
            CrdtError::Malformed(format!("the bytes could not be decoded ({msg})")),
        ),
    }
}

/// Runs `f`, turning a panic into [`CrdtError::Panicked`].
fn contained<T>(f: impl FnOnce() -> T) -> Result<T, CrdtError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".to_owned());
        CrdtError::Panicked(msg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Text};

    fn update_inserting(text: &str) -> Vec<u8> {
        let doc = Doc::with_client_id(99);
        let t = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    }

    #[test]
    fn range_cover_check_merges_adjacent_ranges_and_spots_gaps() {
        assert!(covered(&[0..5, 5..9], &(2..9)));
        assert!(!covered(&[0..5, 6..9], &(2..9)));
        assert!(!covered(&[], &(0..1)));
        let everything = 0..u32::MAX;
        assert!(covered(std::slice::from_ref(&everything), &(7..u32::MAX)));
    }

    #[test]
    fn applying_the_same_update_twice_changes_the_doc_once() {
        let mut doc = CrdtDoc::new();
        let u = update_inserting("hello");
        assert!(matches!(doc.apply(&u), Ok(Applied::Changed { .. })));
        assert_eq!(doc.apply(&u), Ok(Applied::Unchanged));
        let d = doc.doc().unwrap();
        let t = d.get_or_insert_text("content");
        assert_eq!(t.get_string(&d.transact()), "hello");
    }

    #[test]
    fn garbage_is_malformed_and_leaves_the_doc_as_it_was() {
        let mut doc = CrdtDoc::new();
        doc.apply(&update_inserting("keep")).unwrap();
        let before = doc.encode_state().unwrap();
        assert!(matches!(
            doc.apply(&[0xff, 0xff, 0xff]),
            Err(CrdtError::Malformed(_))
        ));
        assert_eq!(doc.encode_state().unwrap(), before);
    }

    #[test]
    fn a_dormant_doc_answers_like_a_live_one_and_wakes_on_write() {
        let mut doc = CrdtDoc::new();
        doc.apply(&update_inserting("hello")).unwrap();
        let (sv, state) = (doc.state_vector().unwrap(), doc.encode_state().unwrap());
        doc.hibernate().unwrap();
        assert!(doc.is_dormant());
        assert_eq!(doc.state_vector().unwrap(), sv);
        assert_eq!(doc.encode_state().unwrap(), state);
        assert_eq!(doc.diff(&sv).unwrap(), CrdtDoc::new().diff(&[0]).unwrap());
        assert_eq!(doc.would_be_noop(&state), Ok(true));
        assert!(doc.is_dormant(), "reads leave the doc dormant");
        let more = {
            let d = Doc::with_client_id(99);
            let t = d.get_or_insert_text("content");
            d.transact_mut()
                .apply_update(Update::decode_v1(&state).unwrap())
                .unwrap();
            let mut txn = d.transact_mut();
            t.insert(&mut txn, 5, " world");
            txn.encode_update_v1()
        };
        assert!(matches!(doc.apply(&more), Ok(Applied::Changed { .. })));
        assert!(!doc.is_dormant());
        let d = doc.doc().unwrap();
        let t = d.get_or_insert_text("content");
        assert_eq!(t.get_string(&d.transact()), "hello world");
    }

    #[test]
    fn a_known_update_is_a_noop_and_a_new_one_is_not() {
        let mut doc = CrdtDoc::new();
        let u = update_inserting("hello");
        assert_eq!(doc.would_be_noop(&u), Ok(false));
        doc.apply(&u).unwrap();
        assert_eq!(doc.would_be_noop(&u), Ok(true));
        // A full-state step 2 from an up-to-date peer carries its whole delete set.
        assert_eq!(doc.would_be_noop(&doc.encode_state().unwrap()), Ok(true));
    }

    #[test]
    fn a_sync_reply_is_the_same_from_a_dormant_doc_as_from_a_live_one() {
        let mut doc = CrdtDoc::new();
        doc.apply(&update_inserting("hello")).unwrap();
        let cold = [0u8];
        // A peer holding the first two characters of "hello".
        let partial = {
            let mut sv = StateVector::default();
            sv.set_max(yrs::block::ClientID::new(99), 2);
            sv.encode_v1()
        };
        let live = (
            doc.sync_reply(&cold).unwrap(),
            doc.sync_reply(&partial).unwrap(),
        );
        doc.hibernate().unwrap();
        assert_eq!(doc.sync_reply(&cold).unwrap(), live.0);
        assert_eq!(doc.sync_reply(&partial).unwrap(), live.1);
        assert_eq!(
            live.0 .1,
            doc.state_vector().unwrap(),
            "step 1 is our state vector"
        );
        assert!(doc.is_dormant(), "answering a sync leaves the doc dormant");
        assert!(matches!(
            doc.sync_reply(&[0xff, 0xff]),
            Err(CrdtError::Malformed(_))
        ));
    }
}
