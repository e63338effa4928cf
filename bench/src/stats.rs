//! Latency percentiles.

use serde_json::{json, Value};

/// Percentile `p` (0..=1) of sorted `values`, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// p50 / p99 / max of `values` (milliseconds), rounded to microseconds.
pub fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(|a, b| a.total_cmp(b));
    let r = |v: f64| (v * 1000.0).round() / 1000.0;
    json!({
        "n": values.len(),
        "p50": r(percentile(&values, 0.5)),
        "p99": r(percentile(&values, 0.99)),
        "max": r(values.last().copied().unwrap_or(0.0)),
    })
}
