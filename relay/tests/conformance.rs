//! The conformance suite (`tessera-conformance`) against the real relay binary.
//!
//! Starts `tessera-relay serve` on a free port with a temporary data dir, a
//! known secret, short snapshot timings and a small blob limit (so the
//! oversized-blob case stays cheap), waits for `/healthz`, runs every case
//! and reports one line per case. The test fails listing every failed case.
//!
//! `TESSERA_CONFORMANCE_FILTER=substring` runs only the matching cases.
//!
//! Two behaviours only the self-hosted relay has (a process to kill) are
//! checked here too, with the suite's clients: an acknowledged write survives
//! `kill -9`, and shutting down closes sockets with 1001.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tessera_conformance::{fresh_doc, fresh_vault, http, run_all, Target};
use tessera_crdt::token::Scope;

const SECRET: &str = "conformance-test-secret-0123456789";
/// Small, so sending max+1 bytes is cheap.
const MAX_BLOB: u64 = 1 << 20;

/// The relay process; killed when dropped, so a failing test never leaks it.
struct Relay {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Relay {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}

fn start_relay(data: &Path) -> Relay {
    let port = free_port();
    let log = data.join("relay.log");
    let stderr = File::options()
        .create(true)
        .append(true)
        .open(&log)
        .expect("relay log file");
    let child = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data")
        .arg(data.join("data"))
        .args(["--secret", SECRET])
        .args(["--snapshot-debounce", "200ms", "--snapshot-max-delay", "1s"])
        .args(["--max-blob", &MAX_BLOB.to_string()])
        .env("RUST_LOG", "warn")
        // Every case uses a fresh vault minted offline.
        .env("TESSERA_AUTO_CREATE_VAULTS", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("tessera-relay starts");
    Relay {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

async fn wait_healthy(relay: &mut Relay) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = relay.child.try_wait().expect("relay status") {
            panic!(
                "tessera-relay exited with {status} before answering /healthz:\n{}",
                relay.log_tail()
            );
        }
        let ok = http::get(&format!("{}/healthz", relay.base))
            .await
            .is_ok_and(|a| a.status == 200);
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tessera-relay did not answer /healthz within 60s:\n{}",
            relay.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut relay = start_relay(dir.path());
    wait_healthy(&mut relay).await;

    let mut target = Target::new(relay.base.clone(), SECRET);
    target.max_blob = MAX_BLOB;
    let filter = std::env::var("TESSERA_CONFORMANCE_FILTER").ok();
    let report = run_all(&target, filter.as_deref(), |line| eprintln!("{line}")).await;
    eprintln!("{}", report.summary());

    if let Ok(Some(status)) = relay.child.try_wait() {
        panic!(
            "tessera-relay exited during the suite with {status}:\n{}",
            relay.log_tail()
        );
    }
    if !report.failed.is_empty() {
        let list: Vec<String> = report
            .failed
            .iter()
            .map(|(name, reason)| format!("  - {name}\n      {reason}"))
            .collect();
        panic!(
            "{}; failed cases:\n{}\n\nlast relay log lines:\n{}",
            report.summary(),
            list.join("\n"),
            relay.log_tail()
        );
    }
    assert!(
        !report.passed.is_empty(),
        "no case ran (filter {filter:?} matched nothing)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (vault, doc) = (fresh_vault(), fresh_doc());
    let mut expected = String::new();
    {
        let mut relay = start_relay(dir.path());
        wait_healthy(&mut relay).await;
        let target = Target::new(relay.base.clone(), SECRET);
        let mut writer = target.vault_client(&vault, Scope::Write).await.unwrap();
        let mut last = 0;
        for i in 0..50 {
            let piece = format!("line {i}\n");
            last = writer.append(&doc, &piece).await.unwrap();
            expected.push_str(&piece);
        }
        writer.wait_ack(&doc, last).await.unwrap();
        // SIGKILL: no shutdown flush, only what was made durable before the acks.
        relay.child.kill().expect("kill -9 the relay");
        relay.child.wait().expect("relay reaped");
    }
    let mut relay = start_relay(dir.path());
    wait_healthy(&mut relay).await;
    let target = Target::new(relay.base.clone(), SECRET);
    let mut reader = target.vault_client(&vault, Scope::Read).await.unwrap();
    reader.open_and_sync(&doc).await.unwrap();
    let text = reader.text(&doc);
    assert!(
        text == expected,
        "after kill -9 and restart the note has {} of {} acknowledged bytes\nrelay log:\n{}",
        text.len(),
        expected.len(),
        relay.log_tail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_sockets_with_1001() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut relay = start_relay(dir.path());
    wait_healthy(&mut relay).await;
    let target = Target::new(relay.base.clone(), SECRET);
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut client = target.vault_client(&vault, Scope::Write).await.unwrap();
    let seq = client.append(&doc, "before shutdown").await.unwrap();
    client.wait_ack(&doc, seq).await.unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .expect("kill -TERM runs");
    assert!(status.success(), "kill -TERM failed: {status}");
    let (code, reason) = client.wait_close().await.unwrap();
    assert!(
        code == 1001,
        "on SIGTERM the relay closed the socket with {code} {reason:?}, expected 1001 (going away)\nrelay log:\n{}",
        relay.log_tail()
    );
}
