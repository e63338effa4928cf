//! The door: nothing happens before authentication. Requests without a
//! valid token create no file and no vault, oversized and endless bodies are
//! refused with the relay's memory bounded, and refusals quote nothing big.
//!
//! These run the real binary with `TESSERA_AUTO_CREATE_VAULTS=false`, the
//! production default: a vault exists only when an admin created it.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use support::{Relay, SECRET};
use tessera_conformance::Target;
use tessera_crdt::token::Scope;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every route, as method, path under the vault, and a small body.
const ROUTES: [(&str, &str, &str); 15] = [
    ("POST", "", ""),
    ("GET", "/ws", ""),
    ("GET", "/docs/index", ""),
    ("PUT", "/blobs/00", "x"),
    ("GET", "/blobs/00", ""),
    ("HEAD", "/blobs/00", ""),
    ("POST", "/tokens", r#"{"scope":"admin"}"#),
    ("POST", "/revoke", r#"{"token_id":"x"}"#),
    ("GET", "/history?path=a.md", ""),
    ("POST", "/restore", r#"{"path":"a.md","snapshot":"x"}"#),
    ("GET", "/files", ""),
    ("GET", "/files/a.md", ""),
    ("PUT", "/files/Notes/a.md", "# a note"),
    ("POST", "/files/log.md?append", "- a line"),
    ("DELETE", "/files/a.md", ""),
];

fn strict() -> HashMap<String, String> {
    HashMap::from([("TESSERA_AUTO_CREATE_VAULTS".to_owned(), "false".to_owned())])
}

/// Every path under `dir`, recursively.
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            out.insert(path.display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

fn random_vault() -> String {
    tessera_conformance::fresh_vault()
}

/// The relay's peak resident set (VmHWM), in KiB, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

/// Sends `head` and then up to `total` body bytes (chunked when `chunked`,
/// else as declared by the head), stopping when the relay stops reading.
/// Returns the response status and how many response bytes came back.
async fn send_streaming(base: &str, head: String, total: u64, chunked: bool) -> (u16, usize) {
    let addr = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Reads the whole response (the relay closes after refusing).
        while let Ok(n) = rd.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > 64 << 20 {
                break;
            }
        }
        buf
    });
    let _ = wr.write_all(head.as_bytes()).await;
    let block = vec![b'a'; 64 << 10];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(block.len() as u64) as usize;
        let ok = if chunked {
            let mut frame = format!("{n:x}\r\n").into_bytes();
            frame.extend_from_slice(&block[..n]);
            frame.extend_from_slice(b"\r\n");
            wr.write_all(&frame).await.is_ok()
        } else {
            wr.write_all(&block[..n]).await.is_ok()
        };
        if !ok {
            break;
        }
        sent += n as u64;
    }
    if chunked {
        let _ = wr.write_all(b"0\r\n\r\n").await;
    }
    let _ = wr.shutdown().await;
    let response = reader.await.expect("reader task");
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response.len())
}

#[tokio::test]
async fn unauthenticated_requests_to_every_route_with_random_vault_names_create_nothing_and_get_401(
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let relay = Relay::start(&data, &[], &strict()).await;
    let before = tree(&data);
    let client = reqwest::Client::new();
    let forged =
        Target::new(&relay.base, "not-the-relays-secret-0123456789").token("forged", Scope::Admin);
    for round in 0..20 {
        let vault = random_vault();
        for (method, path, body) in ROUTES {
            let url = format!("{}/v1/vaults/{vault}{path}", relay.base);
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut req = client.request(method.clone(), &url).body(body);
            if round % 2 == 1 {
                // A token signed with another secret is as good as none.
                req = req.bearer_auth(&forged);
            }
            let resp = req.send().await.expect("response");
            assert_eq!(resp.status().as_u16(), 401, "{method} {url}");
        }
    }
    assert_eq!(tree(&data), before, "the data dir changed");
}

#[tokio::test]
async fn a_valid_token_for_a_vault_no_admin_created_gets_404_and_creates_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let relay = Relay::start(&data, &[], &strict()).await;
    let target = Target::new(&relay.base, SECRET);
    let before = tree(&data);
    let vault = random_vault();
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/vaults/{vault}/history?path=a.md",
            relay.base
        ))
        .bearer_auth(target.token(&vault, Scope::Admin))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "vault-not-found");
    assert_eq!(tree(&data), before, "the data dir changed");
}

#[tokio::test]
async fn an_admin_creates_a_vault_through_the_api_and_its_tokens_then_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &strict()).await;
    let target = Target::new(&relay.base, SECRET);
    let vault = random_vault();
    let client = reqwest::Client::new();
    let create = |scope| {
        client
            .post(format!("{}/v1/vaults/{vault}", relay.base))
            .bearer_auth(target.token(&vault, scope))
            .send()
    };
    assert_eq!(
        create(Scope::Write)
            .await
            .expect("response")
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        create(Scope::Admin)
            .await
            .expect("response")
            .status()
            .as_u16(),
        201
    );
    let resp = client
        .get(format!(
            "{}/v1/vaults/{vault}/history?path=a.md",
            relay.base
        ))
        .bearer_auth(target.token(&vault, Scope::Read))
        .send()
        .await
        .expect("response");
    // The vault exists now: the note does not.
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "not-found");
}

#[tokio::test]
async fn the_first_start_creates_the_default_vault() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &strict()).await;
    let target = Target::new(&relay.base, SECRET);
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/vaults/default/history?path=a.md",
            relay.base
        ))
        .bearer_auth(target.token("default", Scope::Read))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        body["error"], "not-found",
        "the vault exists, the note does not"
    );
}

#[tokio::test]
async fn oversized_and_endless_bodies_with_and_without_a_token_are_refused_with_bounded_memory() {
    const BIG: u64 = 300 << 20;
    const MAX_BLOB: u64 = 8 << 20;
    let tmp = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(
        &tmp.path().join("data"),
        &["--max-blob", &MAX_BLOB.to_string()],
        &strict(),
    )
    .await;
    let target = Target::new(&relay.base, SECRET);
    let admin = target.token("default", Scope::Admin);
    let write = target.token("default", Scope::Write);
    let host = relay.base.trim_start_matches("http://").to_owned();
    let head = |method: &str, path: &str, token: Option<&str>, length: Option<u64>| {
        let mut h = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        );
        if let Some(t) = token {
            h.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        match length {
            Some(n) => h.push_str(&format!("Content-Length: {n}\r\n")),
            None => h.push_str("Transfer-Encoding: chunked\r\n"),
        }
        h.push_str("\r\n");
        h
    };
    let hash = "0".repeat(64);
    let blob_path = format!("/v1/vaults/default/blobs/{hash}");
    let rss_before = peak_rss_kib(relay.pid());
    let cases: Vec<(String, u16)> = vec![
        (
            head("POST", "/v1/vaults/default/tokens", None, Some(BIG)),
            401,
        ),
        (head("POST", "/v1/vaults/default/tokens", None, None), 401),
        (
            head("POST", "/v1/vaults/default/tokens", Some(&write), Some(BIG)),
            403,
        ),
        (
            head("POST", "/v1/vaults/default/tokens", Some(&admin), Some(BIG)),
            413,
        ),
        (
            head("POST", "/v1/vaults/default/tokens", Some(&admin), None),
            413,
        ),
        (
            head("POST", "/v1/vaults/default/restore", Some(&write), None),
            413,
        ),
        (head("PUT", &blob_path, None, None), 401),
        (head("PUT", &blob_path, Some(&write), Some(BIG)), 413),
        (head("PUT", &blob_path, Some(&write), None), 413),
    ];
    for (head, expected) in cases {
        let chunked = head.contains("chunked");
        let first = head.lines().next().unwrap_or_default().to_owned();
        let (status, response_bytes) = send_streaming(&relay.base, head, BIG, chunked).await;
        assert_eq!(status, expected, "{first} (chunked: {chunked})");
        assert!(
            response_bytes < 2048,
            "{first}: {response_bytes} response bytes"
        );
    }
    let grown_mib = peak_rss_kib(relay.pid()).saturating_sub(rss_before) / 1024;
    // 9 requests of 300 MB each; the relay may hold one attachment limit
    // (8 MiB) per upload, never the body.
    assert!(grown_mib < 64, "peak RSS grew by {grown_mib} MiB");
}

#[tokio::test]
async fn a_json_body_that_is_not_what_the_route_takes_is_refused_with_a_short_excerpt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &strict()).await;
    let target = Target::new(&relay.base, SECRET);
    let junk = format!(r#"{{"scope":"{}"}}"#, "a".repeat(15 << 10));
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/vaults/default/tokens", relay.base))
        .bearer_auth(target.token("default", Scope::Admin))
        .body(junk)
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 400);
    let body = resp.text().await.expect("body");
    assert!(body.len() < 512, "{} bytes came back", body.len());
}

#[tokio::test]
async fn a_socket_is_closed_with_4401_when_its_token_expires() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &strict()).await;
    let target = Target::new(&relay.base, SECRET);
    let claims = tessera_crdt::token::Claims::new(
        "default",
        Scope::Read,
        tessera_conformance::now_secs(),
        Some(1),
        None,
    )
    .expect("claims");
    let mut client = tessera_conformance::client::VaultClient::connect_with_token(
        &relay.base,
        "default",
        &target.mint(&claims),
    )
    .await
    .expect("connects");
    let (code, reason) = client
        .wait_close()
        .await
        .expect("the relay closes the socket");
    assert_eq!(code, 4401, "{reason}");
    assert!(!reason.is_empty());
}
