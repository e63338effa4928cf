//! Byte-for-byte compatibility with Yjs' y-protocols, checked against
//! fixtures produced by the real npm packages (see fixtures/yjs/generate.mjs).

use serde_json::Value;
use tessera_crdt::awareness::{decode_update, encode_update, AwarenessEntry};
use tessera_crdt::encoding::{write_var_str, write_var_u64, DecodeError, Reader};
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, StateVector, Transact, Update};

fn fixtures() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/yjs/protocol.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
        .expect("fixture JSON")
}

fn fixture(name: &str) -> Value {
    fixtures()
        .into_iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn bytes(f: &Value, field: &str) -> Vec<u8> {
    hex::decode(f[field].as_str().unwrap_or_else(|| panic!("field {field}"))).expect("hex")
}

fn text_after(updates: &[&[u8]]) -> String {
    let doc = Doc::new();
    let text = doc.get_or_insert_text("content");
    for u in updates {
        doc.transact_mut()
            .apply_update(Update::decode_v1(u).expect("yjs update decodes"))
            .expect("applies");
    }
    let s = text.get_string(&doc.transact());
    s
}

fn decode(f: &Value) -> Message<'static> {
    let raw: &'static [u8] = Box::leak(bytes(f, "hex").into_boxed_slice());
    let msg = Message::decode(raw, &Limits::default()).expect("fixture decodes");
    assert_eq!(
        msg.to_bytes(),
        raw,
        "{}: re-encoding gives Yjs' bytes",
        f["name"]
    );
    msg
}

#[test]
fn sync_step1_of_an_empty_doc_matches_yjs() {
    let msg = decode(&fixture("sync_step1_empty_doc"));
    let Message::Sync(SyncMessage::Step1(sv)) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        StateVector::decode_v1(sv).expect("state vector"),
        StateVector::default()
    );
}

#[test]
fn sync_step1_with_text_carries_yjs_state_vector() {
    let f = fixture("sync_step1_with_text");
    assert_eq!(
        decode(&f),
        Message::Sync(SyncMessage::Step1(&bytes(&f, "state_vector_hex")))
    );
}

#[test]
fn sync_step2_from_yjs_applies_in_yrs_to_the_same_text() {
    let f = fixture("sync_step2_full_state");
    let Message::Sync(SyncMessage::Step2(update)) = decode(&f) else {
        panic!()
    };
    assert_eq!(update, bytes(&f, "update_hex"));
    assert_eq!(text_after(&[update]), f["text"].as_str().unwrap());
}

#[test]
fn update_message_with_non_ascii_text_matches_yjs() {
    let f = fixture("update_message");
    let Message::Sync(SyncMessage::Update(update)) = decode(&f) else {
        panic!()
    };
    assert_eq!(text_after(&[update]), "héllo wörld 👋 日本");
}

#[test]
fn a_yjs_delete_of_an_emoji_range_applies_in_yrs() {
    let f = fixture("update_with_delete");
    let Message::Sync(SyncMessage::Update(update)) = decode(&f) else {
        panic!()
    };
    assert_eq!(
        text_after(&[&bytes(&f, "base_update_hex"), update]),
        f["text_after"].as_str().unwrap()
    );
}

#[test]
fn awareness_update_matches_yjs_entry_for_entry() {
    for name in ["awareness_update", "awareness_removal"] {
        let f = fixture(name);
        let Message::Awareness(inner) = decode(&f) else {
            panic!()
        };
        let entries = decode_update(inner, &Limits::default()).expect("awareness decodes");
        let expected = AwarenessEntry {
            client: f["client_id"].as_u64().unwrap(),
            clock: f["clock"].as_u64().unwrap(),
            state: f["state_json"].as_str().unwrap(),
        };
        assert_eq!(entries, vec![expected.clone()], "{name}");
        assert_eq!(encode_update(&[expected]), inner, "{name}: re-encoded");
    }
}

#[test]
fn awareness_update_relayed_for_two_clients_matches_yjs() {
    let f = fixture("awareness_two_clients");
    let Message::Awareness(inner) = decode(&f) else {
        panic!()
    };
    let entries = decode_update(inner, &Limits::default()).unwrap();
    let clients: Vec<u64> = f["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        entries.iter().map(|e| e.client).collect::<Vec<_>>(),
        clients
    );
}

#[test]
fn permission_denied_matches_yjs_auth_message() {
    let f = fixture("auth_permission_denied");
    assert_eq!(
        decode(&f),
        Message::PermissionDenied {
            reason: "read-only token: writes are refused"
        }
    );
}

#[test]
fn query_awareness_matches_yjs() {
    assert_eq!(decode(&fixture("query_awareness")), Message::QueryAwareness);
}

#[test]
fn vault_envelopes_carry_the_doc_id_then_the_yjs_message() {
    for name in ["vault_envelope_step1", "vault_envelope_unicode_doc"] {
        let f = fixture(name);
        let raw = bytes(&f, "hex");
        let frame = VaultFrame::decode(&raw, &Limits::default()).expect("frame decodes");
        assert_eq!(frame.doc, f["doc_id"].as_str().unwrap());
        assert_eq!(frame.message.to_bytes(), bytes(&f, "message_hex"));
        assert_eq!(frame.to_bytes(), raw);
    }
}

#[test]
fn a_multi_byte_length_from_yjs_is_read_and_checked_without_allocating() {
    let f = fixture("large_varuint");
    let header = bytes(&f, "header_hex");
    let len = f["length"].as_u64().unwrap();
    let err = Message::decode(&header, &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            needed: len as usize
        }
    );
    let small = Limits {
        max_update_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        Message::decode(&header, &small).unwrap_err(),
        DecodeError::TooLong {
            what: "update",
            len,
            max: 1000
        }
    );
}

#[test]
fn lib0_varuints_and_varstrings_match_yjs() {
    let f = fixture("varuint_samples");
    for (n, hex) in f["samples"].as_object().unwrap() {
        let n: u64 = n.parse().unwrap();
        let mut out = Vec::new();
        write_var_u64(&mut out, n);
        assert_eq!(hex::encode(&out), hex.as_str().unwrap(), "{n}");
        assert_eq!(Reader::new(&out).read_var_u64(), Ok(n));
    }
    let f = fixture("varstring_samples");
    for (s, hex) in f["samples"].as_object().unwrap() {
        let mut out = Vec::new();
        write_var_str(&mut out, s);
        assert_eq!(hex::encode(&out), hex.as_str().unwrap(), "{s:?}");
        assert_eq!(Reader::new(&out).read_var_str("s", 100), Ok(s.as_str()));
    }
}
