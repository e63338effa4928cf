//! The Worker's front door: health, readiness and metrics answered here,
//! everything under `/v1/vaults/{vault}/` handed to that vault's Durable
//! Object (`idFromName(vault)`) — but only after the core's door
//! ([`api::admit`]) passed it: without a valid token for the vault and the
//! route's scope, or with a declared body over the route's limit, no Durable
//! Object is addressed and nothing in R2 is touched.

use tessera_crdt::api::{self, Credentials, Door, Keys, Matched};
use tessera_crdt::token::TokenKey;
use worker::{event, Context, Env, Headers, Request, Response};

use crate::api::ApiError;
use crate::config::WorkerConfig;
use crate::object::{BUCKET, SECRET};
use crate::respond::{error_response, json, preflight, with_cors};
use crate::route::{route, Route};
use crate::store::Store;

/// The Durable Object namespace binding.
pub const VAULTS: &str = "VAULTS";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let origin = req.headers().get("Origin").ok().flatten();
    let origin = origin.as_deref();
    let method = req.method();
    if method.as_ref() == "OPTIONS" {
        return preflight(origin);
    }
    let matched = route(method.as_ref(), &req.path());
    let result = match &matched.route {
        Route::Healthz => return text("ok", 200, origin),
        Route::Readyz => return readyz(&env, origin).await,
        Route::Metrics => return metrics(origin),
        Route::MethodNotAllowed => {
            return Ok(with_cors(Response::empty()?.with_status(405), origin))
        }
        Route::NotFound => Err(ApiError::not_found(
            "no such endpoint; see docs/http-api.md",
        )),
        _ => forward(req, &env, &matched).await,
    };
    match result {
        Ok(resp) => Ok(resp),
        Err(e) => error_response(&e, origin),
    }
}

/// Runs the door on the request line and headers, then hands the request
/// to the vault's Durable Object.
async fn forward(req: Request, env: &Env, matched: &Matched) -> Result<Response, ApiError> {
    let secret = env.secret(SECRET).map_err(|_| {
        ApiError::unavailable(format!(
            "the worker has no {SECRET}; set it with `npx wrangler secret put {SECRET}`"
        ))
    })?;
    let key = TokenKey::from_secret(secret.to_string().as_bytes());
    let config = WorkerConfig::from_vars(|name| env.var(name).ok().map(|v| v.to_string()))
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let query_token = req.url().ok().and_then(|url| {
        url.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    let header = |name| req.headers().get(name).ok().flatten();
    let (authorization, protocols) = (header("Authorization"), header("Sec-WebSocket-Protocol"));
    let door = Door {
        credentials: Credentials {
            query: query_token.as_deref(),
            authorization: authorization.as_deref(),
            protocols: protocols.as_deref(),
        },
        content_length: header("Content-Length").and_then(|v| v.parse().ok()),
    };
    let admitted = api::admit(
        matched,
        door,
        Keys::Tokens(&key),
        config.room.limits.max_blob_bytes,
        crate::respond::now_ms() / 1000,
    )?;
    let unavailable =
        |e: worker::Error| ApiError::unavailable(format!("the vault could not be opened: {e}"));
    let stub = env
        .durable_object(VAULTS)
        .and_then(|ns| ns.id_from_name(admitted.vault.as_str())?.get_stub())
        .map_err(unavailable)?;
    stub.fetch_with_request(req).await.map_err(unavailable)
}

fn text(body: &str, status: u16, origin: Option<&str>) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "text/plain; charset=utf-8")?;
    Ok(with_cors(
        Response::ok(body)?
            .with_status(status)
            .with_headers(headers),
        origin,
    ))
}

/// `GET /readyz`: R2 answers. Snapshot lag lives in each vault's object and
/// is not gathered here (see docs/deploy-cloudflare.md), so it reads 0.
async fn readyz(env: &Env, origin: Option<&str>) -> worker::Result<Response> {
    let storage = match env.bucket(BUCKET) {
        Ok(bucket) => match Store::new(bucket).ping().await {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        },
        Err(e) => format!("error: no R2 binding {BUCKET}: {e}"),
    };
    let ready = storage == "ok";
    let body = serde_json::json!({
        "ready": ready,
        "storage": storage,
        "snapshot_lag_ms": 0,
        "docs_dirty": 0,
    });
    json(&body, if ready { 200 } else { 503 }, origin)
}

/// `GET /metrics`: what one isolate can say. Per-vault counters live in the
/// Durable Objects; use Cloudflare's analytics for traffic.
fn metrics(origin: Option<&str>) -> worker::Result<Response> {
    let body = format!(
        "# HELP tessera_build_info Tessera version serving this request.\n\
         # TYPE tessera_build_info gauge\n\
         tessera_build_info{{version=\"{}\",shell=\"worker\"}} 1\n",
        tessera_crdt::version()
    );
    let headers = Headers::new();
    headers.set("Content-Type", "text/plain; version=0.0.4")?;
    Ok(with_cors(Response::ok(body)?.with_headers(headers), origin))
}
