//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;
use proptest::prelude::*;

const MAX: usize = 1 << 20;

fn header() -> SnapshotHeader {
    SnapshotHeader {
        vault: "notes".into(),
        doc: "index".into(),
        created_ms: 1_800_000_000_000,
        covers: 42,
    }
}

fn small() -> Vec<u8> {
    encode(&header(), b"\x01\x02state\x00").unwrap()
}

/// A file with the given header JSON and a correct checksum.
fn with_raw_header(version: u8, json: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(version);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(&0u64.to_le_bytes());
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn entry(n: u8) -> HistoryEntry {
    HistoryEntry::new(&[b'f', n], &[b's', n], 1000 + u64::from(n))
}

#[test]
fn snapshot_round_trips_header_and_state() {
    let state = vec![7u8; 3000];
    let decoded = decode(&encode(&header(), &state).unwrap(), MAX).unwrap();
    assert_eq!(decoded.header, header());
    assert_eq!(decoded.state, state);
}

#[test]
fn snapshot_with_empty_state_round_trips() {
    let decoded = decode(&encode(&header(), b"").unwrap(), MAX).unwrap();
    assert!(decoded.state.is_empty());
}

#[test]
fn encoded_snapshot_follows_the_documented_layout() {
    let state = b"xyz";
    let bytes = encode(&header(), state).unwrap();
    let h = u32::from_le_bytes(bytes[5..9].try_into().unwrap()) as usize;
    let json: SnapshotHeader = serde_json::from_slice(&bytes[9..9 + h]).unwrap();
    let s = u64::from_le_bytes(bytes[9 + h..17 + h].try_into().unwrap()) as usize;
    assert_eq!(&bytes[..5], b"TSNP\x01");
    assert_eq!(json, header());
    assert_eq!(&bytes[17 + h..17 + h + s], state);
    assert_eq!(
        &bytes[17 + h + s..],
        blake3::hash(&bytes[..17 + h + s]).as_bytes()
    );
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let bytes = small();
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(decode(&b, MAX).is_err(), "bit {bit} accepted");
    }
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = small();
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len], MAX).is_err(), "length {len} accepted");
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = small();
    bytes.push(0);
    assert!(matches!(
        decode(&bytes, MAX),
        Err(SnapshotError::LengthMismatch)
    ));
}

#[test]
fn snapshot_over_the_size_limit_is_rejected() {
    let bytes = small();
    assert!(matches!(
        decode(&bytes, bytes.len() - 1),
        Err(SnapshotError::TooLong { .. })
    ));
    assert!(decode(&bytes, bytes.len()).is_ok());
}

#[test]
fn wrong_magic_is_rejected() {
    let mut bytes = small();
    bytes[0] = b'X';
    assert!(matches!(decode(&bytes, MAX), Err(SnapshotError::BadMagic)));
}

#[test]
fn unknown_format_version_is_rejected() {
    let json = serde_json::to_vec(&header()).unwrap();
    assert!(matches!(
        decode(&with_raw_header(2, &json), MAX),
        Err(SnapshotError::UnsupportedVersion(2))
    ));
}

#[test]
fn header_with_invalid_ids_is_rejected_even_with_a_good_checksum() {
    for (vault, doc) in [("../x", "index"), ("notes", "../../etc"), ("", "index")] {
        let h = SnapshotHeader {
            vault: vault.into(),
            doc: doc.into(),
            ..header()
        };
        let bytes = with_raw_header(1, &serde_json::to_vec(&h).unwrap());
        assert!(
            matches!(decode(&bytes, MAX), Err(SnapshotError::Id(_))),
            "{vault} {doc}"
        );
    }
}

#[test]
fn header_with_unknown_fields_is_rejected() {
    let json = br#"{"vault":"v","doc":"index","created_ms":1,"covers":1,"x":1}"#;
    assert!(matches!(
        decode(&with_raw_header(1, json), MAX),
        Err(SnapshotError::Header(_))
    ));
}

#[test]
fn encode_refuses_invalid_ids() {
    let h = SnapshotHeader {
        doc: "Index".into(),
        ..header()
    };
    assert!(matches!(encode(&h, b""), Err(SnapshotError::Id(_))));
}

#[test]
fn snapshot_id_is_the_blake3_of_the_whole_file() {
    let bytes = small();
    assert_eq!(snapshot_id(&bytes), blake3_hex(&bytes));
    assert!(is_blake3_hex(&snapshot_id(&bytes)));
}

#[test]
fn first_head_points_at_its_snapshot() {
    let head = Head::first(entry(1), 5);
    assert_eq!(head.snapshot, entry(1).snapshot);
    assert_eq!(head.covers, 5);
    assert_eq!(head.updated_ms, entry(1).created_ms);
    assert_eq!(head.history, vec![entry(1)]);
}

#[test]
fn retention_keeps_exactly_n_newest_first() {
    let mut head = Head::first(entry(0), 0);
    for n in 1..10u8 {
        head = head.advance(entry(n), u64::from(n), 3).unwrap().0;
    }
    assert_eq!(head.history, vec![entry(9), entry(8), entry(7)]);
    assert_eq!(head.snapshot, entry(9).snapshot);
    assert_eq!(head.covers, 9);
}

#[test]
fn retention_reports_the_dropped_ids() {
    let head = Head::first(entry(0), 0);
    let (head, dropped) = head.advance(entry(1), 1, 2).unwrap();
    assert!(dropped.is_empty());
    let (_, dropped) = head.advance(entry(2), 2, 2).unwrap();
    assert_eq!(dropped, vec![entry(0).snapshot]);
}

#[test]
fn retention_of_zero_still_keeps_the_current_snapshot() {
    let (head, dropped) = Head::first(entry(0), 0).advance(entry(1), 1, 0).unwrap();
    assert_eq!(head.history, vec![entry(1)]);
    assert_eq!(dropped, vec![entry(0).snapshot]);
}

#[test]
fn advancing_with_the_same_snapshot_is_a_no_op() {
    let head = Head::first(entry(0), 0).advance(entry(1), 1, 5).unwrap().0;
    let (again, dropped) = head.advance(entry(1), 1, 1).unwrap();
    assert_eq!(again, head);
    assert!(dropped.is_empty());
}

#[test]
fn returning_to_a_retained_snapshot_never_reports_it_dropped() {
    let head = Head::first(entry(0), 0).advance(entry(1), 1, 3).unwrap().0;
    let (head, dropped) = head.advance(entry(0), 2, 1).unwrap();
    assert_eq!(head.history, vec![entry(0)]);
    assert_eq!(dropped, vec![entry(1).snapshot]);
}

#[test]
fn advancing_to_a_snapshot_that_covers_less_is_refused() {
    let head = Head::first(entry(0), 10);
    assert!(matches!(
        head.advance(entry(1), 9, 3),
        Err(SnapshotError::Stale {
            head: 10,
            covers: 9
        })
    ));
}

#[test]
fn head_recognises_an_unchanged_state() {
    let head = Head::first(entry(1), 0);
    assert!(head.holds_state(&[b's', 1]));
    assert!(!head.holds_state(&[b's', 2]));
}

#[test]
fn head_round_trips_through_json() {
    let head = Head::first(entry(0), 0).advance(entry(1), 1, 5).unwrap().0;
    assert_eq!(Head::decode(&head.encode()).unwrap(), head);
}

#[test]
fn head_with_a_bad_hash_is_rejected() {
    let mut head = Head::first(entry(0), 0);
    head.history[0].state = "nothex".into();
    assert!(matches!(
        Head::decode(&head.encode()),
        Err(SnapshotError::HeadInvalid(_))
    ));
}

#[test]
fn head_whose_history_does_not_start_with_the_current_snapshot_is_rejected() {
    let mut head = Head::first(entry(0), 0);
    head.snapshot = entry(1).snapshot;
    assert!(matches!(
        Head::decode(&head.encode()),
        Err(SnapshotError::HeadInvalid(_))
    ));
    head.history.clear();
    assert!(matches!(
        Head::decode(&head.encode()),
        Err(SnapshotError::HeadInvalid(_))
    ));
}

#[test]
fn head_listing_a_snapshot_twice_is_rejected() {
    let mut head = Head::first(entry(0), 0);
    head.history.push(entry(0));
    assert!(matches!(
        Head::decode(&head.encode()),
        Err(SnapshotError::HeadInvalid(_))
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_decode(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, MAX);
        let _ = Head::decode(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic_decode(
        version in 0u8..3,
        rest in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.push(version);
        bytes.extend_from_slice(&rest);
        prop_assert!(decode(&bytes, MAX).is_err());
    }
}
