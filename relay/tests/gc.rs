//! Garbage collection against the real relay binary, with the filesystem
//! store and with SeaweedFS: a deleted note's doc and snapshots and a blob
//! no live entry references are removed once past the retention; a live
//! note, a blob a live entry references, a recently deleted note and a note
//! restored (undeleted) in time all survive. Retentions are set through the
//! flags: 1 ms ("past retention" after one pass) or an hour ("recent").

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use reqwest::Method;
use support::{Relay, Seaweed, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_vault, http, Target};
use tessera_crdt::gc::GcState;
use tessera_crdt::hash::blake3_hex;
use tessera_crdt::ids::INDEX_DOC;
use tessera_crdt::keys::{self, VaultId};
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
use tessera_relay::store::{FsStore, S3Config, S3Store, Store};
use yrs::{ReadTxn, StateVector, Transact};

struct Setup {
    relay: Relay,
    store: Arc<dyn Store>,
    /// Kept running for the test's length (None: the filesystem store).
    _seaweed: Option<Seaweed>,
    _tmp: tempfile::TempDir,
}

async fn start(s3: bool, retention: &str) -> Setup {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut args: Vec<String> = vec![
        "--gc-retention".into(),
        retention.into(),
        "--gc-interval".into(),
        "200ms".into(),
    ];
    if s3 {
        let seaweed = Seaweed::start(&tmp.path().join("s3"));
        args.extend(seaweed.relay_args());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let relay = Relay::start(&tmp.path().join("data"), &argv, &seaweed.relay_env()).await;
        let store: Arc<dyn Store> = Arc::new(bucket(&seaweed));
        return Setup {
            relay,
            store,
            _seaweed: Some(seaweed),
            _tmp: tmp,
        };
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let data = tmp.path().join("data");
    let relay = Relay::start(&data, &argv, &Default::default()).await;
    let store: Arc<dyn Store> = Arc::new(FsStore::open_read_only(&data).await.expect("fs store"));
    Setup {
        relay,
        store,
        _seaweed: None,
        _tmp: tmp,
    }
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

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    // Hang protection only: the condition, not the time, decides.
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A device's session on the vault, with its copy of the index.
struct Device {
    client: VaultClient,
    index: Index,
}

impl Device {
    async fn connect(relay: &Relay, vault: &str) -> Device {
        let mut client = Target::new(&relay.base, SECRET)
            .vault_client(vault, Scope::Write)
            .await
            .expect("connects");
        client.open_and_sync(INDEX_DOC).await.expect("syncs");
        let state = client
            .doc(INDEX_DOC)
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let index = Index::from_update(0xdead, &state).expect("index");
        Device { client, index }
    }

    async fn send_index(&mut self, update: &[u8]) {
        let seq = self
            .client
            .write_update(INDEX_DOC, update)
            .await
            .expect("sends");
        self.client.wait_ack(INDEX_DOC, seq).await.expect("acked");
    }

    /// Creates a note at `path` (entry first, then text); returns its id.
    async fn note(&mut self, path: &str, text: &str) -> String {
        let (id, update) = self
            .index
            .create(path, EntryKind::Note, EntryMeta::default())
            .expect("creates");
        self.send_index(&update).await;
        self.client.open_and_sync(&id).await.expect("opens");
        let seq = self.client.append(&id, text).await.expect("sends");
        self.client.wait_ack(&id, seq).await.expect("acked");
        id
    }

    /// Indexes `bytes` as an attachment at `path` (entry first, then upload).
    async fn blob(&mut self, relay: &Relay, vault: &str, path: &str, bytes: &[u8]) -> String {
        let hash = blake3_hex(bytes);
        let meta = EntryMeta {
            hash: Some(hash.clone()),
            size: Some(bytes.len() as u64),
            mtime: None,
        };
        let (id, update) = self
            .index
            .create(path, EntryKind::Blob, meta)
            .expect("creates");
        self.send_index(&update).await;
        upload(relay, vault, bytes).await;
        id
    }

    async fn delete(&mut self, id: &str) {
        let update = self.index.delete(id).expect("deletes");
        self.send_index(&update).await;
    }
}

async fn upload(relay: &Relay, vault: &str, bytes: &[u8]) -> String {
    let hash = blake3_hex(bytes);
    let token = Target::new(&relay.base, SECRET).token(vault, Scope::Write);
    http::request(
        Method::PUT,
        &format!("{}/v1/vaults/{vault}/blobs/{hash}", relay.base),
        Some(&token),
        Some(bytes.to_vec()),
    )
    .await
    .expect("uploads")
    .expect_success()
    .expect("stored");
    hash
}

async fn exists(store: &dyn Store, key: &str) -> bool {
    store.get(key).await.expect("store answers").is_some()
}

fn head(vault: &str, doc: &str) -> String {
    format!("vaults/{vault}/docs/{doc}/head")
}

fn blob_key(vault: &str, hash: &str) -> String {
    format!("vaults/{vault}/blobs/{hash}")
}

/// Keys under a doc (head and snapshots).
async fn doc_keys(store: &dyn Store, vault: &str, doc: &str) -> Vec<String> {
    let v = VaultId::new(vault).expect("vault id");
    store
        .list(&keys::docs_prefix(&v))
        .await
        .expect("lists")
        .into_iter()
        .filter(|k| k.contains(doc))
        .collect()
}

async fn gc_passes(relay: &Relay) -> f64 {
    relay.metric("tessera_gc_runs_total").await
}

/// Waits for two full passes to start and finish after now.
async fn two_more_passes(relay: &Relay) {
    let start = gc_passes(relay).await;
    until("two garbage-collection passes", || async move {
        gc_passes(relay).await >= start + 2.0
    })
    .await;
}

async fn past_retention_is_collected_and_everything_referenced_survives(s3: bool) {
    let s = start(s3, "1ms").await;
    let (relay, store) = (&s.relay, s.store.as_ref());
    let vault = fresh_vault();
    let mut device = Device::connect(relay, &vault).await;
    let live = device.note("keep.md", "kept text").await;
    let gone = device.note("gone.md", "deleted text").await;
    device
        .blob(relay, &vault, "img.png", b"a referenced picture")
        .await;
    let kept_hash = blake3_hex(b"a referenced picture");
    let orphan_hash = upload(relay, &vault, b"a blob nothing references").await;
    until("both notes snapshotted", || async {
        exists(store, &head(&vault, &live)).await && exists(store, &head(&vault, &gone)).await
    })
    .await;
    device.delete(&gone).await;

    until(
        "the deleted note and the unreferenced blob collected",
        || async {
            doc_keys(store, &vault, &gone).await.is_empty()
                && !exists(store, &blob_key(&vault, &orphan_hash)).await
        },
    )
    .await;
    two_more_passes(relay).await;
    assert!(
        exists(store, &head(&vault, &live)).await,
        "the live note survives"
    );
    assert!(
        exists(store, &head(&vault, INDEX_DOC)).await,
        "the index survives"
    );
    assert!(
        exists(store, &blob_key(&vault, &kept_hash)).await,
        "a blob a live entry references survives"
    );
    assert!(exists(store, &keys::manifest_key(&VaultId::new(&vault).unwrap())).await);
    let mut reader = Device::connect(relay, &vault).await;
    reader.client.open_and_sync(&live).await.expect("syncs");
    assert_eq!(reader.client.text(&live), "kept text");
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains(&format!("tessera_vault_storage_bytes{{vault=\"{vault}\"}}")),
        "per-vault storage is reported"
    );
    assert!(relay.metric("tessera_gc_deleted_objects_total").await >= 3.0);
}

async fn within_retention_a_deleted_note_survives_and_a_restored_one_leaves_the_candidates(
    s3: bool,
) {
    let s = start(s3, "1h").await;
    let (relay, store) = (&s.relay, s.store.as_ref());
    let vault = fresh_vault();
    let mut device = Device::connect(relay, &vault).await;
    let recent = device.note("recent.md", "deleted a moment ago").await;
    let back = device.note("back.md", "deleted, then restored").await;
    until("both notes snapshotted", || async {
        exists(store, &head(&vault, &recent)).await && exists(store, &head(&vault, &back)).await
    })
    .await;
    device.delete(&recent).await;
    device.delete(&back).await;
    let gc_key = keys::gc_key(&VaultId::new(&vault).unwrap());
    let candidates = || async {
        match store.get(&gc_key).await.expect("store answers") {
            Some(obj) => GcState::decode(&obj.bytes).expect("gc state").candidates,
            None => Default::default(),
        }
    };
    until("both deleted notes are candidates", || async {
        let c = candidates().await;
        c.contains_key(&format!("doc/{recent}")) && c.contains_key(&format!("doc/{back}"))
    })
    .await;
    // Undeleted on a device (what restoring a deleted note does).
    let undelete = undelete_update(&device.index, &back);
    device.send_index(&undelete).await;
    until("the restored note leaves the candidates", || async {
        !candidates().await.contains_key(&format!("doc/{back}"))
    })
    .await;
    two_more_passes(relay).await;
    assert!(
        !doc_keys(store, &vault, &recent).await.is_empty(),
        "a recently deleted note is kept"
    );
    assert!(
        exists(store, &head(&vault, &back)).await,
        "the restored note is kept"
    );
    assert!(candidates().await.contains_key(&format!("doc/{recent}")));
    // Its history is still there to restore from.
    let token = Target::new(&relay.base, SECRET).token(&vault, Scope::Read);
    let a = http::request(
        Method::GET,
        &format!("{}/v1/vaults/{vault}/history?doc={recent}", relay.base),
        Some(&token),
        None,
    )
    .await
    .expect("history");
    let body = a.json().expect("json");
    assert!(
        body["snapshots"].as_array().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
}

/// An index update setting `deleted: false` on entry `id` (yrs map write).
fn undelete_update(index: &Index, id: &str) -> Vec<u8> {
    use yrs::{Map, MapRef};
    let doc = index.doc();
    let files = doc.get_or_insert_map("files");
    let mut txn = doc.transact_mut();
    let entry = files
        .get(&txn, id)
        .and_then(|v| v.cast::<MapRef>().ok())
        .expect("entry map");
    entry.insert(&mut txn, "deleted", false);
    txn.encode_update_v1()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_past_retention_is_collected_and_everything_referenced_survives() {
    past_retention_is_collected_and_everything_referenced_survives(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_past_retention_is_collected_and_everything_referenced_survives() {
    past_retention_is_collected_and_everything_referenced_survives(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_within_retention_a_deleted_note_survives_and_a_restored_one_leaves_the_candidates() {
    within_retention_a_deleted_note_survives_and_a_restored_one_leaves_the_candidates(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_within_retention_a_deleted_note_survives_and_a_restored_one_leaves_the_candidates() {
    within_retention_a_deleted_note_survives_and_a_restored_one_leaves_the_candidates(true).await;
}
