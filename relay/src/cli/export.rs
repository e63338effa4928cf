//! `tessera-relay export`: a vault from storage as plain files.
//!
//! Reads the stored snapshots (not the running relay's memory): changes made
//! in the last seconds reach storage after the snapshot debounce, and all of
//! them when the relay stops (it snapshots on SIGTERM).

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_crdt::keys::{self, ContentHash, DocId, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::vault::{EntryKind, PathPolicy};
use tessera_relay::config::ExportArgs;

/// Writes every live note and attachment of the vault under `--out`.
pub async fn run(a: ExportArgs) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    let store = super::open_store(&a.common, false).await?;
    let index = super::admin::load_index(store.as_ref(), &vault).await?;
    // One file per path: the conflict winner, as every device shows it (the
    // same list a backup holds).
    let entries = tessera_crdt::backup::live_files(&index);
    let bar = ProgressBar::new(entries.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut notes, mut blobs, mut missing, mut refused) = (0usize, 0usize, 0usize, 0usize);
    // The relay's policy: the export lands on some disk, and an index entry
    // (old data, or a write from before the relay checked paths) must not
    // reach outside `--out` or into a config folder there. A bad entry is
    // reported and skipped; the rest of the vault still exports.
    let policy = PathPolicy::server();
    for entry in &entries {
        bar.set_message(entry.path.clone());
        if let Some(reason) = policy.reason(&entry.path) {
            refused += 1;
            bar.println(format!("skipped {:?}: bad-path: {reason}", entry.path));
            bar.inc(1);
            continue;
        }
        let target = target_path(&a.out, &entry.path);
        let bytes = match entry.kind {
            EntryKind::Note => {
                let doc = DocId::new(&entry.id)?;
                match tessera_relay::vault::load_doc(store.as_ref(), &vault, &doc).await? {
                    Some(stored) => Some(Note::from_update(0, &stored.state)?.text().into_bytes()),
                    None => Some(Vec::new()),
                }
            }
            EntryKind::Blob => {
                let hash = entry
                    .meta
                    .hash
                    .as_deref()
                    .context("attachment entry without a hash")?;
                store
                    .get(&keys::blob_key(&vault, &ContentHash::new(hash)?))
                    .await?
                    .map(|o| o.bytes.to_vec())
            }
        };
        match bytes {
            Some(bytes) => {
                write_file(&target, &bytes)
                    .await
                    .with_context(|| format!("writing {}", target.display()))?;
                match entry.kind {
                    EntryKind::Note => notes += 1,
                    EntryKind::Blob => blobs += 1,
                }
            }
            None => {
                missing += 1;
                bar.println(format!("missing attachment for {}", entry.path));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "exported {notes} notes and {blobs} attachments to {}{}",
        a.out.display(),
        if missing > 0 {
            format!(" ({missing} attachments missing)")
        } else {
            String::new()
        }
    );
    if refused > 0 {
        println!("skipped {refused} entries with a path the path policy refuses (listed above)");
    }
    Ok(())
}

/// `out` joined with a validated vault path (no `..`, no absolute parts).
fn target_path(out: &Path, path: &str) -> PathBuf {
    path.split('/')
        .fold(out.to_path_buf(), |p, seg| p.join(seg))
}

async fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::write(path, bytes).await
}
