//! Vault administration against the real relay binary: deleting a vault
//! needs an admin and the id repeated, closes its sockets and refuses every
//! request with a reason; it is purged after the grace period, and
//! undeleted before that it works again.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{Relay, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_vault, http, Target};
use tessera_crdt::keys::{self, VaultId};
use tessera_crdt::token::Scope;
use tessera_relay::store::{FsStore, Store};

async fn delete(relay: &Relay, vault: &str, scope: Scope, body: serde_json::Value) -> http::Answer {
    let token = Target::new(&relay.base, SECRET).token(vault, scope);
    http::json(
        Method::DELETE,
        &format!("{}/v1/vaults/{vault}", relay.base),
        &token,
        &body,
    )
    .await
    .expect("answers")
}

/// A vault with one acknowledged note; returns the still-open writer.
async fn vault_in_use(relay: &Relay, vault: &str) -> VaultClient {
    let mut c = Target::new(&relay.base, SECRET)
        .vault_client(vault, Scope::Write)
        .await
        .expect("connects");
    let doc = tessera_conformance::fresh_doc();
    c.open_and_sync(&doc).await.expect("syncs");
    let seq = c.append(&doc, "some text").await.expect("writes");
    c.wait_ack(&doc, seq).await.expect("acked");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_vault_needs_an_admin_and_its_id_repeated() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    let _c = vault_in_use(&relay, &vault).await;
    delete(&relay, &vault, Scope::Write, json!({"confirm": vault}))
        .await
        .expect_error(403, "token-insufficient-scope")
        .expect("refused");
    for body in [json!({}), json!({"confirm": "another-vault"})] {
        delete(&relay, &vault, Scope::Admin, body)
            .await
            .expect_error(400, "confirm-mismatch")
            .expect("refused");
    }
    let _still = vault_in_use(&relay, &vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_vault_closes_its_sockets_and_refuses_everything_with_410() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    let mut open = vault_in_use(&relay, &vault).await;
    let a = delete(&relay, &vault, Scope::Admin, json!({"confirm": vault})).await;
    a.expect_success().expect("deleted");
    assert!(a.json().expect("json")["purge_after_ms"].as_u64().is_some());
    let (code, reason) = open.wait_close().await.expect("closed");
    assert_eq!(code, 4404);
    assert!(reason.contains("deleted"), "{reason}");
    let t = Target::new(&relay.base, SECRET);
    for (method, path) in [
        (Method::GET, "/ws"),
        (Method::GET, "/tokens"),
        (Method::POST, ""),
        (Method::GET, &format!("/blobs/{}", "0".repeat(64)) as &str),
    ] {
        let scope = if path == "/ws" {
            Scope::Read
        } else {
            Scope::Admin
        };
        http::request(
            method.clone(),
            &t.url(&format!("/v1/vaults/{vault}{path}")),
            Some(&t.token(&vault, scope)),
            None,
        )
        .await
        .expect("answers")
        .expect_error(410, "vault-deleted")
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_vault_is_purged_after_the_grace_period() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let relay = Relay::start(
        &data,
        &["--vault-grace", "1ms", "--gc-interval", "200ms"],
        &Default::default(),
    )
    .await;
    let vault = fresh_vault();
    let c = vault_in_use(&relay, &vault).await;
    let store = FsStore::open_read_only(&data).await.expect("fs store");
    let id = VaultId::new(&vault).unwrap();
    for _ in 0..600 {
        if store
            .list(&keys::docs_prefix(&id))
            .await
            .expect("lists")
            .len()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(c);
    delete(&relay, &vault, Scope::Admin, json!({"confirm": vault}))
        .await
        .expect_success()
        .expect("deleted");
    for _ in 0..600 {
        if store
            .list(&keys::vault_prefix(&id))
            .await
            .expect("lists")
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        store
            .list(&keys::vault_prefix(&id))
            .await
            .expect("lists")
            .is_empty(),
        "every key of the vault is gone"
    );
    assert!(
        !data.join("wal").join(&vault).exists(),
        "its log is gone too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_vault_undeleted_from_the_cli_within_the_grace_period_works_again() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    drop(vault_in_use(&relay, &vault).await);
    let data = relay.data.display().to_string();
    relay.cli(&[
        "vault",
        "delete",
        "--vault",
        &vault,
        "--url",
        &relay.base,
        "--data",
        &data,
    ]);
    let listed = relay.cli(&["vault", "list", "--data", &data]);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&vault))
        .expect("listed");
    assert!(!line.trim_end().ends_with('-'), "shown as deleted: {line}");
    relay.terminate();
    relay.cli(&["vault", "undelete", "--vault", &vault, "--data", &data]);
    relay.restart().await;
    let _back = vault_in_use(&relay, &vault).await;
}
