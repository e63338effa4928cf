//! The relay with its storage in a real S3-compatible server (SeaweedFS,
//! started by the test): key layout, no needless rewrites, a whole vault in
//! and out, and a storage outage.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use support::{Relay, Seaweed, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_doc, fresh_vault, Target};
use tessera_crdt::ids::{new_file_id, random_client_id, INDEX_DOC};
use tessera_crdt::keys::{self, StorageKey, VaultId};
use tessera_crdt::note::Note;
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
use tessera_relay::store::{S3Config, S3Store, Store};

async fn start(tmp: &Path, extra: &[&str]) -> (Seaweed, Relay) {
    let seaweed = Seaweed::start(&tmp.join("s3"));
    let mut args: Vec<String> = seaweed.relay_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let relay = Relay::start(&tmp.join("data"), &args, &seaweed.relay_env()).await;
    (seaweed, relay)
}

/// The bucket, seen directly (not through the relay).
fn bucket(seaweed: &Seaweed) -> S3Store {
    let env = &seaweed.env;
    let creds = Credentials::new(
        &env["AWS_ACCESS_KEY_ID"],
        &env["AWS_SECRET_ACCESS_KEY"],
        None,
        None,
        "test",
    );
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env["TESSERA_TEST_S3_REGION"].clone()))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build();
    let config = S3Config {
        bucket: env["TESSERA_TEST_S3_BUCKET"].clone(),
        prefix: None,
        endpoint: Some(env["TESSERA_TEST_S3_ENDPOINT"].clone()),
        region: Some(env["TESSERA_TEST_S3_REGION"].clone()),
        path_style: true,
    };
    S3Store::from_sdk_config(config, &sdk).expect("S3 store")
}

/// Every key under the vault with its ETag.
async fn objects(store: &S3Store, vault: &str) -> BTreeMap<String, String> {
    let vault = VaultId::new(vault).expect("vault id");
    let mut out = BTreeMap::new();
    for key in store.list(&keys::vault_prefix(&vault)).await.expect("list") {
        if let Some(obj) = store.get(&key).await.expect("get") {
            out.insert(key, obj.etag.0);
        }
    }
    out
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    // Hang protection only (snapshot retries back off while S3 is down).
    for _ in 0..3000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn write_and_ack(client: &mut VaultClient, doc: &str, text: &str) {
    let seq = client.append(doc, text).await.expect("sends");
    client.wait_ack(doc, seq).await.expect("acked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_follow_the_key_layout_and_an_unchanged_note_is_never_rewritten() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (seaweed, relay) = start(tmp.path(), &[]).await;
    let store = bucket(&seaweed);
    let (vault, busy, quiet) = (fresh_vault(), fresh_doc(), fresh_doc());
    let mut client = Target::new(&relay.base, SECRET)
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    for doc in [&busy, &quiet] {
        client.open_and_sync(doc).await.expect("syncs");
        write_and_ack(&mut client, doc, "first words").await;
    }
    let head = |doc: &str| format!("vaults/{vault}/docs/{doc}/head");
    until("both heads", || {
        let store = &store;
        let (a, b) = (head(&busy), head(&quiet));
        async move {
            store.get(&a).await.ok().flatten().is_some()
                && store.get(&b).await.ok().flatten().is_some()
        }
    })
    .await;
    let before = objects(&store, &vault).await;
    for key in before.keys() {
        let parsed =
            StorageKey::parse(key).unwrap_or_else(|| panic!("{key} is outside the key layout"));
        assert_eq!(&parsed.key(), key);
    }
    let quiet_before: Vec<_> = before
        .iter()
        .filter(|(k, _)| k.contains(quiet.as_str()))
        .collect();
    assert!(
        quiet_before.iter().any(|(k, _)| k.contains("/snap/")),
        "{before:?}"
    );

    for i in 0..5 {
        write_and_ack(&mut client, &busy, &format!(" more {i}")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let busy_head = before[&head(&busy)].clone();
    until("a new head for the busy note", || {
        let (store, key, old) = (&store, head(&busy), busy_head.clone());
        async move {
            store
                .get(&key)
                .await
                .ok()
                .flatten()
                .is_some_and(|o| o.etag.0 != old)
        }
    })
    .await;
    // Several debounce and maximum-delay periods pass without a change to the quiet note.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = objects(&store, &vault).await;
    let quiet_after: Vec<_> = after
        .iter()
        .filter(|(k, _)| k.contains(quiet.as_str()))
        .collect();
    assert_eq!(
        quiet_before, quiet_after,
        "the unchanged note was rewritten"
    );
    let out = relay.cli(&[
        "check",
        "--vault",
        &vault,
        "--s3-bucket",
        &seaweed.env["TESSERA_TEST_S3_BUCKET"],
        "--s3-endpoint",
        &seaweed.env["TESSERA_TEST_S3_ENDPOINT"],
        "--s3-region",
        "us-east-1",
        "--s3-path-style",
    ]);
    assert!(out.contains("2 notes ok, 0 bad"), "{out}");
}

/// Every file of a vault folder, by vault path.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

fn shared_vault(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vaults")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_imported_through_the_relay_exports_byte_identical() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (seaweed, mut relay) = start(tmp.path(), &[]).await;
    let vault = fresh_vault();
    let target = Target::new(&relay.base, SECRET);
    let token = target.token(&vault, Scope::Write);
    let mut client = target
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    client
        .open_and_sync(INDEX_DOC)
        .await
        .expect("syncs the index");
    let mut index = Index::new(random_client_id());
    let http = reqwest::Client::new();
    let source = files(&shared_vault("en"));
    for (path, bytes) in &source {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let meta = EntryMeta {
            hash: Some(hash.clone()),
            size: Some(bytes.len() as u64),
            mtime: None,
        };
        let entry_update = if path.ends_with(".md") {
            let text = std::str::from_utf8(bytes).expect("notes are UTF-8");
            let id = new_file_id();
            let mut note = Note::new(random_client_id());
            if let Some(update) = note.import_text(text).expect("imports") {
                client
                    .write_update(&id, &update)
                    .await
                    .expect("sends the note");
            }
            index
                .create_with_id(&id, path, EntryKind::Note, meta)
                .expect("index entry")
        } else {
            let url = format!("{}/v1/vaults/{vault}/blobs/{hash}", relay.base);
            let resp = http
                .put(url)
                .bearer_auth(&token)
                .body(bytes.clone())
                .send()
                .await
                .expect("uploads");
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            index
                .create(path, EntryKind::Blob, meta)
                .expect("index entry")
                .1
        };
        client
            .write_update(INDEX_DOC, &entry_update)
            .await
            .expect("sends the index entry");
    }
    let writes: Vec<(String, u64)> = client.writes.iter().map(|(d, n)| (d.clone(), *n)).collect();
    for (doc, seq) in writes {
        client.wait_ack(&doc, seq).await.expect("every write acked");
    }
    // Stopping the relay snapshots everything; export reads storage only.
    relay.terminate();
    let out = tmp.path().join("export");
    let mut args = vec![
        "export".to_owned(),
        "--vault".into(),
        vault.clone(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(seaweed.relay_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let printed = relay.cli(&args);
    let exported = files(&out);
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>(),
        "{printed}"
    );
    let differing: Vec<&String> = source
        .iter()
        .filter(|(p, b)| exported.get(*p) != Some(b))
        .map(|(p, _)| p)
        .collect();
    assert!(
        differing.is_empty(),
        "files differ after the round trip: {differing:?}"
    );
    println!("{printed}");
}

/// `GET /readyz`: the status and the JSON body.
async fn readyz(base: &str) -> (u16, serde_json::Value) {
    match reqwest::get(format!("{base}/readyz")).await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or_default())
        }
        Err(_) => (0, serde_json::Value::Null),
    }
}

/// How long SeaweedFS stays down: `TESSERA_S3_OUTAGE_SECS`, 5 s by default
/// (scripts/outage.sh runs the 30 s version for docs/reliability.md).
fn outage_length() -> Duration {
    let secs = std::env::var("TESSERA_S3_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_s3_is_down_the_relay_keeps_acking_reports_the_lag_and_snapshots_everything_once_it_returns(
) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (seaweed, mut relay) = start(tmp.path(), &["--max-snapshot-lag", "1s"]).await;
    let vault = fresh_vault();
    let docs: Vec<String> = (0..4).map(|_| fresh_doc()).collect();
    let mut client = Target::new(&relay.base, SECRET)
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    for doc in &docs {
        client.open_and_sync(doc).await.expect("syncs");
        write_and_ack(&mut client, doc, "before the outage.").await;
    }
    until("ready with every note snapshotted", || {
        let base = relay.base.clone();
        async move {
            let (status, body) = readyz(&base).await;
            status == 200 && body["docs_dirty"] == 0
        }
    })
    .await;

    seaweed.stop();
    let outage = outage_length();
    let started = tokio::time::Instant::now();
    let mut during: Vec<(String, String)> = Vec::new();
    let mut worst_lag = 0.0f64;
    // Every write is awaited: the relay must keep acking, from its WAL, for
    // the whole outage.
    for i in 0.. {
        if started.elapsed() >= outage {
            break;
        }
        let doc = &docs[i % docs.len()];
        let text = format!(" during-{i}.");
        write_and_ack(&mut client, doc, &text).await;
        during.push((doc.clone(), text));
        if i % 20 == 0 {
            worst_lag = worst_lag.max(relay.metric("tessera_snapshot_lag_seconds").await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until("/readyz to report the outage", || {
        let base = relay.base.clone();
        async move { readyz(&base).await.0 == 503 }
    })
    .await;
    let (_, body) = readyz(&relay.base).await;
    assert!(
        body["storage"]
            .as_str()
            .is_some_and(|s| s.starts_with("error")),
        "{body}"
    );
    assert!(body["snapshot_lag_ms"].as_u64() >= Some(1000), "{body}");
    assert!(body["docs_dirty"].as_u64() > Some(0), "{body}");
    let lag = relay.metric("tessera_snapshot_lag_seconds").await;
    worst_lag = worst_lag.max(lag);
    assert!(lag >= 1.0, "snapshot lag metric during the outage: {lag}");
    assert!(relay.metric("tessera_docs_dirty").await > 0.0);
    assert!(relay
        .metrics()
        .await
        .contains("tessera_errors_total{kind=\"snapshot-failed\"}"));

    seaweed.resume();
    until(
        "/readyz to report every note snapshotted after S3 returns",
        || {
            let base = relay.base.clone();
            async move {
                let (status, body) = readyz(&base).await;
                status == 200 && body["docs_dirty"] == 0
            }
        },
    )
    .await;
    assert_eq!(relay.metric("tessera_docs_dirty").await, 0.0);
    println!(
        "S3 outage of {} s: {} writes acked during it, worst snapshot lag {worst_lag:.1} s, then every note snapshotted",
        outage.as_secs(),
        during.len()
    );
    // No shutdown flush: only what the relay snapshotted on its own counts.
    relay.kill9();

    // A relay with an empty data dir has only S3 to go by.
    let fresh = Relay::start(
        &tmp.path().join("data-2"),
        &seaweed
            .relay_args()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &seaweed.relay_env(),
    )
    .await;
    let mut check = Target::new(&fresh.base, SECRET)
        .vault_client(&vault, Scope::Read)
        .await
        .expect("connects");
    let mut lost = Vec::new();
    for doc in &docs {
        check.open_and_sync(doc).await.expect("syncs");
        let text = check.text(doc);
        assert!(text.starts_with("before the outage."), "{text}");
        lost.extend(
            during
                .iter()
                .filter(|(d, t)| d == doc && !text.contains(t.as_str()))
                .map(|(_, t)| t.clone()),
        );
    }
    assert!(!during.is_empty(), "no write happened during the outage");
    assert!(
        lost.is_empty(),
        "missing from S3 after the outage: {lost:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_written_to_the_bucket_without_url_closes_the_tokens_open_socket() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (seaweed, relay) = start(tmp.path(), &["--revocation-poll", "200ms"]).await;
    let vault = fresh_vault();
    let target = Target::new(&relay.base, SECRET);
    let (token, id) = target.token_with_id(&vault, Scope::Write);
    let mut client =
        tessera_conformance::client::VaultClient::connect_with_token(&relay.base, &vault, &token)
            .await
            .expect("connects");
    client.barrier().await.expect("the socket works");
    let mut args = vec![
        "revoke".to_owned(),
        "--vault".into(),
        vault.clone(),
        "--token-id".into(),
        id,
    ];
    args.extend(seaweed.relay_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let printed = relay.cli(&args);
    assert!(printed.contains("--revocation-poll"), "{printed}");
    let (code, reason) = client
        .wait_close()
        .await
        .expect("the relay closes the socket");
    assert_eq!(code, 4403, "{reason}");
}
