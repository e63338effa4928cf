//! The path policy: every rule by name, hostile paths generated, and the
//! room refusing index writes that break it.

use bytes::Bytes;
use proptest::prelude::*;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId};
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{fold_key, EntryKind, EntryMeta, Index, PathPolicy, VaultError};
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, Map, MapPrelim, StateVector, Transact};

fn reason(path: &str) -> Option<&'static str> {
    PathPolicy::device(".obsidian").reason(path)
}

fn refused_for(path: &str, words: &str) {
    let r = reason(path).unwrap_or_else(|| panic!("{path:?} was accepted"));
    assert!(r.contains(words), "{path:?}: {r:?} lacks {words:?}");
}

#[test]
fn absolute_paths_and_drive_letters_are_refused() {
    refused_for("/x.md", "relative");
    refused_for("C:\\x.md", "backslash");
    refused_for("C:/x.md", "drive letter");
    refused_for("c:x.md", "drive letter");
}

#[test]
fn dot_dot_dot_and_empty_segments_are_refused() {
    refused_for("../x.md", "'.' and '..'");
    refused_for("a/../../x.md", "'.' and '..'");
    refused_for("./x.md", "'.' and '..'");
    refused_for("a//x.md", "empty segment");
    refused_for("a/", "empty segment");
    refused_for("", "empty");
}

#[test]
fn backslashes_nul_and_control_characters_are_refused() {
    refused_for("a\\x.md", "backslash");
    refused_for("x\0.md", "control");
    refused_for("x\n.md", "control");
    refused_for("x\u{7f}.md", "control");
    refused_for("x\u{9b}.md", "control");
}

#[test]
fn names_ending_in_a_dot_or_a_space_are_refused() {
    refused_for("x.md.", "dot or a space");
    refused_for("folder /x.md", "dot or a space");
}

#[test]
fn windows_reserved_device_names_are_refused_with_or_without_extension() {
    for name in [
        "CON",
        "prn",
        "Aux",
        "nul.md",
        "COM1",
        "com9.txt",
        "LPT1",
        "lpt9.tar.gz",
        "con .md",
    ] {
        refused_for(&format!("a/{name}"), "reserved");
    }
    for fine in [
        "console.md",
        "com10.md",
        "lpt.md",
        "auxiliary/x.md",
        "nully.md",
    ] {
        assert_eq!(reason(fine), None, "{fine:?}");
    }
}

#[test]
fn characters_windows_forbids_are_refused() {
    for c in ['<', '>', ':', '"', '|', '?', '*'] {
        refused_for(&format!("notes/ab{c}b.md"), "Windows forbids");
    }
}

#[test]
fn over_long_names_and_paths_are_refused() {
    refused_for(&format!("{}.md", "x".repeat(253)), "255 bytes");
    assert_eq!(reason(&format!("{}.md", "x".repeat(252))), None);
    let long = vec!["y".repeat(200); 6].join("/");
    refused_for(&long, "1024");
}

#[test]
fn the_config_folder_is_refused_in_any_case_and_whatever_the_device_calls_it() {
    for path in [
        ".obsidian",
        ".obsidian/plugins/evil/main.js",
        ".OBSIDIAN/app.json",
        ".Obsidian/x.md",
    ] {
        refused_for(path, "config folder");
        assert!(!PathPolicy::server().allows(path), "{path:?}");
    }
    let device = PathPolicy::device(".config-x");
    assert!(device.reason(".Config-X/plugins/a/main.js").is_some());
    assert!(device.reason(".obsidian/plugins/a/main.js").is_some());
    assert!(PathPolicy::server().allows(".config-x/a.md"));
    // Only the folder itself, not names that start alike.
    assert_eq!(reason(".obsidian-notes/a.md"), None);
    assert_eq!(reason("notes/.obsidian/a.md"), None);
}

#[test]
fn the_trash_folder_is_refused_in_any_case() {
    refused_for(".trash/x.md", ".trash");
    refused_for(".Trash/x.md", ".trash");
    assert_eq!(reason("a/.trash/x.md"), None);
}

#[test]
fn ordinary_paths_are_accepted() {
    for ok in [
        "a.md",
        "Folder/Sub/日本語 ノート.md",
        "..hidden/.obsidian-like",
        "a. b/c",
        "attachments/Pasted image 20240101.png",
        ".hidden.md",
    ] {
        assert_eq!(reason(ok), None, "{ok:?}");
    }
}

#[test]
fn paths_differing_only_in_case_or_unicode_normalisation_share_a_fold_key() {
    assert_eq!(fold_key("a.md"), fold_key("A.md"));
    assert_eq!(fold_key("Caf\u{e9}.md"), fold_key("cafe\u{301}.md"));
    assert_ne!(fold_key("a.md"), fold_key("b.md"));
}

#[test]
fn the_index_refuses_to_create_or_rename_to_a_refused_path() {
    let mut index = Index::new(1);
    assert!(matches!(
        index.create(
            ".obsidian/plugins/x/main.js",
            EntryKind::Note,
            EntryMeta::default()
        ),
        Err(VaultError::BadPath { .. })
    ));
    let (id, _) = index
        .create("a.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    assert!(matches!(
        index.rename(&id, "CON.md"),
        Err(VaultError::BadPath { .. })
    ));
}

/// Hostile path fragments an attacker would combine.
fn hostile_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just(String::new()),
        Just(".obsidian".to_owned()),
        Just(".OBSIDIAN".to_owned()),
        Just(".trash".to_owned()),
        Just("C:".to_owned()),
        Just("CON".to_owned()),
        Just("lpt3.md".to_owned()),
        Just("x.".to_owned()),
        Just("x ".to_owned()),
        Just("a\\b".to_owned()),
        "[a-z]{0,3}[\\x00-\\x1f<>:\"|?*][a-z]{0,3}",
        "x{256,300}",
    ]
}

proptest! {
    /// Any path with one hostile segment, anywhere, is refused: except the
    /// config and trash folders, which are only refused at the top.
    #[test]
    fn a_path_with_a_hostile_segment_is_always_refused(
        before in prop::collection::vec("[a-zA-Z0-9 _-]{1,8}", 0..3),
        bad in hostile_segment(),
        after in prop::collection::vec("[a-zA-Z0-9 _-]{1,8}", 0..3),
    ) {
        let folder_only = [".obsidian", ".OBSIDIAN", ".trash"].contains(&bad.as_str());
        prop_assume!(!folder_only || before.is_empty());
        let mut parts = before.clone();
        parts.push(bad);
        parts.extend(after);
        let path = parts.join("/");
        // A trailing space on a generated segment is a hostile case of its own.
        prop_assert!(reason(&path).is_some(), "{:?} was accepted", path);
        prop_assert!(!PathPolicy::server().allows(&path));
    }

    /// Whatever a path is, an accepted one is relative, stays in the vault
    /// and names no config folder.
    #[test]
    fn an_accepted_path_never_leaves_the_vault(path in "\\PC{0,40}") {
        if reason(&path).is_none() {
            prop_assert!(!path.starts_with('/'));
            prop_assert!(!path.contains('\\'));
            prop_assert!(path.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
            prop_assert!(!path.to_lowercase().starts_with(".obsidian/"));
            prop_assert!(!path.chars().any(char::is_control));
        }
    }
}

// ---- the room ----

const INDEX: &str = "index";

fn frames_to(effects: &[Effect], to: SessionId) -> Vec<Bytes> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if *t == to => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn persisted(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Persist { .. }))
        .count()
}

/// An update a stock Yjs client makes: `files.set(id, new Y.Map({path, kind}))`.
fn stock_entry(client: u64, id: &str, path: &str) -> Vec<u8> {
    let doc = Doc::with_client_id(client);
    let files = doc.get_or_insert_map("files");
    let mut txn = doc.transact_mut();
    let prelim: MapPrelim = [("path", Any::from(path)), ("kind", Any::from("note"))]
        .into_iter()
        .collect();
    files.insert(&mut txn, id, prelim);
    txn.encode_update_v1()
}

/// A room with the index loaded empty and vault sessions 1 and 2 on it.
fn room_with_index() -> Room {
    let mut room = Room::new("default", RoomConfig::default(), "e");
    let sv = StateVector::default().encode_v1();
    for s in [1, 2] {
        room.join(s, Endpoint::Vault, Scope::Write, None, 0);
        let fx = room.receive(
            s,
            &Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(INDEX),
            0,
        );
        if fx.iter().any(|e| matches!(e, Effect::Load { .. })) {
            room.doc_loaded(INDEX, None, 0, &[], 0);
        }
    }
    room
}

fn index_paths(room: &Room) -> Vec<String> {
    let state = room.doc_state(INDEX).expect("index loaded");
    let index = Index::from_update(9, &state).unwrap();
    index.list().into_iter().map(|e| e.path).collect()
}

#[test]
fn a_hostile_index_write_on_the_vault_endpoint_is_refused_with_bad_path_and_not_applied() {
    let mut room = room_with_index();
    let id = "0123456789abcdef0123456789abcdef";
    let update = stock_entry(7, id, ".obsidian/plugins/evil/main.js");
    let fx = room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&update)).to_vault_frame(INDEX),
        0,
    );
    let replies = frames_to(&fx, 1);
    assert_eq!(replies.len(), 1, "one error frame for the writer");
    let frame = VaultFrame::decode(&replies[0], &Limits::default()).unwrap();
    match frame.message {
        Message::Error { code, seq, text } => {
            assert_eq!(code.name(), "bad-path");
            assert_eq!(seq, 1);
            assert!(text.contains(".obsidian/plugins/evil/main.js"), "{text}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(persisted(&fx), 0, "nothing logged");
    assert!(frames_to(&fx, 2).is_empty(), "nothing forwarded to others");
    assert!(index_paths(&room).is_empty(), "nothing applied");
}

#[test]
fn other_sessions_keep_writing_the_index_after_a_hostile_write_is_refused() {
    let mut room = room_with_index();
    let bad = stock_entry(7, "0123456789abcdef0123456789abcdef", "../escape.md");
    room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&bad)).to_vault_frame(INDEX),
        0,
    );
    let good = stock_entry(8, "fedcba9876543210fedcba9876543210", "notes/fine.md");
    let fx = room.receive(
        2,
        &Message::Sync(SyncMessage::Update(&good)).to_vault_frame(INDEX),
        0,
    );
    assert_eq!(persisted(&fx), 1);
    assert_eq!(frames_to(&fx, 1).len(), 1, "session 1 gets the good update");
    assert_eq!(index_paths(&room), ["notes/fine.md"]);
}

#[test]
fn a_hostile_rename_of_an_existing_entry_is_refused() {
    let mut room = room_with_index();
    let id = "0123456789abcdef0123456789abcdef";
    let client = Doc::with_client_id(7);
    let files = client.get_or_insert_map("files");
    let create = {
        let mut txn = client.transact_mut();
        let prelim: MapPrelim = [("path", Any::from("a.md")), ("kind", Any::from("note"))]
            .into_iter()
            .collect();
        files.insert(&mut txn, id, prelim);
        txn.encode_update_v1()
    };
    room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&create)).to_vault_frame(INDEX),
        0,
    );
    let rename = {
        let mut txn = client.transact_mut();
        let entry = files.get(&txn, id).unwrap().cast::<yrs::MapRef>().unwrap();
        entry.insert(&mut txn, "path", "C:\\Windows\\x.md");
        txn.encode_update_v1()
    };
    let fx = room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&rename)).to_vault_frame(INDEX),
        0,
    );
    assert_eq!(persisted(&fx), 0);
    assert_eq!(index_paths(&room), ["a.md"]);
}

#[test]
fn a_hostile_index_write_on_the_doc_endpoint_is_refused_like_a_read_only_write() {
    let mut room = room_with_index();
    room.join(3, Endpoint::Doc(INDEX.into()), Scope::Write, None, 0);
    let update = stock_entry(7, "0123456789abcdef0123456789abcdef", "CON.md");
    let fx = room.receive(
        3,
        &Message::Sync(SyncMessage::Update(&update)).to_bytes(),
        0,
    );
    let replies = frames_to(&fx, 3);
    assert_eq!(replies.len(), 1);
    match Message::decode(&replies[0], &Limits::default()).unwrap() {
        Message::PermissionDenied { reason } => {
            assert!(reason.starts_with("bad-path"), "{reason}");
            assert!(reason.contains("CON.md"), "{reason}");
        }
        other => panic!("expected permission denied, got {other:?}"),
    }
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Close { .. })),
        "the socket stays open"
    );
    assert_eq!(persisted(&fx), 0);
    assert!(index_paths(&room).is_empty());
}

#[test]
fn tombstoning_an_index_entry_passes_the_path_check() {
    // The check looks only at live entries: a tombstone is never written to disk.
    let doc = Doc::with_client_id(7);
    let files = doc.get_or_insert_map("files");
    let id = "0123456789abcdef0123456789abcdef";
    let create = {
        let mut txn = doc.transact_mut();
        let prelim: MapPrelim = [("path", Any::from("ok.md")), ("kind", Any::from("note"))]
            .into_iter()
            .collect();
        files.insert(&mut txn, id, prelim);
        txn.encode_update_v1()
    };
    let mut room = room_with_index();
    room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&create)).to_vault_frame(INDEX),
        0,
    );
    let delete = {
        let mut txn = doc.transact_mut();
        let entry = files.get(&txn, id).unwrap().cast::<yrs::MapRef>().unwrap();
        entry.insert(&mut txn, "deleted", true);
        txn.encode_update_v1()
    };
    let fx = room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&delete)).to_vault_frame(INDEX),
        0,
    );
    assert_eq!(persisted(&fx), 1);
}
