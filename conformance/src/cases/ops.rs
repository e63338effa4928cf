//! Health, readiness, metrics, CORS and routing.

use anyhow::{Context, Result};
use reqwest::Method;

use super::ensure;
use crate::http;
use crate::{fresh_vault, Target};

pub async fn healthz_answers_ok(t: Target) -> Result<()> {
    let a = http::get(&t.url("/healthz")).await?;
    a.expect_status(200)?;
    ensure(a.text().trim() == "ok", || {
        format!("expected body \"ok\", got {:?}", a.text())
    })
}

pub async fn readyz_answers_ready_json(t: Target) -> Result<()> {
    let a = http::get(&t.url("/readyz")).await?;
    a.expect_status(200)?;
    let body = a.json()?;
    ensure(
        body.get("ready") == Some(&serde_json::Value::Bool(true)),
        || format!("expected \"ready\": true, got {body}"),
    )?;
    for field in ["storage", "snapshot_lag_ms", "docs_dirty"] {
        ensure(body.get(field).is_some(), || {
            format!("readyz JSON lacks {field:?}: {body}")
        })?;
    }
    ensure(body["snapshot_lag_ms"].is_number(), || {
        format!("snapshot_lag_ms is not a number: {body}")
    })?;
    ensure(body["docs_dirty"].is_number(), || {
        format!("docs_dirty is not a number: {body}")
    })
}

pub async fn metrics_are_prometheus_text(t: Target) -> Result<()> {
    let a = http::get(&t.url("/metrics")).await?;
    a.expect_status(200)?;
    let text = a.text();
    ensure(
        text.lines()
            .any(|l| l.starts_with("tessera_") || l.starts_with("# TYPE tessera_")),
        || {
            format!(
                "no tessera_ series in /metrics: {:?}",
                &text[..text.len().min(300)]
            )
        },
    )?;
    let content_type = a.header("content-type").unwrap_or_default();
    ensure(content_type.starts_with("text/plain"), || {
        format!("Prometheus text format is served as text/plain, got {content_type:?}")
    })
}

pub async fn cors_preflight_from_obsidian_is_allowed(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let url = t.url(&format!(
        "/v1/vaults/{vault}/blobs/{}",
        blake3::hash(b"x").to_hex()
    ));
    for origin in [
        "app://obsidian.md",
        "capacitor://localhost",
        "http://localhost",
    ] {
        let preflight = http::send(
            http::client()
                .request(Method::OPTIONS, &url)
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "PUT")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
        )
        .await?;
        ensure((200..300).contains(&preflight.status), || {
            format!(
                "preflight from {origin}: HTTP {}, expected 2xx",
                preflight.status
            )
        })?;
        let allow_origin = preflight
            .header("access-control-allow-origin")
            .unwrap_or_default();
        ensure(allow_origin == origin || allow_origin == "*", || {
            format!("preflight from {origin}: access-control-allow-origin is {allow_origin:?}")
        })?;
        let methods = preflight
            .header("access-control-allow-methods")
            .unwrap_or_default()
            .to_ascii_uppercase();
        ensure(methods.contains("PUT") || methods.contains('*'), || {
            format!("preflight from {origin}: access-control-allow-methods {methods:?} lacks PUT")
        })?;
        // `*` does not cover Authorization in the Fetch standard: it must be named.
        let headers = preflight
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        ensure(headers.contains("authorization"), || {
            format!(
                "preflight from {origin}: access-control-allow-headers {headers:?} does not name authorization"
            )
        })?;
        let actual = http::send(http::client().get(&url).header("Origin", origin))
            .await
            .context("the request after the preflight")?;
        let allow_origin = actual
            .header("access-control-allow-origin")
            .unwrap_or_default();
        ensure(allow_origin == origin || allow_origin == "*", || {
            format!(
                "GET from {origin} (HTTP {}): access-control-allow-origin is {allow_origin:?}",
                actual.status
            )
        })?;
    }
    Ok(())
}

pub async fn unknown_route_is_not_found(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let a = http::get(&t.url(&format!("/v1/vaults/{vault}/no-such-thing"))).await?;
    a.expect_error(404, "not-found")
}
