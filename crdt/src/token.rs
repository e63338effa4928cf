//! Access tokens: minted by an admin, verified by the relay and the worker.
//!
//! A token is `v1.<payload>.<mac>`, both parts base64url without padding.
//! The payload is the JSON of [`Claims`]; the MAC is a 32-byte blake3 keyed
//! hash over the ASCII bytes `v1.<payload>` under a key derived from the
//! server secret (see [`TokenKey`]).
//!
//! [`verify`] checks, in this order: presence and length, structure and
//! version, MAC, payload, expiry, vault, scope. The MAC is checked before the
//! payload is decoded so that JSON from an unauthenticated party is never
//! parsed. Revocation needs state the verifier does not hold, so it is a
//! separate step ([`Revocations::check`]); [`authorize`] does both.
//!
//! Errors never carry any part of the token, so they can be logged and sent
//! as close reasons as they are.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::ids::{random_bytes, validate_vault_id, IdError};

mod paths;
mod registry;
pub use paths::{WritePaths, WritePathsError, MAX_PATH_PREFIXES, MAX_PATH_PREFIX_BYTES};
pub use registry::{
    TokenListing, TokenRecord, TokenRegistry, TokenRegistryError, LAST_SEEN_GRANULARITY_SECS,
};

/// Longest token [`verify`] looks at. Real tokens are a few hundred bytes;
/// the limit bounds the work an unauthenticated caller can cause.
pub const MAX_TOKEN_LEN: usize = 2048;

/// Longest device label, in UTF-8 bytes.
pub const MAX_DEVICE_LABEL_LEN: usize = 64;

const VERSION: &str = "v1";
const MAC_CONTEXT: &str = "tessera 2026-11 token mac v1";
const MAC_LEN: usize = 32;
/// base64url without padding of [`MAC_LEN`] bytes.
const MAC_B64_LEN: usize = 43;
/// Token ids are 16 random bytes as lowercase hex.
const TOKEN_ID_LEN: usize = 32;

/// What a token allows. Ordered: `Admin` ⊇ `Write` ⊇ `Read`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Sync down and send presence.
    Read,
    /// Also send updates and upload blobs.
    Write,
    /// Also mint tokens, list, export and delete.
    Admin,
}

impl Scope {
    /// The lowercase name used in tokens, URLs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    /// True when a token with this scope may do what `needed` requires.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not `read`, `write` or `admin`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown scope: expected read, write or admin")]
pub struct ParseScopeError;

impl FromStr for Scope {
    type Err = ParseScopeError;

    fn from_str(s: &str) -> Result<Scope, ParseScopeError> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            _ => Err(ParseScopeError),
        }
    }
}

/// The id of the claims a relay running `--insecure-no-auth` gives every
/// request. It names no token: nothing is counted or revoked by it.
pub const NO_AUTH_ID: &str = "insecure-no-auth";

/// What a token says about its holder: the token's payload.
///
/// Unknown fields are refused: a later version may add a claim that narrows
/// what a token allows, and a verifier that ignored it would grant too much.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The one vault this token opens.
    pub vault: String,
    /// What the holder may do there.
    pub scope: Scope,
    /// Issued at, unix seconds. Informational: not checked against the
    /// clock, so a verifier whose clock is behind still accepts fresh tokens.
    pub iat: u64,
    /// Expiry, unix seconds; `None` means the token never expires. The token
    /// is valid while `now < exp`: at `now == exp` it is already expired, so a
    /// lifetime of `n` seconds means exactly `n` seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Token id (16 random bytes, lowercase hex), the handle for revocation.
    pub id: String,
    /// Optional human label of the device the token was minted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Path prefixes a `write` token may change (see [`WritePaths`]);
    /// `None` (every token minted before paths existed) means the whole
    /// vault. Reads are never narrowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<WritePaths>,
}

/// Why a set of claims is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClaimsError {
    /// The vault id is not a valid vault id.
    #[error(transparent)]
    Vault(#[from] IdError),
    /// The device label is too long.
    #[error(
        "device label is longer than {} bytes; shorten it",
        MAX_DEVICE_LABEL_LEN
    )]
    DeviceLabelTooLong,
    /// The device label is empty or contains control characters.
    #[error("device label must be non-empty text without control characters; omit it instead of passing an empty one")]
    DeviceLabelInvalid,
    /// A lifetime of zero would mint a token that is already expired.
    #[error("token lifetime must be positive; omit it for a token that never expires")]
    ZeroLifetime,
    /// `now + ttl` does not fit in a u64.
    #[error("token lifetime is too large; omit it for a token that never expires")]
    LifetimeTooLarge,
    /// The expiry is not after the issue time.
    #[error("token expires before it was issued")]
    ExpiresBeforeIssue,
    /// The token id is not 32 lowercase hex digits.
    #[error("token id must be 32 lowercase hex digits")]
    Id,
    /// The path prefixes are not acceptable.
    #[error(transparent)]
    Paths(#[from] WritePathsError),
    /// Only `write` tokens can be limited to paths: a read token writes
    /// nothing, and an admin token could mint itself an unlimited one.
    #[error("only write tokens can be limited to paths (this one is {0})")]
    PathsNeedWriteScope(Scope),
}

impl Claims {
    /// The token id per-token limits count by; `None` when there is no
    /// token (`--insecure-no-auth`).
    pub fn token_id(&self) -> Option<&str> {
        (self.id != NO_AUTH_ID).then_some(self.id.as_str())
    }

    /// Claims for a new token with a fresh random id.
    ///
    /// `now` and the result's times are unix seconds; `ttl_secs` of `None`
    /// mints a token that never expires.
    pub fn new(
        vault: &str,
        scope: Scope,
        now: u64,
        ttl_secs: Option<u64>,
        device: Option<String>,
    ) -> Result<Claims, TokenError> {
        let exp = match ttl_secs {
            None => None,
            Some(0) => return Err(ClaimsError::ZeroLifetime.into()),
            Some(ttl) => Some(now.checked_add(ttl).ok_or(ClaimsError::LifetimeTooLarge)?),
        };
        let claims = Claims {
            vault: vault.to_owned(),
            scope,
            iat: now,
            exp,
            id: hex::encode(random_bytes::<16>()),
            device,
            paths: None,
        };
        claims.validate()?;
        Ok(claims)
    }

    /// The same claims limited to writing under `paths` (see [`WritePaths`]).
    pub fn with_paths(mut self, paths: WritePaths) -> Result<Claims, TokenError> {
        self.paths = Some(paths);
        self.validate()?;
        Ok(self)
    }

    /// True when a holder of these claims may create, change, rename or
    /// delete the file at vault path `path`: the scope allows writing and,
    /// for a path-limited token, `path` lies under one of its prefixes.
    /// The room asks this for every index entry and note a write touches;
    /// HTTP routes that write files ask it too.
    pub fn may_write_path(&self, path: &str) -> bool {
        self.scope.allows(Scope::Write) && self.paths.as_ref().is_none_or(|p| p.allows(path))
    }

    /// True when the token's writes are limited to some paths.
    pub fn is_path_limited(&self) -> bool {
        self.paths.is_some()
    }

    /// True when the token is no longer valid at `now` (unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        matches!(self.exp, Some(exp) if now >= exp)
    }

    /// Checks the fields a token must satisfy even when its MAC is good: a
    /// server with a bug, or an old version, may have minted anything.
    pub fn validate(&self) -> Result<(), ClaimsError> {
        validate_vault_id(&self.vault)?;
        let id_ok = self.id.len() == TOKEN_ID_LEN
            && self
                .id
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if !id_ok {
            return Err(ClaimsError::Id);
        }
        if let Some(device) = &self.device {
            if device.len() > MAX_DEVICE_LABEL_LEN {
                return Err(ClaimsError::DeviceLabelTooLong);
            }
            if device.trim().is_empty() || device.chars().any(char::is_control) {
                return Err(ClaimsError::DeviceLabelInvalid);
            }
        }
        if matches!(self.exp, Some(exp) if exp <= self.iat) {
            return Err(ClaimsError::ExpiresBeforeIssue);
        }
        if let Some(paths) = &self.paths {
            if self.scope != Scope::Write {
                return Err(ClaimsError::PathsNeedWriteScope(self.scope));
            }
            paths.validate()?;
        }
        Ok(())
    }
}

/// Why a token was refused. No variant carries any part of the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// No token was presented.
    #[error("no access token was given; ask a vault admin for one")]
    Missing,
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error(
        "access token is longer than {} bytes; copy it again, it may have been pasted twice",
        MAX_TOKEN_LEN
    )]
    TooLong,
    /// The token does not have the token structure; the reason is fixed text.
    #[error("access token is malformed ({0}); copy it again in full")]
    Malformed(&'static str),
    /// The token is from a token format this server does not know.
    #[error(
        "access token format is not supported by this server; ask a vault admin for a new token"
    )]
    UnsupportedVersion,
    /// The MAC does not match: altered, or minted under another secret.
    #[error("access token signature is invalid: it was altered or minted by another server; ask a vault admin for a new token")]
    BadSignature,
    /// The token's expiry has passed.
    #[error("access token has expired; ask a vault admin for a new one")]
    Expired,
    /// The token is for another vault.
    #[error("access token is for another vault; use the token minted for this vault")]
    WrongVault,
    /// The token's scope does not cover the operation.
    #[error("access token grants {have} access but this needs {need}; ask a vault admin for a token with {need} access")]
    InsufficientScope {
        /// The scope the token grants.
        have: Scope,
        /// The scope the operation needs.
        need: Scope,
    },
    /// The token id is in the vault's revocation list.
    #[error("access token has been revoked; ask a vault admin for a new one")]
    Revoked,
    /// The claims are not acceptable.
    #[error("access token claims are invalid: {0}")]
    BadClaims(#[from] ClaimsError),
}

impl TokenError {
    /// A short, stable code for close reasons, logs and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => "token-missing",
            TokenError::TooLong => "token-too-long",
            TokenError::Malformed(_) => "token-malformed",
            TokenError::UnsupportedVersion => "token-unsupported-version",
            TokenError::BadSignature => "token-bad-signature",
            TokenError::Expired => "token-expired",
            TokenError::WrongVault => "token-wrong-vault",
            TokenError::InsufficientScope { .. } => "token-insufficient-scope",
            TokenError::Revoked => "token-revoked",
            TokenError::BadClaims(_) => "token-bad-claims",
        }
    }
}

/// The MAC key, derived from the server secret.
///
/// Deriving (rather than using the secret directly) keeps the token key
/// separate from anything else the same secret may ever be used for.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// Derives the token key from the server secret (the bytes of the string
    /// from [`generate_secret`], or any high-entropy secret).
    pub fn from_secret(secret: &[u8]) -> TokenKey {
        TokenKey(blake3::derive_key(MAC_CONTEXT, secret))
    }

    fn mac(&self, signed: &[u8]) -> [u8; MAC_LEN] {
        *blake3::keyed_hash(&self.0, signed).as_bytes()
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// A new server secret: 32 random bytes, base64url without padding.
pub fn generate_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Mints the token for `claims`.
///
/// Mint only claims from [`Claims::new`] (or that pass [`Claims::validate`]):
/// [`verify`] refuses anything else.
pub fn mint(key: &TokenKey, claims: &Claims) -> String {
    // Only strings, integers and a unit enum: serialising cannot fail.
    let payload = serde_json::to_vec(claims).expect("claims serialise to JSON");
    sign_payload(key, &payload)
}

/// Signs arbitrary payload bytes as a token, without checking them.
///
/// For hostile-input tests: it lets a fuzzer reach the claims parsing that
/// sits behind the MAC check. [`verify`] still validates what it decodes.
pub fn sign_payload(key: &TokenKey, payload: &[u8]) -> String {
    let mut token = String::with_capacity(VERSION.len() + payload.len() * 4 / 3 + 50);
    token.push_str(VERSION);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let mac = key.mac(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(mac, &mut token);
    token
}

/// Checks `token` for `vault` and an operation that needs `needed`, at `now`
/// (unix seconds), and returns its claims.
///
/// Does not check revocation: see [`authorize`].
pub fn verify(
    key: &TokenKey,
    token: &str,
    vault: &str,
    needed: Scope,
    now: u64,
) -> Result<Claims, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }

    let (signed, mac_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed(
        "expected three parts separated by dots",
    ))?;
    let (version, payload_b64) = signed.split_once('.').ok_or(TokenError::Malformed(
        "expected three parts separated by dots",
    ))?;
    if version != VERSION {
        return Err(if is_version_tag(version) {
            TokenError::UnsupportedVersion
        } else {
            TokenError::Malformed("does not start with a version such as v1")
        });
    }
    if payload_b64.is_empty() || payload_b64.contains('.') {
        return Err(TokenError::Malformed(
            "expected three parts separated by dots",
        ));
    }
    if mac_b64.len() != MAC_B64_LEN {
        return Err(TokenError::Malformed("signature has the wrong length"));
    }
    let mac = URL_SAFE_NO_PAD
        .decode(mac_b64)
        .map_err(|_| TokenError::Malformed("signature is not base64url"))?;

    let expected = key.mac(signed.as_bytes());
    if !bool::from(expected.as_slice().ct_eq(mac.as_slice())) {
        return Err(TokenError::BadSignature);
    }

    // Authenticated from here on: the payload was minted with our key.
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|_| TokenError::Malformed("payload is not valid claims JSON"))?;
    claims.validate()?;

    if claims.is_expired(now) {
        return Err(TokenError::Expired);
    }
    if claims.vault != vault {
        return Err(TokenError::WrongVault);
    }
    if !claims.scope.allows(needed) {
        return Err(TokenError::InsufficientScope {
            have: claims.scope,
            need: needed,
        });
    }
    Ok(claims)
}

/// [`verify`], then the revocation check: what the shells call on connect.
pub fn authorize(
    key: &TokenKey,
    revoked: &Revocations,
    token: &str,
    vault: &str,
    needed: Scope,
    now: u64,
) -> Result<Claims, TokenError> {
    let claims = verify(key, token, vault, needed, now)?;
    revoked.check(&claims)?;
    Ok(claims)
}

/// `v` followed by one or more digits: a version we may not know yet.
fn is_version_tag(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

/// A set of revoked token ids (serde: a sorted JSON array), checked after
/// [`verify`]. Kept in the vault manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revocations {
    ids: BTreeSet<String>,
}

impl Revocations {
    /// Revokes the token with id `id`. Returns false if it was already revoked.
    pub fn revoke(&mut self, id: &str) -> bool {
        self.ids.insert(id.to_owned())
    }

    /// True when the token with id `id` has been revoked.
    pub fn is_revoked(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Refuses claims whose token has been revoked.
    pub fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        if self.is_revoked(&claims.id) {
            Err(TokenError::Revoked)
        } else {
            Ok(())
        }
    }

    /// The revoked ids, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }

    /// The number of revoked ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing has been revoked.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
#[path = "tests/token.rs"]
mod tests;
