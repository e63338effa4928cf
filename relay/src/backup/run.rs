//! One backup run of one vault: the core's plan, carried out against the
//! store and a [`Target`].

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;
use tessera_crdt::backup::{
    self, deleted_path, needs_write, plan, BackupError, BackupManifest, Source, Wanted,
    MANIFEST_NAME,
};
use tessera_crdt::keys::{self, ContentHash, DocId, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::vault::{EntryKind, Index};
use thiserror::Error;

use super::target::{Target, TargetError};
use crate::store::Store;
use crate::vault::{read_head, read_snapshot, PersistError};

/// Reads from storage in flight at once (heads, snapshots, blobs, writes):
/// S3 round trips dominate, so overlapping them is most of the speed.
const CONCURRENCY: usize = 16;

/// Why a run failed. Files written before the failure stay recorded in the
/// manifest, so the next run continues from there.
#[derive(Debug, Error)]
pub enum RunError {
    /// Reading the vault from storage failed.
    #[error("reading the vault: {0}")]
    Store(#[from] PersistError),
    /// The destination failed.
    #[error("writing the backup: {0}")]
    Target(#[from] TargetError),
    /// The destination's manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] BackupError),
    /// Stored data could not be turned into a file.
    #[error("{0}")]
    Corrupt(String),
    /// The vault has no stored index: refusing to treat it as empty, which
    /// would move the whole backup to `.tessera-backup/deleted/`.
    #[error("vault {0} has no stored index (wrong vault, storage or bucket?)")]
    NoIndex(String),
}

/// A run's options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rewrite every file.
    pub complete: bool,
    /// Files between two manifest saves (at least 1).
    pub batch: usize,
    /// The run's start, unix ms (names the deleted-files folder).
    pub now_ms: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Vault files written.
    pub written: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files moved to `.tessera-backup/deleted/`.
    pub removed: usize,
    /// Files left alone.
    pub unchanged: usize,
    /// Files the path rules keep out of the backup.
    pub refused: usize,
    /// Attachments whose blob is not in storage (retried next run).
    pub missing: usize,
    /// Times the manifest was saved.
    pub manifest_writes: usize,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Report {
    /// One line for logs and the command's output.
    pub fn summary(&self) -> String {
        format!(
            "{} written ({} bytes), {} removed, {} unchanged, {} refused, {} missing, {:.2} s",
            self.written,
            self.bytes,
            self.removed,
            self.unchanged,
            self.refused,
            self.missing,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The manifest as it evolves during a run, saved every `batch` changes.
struct Progressive<'a> {
    manifest: BackupManifest,
    target: &'a dyn Target,
    pending: usize,
    batch: usize,
    saves: usize,
}

impl Progressive<'_> {
    async fn changed(&mut self) -> Result<(), TargetError> {
        self.pending += 1;
        if self.pending >= self.batch {
            self.save().await?;
        }
        Ok(())
    }

    async fn save(&mut self) -> Result<(), TargetError> {
        self.target
            .write(MANIFEST_NAME, &self.manifest.encode())
            .await?;
        self.pending = 0;
        self.saves += 1;
        Ok(())
    }
}

/// Backs `vault` up from `store` into `target`.
pub async fn run(
    store: &dyn Store,
    vault: &VaultId,
    target: &dyn Target,
    opts: &Options,
    bar: &ProgressBar,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let manifest = match target.read(MANIFEST_NAME).await? {
        Some(bytes) => BackupManifest::decode(&bytes, vault.as_str())?,
        None => BackupManifest::new(vault.as_str()),
    };
    let (index, index_snapshot) = load_index(store, vault).await?;
    let wanted = sources(store, vault, &index).await?;
    let steps = plan(&manifest, wanted, opts.complete);
    let mut report = Report {
        unchanged: steps.unchanged,
        refused: steps.refused.len(),
        ..Report::default()
    };
    for r in &steps.refused {
        tracing::warn!(vault = %vault, path = %r.path, reason = r.reason, "not backed up");
    }
    bar.set_length((steps.remove.len() + steps.fetch.len()) as u64);
    let mut m = Progressive {
        manifest,
        target,
        pending: 0,
        batch: opts.batch.max(1),
        saves: 0,
    };
    let stamp = backup::run_stamp(opts.now_ms);
    for path in &steps.remove {
        bar.set_message(path.clone());
        target.rename(path, &deleted_path(&stamp, path)).await?;
        m.manifest.forget(path);
        report.removed += 1;
        m.changed().await?;
        bar.inc(1);
    }
    let manifest_now = m.manifest.clone();
    let complete = opts.complete;
    let mut done = stream::iter(steps.fetch)
        .map(|w| {
            let manifest_now = &manifest_now;
            async move {
                let Some(bytes) = fetch(store, vault, &w).await? else {
                    return Ok::<_, RunError>((w, None, false));
                };
                let write = needs_write(manifest_now, &w.path, &bytes, complete);
                if write {
                    target.write(&w.path, &bytes).await?;
                }
                Ok((w, Some(bytes), write))
            }
        })
        .buffered(CONCURRENCY);
    while let Some(result) = done.next().await {
        let (w, bytes, written) = result?;
        bar.set_message(w.path.clone());
        bar.inc(1);
        let Some(bytes) = bytes else {
            report.missing += 1;
            tracing::warn!(vault = %vault, path = %w.path, "attachment missing from storage; retried next run");
            continue;
        };
        if written {
            report.written += 1;
            report.bytes += bytes.len() as u64;
        } else {
            report.unchanged += 1;
        }
        m.manifest.record(&w.path, &w.source, &bytes);
        m.changed().await?;
    }
    drop(done);
    // Nothing changed at all: write nothing, not even the manifest.
    if m.saves > 0 || m.pending > 0 || m.manifest.index_snapshot != index_snapshot {
        m.manifest.index_snapshot = index_snapshot;
        m.manifest.updated_ms = Some(opts.now_ms);
        m.save().await?;
    }
    report.manifest_writes = m.saves;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The stored index and its snapshot id (the vault cursor).
async fn load_index(
    store: &dyn Store,
    vault: &VaultId,
) -> Result<(Index, Option<String>), RunError> {
    let doc = DocId::index();
    let Some((head, _)) = read_head(store, vault, &doc).await? else {
        return Err(RunError::NoIndex(vault.to_string()));
    };
    let hash = ContentHash::new(&head.snapshot).map_err(PersistError::from)?;
    let state = read_snapshot(store, vault, &doc, &hash).await?;
    let index = Index::from_update(0, &state)
        .map_err(|e| RunError::Corrupt(format!("the index of vault {vault}: {e}")))?;
    Ok((index, Some(head.snapshot)))
}

/// Every live file with its source: a note's head (no content read), a
/// blob's hash. Entries that cannot name a source are logged and skipped.
async fn sources(
    store: &dyn Store,
    vault: &VaultId,
    index: &Index,
) -> Result<Vec<Wanted>, RunError> {
    let files = backup::live_files(index);
    let found: Vec<Result<Option<Wanted>, RunError>> = stream::iter(files)
        .map(|e| async move {
            let source = match e.kind {
                EntryKind::Blob => match e.meta.hash.as_deref().map(ContentHash::new) {
                    Some(Ok(hash)) => Source::Blob(hash.to_string()),
                    _ => {
                        tracing::warn!(vault = %vault, path = %e.path, "attachment entry without a valid hash; not backed up");
                        return Ok(None);
                    }
                },
                EntryKind::Note => {
                    let Ok(doc) = DocId::new(&e.id) else {
                        tracing::warn!(vault = %vault, path = %e.path, "note entry with an invalid id; not backed up");
                        return Ok(None);
                    };
                    match read_head(store, vault, &doc).await? {
                        Some((head, _)) => Source::Snapshot(head.snapshot),
                        None => Source::EmptyNote,
                    }
                }
            };
            Ok(Some(Wanted {
                path: e.path,
                id: e.id,
                kind: e.kind,
                source,
            }))
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        out.extend(f?);
    }
    Ok(out)
}

/// A file's bytes: a note's text at its snapshot, or a blob (`None` when
/// the blob is not stored).
async fn fetch(
    store: &dyn Store,
    vault: &VaultId,
    w: &Wanted,
) -> Result<Option<Vec<u8>>, RunError> {
    match &w.source {
        Source::EmptyNote => Ok(Some(Vec::new())),
        Source::Snapshot(id) => {
            let doc = DocId::new(&w.id).map_err(PersistError::from)?;
            let hash = ContentHash::new(id).map_err(PersistError::from)?;
            let state = read_snapshot(store, vault, &doc, &hash).await?;
            let note = Note::from_update(0, &state)
                .map_err(|e| RunError::Corrupt(format!("{}: {e}", w.path)))?;
            Ok(Some(note.text().into_bytes()))
        }
        Source::Blob(hash) => {
            let hash = ContentHash::new(hash).map_err(PersistError::from)?;
            let obj = store
                .get(&keys::blob_key(vault, &hash))
                .await
                .map_err(PersistError::from)?;
            Ok(obj.map(|o| o.bytes.to_vec()))
        }
    }
}
