//! Crash test with a real process: a child appends and prints each ticket
//! once it is reported durable; the parent `kill -9`s it at a seeded random
//! moment, reopens the log and checks every printed ticket is there.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::*;

/// Set in the child: the log directory to append to.
const CHILD_ENV: &str = "TESSERA_WAL_CRASH_DIR";
const CHILD_TEST: &str = "wal::tests::crash::crash_child_appends_until_killed";
/// The child compacts every this many tickets (keeping the last half).
const COMPACT_EVERY: u64 = 300;

fn crash_opts() -> WalOptions {
    WalOptions {
        segment_bytes: 16 << 10,
        ..WalOptions::default()
    }
}

/// The child's update for `ticket`: sizes vary so kills land mid-record.
fn crash_payload(ticket: u64) -> Bytes {
    let len = (mix(ticket ^ 0xC0FFEE) % 3000) as usize;
    Bytes::from(vec![(ticket % 251) as u8; len])
}

#[test]
#[ignore = "helper process for kill_9_at_random_moments_never_loses_a_ticket_reported_durable"]
fn crash_child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (wal, rec) = Wal::open(&dir, crash_opts()).expect("open");
        let h = wal.start();
        let mut durable = h.durable();
        let mut printed = *durable.borrow();
        let printer = tokio::spawn(async move {
            while durable.changed().await.is_ok() {
                let through = *durable.borrow_and_update();
                // Straight to the pipe, bypassing test-output capture.
                let mut out = std::io::stdout().lock();
                for t in printed + 1..=through {
                    writeln!(out, "durable {t}").expect("stdout");
                }
                out.flush().expect("stdout");
                printed = through;
            }
        });
        let mut next = rec.next_ticket;
        loop {
            if next % COMPACT_EVERY == 0 {
                let below = next - COMPACT_EVERY / 2;
                // Announced before it starts, so the parent knows the floor
                // may have moved even if the kill lands mid-compaction.
                let mut out = std::io::stdout().lock();
                writeln!(out, "compact {below}").expect("stdout");
                out.flush().expect("stdout");
                drop(out);
                h.compact(below).await.expect("compact");
            }
            h.append(next, doc_for(next), crash_payload(next))
                .await
                .expect("append");
            next += 1;
            if printer.is_finished() {
                panic!("the durability printer stopped");
            }
        }
    });
}

#[test]
fn kill_9_at_random_moments_never_loses_a_ticket_reported_durable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed = 0x07E5_5E7A_u64;
    let mut durable = BTreeSet::new();
    let mut max_floor = 1u64;
    let mut torn = 0;
    for cycle in 0..8 {
        seed = mix(seed);
        let target = 1 + seed % 600;
        let delay = Duration::from_micros(mix(seed) % 4000);

        let mut child = Command::new(&exe)
            .args([
                CHILD_TEST,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut note = |line: &str| {
            if let Some(t) = line.strip_prefix("durable ") {
                durable.insert(t.parse::<u64>().expect("ticket"));
                true
            } else {
                if let Some(b) = line.strip_prefix("compact ") {
                    max_floor = max_floor.max(b.parse().expect("floor"));
                }
                false
            }
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        while seen < target {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen += u64::from(note(&line)),
                Err(_) => {
                    let _ = child.kill();
                    panic!("cycle {cycle}: the child reported only {seen} durable tickets");
                }
            }
        }
        std::thread::sleep(delay);
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        reader.join().expect("reader");
        // Lines printed before the kill are still in the pipe: they count.
        for line in rx.try_iter() {
            note(&line);
        }

        let (wal, rec) = Wal::open(tmp.path(), crash_opts()).expect("reopen after kill -9");
        drop(wal);
        torn += u64::from(rec.truncated_bytes > 0);
        assert!(
            rec.floor <= max_floor,
            "cycle {cycle}: floor {} moved past {max_floor}",
            rec.floor
        );
        let got = by_ticket(&rec);
        for &t in durable.range(rec.floor..) {
            let (doc, update) = got
                .get(&t)
                .unwrap_or_else(|| panic!("cycle {cycle}: durable ticket {t} is missing"));
            assert_eq!(
                (doc, update),
                (&doc_for(t), &crash_payload(t)),
                "ticket {t}"
            );
        }
        let last = durable.last().copied().unwrap_or(0);
        assert!(
            rec.next_ticket > last,
            "cycle {cycle}: next ticket {} reuses {last}",
            rec.next_ticket
        );
    }
    eprintln!(
        "crash test: {} tickets reported durable over 8 kills, {torn} torn tails cut",
        durable.len()
    );
}
