//! Partitions: simulated devices edit, rename and delete notes while they go
//! offline and come back, and the relay is SIGKILLed and restarted; after
//! each round every device must show the same vault, no paragraph twice and
//! one live entry per path.

pub mod device;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use tessera_conformance::{fresh_vault, Target};

use crate::rng::Rng;
use crate::server::Server;
use device::Device;

/// What a partition run does.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Rounds (each ends with a convergence check).
    pub rounds: u32,
    /// Devices.
    pub devices: usize,
    /// Random events per round.
    pub steps: u32,
    /// Seed for every choice.
    pub seed: u64,
    /// Let renames target the shared paths (see [`Device::rename_onto_shared_paths`]).
    pub rename_onto_shared_paths: bool,
    /// Self-test of the checks: devices never resolve path conflicts, so a
    /// run with a first-sync collision must fail.
    pub skip_conflict_resolution: bool,
}

/// Totals of a run.
#[derive(Debug, Clone, Default)]
pub struct PartitionReport {
    /// Rounds that converged with every invariant holding.
    pub rounds: u32,
    /// User actions taken.
    pub actions: u64,
    /// Disconnects and reconnects.
    pub toggles: u64,
    /// Relay kill -9 + restarts.
    pub restarts: u64,
    /// First-sync path conflicts resolved.
    pub conflicts_resolved: u64,
    /// Live notes at the end.
    pub notes: usize,
}

impl PartitionReport {
    /// The line the binary ends with.
    pub fn summary(&self) -> String {
        format!(
            "partition rounds {}, actions {}, disconnects/reconnects {}, relay restarts {}, path conflicts resolved {}, live notes {}",
            self.rounds, self.actions, self.toggles, self.restarts, self.conflicts_resolved, self.notes
        )
    }
}

/// Runs the rounds against `server`, printing a line per round.
pub async fn run(
    server: &mut Server,
    opts: &PartitionOptions,
    mut line: impl FnMut(&str),
) -> Result<PartitionReport> {
    let mut rng = Rng::new(opts.seed);
    let vault = fresh_vault();
    let mut devices: Vec<Device> = (0..opts.devices)
        .map(|i| {
            let mut d = Device::new(&format!("d{i}"));
            d.rename_onto_shared_paths = opts.rename_onto_shared_paths;
            d
        })
        .collect();
    let mut report = PartitionReport::default();
    for round in 0..opts.rounds {
        let target = Target::new(&server.base, &server.secret);
        for _ in 0..opts.steps {
            let roll = rng.below(100);
            if roll < 4 {
                server.kill9();
                for d in devices.iter_mut() {
                    d.disconnect();
                }
                server.restart().await?;
                report.restarts += 1;
                for d in devices.iter_mut().filter(|d| d.online) {
                    d.connect(&target, &vault)
                        .await
                        .with_context(|| format!("{} reconnects", d.name))?;
                }
            } else if roll < 16 {
                let d = &mut devices[rng.index(opts.devices)];
                d.online = !d.online;
                if d.online {
                    d.connect(&target, &vault)
                        .await
                        .with_context(|| format!("{} connects", d.name))?;
                } else {
                    d.disconnect();
                }
                report.toggles += 1;
            } else {
                let i = rng.index(opts.devices);
                devices[i].act(&mut rng).await?;
                report.actions += 1;
                let ms = rng.below(5);
                for d in devices.iter_mut().filter(|d| d.connected()) {
                    d.pump(ms).await?;
                }
            }
        }
        report.conflicts_resolved += converge(
            &mut devices,
            &target,
            &vault,
            !opts.skip_conflict_resolution,
        )
        .await? as u64;
        check(&devices).with_context(|| format!("after round {round} (seed {})", opts.seed))?;
        report.rounds += 1;
        report.notes = devices[0].view().len();
        line(&format!(
            "round {round}: converged, {} live notes, {} actions, {} relay restarts so far",
            report.notes, report.actions, report.restarts
        ));
    }
    Ok(report)
}

/// Brings every device online and syncs until all agree and no device has
/// a conflict left to resolve. Returns how many conflicts were resolved.
async fn converge(
    devices: &mut [Device],
    target: &Target,
    vault: &str,
    resolve: bool,
) -> Result<usize> {
    let mut resolved = 0;
    for d in devices.iter_mut() {
        d.online = true;
    }
    // Each pass lets every device see the others' last changes; a conflict
    // resolution needs one more pass to reach everyone.
    for _ in 0..(devices.len() * 2 + 4) {
        let mut changed = 0;
        for d in devices.iter_mut() {
            if !d.connected() {
                d.connect(target, vault)
                    .await
                    .with_context(|| format!("{} connects", d.name))?;
            }
            d.settle()
                .await
                .with_context(|| format!("{} settles", d.name))?;
            if resolve {
                changed += d.resolve_conflicts().await?;
            }
            d.settle()
                .await
                .with_context(|| format!("{} settles", d.name))?;
        }
        resolved += changed;
        let first = devices[0].view();
        if changed == 0 && devices.iter().all(|d| d.view() == first) {
            return Ok(resolved);
        }
    }
    Ok(resolved)
}

/// The invariants of a converged round.
fn check(devices: &[Device]) -> Result<()> {
    let first = devices[0].view();
    for d in devices {
        let view = d.view();
        if view != first {
            let ids: BTreeSet<&String> = view.keys().chain(first.keys()).collect();
            let diff: Vec<String> = ids
                .into_iter()
                .filter(|id| view.get(*id) != first.get(*id))
                .map(|id| format!("{id}: {:?} vs {:?}", first.get(id), view.get(id)))
                .collect();
            bail!("{} differs from {}: {diff:?}", d.name, devices[0].name);
        }
        let conflicts = d.conflicted_paths();
        if !conflicts.is_empty() {
            bail!(
                "{} has paths with more than one live entry: {conflicts:?}",
                d.name
            );
        }
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, (path, text)) in &first {
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(other) = seen.insert(line, path) {
                bail!("paragraph {line:?} appears twice: in {other} and {path} ({id})");
            }
        }
    }
    Ok(())
}
