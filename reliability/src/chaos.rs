//! Crash chaos: writers stream edits on the vault endpoint while the server
//! is SIGKILLed at a seeded moment, then restarted; after every restart a
//! fresh reader checks that every write the server acknowledged is there.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use tessera_conformance::{fresh_doc, fresh_vault, Target, VaultClient};
use tessera_crdt::token::Scope;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::rng::Rng;
use crate::server::Server;

/// What a chaos run does.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Kill/restart cycles.
    pub cycles: u32,
    /// Seed for the kill moments and the writers' choices.
    pub seed: u64,
    /// Concurrent writer sockets.
    pub writers: usize,
    /// Note docs the writers spread their edits over.
    pub docs: usize,
    /// The kill comes 0..this many milliseconds after the writers are ready.
    pub max_kill_delay_ms: u64,
    /// Self-test of the checker: after each kill, delete this directory (the
    /// relay's WAL), so acknowledged writes really are lost and the run must
    /// report them.
    pub sabotage: Option<std::path::PathBuf>,
}

/// The outcome: the numbers of the final line.
#[derive(Debug, Clone, Default)]
pub struct ChaosReport {
    /// Cycles completed.
    pub cycles: u32,
    /// Writes sent in total.
    pub sent: u64,
    /// Writes the server acknowledged before it was killed.
    pub acked: u64,
    /// Acknowledged writes missing after a restart.
    pub lost: u64,
    /// Up to ten of the lost writes, for the message.
    pub lost_examples: Vec<String>,
}

impl ChaosReport {
    /// The line `scripts/chaos.sh` ends with.
    pub fn summary(&self) -> String {
        format!(
            "cycles {}, acked {}, lost {}",
            self.cycles, self.acked, self.lost
        )
    }
}

/// One writer's record: every edit it sent and whether it was acked.
struct Written {
    sent: Vec<(String, u64, String)>,
    acked: HashMap<String, u64>,
}

/// Every `[...]` marker in a note's text.
pub fn markers(text: &str) -> HashSet<&str> {
    text.split('[')
        .filter_map(|part| part.split_once(']').map(|(m, _)| m))
        .collect()
}

/// Streams appends until the socket dies; `ready` is told once every doc is synced.
async fn write_until_killed(
    target: Target,
    vault: String,
    docs: Vec<String>,
    tag: String,
    mut rng: Rng,
    ready: mpsc::Sender<()>,
) -> Written {
    let mut out = Written {
        sent: Vec::new(),
        acked: HashMap::new(),
    };
    let Ok(mut client) = target.vault_client(&vault, Scope::Write).await else {
        let _ = ready.send(()).await;
        return out;
    };
    for doc in &docs {
        if client.open_and_sync(doc).await.is_err() {
            let _ = ready.send(()).await;
            return out;
        }
    }
    let _ = ready.send(()).await;
    for i in 0u64.. {
        let doc = &docs[rng.index(docs.len())];
        let marker = format!("{tag}n{i}");
        match client.append(doc, &format!("[{marker}]")).await {
            Ok(seq) => out.sent.push((doc.clone(), seq, marker)),
            Err(_) => break,
        }
        // Read whatever acks arrived; a short wait keeps the writer from
        // running unboundedly ahead of the log.
        match client
            .pump(Instant::now() + Duration::from_millis(2), "acks")
            .await
        {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.to_string().contains("timed out") => {}
            Err(_) => break,
        }
    }
    // Drain acks that are already buffered on the socket.
    while let Ok(true) = client
        .pump(Instant::now() + Duration::from_millis(50), "acks")
        .await
    {}
    out.acked = client.acked.clone();
    out
}

/// Runs the cycles against `server`, printing a line per cycle through `line`.
pub async fn run(
    server: &mut Server,
    opts: &ChaosOptions,
    mut line: impl FnMut(&str),
) -> Result<ChaosReport> {
    let mut rng = Rng::new(opts.seed);
    let vault = fresh_vault();
    let docs: Vec<String> = (0..opts.docs).map(|_| fresh_doc()).collect();
    let mut report = ChaosReport::default();
    let mut must_have: HashMap<String, Vec<String>> = HashMap::new();
    for cycle in 0..opts.cycles {
        let target = Target::new(&server.base, &server.secret);
        let (ready_tx, mut ready_rx) = mpsc::channel(opts.writers);
        let writers: Vec<_> = (0..opts.writers)
            .map(|w| {
                tokio::spawn(write_until_killed(
                    target.clone(),
                    vault.clone(),
                    docs.clone(),
                    format!("c{cycle}w{w}"),
                    rng.fork(),
                    ready_tx.clone(),
                ))
            })
            .collect();
        for _ in 0..opts.writers {
            ready_rx.recv().await;
        }
        let delay = rng.below(opts.max_kill_delay_ms + 1);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        if let Some(dir) = &opts.sabotage {
            let _ = std::fs::remove_dir_all(dir);
        }
        let (mut sent, mut acked) = (0u64, 0u64);
        for writer in writers {
            let written = writer.await.context("a writer task panicked")?;
            for (doc, seq, marker) in written.sent {
                sent += 1;
                if written.acked.get(&doc).copied().unwrap_or(0) >= seq {
                    acked += 1;
                    must_have.entry(doc).or_default().push(marker);
                }
            }
        }
        server.restart().await?;
        let lost = check(&target_of(server), &vault, &docs, &must_have).await?;
        report.cycles += 1;
        report.sent += sent;
        report.acked += acked;
        line(&format!(
            "cycle {cycle}: killed after {delay} ms, sent {sent}, acked {acked}, missing after restart {}",
            lost.len()
        ));
        // A write found missing stays missing: count each once.
        for marker in &lost {
            for list in must_have.values_mut() {
                list.retain(|m| m != marker);
            }
        }
        report.lost += lost.len() as u64;
        report.lost_examples.extend(
            lost.into_iter()
                .take(10usize.saturating_sub(report.lost_examples.len())),
        );
    }
    Ok(report)
}

fn target_of(server: &Server) -> Target {
    Target::new(&server.base, &server.secret)
}

/// Reads every doc with a fresh read-only client; returns the missing markers.
async fn check(
    target: &Target,
    vault: &str,
    docs: &[String],
    must_have: &HashMap<String, Vec<String>>,
) -> Result<Vec<String>> {
    let mut reader: VaultClient = target
        .vault_client(vault, Scope::Read)
        .await
        .context("the checking reader connects after the restart")?;
    let mut lost = Vec::new();
    for doc in docs {
        reader
            .open_and_sync(doc)
            .await
            .with_context(|| format!("the checking reader syncs {doc}"))?;
        let text = reader.text(doc);
        let present = markers(&text);
        lost.extend(
            must_have
                .get(doc)
                .into_iter()
                .flatten()
                .filter(|m| !present.contains(m.as_str()))
                .cloned(),
        );
    }
    let _ = reader.close().await;
    Ok(lost)
}
