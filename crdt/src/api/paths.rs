//! Path limits of write tokens on HTTP routes that write files (restore,
//! and the file API): the same rule the room applies on the sockets.

use super::ApiError;
use crate::token::Claims;
use crate::vault::Index;

/// The error code of a write outside a token's path prefixes.
pub const PATH_NOT_ALLOWED: &str = "path-not-allowed";

/// Refuses (403 `path-not-allowed`) a write to `path` that `claims` may not make.
pub fn check_write_path(claims: &Claims, path: &str) -> Result<(), ApiError> {
    if claims.may_write_path(path) {
        return Ok(());
    }
    let allowed = claims
        .paths
        .as_ref()
        .map(|p| p.as_slice().join(", "))
        .unwrap_or_default();
    Err(ApiError::new(
        403,
        PATH_NOT_ALLOWED,
        format!("{path:?} is outside this token's paths ({allowed}); nothing was changed"),
    ))
}

/// Refuses a write to the file with id `doc` that `claims` may not make:
/// the path comes from `index` (live or deleted entry). A doc the index does
/// not name is refused to a path-limited token, since its path is unknown.
pub fn check_write_doc(claims: &Claims, index: &Index, doc: &str) -> Result<(), ApiError> {
    if claims.paths.is_none() {
        return check_write_path(claims, "");
    }
    match index.get(doc) {
        Some(entry) => check_write_path(claims, &entry.path),
        None => Err(ApiError::new(
            403,
            PATH_NOT_ALLOWED,
            "this file is not in the vault index, so this path-limited token may not write it",
        )),
    }
}

/// For the file routes: a write (`PUT`, `POST ?append`, `DELETE`) to `raw`
/// (the URL's path segment, still encoded) is refused with 403
/// `path-not-allowed` when the token's paths do not cover it. Called before
/// the body is read; reads and whole-vault tokens always pass.
pub fn check_file_write(
    claims: &Claims,
    raw: &str,
    method: crate::api::FileMethod,
) -> Result<(), ApiError> {
    if method == crate::api::FileMethod::Get || claims.paths.is_none() {
        return Ok(());
    }
    let path = crate::files::decode_path(raw)?;
    check_write_path(claims, &path)
}
