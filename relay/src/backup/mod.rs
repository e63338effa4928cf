//! Backups of vaults as plain Markdown and attachments, in their folder
//! layout, to a folder or an S3 prefix: `tessera-relay backup`, and
//! `serve --backup-every` ([`schedule`]).
//!
//! The decisions (what to write, what to move away, what to refuse) are the
//! core's ([`tessera_crdt::backup`]); this module reads the store, writes
//! the [`target::Target`] and keeps the manifest saved as it goes.

pub mod args;
pub mod metrics;
pub mod run;
mod s3;
pub mod schedule;
pub mod target;

use tessera_crdt::keys::{self, VaultId};

use crate::store::{Store, StoreError};
use args::BackupS3Args;
pub use run::{Options, Report, RunError};
pub use s3::S3TargetConfig;
use target::{Destination, DirTarget, S3Target, Target, TargetError};

/// Opens a destination for writing.
pub async fn open_target(
    dest: &Destination,
    s3: &BackupS3Args,
) -> Result<Box<dyn Target>, TargetError> {
    Ok(match dest {
        Destination::Dir(path) => Box::new(DirTarget::open(path).await?),
        Destination::S3 { bucket, prefix } => Box::new(
            S3Target::connect(S3TargetConfig {
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                endpoint: s3.backup_endpoint.clone(),
                region: s3.backup_region.clone(),
            })
            .await?,
        ),
    })
}

/// Every vault with something in storage, sorted.
pub async fn stored_vaults(store: &dyn Store) -> Result<Vec<VaultId>, StoreError> {
    let mut ids: Vec<VaultId> = store
        .list(keys::VAULTS_PREFIX)
        .await?
        .iter()
        .filter_map(|k| keys::StorageKey::parse(k))
        .map(|k| k.vault().clone())
        .collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    Ok(ids)
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    crate::vault::wall_ms()
}
