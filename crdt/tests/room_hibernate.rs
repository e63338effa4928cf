//! A room rebuilt from storage while its sockets stayed open (a hibernating
//! Durable Object): sessions are restored from their records, silently.

use bytes::Bytes;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId, SessionRecord};
use tessera_crdt::token::Scope;
use yrs::updates::encoder::Encode;
use yrs::{Doc, StateVector, Text, Transact};

const NOTE: &str = "0123456789abcdef0123456789abcdef";

fn room() -> Room {
    Room::new("default", RoomConfig::default(), "epoch-1")
}

fn insert(doc: &Doc, at: u32, s: &str) -> Vec<u8> {
    let t = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    t.insert(&mut txn, at, s);
    txn.encode_update_v1()
}

fn vault_update(doc: &str, update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).to_vault_frame(doc)
}

fn step1(doc: &str) -> Vec<u8> {
    let sv = StateVector::default().encode_v1();
    Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(doc)
}

fn sends_to(effects: &[Effect], to: SessionId) -> Vec<Bytes> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, frame } if *t == to => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn vault_kinds(effects: &[Effect], to: SessionId) -> Vec<String> {
    sends_to(effects, to)
        .iter()
        .map(|f| {
            let frame = VaultFrame::decode(f, &Limits::default()).expect("relay frames decode");
            match frame.message {
                Message::Sync(SyncMessage::Update(_)) => "update".to_owned(),
                Message::Ack { seq } => format!("ack {seq}"),
                Message::Hello { .. } => "hello".to_owned(),
                other => format!("{other:?}"),
            }
        })
        .collect()
}

fn has_load(effects: &[Effect], doc: &str) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Load { doc: d } if d == doc))
}

/// A room where vault session 1 (write) opened NOTE and wrote to it twice.
fn room_with_two_writes() -> (Room, Doc) {
    let mut r = room();
    r.join(1, Endpoint::Vault, Scope::Write, Some("tok-1".into()), 0);
    let fx = r.receive(1, &step1(NOTE), 0);
    assert!(has_load(&fx, NOTE));
    r.doc_loaded(NOTE, None, 0, &[], 0);
    let client = Doc::with_client_id(7);
    r.receive(1, &vault_update(NOTE, &insert(&client, 0, "a")), 1);
    r.receive(1, &vault_update(NOTE, &insert(&client, 1, "b")), 2);
    r.durable(2);
    (r, client)
}

#[test]
fn a_session_record_holds_scope_token_write_numbers_and_open_docs() {
    let (r, _) = room_with_two_writes();
    let record = r.session_record(1).expect("session 1 is known");
    assert_eq!(record.doc, None);
    assert_eq!(record.scope, Scope::Write);
    assert_eq!(record.token_id.as_deref(), Some("tok-1"));
    assert_eq!(record.writes.get(NOTE), Some(&2));
    assert!(record.docs.contains(NOTE));
    assert_eq!(record.endpoint(), Endpoint::Vault);
    assert!(r.session_record(99).is_none());
}

#[test]
fn a_session_record_survives_a_json_round_trip() {
    let (r, _) = room_with_two_writes();
    let record = r.session_record(1).expect("session 1 is known");
    let json = serde_json::to_string(&record).expect("serialises");
    let back: SessionRecord = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, record);
}

#[test]
fn a_restored_session_is_not_greeted_again() {
    let (old, _) = room_with_two_writes();
    let record = old.session_record(1).expect("known");
    let mut r = room();
    r.restore_session(1, record);
    assert_eq!(r.stats().sessions, 1);
    // restore_session returns nothing: no hello, no sync step 1.
    let fx = r.receive(1, &Message::QueryAwareness.to_vault_frame(""), 0);
    assert!(sends_to(&fx, 1).is_empty());
}

#[test]
fn write_numbers_continue_after_a_restore_so_acks_match_the_clients_count() {
    let (old, client) = room_with_two_writes();
    let record = old.session_record(1).expect("known");
    let state = old.doc_state(NOTE).expect("loaded");
    let mut r = room();
    r.recover(3, std::iter::empty());
    r.restore_session(1, record);
    let fx = r.receive(1, &vault_update(NOTE, &insert(&client, 2, "c")), 10);
    assert!(has_load(&fx, NOTE), "the doc reloads lazily");
    let fx = r.doc_loaded(NOTE, Some(&state), 2, &[], 10);
    let ticket = fx
        .iter()
        .find_map(|e| match e {
            Effect::Persist { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("the write is logged");
    assert_eq!(ticket, 3, "tickets continue after the recovered log");
    let fx = r.durable(ticket);
    assert_eq!(vault_kinds(&fx, 1), vec!["ack 3".to_owned()]);
}

#[test]
fn a_restored_session_receives_updates_of_its_docs_once_they_reload() {
    let (old, _) = room_with_two_writes();
    let watcher = old.session_record(1).expect("known");
    let state = old.doc_state(NOTE).expect("loaded");
    let mut r = room();
    r.restore_session(1, watcher);
    // A second device connects after the wake-up and writes to NOTE.
    r.join(2, Endpoint::Vault, Scope::Write, Some("tok-2".into()), 20);
    let other = Doc::with_client_id(8);
    let fx = r.receive(2, &vault_update(NOTE, &insert(&other, 0, "x")), 20);
    assert!(has_load(&fx, NOTE));
    let fx = r.doc_loaded(NOTE, Some(&state), 2, &[], 20);
    assert_eq!(vault_kinds(&fx, 1), vec!["update".to_owned()]);
}

#[test]
fn a_restored_session_subscribes_at_once_to_a_doc_already_loading() {
    let (old, _) = room_with_two_writes();
    let record = old.session_record(1).expect("known");
    let mut r = room();
    // Recovery found log entries of NOTE and started loading it.
    let fx = r.recover(3, [(NOTE.to_owned(), 1, 2)]);
    assert!(has_load(&fx, NOTE));
    r.restore_session(1, record);
    r.join(2, Endpoint::Vault, Scope::Write, Some("tok-2".into()), 0);
    r.receive(2, &step1(NOTE), 0);
    let other = Doc::with_client_id(8);
    r.receive(2, &vault_update(NOTE, &insert(&other, 0, "x")), 0);
    let fx = r.doc_loaded(NOTE, None, 0, &[], 0);
    assert!(vault_kinds(&fx, 1).contains(&"update".to_owned()));
}

#[test]
fn a_restored_doc_endpoint_session_keeps_its_doc_and_can_be_revoked() {
    let mut old = room();
    old.join(
        5,
        Endpoint::Doc(NOTE.into()),
        Scope::Read,
        Some("tok-5".into()),
        0,
    );
    let record = old.session_record(5).expect("known");
    assert_eq!(record.doc.as_deref(), Some(NOTE));
    let mut r = room();
    r.restore_session(5, record);
    assert_eq!(
        r.session_record(5).and_then(|s| s.doc),
        Some(NOTE.to_owned())
    );
    let fx = r.revoke("tok-5");
    assert!(fx.iter().any(|e| matches!(e, Effect::Close { to: 5, .. })));
    assert_eq!(r.stats().sessions, 0);
}

#[test]
fn a_restored_session_leaving_is_forgotten() {
    let (old, _) = room_with_two_writes();
    let mut r = room();
    r.restore_session(1, old.session_record(1).expect("known"));
    r.leave(1, 0);
    assert!(r.session_record(1).is_none());
    assert!(r.is_idle());
}
