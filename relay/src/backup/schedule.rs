//! `serve --backup-every 6h --backup-to …`: backups on a timer, inside the
//! relay, from the same store the relay writes.

use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use tessera_crdt::keys::VaultId;
use tracing::{info, warn};

use super::args::ScheduleArgs;
use super::target::Destination;
use super::{open_target, run, stored_vaults, Options};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::vault::Vaults;

/// What a scheduled backup needs, checked at start-up.
pub struct Schedule {
    every: Duration,
    dest: Destination,
    only: Vec<VaultId>,
    args: ScheduleArgs,
}

impl Schedule {
    /// The schedule the options ask for: `None` when backups are off; an
    /// error when `--backup-every` lacks a destination or an option is
    /// invalid, so a typo fails the start instead of silently never backing up.
    pub fn from_args(args: &ScheduleArgs) -> Result<Option<Schedule>, String> {
        let (every, to) = match (args.backup_every, &args.backup_to) {
            (None, None) => return Ok(None),
            (Some(every), Some(to)) => (every, to),
            (Some(_), None) => return Err("--backup-every needs --backup-to".into()),
            // TESSERA_BACKUP_TO alone is also `tessera-relay backup`'s
            // destination: an environment shared by both must not stop the relay.
            (None, Some(_)) => {
                tracing::info!("--backup-to is set without --backup-every: no scheduled backups");
                return Ok(None);
            }
        };
        if every.is_zero() {
            return Err("--backup-every must be longer than 0".into());
        }
        let dest = Destination::parse(to).map_err(|e| e.to_string())?;
        let only = args
            .backup_vaults
            .iter()
            .map(|v| VaultId::new(v).map_err(|e| format!("--backup-vault {v:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Some(Schedule {
            every,
            dest,
            only,
            args: args.clone(),
        }))
    }

    /// Runs forever: every interval, snapshot what the relay holds in
    /// memory, then back up each vault to `{destination}/{vault}`.
    pub fn spawn(self, store: Arc<dyn Store>, vaults: Arc<Vaults>, metrics: Arc<Metrics>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate: skip it
            loop {
                tick.tick().await;
                // The backup reads storage; recent edits are in the log and
                // in memory until snapshotted.
                vaults.flush_all().await;
                self.run_once(store.as_ref(), &metrics).await;
            }
        });
    }

    async fn run_once(&self, store: &dyn Store, metrics: &Metrics) {
        let ids = if self.only.is_empty() {
            match stored_vaults(store).await {
                Ok(ids) => ids,
                Err(e) => {
                    metrics.backup.failed();
                    warn!(error = %e, "scheduled backup: listing vaults failed");
                    return;
                }
            }
        } else {
            self.only.clone()
        };
        for vault in ids {
            let dest = self.dest.child(vault.as_str());
            let opts = Options {
                complete: false,
                batch: 64,
                now_ms: super::now_ms(),
            };
            let result = async {
                let target = open_target(&dest, &self.args.s3).await?;
                let report = run::run(
                    store,
                    &vault,
                    target.as_ref(),
                    &opts,
                    &ProgressBar::hidden(),
                )
                .await?;
                Ok::<_, super::RunError>((report, target.describe()))
            }
            .await;
            match result {
                Ok((report, to)) => {
                    metrics.backup.succeeded(&report, opts.now_ms / 1000);
                    info!(
                        vault = %vault,
                        to,
                        written = report.written,
                        bytes = report.bytes,
                        removed = report.removed,
                        unchanged = report.unchanged,
                        seconds = report.elapsed.as_secs_f64(),
                        "scheduled backup done"
                    );
                }
                // Created but never written to: nothing to back up yet.
                Err(super::RunError::NoIndex(_)) => {
                    tracing::debug!(vault = %vault, "scheduled backup: the vault has no notes yet");
                }
                Err(e) => {
                    metrics.backup.failed();
                    warn!(vault = %vault, error = %e, "scheduled backup failed; the next run continues from its manifest");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(every: Option<u64>, to: Option<&str>, vaults: &[&str]) -> ScheduleArgs {
        ScheduleArgs {
            backup_every: every.map(Duration::from_secs),
            backup_to: to.map(str::to_owned),
            backup_vaults: vaults.iter().map(|v| v.to_string()).collect(),
            ..ScheduleArgs::default()
        }
    }

    #[test]
    fn backups_are_off_unless_an_interval_and_a_destination_are_given() {
        assert!(Schedule::from_args(&args(None, None, &[]))
            .unwrap()
            .is_none());
        assert!(Schedule::from_args(&args(None, Some("/b"), &[]))
            .unwrap()
            .is_none());
        assert!(
            Schedule::from_args(&args(Some(3600), Some("s3://b/p"), &[]))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_half_or_wrongly_configured_schedule_fails_the_start() {
        assert!(Schedule::from_args(&args(Some(3600), None, &[])).is_err());
        assert!(Schedule::from_args(&args(Some(0), Some("/b"), &[])).is_err());
        assert!(Schedule::from_args(&args(Some(3600), Some("s3://"), &[])).is_err());
        assert!(Schedule::from_args(&args(Some(3600), Some("/b"), &["../x"])).is_err());
    }
}
