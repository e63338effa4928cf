//! A micro benchmark: prints appends/s and fsyncs. It asserts only that
//! everything became durable, never a timing (shared CI machines vary).
//! See the numbers with `cargo test -p tessera-relay bench -- --nocapture`.

use std::time::{Duration, Instant};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_10k_appends_print_their_rate_and_fsync_count() {
    const N: u64 = 10_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    let update = Bytes::from(vec![0x5a; 200]);

    let started = Instant::now();
    for t in 1..=N {
        h.append(t, "index", update.clone()).await.expect("append");
    }
    h.wait_durable(N).await.expect("durable");
    let burst = started.elapsed();
    let s = h.stats();
    eprintln!(
        "wal bench, burst: {N} appends of 200 B in {:.0} ms = {:.0} appends/s, {} fsyncs ({:.1} appends per fsync), {} commits",
        burst.as_secs_f64() * 1e3,
        N as f64 / burst.as_secs_f64(),
        s.fsyncs,
        N as f64 / s.fsyncs.max(1) as f64,
        s.commits,
    );

    // Paced like a busy vault: about one append per millisecond.
    const PACED: u64 = 1_000;
    let before = h.stats();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let started = Instant::now();
    for t in N + 1..=N + PACED {
        tick.tick().await;
        h.append(t, "index", update.clone()).await.expect("append");
    }
    h.wait_durable(N + PACED).await.expect("durable");
    let paced = started.elapsed();
    let fsyncs = h.stats().fsyncs - before.fsyncs;
    eprintln!(
        "wal bench, paced: {PACED} appends at ~1k/s in {:.0} ms, {fsyncs} fsyncs ({:.1} appends per fsync)",
        paced.as_secs_f64() * 1e3,
        PACED as f64 / fsyncs.max(1) as f64,
    );
    assert_eq!(h.stats().appends, N + PACED);
    h.close().await.expect("close");
}
