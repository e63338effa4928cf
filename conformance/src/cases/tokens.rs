//! Tokens: refused before any upgrade, with the contract's status and code.

use anyhow::{bail, Context, Result};
use reqwest::Method;
use tessera_crdt::token::{mint, Claims, Scope, TokenKey};

use super::vault_still_works;
use crate::client::{doc_ws_url, vault_ws_url, ws_connect, ws_refused, Connect};
use crate::{fresh_doc, fresh_vault, http, now_secs, Target};

/// (what, token or None for no token at all, status, error code)
fn bad_tokens(t: &Target, vault: &str) -> Vec<(&'static str, Option<String>, u16, &'static str)> {
    let other_secret = {
        let claims =
            Claims::new(vault, Scope::Admin, now_secs(), Some(3600), None).expect("valid claims");
        mint(
            &TokenKey::from_secret(b"some other server's secret"),
            &claims,
        )
    };
    let other_vault = t.token(&format!("{vault}-other"), Scope::Admin);
    vec![
        ("no token", None, 401, "token-missing"),
        ("an empty token", Some(String::new()), 401, "token-missing"),
        (
            "a garbled token",
            Some("garbled".into()),
            401,
            "token-malformed",
        ),
        (
            "a token of an unknown version",
            Some("v9.eyJ9.AAAA".into()),
            401,
            "token-unsupported-version",
        ),
        (
            "a token longer than 2048 bytes",
            Some(format!("v1.{}.x", "A".repeat(3000))),
            401,
            "token-too-long",
        ),
        (
            "a token minted with another secret",
            Some(other_secret),
            401,
            "token-bad-signature",
        ),
        (
            "an expired token",
            Some(t.expired_token(vault, Scope::Admin)),
            401,
            "token-expired",
        ),
        (
            "a token for another vault",
            Some(other_vault),
            403,
            "token-wrong-vault",
        ),
    ]
}

fn with_token(url_without_token: &str, token: &Option<String>) -> String {
    match token {
        Some(tok) => format!("{url_without_token}?token={tok}"),
        None => url_without_token.to_owned(),
    }
}

fn strip_token(url: &str) -> String {
    url.split_once('?').map_or(url, |(u, _)| u).to_owned()
}

async fn check_ws(t: &Target, vault: &str, url: &str) -> Result<()> {
    let mut failures = Vec::new();
    for (what, token, status, code) in bad_tokens(t, vault) {
        let outcome = async {
            ws_refused(&with_token(url, &token), &[])
                .await?
                .expect(status, code)
        }
        .await;
        if let Err(e) = outcome {
            failures.push(format!("{what}: {e:#}"));
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    vault_still_works(t, vault).await
}

pub async fn bad_tokens_refused_on_vault_endpoint(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let url = strip_token(&vault_ws_url(&t.base, &vault, ""));
    check_ws(&t, &vault, &url).await
}

pub async fn bad_tokens_refused_on_doc_endpoint(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let url = strip_token(&doc_ws_url(&t.base, &vault, &fresh_doc(), ""));
    check_ws(&t, &vault, &url).await
}

pub async fn bad_tokens_refused_on_http(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let hash = blake3::hash(b"probe").to_hex();
    let url = t.url(&format!("/v1/vaults/{vault}/blobs/{hash}"));
    let mut failures = Vec::new();
    for (what, token, status, code) in bad_tokens(&t, &vault) {
        // As a query parameter and as a bearer header.
        let outcome = async {
            http::get(&with_token(&url, &token))
                .await?
                .expect_error(status, code)
                .context("as ?token=")?;
            if let Some(tok) = &token {
                if !tok.is_empty() {
                    http::request(Method::GET, &url, Some(tok), None)
                        .await?
                        .expect_error(status, code)
                        .context("as Authorization: Bearer")?;
                }
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = outcome {
            failures.push(format!("{what}: {e:#}"));
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    vault_still_works(&t, &vault).await
}

pub async fn bearer_header_is_accepted(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let url = strip_token(&vault_ws_url(&t.base, &vault, ""));
    let bearer = format!("Bearer {token}");
    match ws_connect(&url, &[("authorization", &bearer)]).await? {
        Connect::Open(_) => {}
        Connect::Refused(r) => bail!(
            "vault endpoint with Authorization: Bearer refused: HTTP {} {}",
            r.status,
            r.text
        ),
    }
    let body = b"bearer".to_vec();
    let hash = blake3::hash(&body).to_hex();
    let a = http::request(
        Method::PUT,
        &t.url(&format!("/v1/vaults/{vault}/blobs/{hash}")),
        Some(&token),
        Some(body),
    )
    .await?;
    a.expect_status(201)
        .context("PUT blob with Authorization: Bearer")?;
    Ok(())
}

/// A socket does not outlive its token: closed with 4401 and a reason at expiry.
pub async fn socket_closes_when_its_token_expires(t: Target) -> Result<()> {
    let vault = fresh_vault();
    // Two seconds: long enough to connect and sync, well inside the client's wait.
    let claims = Claims::new(&vault, Scope::Write, now_secs(), Some(2), None)?;
    let token = t.mint(&claims);
    let mut client =
        crate::client::VaultClient::connect_with_token(&t.base, &vault, &token).await?;
    let doc = fresh_doc();
    client.open_and_sync(&doc).await?;
    let (code, reason) = client.wait_close().await?;
    if code != 4401 || reason.is_empty() {
        bail!("the socket of an expired token closed with {code} {reason:?}, expected 4401 with a reason");
    }
    vault_still_works(&t, &vault).await
}

/// Browsers cannot set headers on a WebSocket: the plugin offers its token
/// as a subprotocol, and the server must select `tessera` (a browser fails
/// the socket when none of its offers is selected) and read the token.
pub async fn subprotocol_token_is_accepted_and_tessera_selected(t: Target) -> Result<()> {
    use tessera_crdt::api::{SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let vault = fresh_vault();
    let url = strip_token(&vault_ws_url(&t.base, &vault, ""));
    let offer = |token: &str| format!("{SUBPROTOCOL}, {TOKEN_PROTOCOL_PREFIX}{token}");
    let mut request = url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        offer(&t.token(&vault, Scope::Write)).parse()?,
    );
    let (_socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .context("vault endpoint with the token as a subprotocol")?;
    let selected = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok());
    if selected != Some(SUBPROTOCOL) {
        bail!("the server selected subprotocol {selected:?}, expected {SUBPROTOCOL:?}");
    }
    match ws_connect(&url, &[("sec-websocket-protocol", &offer("garbled"))]).await? {
        Connect::Refused(r) => r
            .expect(401, "token-malformed")
            .context("a garbled token offered as a subprotocol")?,
        Connect::Open(_) => bail!("a garbled token offered as a subprotocol opened the socket"),
    }
    vault_still_works(&t, &vault).await
}
