//! Reads of docs the vault does not hold, answered without loading them.
//!
//! With a complete catalog the room knows a doc outside it has no content
//! anywhere, so a step 1 gets what an empty doc would answer and nothing is
//! loaded, subscribed or kept: a session sending step 1s or cursors for
//! random ids costs one small reply each, not a storage read and a resident
//! doc. The session does follow the doc, so the first write, which creates
//! it, reaches the session live like any update; how many such docs one
//! session may follow at once is bounded ([`MAX_ABSENT_FOLLOWS`]), which is
//! what keeps a read token from growing the room without limit.

use super::outbound::{frame_for, send};
use super::{Effect, Endpoint, Room, SessionId};
use crate::protocol::{ErrorCode, Message, SyncMessage};

/// Docs the vault does not hold that one session may follow at once (a
/// device asks for a note it is about to create; a client asking for
/// thousands of ids nobody wrote is probing).
pub const MAX_ABSENT_FOLLOWS: usize = 1_024;

/// yrs's v1 encoding of an update that changes nothing (no structs, an empty delete set).
pub(crate) const EMPTY_UPDATE: [u8; 2] = [0, 0];
/// yrs's v1 encoding of an empty state vector.
pub(crate) const EMPTY_STATE_VECTOR: [u8; 1] = [0];

impl Room {
    /// Answers a read-only `message` about `doc`, which the vault does not hold.
    pub(super) fn answer_absent(
        &mut self,
        session: SessionId,
        doc: &str,
        message: &Message<'_>,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let is_vault = s.endpoint == Endpoint::Vault;
        if let Message::Sync(SyncMessage::Step1(_)) = message {
            if !s.docs.contains(doc) {
                if s.absent.len() >= MAX_ABSENT_FOLLOWS {
                    let text = format!(
                        "this socket follows {MAX_ABSENT_FOLLOWS} notes that do not exist yet, \
                         the limit; ask again once they are written"
                    );
                    self.refuse(session, doc, ErrorCode::LimitExceeded, 0, &text, out);
                    return;
                }
                // Followed without a load: the write that creates the doc
                // finds this session among its subscribers (`Room::live`).
                s.absent.insert(doc.to_owned());
                s.docs.insert(doc.to_owned());
            }
            let step2 = Message::Sync(SyncMessage::Step2(&EMPTY_UPDATE));
            out.push(send(session, frame_for(is_vault, doc, &step2)));
            if is_vault {
                let step1 = Message::Sync(SyncMessage::Step1(&EMPTY_STATE_VECTOR));
                out.push(send(session, frame_for(true, doc, &step1)));
            }
        }
        // Presence on a doc nobody has written is not kept: cursors are
        // ephemeral and the next one, after the doc's first write, counts.
    }
}

impl Room {
    /// `doc` now exists: the sessions that followed it while absent no
    /// longer count it against their bound.
    pub(super) fn absent_created(&mut self, doc: &str) {
        for s in self.sessions.values_mut() {
            s.absent.remove(doc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::encoder::Encode;
    use yrs::{Doc, ReadTxn, StateVector, Transact};

    #[test]
    fn the_empty_answers_are_what_yrs_writes_for_an_empty_doc() {
        let doc = Doc::new();
        let txn = doc.transact();
        assert_eq!(
            txn.encode_state_as_update_v1(&StateVector::default()),
            EMPTY_UPDATE
        );
        assert_eq!(txn.state_vector().encode_v1(), EMPTY_STATE_VECTOR);
    }
}
