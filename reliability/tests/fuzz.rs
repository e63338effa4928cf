//! A short, fixed-budget fuzz run per target: what `cargo test` guards.

use std::path::Path;

use tessera_reliability::fuzz::{self, Budget, Target};

#[test]
fn hostile_inputs_to_every_target_are_rejected_without_a_crash_a_quarantine_or_a_change() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    for target in Target::ALL {
        let seeds = fuzz::load_corpus(&corpus, target).expect("corpus readable");
        assert!(
            !seeds.is_empty(),
            "no committed corpus for {}",
            target.name()
        );
        let stats = fuzz::run(target, &seeds, Budget::Execs(2_000), 7, &failures).expect("runs");
        assert_eq!(
            (stats.crashes, stats.violations, stats.quarantined),
            (0, 0, 0),
            "{}: {:?}",
            stats.line(target),
            stats.failures
        );
        assert!(
            stats.rejected > 0 && stats.accepted > 0,
            "{}",
            stats.line(target)
        );
    }
}
