//! The path policy at the relay: an index entry whose path points into the
//! config folder or out of the vault is refused whole (`bad-path`), from the
//! vault endpoint and from a stock client on the doc endpoint alike.

use anyhow::Result;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage};
use tessera_crdt::token::Scope;
use yrs::{Any, Doc, Map, MapPrelim, Transact};

use super::{ensure, vault_still_works};
use crate::client::DocEvent;
use crate::{fresh_doc, fresh_vault, Target};

const INDEX: &str = "index";

/// What a stock Yjs client sends for `files.set(id, new Y.Map({path, kind}))`,
/// written on top of `base` (the client's copy of the index).
fn entry_update(base: &Doc, id: &str, path: &str) -> Vec<u8> {
    let files = base.get_or_insert_map("files");
    let mut txn = base.transact_mut();
    let prelim: MapPrelim = [("path", Any::from(path)), ("kind", Any::from("note"))]
        .into_iter()
        .collect();
    files.insert(&mut txn, id, prelim);
    txn.encode_update_v1()
}

/// The file ids in a copy of the index.
fn ids_in(doc: &Doc) -> Vec<String> {
    let files = doc.get_or_insert_map("files");
    let txn = doc.transact();
    let mut ids: Vec<String> = files.keys(&txn).map(str::to_owned).collect();
    ids.sort();
    ids
}

/// A fresh write client's view of the vault's index.
async fn index_ids_seen_by_a_new_device(t: &Target, vault: &str) -> Result<Vec<String>> {
    let mut fresh = t.vault_client(vault, Scope::Write).await?;
    fresh.open_and_sync(INDEX).await?;
    let ids = ids_in(fresh.doc(INDEX));
    fresh.close().await?;
    Ok(ids)
}

pub async fn hostile_index_entry_on_the_vault_endpoint_is_refused_with_bad_path(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let mut writer = t.vault_client(&vault, Scope::Write).await?;
    writer.open_and_sync(INDEX).await?;
    let scratch = Doc::with_client_id(4242);
    let bad = entry_update(&scratch, &fresh_doc(), ".obsidian/plugins/evil/main.js");
    let seq = writer.write_update(INDEX, &bad).await?;
    let error = writer
        .wait_error("error bad-path for the hostile index entry", |e| {
            e.code == ErrorCode::BadPath
        })
        .await?;
    ensure(error.doc == INDEX && error.seq == seq, || {
        format!(
            "the error names {}#{}, expected index#{seq}",
            error.doc, error.seq
        )
    })?;
    ensure(
        error.text.contains(".obsidian/plugins/evil/main.js"),
        || format!("the error text {:?} does not name the path", error.text),
    )?;
    let ids = index_ids_seen_by_a_new_device(&t, &vault).await?;
    ensure(ids.is_empty(), || {
        format!("a new device sees index entries {ids:?}; the refused write must not be stored")
    })?;
    vault_still_works(&t, &vault).await
}

pub async fn hostile_index_entry_on_the_doc_endpoint_is_refused_like_a_read_only_write(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let mut stock = t.doc_client(&vault, INDEX, Scope::Write).await?;
    stock.sync().await?;
    // One writer per path: each refused update is independent of the others
    // (a second edit by one client would build on the first, refused, one).
    for (n, path) in ["../outside.md", "C:\\x.md", "/x.md", ".Obsidian/app.json"]
        .into_iter()
        .enumerate()
    {
        let scratch = Doc::with_client_id(4343 + n as u64);
        let bad = entry_update(&scratch, &fresh_doc(), path);
        stock
            .send(&Message::Sync(SyncMessage::Update(&bad)))
            .await?;
    }
    stock
        .wait_for(
            "four y-protocols permission-denied messages naming bad-path",
            |c| {
                c.count(|e| matches!(e, DocEvent::PermissionDenied(r) if r.starts_with("bad-path")))
                    >= 4
            },
        )
        .await?;
    ensure(stock.closed.is_none(), || {
        format!("the doc socket was closed: {:?}", stock.closed)
    })?;
    let ids = index_ids_seen_by_a_new_device(&t, &vault).await?;
    ensure(ids.is_empty(), || {
        format!("a new device sees index entries {ids:?}; refused writes must not be stored")
    })?;
    // A well-formed entry from a fresh stock client still goes through.
    let mut good = t.doc_client(&vault, INDEX, Scope::Write).await?;
    good.sync().await?;
    let ok_id = fresh_doc();
    let update = entry_update(good.doc(), &ok_id, "notes/fine.md");
    good.send(&Message::Sync(SyncMessage::Update(&update)))
        .await?;
    good.wait_for("the good entry echoed back", |c| {
        c.count(|e| matches!(e, DocEvent::Update(_))) > 0
    })
    .await?;
    let ids = index_ids_seen_by_a_new_device(&t, &vault).await?;
    ensure(ids == [ok_id.clone()], || {
        format!("a new device sees {ids:?}, expected only {ok_id}")
    })
}
