//! Identifiers that arrive from the network and end up in storage keys.
//!
//! Every vault and doc id is validated here before it is used anywhere, so no
//! id can name a path outside its vault or smuggle separators into a key.

use thiserror::Error;

/// The doc id of a vault's index doc.
pub const INDEX_DOC: &str = "index";

/// Length of a note or file id: 128 random bits as lowercase hex.
pub const FILE_ID_LEN: usize = 32;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// Vault ids match `[a-z0-9][a-z0-9-]{0,63}`.
    #[error("invalid vault id: must match [a-z0-9][a-z0-9-]{{0,63}}")]
    Vault,
    /// Doc ids are `index` or 32 lowercase hex digits.
    #[error("invalid doc id: must be \"index\" or 32 lowercase hex digits")]
    Doc,
    /// Free-form doc names (stock Yjs apps) match `[A-Za-z0-9._-]{1,128}`.
    #[error("invalid doc name: must be \"index\", a 32-hex-digit note id, or match [A-Za-z0-9._-]{{1,128}}")]
    AppDoc,
}

/// Prefix of the room and storage id of a free-form doc: `my-doc` on the doc
/// endpoint is `app.my-doc` inside. No vault doc id (`index`, 32 hex digits)
/// starts with it, so an app doc can never be, or shadow, the index or a note.
pub const APP_DOC_PREFIX: &str = "app.";

/// Longest free-form doc name (as y-sweet allows).
pub const MAX_APP_DOC_NAME: usize = 128;

/// Checks a vault id: `[a-z0-9][a-z0-9-]{0,63}`.
pub fn validate_vault_id(id: &str) -> Result<(), IdError> {
    let b = id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(IdError::Vault)
    }
}

/// Checks a doc id: the index doc, or a 128-bit file id in lowercase hex.
pub fn validate_doc_id(id: &str) -> Result<(), IdError> {
    if id == INDEX_DOC || is_file_id(id) {
        Ok(())
    } else {
        Err(IdError::Doc)
    }
}

/// Checks a free-form doc name: `[A-Za-z0-9._-]{1,128}`.
pub fn validate_app_doc_name(name: &str) -> Result<(), IdError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_APP_DOC_NAME
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(IdError::AppDoc)
    }
}

/// True for the room id of a free-form doc (`app.` + a valid name).
pub fn is_app_doc(id: &str) -> bool {
    id.strip_prefix(APP_DOC_PREFIX)
        .is_some_and(|name| validate_app_doc_name(name).is_ok())
}

/// The room id a doc-endpoint name addresses: `index` and note ids name the
/// vault's own docs, as before; any other valid name is a free-form doc in
/// its own namespace ([`APP_DOC_PREFIX`]).
pub fn doc_endpoint_id(name: &str) -> Result<String, IdError> {
    if validate_doc_id(name).is_ok() {
        return Ok(name.to_owned());
    }
    validate_app_doc_name(name)?;
    Ok(format!("{APP_DOC_PREFIX}{name}"))
}

/// Checks any doc id the room and storage hold: a vault doc
/// ([`validate_doc_id`]) or a free-form doc ([`is_app_doc`]).
pub fn validate_stored_doc_id(id: &str) -> Result<(), IdError> {
    if validate_doc_id(id).is_ok() || is_app_doc(id) {
        Ok(())
    } else {
        Err(IdError::Doc)
    }
}

/// True when `id` is a file id (32 lowercase hex digits).
pub fn is_file_id(id: &str) -> bool {
    id.len() == FILE_ID_LEN && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh random file id (128 bits, lowercase hex).
pub fn new_file_id() -> String {
    hex::encode(random_bytes::<16>())
}

/// A random Yjs client id. Kept below 2^53 so JavaScript peers read it exactly.
///
/// Docs must always be created with an id from here: yrs' own default draws
/// from a generator that is not seeded from the OS on wasm32, which would give
/// every device the same client id and corrupt merged documents.
pub fn random_client_id() -> u64 {
    u64::from_le_bytes(random_bytes::<8>()) & ((1u64 << 53) - 1)
}

/// `N` bytes from the operating system's (or the browser's) CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS generator failing is not recoverable and cannot be caused by input.
    getrandom::getrandom(&mut buf).expect("operating system random generator failed");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_ids_follow_the_documented_pattern() {
        for ok in ["default", "a", "my-vault-2", &"a".repeat(64)] {
            assert_eq!(validate_vault_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "A",
            "a_b",
            "a/b",
            "..",
            "a.b",
            &"a".repeat(65),
            "ä",
        ] {
            assert_eq!(validate_vault_id(bad), Err(IdError::Vault), "{bad}");
        }
    }

    #[test]
    fn doc_ids_are_the_index_or_lowercase_hex_file_ids() {
        assert!(validate_doc_id("index").is_ok());
        assert!(validate_doc_id(&new_file_id()).is_ok());
        for bad in [
            "",
            "Index",
            "../index",
            &"A".repeat(32),
            &"a".repeat(31),
            &"g".repeat(32),
        ] {
            assert_eq!(validate_doc_id(bad), Err(IdError::Doc), "{bad}");
        }
    }

    #[test]
    fn free_form_names_get_their_own_namespace_and_never_name_a_vault_doc() {
        assert_eq!(doc_endpoint_id("index").unwrap(), "index");
        let note = new_file_id();
        assert_eq!(doc_endpoint_id(&note).unwrap(), note);
        assert_eq!(doc_endpoint_id("my-doc").unwrap(), "app.my-doc");
        assert_eq!(doc_endpoint_id("Index").unwrap(), "app.Index");
        assert_eq!(doc_endpoint_id("app.index").unwrap(), "app.app.index");
        assert_eq!(doc_endpoint_id("..").unwrap(), "app...");
        let longest = "a".repeat(128);
        assert!(doc_endpoint_id(&longest).is_ok());
        for bad in ["", "a/b", "a b", "ä", "a%2Fb", &"a".repeat(129)] {
            assert_eq!(doc_endpoint_id(bad), Err(IdError::AppDoc), "{bad}");
        }
        for id in ["app.my-doc", "app...", "index"] {
            assert!(validate_stored_doc_id(id).is_ok(), "{id}");
        }
        for bad in ["app.", "app.a/b", "my-doc", "appx"] {
            assert!(validate_stored_doc_id(bad).is_err(), "{bad}");
        }
        assert!(
            validate_doc_id("app.my-doc").is_err(),
            "vault sockets never address app docs"
        );
    }

    #[test]
    fn random_client_ids_fit_in_a_javascript_number_and_differ() {
        let a = random_client_id();
        let b = random_client_id();
        assert!(a < (1 << 53) && b < (1 << 53));
        assert_ne!(a, b);
    }
}
