//! Files over REST in the room, driven the way a shell drives it: file
//! requests in, loads and log appends carried out, replies out.

use tessera_crdt::files::{Condition, FileReply, FileRequest, FileStep, ListQuery};
use tessera_crdt::ids::INDEX_DOC;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame, VAULT_LEVEL};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId};
use tessera_crdt::token::Scope;
use tessera_crdt::vault::Index;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, Transact, Update};

fn room() -> Room {
    Room::new("default", RoomConfig::default(), "epoch-1")
}

/// Carries out effects like an empty store would: loads find nothing, log
/// appends are durable at once. Returns every effect seen, follow-ups included.
fn carry_out(room: &mut Room, effects: Vec<Effect>) -> Vec<Effect> {
    let mut seen = Vec::new();
    let mut queue = std::collections::VecDeque::from(effects);
    while let Some(e) = queue.pop_front() {
        match &e {
            Effect::Load { doc } => queue.extend(room.doc_loaded(doc, None, 0, &[], 0)),
            Effect::Persist { ticket, .. } => queue.extend(room.durable(*ticket)),
            _ => {}
        }
        seen.push(e);
    }
    seen
}

/// Runs a request to its reply (or refusal); returns it and the effects.
fn serve(room: &mut Room, req: &FileRequest) -> (Result<FileReply, (u16, String)>, Vec<Effect>) {
    let mut seen = Vec::new();
    for _ in 0..8 {
        match room.files(req, 0) {
            Err(e) => return (Err((e.status, e.code.to_owned())), seen),
            Ok(FileStep::Wait { effects, .. }) => seen.extend(carry_out(room, effects)),
            Ok(FileStep::Blob { .. }) => panic!("no blobs here"),
            Ok(FileStep::Done(mut reply)) => {
                let effects = std::mem::take(&mut reply.effects);
                seen.extend(carry_out(room, effects));
                if let Some(t) = reply.durable_at {
                    assert!(room.cursor() >= t, "answered before durable");
                }
                return (Ok(reply), seen);
            }
        }
    }
    panic!("the request never finished");
}

fn put(
    room: &mut Room,
    path: &str,
    text: &str,
    condition: Condition,
) -> Result<FileReply, (u16, String)> {
    let req = FileRequest::Put {
        path: path.into(),
        text: text.into(),
        condition,
        wall_ms: 1_700_000_000_000,
    };
    serve(room, &req).0
}

fn get(room: &mut Room, path: &str) -> Result<FileReply, (u16, String)> {
    serve(room, &FileRequest::Get { path: path.into() }).0
}

fn text(reply: &FileReply) -> String {
    String::from_utf8(reply.body.clone()).expect("UTF-8")
}

fn json(reply: &FileReply) -> serde_json::Value {
    serde_json::from_slice(&reply.body).expect("JSON")
}

fn listing(room: &mut Room, since: Option<u64>) -> serde_json::Value {
    let req = FileRequest::List(ListQuery { since, epoch: None });
    json(&serve(room, &req).0.expect("listed"))
}

fn persists(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Persist { .. }))
        .count()
}

fn vault_frames(effects: &[Effect], to: SessionId) -> Vec<(String, Vec<u8>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if *t == to => {
                let f = VaultFrame::decode(frame, &Limits::default()).ok()?;
                match f.message {
                    Message::Sync(SyncMessage::Update(u) | SyncMessage::Step2(u)) => {
                        Some((f.doc.to_owned(), u.to_vec()))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn note_text(doc: &Doc) -> String {
    doc.get_or_insert_text("content")
        .get_string(&doc.transact())
}

fn apply(doc: &Doc, update: &[u8]) {
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).expect("update"))
        .expect("applies");
}

#[test]
fn a_put_creates_the_note_and_get_returns_its_text_at_the_same_version() {
    let mut room = room();
    let created = put(&mut room, "a/b.md", "hello\n", Condition::None).expect("created");
    assert_eq!(created.status, 201);
    let got = get(&mut room, "a/b.md").expect("read");
    assert_eq!(text(&got), "hello\n");
    assert_eq!(got.version, created.version);
    assert_eq!(got.content_type, "text/markdown; charset=utf-8");
    let list = listing(&mut room, None);
    assert_eq!(list["files"][0]["path"], "a/b.md");
    assert_eq!(
        list["files"][0]["version"],
        created.version.expect("a version")
    );
}

#[test]
fn a_put_racing_a_device_edit_keeps_both_because_it_enters_as_a_diff() {
    let mut room = room();
    put(&mut room, "n.md", "one\ntwo\n", Condition::None).expect("created");
    let id = listing(&mut room, None)["files"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A device holding the note types at the end; its update is in flight.
    let device = Doc::with_client_id(77);
    let state = room.doc_state(&id).expect("loaded");
    apply(&device, &state);
    let typed = {
        let t = device.get_or_insert_text("content");
        let mut txn = device.transact_mut();
        t.insert(&mut txn, 8, "three\n");
        txn.encode_update_v1()
    };
    put(&mut room, "n.md", "ONE\ntwo\n", Condition::None).expect("edited");
    let fx = room.join(1, Endpoint::Vault, Scope::Write, None, 0);
    carry_out(&mut room, fx);
    let frame = Message::Sync(SyncMessage::Update(&typed)).to_vault_frame(&id);
    let fx = room.receive(1, &frame, 0);
    carry_out(&mut room, fx);
    assert_eq!(
        text(&get(&mut room, "n.md").expect("read")),
        "ONE\ntwo\nthree\n"
    );
}

#[test]
fn a_put_reaches_a_device_following_the_note_live() {
    let mut room = room();
    put(&mut room, "n.md", "v1\n", Condition::None).expect("created");
    let id = listing(&mut room, None)["files"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let fx = room.join(9, Endpoint::Vault, Scope::Write, None, 0);
    carry_out(&mut room, fx);
    let step1 = Message::Sync(SyncMessage::Step1(&[0])).to_vault_frame(&id);
    let fx = room.receive(9, &step1, 0);
    let device = Doc::with_client_id(5);
    for (_, u) in vault_frames(&carry_out(&mut room, fx), 9) {
        apply(&device, &u);
    }
    let (reply, effects) = serve(
        &mut room,
        &FileRequest::Put {
            path: "n.md".into(),
            text: "v1\nv2\n".into(),
            condition: Condition::None,
            wall_ms: 0,
        },
    );
    reply.expect("edited");
    let live = vault_frames(&effects, 9);
    assert!(
        live.iter().any(|(d, _)| *d == id),
        "the device got no update for the note"
    );
    for (d, u) in live.into_iter().filter(|(d, _)| *d == id) {
        assert_eq!(d, id);
        apply(&device, &u);
    }
    assert_eq!(note_text(&device), "v1\nv2\n");
}

#[test]
fn if_match_with_a_stale_version_is_412_and_logs_nothing() {
    let mut room = room();
    let v1 = put(&mut room, "n.md", "v1\n", Condition::None)
        .expect("created")
        .version
        .expect("v");
    let v2 = put(&mut room, "n.md", "v2\n", Condition::IfMatch(vec![v1])).expect("edited");
    let req = FileRequest::Put {
        path: "n.md".into(),
        text: "stale\n".into(),
        condition: Condition::IfMatch(vec![v1]),
        wall_ms: 0,
    };
    let (refused, effects) = serve(&mut room, &req);
    assert_eq!(refused.expect_err("stale").0, 412);
    assert_eq!(persists(&effects), 0);
    let now = get(&mut room, "n.md").expect("read");
    assert_eq!((text(&now), now.version), ("v2\n".to_owned(), v2.version));
    let absent = put(&mut room, "new.md", "x", Condition::IfMatch(vec![v1]));
    assert_eq!(absent.expect_err("absent").0, 412);
    let exists = put(&mut room, "n.md", "x", Condition::IfAbsent);
    assert_eq!(exists.expect_err("exists").0, 412);
}

#[test]
fn append_adds_a_newline_only_when_the_note_lacks_one() {
    let mut room = room();
    for line in ["a", "b\n", "c"] {
        let req = FileRequest::Append {
            path: "log.md".into(),
            text: line.into(),
            wall_ms: 0,
        };
        serve(&mut room, &req).0.expect("appended");
    }
    assert_eq!(text(&get(&mut room, "log.md").expect("read")), "a\nb\nc");
}

#[test]
fn delete_tombstones_and_a_since_listing_names_only_later_changes() {
    let mut room = room();
    put(&mut room, "keep.md", "k", Condition::None).expect("created");
    put(&mut room, "gone.md", "g", Condition::None).expect("created");
    let cursor = listing(&mut room, None)["cursor"].as_u64().expect("cursor");
    let req = FileRequest::Delete {
        path: "gone.md".into(),
        condition: Condition::None,
    };
    assert_eq!(serve(&mut room, &req).0.expect("deleted").status, 200);
    assert_eq!(get(&mut room, "gone.md").expect_err("gone").0, 404);
    let since = listing(&mut room, Some(cursor));
    let files = since["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{since}");
    assert_eq!(
        (files[0]["path"].as_str(), files[0]["deleted"].as_bool()),
        (Some("gone.md"), Some(true))
    );
    let all = listing(&mut room, None);
    assert_eq!(all["files"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_rename_by_a_device_shows_in_the_next_since_listing() {
    let mut room = room();
    put(&mut room, "old.md", "x", Condition::None).expect("created");
    let list = listing(&mut room, None);
    let (id, cursor) = (
        list["files"][0]["id"].as_str().expect("id").to_owned(),
        list["cursor"].as_u64().expect("c"),
    );
    let mut index =
        Index::from_update(3, &room.doc_state(INDEX_DOC).expect("index")).expect("index");
    let rename = index.rename(&id, "new.md").expect("renamed");
    let fx = room.join(1, Endpoint::Vault, Scope::Write, None, 0);
    carry_out(&mut room, fx);
    let fx = room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&rename)).to_vault_frame(INDEX_DOC),
        0,
    );
    carry_out(&mut room, fx);
    let since = listing(&mut room, Some(cursor));
    assert_eq!(since["files"][0]["path"], "new.md", "{since}");
}

#[test]
fn the_relays_own_index_write_is_held_to_the_path_policy() {
    let mut room = room();
    put(&mut room, "ok.md", "x", Condition::None).expect("created");
    let index = Index::from_update(3, &room.doc_state(INDEX_DOC).expect("index")).expect("index");
    // Built by hand: `Index::create` itself refuses the path.
    let doc = index.doc();
    let files = doc.get_or_insert_map("files");
    let hostile = {
        use yrs::{Any, Map, MapPrelim};
        let mut txn = doc.transact_mut();
        let prelim: MapPrelim = [
            ("path", Any::from(".obsidian/plugins/x/main.js")),
            ("kind", Any::from("note")),
        ]
        .into_iter()
        .collect();
        files.insert(&mut txn, "0123456789abcdef0123456789abcdef", prelim);
        txn.encode_update_v1()
    };
    assert!(
        room.server_write(INDEX_DOC, &hostile, 0).is_err(),
        "a hostile path got in"
    );
    let list = listing(&mut room, None);
    assert!(!list.to_string().contains(".obsidian"), "{list}");
}

#[test]
fn free_form_docs_are_never_announced_or_listed_to_devices() {
    let mut room = room();
    let fx = room.join(1, Endpoint::Doc("app.my-doc".into()), Scope::Write, None, 0);
    carry_out(&mut room, fx);
    let app = Doc::with_client_id(4);
    let update = {
        let t = app.get_or_insert_text("t");
        let mut txn = app.transact_mut();
        t.insert(&mut txn, 0, "app text");
        txn.encode_update_v1()
    };
    let fx = room.receive(
        1,
        &Message::Sync(SyncMessage::Update(&update)).to_bytes(),
        0,
    );
    carry_out(&mut room, fx);
    assert!(
        room.catalog().iter().any(|(d, _)| d == "app.my-doc"),
        "the app doc is not stored"
    );
    let fx = room.join(2, Endpoint::Vault, Scope::Read, None, 0);
    carry_out(&mut room, fx);
    let ask = Message::ChangesSince {
        epoch: "",
        cursor: 0,
    }
    .to_vault_frame(VAULT_LEVEL);
    let fx = room.receive(2, &ask, 0);
    let answered = carry_out(&mut room, fx);
    let changes: Vec<String> = answered
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: 2, frame } => {
                let f = VaultFrame::decode(frame, &Limits::default()).ok()?;
                match f.message {
                    Message::Changes { docs, .. } => Some(docs.join(",")),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    assert_eq!(changes, [""], "a device was told about an app doc");
    assert_eq!(listing(&mut room, None)["files"], serde_json::json!([]));
}
