//! The chaos and partition drivers, a few seeded rounds each, against the
//! relay binary that `cargo test --workspace` builds next to this test.

use std::path::PathBuf;

use tessera_reliability::chaos::{self, ChaosOptions};
use tessera_reliability::partition::{self, PartitionOptions};
use tessera_reliability::server::Server;

/// `target/<profile>/tessera-relay`: this test runs from `target/<profile>/deps/`.
fn relay_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("tessera-relay");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p tessera-relay` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_update_survives_seeded_kill_9_cycles_of_the_relay() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut relay = Server::relay(&relay_bin(), &tmp.path().join("data"), &[])
        .await
        .expect("relay starts");
    let opts = ChaosOptions {
        cycles: 3,
        seed: 11,
        writers: 2,
        docs: 4,
        max_kill_delay_ms: 800,
        sabotage: None,
    };
    let report = chaos::run(&mut relay, &opts, |l| println!("{l}"))
        .await
        .expect("chaos runs");
    println!("{}", report.summary());
    assert!(report.acked > 0, "nothing was acknowledged: proved nothing");
    assert_eq!(report.lost, 0, "lost: {:?}", report.lost_examples);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_partitioned_and_reconnected_across_relay_restarts_converge_without_duplicates() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut relay = Server::relay(&relay_bin(), &tmp.path().join("data"), &[])
        .await
        .expect("relay starts");
    let opts = PartitionOptions {
        rounds: 2,
        devices: 3,
        steps: 40,
        seed: 5,
        rename_onto_shared_paths: false,
        skip_conflict_resolution: false,
    };
    let report = partition::run(&mut relay, &opts, |l| println!("{l}"))
        .await
        .expect("every round converges with its invariants");
    assert_eq!(report.rounds, 2);
}
