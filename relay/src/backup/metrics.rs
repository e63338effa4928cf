//! `tessera_backup_*` in `/metrics`: what scheduled backups did.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::run::Report;

/// Counters of the scheduled backups (summed over vaults).
#[derive(Debug, Default)]
pub struct BackupMetrics {
    runs: AtomicU64,
    failures: AtomicU64,
    files_written: AtomicU64,
    bytes_written: AtomicU64,
    files_removed: AtomicU64,
    last_duration_ms: AtomicU64,
    last_success_unix: AtomicU64,
}

impl BackupMetrics {
    /// Counts a finished vault backup.
    pub fn succeeded(&self, report: &Report, now_unix: u64) {
        self.runs.fetch_add(1, Relaxed);
        self.files_written.fetch_add(report.written as u64, Relaxed);
        self.bytes_written.fetch_add(report.bytes, Relaxed);
        self.files_removed.fetch_add(report.removed as u64, Relaxed);
        self.last_duration_ms
            .store(report.elapsed.as_millis() as u64, Relaxed);
        self.last_success_unix.store(now_unix, Relaxed);
    }

    /// Counts a failed vault backup.
    pub fn failed(&self) {
        self.runs.fetch_add(1, Relaxed);
        self.failures.fetch_add(1, Relaxed);
    }

    /// Appends the Prometheus text lines.
    pub fn render(&self, out: &mut String) {
        let rows: [(&str, &str, &str, String); 7] = [
            (
                "tessera_backup_runs_total",
                "counter",
                "Vault backups run.",
                self.runs.load(Relaxed).to_string(),
            ),
            (
                "tessera_backup_failures_total",
                "counter",
                "Vault backups that failed.",
                self.failures.load(Relaxed).to_string(),
            ),
            (
                "tessera_backup_files_written_total",
                "counter",
                "Files written to backups.",
                self.files_written.load(Relaxed).to_string(),
            ),
            (
                "tessera_backup_bytes_written_total",
                "counter",
                "Bytes written to backups.",
                self.bytes_written.load(Relaxed).to_string(),
            ),
            (
                "tessera_backup_files_removed_total",
                "counter",
                "Files moved to .tessera-backup/deleted/ because the vault deleted them.",
                self.files_removed.load(Relaxed).to_string(),
            ),
            (
                "tessera_backup_last_duration_seconds",
                "gauge",
                "Duration of the last successful vault backup.",
                format!("{:.3}", self.last_duration_ms.load(Relaxed) as f64 / 1000.0),
            ),
            (
                "tessera_backup_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the last successful vault backup (0: none yet).",
                self.last_success_unix.load(Relaxed).to_string(),
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }
}
