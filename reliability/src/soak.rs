//! A bounded soak on loopback: many clients on a few docs writing at a
//! steady pace for a fixed time, with the relay's RSS sampled from /proc.
//! Errors (error frames, closes, missed acks) must be zero, every acked
//! write must be readable afterwards, and memory must level off after warm-up.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use tessera_conformance::{fresh_doc, fresh_vault, Target};
use tessera_crdt::token::Scope;
use tokio::time::Instant;

use crate::rng::Rng;
use crate::server::Server;

/// What a soak run does.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Concurrent clients.
    pub clients: usize,
    /// Docs they share.
    pub docs: usize,
    /// How long the clients write.
    pub duration: Duration,
    /// RSS samples before this point are warm-up.
    pub warmup: Duration,
    /// Mean pause between one client's writes.
    pub pause_ms: u64,
    /// Seed for pauses and doc choice.
    pub seed: u64,
}

/// The figures of a soak run.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// Writes sent.
    pub writes: u64,
    /// Writes acked.
    pub acked: u64,
    /// Error frames, unexpected closes and missed acks.
    pub errors: u64,
    /// Acked writes not readable afterwards.
    pub lost: u64,
    /// Relay RSS samples (seconds since start, KiB).
    pub rss: Vec<(u64, u64)>,
    /// First error messages, for the log.
    pub error_examples: Vec<String>,
}

impl SoakReport {
    /// Mean RSS (KiB) of the samples in `[from, to)` seconds.
    pub fn mean_rss(&self, from: u64, to: u64) -> u64 {
        let v: Vec<u64> = self
            .rss
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, k)| *k)
            .collect();
        if v.is_empty() {
            0
        } else {
            v.iter().sum::<u64>() / v.len() as u64
        }
    }
}

struct ClientResult {
    writes: u64,
    acked: HashMap<String, Vec<String>>,
    errors: Vec<String>,
}

async fn client(
    target: Target,
    vault: String,
    doc: String,
    tag: String,
    mut rng: Rng,
    until: Instant,
    pause_ms: u64,
) -> ClientResult {
    let mut out = ClientResult {
        writes: 0,
        acked: HashMap::new(),
        errors: Vec::new(),
    };
    let mut c = match target.vault_client(&vault, Scope::Write).await {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(format!("{tag}: connect: {e:#}"));
            return out;
        }
    };
    if let Err(e) = c.open_and_sync(&doc).await {
        out.errors.push(format!("{tag}: sync: {e:#}"));
        return out;
    }
    let mut i = 0u64;
    while Instant::now() < until {
        i += 1;
        let marker = format!("{tag}n{i}");
        let seq = match c.append(&doc, &format!("[{marker}]")).await {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(format!("{tag}: send: {e:#}"));
                return out;
            }
        };
        out.writes += 1;
        if let Err(e) = c.wait_ack(&doc, seq).await {
            out.errors.push(format!("{tag}: ack: {e:#}"));
            return out;
        }
        out.acked.entry(doc.clone()).or_default().push(marker);
        // Keep reading the others' updates while pausing.
        let pause = Instant::now() + Duration::from_millis(pause_ms / 2 + rng.below(pause_ms + 1));
        while let Ok(true) = c.pump(pause, "updates").await {}
        if let Some((code, reason)) = &c.closed {
            out.errors.push(format!("{tag}: closed {code} {reason}"));
            return out;
        }
    }
    out.errors
        .extend(c.errors.iter().map(|e| format!("{tag}: error frame {e:?}")));
    let _ = c.close().await;
    out
}

/// Runs the soak against `server`, printing RSS samples through `line`.
pub async fn run(
    server: &Server,
    opts: &SoakOptions,
    mut line: impl FnMut(&str),
) -> Result<SoakReport> {
    let mut rng = Rng::new(opts.seed);
    let target = Target::new(&server.base, &server.secret);
    let vault = fresh_vault();
    let docs: Vec<String> = (0..opts.docs).map(|_| fresh_doc()).collect();
    let start = Instant::now();
    let until = start + opts.duration;
    let tasks: Vec<_> = (0..opts.clients)
        .map(|i| {
            tokio::spawn(client(
                target.clone(),
                vault.clone(),
                docs[i % docs.len()].clone(),
                format!("s{i}"),
                rng.fork(),
                until,
                opts.pause_ms,
            ))
        })
        .collect();
    let mut report = SoakReport::default();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = start.elapsed().as_secs();
        let kib = server.rss_kib()?;
        report.rss.push((t, kib));
        line(&format!("t={t}s relay RSS {} MiB", kib / 1024));
    }
    let mut acked: HashMap<String, Vec<String>> = HashMap::new();
    for task in tasks {
        let r = task.await.context("a soak client panicked")?;
        report.writes += r.writes;
        report.errors += r.errors.len() as u64;
        report.error_examples.extend(r.errors.into_iter().take(3));
        for (doc, markers) in r.acked {
            report.acked += markers.len() as u64;
            acked.entry(doc).or_default().extend(markers);
        }
    }
    let mut reader = target.vault_client(&vault, Scope::Read).await?;
    for doc in &docs {
        reader.open_and_sync(doc).await?;
        let text = reader.text(doc);
        let present = crate::chaos::markers(&text);
        report.lost += acked
            .get(doc)
            .into_iter()
            .flatten()
            .filter(|m| !present.contains(m.as_str()))
            .count() as u64;
    }
    Ok(report)
}
