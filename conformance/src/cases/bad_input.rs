//! Bad input: each misbehaving client is dealt with, and the vault keeps
//! working for everyone else.

use anyhow::{bail, Context, Result};
use tessera_crdt::encoding::{write_var_bytes, write_var_str, write_var_u64};
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage};
use tessera_crdt::token::Scope;

use super::{ensure, vault_still_works};
use crate::client::{append, new_doc, ws_refused};
use crate::{fresh_doc, fresh_vault, http, Target};

fn envelope(doc: &str, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_var_str(&mut out, doc);
    out.extend_from_slice(rest);
    out
}

/// Frames no valid peer sends, for the vault endpoint.
fn malformed_vault_frames() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("an empty frame", vec![]),
        ("a doc id and no message", envelope("index", &[])),
        ("an unknown message type", envelope("index", &[42])),
        (
            "an unknown sync message type",
            envelope("index", &[0, 7, 0]),
        ),
        (
            "an update shorter than its length says",
            envelope("index", &[0, 2, 10, 1, 2]),
        ),
        (
            "bytes after the end of the message",
            envelope("index", &[3, 0]),
        ),
        ("a doc id that is not UTF-8", vec![2, 0xff, 0xfe, 3]),
        ("a varint longer than 64 bits", vec![0xff; 11]),
    ]
}

/// Frames no valid peer sends, for the doc endpoint.
fn malformed_doc_frames() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("an empty frame", vec![]),
        ("an unknown message type", vec![42]),
        ("an unknown sync message type", vec![0, 7, 0]),
        (
            "an update shorter than its length says",
            vec![0, 2, 10, 1, 2],
        ),
        ("bytes after the end of the message", vec![3, 0]),
        ("a varint longer than 64 bits", vec![0xff; 11]),
    ]
}

pub async fn malformed_vault_frames_close_4400(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let mut failures = Vec::new();
    for (what, frame) in malformed_vault_frames() {
        let outcome = async {
            let mut c = t.vault_client(&vault, Scope::Write).await?;
            c.send_raw(frame).await?;
            c.wait_close().await
        }
        .await;
        match outcome {
            Ok((4400, reason)) if !reason.is_empty() => {}
            Ok((4400, _)) => failures.push(format!("{what}: closed 4400 without a reason")),
            Ok((code, reason)) => failures.push(format!("{what}: closed {code} {reason:?}")),
            Err(e) => failures.push(format!("{what}: {e:#}")),
        }
    }
    if !failures.is_empty() {
        bail!("expected close 4400 for each; {}", failures.join("; "));
    }
    vault_still_works(&t, &vault).await
}

pub async fn malformed_doc_frames_close_4400(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut failures = Vec::new();
    for (what, frame) in malformed_doc_frames() {
        let outcome = async {
            let mut c = t.doc_client(&vault, &doc, Scope::Write).await?;
            c.first_frame().await?;
            c.send_raw(frame).await?;
            c.wait_close().await
        }
        .await;
        match outcome {
            Ok((4400, reason)) if !reason.is_empty() => {}
            Ok((4400, _)) => failures.push(format!("{what}: closed 4400 without a reason")),
            Ok((code, reason)) => failures.push(format!("{what}: closed {code} {reason:?}")),
            Err(e) => failures.push(format!("{what}: {e:#}")),
        }
    }
    if !failures.is_empty() {
        bail!("expected close 4400 for each; {}", failures.join("; "));
    }
    vault_still_works(&t, &vault).await
}

pub async fn oversized_frame_closes_4413(t: Target) -> Result<()> {
    // The relay's default frame limit is 16 MiB.
    const SIZE: usize = 17 << 20;
    let vault = fresh_vault();
    let mut frame = Vec::with_capacity(SIZE + 16);
    write_var_str(&mut frame, "index");
    write_var_u64(&mut frame, 0);
    write_var_u64(&mut frame, 2);
    write_var_bytes(&mut frame, &vec![0u8; SIZE]);
    let mut c = t.vault_client(&vault, Scope::Write).await?;
    // The relay may close while the frame is still being written; the close
    // frame is what counts, so a failed send is not the verdict.
    let sent = c.send_raw(frame).await;
    let (code, reason) = c
        .wait_close()
        .await
        .with_context(|| format!("after sending 17 MiB (send result: {sent:?})"))?;
    ensure(code == 4413 && !reason.is_empty(), || {
        format!(
            "a 17 MiB frame: expected close 4413, got {code} {reason:?} (send result: {sent:?})"
        )
    })?;
    vault_still_works(&t, &vault).await
}

pub async fn bad_doc_id_in_vault_frame(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let bad = "Not/A-Doc";
    let mut c = t.vault_client(&vault, Scope::Write).await?;
    let update = append(&new_doc(), "nowhere");
    let seq = c.count_write(bad);
    c.send(bad, &Message::Sync(SyncMessage::Update(&update)))
        .await?;
    let error = c
        .wait_error("error bad-doc-id", |e| e.code == ErrorCode::BadDocId)
        .await?;
    ensure(error.doc == bad && error.seq == seq, || {
        format!("expected error bad-doc-id for doc {bad:?} write {seq}, got {error:?}")
    })?;
    // The socket stays: a good write on it is acked.
    let doc = fresh_doc();
    let ok = c.append(&doc, "fine").await?;
    c.wait_ack(&doc, ok).await?;
    vault_still_works(&t, &vault).await
}

pub async fn undecodable_update_is_refused(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut c = t.vault_client(&vault, Scope::Write).await?;
    let seq = c.count_write(&doc);
    // A well-formed sync message whose payload is not a yrs update.
    c.send(
        &doc,
        &Message::Sync(SyncMessage::Update(&[0xf5, 0xff, 0x01])),
    )
    .await?;
    let error = c
        .wait_error("an error frame for the bad update", |_| true)
        .await?;
    ensure(
        error.code == ErrorCode::Malformed && error.seq == seq && error.doc == doc,
        || format!("expected error malformed for doc {doc} write {seq}, got {error:?}"),
    )?;
    let other = fresh_doc();
    let ok = c.append(&other, "fine").await?;
    c.wait_ack(&other, ok).await?;
    vault_still_works(&t, &vault).await
}

pub async fn bad_vault_id_in_url(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Admin);
    let base = crate::client::ws_base(&t.base);
    for bad in [
        "Upper-Case",
        "-leading-dash",
        "under_score",
        &"a".repeat(65),
    ] {
        let r = ws_refused(&format!("{base}/v1/vaults/{bad}/ws?token={token}"), &[])
            .await
            .with_context(|| format!("vault endpoint, vault id {bad:?}"))?;
        r.expect(400, "bad-vault-id")
            .with_context(|| format!("vault endpoint, vault id {bad:?}"))?;
        let hash = blake3::hash(b"x").to_hex();
        let a = http::request(
            reqwest::Method::GET,
            &t.url(&format!("/v1/vaults/{bad}/blobs/{hash}")),
            Some(&token),
            None,
        )
        .await?;
        a.expect_error(400, "bad-vault-id")
            .with_context(|| format!("GET blob, vault id {bad:?}"))?;
    }
    vault_still_works(&t, &vault).await
}

pub async fn bad_doc_id_in_url(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let base = crate::client::ws_base(&t.base);
    // Names outside `index`, note ids and [A-Za-z0-9._-]{1,128}.
    let too_long = "a".repeat(129);
    for bad in ["not~a~doc", "a%20b", "%C3%A4", too_long.as_str()] {
        let r = ws_refused(
            &format!("{base}/v1/vaults/{vault}/docs/{bad}?token={token}"),
            &[],
        )
        .await
        .with_context(|| format!("doc id {bad:?}"))?;
        r.expect(400, "bad-doc-id")
            .with_context(|| format!("doc id {bad:?}"))?;
    }
    vault_still_works(&t, &vault).await
}
