//! Tessera's black-box conformance suite.
//!
//! Every case speaks to a running relay through its public surface only —
//! the two WebSocket endpoints and the HTTP API of `docs/http-api.md` — so
//! the same cases run against the self-hosted relay and the Cloudflare
//! Worker. A case needs the base URL and the server secret (to mint tokens
//! for any vault and scope); each uses a fresh random vault, so cases never
//! see each other's data and may run in any order.
//!
//! Each case checks one behaviour and is named like a sentence of the
//! specification. Waits have deadlines only as hang protection: a server that
//! stops answering fails the case, it never hangs the suite.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use futures_util::future::BoxFuture;
use tessera_crdt::ids::random_bytes;
use tessera_crdt::token::{mint, Claims, Scope, TokenKey};

pub mod cases;
pub mod client;
pub mod http;

pub use client::{DocClient, VaultClient};

/// Largest blob the relay accepts by default (100 MiB).
pub const DEFAULT_MAX_BLOB: u64 = 100 << 20;

/// The server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, `http://host:port` (no trailing slash needed).
    pub base: String,
    /// The server secret tokens are keyed with.
    pub secret: String,
    /// The blob size limit the server was started with.
    pub max_blob: u64,
}

impl Target {
    /// A target with the default blob limit.
    pub fn new(base: impl Into<String>, secret: impl Into<String>) -> Target {
        Target {
            base: base.into().trim_end_matches('/').to_owned(),
            secret: secret.into(),
            max_blob: DEFAULT_MAX_BLOB,
        }
    }

    /// A token for `vault` with `scope`, valid for an hour.
    pub fn token(&self, vault: &str, scope: Scope) -> String {
        self.token_with_id(vault, scope).0
    }

    /// A token and its id (the handle for revocation).
    pub fn token_with_id(&self, vault: &str, scope: Scope) -> (String, String) {
        let claims = Claims::new(vault, scope, now_secs(), Some(3600), None)
            .expect("claims for a valid vault id");
        (self.mint(&claims), claims.id)
    }

    /// A write token for `vault` limited to the comma-separated path
    /// prefixes `paths`, valid for an hour.
    pub fn path_limited_token(&self, vault: &str, paths: &str) -> String {
        let paths = tessera_crdt::token::WritePaths::parse(paths).expect("valid prefixes");
        let claims = Claims::new(vault, Scope::Write, now_secs(), Some(3600), None)
            .and_then(|c| c.with_paths(paths))
            .expect("claims for a valid vault id");
        self.mint(&claims)
    }

    /// A token that expired an hour ago.
    pub fn expired_token(&self, vault: &str, scope: Scope) -> String {
        let claims = Claims::new(vault, scope, now_secs() - 7200, Some(3600), None)
            .expect("claims for a valid vault id");
        self.mint(&claims)
    }

    /// Mints `claims` under the target's secret.
    pub fn mint(&self, claims: &Claims) -> String {
        mint(&TokenKey::from_secret(self.secret.as_bytes()), claims)
    }

    /// Connects a vault-endpoint client with a fresh token of `scope`.
    pub async fn vault_client(&self, vault: &str, scope: Scope) -> Result<VaultClient> {
        VaultClient::connect_with_token(&self.base, vault, &self.token(vault, scope)).await
    }

    /// Connects a doc-endpoint client with a fresh token of `scope`.
    pub async fn doc_client(&self, vault: &str, doc: &str, scope: Scope) -> Result<DocClient> {
        DocClient::connect_with_token(&self.base, vault, doc, &self.token(vault, scope)).await
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh vault id no other case uses.
pub fn fresh_vault() -> String {
    format!("conf-{}", hex::encode(random_bytes::<8>()))
}

/// A fresh note doc id (32 lowercase hex digits).
pub fn fresh_doc() -> String {
    tessera_crdt::ids::new_file_id()
}

/// One behaviour of the contract.
pub struct Case {
    /// A sentence of the specification.
    pub name: &'static str,
    /// Runs the case against a target.
    pub run: fn(Target) -> BoxFuture<'static, Result<()>>,
}

/// Every case, in the order they are reported.
pub fn cases() -> Vec<Case> {
    cases::all()
}

/// The most one case may take before it counts as hung.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs one case with hang protection; a panic inside it is a failure too.
pub async fn run_case(case: &Case, target: &Target) -> Result<()> {
    let fut = (case.run)(target.clone());
    let handle = tokio::spawn(fut);
    let abort = handle.abort_handle();
    match tokio::time::timeout(CASE_TIMEOUT, handle).await {
        Err(_) => {
            abort.abort();
            Err(anyhow!(
                "did not finish within {}s (hung?)",
                CASE_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(join)) => Err(anyhow!("panicked: {join}")),
        Ok(Ok(result)) => result,
    }
}

/// The outcome of a whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Case names that passed.
    pub passed: Vec<&'static str>,
    /// Case names that failed, with the reason.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    /// `conformance: N/M passed`.
    pub fn summary(&self) -> String {
        format!(
            "conformance: {}/{} passed",
            self.passed.len(),
            self.passed.len() + self.failed.len()
        )
    }
}

/// Runs every case whose name contains `filter`, printing one line per case
/// through `line` as it finishes.
pub async fn run_all(target: &Target, filter: Option<&str>, mut line: impl FnMut(&str)) -> Report {
    let mut report = Report::default();
    for case in cases() {
        if filter.is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        match run_case(&case, target).await {
            Ok(()) => {
                line(&format!("ok      {}", case.name));
                report.passed.push(case.name);
            }
            Err(e) => {
                let reason = format!("{e:#}");
                line(&format!("FAILED  {}: {reason}", case.name));
                report.failed.push((case.name, reason));
            }
        }
    }
    report
}
