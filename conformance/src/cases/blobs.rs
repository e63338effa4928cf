//! Attachments over HTTP, content-addressed by blake3.

use anyhow::{Context, Result};
use reqwest::Method;
use tessera_crdt::token::Scope;

use super::{ensure, vault_still_works};
use crate::http::{self, Answer};
use crate::{fresh_vault, Target};

fn blob_url(t: &Target, vault: &str, hash: &str) -> String {
    t.url(&format!("/v1/vaults/{vault}/blobs/{hash}"))
}

async fn put(t: &Target, vault: &str, hash: &str, token: &str, body: Vec<u8>) -> Result<Answer> {
    http::request(
        Method::PUT,
        &blob_url(t, vault, hash),
        Some(token),
        Some(body),
    )
    .await
}

async fn get(t: &Target, vault: &str, hash: &str, token: &str) -> Result<Answer> {
    http::request(Method::GET, &blob_url(t, vault, hash), Some(token), None).await
}

/// Some bytes that are not all alike, so a truncation or reordering shows.
fn sample(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u32 = 0x9e37_79b9;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x as u8);
    }
    out
}

pub async fn blob_round_trip(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let body = sample(300_000);
    let hash = blake3::hash(&body).to_hex().to_string();
    put(&t, &vault, &hash, &token, body.clone())
        .await?
        .expect_status(201)
        .context("first PUT")?;
    put(&t, &vault, &hash, &token, body.clone())
        .await?
        .expect_status(200)
        .context("second PUT of the same blob")?;
    let reader = t.token(&vault, Scope::Read);
    let got = get(&t, &vault, &hash, &reader).await?;
    got.expect_status(200).context("GET")?;
    ensure(got.body == body, || {
        format!(
            "GET returned {} bytes that differ from the {} uploaded",
            got.body.len(),
            body.len()
        )
    })?;
    let content_type = got.header("content-type").unwrap_or_default();
    ensure(content_type == "application/octet-stream", || {
        format!("GET content-type is {content_type:?}, expected application/octet-stream")
    })?;
    let head = http::request(
        Method::HEAD,
        &blob_url(&t, &vault, &hash),
        Some(&reader),
        None,
    )
    .await?;
    head.expect_status(200).context("HEAD")?;
    Ok(())
}

pub async fn unknown_blob_is_404(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Read);
    let hash = blake3::hash(b"never uploaded").to_hex();
    get(&t, &vault, &hash, &token)
        .await?
        .expect_error(404, "not-found")?;
    let head = http::request(
        Method::HEAD,
        &blob_url(&t, &vault, &hash),
        Some(&token),
        None,
    )
    .await?;
    head.expect_status(404).context("HEAD of an unknown blob")?;
    Ok(())
}

pub async fn wrong_hash_is_422(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let claimed = blake3::hash(b"what the URL promises").to_hex().to_string();
    put(
        &t,
        &vault,
        &claimed,
        &token,
        b"something else entirely".to_vec(),
    )
    .await?
    .expect_error(422, "hash-mismatch")?;
    get(&t, &vault, &claimed, &token)
        .await?
        .expect_error(404, "not-found")
        .context("GET after the refused upload")?;
    vault_still_works(&t, &vault).await
}

pub async fn oversized_blob_is_413(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let len = usize::try_from(t.max_blob + 1).context("blob limit does not fit in memory")?;
    let body = vec![7u8; len];
    let hash = blake3::hash(&body).to_hex().to_string();
    let answer = put(&t, &vault, &hash, &token, body).await;
    answer
        .with_context(|| format!("PUT of {len} bytes (limit {})", t.max_blob))?
        .expect_error(413, "limit-exceeded")
        .with_context(|| format!("PUT of max_blob+1 = {len} bytes"))?;
    get(&t, &vault, &hash, &token)
        .await?
        .expect_error(404, "not-found")
        .context("GET after the refused upload")?;
    vault_still_works(&t, &vault).await
}

pub async fn malformed_hash_is_400(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let upper = blake3::hash(b"x").to_hex().to_ascii_uppercase();
    let short = &blake3::hash(b"x").to_hex()[..63];
    for bad in ["not-a-hash", short, upper.as_str()] {
        put(&t, &vault, bad, &token, b"x".to_vec())
            .await?
            .expect_error(400, "bad-hash")
            .with_context(|| format!("PUT with hash {bad:?}"))?;
        get(&t, &vault, bad, &token)
            .await?
            .expect_error(400, "bad-hash")
            .with_context(|| format!("GET with hash {bad:?}"))?;
    }
    Ok(())
}

pub async fn read_token_cannot_upload(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let reader = t.token(&vault, Scope::Read);
    let body = b"read-only upload".to_vec();
    let hash = blake3::hash(&body).to_hex().to_string();
    put(&t, &vault, &hash, &reader, body)
        .await?
        .expect_error(403, "token-insufficient-scope")?;
    get(&t, &vault, &hash, &reader)
        .await?
        .expect_error(404, "not-found")
        .context("GET after the refused upload")
}
