//! What the room sends: greetings, broadcasts, refusals and closes, each
//! shaped for the endpoint the session came through.

use bytes::Bytes;

use super::{close, Effect, Endpoint, Phase, Room, SessionId};
use crate::encoding::DecodeError;
use crate::protocol::{ErrorCode, Message, SyncMessage};

impl Room {
    pub(super) fn subscribe(&mut self, session: SessionId, doc: &str, out: &mut Vec<Effect>) {
        if let Some(live) = self.docs.get_mut(doc) {
            live.subscribers.insert(session);
            if let Some(update) = live.awareness.full_update() {
                out.push(send(
                    session,
                    frame_for(true, doc, &Message::Awareness(&update)),
                ));
            }
        }
    }

    pub(super) fn greet(&mut self, session: SessionId, doc: &str, out: &mut Vec<Effect>) {
        let Some(live) = self.docs.get(doc) else {
            return;
        };
        let Phase::Ready(crdt) = &live.phase else {
            return;
        };
        match crdt.state_vector() {
            Ok(sv) => out.push(send(
                session,
                Message::Sync(SyncMessage::Step1(&sv)).to_bytes(),
            )),
            Err(e) => return self.quarantine(doc, &e.to_string(), out),
        }
        if let Some(update) = live.awareness.full_update() {
            out.push(send(session, Message::Awareness(&update).to_bytes()));
        }
    }

    /// Sends `message` to every subscriber of `doc` except `skip`.
    pub(super) fn broadcast(
        &self,
        doc: &str,
        skip: Option<SessionId>,
        message: &Message<'_>,
        out: &mut Vec<Effect>,
    ) {
        let Some(live) = self.docs.get(doc) else {
            return;
        };
        let (mut plain, mut framed): (Option<Bytes>, Option<Bytes>) = (None, None);
        for &to in &live.subscribers {
            if Some(to) == skip {
                continue;
            }
            let Some(s) = self.sessions.get(&to) else {
                continue;
            };
            let frame = if s.endpoint == Endpoint::Vault {
                framed
                    .get_or_insert_with(|| Bytes::from(message.to_vault_frame(doc)))
                    .clone()
            } else {
                plain
                    .get_or_insert_with(|| Bytes::from(message.to_bytes()))
                    .clone()
            };
            out.push(Effect::Send { to, frame });
        }
    }

    /// Tells a session no. Vault sessions get an error frame and stay
    /// connected; stock Yjs clients get the y-protocols permission-denied
    /// message, or a close with a reason they can log.
    pub(super) fn refuse(
        &mut self,
        session: SessionId,
        doc: &str,
        code: ErrorCode,
        seq: u64,
        text: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.endpoint == Endpoint::Vault {
            out.push(send(
                session,
                Message::Error { code, seq, text }.to_vault_frame(doc),
            ));
            return;
        }
        let close_code = match code {
            // A refused write on the doc endpoint is reported like a
            // read-only refusal (y-protocols auth message) and the socket
            // stays open: the write was simply not applied.
            ErrorCode::PermissionDenied | ErrorCode::BadPath | ErrorCode::PathNotAllowed => {
                out.push(send(
                    session,
                    Message::PermissionDenied { reason: text }.to_bytes(),
                ));
                return;
            }
            ErrorCode::LimitExceeded => close::TOO_LARGE,
            ErrorCode::DocQuarantined => close::DOC_QUARANTINED,
            ErrorCode::Internal | ErrorCode::Other(_) => close::INTERNAL,
            ErrorCode::Malformed | ErrorCode::BadDocId => close::MALFORMED,
        };
        self.close_session(session, close_code, text, out);
    }

    /// A frame that could not be decoded: the connection is out of step, so
    /// it is closed (vault sessions first get an error frame naming the doc).
    pub(super) fn reject_frame(
        &mut self,
        session: SessionId,
        doc: Option<&str>,
        e: &DecodeError,
        out: &mut Vec<Effect>,
    ) {
        let (code, close_code) = match e {
            DecodeError::TooLong { .. } => (ErrorCode::LimitExceeded, close::TOO_LARGE),
            _ => (ErrorCode::Malformed, close::MALFORMED),
        };
        let text = e.to_string();
        if let (Some(doc), Some(s)) = (doc, self.sessions.get(&session)) {
            if s.endpoint == Endpoint::Vault {
                out.push(send(
                    session,
                    Message::Error {
                        code,
                        seq: 0,
                        text: &text,
                    }
                    .to_vault_frame(doc),
                ));
            }
        }
        self.close_session(session, close_code, &text, out);
    }

    pub(super) fn close_session(
        &mut self,
        session: SessionId,
        code: u16,
        reason: &str,
        out: &mut Vec<Effect>,
    ) {
        if self.sessions.contains_key(&session) {
            self.drop_session(session, out);
            out.push(Effect::Close {
                to: session,
                code,
                reason: truncate_reason(reason),
            });
        }
    }

    pub(super) fn drop_session(&mut self, session: SessionId, out: &mut Vec<Effect>) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.count_closed(s.token_id.as_deref());
        self.acks.forget(session);
        for doc in s.docs {
            let removal = self.docs.get_mut(&doc).and_then(|live| {
                live.subscribers.remove(&session);
                if let Phase::Loading(queue) = &mut live.phase {
                    queue.retain(|q| q.session() != session);
                }
                live.awareness.remove_owner(session)
            });
            if let Some(update) = removal {
                self.broadcast(&doc, None, &Message::Awareness(&update), out);
            }
        }
    }
}

pub(super) fn send(to: SessionId, frame: Vec<u8>) -> Effect {
    Effect::Send {
        to,
        frame: Bytes::from(frame),
    }
}

pub(super) fn frame_for(is_vault: bool, doc: &str, message: &Message<'_>) -> Vec<u8> {
    if is_vault {
        message.to_vault_frame(doc)
    } else {
        message.to_bytes()
    }
}

/// WebSocket close reasons are limited to 123 bytes; cut on a char boundary.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}
