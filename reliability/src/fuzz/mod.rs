//! Hostile-input fuzzing on stable Rust: a seeded, coverage-free mutation
//! fuzzer over the decoders and the room ([`targets`]). Every panic is
//! caught and counted as a crash; an invariant violation is counted apart.

pub mod mutate;
pub mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::rng::Rng;
pub use targets::{Outcome, Target};

/// Reading or writing the corpus failed.
#[derive(Debug, Error)]
pub enum CorpusError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How long one target runs: a number of executions, or a duration.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Stop after this many executions.
    Execs(u64),
    /// Stop after this long.
    Time(Duration),
}

/// What one target's run found.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Inputs executed (corpus replay included).
    pub execs: u64,
    /// Inputs accepted.
    pub accepted: u64,
    /// Inputs rejected with an error.
    pub rejected: u64,
    /// Inputs whose yrs panic was contained by quarantining the doc.
    pub quarantined: u64,
    /// Panics that escaped.
    pub crashes: u64,
    /// Invariant violations.
    pub violations: u64,
    /// Files the failing (or quarantining) inputs were saved to, with the reason.
    pub failures: Vec<(PathBuf, String)>,
}

impl Stats {
    /// One line for the report.
    pub fn line(&self, target: Target) -> String {
        format!(
            "fuzz {}: execs {}, accepted {}, rejected {}, quarantined {}, crashes {}, violations {}",
            target.name(),
            self.execs,
            self.accepted,
            self.rejected,
            self.quarantined,
            self.crashes,
            self.violations
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The corpus files for `target` under `dir` (missing folder: none).
pub fn load_corpus(dir: &Path, target: Target) -> Result<Vec<Vec<u8>>, CorpusError> {
    let folder = dir.join(target.name());
    if !folder.exists() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(io(&folder))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).map_err(io(p)))
        .collect()
}

/// Writes the built-in seeds of `target` under `dir/<target>/`.
pub fn write_corpus(dir: &Path, target: Target) -> Result<usize, CorpusError> {
    let folder = dir.join(target.name());
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let seeds = target.seeds();
    for (i, seed) in seeds.iter().enumerate() {
        let path = folder.join(format!("seed-{i:02}.bin"));
        std::fs::write(&path, seed).map_err(io(&path))?;
    }
    Ok(seeds.len())
}

/// Runs `target` on the corpus, then on mutations of it until `budget` is spent.
/// Failing inputs are saved under `crashes`.
pub fn run(
    target: Target,
    corpus: &[Vec<u8>],
    budget: Budget,
    seed: u64,
    crashes: &Path,
) -> Result<Stats, CorpusError> {
    let mut seeds = target.seeds();
    seeds.extend(corpus.iter().cloned());
    let mut rng = Rng::new(seed ^ target.name().len() as u64);
    let mut stats = Stats::default();
    let start = Instant::now();
    // Silence the default panic message per caught panic; the saved input says it all.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut replay = seeds.clone().into_iter();
    loop {
        let done = match budget {
            Budget::Execs(n) => stats.execs >= n,
            Budget::Time(d) => stats.execs % 64 == 0 && start.elapsed() >= d,
        };
        if done {
            break;
        }
        let input = replay
            .next()
            .unwrap_or_else(|| mutate::mutate(&mut rng, &seeds));
        stats.execs += 1;
        let failure = match catch_unwind(AssertUnwindSafe(|| target.exec(&input))) {
            Ok(Ok(Outcome::Accepted)) => {
                stats.accepted += 1;
                None
            }
            Ok(Ok(Outcome::Rejected)) => {
                stats.rejected += 1;
                None
            }
            Ok(Ok(Outcome::Quarantined)) => {
                stats.quarantined += 1;
                Some("quarantined the doc (a contained yrs panic)".to_owned())
            }
            Ok(Err(violation)) => {
                stats.violations += 1;
                Some(format!("invariant violated: {violation}"))
            }
            Err(payload) => {
                stats.crashes += 1;
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Some(format!("panic: {msg}"))
            }
        };
        if let Some(reason) = failure {
            if stats.failures.len() < 20 {
                std::fs::create_dir_all(crashes).map_err(io(crashes))?;
                let path = crashes.join(format!(
                    "{}-{}.bin",
                    target.name(),
                    blake3::hash(&input).to_hex()
                ));
                std::fs::write(&path, &input).map_err(io(&path))?;
                stats.failures.push((path, reason));
            }
        }
    }
    std::panic::set_hook(previous);
    Ok(stats)
}
