//! Updates whose parts wait for missing dependencies.
//!
//! yrs keeps such parts "pending" inside the doc and merges them into every
//! later encode (`merge_pending_v1` in yrs 0.28's transaction.rs, which
//! unwraps the merge). For some hostile inputs that merge fails, and yrs
//! panics when the doc is next encoded: at the next sync reply or snapshot.
//! The relay catches the panic and quarantines the doc; on wasm32 (the worker,
//! `panic = abort`) nothing can catch it, the Durable Object resets, and the
//! logged update resets it again after every restart. So a write that could
//! leave parts pending is first tried on a scratch copy, and refused when yrs
//! could not encode what it would keep (crdt/tests/fixtures/yrs/ has one).

use std::collections::HashMap;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, ReadTxn, StateVector, Update};

/// True when `update` may leave parts pending in a doc whose state vector is
/// `sv`: it inserts past a gap in some client's clock, or deletes what
/// neither the doc nor the update holds. Updates from a client that is in
/// sync (the normal case) never do, so only rare updates pay for a trial.
/// Origins of inserted items are not visible through yrs's API; an update
/// pending only because of them is caught after the fact ([`encodable`]).
pub(super) fn may_pend(sv: &StateVector, update: &Update) -> bool {
    let mut known: HashMap<ClientID, u32> = HashMap::new();
    for (client, ranges) in update.insertions(true).iter() {
        let mut pos = sv.get(client);
        let mut sorted: Vec<_> = ranges.iter().cloned().collect();
        sorted.sort_by_key(|r| r.start);
        for r in sorted {
            if r.start > pos {
                return true;
            }
            pos = pos.max(r.end);
        }
        known.insert(*client, pos);
    }
    update.delete_set().iter().any(|(client, ranges)| {
        let have = known.get(client).copied().unwrap_or_else(|| sv.get(client));
        ranges.iter().any(|r| r.end > have)
    })
}

/// Err (with yrs's reason) when the parts the doc keeps pending could not be
/// merged into a later encode, which would make yrs panic then.
pub(super) fn encodable<T: ReadTxn>(txn: &T) -> Result<(), String> {
    let store = txn.store();
    // What yrs merges at every encode: the new update, the pending blocks,
    // and the pending deletions as an update with no blocks.
    let mut parts = vec![Update::EMPTY_V1.to_vec()];
    if let Some(pending) = store.pending_update() {
        parts.push(pending.update.encode_v1());
    }
    if let Some(ds) = store.pending_ds() {
        let mut deletions = vec![0];
        deletions.extend(ds.encode_v1());
        parts.push(deletions);
    }
    if parts.len() == 1 {
        return Ok(());
    }
    for part in &parts[1..] {
        Update::decode_v1(part).map_err(|e| e.to_string())?;
    }
    yrs::merge_updates_v1(&parts).map_err(|e| e.to_string())?;
    Ok(())
}
