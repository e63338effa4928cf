//! The vault index: ids, paths, tombstones, and two devices that create the
//! same path before they sync.

use tessera_crdt::note::Note;
use tessera_crdt::vault::{
    validate_path, Entry, EntryKind, EntryMeta, Index, PathConflict, VaultError,
};

fn meta() -> EntryMeta {
    EntryMeta::default()
}

/// Two indexes that start from the same state.
fn pair() -> (Index, Index) {
    let a = Index::new(1);
    let b = Index::from_update(2, &a.encode_state()).unwrap();
    (a, b)
}

fn exchange(a: &mut Index, b: &mut Index) {
    let to_b = a.diff_since(&b.state_vector()).unwrap();
    let to_a = b.diff_since(&a.state_vector()).unwrap();
    b.apply_remote(&to_b).unwrap();
    a.apply_remote(&to_a).unwrap();
}

fn paths(index: &Index) -> Vec<String> {
    index.list().into_iter().map(|e| e.path).collect()
}

#[test]
fn a_created_entry_is_found_by_id_and_by_path() {
    let mut index = Index::new(1);
    let m = EntryMeta {
        hash: Some("ab".repeat(32)),
        size: Some(12),
        mtime: Some(1_700_000_000_000),
    };
    let (id, _) = index
        .create("Notes/a.md", EntryKind::Note, m.clone())
        .unwrap();
    let entry = index.get(&id).unwrap();
    assert_eq!(entry.path, "Notes/a.md");
    assert_eq!(entry.kind, EntryKind::Note);
    assert_eq!(entry.meta, m);
    assert!(!entry.deleted);
    assert_eq!(index.lookup("Notes/a.md"), Some(entry));
}

#[test]
fn creating_a_path_that_a_live_entry_has_is_refused() {
    let mut index = Index::new(1);
    index.create("a.md", EntryKind::Note, meta()).unwrap();
    assert!(matches!(
        index.create("a.md", EntryKind::Blob, meta()),
        Err(VaultError::PathTaken(p)) if p == "a.md"
    ));
}

#[test]
fn create_with_id_refuses_malformed_or_reused_ids() {
    let mut index = Index::new(1);
    let id = "0".repeat(32);
    index
        .create_with_id(&id, "a.md", EntryKind::Note, meta())
        .unwrap();
    assert!(matches!(
        index.create_with_id(&id, "b.md", EntryKind::Note, meta()),
        Err(VaultError::IdTaken(_))
    ));
    assert!(matches!(
        index.create_with_id("../index", "c.md", EntryKind::Note, meta()),
        Err(VaultError::BadId(_))
    ));
}

#[test]
fn a_rename_keeps_the_id() {
    let mut index = Index::new(1);
    let (id, _) = index.create("old.md", EntryKind::Note, meta()).unwrap();
    index.rename(&id, "Folder/new.md").unwrap();
    assert_eq!(index.lookup("Folder/new.md").unwrap().id, id);
    assert_eq!(index.lookup("old.md"), None);
}

#[test]
fn renaming_onto_a_live_path_is_refused() {
    let mut index = Index::new(1);
    let (a, _) = index.create("a.md", EntryKind::Note, meta()).unwrap();
    index.create("b.md", EntryKind::Note, meta()).unwrap();
    assert!(matches!(
        index.rename(&a, "b.md"),
        Err(VaultError::PathTaken(_))
    ));
    assert_eq!(index.get(&a).unwrap().path, "a.md");
}

#[test]
fn concurrent_renames_converge_to_one_name() {
    let (mut a, mut b) = pair();
    let (id, created) = a.create("x.md", EntryKind::Note, meta()).unwrap();
    b.apply_remote(&created).unwrap();
    a.rename(&id, "from-a.md").unwrap();
    b.rename(&id, "from-b.md").unwrap();
    exchange(&mut a, &mut b);
    assert_eq!(a.list(), b.list());
    assert_eq!(a.list().len(), 1);
    assert!(["from-a.md", "from-b.md"].contains(&a.get(&id).unwrap().path.as_str()));
}

#[test]
fn a_concurrent_rename_and_metadata_change_both_survive() {
    let (mut a, mut b) = pair();
    let (id, created) = a.create("x.md", EntryKind::Note, meta()).unwrap();
    b.apply_remote(&created).unwrap();
    a.rename(&id, "renamed.md").unwrap();
    let m = EntryMeta {
        hash: Some("cd".repeat(32)),
        size: Some(99),
        mtime: None,
    };
    b.set_meta(&id, m.clone()).unwrap();
    exchange(&mut a, &mut b);
    for index in [&a, &b] {
        let entry = index.get(&id).unwrap();
        assert_eq!((entry.path.as_str(), &entry.meta), ("renamed.md", &m));
    }
}

#[test]
fn moving_a_folder_is_one_update_that_moves_every_entry_below_it() {
    let (mut a, mut b) = pair();
    for p in [
        "Projects/a.md",
        "Projects/sub/b.md",
        "Projectsx/c.md",
        "d.md",
    ] {
        let (_, u) = a.create(p, EntryKind::Note, meta()).unwrap();
        b.apply_remote(&u).unwrap();
    }
    let update = a.move_folder("Projects", "Archive/Projects").unwrap();
    let changed = b.apply_remote(&update).unwrap();
    assert_eq!(changed.len(), 2);
    let expected = [
        "Archive/Projects/a.md",
        "Archive/Projects/sub/b.md",
        "Projectsx/c.md",
        "d.md",
    ];
    assert_eq!(paths(&b), expected);
    assert_eq!(paths(&a), expected);
}

#[test]
fn moving_a_folder_into_itself_or_onto_taken_paths_is_refused() {
    let mut index = Index::new(1);
    index.create("A/x.md", EntryKind::Note, meta()).unwrap();
    index.create("B/x.md", EntryKind::Note, meta()).unwrap();
    assert!(matches!(
        index.move_folder("A", "A/inner"),
        Err(VaultError::BadPath { .. })
    ));
    assert!(matches!(
        index.move_folder("A", "B"),
        Err(VaultError::PathTaken(p)) if p == "B/x.md"
    ));
    assert_eq!(paths(&index), ["A/x.md", "B/x.md"]);
}

#[test]
fn delete_leaves_a_tombstone() {
    let mut index = Index::new(1);
    let (id, _) = index.create("a.md", EntryKind::Blob, meta()).unwrap();
    index.delete(&id).unwrap();
    assert!(index.get(&id).unwrap().deleted);
    assert!(index.list().is_empty());
    assert_eq!(index.lookup("a.md"), None);
    // The path is free again, for a new id.
    let (again, _) = index.create("a.md", EntryKind::Blob, meta()).unwrap();
    assert_ne!(again, id);
}

#[test]
fn operations_on_unknown_or_deleted_ids_report_not_found() {
    let mut index = Index::new(1);
    let (id, _) = index.create("a.md", EntryKind::Note, meta()).unwrap();
    index.delete(&id).unwrap();
    let unknown = "f".repeat(32);
    assert!(matches!(
        index.rename(&id, "b.md"),
        Err(VaultError::NotFound(_))
    ));
    assert!(matches!(
        index.set_meta(&unknown, meta()),
        Err(VaultError::NotFound(_))
    ));
    assert!(matches!(
        index.delete(&unknown),
        Err(VaultError::NotFound(_))
    ));
}

#[test]
fn invalid_paths_are_refused_with_the_rule_they_break() {
    for bad in [
        "",
        "/abs.md",
        "a/../b.md",
        "./a.md",
        "a//b.md",
        "folder/",
        "a\\b.md",
        "nul\0.md",
        "tab\t.md",
        &"x".repeat(1025),
    ] {
        let err = validate_path(bad).unwrap_err();
        assert!(matches!(err, VaultError::BadPath { .. }), "{bad:?}");
        assert!(err.to_string().starts_with("invalid path"), "{err}");
    }
    for ok in [
        "a.md",
        "Folder/Sub/日本語 ノート.md",
        "..hidden/.obsidian-like",
        "a. b/c",
    ] {
        assert!(validate_path(ok).is_ok(), "{ok:?}");
    }
    let mut index = Index::new(1);
    assert!(matches!(
        index.create("../escape.md", EntryKind::Note, meta()),
        Err(VaultError::BadPath { .. })
    ));
}

#[test]
fn apply_remote_reports_the_ids_that_changed() {
    let (mut a, mut b) = pair();
    let (x, u1) = a.create("x.md", EntryKind::Note, meta()).unwrap();
    let (y, u2) = a.create("y.md", EntryKind::Note, meta()).unwrap();
    let mut both = b.apply_remote(&u1).unwrap();
    both.extend(b.apply_remote(&u2).unwrap());
    both.sort();
    let mut expected = vec![x.clone(), y];
    expected.sort();
    assert_eq!(both, expected);
    let renamed = a.rename(&x, "z.md").unwrap();
    assert_eq!(b.apply_remote(&renamed).unwrap(), vec![x]);
}

#[test]
fn bad_update_bytes_are_refused_and_leave_the_index_unchanged() {
    let mut index = Index::new(1);
    index.create("a.md", EntryKind::Note, meta()).unwrap();
    let before = index.encode_state();
    assert!(matches!(
        index.apply_remote(&[0xff; 9]),
        Err(VaultError::Doc(_))
    ));
    assert_eq!(index.encode_state(), before);
}

#[test]
fn entries_serialize_in_camel_case_with_flattened_metadata() {
    let entry = Entry {
        id: "0".repeat(32),
        path: "a.md".into(),
        kind: EntryKind::Blob,
        meta: EntryMeta {
            hash: None,
            size: Some(3),
            mtime: None,
        },
        deleted: true,
        merged_into: Some("1".repeat(32)),
    };
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["kind"], "blob");
    assert_eq!(json["size"], 3);
    assert_eq!(json["mergedInto"], "1".repeat(32));
}

/// Two devices create "Notes/a.md" offline, each with its own note doc.
struct Race {
    a: Index,
    b: Index,
    id_a: String,
    id_b: String,
}

fn race() -> Race {
    let (mut a, mut b) = pair();
    let (id_a, _) = a.create("Notes/a.md", EntryKind::Note, meta()).unwrap();
    let (id_b, _) = b.create("Notes/a.md", EntryKind::Note, meta()).unwrap();
    exchange(&mut a, &mut b);
    Race { a, b, id_a, id_b }
}

#[test]
fn two_ids_for_one_path_resolve_to_the_same_winner_everywhere() {
    let r = race();
    let winner = r.id_a.clone().min(r.id_b.clone());
    let loser = r.id_a.clone().max(r.id_b.clone());
    for index in [&r.a, &r.b] {
        assert_eq!(index.lookup("Notes/a.md").unwrap().id, winner);
        assert_eq!(
            index.conflicts(),
            vec![PathConflict {
                path: "Notes/a.md".into(),
                winner: winner.clone(),
                losers: vec![loser.clone()],
            }]
        );
    }
    assert_eq!(r.a.list(), r.b.list());
}

/// The loser's device merges its copy into the winner's note and retires
/// its entry; returns the winner's text as every device then sees it.
fn resolve(mut r: Race, text_a: &str, text_b: &str) -> String {
    let winner = r.a.lookup("Notes/a.md").unwrap().id;
    let (loser_index, loser_id, loser_text, winner_text) = if winner == r.id_a {
        (&mut r.b, r.id_b.clone(), text_b, text_a)
    } else {
        (&mut r.a, r.id_a.clone(), text_a, text_b)
    };
    // The winner's note as the loser's device received it.
    let mut winner_note = Note::new(10);
    winner_note.import_text(winner_text).unwrap();
    let mut on_loser_device = Note::from_update(11, &winner_note.encode_state()).unwrap();
    if let Some(update) = on_loser_device.merge_union(loser_text).unwrap() {
        winner_note.apply_remote(&update).unwrap();
    }
    loser_index.retire(&loser_id, &winner).unwrap();
    exchange(&mut r.a, &mut r.b);

    for index in [&r.a, &r.b] {
        assert_eq!(index.list().len(), 1);
        assert_eq!(index.lookup("Notes/a.md").unwrap().id, winner);
        assert!(index.conflicts().is_empty());
        let retired = index.get(&loser_id).unwrap();
        assert!(retired.deleted);
        assert_eq!(retired.merged_into.as_deref(), Some(winner.as_str()));
    }
    assert_eq!(winner_note.text(), on_loser_device.text());
    winner_note.text()
}

#[test]
fn resolving_identical_copies_leaves_one_entry_and_no_duplicated_text() {
    let text = "# Meeting\n\n- agenda\n- notes\n";
    assert_eq!(resolve(race(), text, text), text);
}

#[test]
fn resolving_divergent_copies_keeps_both_without_duplicating_common_paragraphs() {
    let a = "# Meeting\n\nShared intro.\n\nOnly on device A.\n\nShared outro.\n";
    let b = "# Meeting\n\nShared intro.\n\nOnly on device B.\n\nShared outro.\n";
    let merged = resolve(race(), a, b);
    for paragraph in [
        "# Meeting",
        "Shared intro.",
        "Only on device A.",
        "Only on device B.",
        "Shared outro.",
    ] {
        assert_eq!(
            merged.matches(paragraph).count(),
            1,
            "{paragraph:?} in {merged:?}"
        );
    }
}

#[test]
fn retiring_into_itself_or_into_a_missing_winner_is_refused() {
    let mut r = race();
    assert!(matches!(
        r.a.retire(&r.id_a, &r.id_a),
        Err(VaultError::SelfMerge(_))
    ));
    assert!(matches!(
        r.a.retire(&r.id_a, &"e".repeat(32)),
        Err(VaultError::NotFound(_))
    ));
}

/// What `lookup` and `conflicts` must answer, computed the slow way from `list`.
fn by_scan(index: &Index) -> (Vec<(String, String)>, Vec<PathConflict>) {
    let mut by_path: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in index.list() {
        by_path.entry(e.path).or_default().push(e.id);
    }
    let winners = by_path
        .iter()
        .map(|(p, ids)| (p.clone(), ids.iter().min().cloned().unwrap_or_default()))
        .collect();
    let conflicts = by_path
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(path, mut ids)| {
            ids.sort();
            let winner = ids.remove(0);
            PathConflict {
                path,
                winner,
                losers: ids,
            }
        })
        .collect();
    (winners, conflicts)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Lookups come from a table kept in step with every local and remote
    /// change; it must always agree with a scan of the entries.
    #[test]
    fn lookup_and_conflicts_agree_with_a_scan_after_any_mix_of_local_and_remote_changes(
        ops in proptest::collection::vec((0u8..6, 0usize..5, 0usize..5, proptest::bool::ANY), 1..60)
    ) {
        let (mut a, mut b) = pair();
        let names = ["a.md", "b.md", "d/c.md", "d/e.md", "f.md"];
        for (op, x, y, on_b) in ops {
            let idx = if on_b { &mut b } else { &mut a };
            let live = idx.list();
            let pick = |n: usize| live.get(n % live.len().max(1)).map(|e| e.id.clone());
            match op {
                0 | 1 => { let _ = idx.create(names[x], EntryKind::Note, meta()); }
                2 => if let Some(id) = pick(x) { let _ = idx.rename(&id, names[y]); },
                3 => if let Some(id) = pick(x) { let _ = idx.delete(&id); },
                4 => if let (Some(l), Some(w)) = (pick(x), pick(y)) { let _ = idx.retire(&l, &w); },
                _ => exchange(&mut a, &mut b),
            }
            for index in [&a, &b] {
                let (winners, conflicts) = by_scan(index);
                for (path, id) in winners {
                    proptest::prop_assert_eq!(index.lookup(&path).map(|e| e.id), Some(id));
                }
                proptest::prop_assert_eq!(index.conflicts(), conflicts);
            }
        }
        // Paths nobody holds any more are gone from the table too.
        for name in names {
            if !a.list().iter().any(|e| e.path == name) {
                proptest::prop_assert!(a.lookup(name).is_none());
            }
        }
    }
}
