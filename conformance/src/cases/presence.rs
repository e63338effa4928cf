//! Awareness (presence) forwarding.

use anyhow::{bail, Result};
use tessera_crdt::ids::random_client_id;
use tessera_crdt::protocol::Message;
use tessera_crdt::token::Scope;

use crate::client::{awareness_states, awareness_update, DocEvent};
use crate::{fresh_doc, fresh_vault, DocClient, Target, VaultClient};

const STATE: &str = r##"{"user":{"name":"conformance","color":"#30bced"}}"##;

fn vault_saw(c: &VaultClient, doc: &str, client: u64, state: &str) -> bool {
    c.awareness.iter().any(|(d, u)| {
        d == doc
            && awareness_states(u)
                .is_ok_and(|s| s.iter().any(|(id, st)| *id == client && st == state))
    })
}

fn doc_saw(c: &DocClient, client: u64, state: &str) -> bool {
    c.events.iter().any(|e| match e {
        DocEvent::Awareness(u) => {
            awareness_states(u).is_ok_and(|s| s.iter().any(|(id, st)| *id == client && st == state))
        }
        _ => false,
    })
}

/// Two observers of `doc` (one per endpoint) and a vault client that has
/// announced presence as `client`, once both observers saw it.
async fn present(
    t: &Target,
    vault: &str,
    doc: &str,
    client: u64,
    speaker_scope: Scope,
) -> Result<(VaultClient, VaultClient, DocClient)> {
    let mut watcher = t.vault_client(vault, Scope::Read).await?;
    watcher.open_and_sync(doc).await?;
    let mut stock = t.doc_client(vault, doc, Scope::Read).await?;
    stock.sync().await?;
    let mut speaker = t.vault_client(vault, speaker_scope).await?;
    speaker.open_and_sync(doc).await?;
    let update = awareness_update(client, 1, STATE);
    speaker.send(doc, &Message::Awareness(&update)).await?;
    watcher
        .wait_for("the presence on the vault endpoint", |c| {
            vault_saw(c, doc, client, STATE)
        })
        .await?;
    stock
        .wait_for("the presence on the doc endpoint", |c| {
            doc_saw(c, client, STATE)
        })
        .await?;
    Ok((speaker, watcher, stock))
}

pub async fn awareness_is_forwarded(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    present(&t, &vault, &doc, random_client_id(), Scope::Write).await?;
    Ok(())
}

pub async fn read_only_presence_is_forwarded(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    present(&t, &vault, &doc, random_client_id(), Scope::Read).await?;
    Ok(())
}

pub async fn disconnect_removes_presence(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let client = random_client_id();
    let (speaker, mut watcher, mut stock) = present(&t, &vault, &doc, client, Scope::Write).await?;
    speaker.close().await?;
    watcher
        .wait_for(
            "the presence removal (state null) on the vault endpoint",
            |c| vault_saw(c, &doc, client, "null"),
        )
        .await?;
    stock
        .wait_for(
            "the presence removal (state null) on the doc endpoint",
            |c| doc_saw(c, client, "null"),
        )
        .await
}

pub async fn doc_endpoint_sends_awareness_after_step1(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let client = random_client_id();
    let (_speaker, _watcher, _stock) = present(&t, &vault, &doc, client, Scope::Write).await?;
    let mut late = t.doc_client(&vault, &doc, Scope::Read).await?;
    late.wait_for("two frames", |c| c.events.len() >= 2).await?;
    match (&late.events[0], &late.events[1]) {
        (DocEvent::Step1(_), DocEvent::Awareness(u)) => {
            let states = awareness_states(u)?;
            if !states.iter().any(|(id, st)| *id == client && st == STATE) {
                bail!("the greeting's awareness lacks the present client: {states:?}");
            }
            Ok(())
        }
        (a, b) => bail!(
            "expected sync step 1 then awareness as the first two frames, got {a:?} then {b:?}"
        ),
    }
}
