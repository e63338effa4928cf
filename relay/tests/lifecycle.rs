//! Vault lifecycle: a vault nobody uses leaves memory, and comes back whole.
//!
//! These run the real binary with `--vault-idle-unload` set short, and read
//! `tessera_vaults_loaded` from `/metrics` (the count of running vault actors).

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::{Relay, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_doc, fresh_vault, Target};
use tessera_crdt::token::Scope;

const LOADED: &str = "tessera_vaults_loaded";

/// Polls `/metrics` until `LOADED` equals `want`; false if it never does
/// within `within` (a bound on waiting, not a timing assertion).
async fn wait_loaded(relay: &Relay, want: f64, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if relay.metric(LOADED).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn idle_relay(dir: &std::path::Path, idle: &str) -> Relay {
    Relay::start(
        &dir.join("data"),
        &["--vault-idle-unload", idle],
        &HashMap::from([("TESSERA_AUTO_CREATE_VAULTS".to_owned(), "true".to_owned())]),
    )
    .await
}

#[tokio::test]
async fn a_vault_nobody_uses_is_unloaded_and_its_next_connection_finds_every_note() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = idle_relay(tmp.path(), "1s").await;
    let target = Target::new(&relay.base, SECRET);
    let vault = fresh_vault();
    let doc = fresh_doc();
    let token = target.token(&vault, Scope::Write);

    let mut writer = VaultClient::connect_with_token(&relay.base, &vault, &token)
        .await
        .unwrap();
    writer.open_and_sync(&doc).await.unwrap();
    let seq = writer
        .append(&doc, "written before the vault unloaded\n")
        .await
        .unwrap();
    writer.wait_ack(&doc, seq).await.unwrap();
    let epoch = writer.hello.epoch.clone();
    writer.close().await.unwrap();

    // The default vault and this one both go idle and leave memory.
    assert!(
        wait_loaded(&relay, 0.0, Duration::from_secs(30)).await,
        "vaults still loaded: {}",
        relay.metric(LOADED).await
    );

    let mut reader = VaultClient::connect_with_token(&relay.base, &vault, &token)
        .await
        .unwrap();
    reader.open_and_sync(&doc).await.unwrap();
    assert_eq!(reader.text(&doc), "written before the vault unloaded\n");
    assert_eq!(relay.metric(LOADED).await, 1.0);
    assert_eq!(
        reader.hello.epoch, epoch,
        "cursors handed out before stay valid"
    );
    let changes = reader.changes_since("", 0).await.unwrap();
    assert!(
        changes.docs.contains(&doc),
        "the reloaded vault's change catalog lists the note: {:?}",
        changes.docs
    );
}

#[tokio::test]
async fn a_vault_with_an_open_socket_stays_loaded_however_quiet_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = idle_relay(tmp.path(), "300ms").await;
    let target = Target::new(&relay.base, SECRET);
    let vault = fresh_vault();
    let doc = fresh_doc();
    let mut client =
        VaultClient::connect_with_token(&relay.base, &vault, &target.token(&vault, Scope::Write))
            .await
            .unwrap();
    client.open_and_sync(&doc).await.unwrap();

    // The default vault, with nobody connected, unloads: the check runs.
    assert!(wait_loaded(&relay, 1.0, Duration::from_secs(30)).await);
    // Many idle periods later, the connected vault is still served.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(relay.metric(LOADED).await, 1.0);
    let seq = client.append(&doc, "still here\n").await.unwrap();
    client.wait_ack(&doc, seq).await.unwrap();
    assert_eq!(client.text(&doc), "still here\n");
}

#[tokio::test]
async fn an_idle_unload_of_zero_keeps_every_vault_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = idle_relay(tmp.path(), "0").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The default vault, created at start, is never unloaded.
    assert_eq!(relay.metric(LOADED).await, 1.0);
}
