//! The wire protocol: y-protocols messages, the vault envelope, and
//! Tessera's extension messages.
//!
//! Byte-compatible with Yjs' y-protocols as used by y-websocket: a message is
//! `varUint(type)` followed by its payload. Types 0–3 are Yjs' own:
//!
//! | type | message        | payload                                              |
//! |------|----------------|------------------------------------------------------|
//! | 0    | sync           | `varUint(0=step1,1=step2,2=update)` + `varUint8Array` |
//! | 1    | awareness      | `varUint8Array(awareness update)`                    |
//! | 2    | auth           | `varUint(0=permission denied)` + `varString(reason)` |
//! | 3    | query awareness| —                                                    |
//!
//! Types ≥ 100 are Tessera's extensions, sent only on the vault endpoint
//! (stock Yjs clients on the doc endpoint never see them):
//!
//! | type | message       | payload                                                             |
//! |------|---------------|---------------------------------------------------------------------|
//! | 100  | ack           | `varUint(seq)`: the first `seq` writes this connection sent for the frame's doc are durable |
//! | 101  | changes since | `varString(epoch)` `varUint(cursor)`: client asks which docs changed |
//! | 102  | changes       | `varString(epoch)` `varUint(cursor)` `varUint(reset)` `varUint(n)` `n × varString(doc)` |
//! | 103  | error         | `varUint(code)` `varUint(seq)` `varString(text)`: `seq` names the refused write (see ack), 0 if none |
//! | 104  | hello         | `varString(server)` `varString(scope)` `varString(epoch)` `varUint(cursor)` |
//!
//! On the vault endpoint every frame is `varString(docId)` followed by one
//! message; vault-level messages (changes, hello, errors about the
//! connection) use the empty doc id.
//!
//! Decoding borrows from the frame and checks every length against
//! [`Limits`] before anything is copied or handed to yrs.

use crate::encoding::{write_var_bytes, write_var_str, write_var_u64, DecodeError, Reader};
use crate::limits::Limits;

/// y-protocols message type: sync.
pub const MSG_SYNC: u64 = 0;
/// y-protocols message type: awareness.
pub const MSG_AWARENESS: u64 = 1;
/// y-protocols message type: auth.
pub const MSG_AUTH: u64 = 2;
/// y-protocols message type: query awareness.
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// Extension: durable acknowledgement. Writes (sync step 2 and updates) are
/// numbered per connection and doc from 1; `Ack { seq }` says each of the
/// first `seq` was made durable or was refused by an earlier error frame
/// carrying its number.
pub const MSG_ACK: u64 = 100;
/// Extension: client asks for docs changed since a cursor.
pub const MSG_CHANGES_SINCE: u64 = 101;
/// Extension: the relay's answer to [`MSG_CHANGES_SINCE`].
pub const MSG_CHANGES: u64 = 102;
/// Extension: an error with a reason code.
pub const MSG_ERROR: u64 = 103;
/// Extension: the relay greets a vault connection.
pub const MSG_HELLO: u64 = 104;

/// The doc id of vault-level frames on the vault endpoint.
pub const VAULT_LEVEL: &str = "";

/// A y-protocols sync message. Payloads are yrs v1 bytes, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMessage<'a> {
    /// "Here is my state vector; send me what I lack."
    Step1(&'a [u8]),
    /// "Here is what you lack." (an update)
    Step2(&'a [u8]),
    /// An incremental update.
    Update(&'a [u8]),
}

/// Reason codes carried by [`Message::Error`]. Stable on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The token's scope does not allow this (e.g. a write with a read token).
    PermissionDenied,
    /// A frame, update, awareness message or count exceeded a limit.
    LimitExceeded,
    /// The doc failed to apply an update and is closed to protect the vault.
    DocQuarantined,
    /// The frame could not be decoded.
    Malformed,
    /// The doc id is not valid.
    BadDocId,
    /// The relay failed internally; retry later.
    Internal,
    /// An index write would create or rename an entry to a path the path
    /// policy refuses ([`crate::vault::PathPolicy`]); nothing of it was applied.
    BadPath,
    /// A path-limited token wrote outside its prefixes: an index write that
    /// creates, renames, changes or deletes an entry outside them, or a note
    /// whose index path is outside them. Nothing of it was applied.
    PathNotAllowed,
    /// A code from a newer peer.
    Other(u64),
}

impl ErrorCode {
    /// The code's number on the wire.
    pub fn to_u64(self) -> u64 {
        match self {
            ErrorCode::PermissionDenied => 1,
            ErrorCode::LimitExceeded => 2,
            ErrorCode::DocQuarantined => 3,
            ErrorCode::Malformed => 4,
            ErrorCode::BadDocId => 5,
            ErrorCode::Internal => 6,
            ErrorCode::BadPath => 7,
            ErrorCode::PathNotAllowed => 8,
            ErrorCode::Other(n) => n,
        }
    }

    /// The code for a number from the wire.
    pub fn from_u64(n: u64) -> Self {
        match n {
            1 => ErrorCode::PermissionDenied,
            2 => ErrorCode::LimitExceeded,
            3 => ErrorCode::DocQuarantined,
            4 => ErrorCode::Malformed,
            5 => ErrorCode::BadDocId,
            6 => ErrorCode::Internal,
            7 => ErrorCode::BadPath,
            8 => ErrorCode::PathNotAllowed,
            n => ErrorCode::Other(n),
        }
    }

    /// A short stable name, for logs, metrics and close reasons.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::PermissionDenied => "permission-denied",
            ErrorCode::LimitExceeded => "limit-exceeded",
            ErrorCode::DocQuarantined => "doc-quarantined",
            ErrorCode::Malformed => "malformed",
            ErrorCode::BadDocId => "bad-doc-id",
            ErrorCode::Internal => "internal",
            ErrorCode::BadPath => "bad-path",
            ErrorCode::PathNotAllowed => "path-not-allowed",
            ErrorCode::Other(_) => "other",
        }
    }
}

/// One protocol message, borrowing from the frame it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// y-protocols sync.
    Sync(SyncMessage<'a>),
    /// y-protocols awareness: the raw awareness update (see [`crate::awareness`]).
    Awareness(&'a [u8]),
    /// y-protocols auth: permission denied, with a reason.
    PermissionDenied {
        /// Why, for a human.
        reason: &'a str,
    },
    /// y-protocols query awareness.
    QueryAwareness,
    /// The first `seq` writes this connection sent for the frame's doc are durable.
    Ack {
        /// Count of durable writes, cumulative per connection and doc.
        seq: u64,
    },
    /// Asks which docs changed since `cursor` (of the relay's `epoch`).
    ChangesSince {
        /// The epoch the cursor belongs to; empty when the client has none.
        epoch: &'a str,
        /// The cursor from the last [`Message::Changes`] or [`Message::Hello`].
        cursor: u64,
    },
    /// The docs that changed since the requested cursor.
    Changes {
        /// The relay's current epoch.
        epoch: &'a str,
        /// The cursor to ask from next time.
        cursor: u64,
        /// True when the old cursor could not be honoured and `docs` lists every doc.
        reset: bool,
        /// The doc ids.
        docs: Vec<&'a str>,
    },
    /// An error with a reason code and a message for humans.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// The refused write's number (counted like [`Message::Ack`]'s
        /// `seq`), or 0 when the error is not about one write.
        seq: u64,
        /// Human-readable explanation.
        text: &'a str,
    },
    /// The relay's greeting on a vault connection.
    Hello {
        /// Server name and version.
        server: &'a str,
        /// The connection's scope: `read`, `write` or `admin`.
        scope: &'a str,
        /// The relay's epoch for change cursors.
        epoch: &'a str,
        /// The vault's current change cursor.
        cursor: u64,
    },
}

/// Why a frame was refused.
pub type ProtocolError = DecodeError;

impl<'a> Message<'a> {
    /// Decodes exactly one message from `bytes`; trailing bytes are an error.
    pub fn decode(bytes: &'a [u8], limits: &Limits) -> Result<Self, ProtocolError> {
        check_frame(bytes, limits)?;
        let mut r = Reader::new(bytes);
        let msg = Self::read(&mut r, limits)?;
        r.finish()?;
        Ok(msg)
    }

    /// Reads one message from a reader positioned at its type.
    pub fn read(r: &mut Reader<'a>, limits: &Limits) -> Result<Self, ProtocolError> {
        let ty = r.read_var_u64()?;
        let s = limits.max_string_bytes;
        Ok(match ty {
            MSG_SYNC => {
                let sub = r.read_var_u64()?;
                let payload = r.read_var_bytes("update", limits.max_update_bytes)?;
                Message::Sync(match sub {
                    0 => SyncMessage::Step1(payload),
                    1 => SyncMessage::Step2(payload),
                    2 => SyncMessage::Update(payload),
                    value => {
                        return Err(DecodeError::UnknownType {
                            what: "sync message",
                            value,
                        })
                    }
                })
            }
            MSG_AWARENESS => Message::Awareness(
                r.read_var_bytes("awareness update", limits.max_awareness_bytes)?,
            ),
            MSG_AUTH => match r.read_var_u64()? {
                0 => Message::PermissionDenied {
                    reason: r.read_var_str("reason", s)?,
                },
                value => {
                    return Err(DecodeError::UnknownType {
                        what: "auth message",
                        value,
                    })
                }
            },
            MSG_QUERY_AWARENESS => Message::QueryAwareness,
            MSG_ACK => Message::Ack {
                seq: r.read_var_u64()?,
            },
            MSG_CHANGES_SINCE => Message::ChangesSince {
                epoch: r.read_var_str("epoch", s)?,
                cursor: r.read_var_u64()?,
            },
            MSG_CHANGES => {
                let epoch = r.read_var_str("epoch", s)?;
                let cursor = r.read_var_u64()?;
                let reset = read_bool(r)?;
                let n = r.read_var_u64()?;
                if n > limits.max_docs_per_vault as u64 {
                    return Err(DecodeError::TooLong {
                        what: "changes list",
                        len: n,
                        max: limits.max_docs_per_vault,
                    });
                }
                // Each entry takes at least one byte, which bounds the allocation by the frame.
                let mut docs = Vec::with_capacity((n as usize).min(r.remaining()));
                for _ in 0..n {
                    docs.push(r.read_var_str("doc id", limits.max_doc_id_bytes)?);
                }
                Message::Changes {
                    epoch,
                    cursor,
                    reset,
                    docs,
                }
            }
            MSG_ERROR => Message::Error {
                code: ErrorCode::from_u64(r.read_var_u64()?),
                seq: r.read_var_u64()?,
                text: r.read_var_str("error text", s)?,
            },
            MSG_HELLO => Message::Hello {
                server: r.read_var_str("server", s)?,
                scope: r.read_var_str("scope", s)?,
                epoch: r.read_var_str("epoch", s)?,
                cursor: r.read_var_u64()?,
            },
            value => {
                return Err(DecodeError::UnknownType {
                    what: "message",
                    value,
                })
            }
        })
    }

    /// Appends the encoded message to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Message::Sync(sync) => {
                write_var_u64(out, MSG_SYNC);
                let (sub, payload) = match sync {
                    SyncMessage::Step1(p) => (0, p),
                    SyncMessage::Step2(p) => (1, p),
                    SyncMessage::Update(p) => (2, p),
                };
                write_var_u64(out, sub);
                write_var_bytes(out, payload);
            }
            Message::Awareness(update) => {
                write_var_u64(out, MSG_AWARENESS);
                write_var_bytes(out, update);
            }
            Message::PermissionDenied { reason } => {
                write_var_u64(out, MSG_AUTH);
                write_var_u64(out, 0);
                write_var_str(out, reason);
            }
            Message::QueryAwareness => write_var_u64(out, MSG_QUERY_AWARENESS),
            Message::Ack { seq } => {
                write_var_u64(out, MSG_ACK);
                write_var_u64(out, *seq);
            }
            Message::ChangesSince { epoch, cursor } => {
                write_var_u64(out, MSG_CHANGES_SINCE);
                write_var_str(out, epoch);
                write_var_u64(out, *cursor);
            }
            Message::Changes {
                epoch,
                cursor,
                reset,
                docs,
            } => {
                write_var_u64(out, MSG_CHANGES);
                write_var_str(out, epoch);
                write_var_u64(out, *cursor);
                write_var_u64(out, u64::from(*reset));
                write_var_u64(out, docs.len() as u64);
                for doc in docs {
                    write_var_str(out, doc);
                }
            }
            Message::Error { code, seq, text } => {
                write_var_u64(out, MSG_ERROR);
                write_var_u64(out, code.to_u64());
                write_var_u64(out, *seq);
                write_var_str(out, text);
            }
            Message::Hello {
                server,
                scope,
                epoch,
                cursor,
            } => {
                write_var_u64(out, MSG_HELLO);
                write_var_str(out, server);
                write_var_str(out, scope);
                write_var_str(out, epoch);
                write_var_u64(out, *cursor);
            }
        }
    }

    /// The encoded message, as sent on the doc endpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// The message inside a vault envelope for `doc`, as sent on the vault endpoint.
    pub fn to_vault_frame(&self, doc: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_var_str(&mut out, doc);
        self.write(&mut out);
        out
    }

    /// True for messages that carry document changes (sync step 2 and updates).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Message::Sync(SyncMessage::Step2(_) | SyncMessage::Update(_))
        )
    }
}

/// A frame from the vault endpoint: which doc, and one message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultFrame<'a> {
    /// The doc the message is about; [`VAULT_LEVEL`] for vault-level messages.
    pub doc: &'a str,
    /// The message.
    pub message: Message<'a>,
}

impl<'a> VaultFrame<'a> {
    /// Decodes `varString(docId)` + one message. The doc id is length-checked
    /// here; whether it names a valid doc is the room's decision.
    pub fn decode(bytes: &'a [u8], limits: &Limits) -> Result<Self, ProtocolError> {
        check_frame(bytes, limits)?;
        let mut r = Reader::new(bytes);
        let doc = r.read_var_str("doc id", limits.max_doc_id_bytes)?;
        let message = Message::read(&mut r, limits)?;
        r.finish()?;
        Ok(VaultFrame { doc, message })
    }

    /// Encodes the frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.message.to_vault_frame(self.doc)
    }
}

fn check_frame(bytes: &[u8], limits: &Limits) -> Result<(), ProtocolError> {
    if bytes.len() > limits.max_frame_bytes {
        return Err(DecodeError::TooLong {
            what: "frame",
            len: bytes.len() as u64,
            max: limits.max_frame_bytes,
        });
    }
    Ok(())
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.read_var_u64()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::Invalid("boolean flag")),
    }
}

#[cfg(test)]
#[path = "tests/protocol.rs"]
mod tests;
