//! Vault administration over HTTP: `DELETE /v1/vaults/{vault}`.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::{read_json, ApiError, Authed};
use super::AppState;

/// `?confirm=` or body `{"confirm": "..."}`: the vault id, repeated.
#[derive(Debug, Default, Deserialize)]
pub struct Confirm {
    confirm: Option<String>,
}

/// `DELETE /v1/vaults/{vault}` (admin): marks the vault deleted. It refuses
/// every connection from now on (open sockets close with 4404); its data is
/// removed after the grace period.
pub async fn delete_vault(
    State(state): State<AppState>,
    Query(query): Query<Confirm>,
    authed: Authed,
    body: Body,
) -> Result<Response, ApiError> {
    let vault = authed.vault;
    let confirm = match query.confirm {
        Some(c) => Some(c),
        None => read_json::<Confirm>(body, authed.body)
            .await
            .ok()
            .and_then(|c| c.confirm),
    };
    if confirm.as_deref() != Some(vault.id.as_str()) {
        return Err(ApiError::bad_request(
            "confirm-mismatch",
            format!(
                "deleting a vault needs its id repeated: ?confirm={0} or {{\"confirm\": \"{0}\"}}",
                vault.id
            ),
        ));
    }
    let now = crate::vault::wall_ms();
    crate::vault::mark_deleted(state.store.as_ref(), &vault.id, Some(now))
        .await
        .map_err(|e| ApiError::unavailable(format!("could not record the deletion: {e}")))?;
    vault.set_deleted(Some(now)).await;
    let purge = now.saturating_add(state.vault_grace_ms);
    Ok(Json(serde_json::json!({
        "deleted": true,
        "vault": vault.id.as_str(),
        "deleted_ms": now,
        "purge_after_ms": purge,
    }))
    .into_response())
}
