//! With a complete catalog, reads of docs the vault does not hold load
//! nothing: a read-only token cannot make the room load (and keep) one doc
//! per id it makes up.

use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId, MAX_ABSENT_FOLLOWS};
use tessera_crdt::token::Scope;
use yrs::updates::encoder::Encode;
use yrs::{Doc, StateVector, Text, Transact};

const READER: SessionId = 1;
const WRITER: SessionId = 2;

fn room(complete: bool) -> Room {
    let mut r = Room::new("default", RoomConfig::default(), "epoch-1");
    if complete {
        r.mark_catalog_complete();
    }
    r.join(READER, Endpoint::Vault, Scope::Read, Some("r".into()), 0);
    r.join(WRITER, Endpoint::Vault, Scope::Write, Some("w".into()), 0);
    r
}

fn doc_id(i: u64) -> String {
    format!("{:032x}", 0xabc0_0000_0000 + i)
}

fn step1(doc: &str) -> Vec<u8> {
    let sv = StateVector::default().encode_v1();
    Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(doc)
}

/// The update that creates `doc` with `text` in it, as a vault frame.
fn first_write(doc: &str, text: &str) -> Vec<u8> {
    let d = Doc::with_client_id(9);
    let content = d.get_or_insert_text("content");
    let update = {
        let mut txn = d.transact_mut();
        content.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    };
    Message::Sync(SyncMessage::Update(&update)).to_vault_frame(doc)
}

fn loads(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Load { .. }))
        .count()
}

fn replies(fx: &[Effect], to: SessionId) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if *t == to => Some(frame),
            _ => None,
        })
        .map(|f| {
            let frame = VaultFrame::decode(f, &Limits::default()).expect("decodes");
            match frame.message {
                Message::Sync(SyncMessage::Step2(u)) => format!("step2 {u:?}"),
                Message::Sync(SyncMessage::Step1(sv)) => format!("step1 {sv:?}"),
                other => format!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn step_ones_for_made_up_doc_ids_are_answered_empty_and_load_nothing() {
    let mut r = room(true);
    for i in 0..MAX_ABSENT_FOLLOWS as u64 {
        let fx = r.receive(READER, &step1(&doc_id(i)), 0);
        assert_eq!(loads(&fx), 0);
        assert_eq!(replies(&fx, READER), ["step2 [0, 0]", "step1 [0]"]);
    }
    assert_eq!(r.stats().docs_loaded, 0, "no doc is kept in memory");
}

#[test]
fn past_its_bound_a_session_asking_for_made_up_ids_is_refused_and_still_loads_nothing() {
    let mut r = room(true);
    for i in 0..MAX_ABSENT_FOLLOWS as u64 {
        r.receive(READER, &step1(&doc_id(i)), 0);
    }
    for i in 0..1_000u64 {
        let fx = r.receive(READER, &step1(&doc_id(1_000_000 + i)), 0);
        assert_eq!(loads(&fx), 0);
        let answer = replies(&fx, READER);
        assert_eq!(answer.len(), 1, "{answer:?}");
        assert!(answer[0].contains("LimitExceeded"), "{answer:?}");
    }
    assert_eq!(r.stats().docs_loaded, 0);
    // Asking again for one it already follows is still answered.
    let fx = r.receive(READER, &step1(&doc_id(0)), 0);
    assert_eq!(replies(&fx, READER), ["step2 [0, 0]", "step1 [0]"]);
}

#[test]
fn a_session_that_asked_for_a_doc_before_it_existed_receives_the_write_that_creates_it() {
    let mut r = room(true);
    let id = doc_id(1);
    r.receive(READER, &step1(&id), 0);
    let write = first_write(&id, "hello");
    let mut fx = r.receive(WRITER, &write, 0);
    fx.extend(r.doc_loaded(&id, None, 0, &[], 0));
    let to_reader = replies(&fx, READER);
    assert!(
        to_reader.iter().any(|m| m.starts_with("Sync(Update(")),
        "the reader follows the new doc live: {to_reader:?}"
    );
}

#[test]
fn docs_that_came_to_exist_no_longer_count_against_the_bound() {
    let mut r = room(true);
    let write_to = |r: &mut Room, id: &str| {
        r.receive(WRITER, &first_write(id, "x"), 0);
        r.doc_loaded(id, None, 0, &[], 0);
    };
    // A device creating many notes asks for each before writing it.
    for i in 0..(2 * MAX_ABSENT_FOLLOWS as u64) {
        let id = doc_id(i);
        let fx = r.receive(READER, &step1(&id), 0);
        assert!(
            !replies(&fx, READER)
                .iter()
                .any(|m| m.contains("LimitExceeded")),
            "note {i} was refused"
        );
        write_to(&mut r, &id);
    }
}

#[test]
fn presence_on_a_doc_nobody_wrote_is_not_kept() {
    let mut r = room(true);
    let mut update = Vec::new();
    // One awareness entry: client 7, clock 1, state {"user":{}}.
    update.extend([1, 7, 1]);
    let state = br#"{"user":{}}"#;
    update.push(state.len() as u8);
    update.extend(state);
    for i in 0..100 {
        let frame = Message::Awareness(&update).to_vault_frame(&doc_id(i));
        let fx = r.receive(READER, &frame, 0);
        assert_eq!(loads(&fx), 0);
    }
    assert_eq!(r.stats().docs_loaded, 0);
}

#[test]
fn the_first_write_creates_the_doc_and_a_later_step_one_gets_its_text() {
    let mut r = room(true);
    let id = doc_id(1);
    r.receive(READER, &step1(&id), 0);
    let write = first_write(&id, "hello");
    let fx = r.receive(WRITER, &write, 0);
    assert_eq!(loads(&fx), 1, "a write to a new doc still looks in storage");
    r.doc_loaded(&id, None, 0, &[], 0);
    let fx = r.receive(READER, &step1(&id), 0);
    let step2 = replies(&fx, READER).into_iter().next().expect("a step 2");
    assert_ne!(
        step2, "step2 [0, 0]",
        "the reader now gets the written text"
    );
}

#[test]
fn without_a_complete_catalog_every_doc_id_is_looked_up_in_storage() {
    // A relay that lost its local catalog must not answer stored notes as empty.
    let mut r = room(false);
    let fx = r.receive(READER, &step1(&doc_id(1)), 0);
    assert_eq!(loads(&fx), 1);
}
