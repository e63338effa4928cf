//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;

fn round_trip(msg: Message<'_>) {
    let limits = Limits::default();
    let bytes = msg.to_bytes();
    assert_eq!(Message::decode(&bytes, &limits).as_ref(), Ok(&msg));
    let framed = msg.to_vault_frame("index");
    let frame = VaultFrame::decode(&framed, &limits).expect("vault frame decodes");
    assert_eq!((frame.doc, &frame.message), ("index", &msg));
}

#[test]
fn every_message_type_round_trips_alone_and_in_a_vault_envelope() {
    round_trip(Message::Sync(SyncMessage::Step1(&[0])));
    round_trip(Message::Sync(SyncMessage::Step2(&[0, 0])));
    round_trip(Message::Sync(SyncMessage::Update(&[1, 2, 3])));
    round_trip(Message::Awareness(&[1, 2, 3, 4]));
    round_trip(Message::PermissionDenied {
        reason: "read-only",
    });
    round_trip(Message::QueryAwareness);
    round_trip(Message::Ack { seq: 300 });
    round_trip(Message::ChangesSince {
        epoch: "e1",
        cursor: 12,
    });
    round_trip(Message::Changes {
        epoch: "e1",
        cursor: 14,
        reset: false,
        docs: vec!["index", "ab"],
    });
    round_trip(Message::Error {
        code: ErrorCode::DocQuarantined,
        seq: 4,
        text: "doc closed",
    });
    round_trip(Message::Hello {
        server: "tessera-relay 0.1.0",
        scope: "write",
        epoch: "e1",
        cursor: 3,
    });
}

#[test]
fn trailing_bytes_after_a_message_are_refused() {
    let mut bytes = Message::QueryAwareness.to_bytes();
    bytes.push(0);
    assert_eq!(
        Message::decode(&bytes, &Limits::default()),
        Err(DecodeError::TrailingBytes(1))
    );
}

#[test]
fn unknown_message_and_sync_types_are_named_in_the_error() {
    let limits = Limits::default();
    assert_eq!(
        Message::decode(&[42], &limits),
        Err(DecodeError::UnknownType {
            what: "message",
            value: 42
        })
    );
    assert_eq!(
        Message::decode(&[0, 3, 0], &limits),
        Err(DecodeError::UnknownType {
            what: "sync message",
            value: 3
        })
    );
}

#[test]
fn error_codes_keep_their_numbers_and_unknown_ones_survive() {
    for n in 0..10 {
        assert_eq!(ErrorCode::from_u64(n).to_u64(), n);
    }
}
