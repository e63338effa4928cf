//! Hostile bytes: the decoders never panic, limits hold, and a room fed
//! garbage changes nothing and keeps serving well-behaved sessions.

use proptest::prelude::*;
use tessera_crdt::awareness::decode_update;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig};
use tessera_crdt::token::Scope;
use yrs::updates::encoder::Encode;
use yrs::{Doc, StateVector, Text, Transact};

const NOTE: &str = "0123456789abcdef0123456789abcdef";

fn valid_frames() -> Vec<Vec<u8>> {
    let doc = Doc::with_client_id(3);
    let t = doc.get_or_insert_text("content");
    let update = {
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, "hello wörld 👋");
        txn.encode_update_v1()
    };
    let sv = StateVector::default().encode_v1();
    let aw = tessera_crdt::awareness::encode_update(&[tessera_crdt::awareness::AwarenessEntry {
        client: 9,
        clock: 2,
        state: r#"{"user":{"name":"Ada"}}"#,
    }]);
    vec![
        Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(NOTE),
        Message::Sync(SyncMessage::Update(&update)).to_vault_frame(NOTE),
        Message::Sync(SyncMessage::Step2(&update)).to_vault_frame("index"),
        Message::Awareness(&aw).to_vault_frame(NOTE),
        Message::ChangesSince {
            epoch: "e",
            cursor: 3,
        }
        .to_vault_frame(""),
        Message::Changes {
            epoch: "e",
            cursor: 3,
            reset: true,
            docs: vec![NOTE],
        }
        .to_vault_frame(""),
        Message::Error {
            code: ErrorCode::Malformed,
            seq: 1,
            text: "x",
        }
        .to_vault_frame(NOTE),
    ]
}

fn mutate(mut frame: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(pos, op, byte) in edits {
        if frame.is_empty() {
            frame.push(byte);
            continue;
        }
        let p = pos % frame.len();
        match op % 4 {
            0 => frame[p] = byte,
            1 => frame.insert(p, byte),
            2 => {
                frame.remove(p);
            }
            _ => frame.truncate(p),
        }
    }
    frame
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        let _ = Message::decode(&bytes, &limits);
        let _ = VaultFrame::decode(&bytes, &limits);
        let _ = decode_update(&bytes, &limits);
    }

    #[test]
    fn mutated_valid_frames_never_panic_and_reencode_exactly_when_accepted(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let frame = mutate(valid_frames()[which].clone(), &edits);
        if let Ok(decoded) = VaultFrame::decode(&frame, &Limits::default()) {
            // Whatever is accepted is canonical: it re-encodes to the same bytes.
            prop_assert_eq!(decoded.to_bytes(), frame);
        }
    }

    #[test]
    fn limits_hold_for_any_declared_length(len in any::<u64>()) {
        let mut frame = vec![0u8, 2];
        tessera_crdt::encoding::write_var_u64(&mut frame, len);
        let limits = Limits { max_update_bytes: 1024, ..Limits::default() };
        prop_assert!(Message::decode(&frame, &limits).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A session sending mutated frames may get errors or be closed, but the
    /// doc's content is unchanged unless a frame was a valid write, and a
    /// well-behaved session on the same vault keeps working.
    #[test]
    fn garbage_from_one_session_never_harms_another(
        frames in proptest::collection::vec(
            (0usize..7, proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4)),
            1..20,
        ),
    ) {
        let mut room = Room::new("default", RoomConfig::default(), "e");
        room.join(1, Endpoint::Vault, Scope::Write, None, 0);
        room.join(2, Endpoint::Vault, Scope::Write, None, 0);
        let sv = StateVector::default().encode_v1();
        room.receive(2, &Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(NOTE), 0);
        room.doc_loaded(NOTE, None, 0, &[], 0);
        let valid = valid_frames();
        for (which, edits) in frames {
            for e in room.receive(1, &mutate(valid[which].clone(), &edits), 0) {
                if let Effect::Load { doc } = e {
                    room.doc_loaded(&doc, None, 0, &[], 0);
                }
            }
        }
        // The good session still gets its writes applied and acked.
        let good = Doc::with_client_id(77);
        let t = good.get_or_insert_text("content");
        let update = { let mut txn = good.transact_mut(); t.insert(&mut txn, 0, "still fine"); txn.encode_update_v1() };
        let fx = room.receive(2, &Message::Sync(SyncMessage::Update(&update)).to_vault_frame(NOTE), 0);
        let ticket = fx.iter().find_map(|e| if let Effect::Persist { ticket, .. } = e { Some(*ticket) } else { None });
        prop_assert!(ticket.is_some(), "{:?}", fx);
        let acked = room.durable(ticket.unwrap_or(0)).iter().any(|e| matches!(e, Effect::Send { to: 2, .. }));
        prop_assert!(acked);
        prop_assert_eq!(room.stats().docs_quarantined, 0);
    }
}
