//! `tessera-relay vault list|create|delete|undelete`.

use anyhow::{bail, Context};
use tessera_crdt::keys::{self, StorageKey, VaultId};
use tessera_relay::config::{VaultArgs, VaultCommand, VaultListArgs};
use tessera_relay::vault::{mark_deleted, wall_ms};

/// Runs a `vault` subcommand.
pub async fn run(cmd: VaultCommand) -> anyhow::Result<()> {
    match cmd {
        VaultCommand::List(a) => list(a).await,
        VaultCommand::Create(a) => create(a).await,
        VaultCommand::Delete(a) => set_deleted(a, true).await,
        VaultCommand::Undelete(a) => set_deleted(a, false).await,
    }
}

async fn list(a: VaultListArgs) -> anyhow::Result<()> {
    let store = super::open_store(&a.common, false).await?;
    println!("{:<64}  {:<19}  deleted (UTC)", "vault", "created (UTC)");
    for key in store.list(keys::VAULTS_PREFIX).await? {
        let Some(StorageKey::Manifest { vault }) = StorageKey::parse(&key) else {
            continue;
        };
        let Some(obj) = store.get(&key).await? else {
            continue;
        };
        let m = keys::Manifest::decode(&obj.bytes)
            .with_context(|| format!("reading the manifest of {vault}"))?;
        println!(
            "{:<64}  {:<19}  {}",
            vault,
            super::admin::format_ms(m.created_ms),
            m.deleted_ms.map_or("-".into(), super::admin::format_ms)
        );
    }
    Ok(())
}

/// POSTs/DELETEs through a running relay with a short-lived admin token.
async fn through(a: &VaultArgs, url: &str, delete: bool) -> anyhow::Result<()> {
    let token = super::admin::admin_token(&a.common, &a.vault)?;
    let endpoint = format!("{}/v1/vaults/{}", url.trim_end_matches('/'), a.vault);
    let client = reqwest::Client::new();
    let req = if delete {
        client
            .delete(&endpoint)
            .json(&serde_json::json!({ "confirm": a.vault }))
    } else {
        client.post(&endpoint)
    };
    let resp = req
        .bearer_auth(token)
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
    Ok(())
}

async fn create(a: VaultArgs) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    if let Some(url) = &a.url {
        through(&a, url, false).await?;
    } else {
        let store = super::open_store(&a.common, true).await.context(
            "a relay running on this data directory holds it: create through it with --url",
        )?;
        tessera_relay::vault::create_manifest(store.as_ref(), &vault, wall_ms()).await?;
    }
    println!("created vault {vault}");
    Ok(())
}

async fn set_deleted(a: VaultArgs, delete: bool) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    match (&a.url, delete) {
        (Some(url), true) => through(&a, url, true).await?,
        (Some(_), false) => bail!(
            "a deleted vault refuses every request, so undelete works on storage: \
             run it without --url (with S3, or with the relay stopped for a data directory)"
        ),
        (None, _) => {
            let store = super::open_store(&a.common, true).await.context(
                "a relay running on this data directory holds it: delete through it with --url, \
                 or stop it to undelete",
            )?;
            if store.get(&keys::manifest_key(&vault)).await?.is_none() {
                bail!("there is no vault {vault} in storage");
            }
            mark_deleted(store.as_ref(), &vault, delete.then(wall_ms)).await?;
        }
    }
    if delete {
        println!(
            "deleted vault {vault}: it refuses connections now (a running relay on the same \
             storage notices within its --revocation-poll) and is removed after --vault-grace; \
             `tessera-relay vault undelete --vault {vault}` brings it back until then"
        );
    } else {
        println!("vault {vault} is back");
    }
    Ok(())
}
