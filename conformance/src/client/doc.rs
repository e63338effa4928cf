//! A stock-Yjs-style client on the doc endpoint (plain y-protocols framing).

#[allow(unused_imports)]
use super::*;

/// What a [`DocClient`] received, in order, for assertions about framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocEvent {
    /// Sync step 1 (with the state vector).
    Step1(Vec<u8>),
    /// Sync step 2 (an update).
    Step2(Vec<u8>),
    /// A sync update.
    Update(Vec<u8>),
    /// An awareness update.
    Awareness(Vec<u8>),
    /// The y-protocols auth permission-denied message.
    PermissionDenied(String),
    /// Anything else that decoded.
    Other(String),
}

/// One socket on the doc endpoint, speaking plain y-protocols like y-websocket.
pub struct DocClient {
    socket: Socket,
    doc: Doc,
    /// Everything received, in order.
    pub events: Vec<DocEvent>,
    /// The close code and reason, once closed.
    pub closed: Option<(u16, String)>,
    /// Answer sync step 1 automatically (a normal peer does).
    pub answer_step1: bool,
}

impl DocClient {
    /// Connects to the doc endpoint; sends nothing yet.
    pub async fn connect_with_token(
        base: &str,
        vault: &str,
        doc: &str,
        token: &str,
    ) -> Result<DocClient> {
        let socket = ws_open(&doc_ws_url(base, vault, doc, token)).await?;
        Ok(DocClient {
            socket,
            doc: new_doc(),
            events: Vec::new(),
            closed: None,
            answer_step1: true,
        })
    }

    /// The local yrs doc.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// The local text.
    pub fn text(&self) -> String {
        text_of(&self.doc)
    }

    /// Sends a raw binary frame.
    pub async fn send_raw(&mut self, frame: Vec<u8>) -> Result<()> {
        tokio::time::timeout(WAIT, self.socket.send(WsMessage::Binary(frame.into())))
            .await
            .map_err(|_| anyhow!("sending a frame timed out"))?
            .context("sending a frame failed")
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &Message<'_>) -> Result<()> {
        self.send_raw(message.to_bytes()).await
    }

    /// Sends sync step 1 like y-websocket does on open, and waits for step 2.
    pub async fn sync(&mut self) -> Result<()> {
        let before = self.count(|e| matches!(e, DocEvent::Step2(_)));
        let sv = state_vector(&self.doc);
        self.send(&Message::Sync(SyncMessage::Step1(&sv))).await?;
        self.wait_for("sync step 2", |c| {
            c.count(|e| matches!(e, DocEvent::Step2(_))) > before
        })
        .await
    }

    /// Appends `s` to the text and sends the update.
    pub async fn append(&mut self, s: &str) -> Result<Vec<u8>> {
        let update = append(&self.doc, s);
        self.send(&Message::Sync(SyncMessage::Update(&update)))
            .await?;
        Ok(update)
    }

    /// How many received events match.
    pub fn count(&self, pred: impl Fn(&DocEvent) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }

    /// Reads and handles one frame. Returns false once closed.
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
        let message = Message::decode(&bytes, &decode_limits())
            .map_err(|e| anyhow!("server sent a frame that does not decode as y-protocols: {e}"))?;
        let event = match message {
            Message::Sync(SyncMessage::Step1(sv)) => {
                if self.answer_step1 {
                    let reply = diff(&self.doc, sv)?;
                    self.send(&Message::Sync(SyncMessage::Step2(&reply)))
                        .await?;
                }
                DocEvent::Step1(sv.to_vec())
            }
            Message::Sync(SyncMessage::Step2(u)) => {
                apply(&self.doc, u)?;
                DocEvent::Step2(u.to_vec())
            }
            Message::Sync(SyncMessage::Update(u)) => {
                apply(&self.doc, u)?;
                DocEvent::Update(u.to_vec())
            }
            Message::Awareness(u) => DocEvent::Awareness(u.to_vec()),
            Message::PermissionDenied { reason } => DocEvent::PermissionDenied(reason.to_owned()),
            other => {
                if matches!(
                    other,
                    Message::Ack { .. }
                        | Message::Changes { .. }
                        | Message::Error { .. }
                        | Message::Hello { .. }
                        | Message::ChangesSince { .. }
                ) {
                    bail!("the doc endpoint sent a Tessera extension message ({other:?}); stock Yjs clients must never see them");
                }
                DocEvent::Other(format!("{other:?}"))
            }
        };
        self.events.push(event);
        Ok(true)
    }

    /// Handles frames until `done` holds; fails on timeout or close.
    pub async fn wait_for(
        &mut self,
        what: &str,
        mut done: impl FnMut(&DocClient) -> bool,
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

    /// Waits until the text reads `expected`.
    pub async fn wait_text(&mut self, expected: &str) -> Result<()> {
        let what = format!("the doc to read {expected:?}");
        self.wait_for(&what, |c| c.text() == expected)
            .await
            .with_context(|| format!("local text is {:?}", self.text()))
    }

    /// Reads the first frame the server sends.
    pub async fn first_frame(&mut self) -> Result<DocEvent> {
        let deadline = Instant::now() + WAIT;
        if !self.pump(deadline, "the first frame").await? {
            bail!("socket closed before any frame: {:?}", self.closed);
        }
        Ok(self.events[0].clone())
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

    /// Closes the socket politely.
    pub async fn close(mut self) -> Result<()> {
        let _ = tokio::time::timeout(WAIT, self.socket.close(None)).await;
        Ok(())
    }
}
