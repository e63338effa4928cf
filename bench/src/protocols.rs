//! Wire framing of the servers under test.
//!
//! All four speak y-protocols messages (`varUint(type)` + payload); they
//! differ in how a socket names its document:
//!
//! | server       | URL                                   | frame                          |
//! |--------------|---------------------------------------|--------------------------------|
//! | y-websocket  | `/{doc}`                              | message                        |
//! | y-sweet      | `/d/{doc}/ws/{doc}`                   | message                        |
//! | Hocuspocus   | `/` (any)                             | `varString(doc)` + message     |
//! | Tessera doc  | `/v1/vaults/{v}/docs/{doc}?token=`    | message                        |
//! | Tessera vault| `/v1/vaults/{v}/ws?token=`            | `varString(doc)` + message     |
//!
//! Hocuspocus also wants an auth message per doc before it serves it.

use tessera_crdt::encoding::{write_var_bytes, write_var_str, write_var_u64, Reader};
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage};
use thiserror::Error;

/// A frame the load generator could not make sense of.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The envelope's doc id could not be read.
    #[error("bad envelope: {0}")]
    Envelope(String),
}

/// How a client talks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// y-websocket's reference server: one socket per doc, doc in the path.
    YWebsocket,
    /// y-sweet: one socket per doc, doc in the path (twice).
    YSweet,
    /// Hocuspocus: doc-name envelope on every message, auth per doc.
    Hocuspocus,
    /// Tessera's doc endpoint: plain y-websocket framing.
    TesseraDoc,
    /// Tessera's vault endpoint: doc-id envelope, hello, acks.
    TesseraVault,
}

impl Proto {
    /// Parses the names used on the command line.
    pub fn parse(name: &str) -> Option<Proto> {
        Some(match name {
            "y-websocket" => Proto::YWebsocket,
            "y-sweet" => Proto::YSweet,
            "hocuspocus" => Proto::Hocuspocus,
            "tessera" | "tessera-doc" => Proto::TesseraDoc,
            "tessera-vault" => Proto::TesseraVault,
            _ => return None,
        })
    }

    /// Whether one socket carries many docs (each frame names its doc).
    pub fn multiplexed(self) -> bool {
        matches!(self, Proto::Hocuspocus | Proto::TesseraVault)
    }

    /// Whether the server numbers writes and acknowledges them once durable.
    pub fn has_acks(self) -> bool {
        self == Proto::TesseraVault
    }
}

/// Where a server listens and how to address its docs.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The protocol spoken.
    pub proto: Proto,
    /// `ws://127.0.0.1:PORT`.
    pub base: String,
    /// Tessera's vault id (ignored by the peers).
    pub vault: String,
    /// Tessera's token (ignored by the peers).
    pub token: String,
}

impl Endpoint {
    /// The WebSocket URL for `doc` (for multiplexed protocols, the one socket).
    pub fn url(&self, doc: &str) -> String {
        let base = &self.base;
        match self.proto {
            Proto::YWebsocket => format!("{base}/{doc}"),
            Proto::YSweet => format!("{base}/d/{doc}/ws/{doc}"),
            Proto::Hocuspocus => format!("{base}/"),
            Proto::TesseraDoc => format!(
                "{base}/v1/vaults/{}/docs/{doc}?token={}",
                self.vault, self.token
            ),
            Proto::TesseraVault => {
                format!("{base}/v1/vaults/{}/ws?token={}", self.vault, self.token)
            }
        }
    }

    /// The same server spoken to with another protocol (Tessera's two endpoints).
    pub fn with_proto(&self, proto: Proto) -> Endpoint {
        Endpoint {
            proto,
            ..self.clone()
        }
    }

    /// Wraps `message` for `doc` in this protocol's envelope.
    pub fn frame(&self, doc: &str, message: &[u8]) -> Vec<u8> {
        if self.proto.multiplexed() {
            let mut out = Vec::with_capacity(doc.len() + 1 + message.len());
            write_var_str(&mut out, doc);
            out.extend_from_slice(message);
            out
        } else {
            message.to_vec()
        }
    }

    /// Splits a received frame into its doc id (empty for unenveloped
    /// protocols: the socket names the doc) and message.
    pub fn unframe<'a>(&self, frame: &'a [u8]) -> Result<(&'a str, &'a [u8]), FrameError> {
        if !self.proto.multiplexed() {
            return Ok(("", frame));
        }
        let mut r = Reader::new(frame);
        let doc = r
            .read_var_str("doc id", 1024)
            .map_err(|e| FrameError::Envelope(e.to_string()))?;
        Ok((doc, r.rest()))
    }
}

/// y-protocols sync step 1 carrying `state_vector` (v1 encoded).
pub fn sync_step1(state_vector: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Step1(state_vector)).to_bytes()
}

/// y-protocols sync step 2 carrying `update`.
pub fn sync_step2(update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Step2(update)).to_bytes()
}

/// y-protocols sync update.
pub fn sync_update(update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).to_bytes()
}

/// The v1 encoding of an empty state vector.
pub const EMPTY_STATE_VECTOR: &[u8] = &[0];
/// The v1 encoding of an empty update.
pub const EMPTY_UPDATE: &[u8] = &[0, 0];

/// Hocuspocus' auth message: `varUint(2)` `varUint(0 = token)` `varString(token)`.
pub fn hocuspocus_auth(token: &str) -> Vec<u8> {
    let mut out = Vec::new();
    write_var_u64(&mut out, 2);
    write_var_u64(&mut out, 0);
    write_var_str(&mut out, token);
    out
}

/// What the load generator needs to know about a received message.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The server asks for what it lacks.
    Step1(&'a [u8]),
    /// The server's answer to our step 1.
    Step2(&'a [u8]),
    /// An update fanned out by the server.
    Update(&'a [u8]),
    /// Tessera: the first `seq` writes on this doc are durable.
    Ack(u64),
    /// Tessera: docs changed since a cursor.
    Changes {
        /// The cursor to ask from next time.
        cursor: u64,
        /// Changed doc ids.
        docs: Vec<&'a str>,
    },
    /// Tessera's greeting.
    Hello {
        /// The relay's epoch.
        epoch: &'a str,
        /// The vault's change cursor.
        cursor: u64,
    },
    /// Tessera refused something.
    Error(String),
    /// Hocuspocus: the doc is authenticated (type 2, subtype 2).
    Authenticated,
    /// Anything else (awareness, Hocuspocus' sync status, …).
    Other,
}

/// Limits for decoding what servers send: generous, the servers are trusted here.
fn decode_limits() -> Limits {
    Limits {
        max_frame_bytes: 256 << 20,
        max_update_bytes: 256 << 20,
        max_docs_per_vault: 10_000_000,
        ..Limits::default()
    }
}

/// Classifies one message (already out of its envelope).
pub fn classify(message: &[u8]) -> Incoming<'_> {
    // Hocuspocus' "authenticated" is auth type 2 with subtype 2, which
    // y-protocols' decoder (permission denied only) would reject.
    if message.len() >= 2 && message[0] == 2 && message[1] == 2 {
        return Incoming::Authenticated;
    }
    match Message::decode(message, &decode_limits()) {
        Ok(Message::Sync(SyncMessage::Step1(sv))) => Incoming::Step1(sv),
        Ok(Message::Sync(SyncMessage::Step2(u))) => Incoming::Step2(u),
        Ok(Message::Sync(SyncMessage::Update(u))) => Incoming::Update(u),
        Ok(Message::Ack { seq }) => Incoming::Ack(seq),
        Ok(Message::Changes { cursor, docs, .. }) => Incoming::Changes { cursor, docs },
        Ok(Message::Hello { epoch, cursor, .. }) => Incoming::Hello { epoch, cursor },
        Ok(Message::Error { code, text, .. }) => {
            Incoming::Error(format!("{}: {text}", code.name()))
        }
        Ok(Message::PermissionDenied { reason }) => {
            Incoming::Error(format!("permission denied: {reason}"))
        }
        _ => Incoming::Other,
    }
}

/// Tessera's changes-since request.
pub fn changes_since(epoch: &str, cursor: u64) -> Vec<u8> {
    Message::ChangesSince { epoch, cursor }.to_bytes()
}

/// Length-prefixed bytes, for callers composing messages by hand.
pub fn var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_var_bytes(out, bytes);
}
