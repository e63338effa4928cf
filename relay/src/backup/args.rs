//! The command-line options of `backup` and of `serve`'s scheduled backups.

use std::time::Duration;

use clap::Args;

use crate::config::{parse_duration, CommonArgs};

/// How to reach an S3 destination; credentials come from the standard AWS
/// chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, IAM role).
#[derive(Debug, Clone, Default, Args)]
pub struct BackupS3Args {
    /// Endpoint URL of an S3-compatible service for `s3://` destinations
    /// (R2, SeaweedFS, MinIO…); addressed path-style. None means AWS.
    #[arg(long = "backup-endpoint", env = "TESSERA_BACKUP_ENDPOINT")]
    pub backup_endpoint: Option<String>,
    /// Region of the backup bucket (`auto` for R2).
    #[arg(long = "backup-region", env = "TESSERA_BACKUP_REGION")]
    pub backup_region: Option<String>,
}

/// `backup`'s options.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The vault to back up.
    #[arg(long)]
    pub vault: String,
    /// Where to: a folder, or `s3://bucket/prefix`.
    #[arg(long, env = "TESSERA_BACKUP_TO")]
    pub to: String,
    /// Rewrite every file, not only those changed since the last backup.
    #[arg(long)]
    pub complete: bool,
    /// Files written between two saves of the manifest: a killed run
    /// redoes at most this many.
    #[arg(long, env = "TESSERA_BACKUP_BATCH", default_value_t = 64)]
    pub batch: usize,
    /// S3 destination options.
    #[command(flatten)]
    pub s3: BackupS3Args,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `serve`'s scheduled backups: off unless both `--backup-every` and
/// `--backup-to` are given.
#[derive(Debug, Clone, Default, Args)]
pub struct ScheduleArgs {
    /// Back up every this long (e.g. 6h); the first run is one interval
    /// after start.
    #[arg(long = "backup-every", env = "TESSERA_BACKUP_EVERY", value_parser = parse_duration)]
    pub backup_every: Option<Duration>,
    /// Where to: a folder or `s3://bucket/prefix`; each vault goes to
    /// `{destination}/{vault}`.
    #[arg(long = "backup-to", env = "TESSERA_BACKUP_TO")]
    pub backup_to: Option<String>,
    /// Only these vaults (repeat the option); all stored vaults when omitted.
    #[arg(
        long = "backup-vault",
        env = "TESSERA_BACKUP_VAULT",
        value_delimiter = ','
    )]
    pub backup_vaults: Vec<String>,
    /// S3 destination options.
    #[command(flatten)]
    pub s3: BackupS3Args,
}
