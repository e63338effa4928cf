//! Path prefixes that limit what a `write` token may change.
//!
//! A prefix names a folder (`Inbox/` or `Inbox`) or one file
//! (`Journal/today.md`). A path is under a prefix when it equals the prefix
//! (without its trailing `/`) or continues it after a `/`: `Inbox/` covers
//! `Inbox/a.md` and `Inbox/sub/b.md`, never `Inboxes/c.md`. Comparison is by
//! exact case after Unicode NFC normalisation: folding case would let a
//! prefix `Inbox/` write a different folder `INBOX/` on a case-sensitive
//! device, so only the spelling the admin granted is accepted.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::vault::{PathPolicy, MAX_PATH_BYTES};

/// Most prefixes one token may carry.
pub const MAX_PATH_PREFIXES: usize = 16;

/// Most bytes all prefixes of one token may add up to: the token as a whole
/// must stay under [`super::MAX_TOKEN_LEN`].
pub const MAX_PATH_PREFIX_BYTES: usize = 1024;

/// Why a list of path prefixes is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WritePathsError {
    /// No prefix at all: such a token could write nothing.
    #[error("give at least one path prefix, or none at all for the whole vault")]
    Empty,
    /// More than [`MAX_PATH_PREFIXES`] prefixes.
    #[error("a token carries at most {MAX_PATH_PREFIXES} path prefixes")]
    TooMany,
    /// The prefixes together exceed [`MAX_PATH_PREFIX_BYTES`].
    #[error("the path prefixes add up to more than {MAX_PATH_PREFIX_BYTES} bytes")]
    TooLong,
    /// A prefix breaks the path policy.
    #[error("path prefix {prefix:?} is not a valid vault path: {reason}")]
    BadPrefix {
        /// The refused prefix.
        prefix: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
}

/// The path prefixes of a path-limited write token (serde: a JSON array of
/// strings, in the order given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WritePaths(Vec<String>);

impl WritePaths {
    /// Checks and normalises (NFC) a list of prefixes.
    pub fn new<I, S>(prefixes: I) -> Result<WritePaths, WritePathsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<String> = Vec::new();
        for p in prefixes {
            let p: String = p.as_ref().trim().nfc().collect();
            if !list.contains(&p) {
                list.push(p);
            }
        }
        let paths = WritePaths(list);
        paths.validate()?;
        Ok(paths)
    }

    /// Parses a comma-separated list such as `"Inbox/,Journal/"` (the CLI's
    /// `--paths`). Empty items (a trailing comma) are ignored.
    pub fn parse(list: &str) -> Result<WritePaths, WritePathsError> {
        WritePaths::new(list.split(',').filter(|p| !p.trim().is_empty()))
    }

    /// Checks the rules of [`WritePaths::new`] on a list that came from a
    /// token payload (minted by this or an older server).
    pub fn validate(&self) -> Result<(), WritePathsError> {
        if self.0.is_empty() {
            return Err(WritePathsError::Empty);
        }
        if self.0.len() > MAX_PATH_PREFIXES {
            return Err(WritePathsError::TooMany);
        }
        if self.0.iter().map(String::len).sum::<usize>() > MAX_PATH_PREFIX_BYTES {
            return Err(WritePathsError::TooLong);
        }
        let policy = PathPolicy::server();
        for prefix in &self.0 {
            let bare = bare(prefix);
            let reason = if bare.len() > MAX_PATH_BYTES {
                Some("longer than a path may be")
            } else if bare.nfc().ne(bare.chars()) {
                Some("not in Unicode NFC form")
            } else {
                policy.reason(bare)
            };
            if let Some(reason) = reason {
                return Err(WritePathsError::BadPrefix {
                    prefix: prefix.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// True when `path` is under one of the prefixes (see the module docs).
    pub fn allows(&self, path: &str) -> bool {
        let normal: std::borrow::Cow<'_, str> = if path.is_ascii() {
            path.into()
        } else {
            path.nfc().collect::<String>().into()
        };
        self.0.iter().any(|prefix| {
            let bare = bare(prefix);
            normal
                .strip_prefix(bare)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// The prefixes, as given (normalised).
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// A prefix without its one optional trailing `/`.
fn bare(prefix: &str) -> &str {
    prefix.strip_suffix('/').unwrap_or(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &str) -> WritePaths {
        WritePaths::parse(list).expect("valid prefixes")
    }

    #[test]
    fn a_folder_prefix_covers_its_contents_and_nothing_beside_it() {
        let p = paths("Inbox/,Journal/2026/");
        assert!(p.allows("Inbox/a.md"));
        assert!(p.allows("Inbox/deep/b.md"));
        assert!(p.allows("Journal/2026/12-02.md"));
        assert!(!p.allows("Inboxes/c.md"));
        assert!(!p.allows("Journal/2025/old.md"));
        assert!(!p.allows("Journal/2026.md"));
        assert!(!p.allows("a.md"));
    }

    #[test]
    fn a_prefix_with_or_without_its_slash_means_the_same_folder() {
        assert!(paths("Inbox").allows("Inbox/a.md"));
        assert!(!paths("Inbox").allows("Inbox2/a.md"));
    }

    #[test]
    fn a_file_prefix_covers_exactly_that_file() {
        let p = paths("Journal/today.md");
        assert!(p.allows("Journal/today.md"));
        assert!(!p.allows("Journal/today.md.bak"));
    }

    #[test]
    fn case_is_compared_exactly_and_unicode_after_nfc() {
        let p = paths("Café/");
        assert!(!p.allows("INBOX/a.md") && !p.allows("café/a.md"));
        assert!(
            p.allows("Cafe\u{301}/a.md"),
            "NFD spelling of the same folder"
        );
    }

    #[test]
    fn prefixes_that_break_the_path_policy_or_the_limits_are_refused() {
        for bad in ["../x/", "/abs/", ".obsidian/", "a//b/", "C:/x/"] {
            assert!(
                matches!(
                    WritePaths::parse(bad),
                    Err(WritePathsError::BadPrefix { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(WritePaths::parse(" , "), Err(WritePathsError::Empty));
        let many: Vec<String> = (0..=MAX_PATH_PREFIXES).map(|i| format!("f{i}/")).collect();
        assert_eq!(WritePaths::new(&many), Err(WritePathsError::TooMany));
        let long = vec!["a".repeat(600), "b".repeat(600)];
        assert_eq!(WritePaths::new(&long), Err(WritePathsError::TooLong));
    }
}
