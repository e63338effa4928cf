//! Tests of the parent module (kept beside it as a child module, so
//! they can reach its private items).

use super::*;
use proptest::prelude::*;

const FILE: &str = "0123456789abcdef0123456789abcdef";

fn v() -> VaultId {
    VaultId::new("my-vault").unwrap()
}

fn d() -> DocId {
    DocId::new(FILE).unwrap()
}

fn h() -> ContentHash {
    ContentHash::of(b"x")
}

#[test]
fn keys_follow_the_documented_layout() {
    let hash = h().to_string();
    assert_eq!(manifest_key(&v()), "vaults/my-vault/manifest");
    assert_eq!(
        head_key(&v(), &d()),
        format!("vaults/my-vault/docs/{FILE}/head")
    );
    assert_eq!(
        snap_key(&v(), &d(), &h()),
        format!("vaults/my-vault/docs/{FILE}/snap/{hash}")
    );
    assert_eq!(
        blob_key(&v(), &h()),
        format!("vaults/my-vault/blobs/{hash}")
    );
    assert_eq!(
        head_key(&v(), &DocId::index()),
        "vaults/my-vault/docs/index/head"
    );
}

#[test]
fn prefixes_cover_exactly_their_keys() {
    let snap = snap_key(&v(), &d(), &h());
    assert!(snap.starts_with(&snap_prefix(&v(), &d())));
    assert!(snap.starts_with(&docs_prefix(&v())));
    assert!(head_key(&v(), &d()).starts_with(&docs_prefix(&v())));
    assert!(!head_key(&v(), &d()).starts_with(&snap_prefix(&v(), &d())));
    assert!(blob_key(&v(), &h()).starts_with(&blobs_prefix(&v())));
    assert!(manifest_key(&v()).starts_with(&vault_prefix(&v())));
    assert!(vault_prefix(&v()).starts_with(VAULTS_PREFIX));
    // "my-vault" must not list "my-vault2".
    assert!(!vault_prefix(&VaultId::new("my-vault2").unwrap()).starts_with(&vault_prefix(&v())));
}

#[test]
fn ids_with_slashes_dots_uppercase_or_empty_are_refused() {
    for bad in ["", "a/b", "..", "../a", "A", "a.b", "/", "a/", " a"] {
        assert!(VaultId::new(bad).is_err(), "vault {bad:?}");
        assert!(DocId::new(bad).is_err(), "doc {bad:?}");
        assert_eq!(ContentHash::new(bad), Err(KeyError::Hash), "hash {bad:?}");
    }
    assert!(DocId::new(&FILE.to_uppercase()).is_err());
    assert!(ContentHash::new(&h().as_str().to_uppercase()).is_err());
    assert!(DocId::new(&format!("{}/..", &FILE[..29])).is_err());
}

#[test]
fn ids_are_validated_when_deserialised() {
    assert!(serde_json::from_str::<VaultId>(r#""../x""#).is_err());
    assert!(serde_json::from_str::<DocId>(r#""Index""#).is_err());
    assert!(serde_json::from_str::<ContentHash>(r#""ab""#).is_err());
    let doc: DocId = serde_json::from_str(r#""index""#).unwrap();
    assert_eq!(doc, DocId::index());
}

#[test]
fn parsing_a_built_key_gives_back_its_parts() {
    let keys = [
        StorageKey::Manifest { vault: v() },
        StorageKey::Gc { vault: v() },
        StorageKey::Tokens { vault: v() },
        StorageKey::Doc {
            vault: v(),
            doc: d(),
            kind: KeyKind::Head,
        },
        StorageKey::Doc {
            vault: v(),
            doc: DocId::index(),
            kind: KeyKind::Snapshot(h()),
        },
        StorageKey::Blob {
            vault: v(),
            hash: h(),
        },
    ];
    for key in keys {
        assert_eq!(StorageKey::parse(&key.key()), Some(key.clone()), "{key}");
    }
    assert_eq!(
        parse_doc_key(&snap_key(&v(), &d(), &h())),
        Some((v(), d(), KeyKind::Snapshot(h())))
    );
    assert_eq!(
        parse_doc_key(&head_key(&v(), &d())),
        Some((v(), d(), KeyKind::Head))
    );
    assert_eq!(parse_blob_key(&blob_key(&v(), &h())), Some((v(), h())));
}

#[test]
fn parse_doc_key_ignores_blob_and_manifest_keys() {
    assert_eq!(parse_doc_key(&blob_key(&v(), &h())), None);
    assert_eq!(parse_doc_key(&manifest_key(&v())), None);
    assert_eq!(parse_blob_key(&head_key(&v(), &d())), None);
}

#[test]
fn keys_outside_the_layout_do_not_parse() {
    let hash = h().to_string();
    for key in [
        "",
        "vaults/",
        "vaults/my-vault",
        "vaults/my-vault/",
        "vaults/my-vault/manifest/",
        "vaults/My-Vault/manifest",
        "other/my-vault/manifest",
        "/vaults/my-vault/manifest",
        "vaults/my-vault/docs/index/head/x",
        "vaults/my-vault/docs/../head",
        "vaults/my-vault/docs/index/tail",
        "vaults/my-vault/docs/index/snap/abc",
        "vaults/my-vault/blobs/abc",
        &format!("vaults/my-vault/docs/index/snap/{hash}/x"),
        &format!("vaults/my-vault/blobs/{hash}/"),
        &format!("vaults//blobs/{hash}"),
    ] {
        assert_eq!(StorageKey::parse(key), None, "{key:?}");
    }
}

#[test]
fn manifest_round_trips_through_json() {
    let mut m = Manifest::new(&v(), 1_800_000_000_000);
    m.revoked.revoke("0011");
    assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
}

#[test]
fn new_vaults_get_distinct_epochs() {
    let (a, b) = (Manifest::new(&v(), 0), Manifest::new(&v(), 0));
    assert_ne!(a.epoch, b.epoch);
    assert!(Manifest::decode(&a.encode()).is_ok());
}

#[test]
fn reset_changes_the_epoch_and_keeps_revocations() {
    let mut m = Manifest::new(&v(), 0);
    m.revoked.revoke("0011");
    let r = m.reset();
    assert_ne!(r.epoch, m.epoch);
    assert!(r.revoked.is_revoked("0011"));
    assert_eq!((r.vault, r.created_ms), (m.vault, m.created_ms));
}

#[test]
fn manifest_of_an_unknown_format_is_refused() {
    let mut m = Manifest::new(&v(), 0);
    m.format = 2;
    assert!(matches!(
        Manifest::decode(&m.encode()),
        Err(ManifestError::UnsupportedFormat(2))
    ));
}

#[test]
fn manifest_with_an_invalid_vault_or_epoch_is_refused() {
    let mut m = Manifest::new(&v(), 0);
    m.vault = "../x".into();
    assert!(matches!(
        Manifest::decode(&m.encode()),
        Err(ManifestError::Vault(_))
    ));
    let mut m = Manifest::new(&v(), 0);
    m.epoch = String::new();
    assert!(matches!(
        Manifest::decode(&m.encode()),
        Err(ManifestError::Epoch)
    ));
}

#[test]
fn manifest_without_revocations_reads_as_none_revoked() {
    let json = format!(
        r#"{{"format":1,"vault":"v","created_ms":0,"epoch":"{}"}}"#,
        "0".repeat(32)
    );
    assert!(Manifest::decode(json.as_bytes())
        .unwrap()
        .revoked
        .is_empty());
}

proptest! {
    #[test]
    fn parse_inverts_build_for_any_valid_ids(
        vault in "[a-z0-9][a-z0-9-]{0,63}",
        doc in "[0-9a-f]{32}",
        hash in "[0-9a-f]{64}",
    ) {
        let (vault, doc, hash) = (
            VaultId::new(&vault).unwrap(),
            DocId::new(&doc).unwrap(),
            ContentHash::new(&hash).unwrap(),
        );
        prop_assert_eq!(
            parse_doc_key(&snap_key(&vault, &doc, &hash)),
            Some((vault.clone(), doc.clone(), KeyKind::Snapshot(hash.clone())))
        );
        prop_assert_eq!(parse_doc_key(&head_key(&vault, &doc)), Some((vault.clone(), doc, KeyKind::Head)));
        prop_assert_eq!(parse_blob_key(&blob_key(&vault, &hash)), Some((vault, hash)));
    }

    #[test]
    fn arbitrary_strings_never_panic_parse(key in any::<String>()) {
        if let Some(parsed) = StorageKey::parse(&key) {
            prop_assert_eq!(parsed.key(), key);
        }
    }
}
