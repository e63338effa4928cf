//! Sessions that outlive the room's memory.
//!
//! A shell that may drop the room while its sockets stay open (a Cloudflare
//! Durable Object hibernating with the WebSocket Hibernation API) saves each
//! session's [`SessionRecord`] and, once the room is rebuilt from storage,
//! hands the records back with [`Room::restore_session`]. Clients notice
//! nothing: they are not greeted again, their write numbers continue where
//! they were, and they keep receiving the updates of the docs they had open —
//! those docs are reloaded lazily, when something happens on them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Endpoint, Room, Session, SessionId};
use crate::token::{Scope, WritePaths};

/// What the room knows about one session, in a form a shell can store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The doc of a doc-endpoint session; `None` for the vault endpoint.
    pub doc: Option<String>,
    /// The token's scope.
    pub scope: Scope,
    /// The token's id (for revocation).
    pub token_id: Option<String>,
    /// Writes received so far per doc: the next write to a doc gets the next number.
    #[serde(default)]
    pub writes: BTreeMap<String, u64>,
    /// Docs the session receives updates for.
    #[serde(default)]
    pub docs: BTreeSet<String>,
    /// Whether the session's first `changes-since` was answered, so it may
    /// receive announcements. A record saved before this field existed reads
    /// as `false`: the device then learns of changes from its next
    /// `changes-since`, never from a cursor that could skip one.
    #[serde(default)]
    pub baseline: bool,
    /// The token's path prefixes, if its writes are limited to some paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<WritePaths>,
}

impl SessionRecord {
    /// The endpoint the session connected through.
    pub fn endpoint(&self) -> Endpoint {
        match &self.doc {
            Some(doc) => Endpoint::Doc(doc.clone()),
            None => Endpoint::Vault,
        }
    }
}

impl Room {
    /// The storable state of a session, or `None` if the room does not know it
    /// (it left, or was closed). Shells save it whenever it changes.
    pub fn session_record(&self, session: SessionId) -> Option<SessionRecord> {
        let s = self.sessions.get(&session)?;
        Some(SessionRecord {
            doc: match &s.endpoint {
                Endpoint::Doc(doc) => Some(doc.clone()),
                Endpoint::Vault => None,
            },
            scope: s.scope,
            token_id: s.token_id.clone(),
            writes: s.writes.iter().map(|(d, n)| (d.clone(), *n)).collect(),
            docs: s.docs.iter().cloned().collect(),
            baseline: s.baseline,
            paths: s.paths.clone(),
        })
    }

    /// Re-registers a session after the room was rebuilt, without greeting it:
    /// the client already had its hello (or sync step 1) and keeps its state.
    /// Its write numbering continues from `record.writes`; it is subscribed
    /// again to `record.docs` — at once for docs in memory, and for the others
    /// when they next load. Returns nothing to send: restoring is silent.
    pub fn restore_session(&mut self, session: SessionId, record: SessionRecord) {
        let endpoint = record.endpoint();
        let mut docs: std::collections::HashSet<String> = record.docs.into_iter().collect();
        if let Endpoint::Doc(doc) = &endpoint {
            docs.insert(doc.clone());
        }
        for doc in &docs {
            if let Some(live) = self.docs.get_mut(doc) {
                live.subscribers.insert(session);
            }
        }
        self.insert_session(
            session,
            Session {
                endpoint,
                scope: record.scope,
                token_id: record.token_id,
                paths: record.paths,
                writes: record.writes.into_iter().collect(),
                docs,
                baseline: record.baseline,
                rate: super::rates::SessionRate::new(&self.config.rates),
                absent: Default::default(),
            },
        );
    }

    /// Sessions that were subscribed to `doc` before it left memory (restored
    /// sessions, or ones whose doc was dropped); a doc starting to load takes
    /// them back as subscribers so they miss none of its updates.
    pub(super) fn waiting_subscribers(&self, doc: &str) -> BTreeSet<SessionId> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.docs.contains(doc))
            .map(|(id, _)| *id)
            .collect()
    }
}
