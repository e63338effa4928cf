//! The group-commit writer and the handle the vault actor uses.
//!
//! One tokio task per vault owns the [`Wal`]. It waits for a record, takes
//! every other record already queued, and runs write + one fsync for all of
//! them on the blocking pool. While that fsync runs, new records queue up
//! and become the next batch, so under load many appends share one fsync
//! and an idle vault costs a parked task, not a thread.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::error::WalError;
use super::log::{CompactReport, Counters, Entry, Wal};

/// The most commands one group commit takes; the byte budget
/// ([`super::WalOptions::max_batch_bytes`]) usually stops it first.
const MAX_BATCH: usize = 4096;

enum Command {
    Append(Entry),
    Compact {
        below: u64,
        reply: oneshot::Sender<Result<CompactReport, WalError>>,
    },
    Close(oneshot::Sender<()>),
}

/// Counts for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// `sync_data` calls on segment files (group commits and rotations).
    pub fsyncs: u64,
    /// Batches the writer ran (each with at most one group-commit fsync).
    pub commits: u64,
    /// Records written.
    pub appends: u64,
    /// Total bytes of all segments.
    pub size_bytes: u64,
    /// Segment files.
    pub segments: u64,
}

struct Shared {
    /// The last ticket queued, so order is checked when `append` is called,
    /// not later in the writer.
    last_queued: Mutex<u64>,
    max_record_bytes: u64,
    counters: Arc<Counters>,
    /// Why the writer stopped, if it failed.
    failure: OnceLock<String>,
}

/// A cheap, cloneable handle to a vault's log writer.
#[derive(Clone)]
pub struct WalHandle {
    tx: mpsc::Sender<Command>,
    durable: watch::Receiver<u64>,
    shared: Arc<Shared>,
}

impl Wal {
    /// Hands the log to a group-commit writer task on the current tokio
    /// runtime. The durable watermark starts at `next_ticket - 1`.
    pub fn start(self) -> WalHandle {
        let opts = self.options().clone();
        let (tx, rx) = mpsc::channel(opts.queue_depth.max(1));
        let (durable_tx, durable) = watch::channel(self.last_ticket());
        let shared = Arc::new(Shared {
            last_queued: Mutex::new(self.last_ticket()),
            max_record_bytes: opts.max_record_bytes,
            counters: Arc::clone(&self.counters),
            failure: OnceLock::new(),
        });
        tokio::spawn(run(
            self,
            rx,
            durable_tx,
            Arc::clone(&shared),
            opts.max_batch_bytes,
        ));
        WalHandle {
            tx,
            durable,
            shared,
        }
    }
}

impl WalHandle {
    /// Queues an update for `ticket`, which must be above every ticket
    /// queued before. Returns once queued (waiting only while the queue is
    /// full: backpressure); durability is reported through [`durable`].
    ///
    /// [`durable`]: WalHandle::durable
    pub async fn append(
        &self,
        ticket: u64,
        doc: impl Into<String>,
        update: Bytes,
    ) -> Result<(), WalError> {
        let entry = self.entry(ticket, doc.into(), update)?;
        let permit = self.tx.reserve().await.map_err(|_| self.stopped())?;
        self.enqueue(permit, entry)
    }

    /// Like [`append`](WalHandle::append) but never waits: a full queue is
    /// [`WalError::Full`].
    pub fn try_append(
        &self,
        ticket: u64,
        doc: impl Into<String>,
        update: Bytes,
    ) -> Result<(), WalError> {
        let entry = self.entry(ticket, doc.into(), update)?;
        let permit = self.tx.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => WalError::Full,
            mpsc::error::TrySendError::Closed(()) => self.stopped(),
        })?;
        self.enqueue(permit, entry)
    }

    /// The highest ticket durable on disk; every ticket below it is durable
    /// too. Feed changes to `Room::durable`. The sender is dropped if the
    /// writer fails, so `changed()` then returns an error.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    /// Waits until `ticket` is durable.
    pub async fn wait_durable(&self, ticket: u64) -> Result<(), WalError> {
        let mut rx = self.durable.clone();
        let ok = rx.wait_for(|&d| d >= ticket).await.is_ok();
        if ok {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    /// Drops the segments whose tickets are all below `below`. Ordered after
    /// every append queued before it.
    pub async fn compact(&self, below: u64) -> Result<CompactReport, WalError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Compact { below, reply })
            .await
            .map_err(|_| self.stopped())?;
        rx.await.map_err(|_| self.stopped())?
    }

    /// Makes everything queued before it durable, then stops the writer and
    /// closes the files. Appends from other clones fail afterwards.
    pub async fn close(self) -> Result<(), WalError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Close(reply))
            .await
            .map_err(|_| self.stopped())?;
        rx.await.map_err(|_| self.stopped())
    }

    /// Total bytes of all segments, for `/metrics`.
    pub fn size_bytes(&self) -> u64 {
        self.shared.counters.size_bytes.load(Ordering::Relaxed)
    }

    /// Counters for `/metrics` and tests.
    pub fn stats(&self) -> WalStats {
        let c = &self.shared.counters;
        WalStats {
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            appends: c.appends.load(Ordering::Relaxed),
            size_bytes: c.size_bytes.load(Ordering::Relaxed),
            segments: c.segments.load(Ordering::Relaxed),
        }
    }

    fn entry(&self, ticket: u64, doc: String, update: Bytes) -> Result<Entry, WalError> {
        Wal::check_entry(self.shared.max_record_bytes, ticket, &doc, &update)?;
        Ok(Entry {
            ticket,
            doc,
            update,
        })
    }

    /// Checks order and queues under one lock, so the queue order is the
    /// ticket order even with several tasks appending.
    fn enqueue(&self, permit: mpsc::Permit<'_, Command>, entry: Entry) -> Result<(), WalError> {
        let mut last = self
            .shared
            .last_queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if entry.ticket <= *last {
            return Err(WalError::OutOfOrder {
                ticket: entry.ticket,
                last: *last,
            });
        }
        *last = entry.ticket;
        permit.send(Command::Append(entry));
        Ok(())
    }

    fn stopped(&self) -> WalError {
        match self.shared.failure.get() {
            Some(reason) => WalError::Failed(reason.clone()),
            None => WalError::Closed,
        }
    }
}

/// The writer loop: batch, write + fsync off the runtime, publish.
async fn run(
    mut wal: Wal,
    mut rx: mpsc::Receiver<Command>,
    durable: watch::Sender<u64>,
    shared: Arc<Shared>,
    max_batch_bytes: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut bytes = command_bytes(&first);
        let mut batch = vec![first];
        while bytes < max_batch_bytes && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(cmd) => {
                    bytes += command_bytes(&cmd);
                    batch.push(cmd);
                }
                Err(_) => break,
            }
        }
        let job = tokio::task::spawn_blocking(move || {
            let outcome = commit(&mut wal, batch);
            (wal, outcome)
        })
        .await;
        let (returned, outcome) = match job {
            Ok(done) => done,
            Err(e) => {
                fail(&shared, format!("the writer panicked: {e}"));
                return;
            }
        };
        wal = returned;
        match outcome {
            Ok(closing) => {
                shared.counters.commits.fetch_add(1, Ordering::Relaxed);
                let through = wal.last_ticket();
                durable.send_if_modified(|d| {
                    let moved = *d < through;
                    *d = through.max(*d);
                    moved
                });
                if let Some(reply) = closing {
                    drop(wal);
                    let _ = reply.send(());
                    return;
                }
            }
            Err(e) => {
                // Never retry a failed write or fsync: the kernel may have
                // dropped the dirty pages and a later fsync would lie.
                fail(&shared, e.to_string());
                return;
            }
        }
    }
}

/// Runs one batch: appends are written in order, compactions in their
/// place, then a single fsync covers every append in the batch.
fn commit(wal: &mut Wal, batch: Vec<Command>) -> Result<Option<oneshot::Sender<()>>, WalError> {
    let mut appends = Vec::with_capacity(batch.len());
    let mut closing = None;
    for cmd in batch {
        match cmd {
            Command::Append(entry) => appends.push(entry),
            Command::Compact { below, reply } => {
                wal.write(&appends)?;
                appends.clear();
                let result = wal.compact(below);
                if let Err(e) = &result {
                    // Nothing is lost: the segments stay and the next
                    // compaction tries again.
                    tracing::warn!(error = %e, "write-ahead log compaction failed");
                }
                let _ = reply.send(result);
            }
            Command::Close(reply) => {
                closing = Some(reply);
                break;
            }
        }
    }
    wal.write(&appends)?;
    wal.sync()?;
    Ok(closing)
}

fn command_bytes(cmd: &Command) -> usize {
    match cmd {
        Command::Append(e) => e.update.len() + e.doc.len(),
        _ => 0,
    }
}

fn fail(shared: &Shared, reason: String) {
    tracing::error!(%reason, "write-ahead log stopped; no further writes are acknowledged");
    let _ = shared.failure.set(reason);
}
