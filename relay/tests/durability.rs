//! Durability of the real relay process: acknowledged means on disk.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use support::{Relay, SECRET};
use tessera_conformance::{fresh_doc, fresh_vault, Target};
use tessera_crdt::token::Scope;

/// A small deterministic generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_update_survives_kill_9_of_the_relay() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut relay = Relay::start(&tmp.path().join("data"), &[], &HashMap::new()).await;
    let vault = fresh_vault();
    let docs: Vec<String> = (0..20).map(|_| fresh_doc()).collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut acked: HashMap<String, Vec<String>> = HashMap::new();
    let (mut total_acked, mut total_sent) = (0usize, 0usize);
    for cycle in 0..4 {
        let target = Target::new(&relay.base, SECRET);
        let mut client = target
            .vault_client(&vault, Scope::Write)
            .await
            .expect("connects");
        for doc in &docs {
            client.open_and_sync(doc).await.expect("syncs");
        }
        // Write steadily, reading acks as they come, and pull the plug at a
        // seeded point mid-stream: early writes are acked, the last ones not.
        let mut sent = Vec::new();
        let kill_after = 50 + rng.next() % 250;
        for i in 0..kill_after {
            let doc = docs[(rng.next() % docs.len() as u64) as usize].clone();
            let text = format!("[c{cycle}w{i}]");
            let seq = client.append(&doc, &text).await.expect("sends");
            sent.push((doc, seq, text));
            if i % 8 == 0 {
                let _ = client
                    .pump(Instant::now() + Duration::from_millis(1), "acks")
                    .await;
            }
        }
        relay.kill9();
        for (doc, seq, text) in sent {
            total_sent += 1;
            if client.acked.get(&doc).copied().unwrap_or(0) >= seq {
                total_acked += 1;
                acked.entry(doc).or_default().push(text);
            }
        }
        relay.restart().await;
    }
    let target = Target::new(&relay.base, SECRET);
    let mut check = target
        .vault_client(&vault, Scope::Read)
        .await
        .expect("connects");
    let mut lost = Vec::new();
    for doc in &docs {
        check.open_and_sync(doc).await.expect("syncs");
        let text = check.text(doc);
        lost.extend(
            acked
                .get(doc)
                .into_iter()
                .flatten()
                .filter(|t| !text.contains(t.as_str()))
                .cloned(),
        );
    }
    println!(
        "kill -9 cycles 4, sent {total_sent}, acked {total_acked}, lost {}",
        lost.len()
    );
    assert!(
        total_acked > 0,
        "nothing was acknowledged: the test proved nothing"
    );
    assert!(
        lost.is_empty(),
        "acknowledged updates lost after kill -9: {lost:?}\n{}",
        relay.log_tail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_snapshots_every_changed_note_before_the_relay_exits() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    // A long debounce: only the shutdown flush can write these snapshots.
    let mut relay = Relay::start(
        &data,
        &["--snapshot-debounce", "10m", "--snapshot-max-delay", "1h"],
        &HashMap::new(),
    )
    .await;
    let vault = fresh_vault();
    let docs: Vec<String> = (0..3).map(|_| fresh_doc()).collect();
    let target = Target::new(&relay.base, SECRET);
    let mut client = target
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    for doc in &docs {
        client.open_and_sync(doc).await.expect("syncs");
        let seq = client
            .append(doc, "flushed on shutdown")
            .await
            .expect("sends");
        client.wait_ack(doc, seq).await.expect("acked");
    }
    for doc in &docs {
        let head = data.join(format!("objects/vaults/{vault}/docs/{doc}/head"));
        assert!(!head.exists(), "no snapshot is due yet");
    }
    relay.terminate();
    for doc in &docs {
        let head = data.join(format!("objects/vaults/{vault}/docs/{doc}/head"));
        assert!(head.exists(), "SIGTERM left {doc} without a snapshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_disconnected_with_a_reason_instead_of_losing_frames() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(
        &tmp.path().join("data"),
        &["--send-queue", "4"],
        &HashMap::new(),
    )
    .await;
    let vault = fresh_vault();
    let doc = fresh_doc();
    let target = Target::new(&relay.base, SECRET);
    let mut writer = target
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    let mut reader = target
        .vault_client(&vault, Scope::Read)
        .await
        .expect("connects");
    writer.open_and_sync(&doc).await.expect("syncs");
    reader.open_and_sync(&doc).await.expect("syncs");
    // The reader stops reading; the writer floods the doc with large updates.
    let big = "x".repeat(64 * 1024);
    for _ in 0..400 {
        writer.append(&doc, &big).await.expect("sends");
    }
    let (code, reason) = reader
        .wait_close()
        .await
        .expect("the slow reader is closed");
    assert_eq!(code, 4429, "{reason}");
    assert!(reason.contains("reconnect"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_a_note_s_versions_and_restore_brings_one_back_to_connected_devices() {
    use tessera_crdt::ids::{random_client_id, INDEX_DOC};
    use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let relay = Relay::start(&data, &[], &HashMap::new()).await;
    let (vault, doc) = (fresh_vault(), fresh_doc());
    let target = Target::new(&relay.base, SECRET);
    let mut client = target
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    client.open_and_sync(INDEX_DOC).await.expect("syncs");
    client.open_and_sync(&doc).await.expect("syncs");
    let mut index = Index::new(random_client_id());
    let entry = index
        .create_with_id(&doc, "Plans/Q3.md", EntryKind::Note, EntryMeta::default())
        .expect("entry");
    client.write_update(INDEX_DOC, &entry).await.expect("sends");
    let seq = client.replace(&doc, "version one").await.expect("sends");
    client.wait_ack(&doc, seq).await.expect("acked");
    let head = data.join(format!("objects/vaults/{vault}/docs/{doc}/head"));
    let history = |relay: &Relay| {
        relay.cli(&[
            "history",
            "--vault",
            &vault,
            "--path",
            "Plans/Q3.md",
            "--data",
            &data.display().to_string(),
        ])
    };
    let versions = |out: &str| {
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    for _ in 0..100 {
        if head.exists() && versions(&history(&relay)).len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seq = client.replace(&doc, "version two").await.expect("sends");
    client.wait_ack(&doc, seq).await.expect("acked");
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = versions(&history(&relay));
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        listed.len(),
        2,
        "history should list two versions:\n{}",
        history(&relay)
    );
    // Newest first: bring back the first version.
    relay.cli(&[
        "restore",
        "--vault",
        &vault,
        "--path",
        "Plans/Q3.md",
        "--snapshot",
        &listed[1],
        "--url",
        &relay.base,
        "--data",
        &data.display().to_string(),
    ]);
    client
        .wait_text(&doc, "version one")
        .await
        .expect("the restore reaches the connected device");
}
