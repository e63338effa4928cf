//! Specification tests for the write-ahead log. Recovery, compaction,
//! property, crash and benchmark tests live in the submodules.

mod bench;
mod compaction;
mod crash;
mod props;
mod recovery;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{Recovered, Wal, WalError, WalHandle, WalOptions};

/// Small segments so a handful of records rotate.
fn small_segments() -> WalOptions {
    WalOptions {
        segment_bytes: 512,
        ..WalOptions::default()
    }
}

/// A deterministic update for `ticket`, of a length that varies with it.
fn payload(ticket: u64) -> Bytes {
    let len = (mix(ticket) % 180) as usize;
    let seed = ticket.to_le_bytes();
    Bytes::from(
        (0..len)
            .map(|i| seed[i % 8] ^ (i as u8))
            .collect::<Vec<_>>(),
    )
}

/// The doc a ticket's update belongs to in tests that do not care.
fn doc_for(ticket: u64) -> String {
    ["index", "aaaa", "bbbb"][(ticket % 3) as usize].to_owned()
}

/// splitmix64: cheap, seeded, good enough to pick sizes and moments.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every recovered entry keyed by ticket.
fn by_ticket(rec: &Recovered) -> BTreeMap<u64, (String, Bytes)> {
    rec.docs
        .iter()
        .flat_map(|(doc, entries)| {
            entries
                .iter()
                .map(move |(t, u)| (*t, (doc.clone(), u.clone())))
        })
        .collect()
}

fn open(dir: &Path, opts: &WalOptions) -> (Wal, Recovered) {
    Wal::open(dir, opts.clone()).expect("open the log")
}

/// Appends tickets `from..=to` with [`payload`] and [`doc_for`], and waits
/// until they are durable.
async fn append_range(h: &WalHandle, from: u64, to: u64) {
    for t in from..=to {
        h.append(t, doc_for(t), payload(t)).await.expect("append");
    }
    h.wait_durable(to).await.expect("durable");
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

fn disk_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| std::fs::metadata(p).expect("stat").len())
        .sum()
}

#[tokio::test]
async fn an_empty_directory_opens_with_next_ticket_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("wal").join("vault");
    let (wal, rec) = open(&dir, &WalOptions::default());
    assert_eq!(rec.next_ticket, 1);
    assert!(rec.is_empty());
    assert_eq!(rec.truncated_bytes, 0);
    let h = wal.start();
    assert_eq!(*h.durable().borrow(), 0);
    assert_eq!(h.size_bytes(), 0);
    h.close().await.expect("close");
}

#[tokio::test]
async fn appended_records_come_back_on_reopen_grouped_per_doc_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = WalOptions::default();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 30).await;
    h.close().await.expect("close");

    let (_, rec) = open(tmp.path(), &opts);
    assert_eq!(rec.next_ticket, 31);
    assert_eq!(rec.len(), 30);
    for (doc, entries) in &rec.docs {
        let tickets: Vec<u64> = entries.iter().map(|(t, _)| *t).collect();
        let expected: Vec<u64> = (1..=30).filter(|t| doc_for(*t) == *doc).collect();
        assert_eq!(tickets, expected, "doc {doc}");
        for (t, update) in entries {
            assert_eq!(update, &payload(*t));
        }
    }
    assert_eq!(
        rec.logged(),
        vec![
            ("aaaa".to_owned(), 1, 28),
            ("bbbb".to_owned(), 2, 29),
            ("index".to_owned(), 3, 30),
        ]
    );
}

#[tokio::test]
async fn the_durable_watermark_starts_at_the_last_recovered_ticket() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    append_range(&h, 1, 5).await;
    h.close().await.expect("close");
    let (wal, rec) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    assert_eq!(*h.durable().borrow(), rec.next_ticket - 1);
    append_range(&h, 6, 7).await;
    assert_eq!(*h.durable().borrow(), 7);
    h.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs_and_every_ticket_becomes_durable() {
    const N: u64 = 1000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    // Tickets are issued and queued under one lock, as the vault actor
    // does; the waiting for durability is what runs concurrently.
    let next = Arc::new(tokio::sync::Mutex::new(1u64));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let (h, next) = (h.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let ticket = {
                let mut next = next.lock().await;
                let t = *next;
                *next += 1;
                h.append(t, doc_for(t), payload(t)).await.expect("append");
                t
            };
            h.wait_durable(ticket).await.expect("durable");
            ticket
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.expect("task"));
    }
    done.sort_unstable();
    assert_eq!(done, (1..=N).collect::<Vec<_>>());
    let stats = h.stats();
    eprintln!(
        "{N} concurrent appends: {} fsyncs, {} commits",
        stats.fsyncs, stats.commits
    );
    assert_eq!(*h.durable().borrow(), N);
    assert_eq!(stats.appends, N);
    assert!(
        stats.fsyncs * 10 <= N,
        "{N} appends took {} fsyncs; group commit should share them",
        stats.fsyncs
    );
    h.close().await.expect("close");
    let (_, rec) = open(tmp.path(), &WalOptions::default());
    assert_eq!(by_ticket(&rec).len() as u64, N);
}

#[tokio::test]
async fn tickets_out_of_order_are_refused_when_appended() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    h.append(5, "index", payload(5)).await.expect("append");
    for stale in [5, 4] {
        match h.append(stale, "index", payload(stale)).await {
            Err(WalError::OutOfOrder { ticket, last: 5 }) => assert_eq!(ticket, stale),
            other => panic!("expected OutOfOrder, got {other:?}"),
        }
    }
    h.wait_durable(5).await.expect("the log still works");
    h.close().await.expect("close");

    let (wal, rec) = open(tmp.path(), &WalOptions::default());
    assert_eq!(rec.next_ticket, 6);
    let h = wal.start();
    assert!(matches!(
        h.try_append(3, "index", payload(3)),
        Err(WalError::OutOfOrder { ticket: 3, last: 5 })
    ));
    h.close().await.expect("close");
}

#[tokio::test]
async fn an_update_over_the_record_cap_is_refused_before_it_is_queued() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = WalOptions {
        max_record_bytes: 1024,
        ..WalOptions::default()
    };
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    let big = Bytes::from(vec![7u8; 1024]);
    assert!(matches!(
        h.append(1, "index", big).await,
        Err(WalError::TooLarge {
            ticket: 1,
            max: 1024,
            ..
        })
    ));
    // The refused ticket was never queued, so it can be used again.
    h.append(1, "index", payload(1)).await.expect("append");
    h.wait_durable(1).await.expect("durable");
    h.close().await.expect("close");
}

#[tokio::test]
async fn size_bytes_counts_every_segment_byte_on_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 40).await;
    assert_eq!(h.size_bytes(), disk_bytes(tmp.path()));
    assert!(h.stats().segments > 1);
    h.compact(20).await.expect("compact");
    assert_eq!(h.size_bytes(), disk_bytes(tmp.path()));
    h.close().await.expect("close");
    let (wal, _) = open(tmp.path(), &opts);
    assert_eq!(wal.size_bytes(), disk_bytes(tmp.path()));
}

#[tokio::test]
async fn appends_after_close_report_the_log_closed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    let other = h.clone();
    h.close().await.expect("close");
    assert!(matches!(
        other.append(1, "index", payload(1)).await,
        Err(WalError::Closed)
    ));
}

#[test]
fn vault_dirs_stay_inside_the_data_directory() {
    let data = Path::new("/data");
    assert_eq!(
        super::vault_dir(data, "my-vault").expect("valid"),
        Path::new("/data/wal/my-vault")
    );
    assert!(super::vault_dir(data, "../etc").is_err());
    assert!(super::vault_dir(data, "a/b").is_err());
}
