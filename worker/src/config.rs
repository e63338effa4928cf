//! The worker's settings, from Worker variables (`[vars]` in wrangler.toml or
//! `wrangler dev --var`) with the relay's names, units and defaults:
//! `TESSERA_SNAPSHOT_DEBOUNCE`, `TESSERA_SNAPSHOT_MAX_DELAY` (durations such
//! as `200ms`, `2s`, `5m`), `TESSERA_SNAPSHOT_KEEP`, `TESSERA_MAX_FRAME`,
//! `TESSERA_MAX_UPDATE`, `TESSERA_MAX_BLOB`, `TESSERA_MAX_DOCS`, and the rate
//! limits `TESSERA_MAX_FRAMES_PER_SEC`, `TESSERA_MAX_BYTES_PER_SEC`,
//! `TESSERA_MAX_CONNECTS_PER_MIN`, `TESSERA_MAX_SOCKETS_PER_TOKEN`,
//! `TESSERA_MAX_REQUESTS_PER_SEC` (0 turns one off) and
//! `TESSERA_NO_RATE_LIMITS=true`. Pure, so it is tested natively.

use tessera_crdt::rate::{RateLimits, Rates};
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
    /// `TESSERA_AUTO_CREATE_VAULTS=true`: any vault a valid token names is
    /// created on first use (test suites with a fresh vault per case). Off:
    /// vaults exist because an admin made them (`POST /v1/vaults/{vault}`),
    /// except `default`, which every deployment has.
    pub auto_create_vaults: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            room: RoomConfig::default(),
            snapshot_keep: DEFAULT_SNAPSHOT_KEEP,
            auto_create_vaults: false,
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
        c.room.rates = rates(&get)?;
        if let Some((n, v)) = get("TESSERA_AUTO_CREATE_VAULTS") {
            c.auto_create_vaults = boolean(n, &v)?;
        }
        Ok(c)
    }
}

/// The rate limits, as the relay's `--max-*-per-*` flags set them.
fn rates(
    get: &impl Fn(&'static str) -> Option<(&'static str, String)>,
) -> Result<RateLimits, ConfigError> {
    if let Some((n, v)) = get("TESSERA_NO_RATE_LIMITS") {
        if boolean(n, &v)? {
            return Ok(RateLimits::unlimited());
        }
    }
    let mut r = Rates::default();
    if let Some((n, v)) = get("TESSERA_MAX_FRAMES_PER_SEC") {
        r.frames_per_sec = number(n, &v)?;
    }
    if let Some((n, v)) = get("TESSERA_MAX_BYTES_PER_SEC") {
        r.bytes_per_sec = number(n, &v)?;
    }
    if let Some((n, v)) = get("TESSERA_MAX_CONNECTS_PER_MIN") {
        r.connects_per_min = number(n, &v)?;
    }
    if let Some((n, v)) = get("TESSERA_MAX_SOCKETS_PER_TOKEN") {
        r.sockets_per_token = number(n, &v)?;
    }
    if let Some((n, v)) = get("TESSERA_MAX_REQUESTS_PER_SEC") {
        r.requests_per_sec = number(n, &v)?;
    }
    Ok(RateLimits::from_rates(r))
}

fn boolean(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ConfigError {
            name,
            value: value.to_owned(),
            why: "expected true or false".to_owned(),
        }),
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
    fn rate_variables_set_the_rates_and_their_bursts_and_one_switch_turns_them_off() {
        let c = WorkerConfig::from_vars(|name| match name {
            "TESSERA_MAX_FRAMES_PER_SEC" => Some("10".into()),
            "TESSERA_MAX_SOCKETS_PER_TOKEN" => Some("0".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.room.rates.frames_per_sec, 10);
        assert_eq!(c.room.rates.frame_burst, 600);
        assert_eq!(c.room.rates.sockets_per_token, 0);
        let off =
            WorkerConfig::from_vars(|n| (n == "TESSERA_NO_RATE_LIMITS").then(|| "true".into()))
                .expect("valid");
        assert_eq!(off.room.rates, RateLimits::unlimited());
        assert!(WorkerConfig::from_vars(
            |n| (n == "TESSERA_NO_RATE_LIMITS").then(|| "maybe".into())
        )
        .is_err());
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let e = WorkerConfig::from_vars(|n| (n == "TESSERA_MAX_BLOB").then(|| "lots".into()))
            .expect_err("invalid");
        assert_eq!(e.name, "TESSERA_MAX_BLOB");
    }
}
