//! Real editing traces (josephg/editing-traces) replayed through the Note API.

mod common;

use std::time::Instant;

use common::{load_trace, utf16_offset, Trace};
use tessera_crdt::note::Note;

/// Applies one trace patch (code point positions) to `note`; returns the
/// updates it produced.
fn apply_patch(note: &mut Note, bmp_only: bool, patch: &(usize, usize, String)) -> Vec<Vec<u8>> {
    let (pos, deleted, inserted) = patch;
    let mut updates = Vec::new();
    // Converting positions means reading the text; skip it when the trace
    // has no astral characters and both units agree.
    let (at, len) = if bmp_only {
        (*pos as u32, *deleted as u32)
    } else {
        let text = note.text();
        let at = utf16_offset(&text, *pos);
        (at, utf16_offset(&text, pos + deleted) - at)
    };
    if len > 0 {
        updates.push(note.delete(at, len).expect("trace delete"));
    }
    if !inserted.is_empty() {
        updates.push(note.insert(at, inserted).expect("trace insert"));
    }
    updates
}

#[test]
fn replaying_the_automerge_paper_keystroke_by_keystroke_yields_its_end_content() {
    let trace = load_trace("automerge-paper");
    let bmp_only = trace.is_bmp_only();
    let started = Instant::now();
    let mut note = Note::new(1);
    if !trace.start_content.is_empty() {
        note.insert(0, &trace.start_content).expect("start content");
    }
    let mut update_bytes = 0usize;
    for txn in &trace.txns {
        for patch in &txn.patches {
            for update in apply_patch(&mut note, bmp_only, patch) {
                update_bytes += update.len();
            }
        }
    }
    eprintln!(
        "automerge-paper: {} txns in {:?}, {} update bytes",
        trace.txns.len(),
        started.elapsed(),
        update_bytes
    );
    assert_eq!(note.text(), trace.end_content);
    // The whole history reloads into a fresh note.
    let copy = Note::from_update(2, &note.encode_state()).expect("reload");
    assert_eq!(copy.text(), trace.end_content);
}

/// Replays a concurrent trace with one note per agent. Each transaction's
/// positions refer to the version made of its `parents` (and their
/// ancestors). Every agent's own transactions form a chain, so a version is a
/// vector clock: how many transactions of each agent it includes. Before an
/// agent edits, its note receives exactly the other agents' updates that the
/// parents include, in trace order.
fn replay_concurrent(trace: &Trace) -> Vec<Note> {
    let agents = trace.num_agents.unwrap_or(1);
    let bmp_only = trace.is_bmp_only();
    let mut notes: Vec<Note> = (0..agents).map(|a| Note::new(a as u64 + 1)).collect();
    // updates[agent][k]: the updates of that agent's k-th transaction.
    let mut updates: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(); agents];
    // seen[a][b]: how many of agent b's transactions note a has integrated.
    let mut seen = vec![vec![0usize; agents]; agents];
    let mut clocks: Vec<Vec<usize>> = Vec::with_capacity(trace.txns.len());
    for txn in &trace.txns {
        let a = txn.agent;
        let mut version = vec![0usize; agents];
        for &p in &txn.parents {
            for (v, c) in version.iter_mut().zip(&clocks[p]) {
                *v = (*v).max(*c);
            }
        }
        assert_eq!(
            seen[a][a], version[a],
            "an agent's transactions form a chain"
        );
        for b in (0..agents).filter(|&b| b != a) {
            assert!(seen[a][b] <= version[b], "a version never goes back");
            for update in updates[b][seen[a][b]..version[b]].iter().flatten() {
                notes[a].apply_remote(update).expect("peer update");
            }
            seen[a][b] = version[b];
        }
        let mut produced = Vec::new();
        for patch in &txn.patches {
            produced.extend(apply_patch(&mut notes[a], bmp_only, patch));
        }
        updates[a].push(produced);
        seen[a][a] += 1;
        version[a] += 1;
        clocks.push(version);
    }
    // Final sync: everyone receives everything.
    for a in 0..agents {
        for b in (0..agents).filter(|&b| b != a) {
            for update in updates[b][seen[a][b]..].iter().flatten() {
                notes[a].apply_remote(update).expect("final sync");
            }
        }
    }
    notes
}

#[test]
fn replaying_friendsforever_as_two_exchanging_agents_converges_to_its_end_content() {
    let trace = load_trace("friendsforever");
    assert_eq!(trace.num_agents, Some(2));
    let started = Instant::now();
    let notes = replay_concurrent(&trace);
    eprintln!(
        "friendsforever: {} txns in {:?}",
        trace.txns.len(),
        started.elapsed()
    );
    for note in &notes {
        assert_eq!(note.text(), trace.end_content);
    }
}
