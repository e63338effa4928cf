//! Files over REST inside the room: reading notes and the index, and edits
//! made as the relay's own writes — logged, broadcast to every session,
//! snapshotted and listed by `changes-since` like a device's.
//!
//! A shell calls [`Room::files`] with a parsed [`FileRequest`] and does what
//! the [`FileStep`] says: wait for a load and ask again, serve a blob from
//! storage, or carry out the reply's effects and answer once durable.

use super::doc::{Applied, CrdtError, IndexCheck};
use super::{Effect, LiveDoc, Phase, Room};
use crate::api::ApiError;
use crate::files::{Condition, FileInfo, FileReply, FileRequest, FileStep, ListQuery, Listing};
use crate::hash::blake3_hex;
use crate::ids::{new_file_id, random_client_id, INDEX_DOC};
use crate::note::Note;
use crate::vault::{Entry, EntryKind, EntryMeta, Index, PathPolicy};

/// Why the relay's own write was not applied.
#[derive(Debug)]
pub(super) enum ServerWriteError {
    /// The doc is not loaded and ready.
    NotReady,
    /// The change would break a limit or the path policy.
    Refused(ApiError),
    /// yrs refused or failed on the update.
    Crdt(CrdtError),
}

impl ServerWriteError {
    /// The error as a restore (which speaks yrs errors) reports it.
    pub(super) fn into_crdt(self) -> CrdtError {
        match self {
            ServerWriteError::NotReady => CrdtError::Malformed("the doc is not loaded".to_owned()),
            ServerWriteError::Refused(e) => CrdtError::Malformed(e.message),
            ServerWriteError::Crdt(e) => e,
        }
    }
}

impl From<ServerWriteError> for ApiError {
    fn from(e: ServerWriteError) -> Self {
        match e {
            ServerWriteError::Refused(e) => e,
            other => ApiError::unavailable(format!("the change could not be applied: {other:?}")),
        }
    }
}

impl Room {
    /// Serves one file request; see [`FileStep`] for what the shell does next.
    pub fn files(&mut self, req: &FileRequest, now: u64) -> Result<FileStep, ApiError> {
        let mut out = Vec::new();
        if !self.ready_or_load(INDEX_DOC, now, &mut out)? {
            return Ok(wait(INDEX_DOC, out));
        }
        let index = self.index()?;
        match req {
            FileRequest::List(query) => Ok(FileStep::Done(self.list(&index, query))),
            FileRequest::Get { path } => {
                let entry = live_at(&index, path)?;
                let version = self.file_version(&entry);
                if entry.kind == EntryKind::Blob {
                    let hash = entry.meta.hash.clone().ok_or_else(|| {
                        ApiError::not_found(format!("{path} has no content uploaded yet"))
                    })?;
                    return Ok(FileStep::Blob { hash, version });
                }
                if !self.ready_or_load(&entry.id, now, &mut out)? {
                    return Ok(wait(&entry.id, out));
                }
                let text = self.note(&entry.id)?.text();
                Ok(FileStep::Done(FileReply {
                    status: 200,
                    content_type: crate::files::MARKDOWN,
                    version: Some(version),
                    body: text.into_bytes(),
                    effects: out,
                    durable_at: None,
                }))
            }
            FileRequest::Put {
                path,
                text,
                condition,
                wall_ms,
            } => self.write_note(index, path, condition, *wall_ms, now, |_| text.clone()),
            FileRequest::Append {
                path,
                text,
                wall_ms,
            } => self.write_note(index, path, &Condition::None, *wall_ms, now, |old| {
                let mut new = old.to_owned();
                if !new.is_empty() && !new.ends_with('\n') {
                    new.push('\n');
                }
                new.push_str(text);
                new
            }),
            FileRequest::Delete { path, condition } => {
                let entry = index.lookup(path);
                let version = entry.as_ref().map(|e| self.file_version(e));
                if !condition.holds(version) {
                    return Err(precondition_failed(path, version));
                }
                let entry = entry.ok_or_else(|| no_file(path))?;
                let mut index = index;
                let update = index
                    .delete(&entry.id)
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
                let ticket = self.server_apply(INDEX_DOC, &update, now, &mut out)?;
                let version = ticket.unwrap_or_else(|| self.entry_version(&entry.id));
                let body = serde_json::json!({
                    "path": path, "id": entry.id, "deleted": true, "version": version,
                });
                Ok(done(
                    FileReply::json(200, &body, Some(version)),
                    out,
                    ticket,
                ))
            }
        }
    }

    /// PUT and append: `new_text` maps the current text (empty for a new
    /// note) to the wanted one, which enters the note as a minimal diff.
    #[allow(clippy::too_many_arguments)]
    fn write_note(
        &mut self,
        mut index: Index,
        path: &str,
        condition: &Condition,
        wall_ms: u64,
        now: u64,
        new_text: impl FnOnce(&str) -> String,
    ) -> Result<FileStep, ApiError> {
        let mut out = Vec::new();
        let entry = index.lookup(path);
        let version = entry.as_ref().map(|e| self.file_version(e));
        if !condition.holds(version) {
            return Err(precondition_failed(path, version));
        }
        let created = entry.is_none();
        let id = match &entry {
            Some(e) if e.kind != EntryKind::Note => {
                return Err(ApiError::new(
                    409,
                    "not-a-note",
                    format!("{path} is an attachment; upload its bytes as a blob instead"),
                ))
            }
            Some(e) => {
                if !self.ready_or_load(&e.id, now, &mut out)? {
                    return Ok(wait(&e.id, out));
                }
                e.id.clone()
            }
            None => self.new_note_doc(now)?,
        };
        let mut note = self.note(&id)?;
        let text = new_text(&note.text());
        let mut last = None;
        if let Some(update) = note
            .import_text(&text)
            .map_err(|e| ApiError::unavailable(e.to_string()))?
        {
            last = self.server_apply(&id, &update, now, &mut out)?;
        }
        let meta = EntryMeta {
            hash: Some(blake3_hex(text.as_bytes())),
            size: Some(text.len() as u64),
            mtime: Some(wall_ms),
        };
        let index_update = match &entry {
            None => index.create_with_id(&id, path, EntryKind::Note, meta),
            Some(e) if last.is_some() && e.meta != meta => index.set_meta(&id, meta),
            Some(_) => Ok(Vec::new()),
        }
        .map_err(|e| ApiError::bad_request("bad-path", e.to_string()))?;
        let mut durable_at = last;
        if !index_update.is_empty() {
            durable_at = self
                .server_apply(INDEX_DOC, &index_update, now, &mut out)?
                .or(durable_at);
        }
        let version = last.unwrap_or_else(|| {
            self.catalog
                .get(&id)
                .copied()
                .unwrap_or_else(|| self.entry_version(&id))
        });
        let body = serde_json::json!({
            "path": path, "id": id, "version": version, "created": created,
        });
        let status = if created { 201 } else { 200 };
        Ok(done(
            FileReply::json(status, &body, Some(version)),
            out,
            durable_at,
        ))
    }

    /// A ready, empty doc under a fresh file id. Nothing is stored under a
    /// new random id, so there is nothing to load.
    fn new_note_doc(&mut self, now: u64) -> Result<String, ApiError> {
        let max = self.config.limits.max_docs_per_vault;
        if self.catalog.len() >= max {
            return Err(ApiError::new(
                507,
                "limit-exceeded",
                format!("this vault already holds {max} notes, the limit"),
            ));
        }
        let id = new_file_id();
        let mut live = LiveDoc::loading(now);
        live.phase = Phase::Ready(Box::new(super::doc::CrdtDoc::new()));
        self.docs.insert(id.clone(), live);
        Ok(id)
    }

    /// The listing: every live file, or what changed after `since`.
    fn list(&self, index: &Index, query: &ListQuery) -> FileReply {
        let cursor = self.cursor();
        let reset = query.since.is_some_and(|since| {
            since > cursor || query.epoch.as_deref().is_some_and(|e| e != self.epoch)
        });
        let since = query.since.filter(|_| !reset);
        let policy = PathPolicy::server();
        let mut files: Vec<FileInfo> = index
            .all_entries()
            .into_iter()
            .filter(|e| policy.allows(&e.path))
            .filter(|e| match since {
                None => !e.deleted && shown(index, e),
                Some(since) => self.changed_at(e) > since && (e.deleted || shown(index, e)),
            })
            .map(|e| FileInfo::of(&e, self.file_version(&e)))
            .collect();
        files.sort_by(|a, b| (&a.path, &a.id).cmp(&(&b.path, &b.id)));
        let listing = Listing {
            epoch: self.epoch.clone(),
            cursor,
            reset,
            files,
        };
        let body = serde_json::to_value(&listing).unwrap_or_default();
        FileReply::json(200, &body, None)
    }

    /// Applies the relay's own change to a ready doc: index changes are held
    /// to the path policy, every change to the size limits. Returns the
    /// ticket, or `None` when it changed nothing.
    pub(super) fn server_apply(
        &mut self,
        doc: &str,
        update: &[u8],
        now: u64,
        out: &mut Vec<Effect>,
    ) -> Result<Option<u64>, ServerWriteError> {
        let limits = self.config.limits;
        let Some(LiveDoc {
            phase: Phase::Ready(crdt),
            ..
        }) = self.docs.get_mut(doc)
        else {
            return Err(ServerWriteError::NotReady);
        };
        if update.len() > limits.max_update_bytes
            || crdt.approx_bytes.saturating_add(update.len()) > limits.max_doc_bytes
        {
            return Err(ServerWriteError::Refused(ApiError::new(
                413,
                "limit-exceeded",
                format!(
                    "this change would exceed the limits of {} bytes per change and {} per note",
                    limits.max_update_bytes, limits.max_doc_bytes
                ),
            )));
        }
        let mut changed_entries = Vec::new();
        if doc == INDEX_DOC {
            let check = crdt
                .index_check(update, Some(&PathPolicy::server()))
                .map_err(ServerWriteError::Crdt)?;
            if let IndexCheck {
                violation: Some((path, reason)),
                ..
            } = check
            {
                return Err(ServerWriteError::Refused(ApiError::bad_request(
                    "bad-path",
                    format!("the path {path:?} is not acceptable: {reason}"),
                )));
            }
            changed_entries = check.changed;
        }
        match crdt.apply(update) {
            Ok(Applied::Changed { effective }) => {
                let ticket = self.record_change(doc, effective.into(), None, now, out);
                self.entries_changed(changed_entries, ticket);
                Ok(Some(ticket))
            }
            Ok(Applied::Unchanged) => Ok(None),
            Err(CrdtError::Panicked(e)) => {
                self.quarantine(doc, &e, out);
                Err(ServerWriteError::Crdt(CrdtError::Panicked(e)))
            }
            Err(e) => Err(ServerWriteError::Crdt(e)),
        }
    }

    /// Records that index entries `ids` changed under `ticket`.
    pub(super) fn entries_changed(&mut self, ids: Vec<String>, ticket: u64) {
        for id in ids {
            self.entry_tickets.insert(id, ticket);
        }
    }

    /// True when `doc` is ready; otherwise starts loading it (effects in
    /// `out`). A quarantined doc is refused.
    fn ready_or_load(
        &mut self,
        doc: &str,
        now: u64,
        out: &mut Vec<Effect>,
    ) -> Result<bool, ApiError> {
        match self.docs.get(doc).map(|l| &l.phase) {
            Some(Phase::Ready(_)) => Ok(true),
            Some(Phase::Quarantined(reason)) => Err(ApiError::unavailable(reason.clone())),
            Some(Phase::Loading(_)) => Ok(false),
            None => {
                self.live(doc, now, out);
                Ok(false)
            }
        }
    }

    fn index(&self) -> Result<Index, ApiError> {
        let state = self
            .doc_state(INDEX_DOC)
            .ok_or_else(|| ApiError::unavailable("the vault index could not be read"))?;
        Index::from_update(random_client_id(), &state)
            .map_err(|e| ApiError::unavailable(format!("the vault index could not be read: {e}")))
    }

    fn note(&self, id: &str) -> Result<Note, ApiError> {
        let state = self
            .doc_state(id)
            .ok_or_else(|| ApiError::unavailable("the note could not be read"))?;
        Note::from_update(random_client_id(), &state)
            .map_err(|e| ApiError::unavailable(format!("the note could not be read: {e}")))
    }

    /// The ticket that last changed the entry itself (path, meta, tombstone).
    fn entry_version(&self, id: &str) -> u64 {
        self.entry_tickets
            .get(id)
            .copied()
            .unwrap_or(self.index_base.unwrap_or(0))
    }

    /// A file's version: a note's text's last change, else its entry's.
    fn file_version(&self, e: &Entry) -> u64 {
        match (e.kind, self.catalog.get(&e.id)) {
            (EntryKind::Note, Some(ticket)) if !e.deleted => *ticket,
            _ => self.entry_version(&e.id),
        }
    }

    /// When anything about the file last changed: its text or its entry.
    fn changed_at(&self, e: &Entry) -> u64 {
        self.file_version(e).max(self.entry_version(&e.id))
    }
}

/// True when `e` is the entry its path shows (the smallest id of a conflict).
fn shown(index: &Index, e: &Entry) -> bool {
    index.lookup(&e.path).is_some_and(|w| w.id == e.id)
}

fn live_at(index: &Index, path: &str) -> Result<Entry, ApiError> {
    index.lookup(path).ok_or_else(|| no_file(path))
}

fn no_file(path: &str) -> ApiError {
    ApiError::not_found(format!("there is no file at {path}"))
}

fn precondition_failed(path: &str, version: Option<u64>) -> ApiError {
    let now = match version {
        Some(v) => format!("it is now at version {v}"),
        None => "it does not exist".to_owned(),
    };
    ApiError::new(
        412,
        "precondition-failed",
        format!("{path} is not what the request expected: {now}; nothing was changed"),
    )
}

fn wait(doc: &str, effects: Vec<Effect>) -> FileStep {
    FileStep::Wait {
        doc: doc.to_owned(),
        effects,
    }
}

fn done(mut reply: FileReply, effects: Vec<Effect>, durable_at: Option<u64>) -> FileStep {
    reply.effects = effects;
    reply.durable_at = durable_at;
    FileStep::Done(reply)
}
