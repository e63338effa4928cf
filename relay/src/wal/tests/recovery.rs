//! Recovery: a torn tail is cut off and reported; damage anywhere else is an
//! error naming the file, never a silent skip.

use std::fs;
use std::path::Path;

use super::super::record;
use super::*;

/// Writes tickets `1..=n` with the default options and returns the (only)
/// segment's path.
async fn log_with(dir: &Path, n: u64) -> PathBuf {
    let (wal, _) = open(dir, &WalOptions::default());
    let h = wal.start();
    append_range(&h, 1, n).await;
    h.close().await.expect("close");
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    files[0].clone()
}

/// The byte offset where ticket `t`'s record starts in a log of 1..=n.
fn offset_of(t: u64) -> u64 {
    (1..t)
        .map(|i| record::encoded_len(&doc_for(i), &payload(i)))
        .sum()
}

fn expect_corrupt(dir: &Path) -> (PathBuf, u64, String) {
    match Wal::open(dir, WalOptions::default()) {
        Err(e @ WalError::Corrupt { .. }) => {
            let text = e.to_string();
            let WalError::Corrupt { path, offset, .. } = e else {
                unreachable!()
            };
            (path, offset, text)
        }
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok((_, rec)) => panic!("expected Corrupt, opened with {} entries", rec.len()),
    }
}

#[tokio::test]
async fn a_torn_tail_at_every_offset_of_the_last_record_keeps_every_complete_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = log_with(tmp.path(), 6).await;
    let whole = fs::read(&seg).expect("read");
    let start = offset_of(6) as usize;
    assert!(whole.len() > start + record::OVERHEAD);
    for cut in start..whole.len() {
        let case = tempfile::tempdir().expect("tempdir");
        let name = seg.file_name().expect("name");
        fs::write(case.path().join(name), &whole[..cut]).expect("write");

        let (wal, rec) = open(case.path(), &WalOptions::default());
        let got = by_ticket(&rec);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            (1..=5).collect::<Vec<_>>(),
            "cut at {cut}"
        );
        assert_eq!(rec.truncated_bytes, (cut - start) as u64, "cut at {cut}");
        assert_eq!(rec.next_ticket, 6);
        assert_eq!(
            fs::metadata(case.path().join(name)).expect("stat").len(),
            start as u64
        );

        // The log continues right where the complete records end.
        let h = wal.start();
        append_range(&h, 6, 6).await;
        h.close().await.expect("close");
        let (_, rec) = open(case.path(), &WalOptions::default());
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(
            by_ticket(&rec).get(&6).map(|(_, u)| u.clone()),
            Some(payload(6))
        );
    }
}

#[tokio::test]
async fn garbage_after_the_last_record_is_cut_off_and_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = log_with(tmp.path(), 4).await;
    let whole = fs::read(&seg).expect("read");
    let tails: Vec<Vec<u8>> = vec![
        vec![0; 4096],                                          // a zero-filled extension
        (0..300).map(|i| mix(i) as u8).collect(),               // random bytes
        record::MAGIC.iter().copied().chain([9; 40]).collect(), // a header that lies
    ];
    for tail in tails {
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&tail);
        fs::write(&seg, &bytes).expect("write");
        let (_, rec) = open(tmp.path(), &WalOptions::default());
        assert_eq!(by_ticket(&rec).len(), 4);
        assert_eq!(rec.truncated_bytes, tail.len() as u64);
        assert_eq!(fs::read(&seg).expect("read"), whole);
    }
}

#[tokio::test]
async fn a_bad_checksum_followed_by_valid_records_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = log_with(tmp.path(), 5).await;
    let mut bytes = fs::read(&seg).expect("read");
    let at = offset_of(3);
    // Flip a bit in ticket 3's update: its checksum fails, 4 and 5 are fine.
    bytes[at as usize + record::HEADER_LEN + 6] ^= 0x10;
    fs::write(&seg, &bytes).expect("write");

    let (path, offset, text) = expect_corrupt(tmp.path());
    assert_eq!(path, seg);
    assert_eq!(offset, at);
    assert!(text.contains(&seg.display().to_string()), "{text}");
    assert!(text.contains("checksum"), "{text}");
    // Refusing to start must not repair anything.
    assert_eq!(fs::read(&seg).expect("read"), bytes);
}

#[tokio::test]
async fn a_damaged_length_in_the_middle_is_an_error_not_an_allocation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = log_with(tmp.path(), 5).await;
    let mut bytes = fs::read(&seg).expect("read");
    let at = offset_of(2) as usize;
    bytes[at + 4..at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&seg, &bytes).expect("write");
    let (path, offset, _) = expect_corrupt(tmp.path());
    assert_eq!((path, offset), (seg, at as u64));
}

#[tokio::test]
async fn damage_in_an_older_segment_is_an_error_even_at_its_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = small_segments();
    let (wal, _) = open(tmp.path(), &opts);
    let h = wal.start();
    append_range(&h, 1, 30).await;
    h.close().await.expect("close");
    let files = segment_files(tmp.path());
    assert!(files.len() >= 3);
    let victim = &files[1];
    let len = fs::metadata(victim).expect("stat").len();
    fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .and_then(|f| f.set_len(len - 3))
        .expect("truncate");
    match Wal::open(tmp.path(), opts) {
        Err(WalError::Corrupt { path, .. }) => assert_eq!(&path, victim),
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r.len())),
    }
}

#[tokio::test]
async fn a_damaged_base_file_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), &WalOptions::default());
    let h = wal.start();
    append_range(&h, 1, 3).await;
    h.compact(2).await.expect("compact");
    h.close().await.expect("close");
    let base = tmp.path().join("base");
    let mut bytes = fs::read(&base).expect("read");
    bytes[5] ^= 1;
    fs::write(&base, bytes).expect("write");
    match Wal::open(tmp.path(), WalOptions::default()) {
        Err(WalError::Corrupt { path, .. }) => assert_eq!(path, base),
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r.len())),
    }
}

#[tokio::test]
async fn lowering_the_record_cap_below_stored_records_is_an_error_not_a_truncation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = log_with(tmp.path(), 3).await;
    let before = fs::read(&seg).expect("read");
    let tiny = WalOptions {
        max_record_bytes: record::OVERHEAD as u64,
        ..WalOptions::default()
    };
    match Wal::open(tmp.path(), tiny) {
        Err(WalError::Corrupt { path, reason, .. }) => {
            assert_eq!(path, seg);
            assert!(reason.contains("max_record_bytes"), "{reason}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r.len())),
    }
    assert_eq!(fs::read(&seg).expect("read"), before);
}
