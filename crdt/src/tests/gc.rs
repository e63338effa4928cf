//! Tests of the collector's decisions.

use super::*;
use crate::keys::{blob_key, head_key, snap_key, ContentHash, DocId};
use crate::vault::{EntryKind, EntryMeta, Index};

const DAY: u64 = 24 * 3600 * 1000;
const RETENTION: u64 = 30 * DAY;

fn vault() -> VaultId {
    VaultId::new("notes").unwrap()
}

fn doc_keys(doc: &str) -> Vec<Stored> {
    let d = DocId::new(doc).unwrap();
    vec![
        Stored {
            key: snap_key(&vault(), &d, &ContentHash::of(b"s1")),
            size: 10,
        },
        Stored {
            key: head_key(&vault(), &d),
            size: 1,
        },
    ]
}

fn blob(bytes: &[u8]) -> (String, Stored) {
    let hash = ContentHash::of(bytes);
    let key = blob_key(&vault(), &hash);
    (
        hash.to_string(),
        Stored {
            key,
            size: bytes.len() as u64,
        },
    )
}

/// An index with a live note, a deleted note, a live blob entry and a
/// deleted blob entry; returns (entries, live note, deleted note, live blob hash, dead blob hash).
fn vault_state() -> (Index, String, String, String, String) {
    let mut index = Index::new(1);
    let (live, _) = index
        .create("a.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let (dead, _) = index
        .create("b.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    index.delete(&dead).unwrap();
    let (kept, _) = blob(b"kept");
    let (gone, _) = blob(b"gone");
    let meta = |h: &str| EntryMeta {
        hash: Some(h.to_owned()),
        ..EntryMeta::default()
    };
    index
        .create("img.png", EntryKind::Blob, meta(&kept))
        .unwrap();
    let (old, _) = index
        .create("old.png", EntryKind::Blob, meta(&gone))
        .unwrap();
    index.delete(&old).unwrap();
    (index, live, dead, kept, gone)
}

fn stored_for(live: &str, dead: &str) -> Vec<Stored> {
    let mut all = doc_keys(live);
    all.extend(doc_keys(dead));
    all.extend(doc_keys("index"));
    all.push(blob(b"kept").1);
    all.push(blob(b"gone").1);
    all
}

#[test]
fn nothing_is_collected_on_the_first_sight_of_a_candidate() {
    let (index, live, dead, ..) = vault_state();
    let p = plan(
        &vault(),
        &index.all_entries(),
        &stored_for(&live, &dead),
        &GcState::default(),
        100 * DAY,
        RETENTION,
    );
    assert!(p.delete.is_empty());
    assert_eq!(p.waiting, 2, "the deleted note and the unreferenced blob");
    assert_eq!(p.state.candidates.len(), 2);
}

#[test]
fn a_deleted_note_and_an_unreferenced_blob_are_collected_after_the_retention_and_nothing_else() {
    let (index, live, dead, kept, gone) = vault_state();
    let stored = stored_for(&live, &dead);
    let first = plan(
        &vault(),
        &index.all_entries(),
        &stored,
        &GcState::default(),
        100 * DAY,
        RETENTION,
    );
    let early = plan(
        &vault(),
        &index.all_entries(),
        &stored,
        &first.state,
        129 * DAY,
        RETENTION,
    );
    assert!(early.delete.is_empty(), "one day short of the retention");
    let due = plan(
        &vault(),
        &index.all_entries(),
        &stored,
        &early.state,
        130 * DAY,
        RETENTION,
    );
    let d = DocId::new(&dead).unwrap();
    assert_eq!(
        due.delete,
        [
            blob_key(&vault(), &ContentHash::new(&gone).unwrap()),
            head_key(&vault(), &d),
            snap_key(&vault(), &d, &ContentHash::of(b"s1")),
        ],
        "the blob; the doc's head first, then its snapshots"
    );
    assert_eq!((due.docs_collected, due.blobs_collected), (1, 1));
    assert_eq!(due.bytes_freed, 11 + 4);
    assert!(!due
        .delete
        .iter()
        .any(|k| k.contains(&live) || k.contains(&kept) || k.contains("/index/")));
}

#[test]
fn a_note_restored_within_the_retention_leaves_the_candidates() {
    let (mut index, live, dead, ..) = vault_state();
    let stored = stored_for(&live, &dead);
    let first = plan(
        &vault(),
        &index.all_entries(),
        &stored,
        &GcState::default(),
        0,
        RETENTION,
    );
    assert!(first.state.candidates.contains_key(&format!("doc/{dead}")));
    // Undeleted on a device: the entry is live again.
    let restored = Index::from_update(2, &index.encode_state()).unwrap();
    let _ = restored;
    index
        .create_with_id(
            &crate::ids::new_file_id(),
            "c.md",
            EntryKind::Note,
            EntryMeta::default(),
        )
        .unwrap();
    let mut entries = index.all_entries();
    for e in &mut entries {
        if e.id == dead {
            e.deleted = false;
        }
    }
    let later = plan(
        &vault(),
        &entries,
        &stored,
        &first.state,
        RETENTION * 2,
        RETENTION,
    );
    assert!(
        !later.delete.iter().any(|k| k.contains(&dead)),
        "{:?}",
        later.delete
    );
    assert!(!later.state.candidates.contains_key(&format!("doc/{dead}")));
    // Deleted again later: its retention starts over.
    let again = plan(
        &vault(),
        &index.all_entries(),
        &stored,
        &later.state,
        RETENTION * 3,
        RETENTION,
    );
    assert!(!again.delete.iter().any(|k| k.contains(&dead)));
}

#[test]
fn other_vaults_keys_and_the_manifest_are_never_collected() {
    let other = VaultId::new("other").unwrap();
    let stored = vec![
        Stored {
            key: head_key(&other, &DocId::new(&crate::ids::new_file_id()).unwrap()),
            size: 1,
        },
        Stored {
            key: crate::keys::manifest_key(&vault()),
            size: 1,
        },
    ];
    let p = plan(&vault(), &[], &stored, &GcState::default(), 0, 0);
    assert!(p.delete.is_empty());
    assert_eq!(p.bytes_stored, 1, "only this vault's objects are counted");
}

#[test]
fn a_candidate_time_from_the_future_counts_from_now() {
    let doc = crate::ids::new_file_id();
    let mut state = GcState::default();
    state.candidates.insert(format!("doc/{doc}"), u64::MAX);
    let p = plan(&vault(), &[], &doc_keys(&doc), &state, 5 * DAY, RETENTION);
    assert!(p.delete.is_empty());
    assert_eq!(p.state.candidates[&format!("doc/{doc}")], 5 * DAY);
}

#[test]
fn the_state_round_trips_and_garbage_is_refused() {
    let mut s = GcState::default();
    s.candidates.insert("blob/ab".into(), 7);
    assert_eq!(
        GcState::decode(&s.encode()).unwrap().candidates,
        s.candidates
    );
    assert!(GcState::decode(b"{\"format\":9}").is_err());
    assert!(GcState::decode(b"nope").is_err());
}
