//! The measured scenarios. Each takes an [`Endpoint`](crate::protocols::Endpoint)
//! and a [`Probe`](crate::procstat::Probe) of the server's process and returns
//! its figures as JSON.

pub mod ack;
pub mod fanout;
pub mod manydocs;
pub mod replay;
pub mod vaultsync;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

/// A fresh doc id every server accepts (Tessera wants 32 lowercase hex digits).
pub fn doc_id() -> String {
    tessera_crdt::ids::new_file_id()
}

/// A client-side copy of one note: a yrs doc with Tessera's `content` text.
pub struct Note {
    doc: Doc,
}

impl Default for Note {
    fn default() -> Self {
        Note::new()
    }
}

impl Note {
    /// An empty note with a random 32-bit client id, as Yjs makes them:
    /// y-sweet 0.9.1 cuts larger ids (Tessera's are 53-bit) to 32 bits when
    /// it relays an update, so its receivers would see another client's items.
    pub fn new() -> Note {
        let id = tessera_crdt::ids::random_client_id() & u64::from(u32::MAX);
        Note {
            doc: Doc::with_client_id(id),
        }
    }

    /// Appends `s`; returns the update.
    pub fn append(&self, s: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("content");
        let mut txn = self.doc.transact_mut();
        let len = text.len(&txn);
        text.insert(&mut txn, len, s);
        txn.encode_update_v1()
    }

    /// Deletes `len` characters at `at` and inserts `s` there; returns the update.
    pub fn splice(&self, at: u32, len: u32, s: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("content");
        let mut txn = self.doc.transact_mut();
        if len > 0 {
            text.remove_range(&mut txn, at, len);
        }
        if !s.is_empty() {
            text.insert(&mut txn, at, s);
        }
        txn.encode_update_v1()
    }

    /// Appends `s` to a second root text, `bench`, which the note's content
    /// never shows: for markers that must not change the replayed text.
    pub fn mark(&self, s: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("bench");
        let mut txn = self.doc.transact_mut();
        let len = text.len(&txn);
        text.insert(&mut txn, len, s);
        txn.encode_update_v1()
    }

    /// This client's id.
    pub fn client_id(&self) -> yrs::ClientID {
        self.doc.client_id()
    }

    /// How many items this client has created (its clock).
    pub fn clock(&self) -> u32 {
        self.clock_of(self.doc.client_id())
    }

    /// How many items of `client` this note has.
    pub fn clock_of(&self, client: yrs::ClientID) -> u32 {
        self.doc.transact().state_vector().get(&client)
    }

    /// Applies a v1 update from the server (a malformed one is an error, not a panic).
    pub fn apply(&self, update: &[u8]) -> anyhow::Result<()> {
        let u = Update::decode_v1(update)?;
        self.doc.transact_mut().apply_update(u)?;
        Ok(())
    }

    /// Applies a v1 update; returns how many characters it deletes.
    pub fn apply_counting_deletes(&self, update: &[u8]) -> anyhow::Result<u32> {
        let u = Update::decode_v1(update)?;
        let deleted = u
            .delete_set()
            .iter()
            .map(|(_, ranges)| ranges.iter().map(|r| r.end - r.start).sum::<u32>())
            .sum();
        self.doc.transact_mut().apply_update(u)?;
        Ok(deleted)
    }

    /// The v1 state vector.
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// Everything as one update.
    pub fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// The text.
    pub fn text(&self) -> String {
        let text = self.doc.get_or_insert_text("content");
        let txn = self.doc.transact();
        text.get_string(&txn)
    }
}

/// Writes `#NNNNNNNN;` (the update's sequence number) for delivery tracking:
/// string content travels verbatim in a v1 update, so a reader finds it in the
/// raw bytes without decoding the update.
pub fn marker(seq: u64) -> String {
    format!("#{seq:08};")
}

/// Every sequence number marked in `bytes` (several if a server merged updates).
pub fn markers(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.windows(10).filter_map(|w| {
        if w[0] != b'#' || w[9] != b';' || !w[1..9].iter().all(u8::is_ascii_digit) {
            return None;
        }
        w[1..9]
            .iter()
            .try_fold(0u64, |n, d| Some(n * 10 + u64::from(d - b'0')))
    })
}
