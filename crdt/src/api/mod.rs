//! The HTTP request pipeline both shells run: the route table, the refusal
//! type with its status mapping, and the door every vault request passes
//! before anything is read or opened.
//!
//! [`admit`] decides from the method, path and headers alone — the route,
//! the scope it needs, the token's MAC, expiry and vault, and how many body
//! bytes may be read. A shell calls it first and touches nothing (no vault
//! opened, no body byte read, no file, object or Durable Object) unless it
//! returns `Ok`. Revocation is checked after, against the opened vault's
//! list: only holders of a validly signed token get that far.

mod credentials;
mod error;
mod paths;
mod route;

pub use credentials::{selected_protocol, Credentials, SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX};
pub use error::{cors_origin, excerpt, ApiError, CORS_ORIGINS, MAX_MESSAGE_BYTES};
pub use paths::{check_file_write, check_write_doc, check_write_path, PATH_NOT_ALLOWED};
pub use route::{route, FileMethod, Matched, Route};

use crate::keys::VaultId;
use crate::token::{self, Claims, Scope, TokenError, TokenKey};

/// The largest JSON body an admin or restore route reads, in bytes. Their
/// bodies are a few short fields; anything bigger is refused unread.
pub const MAX_JSON_BODY: u64 = 16 << 10;

/// How much of a request body a route may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// The route takes no body; none is read.
    None,
    /// A small JSON document of at most this many bytes.
    Json(u64),
    /// An attachment of at most this many bytes, read as a stream.
    Blob(u64),
    /// A note's text of at most this many bytes.
    Text(u64),
}

impl BodyLimit {
    /// The most bytes that may be read (0 for [`BodyLimit::None`]).
    pub fn max(self) -> u64 {
        match self {
            BodyLimit::None => 0,
            BodyLimit::Json(n) | BodyLimit::Blob(n) | BodyLimit::Text(n) => n,
        }
    }

    /// The refusal for a body over the limit.
    pub fn refusal(self) -> ApiError {
        match self {
            BodyLimit::Blob(n) => ApiError::too_large(n),
            other => ApiError::body_too_large(other.max()),
        }
    }

    /// Checks a declared `Content-Length` before a byte is read.
    pub fn check_declared(self, content_length: Option<u64>) -> Result<(), ApiError> {
        match content_length {
            Some(n) if n > self.max() && self != BodyLimit::None => Err(self.refusal()),
            _ => Ok(()),
        }
    }
}

impl Route {
    /// The scope a token needs for this route; `None` for routes without a vault.
    pub fn scope(&self) -> Option<Scope> {
        match self {
            Route::VaultSocket
            | Route::DocSocket(_)
            | Route::GetBlob { .. }
            | Route::History
            | Route::ListFiles
            | Route::File {
                method: FileMethod::Get,
                ..
            } => Some(Scope::Read),
            Route::PutBlob(_) | Route::Restore | Route::File { .. } => Some(Scope::Write),
            Route::CreateVault
            | Route::DeleteVault
            | Route::Mint
            | Route::ListTokens
            | Route::Revoke => Some(Scope::Admin),
            Route::Healthz
            | Route::Readyz
            | Route::Metrics
            | Route::MethodNotAllowed
            | Route::NotFound => None,
        }
    }

    /// How much body this route reads, given the attachment limit.
    pub fn body_limit(&self, max_blob_bytes: u64) -> BodyLimit {
        match self {
            Route::PutBlob(_) => BodyLimit::Blob(max_blob_bytes),
            Route::Mint | Route::Revoke | Route::Restore | Route::DeleteVault => {
                BodyLimit::Json(MAX_JSON_BODY)
            }
            Route::File {
                method: FileMethod::Put | FileMethod::Append,
                ..
            } => BodyLimit::Text(crate::files::MAX_TEXT_BODY),
            _ => BodyLimit::None,
        }
    }
}

/// How a shell checks tokens.
#[derive(Clone)]
pub enum Keys<'a> {
    /// Tokens are required and verified with this key.
    Tokens(&'a TokenKey),
    /// Authentication is off (`--insecure-no-auth`): everyone is admin.
    Disabled,
}

/// A vault request that passed the door.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The endpoint.
    pub route: Route,
    /// The validated vault id.
    pub vault: VaultId,
    /// The token's claims (MAC, expiry, vault and scope checked; revocation not yet).
    pub claims: Claims,
    /// How much body may be read.
    pub body: BodyLimit,
}

/// What a request carries that the door looks at: nothing of the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Door<'a> {
    /// Where the token may be: query, `Authorization`, subprotocols.
    pub credentials: Credentials<'a>,
    /// The declared `Content-Length`, if any.
    pub content_length: Option<u64>,
}

/// Classifies a vault request and checks its token, before anything is read.
///
/// The vault id's syntax is checked first (pure: a malformed id names no
/// vault, so `bad-vault-id` tells the client more than a token refusal
/// would), then the token, then the declared body length: a request without
/// a valid token costs nothing but this call.
pub fn admit(
    matched: &Matched,
    door: Door<'_>,
    keys: Keys<'_>,
    max_blob_bytes: u64,
    now_secs: u64,
) -> Result<Admitted, ApiError> {
    let (Some(needed), Some(raw_vault)) = (matched.route.scope(), matched.vault.as_deref()) else {
        return Err(ApiError::not_found(
            "no such endpoint; see docs/http-api.md",
        ));
    };
    let vault = VaultId::new(raw_vault)
        .map_err(|e| ApiError::bad_request("bad-vault-id", e.to_string()))?;
    let claims = match keys {
        Keys::Tokens(key) => {
            let token = door.credentials.token().ok_or(TokenError::Missing)?;
            token::verify(key, &token, raw_vault, needed, now_secs)?
        }
        Keys::Disabled => Claims {
            vault: raw_vault.to_owned(),
            scope: Scope::Admin,
            iat: now_secs,
            exp: None,
            id: crate::token::NO_AUTH_ID.into(),
            device: None,
            paths: None,
        },
    };
    let body = matched.route.body_limit(max_blob_bytes);
    body.check_declared(door.content_length)?;
    Ok(Admitted {
        route: matched.route.clone(),
        vault,
        claims,
        body,
    })
}

/// Why a socket is closed (with 4401) when its token expires.
pub const EXPIRED_REASON: &str = "the access token expired; reconnect with a fresh token";

/// Seconds from `now_secs` until an open socket authenticated by `claims`
/// must be closed, or `None` for a token that never expires. A socket never
/// outlives its token: 0 means close now.
pub fn socket_deadline(claims: &Claims, now_secs: u64) -> Option<u64> {
    claims.exp.map(|exp| exp.saturating_sub(now_secs))
}

#[cfg(test)]
#[path = "../tests/api.rs"]
mod tests;
