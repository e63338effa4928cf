//! `serve --tls-cert/--tls-key`: the real binary serving HTTPS and WSS with
//! a certificate made by openssl, as a user with mkcert or certbot would.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use support::{free_port, SECRET};
use tessera_crdt::api::{SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX};
use tessera_crdt::token::{mint, Claims, Scope, TokenKey};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A local CA and a certificate it signed for localhost and 127.0.0.1, as
/// mkcert makes them (rustls refuses a CA certificate used as the server's
/// own): (CA cert, server cert, server key) paths.
fn local_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=test CA"],
        ]
        .concat()
        .into_iter()
        .chain(["-keyout", "ca.key", "-out", "ca.pem"])
        .collect::<Vec<_>>(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "req.csr",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    (p("ca.pem"), p("cert.pem"), p("key.pem"))
}

struct Tls {
    child: Child,
    port: u16,
    client: reqwest::Client,
    ca: PathBuf,
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &Path) -> Tls {
    let (ca, cert, key) = local_ca(dir);
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--secret",
            SECRET,
        ])
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("TESSERA_AUTO_CREATE_VAULTS", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("tessera-relay starts");
    let pem = std::fs::read(&ca).expect("ca");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .build()
        .expect("client");
    let tls = Tls {
        child,
        port,
        client,
        ca,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        let url = format!("https://localhost:{port}/healthz");
        match tls.client.get(url).send().await {
            Ok(resp) if resp.status().is_success() => return tls,
            Ok(resp) => last = format!("HTTP {}", resp.status()),
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the TLS relay did not answer https /healthz: {last}");
}

#[tokio::test]
async fn with_a_certificate_and_key_the_relay_answers_https() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = start(dir.path()).await;
    let url = format!("https://localhost:{}/healthz", tls.port);
    let resp = tls.client.get(url).send().await.expect("https");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_no_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = start(dir.path()).await;
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let answer = plain
        .get(format!("http://127.0.0.1:{}/healthz", tls.port))
        .send()
        .await;
    assert!(
        answer.is_err(),
        "plain HTTP must not be served on the TLS port: {answer:?}"
    );
}

#[tokio::test]
async fn a_vault_socket_over_wss_opens_with_the_token_offered_as_a_subprotocol() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = start(dir.path()).await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&tls.ca).expect("pem") {
        roots.add(cert.expect("cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", tls.port))
        .await
        .expect("tcp");
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    let claims = Claims::new("tls", Scope::Write, now(), Some(600), None).expect("claims");
    let token = mint(&TokenKey::from_secret(SECRET.as_bytes()), &claims);
    let mut request = format!("wss://localhost:{}/v1/vaults/tls/ws", tls.port)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("{SUBPROTOCOL}, {TOKEN_PROTOCOL_PREFIX}{token}")
            .parse()
            .expect("header"),
    );
    let (mut socket, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("the vault socket opens over TLS");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(SUBPROTOCOL)
    );
    let hello = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("the hello arrives")
        .expect("a frame")
        .expect("not an error");
    assert!(hello.is_binary(), "the first frame is the binary hello");
}

#[test]
fn a_key_file_without_a_key_stops_the_start_and_names_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert, _) = local_ca(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args(["serve", "--listen", "127.0.0.1:0", "--secret", SECRET])
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
