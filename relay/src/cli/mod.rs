//! The binary's subcommands. Errors end here as `anyhow` with context.

pub mod admin;
pub mod backup;
pub mod export;
pub mod serve;
pub mod setup;
pub mod tokens;
pub mod vault;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tessera_relay::config::CommonArgs;
use tessera_relay::store::{FsStore, S3Config, S3Store, Store};

/// Opens the configured store. `exclusive` takes the data dir's lock (the
/// relay itself); otherwise a filesystem store opens read-only beside it.
pub async fn open_store(common: &CommonArgs, exclusive: bool) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(bucket) = &common.s3.bucket {
        let cfg = S3Config {
            bucket: bucket.clone(),
            prefix: common.s3.prefix.clone(),
            endpoint: common.s3.endpoint.clone(),
            region: common.s3.region.clone(),
            path_style: common.s3.path_style,
        };
        let store = S3Store::connect(cfg).await.context("connecting to S3")?;
        return Ok(Arc::new(store));
    }
    let store = if exclusive {
        FsStore::open(&common.data).await
    } else {
        FsStore::open_read_only(&common.data).await
    };
    Ok(Arc::new(store.with_context(|| {
        format!("opening the data directory {}", common.data.display())
    })?))
}

/// The token secret: `--secret`/TESSERA_SECRET, else `<data>/secret`.
/// `create` generates and stores one (0600) when neither exists; the bool
/// says whether it was just created.
pub fn load_secret(common: &CommonArgs, create: bool) -> anyhow::Result<(String, bool)> {
    if let Some(s) = &common.secret {
        anyhow::ensure!(s.len() >= 16, "the secret must be at least 16 characters");
        return Ok((s.clone(), false));
    }
    let path = common.data.join("secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok((s.trim().to_owned(), false));
    }
    anyhow::ensure!(
        create,
        "no secret: set TESSERA_SECRET (or --secret), or run the relay once to generate {}",
        path.display()
    );
    let secret = tessera_crdt::token::generate_secret();
    write_private(&path, &secret)
        .with_context(|| format!("storing the new secret in {}", path.display()))?;
    Ok((secret, true))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}
