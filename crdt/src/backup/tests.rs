use super::*;

fn note(path: &str, snap: &str) -> Wanted {
    Wanted {
        path: path.into(),
        id: format!("id-{path}"),
        kind: EntryKind::Note,
        source: Source::Snapshot(snap.into()),
    }
}

fn blob(path: &str, hash: &str) -> Wanted {
    Wanted {
        path: path.into(),
        id: format!("id-{path}"),
        kind: EntryKind::Blob,
        source: Source::Blob(hash.into()),
    }
}

fn backed_up(files: &[Wanted]) -> BackupManifest {
    let mut m = BackupManifest::new("v1");
    for w in files {
        m.record(&w.path, &w.source, w.path.as_bytes());
    }
    m
}

fn paths(ws: &[Wanted]) -> Vec<&str> {
    ws.iter().map(|w| w.path.as_str()).collect()
}

#[test]
fn a_first_run_fetches_every_file_and_removes_nothing() {
    let files = vec![note("a.md", "s1"), blob("img/x.png", "h1")];
    let p = plan(&BackupManifest::new("v1"), files, false);
    assert_eq!(paths(&p.fetch), ["a.md", "img/x.png"]);
    assert!(p.remove.is_empty() && p.refused.is_empty());
    assert_eq!(p.unchanged, 0);
}

#[test]
fn a_run_with_no_changes_fetches_nothing() {
    let files = vec![note("a.md", "s1"), blob("img/x.png", "h1")];
    let p = plan(&backed_up(&files), files, false);
    assert!(p.fetch.is_empty() && p.remove.is_empty());
    assert_eq!(p.unchanged, 2);
}

#[test]
fn only_the_note_with_a_new_snapshot_is_fetched() {
    let before = vec![note("a.md", "s1"), note("b.md", "s2")];
    let after = vec![note("a.md", "s1"), note("b.md", "s3")];
    let p = plan(&backed_up(&before), after, false);
    assert_eq!(paths(&p.fetch), ["b.md"]);
    assert_eq!(p.unchanged, 1);
}

#[test]
fn a_complete_run_fetches_everything_and_writes_unchanged_content_again() {
    let files = vec![note("a.md", "s1"), blob("x.png", "h1")];
    let m = backed_up(&files);
    let p = plan(&m, files, true);
    assert_eq!(p.fetch.len(), 2);
    assert!(needs_write(&m, "a.md", b"a.md", true));
    assert!(!needs_write(&m, "a.md", b"a.md", false));
}

#[test]
fn a_new_snapshot_with_the_same_text_is_not_rewritten() {
    let m = backed_up(&[note("a.md", "s1")]);
    assert!(!needs_write(&m, "a.md", b"a.md", false));
    assert!(needs_write(&m, "a.md", b"changed", false));
    assert!(needs_write(&m, "new.md", b"", false));
}

#[test]
fn files_gone_from_the_vault_are_removed_and_a_rename_is_a_remove_plus_a_fetch() {
    let before = vec![note("old.md", "s1"), note("keep.md", "s2")];
    let after = vec![note("new.md", "s1"), note("keep.md", "s2")];
    let p = plan(&backed_up(&before), after, false);
    assert_eq!(p.remove, ["old.md"]);
    assert_eq!(paths(&p.fetch), ["new.md"]);
}

#[test]
fn a_note_that_became_an_attachment_at_the_same_path_is_fetched_again() {
    let m = backed_up(&[note("x", "abc")]);
    let p = plan(&m, vec![blob("x", "abc")], false);
    assert_eq!(paths(&p.fetch), ["x"]);
}

#[test]
fn paths_the_policy_refuses_are_never_fetched() {
    let files = vec![
        note("../escape.md", "s"),
        note("/abs.md", "s"),
        note(".obsidian/app.json", "s"),
        note("ok.md", "s"),
    ];
    let p = plan(&BackupManifest::new("v1"), files, false);
    assert_eq!(paths(&p.fetch), ["ok.md"]);
    assert_eq!(p.refused.len(), 3);
}

#[test]
fn a_vault_file_may_not_take_the_manifest_name_or_the_reserved_folder() {
    for path in [
        ".tessera-backup.json",
        ".Tessera-Backup.JSON",
        ".tessera-backup/deleted/x.md",
        ".TESSERA-BACKUP/tmp/1",
    ] {
        let p = plan(&BackupManifest::new("v1"), vec![note(path, "s")], false);
        assert!(p.fetch.is_empty(), "{path}");
        assert_eq!(p.refused.len(), 1, "{path}");
    }
    assert!(refusal_reason("notes/.tessera-backup.json").is_none());
}

#[test]
fn a_file_named_like_another_files_folder_is_refused_and_the_folder_kept() {
    let files = vec![blob("notes", "h"), note("notes/a.md", "s")];
    let p = plan(&BackupManifest::new("v1"), files, false);
    assert_eq!(paths(&p.fetch), ["notes/a.md"]);
    assert_eq!(p.refused[0].path, "notes");
}

#[test]
fn a_refused_path_already_in_the_manifest_is_removed() {
    let m = backed_up(&[blob("notes", "h")]);
    let p = plan(&m, vec![blob("notes", "h"), note("notes/a.md", "s")], false);
    assert_eq!(p.remove, ["notes"]);
}

#[test]
fn a_path_listed_twice_is_backed_up_once() {
    let p = plan(
        &BackupManifest::new("v1"),
        vec![note("a.md", "s1"), note("a.md", "s2")],
        false,
    );
    assert_eq!(p.fetch.len(), 1);
    assert_eq!(p.fetch[0].source, Source::Snapshot("s1".into()));
}

#[test]
fn the_manifest_round_trips_and_refuses_another_vault_or_version() {
    let m = backed_up(&[note("a.md", "s1")]);
    let bytes = m.encode();
    assert_eq!(BackupManifest::decode(&bytes, "v1").unwrap(), m);
    assert!(matches!(
        BackupManifest::decode(&bytes, "other"),
        Err(BackupError::OtherVault { .. })
    ));
    let newer = String::from_utf8(bytes).unwrap().replace(
        &format!("\"version\": {MANIFEST_VERSION}"),
        "\"version\": 99",
    );
    assert!(matches!(
        BackupManifest::decode(newer.as_bytes(), "v1"),
        Err(BackupError::Version(99))
    ));
    assert!(matches!(
        BackupManifest::decode(b"{not json", "v1"),
        Err(BackupError::BadManifest(_))
    ));
}

#[test]
fn deleted_files_keep_their_path_under_the_run_stamp() {
    assert_eq!(run_stamp(0), "1970-01-01T00-00-00Z");
    assert_eq!(run_stamp(1_764_640_243_000), "2025-12-02T01-50-43Z");
    assert_eq!(
        deleted_path("2025-12-02T01-50-43Z", "a/b.md"),
        ".tessera-backup/deleted/2025-12-02T01-50-43Z/a/b.md"
    );
}

#[test]
fn live_files_lists_one_entry_per_path_the_conflict_winner() {
    let mut index = Index::new(1);
    let meta = crate::vault::EntryMeta::default();
    index
        .create_with_id(
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "a.md",
            EntryKind::Note,
            meta.clone(),
        )
        .unwrap();
    let mut other = Index::new(2);
    let update = other
        .create_with_id(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "a.md",
            EntryKind::Note,
            meta,
        )
        .unwrap();
    index.apply_remote(&update).unwrap();
    let files = live_files(&index);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}
