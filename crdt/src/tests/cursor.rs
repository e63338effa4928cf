//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;

/// Two devices with the same note, synced.
fn pair(text: &str) -> (Note, Note) {
    let mut a = Note::new(1);
    let mut b = Note::new(2);
    let update = a.insert(0, text).expect("insert");
    b.apply_remote(&update).expect("sync");
    (a, b)
}

fn sync(from: &Note, to: &mut Note) {
    let update = from.diff_since(&to.state_vector()).expect("diff");
    to.apply_remote(&update).expect("apply");
}

#[test]
fn a_peer_cursor_stays_after_the_word_it_followed_when_text_is_inserted_before_it() {
    let (mut a, b) = pair("hello world");
    let cursor = b
        .sticky_json_at(5, Assoc::After)
        .expect("sticky")
        .to_string();
    a.insert(0, "well, ").expect("insert");
    assert_eq!(a.resolve_json(&cursor), Some(11));
    assert_eq!(&a.text()[..11], "well, hello");
}

#[test]
fn a_cursor_does_not_move_for_text_inserted_after_it() {
    let (mut a, b) = pair("hello world");
    let cursor = b
        .sticky_json_at(5, Assoc::After)
        .expect("sticky")
        .to_string();
    a.insert(8, "XYZ").expect("insert");
    assert_eq!(a.resolve_json(&cursor), Some(5));
}

#[test]
fn text_typed_by_another_device_at_the_cursor_lands_before_it_like_y_codemirror() {
    let (mut a, b) = pair("ab");
    let cursor = b.sticky_at(1, Assoc::After).expect("sticky");
    a.insert(1, "XY").expect("insert");
    assert_eq!(a.resolve(&cursor), Some(3));
}

#[test]
fn a_before_cursor_keeps_to_the_character_before_it() {
    let (mut a, b) = pair("ab");
    let cursor = b.sticky_at(1, Assoc::Before).expect("sticky");
    a.insert(1, "XY").expect("insert");
    assert_eq!(a.resolve(&cursor), Some(1));
}

#[test]
fn a_cursor_at_the_end_names_the_text_and_stays_at_the_end() {
    let (mut a, b) = pair("abc");
    let json = b.sticky_json_at(3, Assoc::After).expect("sticky");
    assert_eq!(json, json!({ "tname": "content", "assoc": 0 }));
    a.insert(3, "def").expect("insert");
    assert_eq!(a.resolve_json(&json.to_string()), Some(6));
}

#[test]
fn a_cursor_in_an_empty_note_resolves_to_zero_and_to_the_end_later() {
    let empty = Note::new(1);
    let pos = empty.sticky_at(0, Assoc::After).expect("sticky");
    assert_eq!(empty.resolve(&pos), Some(0));
    let (a, _) = pair("abc");
    assert_eq!(a.resolve(&pos), Some(3));
}

#[test]
fn a_cursor_inside_a_deleted_word_falls_to_where_the_word_was() {
    let (mut a, b) = pair("one two three");
    let cursor = b.sticky_at(6, Assoc::After).expect("sticky");
    a.delete(4, 4).expect("delete");
    assert_eq!(a.text(), "one three");
    assert_eq!(a.resolve(&cursor), Some(4));
}

#[test]
fn offsets_count_utf16_units_across_emoji() {
    let (mut a, b) = pair("👋 hi");
    let cursor = b.sticky_at(3, Assoc::After).expect("sticky");
    a.insert(0, "🌍").expect("insert");
    assert_eq!(a.resolve(&cursor), Some(5));
}

#[test]
fn a_cursor_inside_a_surrogate_pair_is_refused() {
    let (a, _) = pair("👋");
    assert!(matches!(
        a.sticky_at(1, Assoc::After),
        Err(DocError::SplitsCharacter { at: 1 })
    ));
    let inside = json!({ "item": { "client": 1, "clock": 1 }, "assoc": 0 });
    assert_eq!(a.resolve_json(&inside.to_string()), None);
}

#[test]
fn a_cursor_past_the_end_is_out_of_range() {
    let (a, _) = pair("abc");
    assert!(matches!(
        a.sticky_at(4, Assoc::After),
        Err(DocError::OutOfRange { at: 4, len: 3 })
    ));
}

#[test]
fn a_cursor_on_text_not_received_yet_resolves_to_none_until_it_arrives() {
    let (a, mut b) = pair("abc");
    let mut c = Note::new(3);
    sync(&a, &mut c);
    c.insert(3, "def").expect("insert");
    let cursor = c.sticky_at(4, Assoc::After).expect("sticky");
    assert_eq!(b.resolve(&cursor), None);
    sync(&c, &mut b);
    assert_eq!(b.resolve(&cursor), Some(4));
}

#[test]
fn the_json_form_is_what_yjs_writes() {
    let (a, _) = pair("abc");
    let json = a.sticky_json_at(1, Assoc::After).expect("sticky");
    assert_eq!(
        json,
        json!({ "tname": "content", "item": { "client": 1, "clock": 1 }, "assoc": 0 })
    );
    let before = a.sticky_json_at(1, Assoc::Before).expect("sticky");
    assert_eq!(
        before,
        json!({ "tname": "content", "item": { "client": 1, "clock": 0 }, "assoc": -1 })
    );
    let bare = to_json(&a.sticky_at(1, Assoc::After).expect("sticky"), None);
    assert_eq!(
        bare,
        json!({ "item": { "client": 1, "clock": 1 }, "assoc": 0 })
    );
    assert_eq!(a.resolve_json(&bare.to_string()), Some(1));
}

#[test]
fn a_yjs_relative_position_stringified_with_nulls_is_accepted() {
    let (a, _) = pair("abc");
    let text = r#"{"type":null,"tname":null,"item":{"client":1,"clock":2},"assoc":0}"#;
    assert_eq!(a.resolve_json(text), Some(2));
    let no_assoc = r#"{"item":{"client":1,"clock":2},"extra":true}"#;
    assert_eq!(a.resolve_json(no_assoc), Some(2));
}

#[test]
fn malformed_cursors_from_other_devices_resolve_to_none_without_panicking() {
    let (a, _) = pair("abc");
    let bad = [
        "",
        "not json",
        "null",
        "42",
        "[]",
        "{}",
        r#"{"assoc":0}"#,
        r#"{"item":null,"tname":null}"#,
        r#"{"item":{"client":1}}"#,
        r#"{"item":{"client":-1,"clock":0}}"#,
        r#"{"item":{"client":1.5,"clock":0}}"#,
        r#"{"item":{"client":9007199254740992,"clock":0}}"#,
        r#"{"item":{"client":18446744073709551615,"clock":0}}"#,
        r#"{"item":{"client":1,"clock":4294967296}}"#,
        r#"{"item":{"client":1,"clock":4294967295}}"#,
        r#"{"item":{"client":"1","clock":0}}"#,
        r#"{"item":{"client":1,"clock":0},"assoc":"x"}"#,
        r#"{"item":{"client":1,"clock":3}}"#,
        r#"{"item":{"client":77,"clock":0}}"#,
        r#"{"tname":"other","assoc":0}"#,
        r#"{"tname":7}"#,
        r#"{"type":{"client":1,"clock":0}}"#,
        r#"{"type":{"client":99,"clock":5}}"#,
    ];
    for text in bad {
        assert_eq!(a.resolve_json(text), None, "{text}");
    }
}

#[test]
fn the_binary_form_round_trips_and_rejects_garbage() {
    let (mut a, b) = pair("hello world");
    for assoc in [Assoc::After, Assoc::Before] {
        for at in [0, 5, 11] {
            let bytes = encode_binary(&b.sticky_at(at, assoc).expect("sticky"));
            assert_eq!(b.resolve_binary(&bytes), Some(at), "{at} {assoc:?}");
        }
    }
    let bytes = encode_binary(&b.sticky_at(5, Assoc::After).expect("sticky"));
    a.insert(0, ">> ").expect("insert");
    assert_eq!(a.resolve_binary(&bytes), Some(8));
    // Without the association byte (old Yjs encodings) it is "after".
    assert_eq!(a.resolve_binary(&bytes[..bytes.len() - 1]), Some(8));
    let garbage: [&[u8]; 7] = [
        &[],
        &[0],
        &[0, 1],
        &[3, 1, 1, 0],
        &[1, 200],
        &[
            0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0,
        ],
        &[
            0, 1, 0, 0xc1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        ],
    ];
    for bytes in garbage {
        assert_eq!(a.resolve_binary(bytes), None, "{bytes:?}");
    }
}

proptest::proptest! {
    #[test]
    fn any_bytes_from_a_peer_resolve_or_are_refused_without_panicking(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24)
    ) {
        let (a, _) = pair("abc");
        let _ = a.resolve_binary(&bytes);
    }

    #[test]
    fn any_json_ids_from_a_peer_resolve_or_are_refused_without_panicking(
        client in proptest::prelude::any::<f64>(),
        clock in proptest::prelude::any::<f64>(),
        assoc in proptest::prelude::any::<i64>(),
        key in proptest::sample::select(vec!["item", "type", "tname", "x"]),
    ) {
        let (a, _) = pair("abc");
        let text = format!(r#"{{"{key}":{{"client":{client:?},"clock":{clock:?}}},"assoc":{assoc}}}"#);
        let _ = a.resolve_json(&text);
        let small = json!({ key: { "client": (client.abs() % 4.0).floor(), "clock": (clock.abs() % 5.0).floor() }, "assoc": assoc });
        let _ = a.resolve_json(&small.to_string());
    }
}
