//! The token registry against the real relay binary: minting records a
//! token, its first connection records when it was last seen, revocation
//! shows, only admins list, and the CLI lists and mints the same registry.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::{Relay, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_vault, http, Target};
use tessera_crdt::token::Scope;

async fn list(relay: &Relay, vault: &str) -> Vec<Value> {
    let admin = Target::new(&relay.base, SECRET).token(vault, Scope::Admin);
    let a = http::request(
        Method::GET,
        &format!("{}/v1/vaults/{vault}/tokens", relay.base),
        Some(&admin),
        None,
    )
    .await
    .expect("lists");
    a.expect_success().expect("200");
    a.json().expect("json")["tokens"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn until_listed(relay: &Relay, vault: &str, what: &str, check: impl Fn(&[Value]) -> bool) {
    for _ in 0..600 {
        if check(&list(relay, vault).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}: {:?}",
        list(relay, vault).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_token_is_listed_with_its_claims_last_seen_and_revocation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    let t = Target::new(&relay.base, SECRET);
    let admin = t.token(&vault, Scope::Admin);
    let minted = http::json(
        Method::POST,
        &format!("{}/v1/vaults/{vault}/tokens", relay.base),
        &admin,
        &json!({"scope": "write", "device": "phone", "ttl_secs": 3600, "paths": ["Inbox/"]}),
    )
    .await
    .expect("mints");
    minted.expect_success().expect("200");
    let minted = minted.json().expect("json");
    let id = minted["id"].as_str().expect("id").to_owned();

    let listed = list(&relay, &vault).await;
    let entry = listed
        .iter()
        .find(|e| e["id"] == id.as_str())
        .expect("listed");
    assert_eq!(entry["scope"], "write");
    assert_eq!(entry["device"], "phone");
    assert_eq!(entry["paths"], json!(["Inbox/"]));
    assert!(entry["exp"].as_u64().is_some());
    assert_eq!(entry["revoked"], false);
    assert!(entry.get("last_seen").is_none(), "never connected yet");
    assert!(
        entry.get("token").is_none(),
        "the token itself is never stored"
    );

    let token = minted["token"].as_str().unwrap();
    let client = VaultClient::connect_with_token(&relay.base, &vault, token)
        .await
        .expect("connects");
    until_listed(&relay, &vault, "last seen recorded", |l| {
        l.iter()
            .any(|e| e["id"] == id.as_str() && e["last_seen"].as_u64().is_some())
    })
    .await;
    client.close().await.expect("closes");

    http::json(
        Method::POST,
        &format!("{}/v1/vaults/{vault}/revoke", relay.base),
        &admin,
        &json!({"token_id": id}),
    )
    .await
    .expect("revokes")
    .expect_success()
    .expect("200");
    let listed = list(&relay, &vault).await;
    assert!(listed
        .iter()
        .any(|e| e["id"] == id.as_str() && e["revoked"] == true));

    // The CLI reads the same registry beside the running relay.
    let data = relay.data.display().to_string();
    let table = relay.cli(&["tokens", "list", "--vault", &vault, "--data", &data]);
    assert!(table.contains(&id) && table.contains("Inbox/"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_token_lists_a_vaults_tokens() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    let t = Target::new(&relay.base, SECRET);
    let url = format!("{}/v1/vaults/{vault}/tokens", relay.base);
    for scope in [Scope::Read, Scope::Write] {
        http::request(Method::GET, &url, Some(&t.token(&vault, scope)), None)
            .await
            .expect("answers")
            .expect_error(403, "token-insufficient-scope")
            .expect("refused");
    }
    let other = t.token(&format!("{vault}-x"), Scope::Admin);
    http::request(Method::GET, &url, Some(&other), None)
        .await
        .expect("answers")
        .expect_error(403, "token-wrong-vault")
        .expect("refused");
    http::request(Method::GET, &url, None, None)
        .await
        .expect("answers")
        .expect_error(401, "token-missing")
        .expect("refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_mints_through_a_running_relay_and_the_token_is_listed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let vault = fresh_vault();
    let data = relay.data.display().to_string();
    let token = relay.cli(&[
        "tokens",
        "mint",
        "--vault",
        &vault,
        "--scope",
        "write",
        "--device",
        "tablet",
        "--paths",
        "Journal/",
        "--url",
        &relay.base,
        "--data",
        &data,
    ]);
    let token = token.trim();
    assert!(token.starts_with("v1."), "{token}");
    let client = VaultClient::connect_with_token(&relay.base, &vault, token)
        .await
        .expect("the minted token opens the vault");
    client.close().await.expect("closes");
    let listed = list(&relay, &vault).await;
    assert!(
        listed
            .iter()
            .any(|e| e["device"] == "tablet" && e["paths"] == json!(["Journal/"])),
        "{listed:?}"
    );
}
