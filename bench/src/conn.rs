//! One WebSocket to a server under test, split into a sending and a
//! receiving half so that a reader task can run beside a writer. Both halves
//! count WebSocket payload bytes (not TCP or WebSocket headers: those are
//! about the same for every server).

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocols::{
    classify, hocuspocus_auth, sync_step1, sync_step2, Endpoint, Incoming, Proto,
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single wait may take before the run is declared stuck.
pub const STUCK: Duration = Duration::from_secs(60);

/// Why a connection failed.
#[derive(Debug, Error)]
pub enum ConnError {
    /// Connecting or a socket operation failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server closed the socket.
    #[error("socket closed by the server: {0}")]
    Closed(String),
    /// Nothing arrived in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// A frame could not be read.
    #[error(transparent)]
    Frame(#[from] crate::protocols::FrameError),
    /// The server reported an error.
    #[error("server error: {0}")]
    Server(String),
}

/// The sending half.
pub struct Sender {
    /// How this socket frames messages.
    pub ep: Endpoint,
    sink: SplitSink<Ws, WsMessage>,
    /// Payload bytes sent.
    pub bytes_out: u64,
}

/// The receiving half.
pub struct Receiver {
    /// How this socket frames messages.
    pub ep: Endpoint,
    stream: SplitStream<Ws>,
    /// Payload bytes received.
    pub bytes_in: u64,
}

/// Both halves of one socket.
pub struct Conn {
    /// Sending half.
    pub tx: Sender,
    /// Receiving half.
    pub rx: Receiver,
}

impl Conn {
    /// Opens the socket `ep` uses for `doc` (Nagle off: latency is measured).
    pub async fn open(ep: &Endpoint, doc: &str) -> Result<Conn, ConnError> {
        let url = ep.url(doc);
        let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
        let (ws, _) = tokio::time::timeout(STUCK, connect)
            .await
            .map_err(|_| ConnError::Timeout("the WebSocket upgrade"))??;
        let (sink, stream) = ws.split();
        Ok(Conn {
            tx: Sender {
                ep: ep.clone(),
                sink,
                bytes_out: 0,
            },
            rx: Receiver {
                ep: ep.clone(),
                stream,
                bytes_in: 0,
            },
        })
    }

    /// Bytes both ways.
    pub fn bytes(&self) -> (u64, u64) {
        (self.tx.bytes_out, self.rx.bytes_in)
    }

    /// Starts syncing `doc` from `state_vector`: Hocuspocus' auth first, then
    /// sync step 1.
    pub async fn join(&mut self, doc: &str, state_vector: &[u8]) -> Result<(), ConnError> {
        if self.tx.ep.proto == Proto::Hocuspocus {
            self.tx.send(doc, &hocuspocus_auth("bench")).await?;
        }
        self.tx.send(doc, &sync_step1(state_vector)).await
    }

    /// Reads until the server's sync step 2 for `doc` arrived, answering its
    /// step 1 with `ours` if given (the bench clients never hold anything the
    /// server lacks, so they normally stay silent). Returns the step 2's update.
    pub async fn wait_synced(
        &mut self,
        doc: &str,
        ours: Option<&[u8]>,
    ) -> Result<Vec<u8>, ConnError> {
        loop {
            let frame = self.rx.recv().await?;
            let (d, message) = self.rx.ep.unframe(&frame)?;
            if self.rx.ep.proto.multiplexed() && d != doc {
                continue;
            }
            match classify(message) {
                Incoming::Step1(_) => {
                    if let Some(ours) = ours {
                        self.tx.send(doc, &sync_step2(ours)).await?;
                    }
                }
                Incoming::Step2(update) => return Ok(update.to_vec()),
                Incoming::Error(e) => return Err(ConnError::Server(e)),
                _ => {}
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = self.tx.sink.send(WsMessage::Close(None)).await;
    }
}

impl Sender {
    /// Sends `message` for `doc`, in the protocol's envelope.
    pub async fn send(&mut self, doc: &str, message: &[u8]) -> Result<(), ConnError> {
        let frame = self.ep.frame(doc, message);
        self.bytes_out += frame.len() as u64;
        tokio::time::timeout(STUCK, self.sink.send(WsMessage::Binary(frame.into())))
            .await
            .map_err(|_| ConnError::Timeout("a send"))??;
        Ok(())
    }

    /// Queues `message` without flushing (for pipelined bursts; call `flush`).
    pub async fn feed(&mut self, doc: &str, message: &[u8]) -> Result<(), ConnError> {
        let frame = self.ep.frame(doc, message);
        self.bytes_out += frame.len() as u64;
        tokio::time::timeout(STUCK, self.sink.feed(WsMessage::Binary(frame.into())))
            .await
            .map_err(|_| ConnError::Timeout("a send"))??;
        Ok(())
    }

    /// Flushes queued messages.
    pub async fn flush(&mut self) -> Result<(), ConnError> {
        tokio::time::timeout(STUCK, self.sink.flush())
            .await
            .map_err(|_| ConnError::Timeout("a flush"))??;
        Ok(())
    }
}

impl Receiver {
    /// The next binary frame (pings and text frames are skipped).
    pub async fn recv(&mut self) -> Result<Vec<u8>, ConnError> {
        loop {
            let next = tokio::time::timeout(STUCK, self.stream.next())
                .await
                .map_err(|_| ConnError::Timeout("a frame"))?;
            match next {
                None => return Err(ConnError::Closed("end of stream".into())),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(WsMessage::Binary(b))) => {
                    self.bytes_in += b.len() as u64;
                    return Ok(b.to_vec());
                }
                Some(Ok(WsMessage::Close(c))) => {
                    return Err(ConnError::Closed(
                        c.map(|c| format!("{} {}", c.code, c.reason))
                            .unwrap_or_default(),
                    ))
                }
                Some(Ok(_)) => {}
            }
        }
    }
}
