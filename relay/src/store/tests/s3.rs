//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;
use crate::store::seaweedfs;
use tessera_crdt::keys::{head_key, manifest_key, vault_prefix, DocId, VaultId};

fn key() -> String {
    head_key(&VaultId::new("v1").unwrap(), &DocId::index())
}

#[test]
fn prefixes_are_normalised_to_end_in_one_slash() {
    assert_eq!(normalise_prefix(None).unwrap(), "");
    assert_eq!(normalise_prefix(Some("")).unwrap(), "");
    assert_eq!(normalise_prefix(Some("/")).unwrap(), "");
    assert_eq!(normalise_prefix(Some("tessera")).unwrap(), "tessera/");
    assert_eq!(
        normalise_prefix(Some("/apps/tessera/")).unwrap(),
        "apps/tessera/"
    );
}

#[test]
fn prefixes_with_empty_or_dot_segments_are_refused() {
    for bad in ["a//b", "a/../b", "./a", "a/."] {
        assert!(
            matches!(normalise_prefix(Some(bad)), Err(StoreError::Rejected(_))),
            "{bad}"
        );
    }
}

#[test]
fn credentials_in_an_endpoint_url_are_not_described() {
    assert_eq!(
        redact_userinfo("https://key:secret@host:9000/x"),
        "https://host:9000/x"
    );
    assert_eq!(
        redact_userinfo("http://127.0.0.1:8333"),
        "http://127.0.0.1:8333"
    );
}

#[tokio::test]
async fn describe_names_bucket_prefix_and_endpoint() {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .build();
    let store = S3Store::from_sdk_config(
        S3Config {
            bucket: "b".into(),
            prefix: Some("p".into()),
            endpoint: Some("http://127.0.0.1:1".into()),
            region: None,
            path_style: true,
        },
        &sdk,
    )
    .unwrap();
    assert_eq!(store.describe(), "s3://b/p/ @ http://127.0.0.1:1");
}

#[tokio::test]
async fn requests_with_wrong_credentials_are_rejected_not_retried() {
    let store = seaweedfs::s3_store_with_wrong_credentials().await;
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
    let err = store.get(&key()).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_missing_bucket_is_rejected_not_read_as_a_missing_object() {
    let store = seaweedfs::s3_store_on_a_missing_bucket().await;
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
    let err = store.get(&key()).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
    let err = store.delete(&key()).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err}");
}

#[tokio::test]
async fn the_key_prefix_is_prepended_on_the_server_and_stripped_from_listings() {
    let prefixed = seaweedfs::s3_store().await;
    let vault = VaultId::new("prefix-check").unwrap();
    let key = manifest_key(&vault);
    prefixed
        .put(&key, Bytes::from_static(b"m"), PutCondition::Always)
        .await
        .unwrap();
    assert_eq!(
        prefixed.list(&vault_prefix(&vault)).await.unwrap(),
        vec![key.clone()]
    );
    // The raw object sits under the prefix.
    let raw = prefixed
        .client
        .get_object()
        .bucket(&prefixed.bucket)
        .key(format!("{}{key}", prefixed.prefix))
        .send()
        .await;
    assert!(raw.is_ok(), "{:?}", raw.err());
    assert!(prefixed.prefix.starts_with("test-"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_retryable() {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("k", "s", None, None, "test"),
        ))
        .build();
    let store = S3Store::from_sdk_config(
        S3Config {
            bucket: "b".into(),
            // Port 1 on loopback: connection refused, at once.
            endpoint: Some("http://127.0.0.1:1".into()),
            path_style: true,
            ..S3Config::default()
        },
        &sdk,
    )
    .unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}
