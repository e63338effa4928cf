//! `tessera-relay tokens mint|list|revoke`: the vault's token registry.

use anyhow::{bail, Context};
use tessera_crdt::keys::VaultId;
use tessera_crdt::token::{self, Claims, TokenKey};
use tessera_relay::config::{ListTokensArgs, MintArgs, TokensCommand};
use tessera_relay::server::auth::now_secs;
use tessera_relay::vault::{list_tokens, record_minted};

/// Runs a `tokens` subcommand.
pub async fn run(cmd: TokensCommand) -> anyhow::Result<()> {
    match cmd {
        TokensCommand::Mint(a) => mint(a).await,
        TokensCommand::List(a) => list(a).await,
        TokensCommand::Revoke(a) => super::admin::revoke(a).await,
    }
}

/// Mints a token, records it, and prints it alone on stdout.
async fn mint(a: MintArgs) -> anyhow::Result<()> {
    let t = a.token;
    if let Some(url) = &a.url {
        let admin = super::admin::admin_token(&t.common, &t.vault)?;
        let mut body = serde_json::json!({ "scope": t.scope, "device": t.device });
        if let Some(ttl) = t.ttl {
            body["ttl_secs"] = ttl.as_secs().into();
        }
        if let Some(paths) = &t.paths {
            body["paths"] = serde_json::json!(paths.as_slice());
        }
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/v1/vaults/{}/tokens",
                url.trim_end_matches('/'),
                t.vault
            ))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await
            .context("contacting the relay")?;
        if !resp.status().is_success() {
            bail!(
                "the relay refused: {} {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let answer: serde_json::Value = resp.json().await.context("reading the answer")?;
        println!("{}", answer["token"].as_str().unwrap_or_default());
        eprintln!("token id: {} (use it to revoke)", answer["id"]);
        return Ok(());
    }
    let (secret, _) = super::load_secret(&t.common, false)?;
    let key = TokenKey::from_secret(secret.as_bytes());
    let claims = Claims::new(
        &t.vault,
        t.scope,
        now_secs(),
        t.ttl.map(|d| d.as_secs()),
        t.device,
    )?;
    let claims = match t.paths {
        Some(paths) => claims.with_paths(paths)?,
        None => claims,
    };
    let vault = VaultId::new(&t.vault)?;
    let store = super::open_store(&t.common, true)
        .await
        .context("a relay running on this data directory holds it: mint through it with --url")?;
    record_minted(store.as_ref(), &vault, &claims).await?;
    println!("{}", token::mint(&key, &claims));
    eprintln!("token id: {} (use it to revoke)", claims.id);
    Ok(())
}

/// Prints the vault's registry.
async fn list(a: ListTokensArgs) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    let store = super::open_store(&a.common, false).await?;
    let tokens = list_tokens(store.as_ref(), &vault).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&tokens)?);
        return Ok(());
    }
    println!(
        "{:<32}  {:<5}  {:<16}  {:<19}  {:<19}  {:<7}  paths",
        "id", "scope", "device", "expires (UTC)", "last seen (UTC)", "revoked"
    );
    let when = |t: Option<u64>| t.map_or("-".to_owned(), |s| super::admin::format_ms(s * 1000));
    for t in tokens {
        let r = &t.record;
        println!(
            "{:<32}  {:<5}  {:<16}  {:<19}  {:<19}  {:<7}  {}",
            r.id,
            r.scope,
            r.device.as_deref().unwrap_or("-"),
            if r.exp.is_some() {
                when(r.exp)
            } else {
                "never".into()
            },
            when(r.last_seen),
            if t.revoked { "yes" } else { "no" },
            r.paths
                .as_ref()
                .map_or("(whole vault)".to_owned(), |p| p.as_slice().join(",")),
        );
    }
    Ok(())
}
