//! Path-limited write tokens: a token minted with path prefixes writes only
//! under them. Outside them the vault endpoint answers
//! `error{path-not-allowed}` and the doc endpoint the y-protocols
//! permission-denied message; nothing of the write is stored.

use anyhow::Result;
use reqwest::Method;
use serde_json::json;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage};
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};

use super::{ensure, vault_still_works};
use crate::client::{DocClient, DocEvent, VaultClient};
use crate::{fresh_vault, http, Target};

const INDEX: &str = "index";

/// Creates `paths` as notes (index entries plus text) through an unlimited
/// writer; returns their ids in order.
async fn vault_with_notes(t: &Target, vault: &str, paths: &[&str]) -> Result<Vec<String>> {
    let mut admin = t.vault_client(vault, Scope::Write).await?;
    admin.open_and_sync(INDEX).await?;
    let mut index = Index::from_update(31, &encode_state(admin.doc(INDEX)))?;
    let mut ids = Vec::new();
    for path in paths {
        let (id, update) = index.create(path, EntryKind::Note, EntryMeta::default())?;
        let seq = admin.write_update(INDEX, &update).await?;
        admin.wait_ack(INDEX, seq).await?;
        admin.open_and_sync(&id).await?;
        let seq = admin.append(&id, "original").await?;
        admin.wait_ack(&id, seq).await?;
        ids.push(id);
    }
    admin.close().await?;
    Ok(ids)
}

fn encode_state(doc: &yrs::Doc) -> Vec<u8> {
    use yrs::{ReadTxn, StateVector, Transact};
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// A vault client with a token limited to `paths`.
async fn limited(t: &Target, vault: &str, paths: &str) -> Result<VaultClient> {
    VaultClient::connect_with_token(&t.base, vault, &t.path_limited_token(vault, paths)).await
}

/// The text a fresh unlimited device sees in `doc`.
async fn text_seen_by_a_new_device(t: &Target, vault: &str, doc: &str) -> Result<String> {
    let mut fresh = t.vault_client(vault, Scope::Read).await?;
    fresh.open_and_sync(doc).await?;
    let text = fresh.text(doc);
    fresh.close().await?;
    Ok(text)
}

pub async fn a_path_limited_token_writes_under_its_prefix(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let ids = vault_with_notes(&t, &vault, &["Inbox/a.md"]).await?;
    let mut device = limited(&t, &vault, "Inbox/").await?;
    device.open_and_sync(INDEX).await?;
    let mut index = Index::from_update(32, &encode_state(device.doc(INDEX)))?;
    let (_, created) = index.create("Inbox/new.md", EntryKind::Note, EntryMeta::default())?;
    let seq = device.write_update(INDEX, &created).await?;
    device.wait_ack(INDEX, seq).await?;
    device.open_and_sync(&ids[0]).await?;
    let seq = device.append(&ids[0], " edited").await?;
    device.wait_ack(&ids[0], seq).await?;
    device.close().await?;
    let text = text_seen_by_a_new_device(&t, &vault, &ids[0]).await?;
    ensure(text.contains("edited"), || {
        format!("the note reads {text:?}")
    })
}

pub async fn a_path_limited_index_write_outside_its_prefixes_gets_path_not_allowed(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let ids = vault_with_notes(&t, &vault, &["Journal/b.md"]).await?;
    let mut device = limited(&t, &vault, "Inbox/").await?;
    device.open_and_sync(INDEX).await?;
    let mut index = Index::from_update(33, &encode_state(device.doc(INDEX)))?;
    for (what, update) in [
        (
            "create Journal/x.md",
            index
                .create("Journal/x.md", EntryKind::Note, EntryMeta::default())?
                .1,
        ),
        (
            "rename Journal/b.md into Inbox/",
            Index::from_update(34, &encode_state(device.doc(INDEX)))?
                .rename(&ids[0], "Inbox/b.md")?,
        ),
        (
            "delete Journal/b.md",
            Index::from_update(35, &encode_state(device.doc(INDEX)))?.delete(&ids[0])?,
        ),
    ] {
        let seq = device.write_update(INDEX, &update).await?;
        let error = device
            .wait_error(&format!("error path-not-allowed for: {what}"), |e| {
                e.code == ErrorCode::PathNotAllowed && e.seq == seq
            })
            .await?;
        ensure(
            error.doc == INDEX && error.text.contains("Journal/"),
            || format!("{what}: the error {:?} does not name the path", error.text),
        )?;
    }
    device.close().await?;
    let mut fresh = t.vault_client(&vault, Scope::Read).await?;
    fresh.open_and_sync(INDEX).await?;
    let seen = Index::from_update(36, &encode_state(fresh.doc(INDEX)))?;
    let paths: Vec<String> = seen.list().into_iter().map(|e| e.path).collect();
    ensure(paths == ["Journal/b.md"], || {
        format!("a new device sees {paths:?}; refused writes must not be stored")
    })?;
    fresh.close().await?;
    vault_still_works(&t, &vault).await
}

pub async fn a_path_limited_note_edit_outside_its_prefixes_gets_path_not_allowed(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let ids = vault_with_notes(&t, &vault, &["Journal/b.md"]).await?;
    let mut device = limited(&t, &vault, "Inbox/").await?;
    device.open_and_sync(INDEX).await?;
    device.open_and_sync(&ids[0]).await?;
    let seq = device.append(&ids[0], " defaced").await?;
    let error = device
        .wait_error("error path-not-allowed for the note edit", |e| {
            e.code == ErrorCode::PathNotAllowed
        })
        .await?;
    ensure(error.doc == ids[0] && error.seq == seq, || {
        format!(
            "the error names {}#{}, expected {}#{seq}",
            error.doc, error.seq, ids[0]
        )
    })?;
    device.close().await?;
    let text = text_seen_by_a_new_device(&t, &vault, &ids[0]).await?;
    ensure(text == "original", || {
        format!("a new device reads {text:?}; the refused edit must not be stored")
    })
}

pub async fn a_path_limited_write_on_the_doc_endpoint_gets_permission_denied(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let ids = vault_with_notes(&t, &vault, &["Journal/b.md"]).await?;
    let token = t.path_limited_token(&vault, "Inbox/");
    let mut stock = DocClient::connect_with_token(&t.base, &vault, &ids[0], &token).await?;
    stock.sync().await?;
    let update = stock.append(" defaced").await?;
    let _ = update;
    stock
        .wait_for("permission-denied naming path-not-allowed", |c| {
            c.count(
                |e| matches!(e, DocEvent::PermissionDenied(r) if r.starts_with("path-not-allowed")),
            ) > 0
        })
        .await?;
    ensure(stock.closed.is_none(), || {
        format!("the doc socket was closed: {:?}", stock.closed)
    })?;
    let text = text_seen_by_a_new_device(&t, &vault, &ids[0]).await?;
    ensure(text == "original", || {
        format!("a new device reads {text:?}; the refused edit must not be stored")
    })?;
    // A stock client on the index with the same token cannot add an entry outside.
    let mut on_index = DocClient::connect_with_token(&t.base, &vault, INDEX, &token).await?;
    on_index.sync().await?;
    let mut index = Index::from_update(37, &encode_state(on_index.doc()))?;
    let (_, bad) = index.create("Secret/x.md", EntryKind::Note, EntryMeta::default())?;
    on_index
        .send(&Message::Sync(SyncMessage::Update(&bad)))
        .await?;
    on_index
        .wait_for("permission-denied for the index entry", |c| {
            c.count(|e| matches!(e, DocEvent::PermissionDenied(r) if r.contains("Secret/x.md"))) > 0
        })
        .await
}

pub async fn tokens_minted_over_http_carry_their_paths_and_only_for_write(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let admin = t.token(&vault, Scope::Admin);
    let url = t.url(&format!("/v1/vaults/{vault}/tokens"));
    let a = http::json(
        Method::POST,
        &url,
        &admin,
        &json!({"scope": "write", "paths": ["Inbox/", "Journal/"]}),
    )
    .await?;
    a.expect_success()?;
    let body = a.json()?;
    ensure(
        body["claims"]["paths"] == json!(["Inbox/", "Journal/"]),
        || format!("the minted claims are {}", body["claims"]),
    )?;
    for bad in [
        json!({"scope": "admin", "paths": ["Inbox/"]}),
        json!({"scope": "write", "paths": []}),
        json!({"scope": "write", "paths": ["../escape/"]}),
    ] {
        http::json(Method::POST, &url, &admin, &bad)
            .await?
            .expect_error(400, "bad-request")?;
    }
    Ok(())
}

pub async fn an_admin_lists_the_tokens_minted_for_the_vault(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let admin = t.token(&vault, Scope::Admin);
    let url = t.url(&format!("/v1/vaults/{vault}/tokens"));
    let minted = http::json(
        Method::POST,
        &url,
        &admin,
        &json!({"scope": "write", "device": "listed", "paths": ["Inbox/"]}),
    )
    .await?;
    minted.expect_success()?;
    let id = minted.json()?["id"].as_str().unwrap_or_default().to_owned();
    let listed = http::request(Method::GET, &url, Some(&admin), None).await?;
    listed.expect_success()?;
    let body = listed.json()?;
    let entry = body["tokens"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id.as_str()).cloned());
    ensure(
        entry.as_ref().is_some_and(|e| {
            e["scope"] == "write"
                && e["device"] == "listed"
                && e["paths"] == json!(["Inbox/"])
                && e["revoked"] == false
                && e.get("token").is_none()
        }),
        || format!("the listing {body} lacks the minted token {id} with its claims"),
    )?;
    http::request(
        Method::GET,
        &url,
        Some(&t.token(&vault, Scope::Write)),
        None,
    )
    .await?
    .expect_error(403, "token-insufficient-scope")
}

pub async fn a_path_limited_token_writes_files_over_rest_only_under_its_prefix(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    vault_with_notes(&t, &vault, &["Inbox/a.md", "Private/b.md"]).await?;
    let token = t.path_limited_token(&vault, "Inbox/");
    let url = |path: &str| t.url(&format!("/v1/vaults/{vault}/files/{path}"));
    let body = || Some(b"from a limited agent".to_vec());
    let inside = http::request(Method::PUT, &url("Inbox/a.md"), Some(&token), body()).await?;
    anyhow::ensure!(
        inside.status == 200,
        "PUT inside the prefix: {} {}",
        inside.status,
        inside.text()
    );
    let created = http::request(Method::PUT, &url("Inbox/new.md"), Some(&token), body()).await?;
    anyhow::ensure!(
        created.status == 201,
        "PUT creating inside: {} {}",
        created.status,
        created.text()
    );
    for (method, path) in [
        (Method::PUT, "Private/b.md"),
        (Method::PUT, "Elsewhere/new.md"),
        (Method::POST, "Private/b.md?append"),
        (Method::DELETE, "Private/b.md"),
    ] {
        let a = http::request(method.clone(), &url(path), Some(&token), body()).await?;
        anyhow::ensure!(
            a.status == 403 && a.text().contains("path-not-allowed"),
            "{method} {path} outside the prefix: {} {}",
            a.status,
            a.text()
        );
    }
    let b = http::request(
        Method::GET,
        &url("Private/b.md"),
        Some(&t.token(&vault, Scope::Read)),
        None,
    )
    .await?;
    anyhow::ensure!(
        b.text() == "original",
        "the note outside stayed as it was: {:?}",
        b.text()
    );
    let gone = http::request(
        Method::GET,
        &url("Elsewhere/new.md"),
        Some(&t.token(&vault, Scope::Read)),
        None,
    )
    .await?;
    anyhow::ensure!(
        gone.status == 404,
        "nothing was created outside: {}",
        gone.status
    );
    Ok(())
}
