//! History and restore. Snapshots are taken after the relay's debounce; the
//! suite expects a short one (see conformance/README.md) and polls for them.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_crdt::ids::{random_client_id, INDEX_DOC};
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
use tokio::time::Instant;

use super::ensure;
use crate::http::{self, Answer};
use crate::{fresh_vault, Target, VaultClient};

const PATH: &str = "Conformance/history note.md";

/// How long to wait for the relay's snapshots: the suite expects a debounce
/// well under a second, so this is hang protection only.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(30);

async fn history(t: &Target, vault: &str, path: &str) -> Result<Answer> {
    http::send(
        http::client()
            .get(t.url(&format!("/v1/vaults/{vault}/history")))
            .query(&[("path", path)])
            .bearer_auth(t.token(vault, Scope::Read)),
    )
    .await
}

/// Polls history until it lists at least `n` snapshots; returns the body.
async fn wait_for_snapshots(t: &Target, vault: &str, n: usize) -> Result<Value> {
    let deadline = Instant::now() + SNAPSHOT_WAIT;
    loop {
        let a = history(t, vault, PATH).await?;
        if a.status == 200 {
            let body = a.json()?;
            let count = body["snapshots"].as_array().map_or(0, Vec::len);
            if count >= n {
                return Ok(body);
            }
            if Instant::now() > deadline {
                bail!(
                    "history still lists {count} snapshots after {}s (expected {n}; is the relay running with --snapshot-debounce 200ms --snapshot-max-delay 1s?): {body}",
                    SNAPSHOT_WAIT.as_secs()
                );
            }
        } else if Instant::now() > deadline {
            bail!(
                "history answers HTTP {} after {}s: {}",
                a.status,
                SNAPSHOT_WAIT.as_secs(),
                a.text()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A vault whose index names `PATH` as a note, with `text` in it. Returns the
/// writer (still connected) and the note's id.
async fn note_at_path(t: &Target, vault: &str, text: &str) -> Result<(VaultClient, String)> {
    let mut writer = t.vault_client(vault, Scope::Write).await?;
    writer.open_and_sync(INDEX_DOC).await?;
    let mut index = Index::new(random_client_id());
    let (id, update) = index
        .create(PATH, EntryKind::Note, EntryMeta::default())
        .context("creating the index entry")?;
    let seq = writer.write_update(INDEX_DOC, &update).await?;
    writer.wait_ack(INDEX_DOC, seq).await?;
    writer.open_and_sync(&id).await?;
    let seq = writer.append(&id, text).await?;
    writer.wait_ack(&id, seq).await?;
    Ok((writer, id))
}

fn check_listing(body: &Value, id: &str) -> Result<()> {
    ensure(body["doc"] == id, || {
        format!("history names doc {}, expected {id}", body["doc"])
    })?;
    ensure(body["path"] == PATH, || {
        format!("history names path {}, expected {PATH:?}", body["path"])
    })?;
    for s in body["snapshots"].as_array().into_iter().flatten() {
        ensure(
            s["snapshot"].is_string() && s["created_ms"].is_u64() && s["size"].is_u64(),
            || format!("a snapshot entry lacks snapshot/created_ms/size: {s}"),
        )?;
    }
    let times: Vec<u64> = body["snapshots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["created_ms"].as_u64())
        .collect();
    ensure(times.windows(2).all(|w| w[0] >= w[1]), || {
        format!("snapshots are not newest first: created_ms {times:?}")
    })
}

pub async fn history_lists_snapshot(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (_writer, id) = note_at_path(&t, &vault, "version one").await?;
    let body = wait_for_snapshots(&t, &vault, 1).await?;
    check_listing(&body, &id)
}

pub async fn restore_brings_old_text_back(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (mut writer, id) = note_at_path(&t, &vault, "version one").await?;
    wait_for_snapshots(&t, &vault, 1).await?;
    let seq = writer.replace(&id, "version two").await?;
    writer.wait_ack(&id, seq).await?;
    let body = wait_for_snapshots(&t, &vault, 2).await?;
    check_listing(&body, &id)?;
    let snapshots = body["snapshots"].as_array().expect("checked above");
    let oldest = snapshots[snapshots.len() - 1]["snapshot"]
        .as_str()
        .expect("checked above")
        .to_owned();

    let mut watcher = t.vault_client(&vault, Scope::Read).await?;
    watcher.open_and_sync(&id).await?;
    let before = watcher.text(&id);
    ensure(before == "version two", || {
        format!("before the restore the note reads {before:?}")
    })?;

    let a = http::json(
        Method::POST,
        &t.url(&format!("/v1/vaults/{vault}/restore")),
        &t.token(&vault, Scope::Write),
        &json!({"path": PATH, "snapshot": oldest}),
    )
    .await?;
    a.expect_success()?;
    let reply = a.json()?;
    ensure(
        reply["restored"] == true && reply["doc"] == id.as_str(),
        || format!("expected {{\"restored\": true, \"doc\": \"{id}\"}}, got {reply}"),
    )?;
    watcher
        .wait_text(&id, "version one")
        .await
        .context("a connected client after the restore")?;
    writer
        .wait_text(&id, "version one")
        .await
        .context("the writer after the restore")?;
    Ok(())
}

pub async fn history_of_unknown_path_is_404(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (_writer, _id) = note_at_path(&t, &vault, "exists").await?;
    history(&t, &vault, "Conformance/no such note.md")
        .await?
        .expect_error(404, "not-found")
}
