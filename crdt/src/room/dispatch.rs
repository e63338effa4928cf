//! How the room answers each message: sync, writes, awareness, and the
//! vault-level change cursor.

use bytes::Bytes;

use super::doc::{Applied, CrdtError, IndexCheck};
use super::outbound::{frame_for, send};
use super::{Effect, Endpoint, Phase, Queued, Room, SessionId};
use crate::awareness::decode_update;
use crate::ids::INDEX_DOC;
use crate::protocol::{ErrorCode, Message, SyncMessage, VAULT_LEVEL};
use crate::room::close;
use crate::token::Scope;
use crate::vault::PathPolicy;

impl Room {
    pub(super) fn on_vault_message(
        &mut self,
        session: SessionId,
        message: Message<'_>,
        out: &mut Vec<Effect>,
    ) {
        if let Message::ChangesSince { epoch, cursor } = message {
            let now_cursor = self.acks.durable_through();
            let reset = epoch != self.epoch || cursor > now_cursor;
            let mut docs: Vec<&str> = self
                .catalog
                .iter()
                .filter(|(d, t)| (reset || **t > cursor) && !crate::ids::is_app_doc(d))
                .map(|(d, _)| d.as_str())
                .collect();
            docs.sort_unstable();
            let reply = Message::Changes {
                epoch: &self.epoch,
                cursor: now_cursor,
                reset,
                docs,
            };
            out.push(send(session, reply.to_vault_frame(VAULT_LEVEL)));
            // From here on the session has a baseline: every change after
            // `now_cursor` reaches it as a live update or an announcement.
            if let Some(s) = self.sessions.get_mut(&session) {
                s.baseline = true;
            }
        }
        // Other vault-level messages from a client carry nothing for the relay.
    }

    pub(super) fn on_message(
        &mut self,
        session: SessionId,
        doc: &str,
        message: Message<'_>,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let seq = if message.is_write() {
            self.count_write(session, doc)
        } else {
            0
        };
        let is_new = !self.docs.contains_key(doc) && !self.catalog.contains_key(doc);
        if is_new
            && message.is_write()
            && self.catalog.len() >= self.config.limits.max_docs_per_vault
        {
            let text = format!(
                "this vault already holds {} notes, the limit",
                self.config.limits.max_docs_per_vault
            );
            self.refuse(session, doc, ErrorCode::LimitExceeded, seq, &text, out);
            return;
        }
        if is_new && !message.is_write() && self.catalog_complete {
            self.answer_absent(session, doc, &message, out);
            return;
        }
        let max_queued = self.config.max_queued_frames;
        let live = self.live(doc, now, out);
        live.last_active_ms = now;
        match &mut live.phase {
            Phase::Ready(_) => self.on_ready(session, doc, message, seq, now, out),
            Phase::Loading(queue) if queue.len() < max_queued => {
                queue.push_back(Queued::Frame {
                    session,
                    message: message.to_bytes(),
                    seq,
                });
            }
            Phase::Loading(_) => self.close_session(
                session,
                close::TOO_LARGE,
                "too many messages while the note loads",
                out,
            ),
            Phase::Quarantined(reason) => {
                let reason = reason.clone();
                self.refuse(session, doc, ErrorCode::DocQuarantined, seq, &reason, out);
            }
        }
    }

    pub(super) fn on_ready(
        &mut self,
        session: SessionId,
        doc: &str,
        message: Message<'_>,
        seq: u64,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let is_vault = s.endpoint == Endpoint::Vault;
        let scope = s.scope;
        if is_vault && !matches!(message, Message::QueryAwareness) && s.docs.insert(doc.to_owned())
        {
            self.subscribe(session, doc, out);
        }
        match message {
            Message::Sync(SyncMessage::Step1(sv)) => self.on_step1(session, doc, sv, is_vault, out),
            Message::Sync(SyncMessage::Step2(update) | SyncMessage::Update(update)) => {
                self.on_write(session, doc, update, seq, scope, now, out)
            }
            Message::Awareness(bytes) => match decode_update(bytes, &self.config.limits) {
                Ok(entries) => {
                    let forwarded = self
                        .docs
                        .get_mut(doc)
                        .and_then(|l| l.awareness.apply(session, &entries, now));
                    if let Some(update) = forwarded {
                        self.broadcast(
                            doc,
                            is_vault.then_some(session),
                            &Message::Awareness(&update),
                            out,
                        );
                    }
                }
                Err(e) => self.reject_frame(session, Some(doc), &e, out),
            },
            Message::QueryAwareness => {
                if let Some(update) = self.docs.get(doc).and_then(|l| l.awareness.full_update()) {
                    out.push(send(
                        session,
                        frame_for(is_vault, doc, &Message::Awareness(&update)),
                    ));
                }
            }
            // Acks, errors, hellos and auth messages from a client mean nothing to the relay.
            _ => {}
        }
    }

    pub(super) fn on_step1(
        &mut self,
        session: SessionId,
        doc: &str,
        sv: &[u8],
        is_vault: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some(Phase::Ready(crdt)) = self.docs.get(doc).map(|l| &l.phase) else {
            return;
        };
        match crdt.sync_reply(sv) {
            Ok((diff, ours)) => {
                out.push(send(
                    session,
                    frame_for(is_vault, doc, &Message::Sync(SyncMessage::Step2(&diff))),
                ));
                if is_vault {
                    // Ask for what we lack; the doc endpoint did this in its greeting.
                    out.push(send(
                        session,
                        frame_for(true, doc, &Message::Sync(SyncMessage::Step1(&ours))),
                    ));
                }
            }
            Err(CrdtError::Malformed(e)) => self.refuse(
                session,
                doc,
                ErrorCode::Malformed,
                0,
                &format!("bad state vector: {e}"),
                out,
            ),
            Err(CrdtError::Panicked(e)) => self.quarantine(doc, &e, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_write(
        &mut self,
        session: SessionId,
        doc: &str,
        update: &[u8],
        seq: u64,
        scope: Scope,
        now: u64,
        out: &mut Vec<Effect>,
    ) {
        let max_doc = self.config.limits.max_doc_bytes;
        let max_docs = self.config.limits.max_docs_per_vault;
        // A doc joins the catalog with its first change, and a client opens a
        // doc (sync step 1) before it writes: the doc-count limit must be
        // checked here, when a change would add a doc, not only on arrival.
        let adds_a_doc = !self.catalog.contains_key(doc) && self.catalog.len() >= max_docs;
        if scope >= Scope::Write {
            if let super::scope::Gate::Stop = self.path_gate(session, doc, update, seq, now, out) {
                return;
            }
        }
        let mut index_changed = Vec::new();
        let Some(live) = self.docs.get_mut(doc) else {
            return;
        };
        let Phase::Ready(crdt) = &mut live.phase else {
            return;
        };
        if adds_a_doc && scope >= Scope::Write && matches!(crdt.would_be_noop(update), Ok(false)) {
            let text = format!("this vault already holds {max_docs} notes, the limit");
            return self.refuse(session, doc, ErrorCode::LimitExceeded, seq, &text, out);
        }
        let result = if scope < Scope::Write {
            match crdt.would_be_noop(update) {
                Ok(true) => Ok(Applied::Unchanged),
                Ok(false) => {
                    let text = "this token is read-only: your change was not saved";
                    return self.refuse(session, doc, ErrorCode::PermissionDenied, seq, text, out);
                }
                Err(e) => Err(e),
            }
        } else if crdt.approx_bytes.saturating_add(update.len()) > max_doc {
            let text = format!("this note would exceed {max_doc} bytes, the limit");
            return self.refuse(session, doc, ErrorCode::LimitExceeded, seq, &text, out);
        } else if doc == INDEX_DOC && self.config.check_index_paths {
            // Index paths become files on every device: an entry pointing
            // into the config folder or out of the vault is refused whole,
            // before any of it reaches the doc, the log or other sessions.
            match crdt.index_check(update, Some(&PathPolicy::server())) {
                Ok(IndexCheck {
                    violation: Some((path, reason)),
                    ..
                }) => {
                    let text = format!("bad-path: {path:?}: {reason}; the change was not saved");
                    return self.refuse(session, doc, ErrorCode::BadPath, seq, &text, out);
                }
                Ok(IndexCheck { changed, .. }) => {
                    index_changed = changed;
                    crdt.apply(update)
                }
                Err(e) => Err(e),
            }
        } else {
            crdt.apply(update)
        };
        let ticket = match result {
            Ok(Applied::Changed { effective }) => {
                let from_vault = self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.endpoint == Endpoint::Vault);
                let ticket = self.record_change(
                    doc,
                    effective.into(),
                    from_vault.then_some(session),
                    now,
                    out,
                );
                self.entries_changed(index_changed, ticket);
                ticket
            }
            Ok(Applied::Unchanged) => self.next_ticket - 1,
            Err(CrdtError::Malformed(e)) => {
                return self.refuse(
                    session,
                    doc,
                    ErrorCode::Malformed,
                    seq,
                    &format!("bad update: {e}"),
                    out,
                )
            }
            Err(CrdtError::Panicked(e)) => return self.quarantine(doc, &e, out),
        };
        if seq > 0 {
            self.acks.push(ticket, session, doc, seq);
            let due = self.acks.release(0);
            out.extend(due.into_iter().filter_map(|(s, d, q)| {
                let vault = self
                    .sessions
                    .get(&s)
                    .is_some_and(|x| x.endpoint == Endpoint::Vault);
                vault.then(|| send(s, Message::Ack { seq: q }.to_vault_frame(&d)))
            }));
        }
    }

    /// Logs a change under a new ticket, marks the doc for a snapshot and
    /// forwards it to the doc's sessions (except `skip`). Returns the ticket.
    pub(super) fn record_change(
        &mut self,
        doc: &str,
        update: Bytes,
        skip: Option<SessionId>,
        now: u64,
        out: &mut Vec<Effect>,
    ) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(live) = self.docs.get_mut(doc) {
            live.snap.changed(ticket, now);
        }
        self.dirty.insert(doc.to_owned());
        self.catalog.insert(doc.to_owned(), ticket);
        if !self.catalog_unsaved.contains(doc) {
            self.catalog_unsaved.insert(doc.to_owned());
        }
        self.note_unannounced(doc, ticket);
        out.push(Effect::Persist {
            ticket,
            doc: doc.to_owned(),
            update: update.clone(),
        });
        self.broadcast(doc, skip, &Message::Sync(SyncMessage::Update(&update)), out);
        ticket
    }
}
