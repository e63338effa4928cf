//! The HTTP and WebSocket front: routes, shared state, graceful shutdown.

pub mod admin;
pub mod auth;
pub mod files;
pub mod http;
pub mod tls;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use tessera_crdt::ids::doc_endpoint_id;
use tessera_crdt::limits::Limits;
use tessera_crdt::room::Endpoint;
use tower_http::cors::CorsLayer;

use crate::metrics::Metrics;
use crate::store::Store;
use crate::vault::Vaults;
use auth::{ApiError, Auth, Authed};

/// Initial read buffer of a WebSocket, in bytes. tungstenite allocates it
/// per socket and zero-fills it to capacity before every read, so all of it
/// is resident for as long as the socket lives: at 8 KiB it was half the
/// memory of an idle socket. Client frames are mostly tens of bytes (a step
/// 1, a keystroke's update); a larger frame reserves its whole length from
/// its header, so big frames still arrive in one piece.
const SOCKET_READ_BUFFER: usize = 1 << 10;

/// Bytes of queued frames tungstenite collects before writing them out.
/// Not allocated up front; writes are also flushed per batch (ws::run).
const SOCKET_WRITE_BUFFER: usize = 8 << 10;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Running vaults.
    pub vaults: Arc<Vaults>,
    /// Token checking.
    pub auth: Auth,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// Storage (blobs are read and written directly).
    pub store: Arc<dyn Store>,
    /// Input limits.
    pub limits: Limits,
    /// Frames queued per connection before it is dropped as too slow.
    pub send_queue: usize,
    /// `/readyz` fails beyond this snapshot lag.
    pub max_snapshot_lag: Duration,
    /// A deleted vault's data is removed this long after its deletion (ms).
    pub vault_grace_ms: u64,
}

/// The relay's routes.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(
            [
                "app://obsidian.md",
                "capacitor://localhost",
                "http://localhost",
            ]
            .map(HeaderValue::from_static),
        )
        .allow_methods([
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::HEAD,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            axum::http::header::IF_MATCH,
            axum::http::header::IF_NONE_MATCH,
        ])
        .expose_headers([axum::http::header::ETAG]);
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .route("/metrics", get(http::metrics))
        .route(
            "/v1/vaults/{vault}",
            post(http::create_vault).delete(admin::delete_vault),
        )
        .route("/v1/vaults/{vault}/ws", get(vault_socket))
        .route("/v1/vaults/{vault}/docs/{doc}", get(doc_socket))
        .route(
            "/v1/vaults/{vault}/blobs/{hash}",
            put(http::put_blob).get(http::get_blob).head(http::get_blob),
        )
        .route(
            "/v1/vaults/{vault}/tokens",
            post(http::mint).get(http::list_tokens),
        )
        .route("/v1/vaults/{vault}/revoke", post(http::revoke))
        .route("/v1/vaults/{vault}/history", get(http::history))
        .route("/v1/vaults/{vault}/restore", post(http::restore))
        .route("/v1/vaults/{vault}/files", get(files::list))
        .route(
            "/v1/vaults/{vault}/files/{*path}",
            get(files::file)
                .put(files::file)
                .post(files::file)
                .delete(files::file),
        )
        .fallback(http::not_found)
        .layer(cors)
        .with_state(state)
}

/// `GET /v1/vaults/{vault}/ws`: the multiplexed vault endpoint.
async fn vault_socket(
    State(state): State<AppState>,
    authed: Authed,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    upgrade_socket(state, authed, Endpoint::Vault, upgrade)
}

/// `GET /v1/vaults/{vault}/docs/{doc}`: the y-websocket doc endpoint.
async fn doc_socket(
    State(state): State<AppState>,
    Path((_, doc)): Path<(String, String)>,
    authed: Authed,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // `index` and note ids name the vault's docs; any other name is a
    // free-form doc of a stock Yjs app, in its own namespace.
    let doc =
        doc_endpoint_id(&doc).map_err(|e| ApiError::bad_request("bad-doc-id", e.to_string()))?;
    upgrade_socket(state, authed, Endpoint::Doc(doc), upgrade)
}

fn upgrade_socket(
    state: AppState,
    authed: Authed,
    endpoint: Endpoint,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Authed { vault, claims, .. } = authed;
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_request("bad-request", format!("this endpoint is a WebSocket: {e}"))
    })?;
    // The token registry's last-seen time: coarse, written in the background.
    let now = auth::now_secs();
    if matches!(state.auth, auth::Auth::Tokens(_)) && vault.seen_due(&claims.id, now) {
        let (store, id, seen) = (state.store.clone(), vault.id.clone(), claims.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::vault::record_seen(store.as_ref(), &id, &seen, now).await {
                tracing::warn!(vault = %id, error = %e, "could not record a token's last-seen time");
            }
        });
    }
    let (queue, metrics) = (state.send_queue, state.metrics.clone());
    // tungstenite's default 128 KiB read buffer is allocated and filled per
    // socket: 10k idle sockets held 1.4 GB (see SOCKET_READ_BUFFER).
    // The plugin offers `tessera` beside its token; a browser fails the
    // socket unless the server selects one of the offered subprotocols.
    Ok(upgrade
        .protocols([tessera_crdt::api::SUBPROTOCOL])
        .read_buffer_size(SOCKET_READ_BUFFER)
        .write_buffer_size(SOCKET_WRITE_BUFFER)
        .max_message_size(state.limits.max_frame_bytes)
        .max_frame_size(state.limits.max_frame_bytes)
        .on_upgrade(move |socket| ws::run(socket, vault, endpoint, claims, queue, metrics)))
}
