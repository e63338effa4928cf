//! Scheduled backups on a Cron Trigger (`[triggers] crons` in wrangler.toml):
//! every stored vault as plain Markdown and attachments, in its folder
//! layout, into R2 — the relay's `tessera-relay backup`, with the same
//! manifest (`.tessera-backup.json`) and the same decisions, which are the
//! core's ([`tessera_crdt::backup`]): a bucket backed up by one can be
//! continued by the other.
//!
//! Where: the R2 binding named by `TESSERA_BACKUP_BUCKET` (default `BUCKET`,
//! the vaults' own bucket), under `TESSERA_BACKUP_PREFIX` (default
//! `backups/`), one folder per vault: `backups/{vault}/Notes/a.md`. Keys
//! outside `vaults/` are never read by either shell, so the backup cannot be
//! mistaken for vault data. `TESSERA_BACKUP=off` turns the cron job off.
//!
//! What a cron run sees is storage: edits reach it within the snapshot
//! debounce (a Durable Object's unsnapshotted tail waits for the next run).

use tessera_crdt::backup::{
    self, deleted_path, needs_write, plan, BackupManifest, Source, Wanted, MANIFEST_NAME,
};
use tessera_crdt::keys::{self, ContentHash, DocId, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::vault::{EntryKind, Index};
use worker::{
    console_error, console_log, event, Bucket, Date, Env, ScheduleContext, ScheduledEvent,
};

use crate::object::BUCKET;
use crate::store::{Store, StoreError};

/// Files between two manifest saves, as the relay's default.
const BATCH: usize = 64;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
    if var("TESSERA_BACKUP").as_deref() == Some("off") {
        return;
    }
    let binding = var("TESSERA_BACKUP_BUCKET").unwrap_or_else(|| BUCKET.to_owned());
    let prefix = normalise(&var("TESSERA_BACKUP_PREFIX").unwrap_or_else(|| "backups/".into()));
    let (source, dest) = match (env.bucket(BUCKET), env.bucket(&binding)) {
        (Ok(s), Ok(d)) => (Store::new(s), d),
        _ => {
            console_error!("backup: no R2 binding {BUCKET} or {binding}; nothing backed up");
            return;
        }
    };
    let vaults = match stored_vaults(&env).await {
        Ok(v) => v,
        Err(e) => {
            console_error!("backup: listing vaults failed: {e}");
            return;
        }
    };
    for vault in vaults {
        let started = Date::now().as_millis();
        let target = Target {
            bucket: &dest,
            prefix: format!("{prefix}{vault}/"),
        };
        match run(&source, &vault, &target, started).await {
            Ok(r) => console_log!(
                "backup {vault}: {} written ({} bytes), {} removed, {} unchanged, {} refused, {} ms",
                r.written,
                r.bytes,
                r.removed,
                r.unchanged,
                r.refused,
                Date::now().as_millis().saturating_sub(started)
            ),
            // Said, not silent: a vault whose first notes are not yet
            // snapshotted is skipped until the next run.
            Err(RunError::NoIndex) => {
                console_log!("backup {vault}: skipped, no index snapshot stored yet")
            }
            Err(e) => console_error!("backup {vault} failed (the next run continues): {e}"),
        }
    }
}

/// `""` or `a/b/`.
fn normalise(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() || p.split('/').any(|s| s == ".." || s == ".") {
        String::new()
    } else {
        format!("{p}/")
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("R2: {0}")]
    R2(#[from] worker::Error),
    #[error(transparent)]
    Manifest(#[from] backup::BackupError),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("{0}")]
    Corrupt(String),
    #[error("no stored index")]
    NoIndex,
}

#[derive(Default)]
struct Report {
    written: usize,
    bytes: u64,
    removed: usize,
    unchanged: usize,
    refused: usize,
}

/// Vault ids with something stored: the `vaults/{id}/` prefixes.
async fn stored_vaults(env: &Env) -> Result<Vec<VaultId>, worker::Error> {
    let bucket = env.bucket(BUCKET)?;
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(keys::VAULTS_PREFIX).delimiter("/");
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        for p in page.delimited_prefixes() {
            let id = p
                .strip_prefix(keys::VAULTS_PREFIX)
                .unwrap_or_default()
                .trim_end_matches('/');
            if let Ok(v) = VaultId::new(id) {
                out.push(v);
            }
        }
        match (page.truncated(), page.cursor()) {
            (true, Some(c)) => cursor = Some(c),
            _ => break,
        }
    }
    Ok(out)
}

/// One vault's destination: objects `{prefix}{vault path}` in a bucket.
struct Target<'a> {
    bucket: &'a Bucket,
    prefix: String,
}

impl Target<'_> {
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, worker::Error> {
        let Some(obj) = self
            .bucket
            .get(format!("{}{path}", self.prefix))
            .execute()
            .await?
        else {
            return Ok(None);
        };
        match obj.body() {
            Some(body) => Ok(Some(body.bytes().await?)),
            None => Ok(Some(Vec::new())),
        }
    }

    async fn write(&self, path: &str, bytes: Vec<u8>) -> Result<(), worker::Error> {
        self.bucket
            .put(format!("{}{path}", self.prefix), bytes)
            .execute()
            .await?;
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), worker::Error> {
        if let Some(bytes) = self.read(from).await? {
            self.write(to, bytes).await?;
            self.bucket.delete(format!("{}{from}", self.prefix)).await?;
        }
        Ok(())
    }
}

async fn run(
    store: &Store,
    vault: &VaultId,
    target: &Target<'_>,
    now_ms: u64,
) -> Result<Report, RunError> {
    let mut manifest = match target.read(MANIFEST_NAME).await? {
        Some(bytes) => BackupManifest::decode(&bytes, vault.as_str())?,
        None => BackupManifest::new(vault.as_str()),
    };
    let index_doc = DocId::index();
    let Some((head, _)) = store.read_head(vault, &index_doc).await? else {
        return Err(RunError::NoIndex);
    };
    let state = store
        .read_snapshot(vault, &index_doc, &ContentHash::new(&head.snapshot)?)
        .await?;
    let index = Index::from_update(0, &state).map_err(|e| RunError::Corrupt(e.to_string()))?;
    let mut wanted = Vec::new();
    for e in backup::live_files(&index) {
        let source = match e.kind {
            EntryKind::Blob => match e.meta.hash.as_deref().map(ContentHash::new) {
                Some(Ok(h)) => Source::Blob(h.to_string()),
                _ => continue,
            },
            EntryKind::Note => {
                let Ok(doc) = DocId::new(&e.id) else { continue };
                match store.read_head(vault, &doc).await? {
                    Some((h, _)) => Source::Snapshot(h.snapshot),
                    None => Source::EmptyNote,
                }
            }
        };
        wanted.push(Wanted {
            path: e.path,
            id: e.id,
            kind: e.kind,
            source,
        });
    }
    let steps = plan(&manifest, wanted, false);
    let mut report = Report {
        unchanged: steps.unchanged,
        refused: steps.refused.len(),
        ..Report::default()
    };
    let stamp = backup::run_stamp(now_ms);
    let mut pending = 0usize;
    let mut saved = false;
    for path in &steps.remove {
        target.rename(path, &deleted_path(&stamp, path)).await?;
        manifest.forget(path);
        report.removed += 1;
        pending += 1;
    }
    for w in steps.fetch {
        let Some(bytes) = fetch(store, vault, &w).await? else {
            continue; // a missing blob: retried next run
        };
        if needs_write(&manifest, &w.path, &bytes, false) {
            report.written += 1;
            report.bytes += bytes.len() as u64;
            target.write(&w.path, bytes.clone()).await?;
        } else {
            report.unchanged += 1;
        }
        manifest.record(&w.path, &w.source, &bytes);
        pending += 1;
        if pending >= BATCH {
            target.write(MANIFEST_NAME, manifest.encode()).await?;
            (pending, saved) = (0, true);
        }
    }
    if saved || pending > 0 || manifest.index_snapshot.as_deref() != Some(&head.snapshot) {
        manifest.index_snapshot = Some(head.snapshot);
        manifest.updated_ms = Some(now_ms);
        target.write(MANIFEST_NAME, manifest.encode()).await?;
    }
    Ok(report)
}

async fn fetch(store: &Store, vault: &VaultId, w: &Wanted) -> Result<Option<Vec<u8>>, RunError> {
    match &w.source {
        Source::EmptyNote => Ok(Some(Vec::new())),
        Source::Snapshot(id) => {
            let doc = DocId::new(&w.id)?;
            let state = store
                .read_snapshot(vault, &doc, &ContentHash::new(id)?)
                .await?;
            let note = Note::from_update(0, &state)
                .map_err(|e| RunError::Corrupt(format!("{}: {e}", w.path)))?;
            Ok(Some(note.text().into_bytes()))
        }
        Source::Blob(hash) => {
            let key = keys::blob_key(vault, &ContentHash::new(hash)?);
            Ok(store.get(&key).await?.map(|(bytes, _)| bytes))
        }
    }
}
