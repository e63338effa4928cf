//! Tokens at the door, and the JSON error every refusal carries.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_crdt::keys::VaultId;
use tessera_crdt::token::{self, Claims, Scope, TokenError, TokenKey};

use crate::vault::VaultHandle;

/// An HTTP refusal: status, stable code, and a sentence for humans.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (see docs/http-api.md).
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 503: storage or the vault is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        let status = match e {
            TokenError::WrongVault | TokenError::InsufficientScope { .. } | TokenError::Revoked => {
                StatusCode::FORBIDDEN
            }
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, e.reason(), e.to_string())
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

/// Parses a vault id from a path segment.
pub fn vault_id(raw: &str) -> Result<VaultId, ApiError> {
    VaultId::new(raw).map_err(|e| ApiError::bad_request("bad-vault-id", e.to_string()))
}

/// The token from `?token=` or `Authorization: Bearer`.
pub fn token_from(query: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(t) = query.filter(|t| !t.is_empty()) {
        return Some(t.to_owned());
    }
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

impl Auth {
    /// Checks a token for `needed` on `vault`, including revocation.
    pub fn check(
        &self,
        token: Option<&str>,
        vault: &VaultHandle,
        needed: Scope,
        now_secs: u64,
    ) -> Result<Claims, ApiError> {
        match self {
            Auth::Disabled => Ok(Claims {
                vault: vault.id.to_string(),
                scope: Scope::Admin,
                iat: now_secs,
                exp: None,
                id: "insecure-no-auth".into(),
                device: None,
            }),
            Auth::Tokens(key) => {
                let token = token.ok_or(TokenError::Missing)?;
                let revoked = vault.revocations();
                Ok(token::authorize(
                    key,
                    &revoked,
                    token,
                    vault.id.as_str(),
                    needed,
                    now_secs,
                )?)
            }
        }
    }
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    crate::vault::wall_ms() / 1000
}
