//! The one contract every [`Store`] meets, run against each backend.
//!
//! Each check is an `async fn(&dyn Store, VaultId)` working only inside its
//! own vault, so checks can share one bucket. `contract_tests!` turns every
//! check into one `#[tokio::test]` per backend, named after the check.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use tessera_crdt::keys::{
    blob_key, blobs_prefix, head_key, manifest_key, snap_key, vault_prefix, ContentHash, DocId,
    VaultId,
};

use super::{FsStore, PutCondition, PutOutcome, Store, StoreError};

fn head(vault: &VaultId) -> String {
    head_key(vault, &DocId::index())
}

fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

async fn written(store: &dyn Store, key: &str, body: Bytes, cond: PutCondition) -> super::ETag {
    match store.put(key, body, cond).await.unwrap() {
        PutOutcome::Written(etag) => etag,
        PutOutcome::PreconditionFailed => panic!("put {key}: precondition failed"),
    }
}

async fn content(store: &dyn Store, key: &str) -> Option<Bytes> {
    store.get(key).await.unwrap().map(|o| o.bytes)
}

async fn get_of_a_missing_key_is_none(store: &dyn Store, vault: VaultId) {
    assert!(store.get(&head(&vault)).await.unwrap().is_none());
}

async fn put_then_get_returns_the_bytes_and_the_etag_put_returned(
    store: &dyn Store,
    vault: VaultId,
) {
    let etag = written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    let got = store.get(&head(&vault)).await.unwrap().unwrap();
    assert_eq!(got.bytes, bytes("v1"));
    assert_eq!(got.etag, etag);
}

async fn an_empty_object_round_trips(store: &dyn Store, vault: VaultId) {
    written(
        store,
        &manifest_key(&vault),
        Bytes::new(),
        PutCondition::Always,
    )
    .await;
    assert_eq!(
        content(store, &manifest_key(&vault)).await,
        Some(Bytes::new())
    );
}

async fn an_unconditional_put_replaces_the_object_and_its_etag(store: &dyn Store, vault: VaultId) {
    let first = written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    let second = written(store, &head(&vault), bytes("v2"), PutCondition::Always).await;
    assert_ne!(first, second);
    assert_eq!(content(store, &head(&vault)).await, Some(bytes("v2")));
}

async fn if_absent_creates_a_missing_key(store: &dyn Store, vault: VaultId) {
    written(store, &head(&vault), bytes("v1"), PutCondition::IfAbsent).await;
    assert_eq!(content(store, &head(&vault)).await, Some(bytes("v1")));
}

async fn if_absent_on_an_existing_key_fails_and_keeps_the_object(
    store: &dyn Store,
    vault: VaultId,
) {
    written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    let outcome = store
        .put(&head(&vault), bytes("v2"), PutCondition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::PreconditionFailed);
    assert_eq!(content(store, &head(&vault)).await, Some(bytes("v1")));
}

async fn if_match_with_the_current_etag_replaces_the_object(store: &dyn Store, vault: VaultId) {
    let etag = written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    let new = written(
        store,
        &head(&vault),
        bytes("v2"),
        PutCondition::IfMatch(etag),
    )
    .await;
    let got = store.get(&head(&vault)).await.unwrap().unwrap();
    assert_eq!((got.bytes, got.etag), (bytes("v2"), new));
}

async fn if_match_with_a_stale_etag_fails_and_keeps_the_object(store: &dyn Store, vault: VaultId) {
    let stale = written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    written(
        store,
        &head(&vault),
        bytes("v2"),
        PutCondition::IfMatch(stale.clone()),
    )
    .await;
    let outcome = store
        .put(&head(&vault), bytes("v3"), PutCondition::IfMatch(stale))
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::PreconditionFailed);
    assert_eq!(content(store, &head(&vault)).await, Some(bytes("v2")));
}

async fn if_match_on_a_missing_key_fails_and_creates_nothing(store: &dyn Store, vault: VaultId) {
    let elsewhere = written(
        store,
        &manifest_key(&vault),
        bytes("m"),
        PutCondition::Always,
    )
    .await;
    let outcome = store
        .put(&head(&vault), bytes("v1"), PutCondition::IfMatch(elsewhere))
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::PreconditionFailed);
    assert!(store.get(&head(&vault)).await.unwrap().is_none());
}

async fn delete_removes_the_object_and_deleting_again_is_ok(store: &dyn Store, vault: VaultId) {
    written(store, &head(&vault), bytes("v1"), PutCondition::Always).await;
    store.delete(&head(&vault)).await.unwrap();
    assert!(store.get(&head(&vault)).await.unwrap().is_none());
    store.delete(&head(&vault)).await.unwrap();
    store.delete(&manifest_key(&vault)).await.unwrap();
}

async fn list_returns_exactly_the_keys_under_the_prefix_sorted(store: &dyn Store, vault: VaultId) {
    let other = VaultId::new(&format!("{vault}-other")).unwrap();
    let hashes: Vec<ContentHash> = ["c", "a", "b"]
        .iter()
        .map(|s| ContentHash::of(s.as_bytes()))
        .collect();
    let mut blobs: Vec<String> = hashes.iter().map(|h| blob_key(&vault, h)).collect();
    let snap = snap_key(&vault, &DocId::index(), &hashes[0]);
    for key in blobs
        .iter()
        .chain([&snap, &head(&vault), &manifest_key(&vault), &head(&other)])
    {
        written(store, key, bytes("x"), PutCondition::Always).await;
    }
    blobs.sort();
    assert_eq!(store.list(&blobs_prefix(&vault)).await.unwrap(), blobs);

    let mut all = blobs.clone();
    all.extend([snap, head(&vault), manifest_key(&vault)]);
    all.sort();
    // vault_prefix ends in '/', so "{vault}-other" is not under it.
    assert_eq!(store.list(&vault_prefix(&vault)).await.unwrap(), all);
}

async fn list_of_a_prefix_with_no_objects_is_empty(store: &dyn Store, vault: VaultId) {
    assert_eq!(
        store.list(&vault_prefix(&vault)).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn list_returns_every_key_when_there_are_more_than_one_page(
    store: &dyn Store,
    vault: VaultId,
) {
    // S3 pages hold at most 1000 keys.
    let mut keys: Vec<String> = (0..1100u32)
        .map(|i| blob_key(&vault, &ContentHash::of(&i.to_le_bytes())))
        .collect();
    stream::iter(keys.clone())
        .map(|key| async move { store.put(&key, Bytes::new(), PutCondition::Always).await })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    keys.sort();
    assert_eq!(store.list(&blobs_prefix(&vault)).await.unwrap(), keys);
}

async fn keys_outside_the_layout_are_refused_before_any_io(store: &dyn Store, vault: VaultId) {
    for bad in [
        "../x",
        "vaults/../../etc/passwd",
        "vaults/UPPER/manifest",
        "/vaults/v/manifest",
        "",
    ] {
        let is_bad = |r: Result<(), StoreError>| matches!(r, Err(StoreError::BadKey(_)));
        assert!(is_bad(store.get(bad).await.map(drop)), "get {bad:?}");
        assert!(
            is_bad(
                store
                    .put(bad, bytes("x"), PutCondition::Always)
                    .await
                    .map(drop)
            ),
            "put {bad:?}"
        );
        assert!(is_bad(store.delete(bad).await), "delete {bad:?}");
    }
    for bad in ["../", "vaults/../../etc/", "vaults/UPPER/", "vaults", ""] {
        assert!(
            matches!(store.list(bad).await, Err(StoreError::BadKey(_))),
            "list {bad:?}"
        );
    }
    assert!(store.list(&vault_prefix(&vault)).await.unwrap().is_empty());
}

async fn of_concurrent_if_match_writers_on_one_head_exactly_one_wins(
    store: &dyn Store,
    vault: VaultId,
) {
    let key = head(&vault);
    let mut base = written(store, &key, bytes("base"), PutCondition::Always).await;
    // Several rounds, each racing on the previous winner's etag: one lucky
    // interleaving proves little.
    for round in 0..10 {
        let bodies: Vec<Bytes> = (0..8)
            .map(|i| Bytes::from(format!("round {round} writer {i}")))
            .collect();
        let outcomes: Vec<PutOutcome> = stream::iter(bodies.clone())
            .map(|body| store.put(&key, body, PutCondition::IfMatch(base.clone())))
            .buffer_unordered(8)
            .try_collect()
            .await
            .unwrap();
        let winners: Vec<_> = outcomes
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Written(etag) => Some(etag.clone()),
                PutOutcome::PreconditionFailed => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let stored = store.get(&key).await.unwrap().unwrap();
        assert!(bodies.contains(&stored.bytes), "round {round}");
        assert_eq!(stored.etag, winners[0], "round {round}");
        base = stored.etag;
    }
}

async fn of_concurrent_if_absent_creators_exactly_one_wins(store: &dyn Store, vault: VaultId) {
    let key = manifest_key(&vault);
    let outcomes: Vec<PutOutcome> = stream::iter(0..8)
        .map(|i| {
            store.put(
                &key,
                Bytes::from(format!("creator {i}")),
                PutCondition::IfAbsent,
            )
        })
        .buffer_unordered(8)
        .try_collect()
        .await
        .unwrap();
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, PutOutcome::Written(_)))
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
}

async fn ping_succeeds_on_a_working_store(store: &dyn Store, _vault: VaultId) {
    store.ping().await.unwrap();
    assert!(!store.describe().is_empty());
}

/// A store for one test, with whatever must live as long as it.
struct TestStore {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

async fn fs_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FsStore::open(dir.path().join("data"))
        .await
        .expect("open fs store");
    TestStore {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn s3_store() -> TestStore {
    TestStore {
        store: Arc::new(super::seaweedfs::s3_store().await),
        _dir: None,
    }
}

/// A vault id from a check's name: ids allow `[a-z0-9-]`, at most 64.
fn vault_for(check: &str) -> VaultId {
    let id: String = check.replace('_', "-").chars().take(58).collect();
    VaultId::new(id.trim_end_matches('-')).expect("valid vault id")
}

macro_rules! contract_tests {
    ($backend:ident, $make:path: $($check:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let test = $make().await;
                    super::$check(test.store.as_ref(), super::vault_for(stringify!($check))).await;
                }
            )+
        }
    };
}

macro_rules! for_each_backend {
    ($($check:ident),+ $(,)?) => {
        contract_tests!(fs, super::fs_store: $($check),+);
        contract_tests!(s3, super::s3_store: $($check),+);
    };
}

for_each_backend!(
    get_of_a_missing_key_is_none,
    put_then_get_returns_the_bytes_and_the_etag_put_returned,
    an_empty_object_round_trips,
    an_unconditional_put_replaces_the_object_and_its_etag,
    if_absent_creates_a_missing_key,
    if_absent_on_an_existing_key_fails_and_keeps_the_object,
    if_match_with_the_current_etag_replaces_the_object,
    if_match_with_a_stale_etag_fails_and_keeps_the_object,
    if_match_on_a_missing_key_fails_and_creates_nothing,
    delete_removes_the_object_and_deleting_again_is_ok,
    list_returns_exactly_the_keys_under_the_prefix_sorted,
    list_of_a_prefix_with_no_objects_is_empty,
    list_returns_every_key_when_there_are_more_than_one_page,
    keys_outside_the_layout_are_refused_before_any_io,
    of_concurrent_if_match_writers_on_one_head_exactly_one_wins,
    of_concurrent_if_absent_creators_exactly_one_wins,
    ping_succeeds_on_a_working_store,
);
