//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;
use tessera_crdt::keys::{head_key, manifest_key, DocId, VaultId};

fn key() -> String {
    head_key(&VaultId::new("v1").unwrap(), &DocId::index())
}

#[tokio::test]
async fn a_second_open_of_the_same_data_dir_is_refused_while_the_first_lives() {
    let dir = tempfile::tempdir().unwrap();
    let first = FsStore::open(dir.path()).await.unwrap();
    let second = FsStore::open(dir.path()).await;
    assert!(
        matches!(second, Err(StoreError::InUse(_))),
        "{:?}",
        second.err()
    );
    drop(first);
    FsStore::open(dir.path()).await.unwrap();
}

#[tokio::test]
async fn a_temp_file_left_by_a_crashed_write_is_never_read_or_listed_and_is_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store
        .put(
            &key(),
            Bytes::from_static(b"complete"),
            PutCondition::Always,
        )
        .await
        .unwrap();
    drop(store);

    // What a crash between writing the temp file and renaming it leaves.
    let object = dir.path().join("objects").join(key());
    let temp = object.with_file_name(format!("{TEMP_PREFIX}head.1.0"));
    fs::write(&temp, b"partial").unwrap();

    let store = FsStore::open(dir.path()).await.unwrap();
    assert!(!temp.exists(), "temp file should be removed on open");
    let got = store.get(&key()).await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"complete");
    assert_eq!(store.list("vaults/v1/").await.unwrap(), vec![key()]);
}

#[tokio::test]
async fn a_temp_file_is_not_listed_even_before_it_is_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store
        .put(&key(), Bytes::from_static(b"x"), PutCondition::Always)
        .await
        .unwrap();
    let object = dir.path().join("objects").join(key());
    fs::write(
        object.with_file_name(format!("{TEMP_PREFIX}head.9.9")),
        b"p",
    )
    .unwrap();
    assert_eq!(store.list("vaults/v1/").await.unwrap(), vec![key()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_racing_a_writer_see_only_whole_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    let versions: Vec<Bytes> = (0..4u8).map(|i| Bytes::from(vec![i; 512 * 1024])).collect();
    store
        .put(&key(), versions[0].clone(), PutCondition::Always)
        .await
        .unwrap();

    let writer = {
        let (store, versions) = (store.clone(), versions.clone());
        tokio::spawn(async move {
            for i in 0..24 {
                let bytes = versions[i % versions.len()].clone();
                store
                    .put(&key(), bytes, PutCondition::Always)
                    .await
                    .unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let got = store.get(&key()).await.unwrap().unwrap();
        assert!(
            versions.contains(&got.bytes),
            "read a partial or mixed object"
        );
        assert_eq!(got.etag, etag_of(&got.bytes));
        reads += 1;
    }
    writer.await.unwrap();
}

#[tokio::test]
async fn bad_keys_write_nothing_anywhere_on_disk() {
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    let store = FsStore::open(&data).await.unwrap();
    for bad in [
        "../x",
        "vaults/../../x",
        "vaults/../../../x",
        "/x",
        "vaults/UPPER/manifest",
    ] {
        let put = store
            .put(bad, Bytes::from_static(b"evil"), PutCondition::Always)
            .await;
        assert!(matches!(put, Err(StoreError::BadKey(_))), "{bad}");
    }
    let outside: Vec<_> = fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec!["data"]);
    let inside: Vec<_> = fs::read_dir(data.join("objects")).unwrap().collect();
    assert!(inside.is_empty(), "{inside:?}");
}

#[tokio::test]
async fn objects_live_under_the_data_dir_at_their_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    let key = manifest_key(&VaultId::new("v1").unwrap());
    store
        .put(&key, Bytes::from_static(b"{}"), PutCondition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(
        fs::read(dir.path().join("objects/vaults/v1/manifest")).unwrap(),
        b"{}"
    );
    assert_eq!(store.describe(), format!("fs:{}", dir.path().display()));
}

#[tokio::test]
async fn ping_fails_when_the_objects_dir_has_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    store.ping().await.unwrap();
    fs::remove_dir_all(dir.path().join("objects")).unwrap();
    assert!(store.ping().await.is_err());
}
