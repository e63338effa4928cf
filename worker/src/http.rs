//! The vault's endpoints inside its Durable Object: socket upgrades,
//! attachments and administration — the relay's handlers over the same core.

use serde::Deserialize;
use tessera_crdt::hash::blake3_hex;
use tessera_crdt::ids::{doc_endpoint_id, random_client_id, INDEX_DOC};
use tessera_crdt::keys::{self, ContentHash, DocId, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::room::Endpoint;
use tessera_crdt::token::{self, Claims, Scope, TokenError, WritePaths};
use tessera_crdt::vault::Index;
use worker::{Headers, Request, Response, WebSocketPair};

use crate::api::{selected_protocol, ApiError, Credentials};
use crate::object::VaultObject;
use crate::respond::{json, now_ms, with_cors};
use crate::route::{Matched, Route};
use crate::store::StoreError;
use tessera_crdt::api::{BodyLimit, FileMethod, MAX_JSON_BODY};

/// `?token=`, `?path=` and `?doc=`.
#[derive(Debug, Default)]
struct Params {
    token: Option<String>,
    path: Option<String>,
    doc: Option<String>,
}

fn params(req: &Request) -> Params {
    let mut p = Params::default();
    if let Ok(url) = req.url() {
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "token" => p.token = Some(v.into_owned()),
                "path" => p.path = Some(v.into_owned()),
                "doc" => p.doc = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    p
}

fn internal(e: worker::Error) -> ApiError {
    ApiError::unavailable(e.to_string())
}

/// Reads at most the route's limit of body bytes, as a stream: the read
/// stops at the first byte over it, whatever Content-Length said.
pub(crate) async fn read_limited(req: &mut Request, limit: BodyLimit) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let max = limit.max();
    let mut stream = req.stream().map_err(internal)?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(internal)?;
        if (out.len() + chunk.len()) as u64 > max {
            return Err(limit.refusal());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads a small JSON body within the route's limit; errors quote only an excerpt.
async fn read_json<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    limit: BodyLimit,
) -> Result<T, ApiError> {
    let bytes = read_limited(req, limit).await?;
    serde_json::from_slice(&bytes).map_err(ApiError::bad_body)
}

fn content_hash(raw: &str) -> Result<ContentHash, ApiError> {
    ContentHash::new(raw).map_err(|_| {
        ApiError::bad_request(
            "bad-hash",
            "attachments are named by their blake3 hash: 64 lowercase hex digits",
        )
    })
}

/// Serves one request routed to this vault.
pub(crate) async fn handle(
    obj: &VaultObject,
    mut req: Request,
    matched: Matched,
) -> Result<Response, ApiError> {
    let origin = req.headers().get("Origin").ok().flatten();
    let origin = origin.as_deref();
    let raw_vault = matched.vault.clone().unwrap_or_default();
    let vault = VaultId::new(&raw_vault)
        .map_err(|e| ApiError::bad_request("bad-vault-id", e.to_string()))?;
    let p = params(&req);
    match matched.route {
        Route::VaultSocket => upgrade(obj, &req, &vault, &p, Endpoint::Vault).await,
        Route::DocSocket(doc) => {
            // `index` and note ids name the vault's docs; any other name is
            // a free-form doc of a stock Yjs app, in its own namespace.
            let doc = doc_endpoint_id(&doc)
                .map_err(|e| ApiError::bad_request("bad-doc-id", e.to_string()))?;
            upgrade(obj, &req, &vault, &p, Endpoint::Doc(doc)).await
        }
        Route::ListFiles => {
            authorize(obj, &req, &vault, &p, Scope::Read).await?;
            crate::files::handle(obj, &mut req, &vault, None).await
        }
        Route::File { path, method } => {
            let needed = if method == FileMethod::Get {
                Scope::Read
            } else {
                Scope::Write
            };
            let claims = authorize(obj, &req, &vault, &p, needed).await?;
            tessera_crdt::api::check_file_write(&claims, &path, method)?;
            crate::files::handle(obj, &mut req, &vault, Some((path, method))).await
        }
        Route::PutBlob(hash) => {
            authorize(obj, &req, &vault, &p, Scope::Write).await?;
            let hash = content_hash(&hash)?;
            let max = obj
                .with(|l| l.room.config().limits.max_blob_bytes)
                .unwrap_or(0);
            // The front door checked the declared length; this holds while reading.
            let bytes = read_limited(&mut req, BodyLimit::Blob(max)).await?;
            if blake3_hex(&bytes) != hash.as_str() {
                return Err(ApiError::new(
                    422,
                    "hash-mismatch",
                    "the uploaded bytes do not hash to the name in the URL",
                ));
            }
            let created = obj
                .store()?
                .put_blob(&keys::blob_key(&vault, &hash), bytes)
                .await
                .map_err(|e| ApiError::unavailable(format!("storage failed: {e}")))?;
            json(
                &serde_json::json!({ "stored": true }),
                if created { 201 } else { 200 },
                origin,
            )
            .map_err(internal)
        }
        Route::GetBlob { hash, head } => {
            authorize(obj, &req, &vault, &p, Scope::Read).await?;
            let hash = content_hash(&hash)?;
            let key = keys::blob_key(&vault, &hash);
            let store = obj.store()?;
            let found = if head {
                store.exists(&key).await.map(|e| e.then(Vec::new))
            } else {
                store.get(&key).await.map(|o| o.map(|(b, _)| b))
            }
            .map_err(|e| ApiError::unavailable(format!("storage failed: {e}")))?;
            let Some(bytes) = found else {
                return Err(ApiError::not_found(
                    "no attachment with this hash in the vault",
                ));
            };
            let headers = Headers::new();
            headers
                .set("Content-Type", "application/octet-stream")
                .map_err(internal)?;
            headers
                .set("Cache-Control", "private, max-age=31536000, immutable")
                .map_err(internal)?;
            let resp = if head {
                Response::empty().map_err(internal)?
            } else {
                Response::from_bytes(bytes).map_err(internal)?
            };
            Ok(with_cors(resp.with_headers(headers), origin))
        }
        Route::Mint => {
            authorize(obj, &req, &vault, &p, Scope::Admin).await?;
            let body: MintRequest = read_json(&mut req, BodyLimit::Json(MAX_JSON_BODY)).await?;
            let key = obj.token_key()?;
            let claims = Claims::new(
                vault.as_str(),
                body.scope,
                now_ms() / 1000,
                body.ttl_secs,
                body.device,
            )
            .and_then(|c| match body.paths {
                Some(paths) => c.with_paths(
                    WritePaths::new(paths).map_err(|e| TokenError::BadClaims(e.into()))?,
                ),
                None => Ok(c),
            })
            .map_err(|e| ApiError::bad_request("bad-request", e.to_string()))?;
            obj.store()?
                .update_registry(&vault, |r| {
                    r.record(&claims);
                    true
                })
                .await
                .map_err(|e| ApiError::unavailable(format!("could not record the token: {e}")))?;
            let token = token::mint(&key, &claims);
            json(
                &serde_json::json!({ "token": token, "id": claims.id, "claims": claims }),
                200,
                origin,
            )
            .map_err(internal)
        }
        Route::ListTokens => {
            authorize(obj, &req, &vault, &p, Scope::Admin).await?;
            let store = obj.store()?;
            let registry = store
                .read_registry(&vault)
                .await
                .map_err(|e| ApiError::unavailable(e.to_string()))?;
            let revoked = obj.with(|l| l.revoked.clone()).unwrap_or_default();
            json(
                &serde_json::json!({ "tokens": registry.list(&revoked) }),
                200,
                origin,
            )
            .map_err(internal)
        }
        Route::Revoke => {
            authorize(obj, &req, &vault, &p, Scope::Admin).await?;
            let body: RevokeRequest = read_json(&mut req, BodyLimit::Json(MAX_JSON_BODY)).await?;
            let id = body.token_id;
            obj.store()?
                .update_manifest(&vault, |m| {
                    m.revoked.revoke(&id);
                })
                .await
                .map_err(|e| {
                    ApiError::unavailable(format!("could not record the revocation: {e}"))
                })?;
            let effects = obj
                .with(|live| {
                    live.revoked.revoke(&id);
                    live.room.revoke(&id)
                })
                .unwrap_or_default();
            obj.apply(effects).await;
            json(&serde_json::json!({ "revoked": true }), 200, origin).map_err(internal)
        }
        Route::History => {
            authorize(obj, &req, &vault, &p, Scope::Read).await?;
            let (doc, path) = resolve_doc(obj, p.doc.as_deref(), p.path.as_deref()).await?;
            let head = obj
                .store()?
                .read_head(&vault, &doc)
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
            json(
                &serde_json::json!({ "doc": doc.as_str(), "path": path, "snapshots": snapshots }),
                200,
                origin,
            )
            .map_err(internal)
        }
        Route::Restore => {
            let claims = authorize(obj, &req, &vault, &p, Scope::Write).await?;
            let body: RestoreRequest = read_json(&mut req, BodyLimit::Json(MAX_JSON_BODY)).await?;
            let (doc, _) = resolve_doc(obj, body.doc.as_deref(), body.path.as_deref()).await?;
            if claims.is_path_limited() {
                let state = doc_state(obj, INDEX_DOC).await?;
                let index = Index::from_update(0, &state)
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
                tessera_crdt::api::check_write_doc(&claims, &index, doc.as_str())?;
            }
            let hash = ContentHash::new(&body.snapshot).map_err(|_| {
                ApiError::bad_request(
                    "bad-request",
                    "snapshot must be a 64-hex-digit id from the history",
                )
            })?;
            let old = match obj.store()?.read_snapshot(&vault, &doc, &hash).await {
                Ok(s) => s,
                Err(StoreError::Missing(_)) => {
                    return Err(ApiError::not_found("no such version of this note"))
                }
                Err(e) => return Err(ApiError::unavailable(e.to_string())),
            };
            let text = Note::from_update(0, &old)
                .map_err(|e| ApiError::unavailable(e.to_string()))?
                .text();
            let current = doc_state(obj, doc.as_str()).await?;
            let update = Note::from_update(random_client_id(), &current)
                .and_then(|mut note| note.import_text(&text))
                .map_err(|e| ApiError::unavailable(e.to_string()))?;
            if let Some(update) = update {
                let now = now_ms();
                let effects = obj
                    .with(|live| live.room.server_write(doc.as_str(), &update, now))
                    .ok_or_else(|| ApiError::unavailable("the vault is not open"))?
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
                obj.apply(effects).await;
            }
            json(
                &serde_json::json!({ "restored": true, "doc": doc.as_str() }),
                200,
                origin,
            )
            .map_err(internal)
        }
        Route::DeleteVault => {
            authorize(obj, &req, &vault, &p, Scope::Admin).await?;
            Err(ApiError::new(
                501,
                "not-implemented",
                "deleting a vault is not available on the Cloudflare Worker yet; \
                 delete its Durable Object storage and R2 prefix with wrangler",
            ))
        }
        Route::CreateVault => {
            let existed = obj
                .store()?
                .exists(&keys::manifest_key(&vault))
                .await
                .map_err(|e| ApiError::unavailable(format!("storage failed: {e}")))?;
            authorize_as(obj, &req, &vault, &p, Scope::Admin, true).await?;
            json(
                &serde_json::json!({ "vault": vault.as_str(), "created": !existed }),
                if existed { 200 } else { 201 },
                origin,
            )
            .map_err(internal)
        }
        Route::Healthz
        | Route::Readyz
        | Route::Metrics
        | Route::MethodNotAllowed
        | Route::NotFound => Err(ApiError::not_found(
            "no such endpoint; see docs/http-api.md",
        )),
    }
}

/// Opens the vault (booting the room) and checks the caller's token for `needed`.
async fn authorize(
    obj: &VaultObject,
    req: &Request,
    vault: &VaultId,
    p: &Params,
    needed: Scope,
) -> Result<Claims, ApiError> {
    authorize_as(obj, req, vault, p, needed, false).await
}

/// [`authorize`], creating the vault first when `create` (the admin's
/// `POST /v1/vaults/{vault}`; the front door checked the admin token).
async fn authorize_as(
    obj: &VaultObject,
    req: &Request,
    vault: &VaultId,
    p: &Params,
    needed: Scope,
    create: bool,
) -> Result<Claims, ApiError> {
    obj.open(vault, create).await?;
    let key = obj.token_key()?;
    let header = |name| req.headers().get(name).ok().flatten();
    let (authorization, protocols) = (header("Authorization"), header("Sec-WebSocket-Protocol"));
    let token = Credentials {
        query: p.token.as_deref(),
        authorization: authorization.as_deref(),
        protocols: protocols.as_deref(),
    }
    .token();
    let revoked = obj.with(|l| l.revoked.clone()).unwrap_or_default();
    let token = token.ok_or(tessera_crdt::token::TokenError::Missing)?;
    let claims = token::authorize(
        &key,
        &revoked,
        &token,
        vault.as_str(),
        needed,
        now_ms() / 1000,
    )?;
    obj.with(|l| l.requests.admit(&claims, now_ms()))
        .unwrap_or(Ok(()))?;
    Ok(claims)
}

/// Accepts a hibernatable WebSocket and joins its session to the room.
async fn upgrade(
    obj: &VaultObject,
    req: &Request,
    vault: &VaultId,
    p: &Params,
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let claims = authorize(obj, req, vault, p, Scope::Read).await?;
    let is_ws = req
        .headers()
        .get("Upgrade")
        .ok()
        .flatten()
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_ws {
        return Err(ApiError::bad_request(
            "bad-request",
            "this endpoint is a WebSocket: send an Upgrade: websocket request",
        ));
    }
    let session = obj
        .log()?
        .next_session_id()
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let pair = WebSocketPair::new().map_err(internal)?;
    obj.state.accept_web_socket(&pair.server);
    let expiry_ms = claims.exp.map(|exp| exp.saturating_mul(1000));
    pair.server
        .serialize_attachment(crate::object::attachment(session, expiry_ms))
        .map_err(internal)?;
    let now = now_ms();
    let effects = obj
        .with(|live| {
            live.sockets.insert(session, pair.server.clone());
            live.room.join_claims(session, endpoint, &claims, now)
        })
        .ok_or_else(|| ApiError::unavailable("the vault is not open"))?;
    obj.save_sessions();
    obj.apply(effects).await;
    record_seen(obj, vault, &claims);
    let mut resp = Response::from_websocket(pair.client).map_err(internal)?;
    // A browser fails the socket unless one of its offered subprotocols is selected.
    let offered = req.headers().get("Sec-WebSocket-Protocol").ok().flatten();
    if let Some(p) = selected_protocol(offered.as_deref()) {
        resp.headers_mut()
            .set("Sec-WebSocket-Protocol", p)
            .map_err(internal)?;
    }
    Ok(resp)
}

/// Stores the token's last-seen time in the registry, coarsely (at most
/// once per hour per token and object instance). Failing only logs.
fn record_seen(obj: &VaultObject, vault: &VaultId, claims: &Claims) {
    let now = now_ms() / 1000;
    let due = obj
        .with(|live| {
            let due = live.seen.get(&claims.id).is_none_or(|t| {
                now.saturating_sub(*t) >= tessera_crdt::token::LAST_SEEN_GRANULARITY_SECS
            });
            if due {
                live.seen.insert(claims.id.clone(), now);
            }
            due
        })
        .unwrap_or(false);
    if !due {
        return;
    }
    // In the background: the upgrade answers without waiting for R2.
    if let Ok(store) = obj.store() {
        let (vault, claims) = (vault.clone(), claims.clone());
        worker::wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = store
                .update_registry(&vault, |r| r.touch(&claims, now))
                .await
            {
                worker::console_log!("tessera: could not record a token's last-seen time: {e}");
            }
        });
    }
}

/// Finds a note's doc id from `doc` or `path` (through the index).
async fn resolve_doc(
    obj: &VaultObject,
    doc: Option<&str>,
    path: Option<&str>,
) -> Result<(DocId, Option<String>), ApiError> {
    if let Some(doc) = doc {
        return Ok((
            DocId::new(doc).map_err(|e| ApiError::bad_request("bad-doc-id", e.to_string()))?,
            None,
        ));
    }
    let path = path.ok_or_else(|| {
        ApiError::bad_request(
            "bad-request",
            "give the note's path as ?path= (or its id as ?doc=)",
        )
    })?;
    let state = doc_state(obj, INDEX_DOC).await?;
    let index = Index::from_update(0, &state).map_err(|e| ApiError::unavailable(e.to_string()))?;
    let entry = index
        .lookup(path)
        .ok_or_else(|| ApiError::not_found(format!("no note at {path}")))?;
    let doc = DocId::new(&entry.id).map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok((doc, Some(path.to_owned())))
}

/// A doc's merged state, loading it if needed.
async fn doc_state(obj: &VaultObject, doc: &str) -> Result<Vec<u8>, ApiError> {
    let now = now_ms();
    let effects = obj
        .with(|live| live.room.open(doc, now))
        .unwrap_or_default();
    obj.apply(effects).await;
    // Another event may be draining the queue (and loading the doc): wait for it.
    for _ in 0..1000 {
        match obj.with(|live| (live.room.doc_state(doc), live.room.is_loading(doc))) {
            Some((Some(state), _)) => return Ok(state),
            Some((None, true)) => {
                worker::Delay::from(std::time::Duration::from_millis(10)).await;
            }
            _ => break,
        }
    }
    Err(ApiError::unavailable("the note could not be loaded"))
}

/// Body of `POST /v1/vaults/{vault}/tokens`.
#[derive(Debug, Deserialize)]
struct MintRequest {
    scope: Scope,
    ttl_secs: Option<u64>,
    device: Option<String>,
    /// Path prefixes a write token is limited to; absent: the whole vault.
    paths: Option<Vec<String>>,
}

/// Body of `POST /v1/vaults/{vault}/revoke`.
#[derive(Debug, Deserialize)]
struct RevokeRequest {
    token_id: String,
}

/// Body of `POST /v1/vaults/{vault}/restore`.
#[derive(Debug, Deserialize)]
struct RestoreRequest {
    path: Option<String>,
    doc: Option<String>,
    snapshot: String,
}
