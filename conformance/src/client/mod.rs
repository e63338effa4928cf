//! Clients that speak the relay's two WebSocket endpoints from the outside.
//!
//! [`VaultClient`] is what the plugin does on the vault endpoint: one socket,
//! many docs, every write numbered per doc, acks and errors tracked.
//! [`DocClient`] is a stock y-websocket peer on the doc endpoint: plain
//! y-protocols, one doc. Both keep real yrs docs, so "converged" means the
//! text a yrs peer reads, not bytes that happened to match.
//!
//! Every wait has a deadline ([`WAIT`]): a server that never answers fails
//! the case with a message saying what was awaited and what was seen.

mod doc;
mod socket;
pub use doc::{DocClient, DocEvent};
pub use socket::*;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tessera_crdt::awareness::{decode_update, encode_update, AwarenessEntry};
use tessera_crdt::ids::random_client_id;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage, VaultFrame, VAULT_LEVEL};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

/// How long any single wait (a connect, an expected frame, an HTTP answer)
/// may take before the case fails. Hang protection, not a performance bound.
pub const WAIT: Duration = Duration::from_secs(15);

/// The name of the note text in a note doc (`Y.Text content`).
pub const CONTENT: &str = "content";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Limits used to decode what the server sends: generous, since the suite
/// checks the server's behaviour, not its own limits.
fn decode_limits() -> Limits {
    Limits {
        max_frame_bytes: 256 << 20,
        max_update_bytes: 256 << 20,
        max_awareness_bytes: 16 << 20,
        max_awareness_clients: 1 << 20,
        max_string_bytes: 16 << 20,
        max_doc_id_bytes: 1 << 10,
        max_docs_per_vault: 1 << 24,
        ..Limits::default()
    }
}

/// Reads the next binary frame or the close, skipping pings and pongs.
/// A reset without a close frame is reported as close code 1006.
async fn next_incoming(socket: &mut Socket, deadline: Instant, what: &str) -> Result<Incoming> {
    loop {
        let next = timeout_at(deadline, socket.next())
            .await
            .map_err(|_| anyhow!("timed out waiting for {what}"))?;
        match next {
            None => return Ok(Incoming::Closed(1006, "connection ended".into())),
            Some(Err(e)) => return Ok(Incoming::Closed(1006, format!("connection failed: {e}"))),
            Some(Ok(WsMessage::Binary(b))) => return Ok(Incoming::Frame(b.to_vec())),
            Some(Ok(WsMessage::Close(frame))) => {
                return Ok(match frame {
                    Some(f) => Incoming::Closed(u16::from(f.code), f.reason.to_string()),
                    None => Incoming::Closed(1005, String::new()),
                })
            }
            Some(Ok(WsMessage::Text(t))) => {
                bail!(
                    "server sent a text frame ({} bytes); the protocol is binary",
                    t.len()
                )
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// A yrs doc with the note text, under a fresh random client id.
pub fn new_doc() -> Doc {
    Doc::with_client_id(random_client_id())
}

fn apply(doc: &Doc, update: &[u8]) -> Result<()> {
    let update = Update::decode_v1(update).map_err(|e| anyhow!("server sent a bad update: {e}"))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| anyhow!("server sent an update that does not apply: {e}"))
}

fn state_vector(doc: &Doc) -> Vec<u8> {
    doc.transact().state_vector().encode_v1()
}

fn diff(doc: &Doc, sv: &[u8]) -> Result<Vec<u8>> {
    let sv =
        StateVector::decode_v1(sv).map_err(|e| anyhow!("server sent a bad state vector: {e}"))?;
    Ok(doc.transact().encode_state_as_update_v1(&sv))
}

/// The note text of a doc.
pub fn text_of(doc: &Doc) -> String {
    let text = doc.get_or_insert_text(CONTENT);
    text.get_string(&doc.transact())
}

/// Inserts `s` at the end of the doc's text; returns the update.
pub fn append(doc: &Doc, s: &str) -> Vec<u8> {
    let text = doc.get_or_insert_text(CONTENT);
    let mut txn = doc.transact_mut();
    let len = text.len(&txn);
    text.insert(&mut txn, len, s);
    txn.encode_update_v1()
}

/// Replaces the doc's whole text with `s`; returns the update.
pub fn replace(doc: &Doc, s: &str) -> Vec<u8> {
    let text = doc.get_or_insert_text(CONTENT);
    let mut txn = doc.transact_mut();
    let len = text.len(&txn);
    if len > 0 {
        text.remove_range(&mut txn, 0, len);
    }
    text.insert(&mut txn, 0, s);
    txn.encode_update_v1()
}

/// An awareness update for one client.
pub fn awareness_update(client: u64, clock: u64, state: &str) -> Vec<u8> {
    encode_update(&[AwarenessEntry {
        client,
        clock,
        state,
    }])
}

/// The (client, state JSON) pairs of an awareness update.
pub fn awareness_states(update: &[u8]) -> Result<Vec<(u64, String)>> {
    Ok(decode_update(update, &decode_limits())
        .map_err(|e| anyhow!("server sent a bad awareness update: {e}"))?
        .into_iter()
        .map(|e| (e.client, e.state.to_owned()))
        .collect())
}

/// An error frame received on the vault endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    /// The doc id of the frame's envelope.
    pub doc: String,
    /// The reason code.
    pub code: ErrorCode,
    /// The refused write's number, 0 if none.
    pub seq: u64,
    /// Text for humans.
    pub text: String,
}

/// The relay's greeting on the vault endpoint.
#[derive(Debug, Clone, Default)]
pub struct Hello {
    /// Server name and version.
    pub server: String,
    /// The connection's scope.
    pub scope: String,
    /// The change-cursor epoch.
    pub epoch: String,
    /// The vault's change cursor.
    pub cursor: u64,
}

/// An answer to changes-since.
#[derive(Debug, Clone)]
pub struct Changes {
    /// The relay's epoch.
    pub epoch: String,
    /// The cursor to ask from next time.
    pub cursor: u64,
    /// True when the old cursor was not honoured and `docs` lists every doc.
    pub reset: bool,
    /// The doc ids.
    pub docs: Vec<String>,
}

/// One socket on the vault endpoint, with a yrs doc per doc id.
pub struct VaultClient {
    socket: Socket,
    /// The greeting.
    pub hello: Hello,
    docs: HashMap<String, Doc>,
    /// Writes sent per doc (the numbers acks and errors refer to).
    pub writes: HashMap<String, u64>,
    /// Highest ack received per doc.
    pub acked: HashMap<String, u64>,
    /// Every ack received, in order: (doc, seq).
    pub ack_log: Vec<(String, u64)>,
    /// Error frames received, in order.
    pub errors: Vec<ErrorFrame>,
    /// Answers to changes-since, in order.
    pub changes: Vec<Changes>,
    /// Awareness updates received: (doc, update).
    pub awareness: Vec<(String, Vec<u8>)>,
    /// Docs for which a sync step 2 arrived (the initial sync answered).
    pub synced: HashMap<String, u64>,
    /// Every update received per doc (step 2 and updates), raw.
    pub received_updates: HashMap<String, Vec<Vec<u8>>>,
    /// The close code and reason, once closed.
    pub closed: Option<(u16, String)>,
}

impl VaultClient {
    /// Connects with `token`; waits for the hello, which must be the first frame.
    pub async fn connect_with_token(base: &str, vault: &str, token: &str) -> Result<VaultClient> {
        let url = vault_ws_url(base, vault, token);
        let socket = ws_open(&url).await?;
        let mut client = VaultClient {
            socket,
            hello: Hello::default(),
            docs: HashMap::new(),
            writes: HashMap::new(),
            acked: HashMap::new(),
            ack_log: Vec::new(),
            errors: Vec::new(),
            changes: Vec::new(),
            awareness: Vec::new(),
            synced: HashMap::new(),
            received_updates: HashMap::new(),
            closed: None,
        };
        let deadline = Instant::now() + WAIT;
        match next_incoming(&mut client.socket, deadline, "the hello frame").await? {
            Incoming::Closed(code, reason) => {
                bail!("vault socket closed before the hello: {code} {reason:?}")
            }
            Incoming::Frame(bytes) => {
                let frame = VaultFrame::decode(&bytes, &decode_limits())
                    .map_err(|e| anyhow!("first frame is not a vault frame: {e}"))?;
                match frame.message {
                    Message::Hello {
                        server,
                        scope,
                        epoch,
                        cursor,
                    } if frame.doc == VAULT_LEVEL => {
                        client.hello = Hello {
                            server: server.into(),
                            scope: scope.into(),
                            epoch: epoch.into(),
                            cursor,
                        };
                    }
                    other => bail!(
                        "first frame on the vault endpoint is {other:?} for doc {:?}; expected hello with the empty doc id",
                        frame.doc
                    ),
                }
            }
        }
        Ok(client)
    }

    /// The local yrs doc for `doc` (created empty on first use).
    pub fn doc(&mut self, doc: &str) -> &Doc {
        self.docs.entry(doc.to_owned()).or_insert_with(new_doc)
    }

    /// The local text of `doc`.
    pub fn text(&mut self, doc: &str) -> String {
        text_of(self.doc(doc))
    }

    /// Sends a raw binary frame.
    pub async fn send_raw(&mut self, frame: Vec<u8>) -> Result<()> {
        tokio::time::timeout(WAIT, self.socket.send(WsMessage::Binary(frame.into())))
            .await
            .map_err(|_| anyhow!("sending a frame timed out"))?
            .context("sending a frame failed")
    }

    /// Sends one message for `doc` in a vault envelope.
    pub async fn send(&mut self, doc: &str, message: &Message<'_>) -> Result<()> {
        self.send_raw(message.to_vault_frame(doc)).await
    }

    /// Starts syncing `doc`: sends sync step 1 with the local state vector.
    pub async fn open(&mut self, doc: &str) -> Result<()> {
        let sv = state_vector(self.doc(doc));
        self.send(doc, &Message::Sync(SyncMessage::Step1(&sv)))
            .await
    }

    /// Opens `doc`, waits until the relay's sync step 2 arrived, then makes a
    /// round trip so that anything else the relay sent with it (its own sync
    /// step 1, which this client answers with a numbered write) is handled
    /// before the caller numbers further writes.
    pub async fn open_and_sync(&mut self, doc: &str) -> Result<()> {
        let before = self.synced.get(doc).copied().unwrap_or(0);
        self.open(doc).await?;
        self.wait_for(&format!("sync step 2 for doc {doc}"), |c| {
            c.synced.get(doc).copied().unwrap_or(0) > before
        })
        .await?;
        self.barrier().await
    }

    /// Sends `update` (already applied locally or not) as a numbered write;
    /// returns its number.
    pub async fn write_update(&mut self, doc: &str, update: &[u8]) -> Result<u64> {
        apply(self.doc(doc), update)?;
        let seq = self.count_write(doc);
        self.send(doc, &Message::Sync(SyncMessage::Update(update)))
            .await?;
        Ok(seq)
    }

    /// Appends `s` to the text of `doc` and sends it; returns the write number.
    pub async fn append(&mut self, doc: &str, s: &str) -> Result<u64> {
        let update = append(self.doc(doc), s);
        let seq = self.count_write(doc);
        self.send(doc, &Message::Sync(SyncMessage::Update(&update)))
            .await?;
        Ok(seq)
    }

    /// Replaces the text of `doc` with `s` and sends it; returns the write number.
    pub async fn replace(&mut self, doc: &str, s: &str) -> Result<u64> {
        let update = replace(self.doc(doc), s);
        let seq = self.count_write(doc);
        self.send(doc, &Message::Sync(SyncMessage::Update(&update)))
            .await?;
        Ok(seq)
    }

    /// Counts one more write for `doc` without sending anything (for raw
    /// frames the server will count as writes); returns its number.
    pub fn count_write(&mut self, doc: &str) -> u64 {
        let n = self.writes.entry(doc.to_owned()).or_default();
        *n += 1;
        *n
    }

    /// Reads and handles one frame (answering sync step 1 like a peer does).
    /// Returns false once the socket is closed.
    pub async fn pump(&mut self, deadline: Instant, what: &str) -> Result<bool> {
        if self.closed.is_some() {
            return Ok(false);
        }
        let bytes = match next_incoming(&mut self.socket, deadline, what).await? {
            Incoming::Closed(code, reason) => {
                self.closed = Some((code, reason));
                return Ok(false);
            }
            Incoming::Frame(b) => b,
        };
        let frame = VaultFrame::decode(&bytes, &decode_limits())
            .map_err(|e| anyhow!("server sent a frame that does not decode: {e}"))?;
        let doc = frame.doc.to_owned();
        match frame.message {
            Message::Sync(SyncMessage::Step1(sv)) => {
                let reply = diff(self.doc(&doc), sv)?;
                self.count_write(&doc);
                self.send(&doc, &Message::Sync(SyncMessage::Step2(&reply)))
                    .await?;
            }
            Message::Sync(SyncMessage::Step2(update)) => {
                apply(self.doc(&doc), update)?;
                self.received_updates
                    .entry(doc.clone())
                    .or_default()
                    .push(update.to_vec());
                *self.synced.entry(doc).or_default() += 1;
            }
            Message::Sync(SyncMessage::Update(update)) => {
                apply(self.doc(&doc), update)?;
                self.received_updates
                    .entry(doc)
                    .or_default()
                    .push(update.to_vec());
            }
            Message::Ack { seq } => {
                let sent = self.writes.get(&doc).copied().unwrap_or(0);
                if seq > sent {
                    bail!("ack {seq} for doc {doc:?}, but only {sent} writes were sent");
                }
                let prev = self.acked.get(&doc).copied().unwrap_or(0);
                if seq < prev {
                    bail!("ack for doc {doc:?} went backwards: {prev} then {seq}");
                }
                self.acked.insert(doc.clone(), seq);
                self.ack_log.push((doc, seq));
            }
            Message::Error { code, seq, text } => self.errors.push(ErrorFrame {
                doc,
                code,
                seq,
                text: text.to_owned(),
            }),
            Message::Changes {
                epoch,
                cursor,
                reset,
                docs,
            } => self.changes.push(Changes {
                epoch: epoch.into(),
                cursor,
                reset,
                docs: docs.into_iter().map(str::to_owned).collect(),
            }),
            Message::Awareness(update) => self.awareness.push((doc, update.to_vec())),
            Message::Hello { .. } => bail!("a second hello arrived"),
            // Query-awareness and auth messages carry nothing for this client.
            _ => {}
        }
        Ok(true)
    }

    /// Handles frames until `done` holds; fails on timeout or close.
    pub async fn wait_for(
        &mut self,
        what: &str,
        mut done: impl FnMut(&mut VaultClient) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            if !self.pump(deadline, what).await? {
                let (code, reason) = self.closed.clone().unwrap_or_default();
                bail!("socket closed ({code} {reason:?}) while waiting for {what}");
            }
        }
        Ok(())
    }

    /// Waits until `doc` reads `expected`.
    pub async fn wait_text(&mut self, doc: &str, expected: &str) -> Result<()> {
        let what = format!("doc {doc} to read {expected:?}");
        self.wait_for(&what, |c| c.text(doc) == expected)
            .await
            .with_context(|| format!("local text is {:?}", self.text(doc)))
    }

    /// Waits until the first `seq` writes to `doc` are acked.
    pub async fn wait_ack(&mut self, doc: &str, seq: u64) -> Result<()> {
        let what = format!("ack {seq} for doc {doc}");
        self.wait_for(&what, |c| c.acked.get(doc).copied().unwrap_or(0) >= seq)
            .await
            .with_context(|| {
                format!(
                    "acks so far: {:?}; errors: {:?}",
                    self.acked.get(doc),
                    self.errors
                )
            })
    }

    /// Waits until an error frame matching `pred` arrived; returns it.
    pub async fn wait_error(
        &mut self,
        what: &str,
        pred: impl Fn(&ErrorFrame) -> bool,
    ) -> Result<ErrorFrame> {
        self.wait_for(what, |c| c.errors.iter().any(&pred))
            .await
            .with_context(|| format!("errors so far: {:?}", self.errors))?;
        Ok(self
            .errors
            .iter()
            .find(|e| pred(e))
            .cloned()
            .expect("found above"))
    }

    /// Asks which docs changed since `cursor` and waits for the answer.
    pub async fn changes_since(&mut self, epoch: &str, cursor: u64) -> Result<Changes> {
        let before = self.changes.len();
        self.send(VAULT_LEVEL, &Message::ChangesSince { epoch, cursor })
            .await?;
        self.wait_for("the answer to changes-since", |c| c.changes.len() > before)
            .await?;
        Ok(self.changes[before].clone())
    }

    /// Handles frames until the server closes the socket; returns code and reason.
    pub async fn wait_close(&mut self) -> Result<(u16, String)> {
        let deadline = Instant::now() + WAIT;
        while self
            .pump(deadline, "the server to close the socket")
            .await?
        {}
        Ok(self
            .closed
            .clone()
            .expect("pump returned false only once closed"))
    }

    /// Round trip: proves every frame sent before was handled, by asking for
    /// changes and waiting for the answer.
    pub async fn barrier(&mut self) -> Result<()> {
        let epoch = self.hello.epoch.clone();
        self.changes_since(&epoch, 0).await.map(|_| ())
    }

    /// Closes the socket politely.
    pub async fn close(mut self) -> Result<()> {
        let _ = tokio::time::timeout(
            WAIT,
            self.socket.close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "done".into(),
            })),
        )
        .await;
        Ok(())
    }
}

/// Decodes one y-protocols message the server sent to a stock client.
pub fn decode_plain(bytes: &[u8]) -> Result<Message<'_>> {
    Message::decode(bytes, &decode_limits()).map_err(|e| anyhow!("{e}"))
}
