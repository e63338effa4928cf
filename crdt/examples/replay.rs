//! Replays an editing trace keystroke by keystroke through the Note API and
//! prints the time as JSON. Used by scripts/bench-replay.sh.
//!
//! Usage: cargo run --release -p tessera-crdt --example replay -- TRACE.json.gz

use std::io::Read;
use std::time::Instant;

use tessera_crdt::note::Note;

/// One keystroke-level edit with positions already in UTF-16 units.
struct Op {
    at: u32,
    delete: u32,
    insert: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: replay TRACE.json.gz")?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_string(&mut json)?;
    let trace: serde_json::Value = serde_json::from_str(&json)?;
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let end = trace["endContent"]
        .as_str()
        .ok_or("trace has no endContent")?;
    let ops = to_utf16_ops(&trace, &start)?;

    let t0 = Instant::now();
    let mut note = Note::new(1);
    if !start.is_empty() {
        note.insert(0, &start)?;
    }
    for op in &ops {
        if op.delete > 0 {
            note.delete(op.at, op.delete)?;
        }
        if !op.insert.is_empty() {
            note.insert(op.at, &op.insert)?;
        }
    }
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let ok = note.text() == end;
    let state = note.encode_state().len();
    println!(
        "{}",
        serde_json::json!({ "ops": ops.len(), "ms": ms, "ok": ok, "state_bytes": state })
    );
    if ok {
        Ok(())
    } else {
        Err("replay did not reproduce endContent".into())
    }
}

/// Converts code-point positions to UTF-16 outside the timed section. ASCII
/// traces convert for free; others walk a char model (slow, but untimed).
fn to_utf16_ops(
    trace: &serde_json::Value,
    start: &str,
) -> Result<Vec<Op>, Box<dyn std::error::Error>> {
    let txns = trace["txns"].as_array().ok_or("trace has no txns")?;
    let mut chars: Vec<char> = start.chars().collect();
    let mut ascii = start.is_ascii();
    let mut ops = Vec::new();
    for txn in txns {
        for p in txn["patches"].as_array().ok_or("txn without patches")? {
            let pos = p[0].as_u64().ok_or("bad pos")? as usize;
            let del = p[1].as_u64().ok_or("bad delete count")? as usize;
            let ins = p[2].as_str().ok_or("bad insert")?.to_owned();
            ascii &= ins.is_ascii();
            let (at, delete) = if ascii {
                (pos as u32, del as u32)
            } else {
                let u16_at: usize = chars[..pos].iter().map(|c| c.len_utf16()).sum();
                let u16_del: usize = chars[pos..pos + del].iter().map(|c| c.len_utf16()).sum();
                (u16_at as u32, u16_del as u32)
            };
            chars.splice(pos..pos + del, ins.chars());
            ops.push(Op {
                at,
                delete,
                insert: ins,
            });
        }
    }
    Ok(ops)
}
