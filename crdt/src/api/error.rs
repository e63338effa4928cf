//! Refusals as both shells word them: status, stable code, a sentence for
//! humans (docs/http-api.md).

use crate::token::TokenError;

/// An HTTP refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Seconds after which the request may succeed (`Retry-After`), for 429.
    pub retry_after_secs: Option<u64>,
}

/// The longest message a refusal carries, in bytes. Messages often quote
/// what the client sent (a serde error names the bad value): capping them
/// here, where every refusal is built, keeps a 300 MB body from coming back
/// in the error.
pub const MAX_MESSAGE_BYTES: usize = 256;

/// At most `max` bytes of `s`, cut at a character boundary, with `…` when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl ApiError {
    /// Builds an error; the message is cut to [`MAX_MESSAGE_BYTES`].
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.len() > MAX_MESSAGE_BYTES {
            excerpt(&message, MAX_MESSAGE_BYTES)
        } else {
            message
        };
        ApiError {
            status,
            code,
            message,
            retry_after_secs: None,
        }
    }

    /// 400 for a request body that is not the JSON the route takes.
    pub fn bad_body(e: impl std::fmt::Display) -> Self {
        Self::bad_request("bad-request", format!("the request body is not valid: {e}"))
    }

    /// 413: a request body over the route's limit.
    pub fn body_too_large(max: u64) -> Self {
        Self::new(
            413,
            "limit-exceeded",
            format!("this endpoint takes request bodies of at most {max} bytes"),
        )
    }

    /// 404: the vault was never created (vaults are made by an admin).
    pub fn no_such_vault(vault: &str) -> Self {
        Self::new(
            404,
            "vault-not-found",
            format!(
                "there is no vault {}; an admin creates vaults (`tessera-relay vault create`, \
                 or POST /v1/vaults/{{vault}} with an admin token)",
                excerpt(vault, 64)
            ),
        )
    }

    /// 410: an admin deleted the vault; it can be undeleted until `purge_ms`.
    pub fn vault_deleted(vault: &str, purge_ms: u64) -> Self {
        Self::new(
            410,
            "vault-deleted",
            format!(
                "vault {} was deleted by an admin and refuses all connections; its data is \
                 removed for good at {purge_ms} (unix ms) unless an admin runs \
                 `tessera-relay vault undelete` before then",
                excerpt(vault, 64)
            ),
        )
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not-found", message)
    }

    /// 503: storage or the vault is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "unavailable", message)
    }

    /// 413: an attachment over the limit.
    pub fn too_large(max: u64) -> Self {
        Self::new(
            413,
            "limit-exceeded",
            format!("attachments are limited to {max} bytes"),
        )
    }

    /// The JSON body every refusal carries.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.code, "message": self.message }).to_string()
    }
}

impl From<crate::rate::RateLimited> for ApiError {
    /// 429 `rate-limited` with `Retry-After`.
    fn from(e: crate::rate::RateLimited) -> Self {
        let retry = e.retry_after_secs;
        ApiError {
            retry_after_secs: Some(retry),
            ..ApiError::new(429, "rate-limited", e.to_string())
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        let status = match e {
            TokenError::WrongVault | TokenError::InsufficientScope { .. } | TokenError::Revoked => {
                403
            }
            _ => 401,
        };
        ApiError::new(status, e.reason(), e.to_string())
    }
}

/// Origins allowed to call the HTTP endpoints (the Obsidian apps).
pub const CORS_ORIGINS: [&str; 3] = [
    "app://obsidian.md",
    "capacitor://localhost",
    "http://localhost",
];

/// The `Access-Control-Allow-Origin` value for a request's `Origin`, if allowed.
pub fn cors_origin(origin: Option<&str>) -> Option<&'static str> {
    let origin = origin?;
    CORS_ORIGINS.into_iter().find(|o| *o == origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Scope;

    #[test]
    fn token_refusals_map_to_the_relays_statuses_and_codes() {
        let e = ApiError::from(TokenError::Missing);
        assert_eq!((e.status, e.code), (401, "token-missing"));
        let e = ApiError::from(TokenError::Revoked);
        assert_eq!((e.status, e.code), (403, "token-revoked"));
        let e = ApiError::from(TokenError::InsufficientScope {
            have: Scope::Read,
            need: Scope::Write,
        });
        assert_eq!((e.status, e.code), (403, "token-insufficient-scope"));
    }

    #[test]
    fn a_refusal_never_carries_more_than_a_short_excerpt_of_its_message() {
        let huge = "a".repeat(10 << 20);
        let e = ApiError::bad_body(format!("invalid value \"{huge}\""));
        assert!(e.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        assert!(e.body().len() < 512);
    }

    #[test]
    fn an_excerpt_cuts_at_a_character_boundary() {
        assert_eq!(excerpt("ééé", 3), "é…");
        assert_eq!(excerpt("short", 10), "short");
    }

    #[test]
    fn the_error_body_is_json_with_code_and_message() {
        let body = ApiError::not_found("no such thing").body();
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["error"], "not-found");
        assert_eq!(v["message"], "no such thing");
    }

    #[test]
    fn only_obsidian_origins_get_cors() {
        assert_eq!(
            cors_origin(Some("app://obsidian.md")),
            Some("app://obsidian.md")
        );
        assert_eq!(cors_origin(Some("https://evil.example")), None);
        assert_eq!(cors_origin(None), None);
    }
}
