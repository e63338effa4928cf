//! The limits every untrusted input is held to before yrs sees it.
//!
//! One struct, shared by the relay, the worker and the plugin, so a limit is
//! the same everywhere and a message one side accepts the other accepts too.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Size and count limits. Defaults suit a personal vault with large notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest WebSocket frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Largest yrs update (or state vector) inside a sync message.
    pub max_update_bytes: usize,
    /// Largest awareness update inside an awareness message.
    pub max_awareness_bytes: usize,
    /// Most clients one awareness update may describe.
    pub max_awareness_clients: usize,
    /// Largest string field (awareness state JSON, error text, epoch).
    pub max_string_bytes: usize,
    /// Largest doc id in a vault envelope.
    pub max_doc_id_bytes: usize,
    /// Most docs one vault may hold (and one changes list may name).
    pub max_docs_per_vault: usize,
    /// Largest merged state of one doc; updates that would grow it further are refused.
    pub max_doc_bytes: usize,
    /// Largest attachment accepted over HTTP.
    pub max_blob_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 << 20,
            max_update_bytes: 16 << 20,
            max_awareness_bytes: 64 << 10,
            max_awareness_clients: 256,
            max_string_bytes: 32 << 10,
            max_doc_id_bytes: 64,
            max_docs_per_vault: 100_000,
            max_doc_bytes: 64 << 20,
            max_blob_bytes: 100 << 20,
        }
    }
}

/// A limit that an input exceeded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} is {size} bytes, over the limit of {max}")]
pub struct LimitError {
    /// What was too large.
    pub what: &'static str,
    /// Its size.
    pub size: u64,
    /// The limit.
    pub max: u64,
}

impl Limits {
    /// Checks a whole frame before any decoding.
    pub fn check_frame(&self, len: usize) -> Result<(), LimitError> {
        check("frame", len as u64, self.max_frame_bytes as u64)
    }

    /// Checks an attachment's size, declared or actual.
    pub fn check_blob(&self, len: u64) -> Result<(), LimitError> {
        check("attachment", len, self.max_blob_bytes)
    }
}

fn check(what: &'static str, size: u64, max: u64) -> Result<(), LimitError> {
    if size > max {
        Err(LimitError { what, size, max })
    } else {
        Ok(())
    }
}
