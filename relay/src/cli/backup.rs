//! `tessera-relay backup`: one vault, from storage, to a folder or S3.
//!
//! Like `export`, it reads stored snapshots, not a running relay's memory:
//! edits reach storage within the snapshot debounce (`serve --backup-every`
//! snapshots everything first).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_crdt::keys::VaultId;
use tessera_relay::backup::args::BackupArgs;
use tessera_relay::backup::target::Destination;
use tessera_relay::backup::{now_ms, open_target, run, Options};

/// Backs the vault up and prints what it did.
pub async fn run(a: BackupArgs) -> anyhow::Result<()> {
    let vault = VaultId::new(&a.vault)?;
    let dest = Destination::parse(&a.to)?;
    let store = super::open_store(&a.common, false).await?;
    let target = open_target(&dest, &a.s3)
        .await
        .with_context(|| format!("opening the backup destination {}", a.to))?;
    // Drawn on stderr, and only when it is a terminal.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = Options {
        complete: a.complete,
        batch: a.batch,
        now_ms: now_ms(),
    };
    let report = run::run(store.as_ref(), &vault, target.as_ref(), &opts, &bar)
        .await
        .with_context(|| format!("backing up vault {vault} to {}", target.describe()))?;
    bar.finish_and_clear();
    tracing::info!(
        vault = %vault,
        to = target.describe(),
        written = report.written,
        bytes = report.bytes,
        removed = report.removed,
        unchanged = report.unchanged,
        seconds = report.elapsed.as_secs_f64(),
        "backup done"
    );
    println!(
        "backup of {vault} to {}: {}",
        target.describe(),
        report.summary()
    );
    Ok(())
}
