//! The tokens minted for a vault: what `GET /v1/vaults/{vault}/tokens` and
//! `tessera-relay tokens list` show. Stored per vault under
//! [`crate::keys::tokens_key`].
//!
//! The registry is a record, not an authority: a token is valid because its
//! MAC verifies, whether or not it is listed (tokens minted offline by
//! `tessera-relay token`, or before the registry existed, join the list the
//! first time they connect). Revocation stays in the manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Claims, Revocations, Scope, WritePaths};

/// The registry format this code writes and reads.
pub const TOKEN_REGISTRY_FORMAT: u32 = 1;

/// Longest stored registry accepted (a record is ~300 bytes).
pub const MAX_TOKEN_REGISTRY_LEN: usize = 8 << 20;

/// Last-seen times are written at most this often per token (seconds): a
/// device that reconnects every minute must not cost a storage write each time.
pub const LAST_SEEN_GRANULARITY_SECS: u64 = 3600;

/// One minted token, without the token itself (which is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token id (the handle for revocation).
    pub id: String,
    /// Its scope.
    pub scope: Scope,
    /// The device label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Expiry, unix seconds; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Path prefixes of a path-limited write token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<WritePaths>,
    /// Last connection, unix seconds, to within [`LAST_SEEN_GRANULARITY_SECS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
}

impl TokenRecord {
    fn of(claims: &Claims) -> TokenRecord {
        TokenRecord {
            id: claims.id.clone(),
            scope: claims.scope,
            device: claims.device.clone(),
            iat: claims.iat,
            exp: claims.exp,
            paths: claims.paths.clone(),
            last_seen: None,
        }
    }
}

/// A record as listed: with whether the token is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenListing {
    /// The record.
    #[serde(flatten)]
    pub record: TokenRecord,
    /// True once revoked.
    pub revoked: bool,
}

/// A stored registry that cannot be used.
#[derive(Debug, Error)]
pub enum TokenRegistryError {
    /// Over [`MAX_TOKEN_REGISTRY_LEN`].
    #[error("the token registry is over {MAX_TOKEN_REGISTRY_LEN} bytes; it is corrupt")]
    TooLong,
    /// Not its JSON, or another format.
    #[error("the token registry is not valid: {0}")]
    Invalid(String),
}

/// Every token minted for (or seen in) one vault, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRegistry {
    format: u32,
    #[serde(default)]
    tokens: BTreeMap<String, TokenRecord>,
}

impl TokenRegistry {
    /// Records a newly minted token.
    pub fn record(&mut self, claims: &Claims) {
        self.tokens
            .entry(claims.id.clone())
            .or_insert_with(|| TokenRecord::of(claims));
    }

    /// Notes that `claims`' token connected at `now` (unix seconds),
    /// recording the token if it was minted elsewhere. Returns true when the
    /// registry changed enough to be worth storing (a new record, or a
    /// last-seen time older than [`LAST_SEEN_GRANULARITY_SECS`]).
    pub fn touch(&mut self, claims: &Claims, now: u64) -> bool {
        let record = self
            .tokens
            .entry(claims.id.clone())
            .or_insert_with(|| TokenRecord::of(claims));
        let due = record
            .last_seen
            .is_none_or(|seen| now.saturating_sub(seen) >= LAST_SEEN_GRANULARITY_SECS);
        if due {
            record.last_seen = Some(now);
        }
        due
    }

    /// True when a touch at `now` would be stored (see [`TokenRegistry::touch`]):
    /// lets a shell skip reading the registry between writes.
    pub fn touch_due(last_written: Option<u64>, now: u64) -> bool {
        last_written.is_none_or(|t| now.saturating_sub(t) >= LAST_SEEN_GRANULARITY_SECS)
    }

    /// Every record, newest first, with its revocation flag.
    pub fn list(&self, revoked: &Revocations) -> Vec<TokenListing> {
        let mut out: Vec<TokenListing> = self
            .tokens
            .values()
            .map(|r| TokenListing {
                record: r.clone(),
                revoked: revoked.is_revoked(&r.id),
            })
            .collect();
        out.sort_by(|a, b| (b.record.iat, &a.record.id).cmp(&(a.record.iat, &b.record.id)));
        out
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The registry as JSON.
    pub fn encode(&self) -> Vec<u8> {
        let mut r = self.clone();
        r.format = TOKEN_REGISTRY_FORMAT;
        // Strings, integers and unit enums: serialising cannot fail.
        serde_json::to_vec(&r).expect("token registry serialises to JSON")
    }

    /// Parses a stored registry.
    pub fn decode(bytes: &[u8]) -> Result<TokenRegistry, TokenRegistryError> {
        if bytes.len() > MAX_TOKEN_REGISTRY_LEN {
            return Err(TokenRegistryError::TooLong);
        }
        let r: TokenRegistry = serde_json::from_slice(bytes)
            .map_err(|e| TokenRegistryError::Invalid(e.to_string()))?;
        if r.format != TOKEN_REGISTRY_FORMAT {
            return Err(TokenRegistryError::Invalid(format!("format {}", r.format)));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(device: &str) -> Claims {
        Claims::new("notes", Scope::Write, 1_000, Some(60), Some(device.into())).unwrap()
    }

    #[test]
    fn minted_tokens_are_listed_newest_first_with_their_revocation() {
        let mut r = TokenRegistry::default();
        let (a, mut b) = (claims("laptop"), claims("phone"));
        b.iat = 2_000;
        b.exp = Some(3_000);
        r.record(&a);
        r.record(&b);
        let mut revoked = Revocations::default();
        revoked.revoke(&a.id);
        let list = r.list(&revoked);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].record.device.as_deref(), Some("phone"));
        assert!(!list[0].revoked && list[1].revoked);
        let back = TokenRegistry::decode(&r.encode()).unwrap();
        assert_eq!(back, {
            let mut x = r.clone();
            x.format = TOKEN_REGISTRY_FORMAT;
            x
        });
    }

    #[test]
    fn last_seen_is_written_at_most_once_per_granularity() {
        let mut r = TokenRegistry::default();
        let c = claims("laptop");
        assert!(r.touch(&c, 10_000), "an unknown token is recorded");
        assert!(
            !r.touch(&c, 10_000 + 60),
            "a minute later: not worth a write"
        );
        assert!(r.touch(&c, 10_000 + LAST_SEEN_GRANULARITY_SECS));
        assert_eq!(
            r.list(&Revocations::default())[0].record.last_seen,
            Some(10_000 + LAST_SEEN_GRANULARITY_SECS)
        );
    }

    #[test]
    fn garbage_and_other_formats_are_refused() {
        assert!(TokenRegistry::decode(b"[]").is_err());
        assert!(TokenRegistry::decode(br#"{"format":2}"#).is_err());
    }
}
