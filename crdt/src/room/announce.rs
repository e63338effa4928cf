//! Telling vault sessions that docs they do not follow have changed.
//!
//! A vault-endpoint session receives live updates only for the docs it has
//! touched on this connection. Without a nudge, an edit to any other note
//! would reach it only when it next asks `changes-since`. So once a change is
//! durable (the point where `changes-since` would report it), each vault
//! session that does not follow the doc gets an unsolicited `changes` frame
//! naming it, with the new cursor. The client then asks for the doc with
//! sync step 1 and follows it from there on: each session is nudged about a
//! doc at most once per connection until it follows it.
//!
//! Only sessions with a baseline are nudged: a device stores the cursor of a
//! `changes` frame once it has fetched what the frame lists, so a cursor must
//! never reach a session before the answer to its first `changes-since` has
//! listed everything it missed while offline.

use super::outbound::send;
use super::{Effect, Endpoint, Room};
use crate::protocol::{Message, VAULT_LEVEL};

impl Room {
    /// Queues `doc`, changed under `ticket`, for announcing once durable.
    /// Free-form docs of stock Yjs apps are not the vault's: devices never
    /// hear of them.
    pub(super) fn note_unannounced(&mut self, doc: &str, ticket: u64) {
        if crate::ids::is_app_doc(doc) {
            return;
        }
        self.unannounced.push_back((ticket, doc.to_owned()));
    }

    /// Announces the changes durable through `durable` to the vault sessions
    /// that do not follow the changed docs.
    pub(super) fn announce_durable(&mut self, durable: u64, out: &mut Vec<Effect>) {
        let mut changed: Vec<String> = Vec::new();
        while self.unannounced.front().is_some_and(|(t, _)| *t <= durable) {
            if let Some((_, doc)) = self.unannounced.pop_front() {
                changed.push(doc);
            }
        }
        if changed.is_empty() {
            return;
        }
        changed.sort_unstable();
        changed.dedup();
        for (id, session) in &self.sessions {
            // A session whose first `changes-since` is unanswered gets
            // nothing: its answer will list these docs, and a cursor sent
            // before it would pass changes the device never fetched.
            if session.endpoint != Endpoint::Vault || !session.baseline {
                continue;
            }
            let docs: Vec<&str> = changed
                .iter()
                .filter(|d| !session.docs.contains(d.as_str()))
                .map(String::as_str)
                .collect();
            if docs.is_empty() {
                continue;
            }
            let frame = Message::Changes {
                epoch: &self.epoch,
                cursor: durable,
                reset: false,
                docs,
            };
            out.push(send(*id, frame.to_vault_frame(VAULT_LEVEL)));
        }
    }
}
