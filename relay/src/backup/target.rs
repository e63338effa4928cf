//! Where a backup goes: a local folder or an S3 prefix, behind [`Target`].
//!
//! Unlike [`crate::store::Store`], a target holds vault paths, not storage
//! keys. Every path it is given has passed
//! [`tessera_crdt::backup::refusal_reason`] (or is the manifest or a
//! `.tessera-backup/` name the backup chose), so none can leave the
//! destination.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_crdt::backup::RESERVED_DIR;
use thiserror::Error;

pub use super::s3::S3Target;

/// Why a destination operation failed.
#[derive(Debug, Error)]
pub enum TargetError {
    /// Local disk I/O failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The S3 service failed or refused.
    #[error("S3 {op} {key}: {message}")]
    S3 {
        /// The operation.
        op: &'static str,
        /// The object key.
        key: String,
        /// What the service or the SDK said.
        message: String,
    },
    /// The destination is not usable as given.
    #[error("{0}")]
    Config(String),
}

/// A backup destination. Writes are atomic: after a crash a file is either
/// its old content or its new one.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// The file at `path`, or `None`.
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError>;
    /// Creates or replaces the file at `path`.
    async fn write(&self, path: &str, bytes: &[u8]) -> Result<(), TargetError>;
    /// Moves `from` to `to`; a missing `from` is not an error (a killed
    /// run may have moved it already).
    async fn rename(&self, from: &str, to: &str) -> Result<(), TargetError>;
    /// For logs: `dir:/path` or `s3://bucket/prefix`.
    fn describe(&self) -> String;
}

/// A destination as given on the command line: `s3://bucket/prefix` or a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A local folder.
    Dir(PathBuf),
    /// A bucket and a key prefix (empty or ending in `/`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
}

impl Destination {
    /// Parses `s3://bucket[/prefix]` or a folder path.
    pub fn parse(s: &str) -> Result<Destination, TargetError> {
        let Some(rest) = s.strip_prefix("s3://") else {
            if s.is_empty() {
                return Err(TargetError::Config("empty backup destination".into()));
            }
            return Ok(Destination::Dir(PathBuf::from(s)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(TargetError::Config(format!(
                "{s:?}: no bucket; write s3://bucket/prefix"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err(TargetError::Config(format!(
                "{s:?}: '.' and '..' are not allowed in the prefix"
            )));
        }
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        Ok(Destination::S3 {
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// The destination of one vault inside this one (`{dest}/{vault}`), as
    /// the scheduler uses for every vault it backs up.
    pub fn child(&self, name: &str) -> Destination {
        match self {
            Destination::Dir(p) => Destination::Dir(p.join(name)),
            Destination::S3 { bucket, prefix } => Destination::S3 {
                bucket: bucket.clone(),
                prefix: format!("{prefix}{name}/"),
            },
        }
    }
}

/// A local folder. Files are written to `.tessera-backup/tmp/` first, synced
/// and renamed into place, so a manifest never records a file that a crash
/// could leave half-written.
pub struct DirTarget {
    root: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
}

impl DirTarget {
    /// Opens (creating) `root` and clears temporary files a killed run left.
    pub async fn open(root: &Path) -> Result<DirTarget, TargetError> {
        let tmp = root.join(RESERVED_DIR).join("tmp");
        match tokio::fs::remove_dir_all(&tmp).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TargetError::Io(tmp, e)),
        }
        tokio::fs::create_dir_all(&tmp)
            .await
            .map_err(|e| TargetError::Io(tmp.clone(), e))?;
        Ok(DirTarget {
            root: root.to_owned(),
            tmp,
            counter: AtomicU64::new(0),
        })
    }

    fn full(&self, path: &str) -> PathBuf {
        path.split('/')
            .fold(self.root.clone(), |p, segment| p.join(segment))
    }

    /// Removes now-empty folders from `dir` up to (not including) the root,
    /// so a deleted folder can become a file of the same name.
    async fn prune(&self, mut dir: PathBuf) {
        while dir != self.root && dir.starts_with(&self.root) {
            if tokio::fs::remove_dir(&dir).await.is_err() {
                break;
            }
            if !dir.pop() {
                break;
            }
        }
    }
}

#[async_trait::async_trait]
impl Target for DirTarget {
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        let full = self.full(path);
        match tokio::fs::read(&full).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TargetError::Io(full, e)),
        }
    }

    async fn write(&self, path: &str, bytes: &[u8]) -> Result<(), TargetError> {
        let full = self.full(path);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("{}-{n}", std::process::id()));
        let (tmp2, bytes) = (tmp.clone(), bytes.to_vec());
        // std::fs inside spawn_blocking: one thread hop instead of one per call.
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp2)?;
            f.write_all(&bytes)?;
            f.sync_data()
        })
        .await
        .map_err(|e| TargetError::Io(tmp.clone(), std::io::Error::other(e)))?
        .map_err(|e| TargetError::Io(tmp.clone(), e))?;
        if let Some(dir) = full.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| TargetError::Io(dir.to_owned(), e))?;
        }
        tokio::fs::rename(&tmp, &full)
            .await
            .map_err(|e| TargetError::Io(full, e))
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
        let (src, dst) = (self.full(from), self.full(to));
        if let Some(dir) = dst.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| TargetError::Io(dir.to_owned(), e))?;
        }
        match tokio::fs::rename(&src, &dst).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TargetError::Io(src, e)),
        }
        if let Some(dir) = src.parent() {
            self.prune(dir.to_owned()).await;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("dir:{}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_as_s3_or_folder() {
        assert_eq!(
            Destination::parse("s3://b/some/prefix/").unwrap(),
            Destination::S3 {
                bucket: "b".into(),
                prefix: "some/prefix/".into()
            }
        );
        assert_eq!(
            Destination::parse("s3://b").unwrap(),
            Destination::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            Destination::parse("/var/backups/t").unwrap(),
            Destination::Dir("/var/backups/t".into())
        );
        assert!(Destination::parse("s3:///x").is_err());
        assert!(Destination::parse("s3://b/../x").is_err());
        assert!(Destination::parse("").is_err());
    }

    #[test]
    fn a_vaults_destination_inside_a_shared_one_is_a_subfolder_or_subprefix() {
        let s3 = Destination::parse("s3://b/p").unwrap().child("v1");
        assert_eq!(
            s3,
            Destination::S3 {
                bucket: "b".into(),
                prefix: "p/v1/".into()
            }
        );
        let dir = Destination::parse("/x").unwrap().child("v1");
        assert_eq!(dir, Destination::Dir("/x/v1".into()));
    }
}
