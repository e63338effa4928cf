//! Read-only tokens: sync down, never write, and say so.

use anyhow::Result;
use tessera_crdt::protocol::ErrorCode;
use tessera_crdt::token::Scope;

use super::{ensure, vault_still_works};
use crate::client::DocEvent;
use crate::{fresh_doc, fresh_vault, Target, VaultClient};

/// A vault with one note written by a writer; returns the writer.
async fn vault_with_note(t: &Target, vault: &str, doc: &str, text: &str) -> Result<VaultClient> {
    let mut writer = t.vault_client(vault, Scope::Write).await?;
    writer.open_and_sync(doc).await?;
    let seq = writer.append(doc, text).await?;
    writer.wait_ack(doc, seq).await?;
    Ok(writer)
}

pub async fn read_only_vault_client_syncs_down(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut writer = vault_with_note(&t, &vault, &doc, "before").await?;
    let mut reader = t.vault_client(&vault, Scope::Read).await?;
    reader.open_and_sync(&doc).await?;
    let text = reader.text(&doc);
    ensure(text == "before", || {
        format!("after sync step 2 the reader has {text:?}")
    })?;
    writer.append(&doc, " and after").await?;
    reader.wait_text(&doc, "before and after").await?;
    ensure(reader.errors.is_empty(), || {
        format!("a reader that only synced got errors {:?}", reader.errors)
    })
}

pub async fn read_only_vault_write_is_refused(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let _writer = vault_with_note(&t, &vault, &doc, "original").await?;
    let mut reader = t.vault_client(&vault, Scope::Read).await?;
    reader.open_and_sync(&doc).await?;
    let seq = reader.append(&doc, " vandalism").await?;
    let error = reader
        .wait_error("error permission-denied for the read-only write", |e| {
            e.code == ErrorCode::PermissionDenied
        })
        .await?;
    ensure(error.doc == doc, || {
        format!("the error names doc {:?}, expected {doc}", error.doc)
    })?;
    ensure(error.seq == seq, || {
        format!(
            "the error names write {}, but the refused write was number {seq}",
            error.seq
        )
    })?;
    ensure(!error.text.is_empty(), || {
        "the error has no text for humans".into()
    })?;
    // The socket stays usable: a further sync round trip works.
    reader.barrier().await?;
    Ok(())
}

pub async fn refused_write_changes_nothing(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut writer = vault_with_note(&t, &vault, &doc, "original").await?;
    let mut reader = t.vault_client(&vault, Scope::Read).await?;
    reader.open_and_sync(&doc).await?;
    reader.append(&doc, " vandalism").await?;
    reader
        .wait_error("error permission-denied", |e| {
            e.code == ErrorCode::PermissionDenied
        })
        .await?;
    // The writer's next edit arrives after anything the relay forwarded before.
    let seq = writer.append(&doc, "!").await?;
    writer.wait_ack(&doc, seq).await?;
    let mut fresh = t.vault_client(&vault, Scope::Write).await?;
    fresh.open_and_sync(&doc).await?;
    let text = fresh.text(&doc);
    ensure(text == "original!", || {
        format!("a new device reads {text:?}; the refused write must not be stored")
    })?;
    let seen = writer.text(&doc);
    ensure(seen == "original!", || {
        format!("the writer reads {seen:?}; the refused write must not be forwarded")
    })?;
    vault_still_works(&t, &vault).await
}

pub async fn read_only_doc_write_gets_permission_denied(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let _writer = vault_with_note(&t, &vault, &doc, "original").await?;
    let mut reader = t.doc_client(&vault, &doc, Scope::Read).await?;
    reader.sync().await?;
    ensure(reader.text() == "original", || {
        format!("the read-only doc client synced down {:?}", reader.text())
    })?;
    reader.append(" vandalism").await?;
    reader
        .wait_for("the y-protocols auth permission-denied message", |c| {
            c.events
                .iter()
                .any(|e| matches!(e, DocEvent::PermissionDenied(r) if !r.is_empty()))
        })
        .await?;
    let mut fresh = t.vault_client(&vault, Scope::Write).await?;
    fresh.open_and_sync(&doc).await?;
    let text = fresh.text(&doc);
    ensure(text == "original", || {
        format!("a new device reads {text:?}; the refused write must not be stored")
    })
}
