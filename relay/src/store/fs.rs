//! [`FsStore`]: objects as files under `<data>/objects/<key>`.
//!
//! Writes are atomic: the content goes to a temp file in the object's
//! directory, is fsynced, and is renamed over the object; then the directory
//! is fsynced so the rename itself survives a crash. A crash leaves at worst
//! a temp file, which readers never see (temp names cannot be keys) and which
//! the next [`FsStore::open`] removes.
//!
//! One process owns a data dir: `open` takes an exclusive `flock` on
//! `<data>/LOCK` for the store's lifetime. That makes in-process locking
//! enough for conditional writes: every write to a key holds that key's lock
//! stripe from the condition check until the rename is durable.

use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tessera_crdt::hash::blake3_hex;
use tokio::task::spawn_blocking;

use super::{
    validate_key, validate_prefix, ETag, Object, PutCondition, PutOutcome, Store, StoreError,
};

/// Temp files start with this; no key segment can (ids are `[a-z0-9-]`).
const TEMP_PREFIX: &str = ".tmp.";

/// Lock stripes: writes to different keys rarely contend, writes to one key
/// are serialised.
const STRIPES: usize = 64;

/// The filesystem store. Cheap to clone.
#[derive(Clone)]
pub struct FsStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The data dir as given, for `describe`.
    data: PathBuf,
    /// `<data>/objects`, canonical, so the containment check compares like
    /// with like.
    objects: PathBuf,
    stripes: Vec<Mutex<()>>,
    next_temp: AtomicU64,
    /// Held (flocked) for the store's lifetime; released when dropped.
    /// `None` for a read-only view, which never writes.
    _lock: Option<File>,
}

impl FsStore {
    /// Opens (creating if needed) the store in `data`, takes the data dir's
    /// lock, and removes temp files left by a crash.
    pub async fn open(data: impl Into<PathBuf>) -> Result<FsStore, StoreError> {
        let data = data.into();
        let inner = spawn_blocking(move || Inner::open(data, true))
            .await
            .map_err(join_error)??;
        Ok(FsStore {
            inner: Arc::new(inner),
        })
    }

    /// Opens a read-only view of the store in `data`, without the lock, so
    /// `export`, `history` and `check` work beside a running relay. Writes
    /// through it are refused. Objects are replaced by atomic renames, so a
    /// reader never sees a partial one.
    pub async fn open_read_only(data: impl Into<PathBuf>) -> Result<FsStore, StoreError> {
        let data = data.into();
        let inner = spawn_blocking(move || Inner::open(data, false))
            .await
            .map_err(join_error)??;
        Ok(FsStore {
            inner: Arc::new(inner),
        })
    }

    fn writable(&self) -> Result<(), StoreError> {
        match self.inner._lock {
            Some(_) => Ok(()),
            None => Err(StoreError::Rejected(
                "this store was opened read-only".into(),
            )),
        }
    }

    /// The path of `key`'s file, after checking that `key` is in the layout
    /// and (belt and braces) that the path stays under `objects`.
    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        self.inner.join(key)
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        spawn_blocking(move || f(&inner))
            .await
            .map_err(join_error)?
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(io::Error::other(format!("storage task failed: {e}")))
}

impl Inner {
    fn open(data: PathBuf, exclusive: bool) -> Result<Inner, StoreError> {
        if !exclusive {
            let objects = data.join("objects").canonicalize()?;
            return Ok(Inner {
                data,
                objects,
                stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
                next_temp: AtomicU64::new(0),
                _lock: None,
            });
        }
        fs::create_dir_all(&data)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data.join("LOCK"))?;
        // std's flock wrapper (Rust 1.89+; the machines run 1.95).
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(StoreError::InUse(data)),
            Err(TryLockError::Error(e)) => return Err(e.into()),
        }
        let objects = data.join("objects");
        if !objects.is_dir() {
            fs::create_dir(&objects)?;
            sync_dir(&data)?;
        }
        let objects = objects.canonicalize()?;
        let removed = remove_temp_files(&objects)?;
        if removed > 0 {
            tracing::info!(removed, "removed temp files left by an interrupted write");
        }
        Ok(Inner {
            data,
            objects,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            next_temp: AtomicU64::new(0),
            _lock: Some(lock),
        })
    }

    fn join(&self, rel: &str) -> Result<PathBuf, StoreError> {
        let mut path = self.objects.clone();
        for segment in rel.split('/').filter(|s| !s.is_empty()) {
            path.push(segment);
        }
        let contained = path.starts_with(&self.objects)
            && path
                .strip_prefix(&self.objects)
                .is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))));
        if contained {
            Ok(path)
        } else {
            Err(StoreError::BadKey(rel.to_owned()))
        }
    }

    fn stripe(&self, key: &str) -> MutexGuard<'_, ()> {
        let index = key
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
            % STRIPES;
        // The guarded value is (): a panic elsewhere cannot leave it
        // inconsistent, so poisoning is ignored.
        self.stripes[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, path: &Path) -> Result<Option<Object>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(Object {
                etag: etag_of(&bytes),
                bytes: Bytes::from(bytes),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn put(
        &self,
        key: &str,
        path: &Path,
        bytes: &[u8],
        cond: &PutCondition,
    ) -> Result<PutOutcome, StoreError> {
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::BadKey(key.to_owned()))?;
        self.ensure_dir(dir)?;
        // Write and fsync outside the key's lock: only the check and the
        // rename need to be atomic.
        let temp = self.write_temp(dir, path, bytes)?;
        let _guard = self.stripe(key);
        let holds = match cond {
            PutCondition::Always => true,
            PutCondition::IfAbsent => !exists(path)?,
            PutCondition::IfMatch(want) => match fs::read(path) {
                Ok(current) => etag_of(&current) == *want,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(e.into()),
            },
        };
        if !holds {
            return Ok(PutOutcome::PreconditionFailed);
        }
        fs::rename(temp.path(), path)?;
        temp.committed();
        // The lock is held until the rename is durable, so no one acts on
        // a version a crash could still take back.
        sync_dir(dir)?;
        Ok(PutOutcome::Written(etag_of(bytes)))
    }

    fn write_temp(&self, dir: &Path, path: &Path, bytes: &[u8]) -> Result<TempFile, StoreError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let n = self.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = TempFile(Some(
            dir.join(format!("{TEMP_PREFIX}{name}.{}.{n}", std::process::id())),
        ));
        let mut file = File::create_new(temp.path())?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(temp)
    }

    fn delete(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let _guard = self.stripe(key);
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        // Directories are left in place even when empty: removing one could
        // race a concurrent put of another key into it.
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let dir = self.join(prefix)?;
        let mut keys = Vec::new();
        walk(&dir, prefix.trim_end_matches('/'), &mut keys)?;
        keys.retain(|(key, _)| tessera_crdt::keys::StorageKey::parse(key).is_some());
        keys.sort();
        Ok(keys)
    }

    /// Creates `dir` and any missing parents below `objects`, fsyncing each
    /// parent so the new entries survive a crash.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        let rel = dir
            .strip_prefix(&self.objects)
            .map_err(|_| StoreError::BadKey(dir.display().to_string()))?;
        let mut current = self.objects.clone();
        for component in rel.components() {
            let parent = current.clone();
            current.push(component);
            match fs::create_dir(&current) {
                Ok(()) => sync_dir(&parent)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// A temp file removed on drop unless it was renamed into place.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn committed(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove temp file");
            }
        }
    }
}

fn etag_of(bytes: &[u8]) -> ETag {
    ETag(blake3_hex(bytes))
}

fn exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends `key_prefix/...` for every file under `dir`; a missing `dir` is
/// an empty listing.
fn walk(dir: &Path, key_prefix: &str, keys: &mut Vec<(String, u64)>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        // Non-UTF-8 names cannot be keys.
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let key = format!("{key_prefix}/{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &key, keys)?;
        } else if kind.is_file() {
            keys.push((key, entry.metadata()?.len()));
        }
    }
    Ok(())
}

/// Removes temp files anywhere under `dir`; returns how many.
fn remove_temp_files(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            removed += remove_temp_files(&entry.path())?;
        } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[async_trait::async_trait]
impl Store for FsStore {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        let path = self.path_of(key)?;
        self.blocking(move |inner| inner.get(&path)).await
    }

    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        cond: PutCondition,
    ) -> Result<PutOutcome, StoreError> {
        self.writable()?;
        let path = self.path_of(key)?;
        let key = key.to_owned();
        self.blocking(move |inner| inner.put(&key, &path, &bytes, &cond))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.writable()?;
        let path = self.path_of(key)?;
        let key = key.to_owned();
        self.blocking(move |inner| inner.delete(&key, &path)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let sized = self.list_sizes(prefix).await?;
        Ok(sized.into_iter().map(|(key, _)| key).collect())
    }

    async fn list_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        validate_prefix(prefix)?;
        let prefix = prefix.to_owned();
        self.blocking(move |inner| inner.list(&prefix)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // The objects dir must still be there and readable (a vanished or
        // unmounted volume fails here).
        self.blocking(|inner| {
            fs::read_dir(&inner.objects)?;
            Ok(())
        })
        .await
    }

    fn describe(&self) -> String {
        format!("fs:{}", self.inner.data.display())
    }
}

#[cfg(test)]
#[path = "tests/fs.rs"]
mod tests;
