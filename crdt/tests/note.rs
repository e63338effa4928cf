//! Behaviour of a single note: UTF-16 offsets, edits, remote deltas, and
//! refusing bad input without changing anything.

mod common;

use common::apply_delta;
use proptest::prelude::*;
use tessera_crdt::hash::blake3_hex;
use tessera_crdt::note::{DeltaOp, DocError, Note, TextEdit};

fn note_with(text: &str) -> Note {
    let mut note = Note::new(1);
    note.insert(0, text).expect("initial text");
    note
}

fn edit(from: u32, to: u32, insert: &str) -> TextEdit {
    TextEdit {
        from,
        to,
        insert: insert.to_owned(),
    }
}

#[test]
fn a_new_note_is_empty_and_hashes_like_an_empty_file() {
    let note = Note::new(7);
    assert_eq!(note.text(), "");
    assert_eq!(note.len_utf16(), 0);
    assert_eq!(note.content_hash(), blake3_hex(b""));
}

#[test]
fn offsets_count_utf16_code_units() {
    // 😀 is two UTF-16 units, 日 one; neither is one byte.
    let mut note = note_with("a😀日b");
    assert_eq!(note.len_utf16(), 5);
    note.insert(3, "|").unwrap();
    assert_eq!(note.text(), "a😀|日b");
    note.delete(1, 2).unwrap();
    assert_eq!(note.text(), "a|日b");
}

#[test]
fn inserting_past_the_end_is_out_of_range_and_changes_nothing() {
    let mut note = note_with("abc");
    let err = note.insert(4, "x").unwrap_err();
    assert!(
        matches!(err, DocError::OutOfRange { at: 4, len: 3 }),
        "{err}"
    );
    assert_eq!(note.text(), "abc");
}

#[test]
fn deleting_past_the_end_is_out_of_range_even_when_the_sum_overflows() {
    let mut note = note_with("abc");
    assert!(matches!(
        note.delete(2, 2),
        Err(DocError::OutOfRange { at: 4, len: 3 })
    ));
    assert!(matches!(
        note.delete(2, u32::MAX),
        Err(DocError::OutOfRange { .. })
    ));
    assert_eq!(note.text(), "abc");
}

#[test]
fn a_position_inside_a_surrogate_pair_is_refused() {
    let mut note = note_with("a😀b");
    assert!(matches!(
        note.insert(2, "x"),
        Err(DocError::SplitsCharacter { at: 2 })
    ));
    assert!(matches!(
        note.delete(1, 1),
        Err(DocError::SplitsCharacter { at: 2 })
    ));
    assert_eq!(note.text(), "a😀b");
}

#[test]
fn a_batch_of_edits_uses_positions_of_the_text_before_the_batch() {
    let mut note = note_with("hello world");
    note.apply_edits(&[edit(0, 1, "J"), edit(5, 5, ","), edit(6, 11, "there")])
        .unwrap();
    assert_eq!(note.text(), "Jello, there");
}

#[test]
fn a_batch_of_edits_travels_as_one_update() {
    let mut a = note_with("hello world");
    let mut b = Note::from_update(2, &a.encode_state()).unwrap();
    let update = a
        .apply_edits(&[edit(0, 0, ">"), edit(11, 11, "!")])
        .unwrap();
    b.apply_remote(&update).unwrap();
    assert_eq!(b.text(), ">hello world!");
}

#[test]
fn overlapping_or_unsorted_edits_are_refused_and_change_nothing() {
    let mut note = note_with("abcdef");
    for bad in [
        vec![edit(2, 4, ""), edit(3, 5, "")],
        vec![edit(4, 4, "x"), edit(1, 1, "y")],
        vec![edit(3, 2, "")],
    ] {
        let err = note.apply_edits(&bad).unwrap_err();
        assert!(matches!(err, DocError::UnorderedEdits { .. }), "{err}");
    }
    assert_eq!(note.text(), "abcdef");
}

#[test]
fn bad_update_bytes_are_refused_and_leave_the_note_unchanged() {
    let mut note = note_with("keep me");
    let good = note.insert(7, "!").unwrap();
    let before = note.encode_state();
    for bad in [
        vec![0xff; 12],
        good[..good.len() - 1].to_vec(),
        b"not an update".to_vec(),
    ] {
        let err = note.apply_remote(&bad).unwrap_err();
        assert!(matches!(err, DocError::BadUpdate(_)), "{err}");
        assert_eq!(note.text(), "keep me!");
        assert_eq!(note.encode_state(), before);
    }
    assert!(matches!(
        Note::from_update(2, &[0xff; 3]),
        Err(DocError::BadUpdate(_))
    ));
}

#[test]
fn a_bad_state_vector_is_refused() {
    let note = note_with("x");
    assert!(matches!(
        note.diff_since(&[0xff; 5]),
        Err(DocError::BadStateVector(_))
    ));
}

#[test]
fn diff_since_gives_a_peer_exactly_what_it_lacks() {
    let mut a = note_with("shared ");
    let mut b = Note::from_update(2, &a.encode_state()).unwrap();
    a.insert(7, "from a").unwrap();
    let diff = a.diff_since(&b.state_vector()).unwrap();
    assert!(diff.len() < a.encode_state().len());
    b.apply_remote(&diff).unwrap();
    assert_eq!(b.text(), "shared from a");
}

#[test]
fn the_content_hash_is_blake3_of_the_utf8_text() {
    let note = note_with("日本語 😀");
    assert_eq!(note.content_hash(), blake3_hex("日本語 😀".as_bytes()));
}

/// Sends `edits` from `a` to a copy, applying each remote delta to the
/// editor's text, and checks that text against the copy's after every step.
fn assert_deltas_rebuild(start: &str, edits: &[TextEdit]) {
    let mut a = note_with(start);
    let mut b = Note::from_update(2, &a.encode_state()).unwrap();
    let mut editor = b.text();
    for e in edits {
        let update = a.apply_edits(std::slice::from_ref(e)).unwrap();
        let delta = b.apply_remote(&update).unwrap();
        editor = apply_delta(&editor, &delta);
        assert_eq!(editor, a.text());
        assert_eq!(editor, b.text());
    }
}

#[test]
fn remote_deltas_rebuild_the_text_for_ascii() {
    assert_deltas_rebuild(
        "The quick brown fox",
        &[edit(4, 9, "slow"), edit(0, 0, "> "), edit(19, 19, ".")],
    );
}

#[test]
fn remote_deltas_rebuild_the_text_for_emoji() {
    // 😀 and 👍🏽 need surrogate pairs: deltas must count them as 2 units.
    assert_deltas_rebuild(
        "a😀b👍🏽c",
        &[edit(3, 3, "🎉"), edit(1, 3, ""), edit(6, 8, "x😀")],
    );
}

#[test]
fn remote_deltas_rebuild_the_text_for_japanese() {
    assert_deltas_rebuild(
        "日本語のテキスト",
        &[edit(3, 3, "😀"), edit(0, 2, "にほん"), edit(9, 10, "")],
    );
}

#[test]
fn remote_delta_lengths_are_utf16_code_units() {
    let mut a = note_with("😀日x");
    let mut b = Note::from_update(2, &a.encode_state()).unwrap();
    let update = a.insert(3, "!").unwrap();
    assert_eq!(
        b.apply_remote(&update).unwrap(),
        vec![DeltaOp::Retain(3), DeltaOp::Insert("!".into())]
    );
    let update = a.delete(0, 2).unwrap();
    assert_eq!(b.apply_remote(&update).unwrap(), vec![DeltaOp::Delete(2)]);
}

#[test]
fn delta_ops_serialize_like_yjs_deltas() {
    let delta = vec![
        DeltaOp::Retain(2),
        DeltaOp::Insert("x".into()),
        DeltaOp::Delete(1),
    ];
    assert_eq!(
        serde_json::to_string(&delta).unwrap(),
        r#"[{"retain":2},{"insert":"x"},{"delete":1}]"#
    );
}

#[test]
fn importing_equal_text_changes_nothing() {
    let mut note = note_with("same\n");
    assert!(note.import_text("same\n").unwrap().is_none());
}

#[test]
fn importing_disk_text_sends_only_the_changed_words() {
    let paragraph = "Obsidian stores notes as plain Markdown files.\n";
    let text = paragraph.repeat(200);
    let mut note = note_with(&text);
    let disk = text.replacen("plain Markdown", "simple Markdown", 1);
    let update = note.import_text(&disk).unwrap().expect("changed");
    assert_eq!(note.text(), disk);
    assert!(
        update.len() < 64,
        "{} bytes for a one-word change",
        update.len()
    );
}

#[test]
fn importing_disk_text_keeps_a_concurrent_edit_elsewhere() {
    let mut a = note_with("first line\nsecond line\nthird line\n");
    let mut b = Note::from_update(2, &a.encode_state()).unwrap();
    // Device b edits the first line while device a imports a disk change of the last.
    let from_b = b.insert(5, " (edited)").unwrap();
    let from_a = a
        .import_text("first line\nsecond line\nthird line, changed on disk\n")
        .unwrap()
        .unwrap();
    a.apply_remote(&from_b).unwrap();
    b.apply_remote(&from_a).unwrap();
    let expected = "first (edited) line\nsecond line\nthird line, changed on disk\n";
    assert_eq!(a.text(), expected);
    assert_eq!(b.text(), expected);
}

#[test]
fn merging_an_identical_copy_adds_nothing() {
    let mut note = note_with("# Title\n\nSame body.\n");
    assert!(note
        .merge_union("# Title\n\nSame body.\n")
        .unwrap()
        .is_none());
    assert_eq!(note.text(), "# Title\n\nSame body.\n");
}

#[test]
fn merging_a_divergent_copy_keeps_common_paragraphs_once() {
    let mut note = note_with("# Title\n\nMine only.\n\nShared end.\n");
    note.merge_union("# Title\n\nTheirs only.\n\nShared end.\n")
        .unwrap()
        .expect("something to add");
    let text = note.text();
    for part in [
        "# Title\n",
        "Mine only.\n",
        "Theirs only.\n",
        "Shared end.\n",
    ] {
        assert_eq!(text.matches(part).count(), 1, "{part:?} in {text:?}");
    }
    assert!(text.find("Mine only").unwrap() < text.find("Theirs only").unwrap());
}

#[test]
fn merging_into_an_empty_note_takes_the_other_text() {
    let mut note = Note::new(1);
    note.merge_union("only theirs").unwrap().unwrap();
    assert_eq!(note.text(), "only theirs");
}

fn arb_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just(" "),
            Just("\n"),
            Just("é"),
            Just("日本"),
            Just("😀"),
            Just("👍🏽")
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn remote_deltas_always_rebuild_the_remote_text(
        start in arb_text(),
        steps in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, arb_text()), 1..12),
    ) {
        let mut a = note_with(&start);
        let mut b = Note::from_update(2, &a.encode_state()).unwrap();
        let mut editor = b.text();
        for (at, del, ins) in steps {
            // Pick positions on character boundaries, in UTF-16 units.
            let text = a.text();
            let bounds: Vec<u32> = std::iter::once(0)
                .chain(text.chars().scan(0u32, |n, c| { *n += c.len_utf16() as u32; Some(*n) }))
                .collect();
            let i = at.index(bounds.len());
            let j = (i + del).min(bounds.len() - 1);
            let update = a.apply_edits(&[edit(bounds[i], bounds[j], &ins)]).unwrap();
            let delta = b.apply_remote(&update).unwrap();
            editor = apply_delta(&editor, &delta);
            prop_assert_eq!(&editor, &a.text());
        }
    }
}

#[test]
fn merging_copies_that_inserted_paragraphs_at_different_places_duplicates_none() {
    let base = "Para one.\n\nPara two.\n\nBecause Obsidian stores your data in plain files.\n\nPara four.\n";
    let ours = base.replace("Because Obsidian", "Inserted by us.\n\nBecause Obsidian");
    let theirs = base.replace("Para four.", "Inserted by them.\n\nPara four.");
    let mut note = Note::new(1);
    note.import_text(&ours).unwrap();
    note.merge_union(&theirs).unwrap();
    let text = note.text();
    for para in [
        "Para one.",
        "Para two.",
        "Because Obsidian stores your data in plain files.",
        "Para four.",
        "Inserted by us.",
        "Inserted by them.",
    ] {
        assert_eq!(text.matches(para).count(), 1, "{para:?} in:\n{text}");
    }
}
