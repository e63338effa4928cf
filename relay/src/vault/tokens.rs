//! The vault's token registry in storage (`vaults/{vault}/tokens`): minting
//! records into it, connections note their token's last-seen time in it
//! (at most once per [`LAST_SEEN_GRANULARITY_SECS`] per token and process).

use bytes::Bytes;
use tessera_crdt::keys::{self, VaultId};
use tessera_crdt::token::{Claims, TokenRegistry, LAST_SEEN_GRANULARITY_SECS};

use super::persist::read_revocations;
use super::PersistError;
use crate::store::{PutCondition, PutOutcome, Store};

/// The stored registry (empty when none was written yet).
pub async fn read_registry(
    store: &dyn Store,
    vault: &VaultId,
) -> Result<TokenRegistry, PersistError> {
    match store.get(&keys::tokens_key(vault)).await? {
        Some(obj) => {
            TokenRegistry::decode(&obj.bytes).map_err(|e| PersistError::Corrupt(e.to_string()))
        }
        None => Ok(TokenRegistry::default()),
    }
}

/// Applies `change` to the stored registry with a conditional write;
/// `change` returns false when there is nothing to store.
pub async fn update_registry(
    store: &dyn Store,
    vault: &VaultId,
    change: impl Fn(&mut TokenRegistry) -> bool,
) -> Result<(), PersistError> {
    let key = keys::tokens_key(vault);
    for _ in 0..8 {
        let (mut registry, cond) = match store.get(&key).await? {
            Some(obj) => (
                TokenRegistry::decode(&obj.bytes)
                    .map_err(|e| PersistError::Corrupt(format!("{key}: {e}")))?,
                PutCondition::IfMatch(obj.etag),
            ),
            None => (TokenRegistry::default(), PutCondition::IfAbsent),
        };
        if !change(&mut registry) {
            return Ok(());
        }
        if let PutOutcome::Written(_) = store
            .put(&key, Bytes::from(registry.encode()), cond)
            .await?
        {
            return Ok(());
        }
    }
    Err(PersistError::Contended(key))
}

/// Records a minted token.
pub async fn record_minted(
    store: &dyn Store,
    vault: &VaultId,
    claims: &Claims,
) -> Result<(), PersistError> {
    update_registry(store, vault, |r| {
        r.record(claims);
        true
    })
    .await
}

/// Notes that the token of `claims` connected at `now_secs`.
pub async fn record_seen(
    store: &dyn Store,
    vault: &VaultId,
    claims: &Claims,
    now_secs: u64,
) -> Result<(), PersistError> {
    update_registry(store, vault, |r| r.touch(claims, now_secs)).await
}

/// The registry as listed: newest first, with revocation flags.
pub async fn list_tokens(
    store: &dyn Store,
    vault: &VaultId,
) -> Result<Vec<tessera_crdt::token::TokenListing>, PersistError> {
    let registry = read_registry(store, vault).await?;
    let revoked = read_revocations(store, vault).await?.unwrap_or_default();
    Ok(registry.list(&revoked))
}

/// How often one process writes a token's last-seen time.
pub const SEEN_EVERY_SECS: u64 = LAST_SEEN_GRANULARITY_SECS;
