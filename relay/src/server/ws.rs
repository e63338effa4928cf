//! One task per WebSocket: frames in go to the vault actor, frames out come
//! from a bounded queue the actor fills, and a close request ends it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tessera_crdt::room::{close, Endpoint};
use tessera_crdt::token::Claims;
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;
use crate::vault::{Cmd, SessionTx, VaultHandle};

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Runs one connection until either side closes it.
pub async fn run(
    socket: WebSocket,
    vault: VaultHandle,
    endpoint: Endpoint,
    claims: Claims,
    queue: usize,
    metrics: Arc<Metrics>,
) {
    let session = NEXT_SESSION.fetch_add(1, Relaxed);
    // A socket does not outlive its token: closed with 4401 at expiry.
    let expiry = until(
        tessera_crdt::api::socket_deadline(&claims, super::auth::now_secs())
            .map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs)),
    );
    tokio::pin!(expiry);
    let (frames_tx, mut frames) = mpsc::channel::<Bytes>(queue.max(1));
    let (close_tx, mut close_rx) = watch::channel(None);
    let tx = SessionTx {
        frames: frames_tx,
        close: close_tx,
    };
    if !vault.join(session, endpoint, claims, tx).await {
        return;
    }
    metrics.connections.fetch_add(1, Relaxed);
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    metrics.frames_in.fetch_add(1, Relaxed);
                    metrics.bytes_in.fetch_add(bytes.len() as u64, Relaxed);
                    if !vault.send(Cmd::Frame { session, bytes }).await {
                        let _ = sink.send(close_msg(close::GOING_AWAY, "the relay is shutting down")).await;
                        break;
                    }
                }
                Some(Ok(Message::Text(_))) => {
                    let _ = sink.send(close_msg(close::MALFORMED, "text frames are not part of the protocol; send binary")).await;
                    break;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    // The frame exceeded the size limit or the stream broke.
                    let too_big = e.to_string().to_ascii_lowercase().contains("too");
                    if too_big {
                        metrics.error("frame-too-large");
                        let _ = sink.send(close_msg(close::TOO_LARGE, "frame over the size limit")).await;
                    }
                    break;
                }
            },
            out = frames.recv() => match out {
                Some(frame) => {
                    // Under fan-out load frames queue up faster than one
                    // write per frame drains them: hand everything already
                    // queued to the socket and flush once (one syscall for
                    // the batch instead of one per frame). A quiet socket
                    // still flushes each frame at once, so latency is unchanged.
                    if feed_queued(&mut sink, &mut frames, frame).await.is_err() {
                        break;
                    }
                }
                // The actor let go of the session: it may have asked for a close.
                None => {
                    let request = close_rx.borrow().clone();
                    close_with(request, &mut frames, &mut sink, &mut stream).await;
                    break;
                }
            },
            () = &mut expiry => {
                let request = Some((close::UNAUTHORIZED, tessera_crdt::api::EXPIRED_REASON.to_owned()));
                close_with(request, &mut frames, &mut sink, &mut stream).await;
                break;
            }
            changed = close_rx.changed() => {
                let request = if changed.is_ok() { close_rx.borrow().clone() } else { None };
                close_with(request, &mut frames, &mut sink, &mut stream).await;
                break;
            }
        }
    }
    metrics.connections.fetch_sub(1, Relaxed);
    vault.send(Cmd::Leave { session }).await;
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Most frames written before one flush: bounds how long the first of a
/// batch waits for the socket (and how much the write buffer holds).
const MAX_BATCH: usize = 64;

/// Writes `first` and whatever else is already queued (up to [`MAX_BATCH`]
/// frames), then flushes once.
async fn feed_queued(
    sink: &mut SplitSink<WebSocket, Message>,
    frames: &mut mpsc::Receiver<Bytes>,
    first: Bytes,
) -> Result<(), axum::Error> {
    sink.feed(Message::Binary(first)).await?;
    for _ in 1..MAX_BATCH {
        match frames.try_recv() {
            Ok(frame) => sink.feed(Message::Binary(frame)).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}

/// Sends a requested close: queued frames first (errors explaining it, above
/// all) unless the peer was too slow for them, then the close frame, then
/// waits for the peer's answer.
async fn close_with(
    request: Option<(u16, String)>,
    frames: &mut mpsc::Receiver<Bytes>,
    sink: &mut SplitSink<WebSocket, Message>,
    stream: &mut SplitStream<WebSocket>,
) {
    let Some((code, reason)) = request else {
        return;
    };
    if code != close::SLOW_CONSUMER {
        while let Ok(frame) = frames.try_recv() {
            let _ = sink.send(Message::Binary(frame)).await;
        }
    }
    let _ = sink.send(close_msg(code, &reason)).await;
    finish_close(stream).await;
}

/// How long a peer gets to answer our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Reads until the peer answers the close (or goes away), so it receives
/// everything sent before the close instead of a connection reset.
async fn finish_close(stream: &mut SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn close_msg(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
