//! Diffs that bring a note's text to another text by touching only what differs.
//!
//! Text from disk must enter a note as small inserts and deletes: a
//! delete-all plus insert-all would give every character a new identity, so a
//! concurrent edit from another device would land in deleted text and vanish,
//! and the update would be as large as the file.
//!
//! [`minimal_edits`] works in three steps: strip the common prefix and suffix
//! (the usual case, one edited spot, ends here), diff the rest by lines, then
//! diff each replaced block of lines by characters. Myers' algorithm costs
//! O((N+M)·D), which approaches N·M for unrelated texts, so a step whose token
//! product exceeds a budget replaces its block whole instead. That keeps
//! import time bounded for any file while the update stays proportional to
//! the changed block, not the file. No clock is involved (similar's
//! deadlines read `Instant`, which wasm32-unknown-unknown lacks).
//!
//! Offsets are UTF-16 code units in the old text, computed while walking.

use std::hash::Hash;
use std::ops::Range;

use similar::algorithms::{myers, Capture, Compact, Replace};
use similar::DiffOp;

use crate::note::TextEdit;

/// Largest `old_chars × new_chars` diffed character by character.
const CHAR_BUDGET: usize = 1 << 22;
/// Largest `old_lines × new_lines` diffed line by line.
const LINE_BUDGET: usize = 1 << 24;

/// What `similar::capture_diff_slices(Algorithm::Myers, old, new)` returns
/// (the same hooks, no deadline), calling Myers directly: going through the
/// `Algorithm` switch links patience and LCS into the WASM build for nothing.
fn myers_ops<T: Eq + Hash + Ord>(old: &[T], new: &[T]) -> Vec<DiffOp> {
    let mut d = Compact::new(Replace::new(Capture::new()), old, new);
    myers::diff(&mut d, old, 0..old.len(), new, 0..new.len()).unwrap_or_else(|e| match e {});
    d.into_inner().into_inner().into_ops()
}

/// Sorted, non-overlapping edits (in `old`'s UTF-16 coordinates) that turn
/// `old` into `new`. Empty when they are equal.
pub(crate) fn minimal_edits(old: &str, new: &str) -> Vec<TextEdit> {
    let prefix = common_prefix(old, new);
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix = common_suffix(old_rest, new_rest);
    let old_mid = &old_rest[..old_rest.len() - suffix];
    let new_mid = &new_rest[..new_rest.len() - suffix];

    let mut out = Edits::default();
    let base = utf16_len(&old[..prefix]);
    let old_lines = Lines::new(old_mid, base);
    let new_lines = Lines::new(new_mid, 0);
    if old_lines.len().saturating_mul(new_lines.len()) > LINE_BUDGET {
        diff_chars(old_mid, new_mid, base, &mut out);
        return out.0;
    }
    let ops = myers_ops(&old_lines.items, &new_lines.items);
    // Merging here matters most: a line diff happily matches one blank line
    // between a deleted and an inserted block, and the two halves of an
    // edited line would then never meet in the character diff.
    for (old, new) in absorb_short_equalities(changes(&ops)) {
        let from = old_lines.utf16_at(old.start);
        if new.is_empty() {
            out.push(from, old_lines.utf16_at(old.end), "");
        } else if old.is_empty() {
            out.push(from, from, new_lines.span(new));
        } else {
            diff_chars(old_lines.span(old), new_lines.span(new), from, &mut out);
        }
    }
    out.0
}

/// Inserts (edits with `from == to`) that add to `base` every line of `other`
/// that `base` lacks, each where the line diff places it. Lines common to
/// both stay once; nothing of `base` is removed. Where the two disagree on a
/// block, `other`'s lines go after `base`'s.
///
/// Blank lines never anchor the alignment: in Markdown they separate nearly
/// every paragraph, and a diff free to match them pairs up unrelated
/// paragraphs, which a union would then write twice. Each blank line gets a
/// key of its own, blank-only insertions are dropped, and an inserted block
/// is set apart by blank lines exactly when it was set apart in `other`.
pub(crate) fn union_inserts(base: &str, other: &str) -> Vec<TextEdit> {
    let base_open = !base.is_empty() && !base.ends_with('\n');
    let other_open = !other.is_empty() && !other.ends_with('\n');
    let base_closed = close(base, base_open);
    let other_closed = close(other, other_open);
    let old = Lines::new(&base_closed, 0);
    let new = Lines::new(&other_closed, 0);
    let old_keys = match_keys(&old.items, 0);
    let new_keys = match_keys(&new.items, old.len());
    let ops = if old.len().saturating_mul(new.len()) > LINE_BUDGET {
        vec![DiffOp::Replace {
            old_index: 0,
            old_len: old.len(),
            new_index: 0,
            new_len: new.len(),
        }]
    } else {
        myers_ops(&old_keys, &new_keys)
    };
    let base_len = utf16_len(base);
    let mut out = Edits::default();
    for (old_range, new_range) in changes(&ops) {
        // The block without its surrounding blank lines; nothing left: skip.
        let mut first = new_range.start;
        let mut last = new_range.end;
        while first < last && is_blank(new.items[first]) {
            first += 1;
        }
        while last > first && is_blank(new.items[last - 1]) {
            last -= 1;
        }
        if first == last {
            continue;
        }
        let mut chunk = new.span(first..last).to_owned();
        let at_line = old_range.end;
        let at = old.utf16_at(at_line).min(base_len);
        // Set apart from base's text before and after as it was in `other`.
        let apart_before = first > 0 && is_blank(new.items[first - 1]);
        let apart_after = last < new.len() && is_blank(new.items[last]);
        let base_before_blank = at_line == 0 || (at_line >= 2 && is_blank(old.items[at_line - 1]));
        let base_after_blank = at_line >= old.len() || is_blank(old.items[at_line]);
        if at == base_len && base_open {
            // After base's unterminated last line: give it its newline.
            chunk.insert(0, '\n');
        }
        if apart_before && !base_before_blank {
            chunk.insert(0, '\n');
        }
        if apart_after && !base_after_blank && at < base_len {
            chunk.push('\n');
        }
        if at == base_len && (base_open || (other_open && last == new.len())) {
            // Leave the text unterminated, as it was.
            while chunk.ends_with('\n') && !chunk.ends_with("\n\n") {
                chunk.pop();
            }
        }
        out.push(at, at, &chunk);
    }
    out.0
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Keys for the line diff: a line's text, except that every blank line gets
/// a unique key (offset by `salt` so the two sides' blanks never meet).
fn match_keys<'a>(lines: &[&'a str], salt: usize) -> Vec<(Option<&'a str>, usize)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if is_blank(l) {
                (None, salt + i)
            } else {
                (Some(l.trim_end_matches(['\n', '\r'])), 0)
            }
        })
        .collect()
}

/// Diffs one replaced block character by character, starting at UTF-16
/// offset `base` of the old text.
fn diff_chars(old: &str, new: &str, base: u32, out: &mut Edits) {
    let old_chars: Vec<char> = old.chars().collect();
    let new_chars: Vec<char> = new.chars().collect();
    if old_chars.len().saturating_mul(new_chars.len()) > CHAR_BUDGET {
        out.push(base, base + utf16_len(old), new);
        return;
    }
    let mut starts = Vec::with_capacity(old_chars.len() + 1);
    let mut at = base;
    starts.push(at);
    for c in &old_chars {
        at += c.len_utf16() as u32;
        starts.push(at);
    }
    let ops = myers_ops(&old_chars, &new_chars);
    for (old, new) in absorb_short_equalities(changes(&ops)) {
        let insert: String = new_chars[new].iter().collect();
        out.push(starts[old.start], starts[old.end], &insert);
    }
}

/// Merges changes separated by an equal run no longer than the changes on
/// either side of it.
///
/// A minimal character diff of a rewritten phrase keeps every coincidental
/// common letter ("text" → "Heading" keeps the `e`), which cuts one edit into
/// many: each piece costs an item header in the update, and a concurrent edit
/// lands among the fragments. Replacing the short run too gives one edit per
/// phrase; long equal runs, which carry real shared text, stay untouched.
fn absorb_short_equalities(
    changes: Vec<(Range<usize>, Range<usize>)>,
) -> Vec<(Range<usize>, Range<usize>)> {
    let mut merged: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(changes.len());
    for (old, new) in changes {
        if let Some((prev_old, prev_new)) = merged.last_mut() {
            let gap = old.start - prev_old.end;
            let prev = prev_old.len().max(prev_new.len());
            let next = old.len().max(new.len());
            if gap <= prev.min(next) {
                prev_old.end = old.end;
                prev_new.end = new.end;
                continue;
            }
        }
        merged.push((old, new));
    }
    merged
}

/// The non-equal steps of a diff as (old range, new range) pairs.
///
/// Ranges come from running cursors over the ops' lengths, not from their
/// indices: similar 2.7's Myers can report an `Insert`'s `old_index` before
/// the `Equal` that precedes it, which would misplace and misorder edits.
fn changes(ops: &[DiffOp]) -> Vec<(Range<usize>, Range<usize>)> {
    let (mut old_at, mut new_at) = (0, 0);
    let mut out = Vec::new();
    for op in ops {
        let (old_len, new_len) = match *op {
            DiffOp::Equal { len, .. } => (len, len),
            DiffOp::Delete { old_len, .. } => (old_len, 0),
            DiffOp::Insert { new_len, .. } => (0, new_len),
            DiffOp::Replace {
                old_len, new_len, ..
            } => (old_len, new_len),
        };
        if !matches!(op, DiffOp::Equal { .. }) {
            out.push((old_at..old_at + old_len, new_at..new_at + new_len));
        }
        old_at += old_len;
        new_at += new_len;
    }
    out
}

/// A text cut into lines (each with its `\n`), with where each line starts.
struct Lines<'a> {
    text: &'a str,
    items: Vec<&'a str>,
    /// Byte offset of each line in `text`, plus one past the end.
    bytes: Vec<usize>,
    /// UTF-16 offset of each line (shifted by `base`), plus one past the end.
    utf16: Vec<u32>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, base: u32) -> Lines<'a> {
        let items: Vec<&str> = text.split_inclusive('\n').collect();
        let mut bytes = Vec::with_capacity(items.len() + 1);
        let mut utf16 = Vec::with_capacity(items.len() + 1);
        let (mut b, mut u) = (0, base);
        for line in &items {
            bytes.push(b);
            utf16.push(u);
            b += line.len();
            u += utf16_len(line);
        }
        bytes.push(b);
        utf16.push(u);
        Lines {
            text,
            items,
            bytes,
            utf16,
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn utf16_at(&self, line: usize) -> u32 {
        self.utf16[line]
    }

    /// The lines in `range` as one slice of the text.
    fn span(&self, range: Range<usize>) -> &'a str {
        &self.text[self.bytes[range.start]..self.bytes[range.end]]
    }
}

/// Edits in order, with touching neighbours merged into one.
#[derive(Default)]
struct Edits(Vec<TextEdit>);

impl Edits {
    fn push(&mut self, from: u32, to: u32, insert: &str) {
        if let Some(last) = self.0.last_mut() {
            if last.to == from {
                last.to = to;
                last.insert.push_str(insert);
                return;
            }
        }
        self.0.push(TextEdit {
            from,
            to,
            insert: insert.to_owned(),
        });
    }
}

/// `text` with a newline appended when `open`.
fn close(text: &str, open: bool) -> String {
    if open {
        format!("{text}\n")
    } else {
        text.to_owned()
    }
}

/// Length in bytes of the longest common prefix, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// Length in bytes of the longest common suffix, on a char boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(ca, cb)| ca == cb)
        .map(|(c, _)| c.len_utf8())
        .sum()
}

pub(crate) fn utf16_len(s: &str) -> u32 {
    s.chars().map(|c| c.len_utf16() as u32).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Applies edits (old coordinates, sorted) to `old`, checking their order.
    fn apply(old: &str, edits: &[TextEdit]) -> String {
        let units: Vec<u16> = old.encode_utf16().collect();
        let mut out = Vec::new();
        let mut at = 0usize;
        for e in edits {
            let (from, to) = (e.from as usize, e.to as usize);
            assert!(at <= from && from <= to && to <= units.len(), "{edits:?}");
            out.extend_from_slice(&units[at..from]);
            out.extend(e.insert.encode_utf16());
            at = to;
        }
        out.extend_from_slice(&units[at..]);
        String::from_utf16(&out).expect("edits split a surrogate pair")
    }

    fn arb_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![Just("a"), Just("b"), Just("\n"), Just("日"), Just("😀")],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn minimal_edits_turn_old_into_new(old in arb_text(), new in arb_text()) {
            let edits = minimal_edits(&old, &new);
            prop_assert_eq!(apply(&old, &edits), new);
        }
    }

    fn union(base: &str, other: &str) -> String {
        let edits = union_inserts(base, other);
        assert!(edits.iter().all(|e| e.from == e.to), "only inserts");
        apply(base, &edits)
    }

    #[test]
    fn a_one_letter_change_in_a_long_line_is_one_small_edit() {
        let old = format!("{}cat{}", "x".repeat(5000), "y".repeat(5000));
        let new = format!("{}hat{}", "x".repeat(5000), "y".repeat(5000));
        assert_eq!(
            minimal_edits(&old, &new),
            vec![TextEdit {
                from: 5000,
                to: 5001,
                insert: "h".into()
            }]
        );
    }

    #[test]
    fn a_rewritten_word_is_one_edit_not_letter_fragments() {
        let edits = minimal_edits("Highlight text, images\n", "Highlight Heading, images\n");
        assert_eq!(edits.len(), 1, "{edits:?}");
    }

    #[test]
    fn an_unrelated_rewrite_beyond_the_budget_is_replaced_whole() {
        let old: String = (0..3000).map(|i| format!("old line {i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("new row {i}\n")).collect();
        let edits = minimal_edits(&old, &new);
        assert_eq!(apply(&old, &edits), new);
    }

    #[test]
    fn the_union_of_equal_texts_adds_nothing() {
        assert!(union_inserts("a\nb\n", "a\nb\n").is_empty());
        assert!(union_inserts("", "").is_empty());
    }

    #[test]
    fn the_union_puts_other_lines_after_base_lines_where_they_differ() {
        assert_eq!(union("a\nB\nc\n", "a\nC\nc\n"), "a\nB\nC\nc\n");
    }

    #[test]
    fn the_union_respects_missing_final_newlines() {
        assert_eq!(union("a\nb", "a\nb\nc"), "a\nb\nc");
        assert_eq!(union("a\nb", "a\nb\n"), "a\nb");
        assert_eq!(union("a\nb\n", "a\nc"), "a\nb\nc");
        assert_eq!(union("a", "b"), "a\nb");
        assert_eq!(union("", "b"), "b");
    }

    /// Non-blank lines, sorted. Blank lines are left out: a trailing blank
    /// line of `other` may become the newline an unterminated `base` lacks.
    fn lines(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s.lines().filter(|l| !l.is_empty()).collect();
        v.sort_unstable();
        v
    }

    proptest! {
        #[test]
        fn the_union_contains_every_line_of_both(base in arb_text(), other in arb_text()) {
            let merged = union(&base, &other);
            let have = lines(&merged);
            for wanted in [lines(&base), lines(&other)] {
                // Multiset inclusion: each wanted line matches a distinct line.
                let mut pool = have.clone();
                for line in wanted {
                    let i = pool.iter().position(|l| *l == line);
                    prop_assert!(i.is_some(), "{:?} missing from {:?}", line, merged);
                    pool.remove(i.unwrap_or_default());
                }
            }
        }
    }
}
