//! The worker's settings, from Worker variables (`[vars]` in wrangler.toml or
//! `wrangler dev --var`) with the relay's names, units and defaults:
//! `TESSERA_SNAPSHOT_DEBOUNCE`, `TESSERA_SNAPSHOT_MAX_DELAY` (durations such
//! as `200ms`, `2s`, `5m`), `TESSERA_SNAPSHOT_KEEP`, `TESSERA_MAX_FRAME`,
//! `TESSERA_MAX_UPDATE`, `TESSERA_MAX_BLOB`, `TESSERA_MAX_DOCS`. Pure, so it is
//! tested natively.

use tessera_crdt::room::RoomConfig;

/// Snapshots kept per doc unless `TESSERA_SNAPSHOT_KEEP` says otherwise.
pub const DEFAULT_SNAPSHOT_KEEP: usize = 20;

/// A setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("worker variable {name}={value:?} is invalid: {why}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub why: String,
}

/// Everything configurable on the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The room's settings and limits.
    pub room: RoomConfig,
    /// Snapshots kept per doc.
    pub snapshot_keep: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            room: RoomConfig::default(),
            snapshot_keep: DEFAULT_SNAPSHOT_KEEP,
        }
    }
}

impl WorkerConfig {
    /// Reads the settings through `var` (a variable's value, if set).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, ConfigError> {
        let mut c = WorkerConfig::default();
        let get = |name: &'static str| var(name).map(|v| (name, v));
        if let Some((n, v)) = get("TESSERA_SNAPSHOT_DEBOUNCE") {
            c.room.snapshot_debounce_ms = duration_ms(n, &v)?;
        }
        if let Some((n, v)) = get("TESSERA_SNAPSHOT_MAX_DELAY") {
            c.room.snapshot_max_delay_ms = duration_ms(n, &v)?;
        }
        if let Some((n, v)) = get("TESSERA_SNAPSHOT_KEEP") {
            c.snapshot_keep = number(n, &v)?;
        }
        let limits = &mut c.room.limits;
        if let Some((n, v)) = get("TESSERA_MAX_FRAME") {
            limits.max_frame_bytes = number(n, &v)?;
        }
        if let Some((n, v)) = get("TESSERA_MAX_UPDATE") {
            limits.max_update_bytes = number(n, &v)?;
        }
        if let Some((n, v)) = get("TESSERA_MAX_BLOB") {
            limits.max_blob_bytes = number(n, &v)?;
        }
        if let Some((n, v)) = get("TESSERA_MAX_DOCS") {
            limits.max_docs_per_vault = number(n, &v)?;
        }
        Ok(c)
    }
}

fn number<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError {
        name,
        value: value.to_owned(),
        why: "expected a whole number".to_owned(),
    })
}

/// A duration like the relay's flags take: `200ms`, `30s` (or `30`), `5m`, `12h`, `30d`.
pub fn duration_ms(name: &'static str, value: &str) -> Result<u64, ConfigError> {
    let err = |why: &str| ConfigError {
        name,
        value: value.to_owned(),
        why: why.to_owned(),
    };
    let s = value.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| err("expected e.g. 200ms, 30s, 5m, 12h, 30d"))?;
    let factor = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(err("use ms, s, m, h or d")),
    };
    Ok(n.saturating_mul(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_the_relays_defaults_apply() {
        assert_eq!(
            WorkerConfig::from_vars(|_| None),
            Ok(WorkerConfig::default())
        );
    }

    #[test]
    fn durations_take_the_relays_units() {
        assert_eq!(duration_ms("X", "200ms"), Ok(200));
        assert_eq!(duration_ms("X", "2s"), Ok(2_000));
        assert_eq!(duration_ms("X", "2"), Ok(2_000));
        assert_eq!(duration_ms("X", "5m"), Ok(300_000));
        assert!(duration_ms("X", "5 weeks").is_err());
    }

    #[test]
    fn variables_override_snapshot_timing_and_limits() {
        let c = WorkerConfig::from_vars(|name| match name {
            "TESSERA_SNAPSHOT_DEBOUNCE" => Some("200ms".into()),
            "TESSERA_SNAPSHOT_MAX_DELAY" => Some("1s".into()),
            "TESSERA_MAX_BLOB" => Some("1048576".into()),
            "TESSERA_SNAPSHOT_KEEP" => Some("3".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.room.snapshot_debounce_ms, 200);
        assert_eq!(c.room.snapshot_max_delay_ms, 1_000);
        assert_eq!(c.room.limits.max_blob_bytes, 1 << 20);
        assert_eq!(c.snapshot_keep, 3);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let e = WorkerConfig::from_vars(|n| (n == "TESSERA_MAX_BLOB").then(|| "lots".into()))
            .expect_err("invalid");
        assert_eq!(e.name, "TESSERA_MAX_BLOB");
    }
}
