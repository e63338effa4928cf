//! Rotation and compaction.

use std::fs;

use super::*;

/// The first ticket of each segment, from the file names.
fn firsts(dir: &Path) -> Vec<u64> {
    segment_files(dir)
        .iter()
        .map(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .expect("segment name")
        })
        .collect()
}

#[tokio::test]
async fn rotation_starts_a_segment_named_after_its_first_ticket_once_the_size_limit_is_reached() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 60).await;
    h.close().await.expect("close");

    let files = segment_files(tmp.path());
    assert!(files.len() > 3, "{} segments", files.len());
    assert_eq!(
        files[0].file_name().and_then(|n| n.to_str()),
        Some("00000000000000000001.log")
    );
    for f in &files {
        assert!(fs::metadata(f).expect("stat").len() <= opts.segment_bytes);
    }
    let (_, rec) = open(tmp.path(), &opts);
    let got = by_ticket(&rec);
    for first in firsts(tmp.path()) {
        assert!(
            got.contains_key(&first),
            "segment {first} starts with its ticket"
        );
    }
    assert_eq!(got.len(), 60);
}

#[tokio::test]
async fn compaction_removes_only_segments_whose_every_ticket_is_covered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 60).await;
    let before = firsts(tmp.path());
    // Cover the first two segments and the first ticket of the third.
    let below = before[2] + 1;
    let report = h.compact(below).await.expect("compact");
    assert_eq!(report.segments, 2);
    assert_eq!(firsts(tmp.path()), before[2..].to_vec());
    h.close().await.expect("close");

    let (_, rec) = open(tmp.path(), &opts);
    assert_eq!(rec.floor, below);
    assert_eq!(rec.next_ticket, 61);
    // Covered entries in the kept segment are not handed back.
    let got = by_ticket(&rec);
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (below..=60).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn after_compacting_everything_and_reopening_next_ticket_continues_from_the_base() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 40).await;
    h.compact(41).await.expect("compact");
    assert!(segment_files(tmp.path()).is_empty());
    assert_eq!(h.size_bytes(), 0);
    h.close().await.expect("close");

    let (wal, rec) = open(tmp.path(), &opts);
    assert_eq!(rec.next_ticket, 41);
    assert!(rec.is_empty());
    let h = wal.start();
    assert_eq!(*h.durable().borrow(), 40);
    append_range(&h, 41, 43).await;
    h.close().await.expect("close");

    let (_, rec) = open(tmp.path(), &opts);
    assert_eq!(rec.next_ticket, 44);
    assert_eq!(
        by_ticket(&rec).keys().copied().collect::<Vec<_>>(),
        vec![41, 42, 43]
    );
}

#[tokio::test]
async fn compacting_at_or_below_the_floor_again_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 30).await;
    h.compact(20).await.expect("compact");
    let files = segment_files(tmp.path());
    assert_eq!(h.compact(20).await.expect("compact"), Default::default());
    assert_eq!(h.compact(5).await.expect("compact"), Default::default());
    assert_eq!(segment_files(tmp.path()), files);
    h.close().await.expect("close");
    let (_, rec) = open(tmp.path(), &opts);
    assert_eq!(rec.floor, 20);
}

#[tokio::test]
async fn a_compaction_interrupted_after_moving_the_floor_is_finished_on_open() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 60).await;
    h.close().await.expect("close");
    let before = firsts(tmp.path());
    // As if the process died between writing `base` and removing segments.
    super::super::segment::write_base(tmp.path(), before[2]).expect("base");

    let (_, rec) = open(tmp.path(), &opts);
    assert_eq!(firsts(tmp.path()), before[2..].to_vec());
    assert_eq!(by_ticket(&rec).keys().next().copied(), Some(before[2]));
    assert_eq!(rec.next_ticket, 61);
}
