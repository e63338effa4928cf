//! HTTP endpoints: attachments, health, metrics and vault administration.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_crdt::keys::{self, ContentHash, DocId};
use tessera_crdt::note::Note;
use tessera_crdt::token::{self, Claims, Scope, TokenError, WritePaths};
use tessera_crdt::vault::Index;

use super::auth::{now_secs, read_json, read_limited, ApiError, Auth, Authed};
use super::AppState;
use crate::store::{PutCondition, PutOutcome};
use crate::vault::VaultHandle;

/// The query parameters history takes (`?token=` is read by the door).
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    path: Option<String>,
    doc: Option<String>,
}

fn content_hash(raw: &str) -> Result<ContentHash, ApiError> {
    ContentHash::new(raw).map_err(|_| {
        ApiError::bad_request(
            "bad-hash",
            "attachments are named by their blake3 hash: 64 lowercase hex digits",
        )
    })
}

/// `PUT /v1/vaults/{vault}/blobs/{hash}`: stores an attachment after checking its hash.
pub async fn put_blob(
    State(state): State<AppState>,
    Path((_, hash)): Path<(String, String)>,
    authed: Authed,
    body: Body,
) -> Result<Response, ApiError> {
    let vault = authed.vault;
    let hash = content_hash(&hash)?;
    // The door checked the declared length; the limit holds while reading too
    // (chunked or lying uploads stop at the limit).
    let bytes = read_limited(body, authed.body).await?;
    if tessera_crdt::hash::blake3_hex(&bytes) != hash.as_str() {
        return Err(ApiError::new(
            422,
            "hash-mismatch",
            "the uploaded bytes do not hash to the name in the URL",
        ));
    }
    let key = keys::blob_key(&vault.id, &hash);
    match state.store.put(&key, bytes, PutCondition::IfAbsent).await {
        Ok(PutOutcome::Written(_)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "stored": true })),
        )
            .into_response()),
        Ok(PutOutcome::PreconditionFailed) => {
            Ok((StatusCode::OK, Json(serde_json::json!({ "stored": true }))).into_response())
        }
        Err(e) => Err(ApiError::unavailable(format!("storage failed: {e}"))),
    }
}

/// `GET|HEAD /v1/vaults/{vault}/blobs/{hash}`.
pub async fn get_blob(
    State(state): State<AppState>,
    Path((_, hash)): Path<(String, String)>,
    authed: Authed,
) -> Result<Response, ApiError> {
    let vault = authed.vault;
    let hash = content_hash(&hash)?;
    match state.store.get(&keys::blob_key(&vault.id, &hash)).await {
        Ok(Some(obj)) => Ok((
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CACHE_CONTROL,
                    "private, max-age=31536000, immutable",
                ),
            ],
            obj.bytes,
        )
            .into_response()),
        Ok(None) => Err(ApiError::not_found(
            "no attachment with this hash in the vault",
        )),
        Err(e) => Err(ApiError::unavailable(format!("storage failed: {e}"))),
    }
}

/// `POST /v1/vaults/{vault}` (admin): creates the vault (the door created it
/// when it let the request through); creating an existing vault is a no-op.
pub async fn create_vault(authed: Authed) -> Response {
    (
        StatusCode::CREATED,
        Json(serde_json::json!({ "vault": authed.vault.id.as_str(), "created": true })),
    )
        .into_response()
}

/// Body of `POST /v1/vaults/{vault}/tokens`.
#[derive(Debug, Deserialize)]
pub struct MintRequest {
    scope: Scope,
    ttl_secs: Option<u64>,
    device: Option<String>,
    /// Path prefixes a write token is limited to; absent: the whole vault.
    paths: Option<Vec<String>>,
}

/// `POST /v1/vaults/{vault}/tokens` (admin): mints a token for the vault.
pub async fn mint(
    State(state): State<AppState>,
    authed: Authed,
    body: Body,
) -> Result<Response, ApiError> {
    let req: MintRequest = read_json(body, authed.body).await?;
    let vault = authed.vault;
    let Auth::Tokens(key) = &state.auth else {
        return Err(ApiError::bad_request(
            "bad-request",
            "this relay runs without authentication; there are no tokens to mint",
        ));
    };
    let claims = Claims::new(
        vault.id.as_str(),
        req.scope,
        now_secs(),
        req.ttl_secs,
        req.device,
    )
    .and_then(|c| match req.paths {
        Some(paths) => {
            c.with_paths(WritePaths::new(paths).map_err(|e| TokenError::BadClaims(e.into()))?)
        }
        None => Ok(c),
    })
    .map_err(|e| ApiError::bad_request("bad-request", e.to_string()))?;
    crate::vault::record_minted(state.store.as_ref(), &vault.id, &claims)
        .await
        .map_err(|e| ApiError::unavailable(format!("could not record the token: {e}")))?;
    let token = token::mint(key, &claims);
    Ok(
        Json(serde_json::json!({ "token": token, "id": claims.id, "claims": claims }))
            .into_response(),
    )
}

/// `GET /v1/vaults/{vault}/tokens` (admin): the tokens minted for the vault
/// (and those seen connecting), newest first, without the tokens themselves.
pub async fn list_tokens(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Response, ApiError> {
    let tokens = crate::vault::list_tokens(state.store.as_ref(), &authed.vault.id)
        .await
        .map_err(|e| ApiError::unavailable(format!("could not read the token registry: {e}")))?;
    Ok(Json(serde_json::json!({ "tokens": tokens })).into_response())
}

/// Body of `POST /v1/vaults/{vault}/revoke`.
#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    token_id: String,
}

/// `POST /v1/vaults/{vault}/revoke` (admin): refuses a token from now on.
pub async fn revoke(
    State(state): State<AppState>,
    authed: Authed,
    body: Body,
) -> Result<Response, ApiError> {
    let req: RevokeRequest = read_json(body, authed.body).await?;
    let vault = authed.vault;
    let id = req.token_id.clone();
    crate::vault::persist_revocation(state.store.as_ref(), &vault.id, &id)
        .await
        .map_err(|e| ApiError::unavailable(format!("could not record the revocation: {e}")))?;
    vault.revoke(&id).await;
    Ok(Json(serde_json::json!({ "revoked": true })).into_response())
}

/// Finds a note's doc id from `?doc=` or `?path=` (through the index).
async fn resolve_doc(
    vault: &VaultHandle,
    params: &Params,
) -> Result<(DocId, Option<String>), ApiError> {
    if let Some(doc) = &params.doc {
        return Ok((
            DocId::new(doc).map_err(|e| ApiError::bad_request("bad-doc-id", e.to_string()))?,
            None,
        ));
    }
    let path = params.path.clone().ok_or_else(|| {
        ApiError::bad_request(
            "bad-request",
            "give the note's path as ?path= (or its id as ?doc=)",
        )
    })?;
    let state = vault
        .doc_state(tessera_crdt::ids::INDEX_DOC)
        .await
        .map_err(ApiError::unavailable)?;
    let index = Index::from_update(0, &state).map_err(|e| ApiError::unavailable(e.to_string()))?;
    let entry = index
        .lookup(&path)
        .ok_or_else(|| ApiError::not_found(format!("no note at {path}")))?;
    let doc = DocId::new(&entry.id).map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok((doc, Some(path)))
}

/// `GET /v1/vaults/{vault}/history?path=P` (read): a note's stored versions, newest first.
pub async fn history(
    State(state): State<AppState>,
    authed: Authed,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let vault = authed.vault;
    let (doc, path) = resolve_doc(&vault, &params).await?;
    let head = crate::vault::read_head(state.store.as_ref(), &vault.id, &doc)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let snapshots: Vec<serde_json::Value> = head
        .map(|(h, _)| {
            h.history
                .iter()
                .map(|e| serde_json::json!({ "snapshot": e.snapshot, "created_ms": e.created_ms, "size": e.size }))
                .collect()
        })
        .unwrap_or_default();
    Ok(
        Json(serde_json::json!({ "doc": doc.as_str(), "path": path, "snapshots": snapshots }))
            .into_response(),
    )
}

/// Body of `POST /v1/vaults/{vault}/restore`.
#[derive(Debug, Deserialize)]
pub struct RestoreRequest {
    path: Option<String>,
    doc: Option<String>,
    snapshot: String,
}

/// `POST /v1/vaults/{vault}/restore` (write): brings an old version back as a new edit.
pub async fn restore(
    State(state): State<AppState>,
    authed: Authed,
    body: Body,
) -> Result<Response, ApiError> {
    let req: RestoreRequest = read_json(body, authed.body).await?;
    let vault = authed.vault;
    let lookup = Params {
        path: req.path.clone(),
        doc: req.doc.clone(),
    };
    let (doc, _) = resolve_doc(&vault, &lookup).await?;
    if authed.claims.is_path_limited() {
        let index = vault
            .doc_state(tessera_crdt::ids::INDEX_DOC)
            .await
            .map_err(ApiError::unavailable)
            .and_then(|s| {
                Index::from_update(0, &s).map_err(|e| ApiError::unavailable(e.to_string()))
            })?;
        tessera_crdt::api::check_write_doc(&authed.claims, &index, doc.as_str())?;
    }
    let hash = ContentHash::new(&req.snapshot).map_err(|_| {
        ApiError::bad_request(
            "bad-request",
            "snapshot must be a 64-hex-digit id from the history",
        )
    })?;
    let state_bytes =
        match crate::vault::read_snapshot(state.store.as_ref(), &vault.id, &doc, &hash).await {
            Ok(s) => s,
            Err(e) if e.to_string().contains("missing") => {
                return Err(ApiError::not_found("no such version of this note"))
            }
            Err(e) => return Err(ApiError::unavailable(e.to_string())),
        };
    let text = Note::from_update(0, &state_bytes)
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .text();
    vault
        .restore(doc.as_str(), text)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(serde_json::json!({ "restored": true, "doc": doc.as_str() })).into_response())
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: storage answers and snapshots are not lagging.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let storage = match tokio::time::timeout(Duration::from_secs(3), state.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: timed out".to_owned(),
    };
    let stats = state.vaults.stats().await;
    let lag_ms = u64::try_from(stats.snapshot_lag.as_millis()).unwrap_or(u64::MAX);
    let ready = storage == "ok" && stats.snapshot_lag <= state.max_snapshot_lag;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "ready": ready, "storage": storage, "snapshot_lag_ms": lag_ms, "docs_dirty": stats.room.docs_dirty });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.vaults.stats().await;
    let m = &state.metrics;
    m.docs_loaded.store(stats.room.docs_loaded as i64, Relaxed);
    m.docs_dirty.store(stats.room.docs_dirty as i64, Relaxed);
    m.wal_bytes
        .store(i64::try_from(stats.wal_bytes).unwrap_or(i64::MAX), Relaxed);
    m.snapshot_lag_ms.store(
        u64::try_from(stats.snapshot_lag.as_millis()).unwrap_or(u64::MAX),
        Relaxed,
    );
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
        .into_response()
}

/// Anything else: 404 with the JSON error.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/http-api.md")
}
