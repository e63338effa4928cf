//! Named bad inputs tried against a live server, each with the response it
//! must get; the observed responses become the table in docs/bad-inputs.md.

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use tessera_conformance::client::{vault_ws_url, ws_base, ws_connect, Connect, WAIT};
use tessera_conformance::{fresh_doc, fresh_vault, http, Target};
use tessera_crdt::encoding::{write_var_str, write_var_u64};
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame};
use tessera_crdt::token::Scope;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Ws;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

/// The relay flags the table assumes (small doc and blob limits, so those
/// limits can be hit cheaply).
/// Rate limits are set low too, so that one client going over them is cheap
/// to show.
pub const RELAY_FLAGS: [&str; 10] = [
    "--max-docs",
    "4",
    "--max-blob",
    "65536",
    "--max-frames-per-sec",
    "10",
    "--max-sockets-per-token",
    "8",
    "--max-requests-per-sec",
    "5",
];

/// One tried input and what came back.
#[derive(Debug, Clone)]
pub struct Tried {
    /// What was sent, for humans.
    pub name: &'static str,
    /// Where it went.
    pub endpoint: &'static str,
    /// The observed response.
    pub observed: String,
    /// The part of the response that must be there.
    pub expected: &'static str,
}

impl Tried {
    /// True when the response contains what was expected.
    pub fn ok(&self) -> bool {
        self.observed.contains(self.expected)
    }
}

/// Bytes that make yrs 0.28.1's update decoder panic (see crdt/tests/room.rs).
const PANICS_THE_DECODER: [u8; 12] = [40, 41, 209, 235, 244, 186, 209, 235, 244, 186, 0, 1];

/// An update that makes yrs 0.28.1 panic once the note holds client 5's
/// "hello world" and its state is next encoded (crdt/tests/fixtures/yrs/).
fn panics_when_integrated() -> Vec<u8> {
    let hex = include_str!("../../crdt/tests/fixtures/yrs/panics-0.28.1.hex").trim();
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The update client 5 sends when it types "hello world" into an empty note.
fn hello_world_from_client_5(doc: &str) -> Vec<u8> {
    use yrs::{Text, Transact};
    let d = yrs::Doc::with_client_id(5);
    let text = d.get_or_insert_text("content");
    let mut txn = d.transact_mut();
    text.insert(&mut txn, 0, "hello world");
    let u = txn.encode_update_v1();
    Message::Sync(SyncMessage::Update(&u)).to_vault_frame(doc)
}

fn envelope(doc: &str, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_var_str(&mut out, doc);
    out.extend_from_slice(rest);
    out
}

fn step1(doc: &str) -> Vec<u8> {
    let sv = StateVector::default().encode_v1();
    Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(doc)
}

fn update(doc: &str, text: &str) -> Vec<u8> {
    let d = tessera_conformance::client::new_doc();
    let u = tessera_conformance::client::append(&d, text);
    Message::Sync(SyncMessage::Update(&u)).to_vault_frame(doc)
}

fn short(s: &str) -> String {
    let s = s.replace('|', "\\|").replace('\n', " ");
    if s.len() > 150 {
        let mut end = 150;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// Opens a vault socket with `token`, sends `frames` (binary) or `text`,
/// and reports the first error frame or the close.
async fn vault_socket(t: &Target, vault: &str, token: &str, frames: Vec<Ws>) -> Result<String> {
    let url = vault_ws_url(&t.base, vault, token);
    let mut socket = match ws_connect(&url, &[]).await? {
        Connect::Refused(r) => return Ok(format!("HTTP {} {}", r.status, short(&r.text))),
        Connect::Open(s) => s,
    };
    for f in frames {
        if socket.send(f).await.is_err() {
            break;
        }
    }
    let limits = Limits {
        max_frame_bytes: 64 << 20,
        ..Limits::default()
    };
    loop {
        match timeout(WAIT, socket.next()).await {
            Err(_) => return Ok(format!("no answer within {} s", WAIT.as_secs())),
            Ok(None) => return Ok("connection ended without a close frame".into()),
            Ok(Some(Err(e))) => return Ok(format!("connection failed: {e}")),
            Ok(Some(Ok(Ws::Close(Some(c))))) => {
                return Ok(format!(
                    "close {} \"{}\"",
                    u16::from(c.code),
                    short(&c.reason)
                ))
            }
            Ok(Some(Ok(Ws::Close(None)))) => return Ok("close without a code".into()),
            Ok(Some(Ok(Ws::Binary(b)))) => {
                if let Ok(f) = VaultFrame::decode(&b, &limits) {
                    if let Message::Error { code, seq, text } = f.message {
                        return Ok(format!(
                            "error frame {} seq {seq}: \"{}\" (socket stays open)",
                            code.name(),
                            short(text)
                        ));
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn http_answer(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<String> {
    let a = http::request(method, url, token, body).await?;
    Ok(format!("HTTP {} {}", a.status, short(&a.text())))
}

/// Tries every named bad input against `t` (started with [`RELAY_FLAGS`]).
pub async fn try_all(t: &Target) -> Result<Vec<Tried>> {
    let vault = fresh_vault();
    create_vault(t, &vault).await?;
    let write = t.token(&vault, Scope::Write);
    let read = t.token(&vault, Scope::Read);
    let note = fresh_doc();
    let bin = |frames: Vec<Vec<u8>>| {
        frames
            .into_iter()
            .map(|f| Ws::Binary(f.into()))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    let mut add = |name, endpoint, observed: String, expected| {
        out.push(Tried {
            name,
            endpoint,
            observed,
            expected,
        })
    };
    const WS: &str = "vault ws";

    add(
        "no token",
        WS,
        vault_socket(t, &vault, "", vec![]).await?,
        "HTTP 401",
    );
    add(
        "garbage token",
        WS,
        vault_socket(t, &vault, "v1.Zm9v.YmFy", vec![]).await?,
        "HTTP 401",
    );
    add(
        "expired token",
        WS,
        vault_socket(t, &vault, &t.expired_token(&vault, Scope::Write), vec![]).await?,
        "HTTP 401",
    );
    add(
        "token signed with another secret",
        WS,
        {
            let other = Target::new(&t.base, "some-other-secret-0123456789abcdef");
            vault_socket(t, &vault, &other.token(&vault, Scope::Write), vec![]).await?
        },
        "HTTP 401",
    );
    add(
        "valid token for a vault no admin created",
        WS,
        {
            let nobody = fresh_vault();
            vault_socket(t, &nobody, &t.token(&nobody, Scope::Admin), vec![]).await?
        },
        "HTTP 404",
    );
    add(
        "token for another vault",
        WS,
        vault_socket(t, &vault, &t.token(&fresh_vault(), Scope::Write), vec![]).await?,
        "HTTP 403",
    );
    add(
        "bad vault id in the URL",
        WS,
        vault_socket(t, "Not_A_Vault", &write, vec![]).await?,
        "HTTP 400",
    );
    add(
        "read-only token writes",
        WS,
        vault_socket(
            t,
            &vault,
            &read,
            bin(vec![step1(&note), update(&note, "sneaky")]),
        )
        .await?,
        "permission-denied seq 1",
    );
    add(
        "garbage bytes",
        WS,
        vault_socket(
            t,
            &vault,
            &write,
            bin(vec![vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37]]),
        )
        .await?,
        "close 4400",
    );
    add(
        "empty frame",
        WS,
        vault_socket(t, &vault, &write, bin(vec![vec![]])).await?,
        "close 4400",
    );
    add(
        "truncated varint",
        WS,
        vault_socket(t, &vault, &write, bin(vec![vec![0x80]])).await?,
        "close 4400",
    );
    add(
        "varint longer than 64 bits",
        WS,
        vault_socket(t, &vault, &write, bin(vec![vec![0xff; 11]])).await?,
        "close 4400",
    );
    add(
        "unknown message type (42)",
        WS,
        vault_socket(t, &vault, &write, bin(vec![envelope(&note, &[42])])).await?,
        "error frame malformed",
    );
    add(
        "unknown extension type (150)",
        WS,
        vault_socket(t, &vault, &write, bin(vec![envelope("", &[150, 1, 0])])).await?,
        "error frame malformed",
    );
    add(
        "huge length prefix on an update",
        WS,
        {
            let mut m = vec![0, 2];
            write_var_u64(&mut m, u64::MAX >> 1);
            m.extend_from_slice(&[1, 2, 3]);
            vault_socket(t, &vault, &write, bin(vec![envelope(&note, &m)])).await?
        },
        "error frame limit-exceeded",
    );
    add(
        "huge length prefix on the doc id",
        WS,
        {
            let mut f = Vec::new();
            write_var_u64(&mut f, u32::MAX as u64);
            f.extend_from_slice(b"index");
            vault_socket(t, &vault, &write, bin(vec![f])).await?
        },
        "close 44",
    );
    add(
        "oversized frame (17 MiB)",
        WS,
        vault_socket(
            t,
            &vault,
            &write,
            bin(vec![envelope(&note, &vec![0u8; 17 << 20])]),
        )
        .await?,
        "close 4413",
    );
    add(
        "bad doc id in the envelope",
        WS,
        vault_socket(t, &vault, &write, bin(vec![update("../etc/passwd", "x")])).await?,
        "bad-doc-id",
    );
    add(
        "update yrs cannot decode",
        WS,
        vault_socket(
            t,
            &vault,
            &write,
            bin(vec![
                step1(&note),
                Message::Sync(SyncMessage::Update(&[1, 2, 3])).to_vault_frame(&note),
            ]),
        )
        .await?,
        "malformed seq 1",
    );
    add(
        "update that panics the yrs decoder",
        WS,
        vault_socket(
            t,
            &vault,
            &write,
            bin(vec![
                step1(&note),
                Message::Sync(SyncMessage::Update(&PANICS_THE_DECODER)).to_vault_frame(&note),
            ]),
        )
        .await?,
        "malformed seq 1",
    );
    add(
        "update that panics yrs when the note is next encoded",
        WS,
        vault_socket(
            t,
            &vault,
            &write,
            bin(vec![
                step1(&note),
                hello_world_from_client_5(&note),
                Message::Sync(SyncMessage::Update(&panics_when_integrated())).to_vault_frame(&note),
            ]),
        )
        .await?,
        "malformed seq 2",
    );
    add(
        "text frame instead of binary",
        WS,
        vault_socket(t, &vault, &write, vec![Ws::Text("hello".into())]).await?,
        "close 44",
    );
    add(
        "too many docs (limit 4)",
        WS,
        {
            let docs: Vec<String> = (0..6).map(|_| fresh_doc()).collect();
            let frames = docs
                .iter()
                .flat_map(|d| [step1(d), update(d, "x")])
                .collect();
            let v = fresh_vault();
            create_vault(t, &v).await?;
            vault_socket(t, &v, &t.token(&v, Scope::Write), bin(frames)).await?
        },
        "limit-exceeded",
    );
    add(
        "doc endpoint: bad doc id in the URL",
        "doc ws",
        {
            let url = format!(
                "{}/v1/vaults/{vault}/docs/..%2Fx?token={write}",
                ws_base(&t.base)
            );
            match ws_connect(&url, &[]).await? {
                Connect::Refused(r) => format!("HTTP {} {}", r.status, short(&r.text)),
                Connect::Open(_) => "upgraded".into(),
            }
        },
        "HTTP 400",
    );

    let blob_url = |hash: &str| t.url(&format!("/v1/vaults/{vault}/blobs/{hash}"));
    let big = vec![7u8; 65537];
    add(
        "oversized blob (64 KiB + 1, limit 64 KiB)",
        "HTTP",
        http_answer(
            Method::PUT,
            &blob_url(&blake3::hash(&big).to_hex()),
            Some(&write),
            Some(big),
        )
        .await?,
        "HTTP 413",
    );
    add(
        "blob whose bytes do not match its hash",
        "HTTP",
        http_answer(
            Method::PUT,
            &blob_url(&blake3::hash(b"other").to_hex()),
            Some(&write),
            Some(b"these bytes".to_vec()),
        )
        .await?,
        "HTTP 422",
    );
    add(
        "malformed blob hash",
        "HTTP",
        http_answer(
            Method::PUT,
            &blob_url("not-a-hash"),
            Some(&write),
            Some(b"x".to_vec()),
        )
        .await?,
        "HTTP 400",
    );
    add(
        "blob upload with a read-only token",
        "HTTP",
        http_answer(
            Method::PUT,
            &blob_url(&blake3::hash(b"x").to_hex()),
            Some(&read),
            Some(b"x".to_vec()),
        )
        .await?,
        "HTTP 403",
    );
    add(
        "token minting with a write token",
        "HTTP",
        {
            let a = http::json(
                Method::POST,
                &t.url(&format!("/v1/vaults/{vault}/tokens")),
                &write,
                &serde_json::json!({"scope": "admin"}),
            )
            .await?;
            format!("HTTP {} {}", a.status, short(&a.text()))
        },
        "HTTP 403",
    );
    add(
        "blob download without a token",
        "HTTP",
        http_answer(
            Method::GET,
            &blob_url(&blake3::hash(b"x").to_hex()),
            None,
            None,
        )
        .await?,
        "HTTP 401",
    );
    add(
        "700 frames at once from one socket (rate 10/s, burst 600)",
        WS,
        {
            let token = t.token(&vault, Scope::Read);
            let frames = (0..700).map(|_| step1(&note)).collect();
            vault_socket(t, &vault, &token, bin(frames)).await?
        },
        "close 4429 \"rate-limited: too many frames",
    );
    add(
        "a 9th open socket for one token (cap 8)",
        WS,
        ninth_socket(t, &vault).await?,
        "close 4429 \"rate-limited: too many open sockets",
    );
    add(
        "150 requests at once with one token (rate 5/s, burst 100)",
        "HTTP",
        request_flood(t, &vault).await?,
        "HTTP 429 Retry-After",
    );
    Ok(out)
}

/// Creates `vault` as an admin does (`POST /v1/vaults/{vault}`).
async fn create_vault(t: &Target, vault: &str) -> Result<()> {
    let admin = t.token(vault, Scope::Admin);
    let a = http::request(
        Method::POST,
        &t.url(&format!("/v1/vaults/{vault}")),
        Some(&admin),
        None,
    )
    .await?;
    anyhow::ensure!(
        a.status == 201 || a.status == 200,
        "creating vault {vault}: HTTP {} {}",
        a.status,
        a.text()
    );
    Ok(())
}

/// Holds 8 sockets of one token open (each greeted), then opens a 9th.
async fn ninth_socket(t: &Target, vault: &str) -> Result<String> {
    let token = t.token(vault, Scope::Read);
    let url = vault_ws_url(&t.base, vault, &token);
    let mut held = Vec::new();
    for _ in 0..8 {
        match ws_connect(&url, &[]).await? {
            Connect::Refused(r) => return Ok(format!("HTTP {} {}", r.status, short(&r.text))),
            Connect::Open(mut s) => {
                // The hello says the session joined the room.
                let _ = timeout(WAIT, s.next()).await;
                held.push(s);
            }
        }
    }
    let answer = vault_socket(t, vault, &token, vec![]).await;
    drop(held);
    answer
}

/// Sends requests with one token until one is refused (at most 150).
async fn request_flood(t: &Target, vault: &str) -> Result<String> {
    let token = t.token(vault, Scope::Read);
    let url = t.url(&format!(
        "/v1/vaults/{vault}/blobs/{}",
        blake3::hash(b"none").to_hex()
    ));
    for i in 0..150 {
        let a = http::request(Method::GET, &url, Some(&token), None).await?;
        if a.status != 404 {
            let retry = a
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(none)")
                .to_owned();
            return Ok(format!(
                "HTTP {} Retry-After: {retry} after {i} requests {}",
                a.status,
                short(&a.text())
            ));
        }
    }
    Ok("150 requests, none refused".into())
}

/// The worker variables matching [`RELAY_FLAGS`], for `wrangler dev --var`.
pub const WORKER_VARS: [&str; 5] = [
    "TESSERA_MAX_DOCS:4",
    "TESSERA_MAX_BLOB:65536",
    "TESSERA_MAX_FRAMES_PER_SEC:10",
    "TESSERA_MAX_SOCKETS_PER_TOKEN:8",
    "TESSERA_MAX_REQUESTS_PER_SEC:5",
];

/// The markdown table of the same inputs tried against the relay and the
/// worker, side by side (both lists come from [`try_all`], so they line up).
pub fn table_both(relay: &[Tried], worker: &[Tried]) -> String {
    let mut s = String::from(
        "| # | bad input | endpoint | relay | worker | expected | ok |\n|---|---|---|---|---|---|---|\n",
    );
    for (i, (r, w)) in relay.iter().zip(worker).enumerate() {
        let ok = match (r.ok(), w.ok()) {
            (true, true) => "yes",
            (false, true) => "NO (relay)",
            (true, false) => "NO (worker)",
            (false, false) => "NO",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | `{}` | {} |\n",
            i + 1,
            r.name,
            r.endpoint,
            r.observed,
            w.observed,
            r.expected,
            ok
        ));
    }
    s
}

/// The markdown table of `tried`.
pub fn table(tried: &[Tried]) -> String {
    let mut s = String::from("| # | bad input | endpoint | observed response | expected | ok |\n|---|---|---|---|---|---|\n");
    for (i, t) in tried.iter().enumerate() {
        s.push_str(&format!(
            "| {} | {} | {} | {} | `{}` | {} |\n",
            i + 1,
            t.name,
            t.endpoint,
            t.observed,
            t.expected,
            if t.ok() { "yes" } else { "NO" }
        ));
    }
    s
}
