//! Which vault paths are acceptable: the one path policy.
//!
//! Paths in the index are untrusted: any co-editor (or a malicious relay) can
//! put any string there, and a device writes files at those paths. So every
//! place that creates, renames, writes, trashes or exports a path asks this
//! module first — the room before it applies an index write, the engine
//! before it touches the disk, the exporter before it writes a file.
//!
//! The rules are the union of what every file system a vault lives on
//! accepts (Windows is the strictest) plus two folders that must never sync:
//! the config folder (plugins in it run as code on the next start) and
//! `.trash`. The relay cannot know a device's config folder, so it refuses
//! `.obsidian` ([`PathPolicy::server`]); a device also refuses its own
//! ([`PathPolicy::device`]).

use unicode_normalization::UnicodeNormalization;

use super::VaultError;

/// Longest accepted path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// Longest accepted segment (file or folder name), in bytes: the limit of
/// ext4, APFS and NTFS (the latter counts UTF-16 units, which is never more).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Obsidian's default config folder, refused by every policy.
pub const DEFAULT_CONFIG_DIR: &str = ".obsidian";

/// Obsidian's local trash folder, never synced.
pub const TRASH_DIR: &str = ".trash";

/// Names Windows reserves for devices, with or without an extension.
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Characters Windows forbids in names (besides control characters).
const WINDOWS_FORBIDDEN: [char; 8] = ['<', '>', ':', '"', '|', '?', '*', '\\'];

/// The rules a path is checked against; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPolicy {
    /// Lower-cased `/`-separated segments of each refused top folder.
    refused_dirs: Vec<Vec<String>>,
}

impl PathPolicy {
    /// The relay's policy: every structural rule, `.obsidian` and `.trash`.
    pub fn server() -> PathPolicy {
        PathPolicy {
            refused_dirs: vec![vec![DEFAULT_CONFIG_DIR.into()], vec![TRASH_DIR.into()]],
        }
    }

    /// A device's policy: the server's plus the device's own config folder
    /// (`app.vault.configDir`). An empty or unusable `config_dir` adds
    /// nothing: `.obsidian` is refused anyway.
    pub fn device(config_dir: &str) -> PathPolicy {
        let mut policy = PathPolicy::server();
        let dir = config_dir.trim_matches('/');
        let segments: Vec<String> = dir.split('/').map(str::to_lowercase).collect();
        if !dir.is_empty() && !policy.refused_dirs.contains(&segments) {
            policy.refused_dirs.push(segments);
        }
        policy
    }

    /// Checks `path`; the error names the rule it breaks.
    pub fn check(&self, path: &str) -> Result<(), VaultError> {
        match self.reason(path) {
            Some(reason) => Err(VaultError::BadPath {
                path: path.to_owned(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// True when `path` passes every rule.
    pub fn allows(&self, path: &str) -> bool {
        self.reason(path).is_none()
    }

    /// The rule `path` breaks, or `None`.
    pub fn reason(&self, path: &str) -> Option<&'static str> {
        if let Some(reason) = structural_reason(path) {
            return Some(reason);
        }
        let segments: Vec<String> = path.split('/').map(str::to_lowercase).collect();
        let inside = |dir: &Vec<String>| {
            segments.len() >= dir.len() && segments.iter().zip(dir).all(|(a, b)| a == b)
        };
        if self.refused_dirs.first().is_some_and(inside) {
            Some("inside the config folder (.obsidian), which never syncs")
        } else if self.refused_dirs.get(1).is_some_and(inside) {
            Some("inside .trash, which never syncs")
        } else if self.refused_dirs.iter().skip(2).any(inside) {
            Some("inside this device's config folder, which never syncs")
        } else {
            None
        }
    }
}

impl Default for PathPolicy {
    fn default() -> Self {
        PathPolicy::server()
    }
}

/// The rules that hold whatever the device: shape, characters, names.
fn structural_reason(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return Some("longer than 1024 bytes");
    }
    if path.starts_with('/') {
        return Some("must be relative (no leading '/')");
    }
    if path.contains('\\') {
        return Some("backslash is not a separator; use '/'");
    }
    if path.chars().any(char::is_control) {
        return Some("contains NUL or a control character");
    }
    let first = path.split('/').next().unwrap_or_default();
    let b = first.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some("a drive letter makes the path absolute");
    }
    for segment in path.split('/') {
        if let Some(reason) = segment_reason(segment) {
            return Some(reason);
        }
    }
    None
}

fn segment_reason(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return Some("empty segment (trailing or doubled '/')");
    }
    if segment == "." || segment == ".." {
        return Some("'.' and '..' segments are not allowed");
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Some("a file or folder name is longer than 255 bytes");
    }
    if segment.contains(WINDOWS_FORBIDDEN) {
        return Some("contains a character Windows forbids (< > : \" | ? *)");
    }
    if segment.ends_with('.') || segment.ends_with(' ') {
        return Some("a name ends with a dot or a space, which Windows drops");
    }
    // `CON`, `con.md`, `Com1.tar.gz`: the stem before the first dot counts,
    // and Windows ignores spaces before that dot too.
    let stem = segment.split('.').next().unwrap_or_default().trim_end();
    if RESERVED.iter().any(|r| stem.eq_ignore_ascii_case(r)) {
        return Some("a Windows reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)");
    }
    None
}

/// Checks a path against the server policy ([`PathPolicy::server`]).
pub fn validate_path(path: &str) -> Result<(), VaultError> {
    PathPolicy::server().check(path)
}

/// The key under which two paths name the same file on a case-insensitive,
/// Unicode-normalising file system (Windows, macOS): NFC, then lower case.
/// Two distinct paths with one key cannot both exist on such a device.
pub fn fold_key(path: &str) -> String {
    path.nfc().collect::<String>().to_lowercase()
}
