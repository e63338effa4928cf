//! Shared helpers for the integration tests: the shared test data and a
//! UTF-16-aware plain-text model to check deltas against.

#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;
use std::path::PathBuf;

use serde::Deserialize;
use tessera_crdt::note::DeltaOp;

/// `../../shared/<rel>` from the crate: the repository is cloned next to
/// `shared/`, both in development (/work/main) and in CI.
pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

/// An editing trace from josephg/editing-traces.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    #[serde(default)]
    pub start_content: String,
    pub end_content: String,
    #[serde(default)]
    pub num_agents: Option<usize>,
    pub txns: Vec<Txn>,
}

/// One transaction; `parents` and `agent` only in concurrent traces.
#[derive(Deserialize)]
pub struct Txn {
    #[serde(default)]
    pub parents: Vec<usize>,
    #[serde(default)]
    pub agent: usize,
    /// `[position, deleted, inserted]`, in Unicode code points, applied in order.
    pub patches: Vec<(usize, usize, String)>,
}

impl Trace {
    /// True when no character of the trace needs two UTF-16 code units, so
    /// code point positions are UTF-16 positions as they are.
    pub fn is_bmp_only(&self) -> bool {
        let bmp = |s: &str| s.chars().all(|c| c.len_utf16() == 1);
        bmp(&self.start_content)
            && bmp(&self.end_content)
            && self
                .txns
                .iter()
                .all(|t| t.patches.iter().all(|p| bmp(&p.2)))
    }
}

pub fn load_trace(name: &str) -> Trace {
    let path = shared(&format!("traces/{name}.json.gz"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .expect("gunzip trace");
    serde_json::from_str(&json).expect("parse trace")
}

/// The UTF-16 offset of code point `cp` in `text`.
pub fn utf16_offset(text: &str, cp: usize) -> u32 {
    text.chars().take(cp).map(|c| c.len_utf16() as u32).sum()
}

/// Applies a delta to a plain string the way an editor would: walking in
/// UTF-16 code units. Panics when the delta does not fit the text.
pub fn apply_delta(text: &str, delta: &[DeltaOp]) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out: Vec<u16> = Vec::with_capacity(units.len());
    let mut at = 0usize;
    for op in delta {
        match op {
            DeltaOp::Retain(n) => {
                let end = at + *n as usize;
                out.extend_from_slice(&units[at..end]);
                at = end;
            }
            DeltaOp::Delete(n) => {
                at += *n as usize;
                assert!(at <= units.len(), "delete past the end");
            }
            DeltaOp::Insert(s) => out.extend(s.encode_utf16()),
        }
    }
    out.extend_from_slice(&units[at..]);
    String::from_utf16(&out).expect("delta split a surrogate pair")
}
