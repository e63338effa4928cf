//! Admin: minting and revoking tokens over HTTP.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::json;
use tessera_crdt::token::Scope;

use super::{ensure, vault_still_works};
use crate::client::{vault_ws_url, ws_refused};
use crate::{fresh_doc, fresh_vault, http, Target, VaultClient};

pub async fn admin_mints_working_token(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let admin = t.token(&vault, Scope::Admin);
    let a = http::json(
        Method::POST,
        &t.url(&format!("/v1/vaults/{vault}/tokens")),
        &admin,
        &json!({"scope": "write", "ttl_secs": 600, "device": "conformance"}),
    )
    .await?;
    a.expect_success()?;
    let body = a.json()?;
    let token = body["token"]
        .as_str()
        .with_context(|| format!("no \"token\" string in {body}"))?;
    let id = body["id"]
        .as_str()
        .with_context(|| format!("no \"id\" string in {body}"))?;
    ensure(body["claims"]["vault"] == vault.as_str(), || {
        format!(
            "claims name vault {}, expected {vault}",
            body["claims"]["vault"]
        )
    })?;
    ensure(body["claims"]["scope"] == "write", || {
        format!(
            "claims have scope {}, expected write",
            body["claims"]["scope"]
        )
    })?;
    ensure(body["claims"]["id"] == id, || {
        format!("claims id {} differs from id {id}", body["claims"]["id"])
    })?;
    let mut c = VaultClient::connect_with_token(&t.base, &vault, token)
        .await
        .context("connecting with the minted token")?;
    ensure(c.hello.scope == "write", || {
        format!("the minted token's hello says scope {}", c.hello.scope)
    })?;
    let doc = fresh_doc();
    let seq = c.append(&doc, "minted").await?;
    c.wait_ack(&doc, seq).await
}

pub async fn write_token_cannot_mint(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let url = t.url(&format!("/v1/vaults/{vault}/tokens"));
    for scope in [Scope::Read, Scope::Write] {
        http::json(
            Method::POST,
            &url,
            &t.token(&vault, scope),
            &json!({"scope": "admin"}),
        )
        .await?
        .expect_error(403, "token-insufficient-scope")
        .with_context(|| format!("POST /tokens with a {scope} token"))?;
    }
    Ok(())
}

pub async fn revoke_closes_socket_and_refuses_later(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (victim_token, victim_id) = t.token_with_id(&vault, Scope::Write);
    let mut victim = VaultClient::connect_with_token(&t.base, &vault, &victim_token).await?;
    let doc = fresh_doc();
    victim.open_and_sync(&doc).await?;
    let mut bystander = t.vault_client(&vault, Scope::Write).await?;
    bystander.open_and_sync(&doc).await?;

    let a = http::json(
        Method::POST,
        &t.url(&format!("/v1/vaults/{vault}/revoke")),
        &t.token(&vault, Scope::Admin),
        &json!({"token_id": victim_id}),
    )
    .await?;
    a.expect_success()?;
    let body = a.json()?;
    ensure(body["revoked"] == true, || {
        format!("expected {{\"revoked\": true}}, got {body}")
    })?;

    let (code, reason) = victim.wait_close().await?;
    ensure(code == 4403, || {
        format!("the revoked token's socket closed with {code} {reason:?}, expected 4403")
    })?;
    ws_refused(&vault_ws_url(&t.base, &vault, &victim_token), &[])
        .await?
        .expect(403, "token-revoked")
        .context("connecting again with the revoked token")?;
    // The bystander, on another token, is untouched.
    let seq = bystander.append(&doc, "still here").await?;
    bystander.wait_ack(&doc, seq).await?;
    vault_still_works(&t, &vault).await
}
