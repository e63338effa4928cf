//! `token`, `revoke`, `history`, `restore` and `check`.

use anyhow::{bail, Context};
use tessera_crdt::keys::{self, ContentHash, DocId, VaultId};
use tessera_crdt::token::{self, Claims, Scope, TokenKey};
use tessera_crdt::vault::Index;
use tessera_relay::config::{CheckArgs, HistoryArgs, RestoreArgs, RevokeArgs, TokenArgs};
use tessera_relay::server::auth::now_secs;
use tessera_relay::store::Store;
use tessera_relay::vault::{persist_revocation, read_head, read_snapshot};

/// Mints a token and prints it alone on stdout.
pub fn token(a: TokenArgs) -> anyhow::Result<()> {
    let (secret, _) = super::load_secret(&a.common, false)?;
    let key = TokenKey::from_secret(secret.as_bytes());
    let claims = Claims::new(
        &a.vault,
        a.scope,
        now_secs(),
        a.ttl.map(|d| d.as_secs()),
        a.device,
    )?;
    let claims = match a.paths {
        Some(paths) => claims.with_paths(paths)?,
        None => claims,
    };
    let minted = token::mint(&key, &claims);
    match (&a.public_url, a.setup) {
        (Some(url), true) => print!("{}", super::setup::setup_block(url, &a.vault, &minted)?),
        _ => println!("{minted}"),
    }
    eprintln!("token id: {} (use it to revoke)", claims.id);
    Ok(())
}

pub(crate) fn admin_token(
    common: &tessera_relay::config::CommonArgs,
    vault: &str,
) -> anyhow::Result<String> {
    let (secret, _) = super::load_secret(common, false)?;
    let key = TokenKey::from_secret(secret.as_bytes());
    let claims = Claims::new(
        vault,
        Scope::Admin,
        now_secs(),
        Some(300),
        Some("cli".into()),
    )?;
    Ok(token::mint(&key, &claims))
}

/// Revokes a token: through a running relay when `--url` is given (its
/// sockets close at once), else directly in storage, where a running relay
/// finds it on its next poll (`--revocation-poll`) and closes its sockets.
pub async fn revoke(a: RevokeArgs) -> anyhow::Result<()> {
    if let Some(url) = &a.url {
        let token = admin_token(&a.common, &a.vault)?;
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/v1/vaults/{}/revoke",
                url.trim_end_matches('/'),
                a.vault
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({ "token_id": a.token_id }))
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
    } else {
        let vault = VaultId::new(&a.vault)?;
        let store = super::open_store(&a.common, true).await.context(
            "a relay running on this data directory holds it: revoke through it with --url",
        )?;
        persist_revocation(store.as_ref(), &vault, &a.token_id).await?;
    }
    if a.url.is_some() {
        println!("revoked {}", a.token_id);
    } else {
        println!(
            "revoked {} in storage; a running relay applies it within its --revocation-poll (default 30s) and closes the token's sockets",
            a.token_id
        );
    }
    Ok(())
}

/// Loads a note id by path from the stored index.
pub async fn doc_for_path(store: &dyn Store, vault: &VaultId, path: &str) -> anyhow::Result<DocId> {
    let index = load_index(store, vault).await?;
    let entry = index
        .lookup(path)
        .with_context(|| format!("no note at {path} in vault {vault}"))?;
    Ok(DocId::new(&entry.id)?)
}

/// The vault's index doc as stored.
pub async fn load_index(store: &dyn Store, vault: &VaultId) -> anyhow::Result<Index> {
    let stored = tessera_relay::vault::load_doc(store, vault, &DocId::index())
        .await?
        .context("the vault has no stored index yet")?;
    Ok(Index::from_update(0, &stored.state)?)
}

/// Lists a note's stored versions.
pub async fn history(a: HistoryArgs) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    let store = super::open_store(&a.common, false).await?;
    let doc = doc_for_path(store.as_ref(), &vault, &a.path).await?;
    let Some((head, _)) = read_head(store.as_ref(), &vault, &doc).await? else {
        println!("{} has no stored versions yet", a.path);
        return Ok(());
    };
    println!(
        "{:<64}  {:<24}  {:>10}",
        "snapshot", "created (UTC)", "bytes"
    );
    for e in head.history {
        println!(
            "{:<64}  {:<24}  {:>10}",
            e.snapshot,
            format_ms(e.created_ms),
            e.size
        );
    }
    Ok(())
}

/// Asks a running relay to bring a version back as a new edit.
pub async fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let token = admin_token(&a.common, &a.vault)?;
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/vaults/{}/restore",
            a.url.trim_end_matches('/'),
            a.vault
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "path": a.path, "snapshot": a.snapshot }))
        .send()
        .await
        .with_context(|| format!("contacting the relay at {}", a.url))?;
    if !resp.status().is_success() {
        bail!(
            "the relay refused: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    println!(
        "restored {} to {}; every device receives it as a new edit",
        a.path, a.snapshot
    );
    Ok(())
}

/// Checks storage: reachable, and every head's snapshot present and intact.
pub async fn check(a: CheckArgs) -> anyhow::Result<()> {
    let store = super::open_store(&a.common, false).await?;
    store.ping().await.context("storage is not reachable")?;
    println!("storage reachable: {}", store.describe());
    let vaults: Vec<VaultId> = match &a.vault {
        Some(v) => vec![VaultId::new(v)?],
        None => {
            let mut ids: Vec<VaultId> = store
                .list(keys::VAULTS_PREFIX)
                .await?
                .iter()
                .filter_map(|k| keys::StorageKey::parse(k))
                .map(|k| k.vault().clone())
                .collect();
            ids.dedup();
            ids
        }
    };
    let (mut ok, mut bad) = (0usize, 0usize);
    for vault in &vaults {
        for key in store.list(&keys::docs_prefix(vault)).await? {
            let Some((_, doc, keys::KeyKind::Head)) = keys::parse_doc_key(&key) else {
                continue;
            };
            let result = async {
                let (head, _) = read_head(store.as_ref(), vault, &doc)
                    .await?
                    .context("head vanished")?;
                read_snapshot(
                    store.as_ref(),
                    vault,
                    &doc,
                    &ContentHash::new(&head.snapshot)?,
                )
                .await?;
                anyhow::Ok(())
            }
            .await;
            match result {
                Ok(()) => ok += 1,
                Err(e) => {
                    bad += 1;
                    println!("BAD  {vault}/{doc}: {e:#}");
                }
            }
        }
    }
    println!("checked {} vaults: {ok} notes ok, {bad} bad", vaults.len());
    if bad > 0 {
        bail!("{bad} heads do not point to an intact snapshot");
    }
    Ok(())
}

pub(crate) fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
