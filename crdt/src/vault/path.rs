//! Which vault paths are acceptable.

use super::VaultError;

/// Longest accepted path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// Checks a vault-relative path: `/`-separated, non-empty, at most
/// [`MAX_PATH_BYTES`] bytes, no leading `/`, no empty, `.` or `..` segment,
/// no backslash, NUL or other control character.
pub fn validate_path(path: &str) -> Result<(), VaultError> {
    let reason = if path.is_empty() {
        Some("empty")
    } else if path.len() > MAX_PATH_BYTES {
        Some("longer than 1024 bytes")
    } else if path.starts_with('/') {
        Some("must be relative (no leading '/')")
    } else if path.contains('\\') {
        Some("backslash is not a separator; use '/'")
    } else if path.chars().any(char::is_control) {
        Some("contains NUL or a control character")
    } else if path.split('/').any(str::is_empty) {
        Some("empty segment (trailing or doubled '/')")
    } else if path.split('/').any(|s| s == "." || s == "..") {
        Some("'.' and '..' segments are not allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(VaultError::BadPath {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}
