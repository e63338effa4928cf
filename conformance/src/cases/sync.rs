//! Syncing notes over the vault endpoint and the doc endpoint.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use tessera_crdt::protocol::{Message, SyncMessage};
use tessera_crdt::token::Scope;

use super::ensure;
use crate::client::{append, new_doc, text_of, DocEvent};
use crate::{fresh_doc, fresh_vault, Target};

pub async fn hello_names_the_scope(t: Target) -> Result<()> {
    let vault = fresh_vault();
    for scope in [Scope::Read, Scope::Write, Scope::Admin] {
        let c = t.vault_client(&vault, scope).await?;
        ensure(c.hello.scope == scope.as_str(), || {
            format!("a {scope} token's hello says scope {:?}", c.hello.scope)
        })?;
        ensure(!c.hello.epoch.is_empty(), || {
            "hello has an empty epoch".into()
        })?;
        ensure(!c.hello.server.is_empty(), || {
            "hello has an empty server name".into()
        })?;
        c.close().await?;
    }
    Ok(())
}

pub async fn note_written_on_one_socket_appears_on_another(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let mut b = t.vault_client(&vault, Scope::Write).await?;
    a.open_and_sync(&doc).await?;
    b.open_and_sync(&doc).await?;
    a.append(&doc, "hello from a").await?;
    b.wait_text(&doc, "hello from a").await?;
    b.append(&doc, ", and b").await?;
    a.wait_text(&doc, "hello from a, and b").await
}

pub async fn late_device_receives_note_on_sync(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let seq = a.append(&doc, "written before b existed").await?;
    a.wait_ack(&doc, seq).await?;
    a.close().await?;
    let mut b = t.vault_client(&vault, Scope::Write).await?;
    b.open_and_sync(&doc).await?;
    let text = b.text(&doc);
    ensure(text == "written before b existed", || {
        format!("after sync step 2 the late device reads {text:?}")
    })
}

pub async fn many_docs_share_one_socket(t: Target) -> Result<()> {
    const N: usize = 20;
    let vault = fresh_vault();
    let docs: Vec<String> = (0..N).map(|_| fresh_doc()).collect();
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let mut seqs = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        seqs.push(a.append(doc, &format!("note {i}")).await?);
    }
    for (doc, seq) in docs.iter().zip(&seqs) {
        a.wait_ack(doc, *seq).await?;
    }
    let mut b = t.vault_client(&vault, Scope::Write).await?;
    for doc in &docs {
        b.open(doc).await?;
    }
    for (i, doc) in docs.iter().enumerate() {
        b.wait_text(doc, &format!("note {i}")).await?;
    }
    Ok(())
}

pub async fn acks_count_writes_per_doc(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (x, y) = (fresh_doc(), fresh_doc());
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    a.open_and_sync(&x).await?;
    a.append(&x, "one").await?;
    a.append(&x, " two").await?;
    let last_x = a.append(&x, " three").await?;
    let only_y = a.append(&y, "first write to y").await?;
    ensure(only_y == 1, || {
        format!("writes are numbered per doc from 1, but the client numbered y's first {only_y}")
    })?;
    a.wait_ack(&x, last_x).await?;
    a.wait_ack(&y, only_y).await?;
    // The client checks on arrival that no ack exceeds the writes sent or goes back.
    ensure(a.acked[&x] == a.writes[&x], || {
        format!("x: {} writes, acked {}", a.writes[&x], a.acked[&x])
    })?;
    ensure(a.acked[&y] == 1, || {
        format!("y: 1 write, acked {}", a.acked[&y])
    })?;
    ensure(a.errors.is_empty(), || {
        format!("unexpected errors {:?}", a.errors)
    })
}

pub async fn duplicate_write_is_acked(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let update = append(&new_doc(), "sent twice");
    let first = a.write_update(&doc, &update).await?;
    a.wait_ack(&doc, first).await?;
    let second = a.write_update(&doc, &update).await?;
    a.wait_ack(&doc, second).await?;
    ensure(a.errors.is_empty(), || {
        format!("a duplicate write drew errors {:?}", a.errors)
    })?;
    let mut b = t.vault_client(&vault, Scope::Write).await?;
    b.open_and_sync(&doc).await?;
    let text = b.text(&doc);
    ensure(text == "sent twice", || {
        format!("after a duplicate write the note reads {text:?}")
    })
}

pub async fn changes_since_lists_only_later_changes(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (x, y) = (fresh_doc(), fresh_doc());
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let epoch = a.hello.epoch.clone();
    let start = a.hello.cursor;
    let seq = a.append(&x, "x changed").await?;
    a.wait_ack(&x, seq).await?;
    let first = a.changes_since(&epoch, start).await?;
    ensure(!first.reset && first.epoch == epoch, || {
        format!("same epoch, valid cursor: expected no reset, got {first:?}")
    })?;
    ensure(first.docs == vec![x.clone()], || {
        format!("after writing only {x}: changes {:?}", first.docs)
    })?;
    let seq = a.append(&y, "y changed").await?;
    a.wait_ack(&y, seq).await?;
    let second = a.changes_since(&epoch, first.cursor).await?;
    ensure(!second.reset, || format!("unexpected reset {second:?}"))?;
    ensure(second.docs == vec![y.clone()], || {
        format!(
            "since cursor {} only {y} changed, but changes lists {:?}",
            first.cursor, second.docs
        )
    })?;
    ensure(second.cursor > first.cursor, || {
        format!(
            "cursor did not advance: {} then {}",
            first.cursor, second.cursor
        )
    })?;
    let third = a.changes_since(&epoch, second.cursor).await?;
    ensure(!third.reset && third.docs.is_empty(), || {
        format!(
            "nothing changed since cursor {}, got {third:?}",
            second.cursor
        )
    })?;
    // A new connection's hello carries the current cursor.
    let b = t.vault_client(&vault, Scope::Read).await?;
    ensure(b.hello.cursor == second.cursor, || {
        format!(
            "hello cursor {} differs from the changes cursor {}",
            b.hello.cursor, second.cursor
        )
    })
}

pub async fn changes_since_wrong_epoch_resets(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (x, y) = (fresh_doc(), fresh_doc());
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let sx = a.append(&x, "x").await?;
    let sy = a.append(&y, "y").await?;
    a.wait_ack(&x, sx).await?;
    a.wait_ack(&y, sy).await?;
    let cursor = a.hello.cursor + 1000;
    let changes = a.changes_since("not-the-relay-epoch", cursor).await?;
    ensure(changes.reset, || {
        format!("a wrong epoch must reset, got {changes:?}")
    })?;
    ensure(changes.epoch == a.hello.epoch, || {
        format!(
            "the answer must carry the relay's epoch {:?}, got {:?}",
            a.hello.epoch, changes.epoch
        )
    })?;
    let listed: BTreeSet<&str> = changes.docs.iter().map(String::as_str).collect();
    ensure(
        listed.contains(x.as_str()) && listed.contains(y.as_str()),
        || format!("a reset lists every doc ({x}, {y}), got {:?}", changes.docs),
    )
}

pub async fn doc_endpoint_first_frame_is_step1(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut c = t.doc_client(&vault, &doc, Scope::Write).await?;
    match c.first_frame().await? {
        DocEvent::Step1(_) => Ok(()),
        other => bail!("first frame on the doc endpoint is {other:?}; expected sync step 1"),
    }
}

pub async fn doc_endpoint_echoes_to_sender(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut c = t.doc_client(&vault, &doc, Scope::Write).await?;
    c.sync().await?;
    c.append("echo me").await?;
    c.wait_for("the update echoed back to its sender", |c| {
        c.events.iter().any(|e| match e {
            DocEvent::Update(u) => {
                let probe = new_doc();
                apply_to(&probe, u) && text_of(&probe) == "echo me"
            }
            _ => false,
        })
    })
    .await
}

fn apply_to(doc: &yrs::Doc, update: &[u8]) -> bool {
    use yrs::updates::decoder::Decode;
    use yrs::Transact;
    match yrs::Update::decode_v1(update) {
        Ok(u) => doc.transact_mut().apply_update(u).is_ok(),
        Err(_) => false,
    }
}

pub async fn doc_and_vault_clients_see_each_other(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut stock = t.doc_client(&vault, &doc, Scope::Write).await?;
    stock.sync().await?;
    let mut plugin = t.vault_client(&vault, Scope::Write).await?;
    plugin.open_and_sync(&doc).await?;
    stock.append("from yjs").await?;
    plugin.wait_text(&doc, "from yjs").await?;
    let seq = plugin.append(&doc, " + from plugin").await?;
    plugin.wait_ack(&doc, seq).await?;
    stock.wait_text("from yjs + from plugin").await?;
    // And a raw step 1 on the doc endpoint is answered with the merged state.
    let mut late = t.doc_client(&vault, &doc, Scope::Read).await?;
    late.send(&Message::Sync(SyncMessage::Step1(&[0]))).await?;
    late.wait_text("from yjs + from plugin").await
}

/// A vault session gets no `changes` frame before the answer to its first
/// changes-since: such a frame's cursor would let a device skip the changes
/// made while it was offline (issue 15). After the answer, changes to docs
/// it does not follow are announced.
pub async fn no_announcement_before_the_first_changes_since_is_answered(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let (x, y) = (fresh_doc(), fresh_doc());
    let mut b = t.vault_client(&vault, Scope::Read).await?;
    let (epoch, start) = (b.hello.epoch.clone(), b.hello.cursor);
    let mut a = t.vault_client(&vault, Scope::Write).await?;
    let seq = a.append(&x, "durable before b asked").await?;
    a.wait_ack(&x, seq).await?;
    // A round trip on another doc (not a changes-since, which would be an
    // answer): everything the relay sent b before its step 2 has arrived.
    b.open(&y).await?;
    b.wait_for("sync step 2 for y", |c| c.synced.contains_key(&y))
        .await?;
    ensure(b.changes.is_empty(), || {
        format!(
            "a changes frame reached a session that had not asked yet: {:?}",
            b.changes
        )
    })?;
    let answer = b.changes_since(&epoch, start).await?;
    ensure(answer.docs == vec![x.clone()], || {
        format!("the answer must list {x}, got {answer:?}")
    })?;
    let seq = a.append(&x, ", and after").await?;
    a.wait_ack(&x, seq).await?;
    let before = b.changes.len();
    b.wait_for("an announcement of the change to x", |c| {
        c.changes.len() > before
    })
    .await?;
    let announced = b.changes[before].clone();
    ensure(announced.docs == vec![x.clone()], || {
        format!("the announcement must name {x}, got {announced:?}")
    })?;
    ensure(announced.cursor > answer.cursor, || {
        format!("the announcement's cursor must pass the answer's: {announced:?} after {answer:?}")
    })
}
