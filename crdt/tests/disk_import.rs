//! Every note of the shared English and Japanese vaults, edited on "disk" at
//! random and imported again: the note must equal the disk text, and the
//! update must be proportional to the edit, not to the file.

mod common;

use std::path::{Path, PathBuf};

use common::shared;
use tessera_crdt::note::Note;

/// Client ids as large as real ones (53 bits): ids are varints in updates,
/// so small ids would understate the update size.
const CLIENT_A: u64 = (1 << 53) - 12_345;
const CLIENT_B: u64 = (1 << 53) - 67_890;

/// Random edits applied to one file.
const EDITS_PER_FILE: usize = 4;

/// Bound on the update of one import: a fixed cost per edited spot (item
/// headers: client id, clock, origins, lengths; a delete-set range) plus
/// twice the bytes inserted or deleted. A delete-all/insert-all import of
/// these files would exceed it by orders of magnitude.
fn update_bound(edits: usize, edit_bytes: usize) -> usize {
    48 * edits + 2 * edit_bytes
}

/// xorshift64*: a small deterministic generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Snippets to insert: ASCII, Latin accents, Japanese, emoji, newlines.
const SNIPPETS: &[&str] = &[
    "x",
    " new words ",
    "é",
    "日本語",
    "。",
    "😀",
    "👍🏽",
    "\n",
    "\n## Heading\n",
    "- [ ] task\n",
];

/// Applies one random edit at character boundaries; returns the bytes it
/// inserted plus the bytes it deleted.
fn random_edit(text: &mut String, rng: &mut Rng) -> usize {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let start = rng.below(bounds.len());
    let end = (start + rng.below(24)).min(bounds.len() - 1);
    let (from, to) = (bounds[start], bounds[end]);
    let insert = match rng.below(3) {
        0 => String::new(),
        _ => SNIPPETS[rng.below(SNIPPETS.len())].to_owned(),
    };
    let (from, to) = if insert.is_empty() || rng.below(2) == 0 {
        (from, to)
    } else {
        (from, from) // a pure insert
    };
    let cost = (to - from) + insert.len();
    text.replace_range(from..to, &insert);
    cost
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn check_vault(name: &str, seed: u64) {
    let mut files = Vec::new();
    markdown_files(&shared(&format!("vaults/{name}")), &mut files);
    files.sort();
    assert_eq!(files.len(), 173, "notes in vaults/{name}");
    let mut rng = Rng(seed);
    let (mut total_update, mut total_file) = (0usize, 0usize);
    for path in &files {
        let original = std::fs::read_to_string(path).expect("read note");
        let mut note = Note::new(CLIENT_A);
        note.import_text(&original).expect("first import");
        let mut peer = Note::from_update(CLIENT_B, &note.encode_state()).expect("peer copy");

        let mut disk = original.clone();
        let edit_bytes: usize = (0..EDITS_PER_FILE)
            .map(|_| random_edit(&mut disk, &mut rng))
            .sum();
        let Some(update) = note.import_text(&disk).expect("import") else {
            assert_eq!(disk, original, "{}", path.display());
            continue;
        };
        assert_eq!(note.text(), disk, "{}", path.display());
        assert!(
            update.len() <= update_bound(EDITS_PER_FILE, edit_bytes),
            "{}: {} update bytes for {} edited bytes in a {}-byte file",
            path.display(),
            update.len(),
            edit_bytes,
            original.len()
        );
        peer.apply_remote(&update).expect("peer applies");
        assert_eq!(peer.text(), disk, "{}", path.display());
        total_update += update.len();
        total_file += original.len();
    }
    eprintln!("vaults/{name}: {total_update} update bytes for {total_file} file bytes");
}

#[test]
fn importing_edited_english_notes_sends_updates_proportional_to_the_edit() {
    check_vault("en", 0x5eed_0001);
}

#[test]
fn importing_edited_japanese_notes_sends_updates_proportional_to_the_edit() {
    check_vault("ja", 0x5eed_0002);
}
