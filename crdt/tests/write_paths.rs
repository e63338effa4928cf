//! Path-limited write tokens in the room: a token with path prefixes writes
//! only under them, on both endpoints, and every refusal says why.

use bytes::Bytes;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId};
use tessera_crdt::token::{Claims, Scope, WritePaths};
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
use yrs::{Doc, GetString, Text, Transact};

const INDEX: &str = "index";
/// Session 1: unlimited writer. Session 2: limited to `Inbox/` on the vault
/// endpoint.
const FULL: SessionId = 1;
const LIMITED: SessionId = 2;

fn claims(paths: Option<&str>) -> Claims {
    let c = Claims::new("notes", Scope::Write, 1_000, None, None).unwrap();
    match paths {
        Some(p) => c.with_paths(WritePaths::parse(p).unwrap()).unwrap(),
        None => c,
    }
}

fn update_frame(doc: &str, update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).to_vault_frame(doc)
}

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

/// The one error frame `effects` send to `to`: (code, seq, text).
fn error_to(effects: &[Effect], to: SessionId) -> (ErrorCode, u64, String) {
    let errors: Vec<_> = frames_to(effects, to)
        .iter()
        .filter_map(
            |f| match VaultFrame::decode(f, &Limits::default()).ok()?.message {
                Message::Error { code, seq, text } => Some((code, seq, text.to_owned())),
                _ => None,
            },
        )
        .collect();
    assert_eq!(errors.len(), 1, "one error frame, got {errors:?}");
    errors[0].clone()
}

/// A room whose index is loaded, with `FULL` and `LIMITED` joined; the
/// client-side index that `FULL` writes through is returned with it.
fn room() -> (Room, Index) {
    let mut room = Room::new("notes", RoomConfig::default(), "e");
    room.join_claims(FULL, Endpoint::Vault, &claims(None), 0);
    let fx = room.join_claims(LIMITED, Endpoint::Vault, &claims(Some("Inbox/")), 0);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Load { doc } if doc == INDEX)),
        "a limited session's join loads the index"
    );
    room.doc_loaded(INDEX, None, 0, &[], 0);
    (room, Index::new(77))
}

/// Writes through `FULL`; asserts it was applied.
fn full_writes(room: &mut Room, doc: &str, update: &[u8]) {
    let fx = room.receive(FULL, &update_frame(doc, update), 0);
    if fx.iter().any(|e| matches!(e, Effect::Load { .. })) {
        room.doc_loaded(doc, None, 0, &[], 0);
    }
    let fx = if persisted(&fx) == 0 {
        room.receive(FULL, &update_frame(doc, update), 0)
    } else {
        fx
    };
    assert!(
        persisted(&fx) == 1 || room.doc_state(doc).is_some(),
        "the unlimited session's write is applied"
    );
}

fn live_paths(room: &Room) -> Vec<String> {
    let index = Index::from_update(9, &room.doc_state(INDEX).unwrap()).unwrap();
    index.list().into_iter().map(|e| e.path).collect()
}

fn note_update(client: u64, text: &str) -> Vec<u8> {
    let doc = Doc::with_client_id(client);
    let t = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    t.insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

fn note_text(room: &Room, doc: &str) -> String {
    let d = Doc::new();
    let t = d.get_or_insert_text("content");
    let state = room.doc_state(doc).unwrap_or_default();
    if !state.is_empty() {
        use yrs::updates::decoder::Decode;
        d.transact_mut()
            .apply_update(yrs::Update::decode_v1(&state).unwrap())
            .unwrap();
    }
    let txn = d.transact();
    t.get_string(&txn)
}

#[test]
fn a_limited_token_creates_entries_under_its_prefix() {
    let (mut room, mut client) = room();
    let (_, u) = client
        .create("Inbox/new.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &u), 0);
    assert_eq!(persisted(&fx), 1);
    assert_eq!(live_paths(&room), ["Inbox/new.md"]);
}

#[test]
fn a_limited_token_creating_an_entry_outside_its_prefixes_gets_path_not_allowed_and_nothing_is_applied(
) {
    let (mut room, mut client) = room();
    let (_, u) = client
        .create("Journal/x.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &u), 0);
    let (code, seq, text) = error_to(&fx, LIMITED);
    assert_eq!(code, ErrorCode::PathNotAllowed);
    assert_eq!(code.name(), "path-not-allowed");
    assert_eq!(seq, 1);
    assert!(
        text.contains("Journal/x.md") && text.contains("Inbox/"),
        "{text}"
    );
    assert_eq!(persisted(&fx), 0, "nothing logged");
    assert!(frames_to(&fx, FULL).is_empty(), "nothing forwarded");
    assert!(live_paths(&room).is_empty(), "nothing applied");
}

#[test]
fn one_entry_outside_the_prefixes_refuses_the_whole_index_write() {
    let (mut room, _) = room();
    let mut client = Index::new(78);
    client
        .create("Inbox/a.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    client
        .create("Secret/b.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &client.encode_state()), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
    assert!(live_paths(&room).is_empty());
}

#[test]
fn a_limited_token_cannot_rename_an_entry_out_of_its_prefix_nor_one_into_it() {
    let (mut room, mut client) = room();
    let (inside, u1) = client
        .create("Inbox/a.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let (outside, u2) = client
        .create("Journal/b.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    full_writes(&mut room, INDEX, &u1);
    full_writes(&mut room, INDEX, &u2);

    let out = client.rename(&inside, "Journal/a.md").unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &out), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);

    let mut client2 = Index::from_update(79, &room.doc_state(INDEX).unwrap()).unwrap();
    let into = client2.rename(&outside, "Inbox/b.md").unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &into), 0);
    let (code, seq, text) = error_to(&fx, LIMITED);
    assert_eq!((code, seq), (ErrorCode::PathNotAllowed, 2));
    assert!(
        text.contains("Journal/b.md"),
        "names the entry's old path: {text}"
    );
    assert_eq!(live_paths(&room), ["Inbox/a.md", "Journal/b.md"]);
}

#[test]
fn a_limited_token_cannot_delete_or_change_an_entry_outside_its_prefix() {
    let (mut room, mut client) = room();
    let (outside, u) = client
        .create("Journal/b.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    full_writes(&mut room, INDEX, &u);
    let mut limited = Index::from_update(80, &room.doc_state(INDEX).unwrap()).unwrap();
    let delete = limited.delete(&outside).unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &delete), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
    let meta = EntryMeta {
        size: Some(1),
        ..EntryMeta::default()
    };
    let mut limited = Index::from_update(81, &room.doc_state(INDEX).unwrap()).unwrap();
    let change = limited.set_meta(&outside, meta).unwrap();
    let fx = room.receive(LIMITED, &update_frame(INDEX, &change), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
    assert_eq!(live_paths(&room), ["Journal/b.md"]);
}

#[test]
fn a_limited_token_deletes_entries_under_its_prefix() {
    let (mut room, mut client) = room();
    let (inside, u) = client
        .create("Inbox/a.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    full_writes(&mut room, INDEX, &u);
    let mut limited = Index::from_update(82, &room.doc_state(INDEX).unwrap()).unwrap();
    let fx = room.receive(
        LIMITED,
        &update_frame(INDEX, &limited.delete(&inside).unwrap()),
        0,
    );
    assert_eq!(persisted(&fx), 1);
    assert!(live_paths(&room).is_empty());
}

#[test]
fn a_limited_token_sending_the_whole_index_it_already_has_is_not_refused() {
    // A device finishing its sync sends its full state back (step 2): it
    // holds entries outside its prefixes, but changes none of them.
    let (mut room, mut client) = room();
    let (_, u) = client
        .create("Journal/b.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    full_writes(&mut room, INDEX, &u);
    let state = room.doc_state(INDEX).unwrap();
    let frame = Message::Sync(SyncMessage::Step2(&state)).to_vault_frame(INDEX);
    let fx = room.receive(LIMITED, &frame, 0);
    let errors = frames_to(&fx, LIMITED)
        .iter()
        .filter(|f| {
            matches!(
                VaultFrame::decode(f, &Limits::default()).map(|v| v.message),
                Ok(Message::Error { .. })
            )
        })
        .count();
    assert_eq!(errors, 0);
}

/// The room with `Inbox/in.md` and `Journal/out.md` created by `FULL`;
/// returns their doc ids.
fn room_with_two_notes() -> (Room, String, String) {
    let (mut room, mut client) = room();
    let (inside, u1) = client
        .create("Inbox/in.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let (outside, u2) = client
        .create("Journal/out.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    full_writes(&mut room, INDEX, &u1);
    full_writes(&mut room, INDEX, &u2);
    for doc in [&inside, &outside] {
        full_writes(&mut room, doc, &note_update(5, "base"));
    }
    (room, inside, outside)
}

#[test]
fn a_limited_token_editing_a_note_outside_its_prefixes_gets_path_not_allowed() {
    let (mut room, _, outside) = room_with_two_notes();
    let fx = room.receive(
        LIMITED,
        &update_frame(&outside, &note_update(6, "evil ")),
        0,
    );
    let (code, seq, text) = error_to(&fx, LIMITED);
    assert_eq!((code, seq), (ErrorCode::PathNotAllowed, 1));
    assert!(text.contains("Journal/out.md"), "{text}");
    assert_eq!(persisted(&fx), 0);
    assert_eq!(note_text(&room, &outside), "base");
}

#[test]
fn a_limited_token_edits_notes_under_its_prefix() {
    let (mut room, inside, _) = room_with_two_notes();
    let fx = room.receive(LIMITED, &update_frame(&inside, &note_update(6, "new ")), 0);
    assert_eq!(persisted(&fx), 1);
    assert!(note_text(&room, &inside).contains("new"));
}

#[test]
fn a_limited_token_may_write_a_new_notes_text_before_its_index_entry() {
    // Devices send a new note's text first, then its entry (which is checked).
    let (mut room, _) = room();
    let id = "0123456789abcdef0123456789abcdef";
    room.receive(LIMITED, &update_frame(id, &note_update(6, "draft")), 0);
    let fx = room.doc_loaded(id, None, 0, &[], 0);
    let fx2 = room.receive(LIMITED, &update_frame(id, &note_update(7, "more")), 0);
    assert_eq!(persisted(&fx) + persisted(&fx2), 2);
}

#[test]
fn a_note_moved_out_of_the_prefix_by_someone_else_is_closed_to_the_limited_token() {
    let (mut room, inside, _) = room_with_two_notes();
    let mut client = Index::from_update(83, &room.doc_state(INDEX).unwrap()).unwrap();
    full_writes(
        &mut room,
        INDEX,
        &client.rename(&inside, "Archive/in.md").unwrap(),
    );
    let fx = room.receive(LIMITED, &update_frame(&inside, &note_update(6, "late ")), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
}

#[test]
fn a_deleted_notes_doc_outside_the_prefix_stays_closed_to_the_limited_token() {
    let (mut room, _, outside) = room_with_two_notes();
    let mut client = Index::from_update(84, &room.doc_state(INDEX).unwrap()).unwrap();
    full_writes(&mut room, INDEX, &client.delete(&outside).unwrap());
    let fx = room.receive(LIMITED, &update_frame(&outside, &note_update(6, "x")), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
}

#[test]
fn on_the_doc_endpoint_a_write_outside_the_prefixes_gets_permission_denied_and_the_socket_stays_open(
) {
    let (mut room, _, outside) = room_with_two_notes();
    let s = 3;
    room.join_claims(
        s,
        Endpoint::Doc(outside.clone()),
        &claims(Some("Inbox/")),
        0,
    );
    let fx = room.receive(
        s,
        &Message::Sync(SyncMessage::Update(&note_update(6, "evil"))).to_bytes(),
        0,
    );
    let replies = frames_to(&fx, s);
    assert_eq!(replies.len(), 1);
    match Message::decode(&replies[0], &Limits::default()).unwrap() {
        Message::PermissionDenied { reason } => {
            assert!(reason.starts_with("path-not-allowed"), "{reason}");
        }
        other => panic!("expected permission denied, got {other:?}"),
    }
    assert!(!fx.iter().any(|e| matches!(e, Effect::Close { .. })));
    assert_eq!(persisted(&fx), 0);
    assert_eq!(note_text(&room, &outside), "base");
}

#[test]
fn note_writes_that_arrive_while_the_index_loads_wait_for_it_and_keep_their_order() {
    let mut room = Room::new("notes", RoomConfig::default(), "e");
    // The stored index: one note inside, one outside.
    let mut stored = Index::new(90);
    let (inside, _) = stored
        .create("Inbox/in.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let (outside, _) = stored
        .create("Journal/out.md", EntryKind::Note, EntryMeta::default())
        .unwrap();
    let index_state = stored.encode_state();
    room.join_claims(LIMITED, Endpoint::Vault, &claims(Some("Inbox/")), 0);
    for doc in [&inside, &outside] {
        room.receive(
            LIMITED,
            &Message::Sync(SyncMessage::Step1(&[0])).to_vault_frame(doc),
            0,
        );
        room.doc_loaded(doc, None, 0, &[], 0);
    }
    assert!(room.is_loading(INDEX), "the index is still loading");
    let a = room.receive(LIMITED, &update_frame(&inside, &note_update(6, "one")), 0);
    let b = room.receive(LIMITED, &update_frame(&outside, &note_update(7, "two")), 0);
    let c = room.receive(LIMITED, &update_frame(&inside, &note_update(8, "three")), 0);
    assert_eq!(
        persisted(&a) + persisted(&b) + persisted(&c),
        0,
        "nothing applied unchecked"
    );
    let fx = room.doc_loaded(INDEX, Some(&index_state), 0, &[], 0);
    let tickets: Vec<&str> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { doc, .. } => Some(doc.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tickets, [inside.as_str(), inside.as_str()]);
    let (code, seq, _) = error_to(&fx, LIMITED);
    assert_eq!((code, seq), (ErrorCode::PathNotAllowed, 1));
    assert_eq!(note_text(&room, &outside), "");
}

#[test]
fn a_hibernated_and_restored_session_keeps_its_path_limits() {
    let (mut room, _, outside) = room_with_two_notes();
    let record = room.session_record(LIMITED).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    room.leave(LIMITED, 0);
    room.restore_session(LIMITED, serde_json::from_str(&json).unwrap());
    let fx = room.receive(LIMITED, &update_frame(&outside, &note_update(6, "x")), 0);
    assert_eq!(error_to(&fx, LIMITED).0, ErrorCode::PathNotAllowed);
}

#[test]
fn a_token_without_paths_writes_anywhere_as_before() {
    let c = claims(None);
    assert!(c.may_write_path("Journal/x.md") && c.may_write_path("a.md"));
    let limited = claims(Some("Inbox/,Journal/2026/"));
    assert!(limited.may_write_path("Journal/2026/a.md"));
    assert!(!limited.may_write_path("Journal/a.md"));
    let read = Claims::new("notes", Scope::Read, 1, None, None).unwrap();
    assert!(
        !read.may_write_path("Inbox/a.md"),
        "read tokens write nothing"
    );
}
