//! Counters and gauges for `/metrics`, in Prometheus' text format.
//!
//! Plain atomics: the hot path only increments. No vault or doc names appear
//! in labels, so the endpoint can stay unauthenticated without leaking them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// The relay's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub connections: AtomicI64,
    /// Vault actors running.
    pub vaults_loaded: AtomicI64,
    /// Docs in memory, summed over vaults (refreshed by each vault).
    pub docs_loaded: AtomicI64,
    /// Frames received.
    pub frames_in: AtomicU64,
    /// Bytes received in frames.
    pub bytes_in: AtomicU64,
    /// Frames sent.
    pub frames_out: AtomicU64,
    /// Bytes sent in frames.
    pub bytes_out: AtomicU64,
    /// Updates made durable in the log.
    pub updates_logged: AtomicU64,
    /// Snapshots written to storage.
    pub snapshots_written: AtomicU64,
    /// Snapshots skipped because the state was unchanged.
    pub snapshots_unchanged: AtomicU64,
    /// Bytes of write-ahead log on disk, summed over vaults.
    pub wal_bytes: AtomicI64,
    /// Age in ms of the oldest change not yet in a stored snapshot (max over vaults).
    pub snapshot_lag_ms: AtomicU64,
    /// Docs with changes waiting for a snapshot, summed over vaults.
    pub docs_dirty: AtomicI64,
    /// Scheduled backups (`tessera_backup_*`).
    pub backup: crate::backup::metrics::BackupMetrics,
    /// Garbage-collection runs finished (every vault visited once).
    pub gc_runs: AtomicU64,
    /// Objects removed by garbage collection.
    pub gc_deleted: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Bytes each vault holds in storage, as of its last collection.
    vault_storage: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts an error of `kind` (a short stable name).
    pub fn error(&self, kind: &'static str) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(kind).or_default() += 1;
        }
    }

    /// Records the bytes `vault` holds in storage.
    pub fn set_vault_storage(&self, vault: &str, bytes: u64) {
        if let Ok(mut m) = self.vault_storage.lock() {
            m.insert(vault.to_owned(), bytes);
        }
    }

    /// Renders the Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "tessera_connections",
            "Open WebSocket connections.",
            self.connections.load(Relaxed),
        );
        gauge(
            &mut out,
            "tessera_vaults_loaded",
            "Vaults with a running room.",
            self.vaults_loaded.load(Relaxed),
        );
        gauge(
            &mut out,
            "tessera_docs_loaded",
            "Documents held in memory.",
            self.docs_loaded.load(Relaxed),
        );
        gauge(
            &mut out,
            "tessera_docs_dirty",
            "Documents with changes not yet snapshotted.",
            self.docs_dirty.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_frames_in_total",
            "WebSocket frames received.",
            self.frames_in.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_bytes_in_total",
            "Bytes received in WebSocket frames.",
            self.bytes_in.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_frames_out_total",
            "WebSocket frames sent.",
            self.frames_out.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_bytes_out_total",
            "Bytes sent in WebSocket frames.",
            self.bytes_out.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_updates_logged_total",
            "Updates made durable in the write-ahead log.",
            self.updates_logged.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_snapshots_written_total",
            "Snapshots written to storage.",
            self.snapshots_written.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_snapshots_unchanged_total",
            "Snapshots skipped because the document had not changed.",
            self.snapshots_unchanged.load(Relaxed),
        );
        gauge(
            &mut out,
            "tessera_wal_bytes",
            "Bytes of write-ahead log on disk.",
            self.wal_bytes.load(Relaxed),
        );
        gauge(
            &mut out,
            "tessera_snapshot_lag_seconds",
            "Age of the oldest change not yet in a stored snapshot.",
            (self.snapshot_lag_ms.load(Relaxed) / 1000) as i64,
        );
        self.backup.render(&mut out);
        let _ = writeln!(
            out,
            "# HELP tessera_errors_total Errors by kind.\n# TYPE tessera_errors_total counter"
        );
        if let Ok(errors) = self.errors.lock() {
            for (kind, n) in errors.iter() {
                let _ = writeln!(out, "tessera_errors_total{{kind=\"{kind}\"}} {n}");
            }
        }
        counter(
            &mut out,
            "tessera_gc_runs_total",
            "Garbage-collection passes over every vault.",
            self.gc_runs.load(Relaxed),
        );
        counter(
            &mut out,
            "tessera_gc_deleted_objects_total",
            "Objects removed by garbage collection.",
            self.gc_deleted.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP tessera_vault_storage_bytes Bytes a vault holds in storage (as of its last collection).\n# TYPE tessera_vault_storage_bytes gauge"
        );
        if let Ok(sizes) = self.vault_storage.lock() {
            // Vault ids are [a-z0-9-]: nothing to escape in the label.
            for (vault, n) in sizes.iter() {
                let _ = writeln!(out, "tessera_vault_storage_bytes{{vault=\"{vault}\"}} {n}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_are_prometheus_text_with_errors_by_kind() {
        let m = Metrics::default();
        m.frames_in.fetch_add(3, Relaxed);
        m.error("token-expired");
        m.error("token-expired");
        let text = m.render();
        assert!(
            text.contains("# TYPE tessera_frames_in_total counter\ntessera_frames_in_total 3\n")
        );
        assert!(text.contains("tessera_errors_total{kind=\"token-expired\"} 2\n"));
    }
}
