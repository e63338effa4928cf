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

use similar::{capture_diff_slices, Algorithm, DiffOp};

use crate::note::TextEdit;

/// Largest `old_chars × new_chars` diffed character by character.
const CHAR_BUDGET: usize = 1 << 22;
/// Largest `old_lines × new_lines` diffed line by line.
const LINE_BUDGET: usize = 1 << 24;

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
    for op in capture_diff_slices(Algorithm::Myers, &old_lines.items, &new_lines.items) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => out.push(
                old_lines.utf16_at(old_index),
                old_lines.utf16_at(old_index + old_len),
                "",
            ),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => {
                let at = old_lines.utf16_at(old_index);
                out.push(at, at, new_lines.span(new_index, new_len));
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => diff_chars(
                old_lines.span(old_index, old_len),
                new_lines.span(new_index, new_len),
                old_lines.utf16_at(old_index),
                &mut out,
            ),
        }
    }
    out.0
}

/// Inserts (edits with `from == to`) that add to `base` every line of `other`
/// that `base` lacks, each where the line diff places it. Lines common to
/// both stay once; nothing of `base` is removed. Where the two disagree on a
/// block, `other`'s lines go after `base`'s.
pub(crate) fn union_inserts(base: &str, other: &str) -> Vec<TextEdit> {
    // Diff as if both ended with a newline, so the last line of each compares
    // equal to the same line elsewhere; fix the positions up afterwards.
    let base_open = !base.is_empty() && !base.ends_with('\n');
    let other_open = !other.is_empty() && !other.ends_with('\n');
    let base_closed = close(base, base_open);
    let other_closed = close(other, other_open);
    let base_len = utf16_len(base);

    let old = Lines::new(&base_closed, 0);
    let new = Lines::new(&other_closed, 0);
    let head = old
        .items
        .iter()
        .zip(&new.items)
        .take_while(|(a, b)| a == b)
        .count();
    let tail = old.items[head..]
        .iter()
        .rev()
        .zip(new.items[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_end, new_end) = (old.len() - tail, new.len() - tail);
    let ops = if (old_end - head).saturating_mul(new_end - head) > LINE_BUDGET {
        vec![DiffOp::Replace {
            old_index: 0,
            old_len: old_end - head,
            new_index: 0,
            new_len: new_end - head,
        }]
    } else {
        capture_diff_slices(
            Algorithm::Myers,
            &old.items[head..old_end],
            &new.items[head..new_end],
        )
    };

    let mut out = Edits::default();
    for op in ops {
        let (old_at, new_index, new_len) = match op {
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, new_index, new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index + old_len, new_index, new_len),
            DiffOp::Equal { .. } | DiffOp::Delete { .. } => continue,
        };
        let (old_at, new_index) = (old_at + head, new_index + head);
        let at = old.utf16_at(old_at);
        let lines = new.span(new_index, new_len);
        let takes_last_line = new_index + new_len == new.len();
        if base_open && at > base_len {
            // After base's unterminated last line: lead with the newline it
            // lacks and leave the text unterminated, as base was.
            let body = lines.strip_suffix('\n').unwrap_or(lines);
            out.push(base_len, base_len, &format!("\n{body}"));
        } else if other_open && takes_last_line && at == base_len {
            out.push(at, at, lines.strip_suffix('\n').unwrap_or(lines));
        } else {
            out.push(at, at, lines);
        }
    }
    out.0
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
    let collect = |i: usize, n: usize| -> String { new_chars[i..i + n].iter().collect() };
    for op in capture_diff_slices(Algorithm::Myers, &old_chars, &new_chars) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => out.push(starts[old_index], starts[old_index + old_len], ""),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => {
                let at = starts[old_index];
                out.push(at, at, &collect(new_index, new_len));
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => out.push(
                starts[old_index],
                starts[old_index + old_len],
                &collect(new_index, new_len),
            ),
        }
    }
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

    /// Lines `start..start + n` as one slice of the text.
    fn span(&self, start: usize, n: usize) -> &'a str {
        &self.text[self.bytes[start]..self.bytes[start + n]]
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
