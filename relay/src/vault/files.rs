//! The actor's side of files over REST: runs the room's [`Room::files`]
//! steps — waiting for loads, carrying out the edit's effects — and answers
//! once the edit is durable in the log, like a device's ack.
//!
//! [`Room::files`]: tessera_crdt::room::Room::files

use tessera_crdt::api::ApiError;
use tessera_crdt::files::{FileReply, FileRequest, FileStep};
use tokio::sync::oneshot;

use super::actor::Actor;

/// Loads one request may start before it gives up (a PUT needs two: the
/// index and the note; the rest covers a load that failed and is retried).
const MAX_LOADS: u32 = 4;

/// What a file request comes to, for the HTTP handler.
#[derive(Debug)]
pub enum FileAnswer {
    /// Send this reply (its effects are carried out).
    Reply(FileReply),
    /// Send the blob stored under `hash`.
    Blob {
        /// Its content address.
        hash: String,
        /// Its version, for the `ETag`.
        version: u64,
    },
}

/// Where the answer goes.
pub(crate) type FileReplyTx = oneshot::Sender<Result<FileAnswer, ApiError>>;

/// A file request waiting for a doc to load.
pub(crate) struct PendingFile {
    pub(crate) req: FileRequest,
    pub(crate) reply: FileReplyTx,
    pub(crate) loads: u32,
}

impl Actor {
    /// Takes the request one step further; see [`FileStep`].
    pub(super) async fn file_step(&mut self, mut p: PendingFile) {
        match self.room.files(&p.req, self.now()) {
            Err(e) => {
                let _ = p.reply.send(Err(e));
            }
            Ok(FileStep::Wait { effects, .. }) => {
                if !effects.is_empty() {
                    p.loads += 1;
                    if p.loads > MAX_LOADS {
                        let _ = p.reply.send(Err(ApiError::unavailable(
                            "the note could not be loaded from storage; retry",
                        )));
                        return;
                    }
                }
                self.files_waiting.push(p);
                self.apply(effects).await;
            }
            Ok(FileStep::Blob { hash, version }) => {
                let _ = p.reply.send(Ok(FileAnswer::Blob { hash, version }));
            }
            Ok(FileStep::Done(mut reply)) => {
                let effects = std::mem::take(&mut reply.effects);
                self.apply(effects).await;
                match reply.durable_at {
                    Some(t) if t > self.room.cursor() => {
                        self.files_durable.push((t, p.reply, reply));
                    }
                    _ => {
                        let _ = p.reply.send(Ok(FileAnswer::Reply(reply)));
                    }
                }
            }
        }
    }

    /// Retries the requests waiting for loads (after one finished).
    pub(super) async fn retry_files(&mut self) {
        for p in std::mem::take(&mut self.files_waiting) {
            Box::pin(self.file_step(p)).await;
        }
    }

    /// Answers the edits the log now holds durably.
    pub(super) fn release_files(&mut self) {
        let cursor = self.room.cursor();
        let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.files_durable)
            .into_iter()
            .partition(|(t, _, _)| *t <= cursor);
        self.files_durable = wait;
        for (_, tx, reply) in due {
            let _ = tx.send(Ok(FileAnswer::Reply(reply)));
        }
    }
}
