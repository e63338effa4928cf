//! Files over REST against the real relay process: what only a process that
//! can be killed shows — an answered edit is durable, versions survive a
//! restart — and that free-form docs of stock Yjs apps are stored apart from
//! the vault's own docs. The contract itself is in the conformance suite
//! (`conformance/src/cases/files.rs`), which runs here too.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use support::{Relay, SECRET};
use tessera_conformance::http::{self, Answer};
use tessera_conformance::{fresh_vault, Target};
use tessera_crdt::token::Scope;
use tokio::time::Instant;

async fn call(
    t: &Target,
    method: Method,
    url: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let vault = url.split('/').nth(3).expect("a vault in the url");
    let mut r = http::client()
        .request(method, t.url(url))
        .bearer_auth(t.token(vault, Scope::Write));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(body) = body {
        r = r.body(body.to_owned());
    }
    http::send(r).await.expect("the relay answers")
}

fn etag(a: &Answer) -> String {
    a.header("etag").expect("an ETag")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_put_survives_kill_9_and_its_etag_still_matches_after_restart() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut relay = Relay::start(&tmp.path().join("data"), &[], &HashMap::new()).await;
    let t = Target::new(&relay.base, SECRET);
    let vault = fresh_vault();
    let url = format!("/v1/vaults/{vault}/files/Journal/today.md");
    let put = call(&t, Method::PUT, &url, Some("written over REST\n"), &[]).await;
    assert_eq!(put.status, 201, "{}", put.text());
    let appended = call(
        &t,
        Method::POST,
        &format!("{url}?append"),
        Some("- and a line"),
        &[],
    )
    .await;
    assert_eq!(appended.status, 200, "{}", appended.text());
    assert_ne!(
        etag(&appended),
        etag(&put),
        "an append must move the version"
    );
    let tag = etag(&appended);
    // SIGKILL right after the answers: no shutdown flush, no snapshot.
    relay.restart().await;
    let t = Target::new(&relay.base, SECRET);
    let get = call(&t, Method::GET, &url, None, &[]).await;
    assert_eq!(get.status, 200, "{}\n{}", get.text(), relay.log_tail());
    assert_eq!(get.text(), "written over REST\n- and a line");
    assert_eq!(etag(&get), tag, "a note's version changed across a restart");
    let put = call(
        &t,
        Method::PUT,
        &url,
        Some("edited after the restart\n"),
        &[("If-Match", &tag)],
    )
    .await;
    assert_eq!(
        put.status,
        200,
        "If-Match with the pre-restart ETag: {}",
        put.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_since_a_cursor_names_only_what_changed_after_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let relay = Relay::start(&tmp.path().join("data"), &[], &HashMap::new()).await;
    let t = Target::new(&relay.base, SECRET);
    let vault = fresh_vault();
    for name in ["a", "b", "c"] {
        let url = format!("/v1/vaults/{vault}/files/{name}.md");
        assert_eq!(
            call(&t, Method::PUT, &url, Some(name), &[]).await.status,
            201
        );
    }
    let listing = call(
        &t,
        Method::GET,
        &format!("/v1/vaults/{vault}/files"),
        None,
        &[],
    )
    .await;
    let listing = listing.json().expect("JSON");
    let cursor = listing["cursor"].as_u64().expect("a cursor");
    assert_eq!(
        listing["files"].as_array().map(Vec::len),
        Some(3),
        "{listing}"
    );
    let url = format!("/v1/vaults/{vault}/files/b.md");
    assert_eq!(
        call(&t, Method::PUT, &url, Some("b, edited"), &[])
            .await
            .status,
        200
    );
    let since = call(
        &t,
        Method::GET,
        &format!("/v1/vaults/{vault}/files?since={cursor}"),
        None,
        &[],
    )
    .await;
    let since = since.json().expect("JSON");
    let paths: Vec<&str> = since["files"]
        .as_array()
        .map(|f| f.iter().filter_map(|e| e["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(paths, ["b.md"], "{since}");
    let next = since["cursor"].as_u64().expect("a cursor");
    let quiet = call(
        &t,
        Method::GET,
        &format!("/v1/vaults/{vault}/files?since={next}"),
        None,
        &[],
    )
    .await;
    assert_eq!(quiet.json().expect("JSON")["files"], serde_json::json!([]));
}

/// Every head file under `dir`, as paths relative to it.
fn heads(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "head") {
                out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_form_doc_is_snapshotted_under_its_own_key_and_survives_a_restart() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let mut relay = Relay::start(&data, &[], &HashMap::new()).await;
    let t = Target::new(&relay.base, SECRET);
    let vault = fresh_vault();
    let mut app = t
        .doc_client(&vault, "my-doc", Scope::Write)
        .await
        .expect("connects");
    app.sync().await.expect("syncs");
    app.append("from a TipTap app").await.expect("sends");
    app.wait_text("from a TipTap app").await.expect("echoed");
    let want = format!("vaults/{vault}/docs/app.my-doc/head");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !heads(&data).iter().any(|h| h.ends_with(&want)) {
        assert!(
            Instant::now() < deadline,
            "no snapshot head {want} after 30 s; heads: {:?}",
            heads(&data)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !heads(&data).iter().any(|h| h.contains("/docs/my-doc/")),
        "the free-form doc was stored outside its namespace: {:?}",
        heads(&data)
    );
    relay.restart().await;
    let t = Target::new(&relay.base, SECRET);
    let mut later = t
        .doc_client(&vault, "my-doc", Scope::Read)
        .await
        .expect("connects");
    later.sync().await.expect("syncs");
    assert_eq!(later.text(), "from a TipTap app");
}
