//! The door in axum terms: [`Authed`] runs the core's [`api::admit`] on the
//! request line and headers (token MAC, expiry, vault, scope, declared body
//! length) before a vault is opened or a body byte is read, and the JSON
//! error every refusal carries.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use tessera_crdt::api::{self, BodyLimit, Credentials, Door, Keys};
use tessera_crdt::token::{Claims, TokenError, TokenKey};

use super::AppState;
use crate::vault::VaultHandle;

/// An HTTP refusal: the core's [`api::ApiError`], answerable by axum.
#[derive(Debug)]
pub struct ApiError(pub api::ApiError);

impl ApiError {
    /// Builds an error.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError(api::ApiError::new(status, code, message))
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError(api::ApiError::bad_request(code, message))
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError(api::ApiError::not_found(message))
    }

    /// 503: storage or the vault is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError(api::ApiError::unavailable(message))
    }

    /// The stable code (for metrics).
    pub fn code(&self) -> &'static str {
        self.0.code
    }
}

impl From<api::ApiError> for ApiError {
    fn from(e: api::ApiError) -> Self {
        ApiError(e)
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error": self.0.code, "message": self.0.message });
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// Tokens are required and verified with this key.
    Tokens(TokenKey),
    /// `--insecure-no-auth`: everyone is admin of every vault.
    Disabled,
}

impl Auth {
    fn keys(&self) -> Keys<'_> {
        match self {
            Auth::Tokens(k) => Keys::Tokens(k),
            Auth::Disabled => Keys::Disabled,
        }
    }
}

/// A request that passed the door: its vault (opened only after the token
/// checked out, and only if an admin created it), the token's claims
/// (revocation included) and how much body it may read.
pub struct Authed {
    /// The vault.
    pub vault: VaultHandle,
    /// The token's claims.
    pub claims: Claims,
    /// The route's body limit.
    pub body: BodyLimit,
    /// The endpoint, as the core matched it.
    pub route: api::Route,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let matched = api::route(parts.method.as_str(), parts.uri.path());
        let query_token = query_token(&parts.uri);
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let door = Door {
            credentials: Credentials {
                query: query_token.as_deref(),
                authorization: header(header::AUTHORIZATION),
                protocols: header(header::SEC_WEBSOCKET_PROTOCOL),
            },
            content_length: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        };
        let admitted = api::admit(
            &matched,
            door,
            state.auth.keys(),
            state.limits.max_blob_bytes,
            now_secs(),
        )
        .inspect_err(|e| state.metrics.error(e.code))?;
        let unavailable = |e| ApiError::unavailable(format!("the vault could not be opened: {e}"));
        let vault = if admitted.route == api::Route::CreateVault {
            state
                .vaults
                .create(&admitted.vault)
                .await
                .map_err(unavailable)?
        } else {
            state
                .vaults
                .get_existing(&admitted.vault)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| api::ApiError::no_such_vault(admitted.vault.as_str()))?
        };
        if let Some(deleted) = vault.deleted_ms() {
            let purge = deleted.saturating_add(state.vault_grace_ms);
            return Err(api::ApiError::vault_deleted(admitted.vault.as_str(), purge).into());
        }
        vault
            .revocations()
            .check(&admitted.claims)
            .inspect_err(|e| state.metrics.error(e.reason()))?;
        vault
            .admit_request(&admitted.claims, crate::vault::wall_ms())
            .map_err(api::ApiError::from)
            .inspect_err(|e| state.metrics.error(e.code))?;
        Ok(Authed {
            vault,
            claims: admitted.claims,
            body: admitted.body,
            route: admitted.route,
        })
    }
}

/// `?token=` from the request URI, percent-decoded.
fn query_token(uri: &axum::http::Uri) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Q {
        token: Option<String>,
    }
    axum::extract::Query::<Q>::try_from_uri(uri).ok()?.0.token
}

/// Reads at most `limit` body bytes; more is refused without reading further.
pub async fn read_limited(body: Body, limit: BodyLimit) -> Result<bytes::Bytes, ApiError> {
    let max = usize::try_from(limit.max()).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| limit.refusal().into())
}

/// Reads a small JSON body within the route's limit; errors quote only an excerpt.
pub async fn read_json<T: DeserializeOwned>(body: Body, limit: BodyLimit) -> Result<T, ApiError> {
    let bytes = read_limited(body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| api::ApiError::bad_body(e).into())
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    crate::vault::wall_ms() / 1000
}
