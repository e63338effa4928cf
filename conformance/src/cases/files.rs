//! Files over REST (`/v1/vaults/{vault}/files…`): notes read and written as
//! Markdown, edits that merge with devices' as diffs and reach them live,
//! optimistic writes, the path policy, scopes and limits.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::Value;
use tessera_crdt::ids::INDEX_DOC;
use tessera_crdt::token::Scope;
use tessera_crdt::vault::Index;
use yrs::{ReadTxn, StateVector, Transact};

use super::{ensure, vault_still_works};
use crate::http::{self, Answer};
use crate::{fresh_vault, Target};

/// Largest note body the relay reads (`tessera_crdt::files::MAX_TEXT_BODY`).
const MAX_TEXT_BODY: usize = 16 << 20;

fn file_url(t: &Target, vault: &str, encoded_path: &str) -> String {
    t.url(&format!("/v1/vaults/{vault}/files/{encoded_path}"))
}

/// `method …/files/{path}` with a token of `scope`, a body and headers.
async fn call(
    t: &Target,
    method: Method,
    vault: &str,
    path: &str,
    scope: Scope,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Result<Answer> {
    let mut r = http::client()
        .request(method, file_url(t, vault, path))
        .bearer_auth(t.token(vault, scope));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(body) = body {
        r = r.body(body);
    }
    http::send(r).await
}

async fn put(
    t: &Target,
    vault: &str,
    path: &str,
    text: &str,
    headers: &[(&str, &str)],
) -> Result<Answer> {
    call(
        t,
        Method::PUT,
        vault,
        path,
        Scope::Write,
        Some(text.into()),
        headers,
    )
    .await
}

async fn get(t: &Target, vault: &str, path: &str) -> Result<Answer> {
    call(t, Method::GET, vault, path, Scope::Read, None, &[]).await
}

async fn list(t: &Target, vault: &str, query: &str) -> Result<Value> {
    let a = http::send(
        http::client()
            .get(t.url(&format!("/v1/vaults/{vault}/files{query}")))
            .bearer_auth(t.token(vault, Scope::Read)),
    )
    .await?;
    a.expect_status(200)?;
    a.json()
}

/// The text at `path`, failing unless it is served as Markdown.
async fn text_at(t: &Target, vault: &str, path: &str) -> Result<String> {
    let a = get(t, vault, path).await?;
    a.expect_status(200)?;
    let ct = a.header("content-type").unwrap_or_default();
    ensure(ct.starts_with("text/markdown"), || {
        format!("a note is served as {ct:?}, expected text/markdown; charset=utf-8")
    })?;
    Ok(a.text())
}

fn etag(a: &Answer) -> Result<String> {
    a.header("etag").context("the answer has no ETag")
}

fn paths(listing: &Value) -> Vec<String> {
    listing["files"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|e| e["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn put_then_get_round_trips_markdown_with_an_etag(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let text = "# Plan\n\n- één\n- two 🚀\n";
    let a = put(&t, &vault, "Projects/plan%20A.md", text, &[]).await?;
    a.expect_status(201)?;
    let created = a.json()?;
    let tag = etag(&a)?;
    ensure(tag == format!("\"{}\"", created["version"]), || {
        format!("the ETag {tag} is not the quoted version of {created}")
    })?;
    let g = get(&t, &vault, "Projects/plan%20A.md").await?;
    g.expect_status(200)?;
    ensure(g.text() == text, || format!("GET returned {:?}", g.text()))?;
    ensure(etag(&g)? == tag, || "GET's ETag differs from PUT's".into())?;
    let listing = list(&t, &vault, "").await?;
    let file = &listing["files"][0];
    ensure(
        file["path"] == "Projects/plan A.md"
            && file["kind"] == "note"
            && file["version"] == created["version"]
            && file["size"] == text.len()
            && file["hash"].as_str().is_some_and(|h| h.len() == 64),
        || format!("the listing does not describe the note: {listing}"),
    )?;
    let again = put(&t, &vault, "Projects/plan%20A.md", text, &[]).await?;
    again.expect_status(200)?;
    ensure(etag(&again)? == tag, || {
        "an identical PUT changed the version".into()
    })
}

pub async fn a_missing_file_is_404_with_a_json_body(t: Target) -> Result<()> {
    let vault = fresh_vault();
    get(&t, &vault, "nope.md")
        .await?
        .expect_error(404, "not-found")?;
    call(
        &t,
        Method::DELETE,
        &vault,
        "nope.md",
        Scope::Write,
        None,
        &[],
    )
    .await?
    .expect_error(404, "not-found")
}

pub async fn a_put_racing_a_device_keeps_both_edits(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let path = "race.md";
    put(&t, &vault, path, "line one\nline two\n", &[])
        .await?
        .expect_status(201)?;
    let id = list(&t, &vault, "").await?["files"][0]["id"]
        .as_str()
        .context("the listing names no id")?
        .to_owned();
    let mut device = t.vault_client(&vault, Scope::Write).await?;
    device.open_and_sync(&id).await?;
    // The device types; its update is still in flight when the PUT lands.
    let typed = crate::client::append(device.doc(&id), "device typed\n");
    put(&t, &vault, path, "line ONE\nline two\n", &[])
        .await?
        .expect_status(200)?;
    let seq = device.write_update(&id, &typed).await?;
    device.wait_ack(&id, seq).await?;
    let merged = "line ONE\nline two\ndevice typed\n";
    device.wait_text(&id, merged).await?;
    let text = text_at(&t, &vault, path).await?;
    ensure(text == merged, || {
        format!("after the race the note reads {text:?}, expected {merged:?}")
    })?;
    device.close().await
}

pub async fn a_put_reaches_a_connected_device_live(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let mut device = t.vault_client(&vault, Scope::Write).await?;
    device.open_and_sync(INDEX_DOC).await?;
    put(&t, &vault, "Inbox/new.md", "first\n", &[])
        .await?
        .expect_status(201)?;
    device
        .wait_for("the new note's index entry", |c| {
            index_of(c.doc(INDEX_DOC)).lookup("Inbox/new.md").is_some()
        })
        .await?;
    let id = index_of(device.doc(INDEX_DOC))
        .lookup("Inbox/new.md")
        .context("entry vanished")?
        .id;
    device.open_and_sync(&id).await?;
    ensure(device.text(&id) == "first\n", || {
        format!("the device read {:?}", device.text(&id))
    })?;
    put(&t, &vault, "Inbox/new.md", "first\nsecond\n", &[])
        .await?
        .expect_status(200)?;
    device.wait_text(&id, "first\nsecond\n").await?;
    device.close().await
}

fn index_of(doc: &yrs::Doc) -> Index {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    Index::from_update(1, &state).unwrap_or_else(|_| Index::new(1))
}

pub async fn if_match_on_a_moved_note_is_412_and_changes_nothing(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let first = put(&t, &vault, "a.md", "v1\n", &[]).await?;
    let stale = etag(&first)?;
    let second = put(&t, &vault, "a.md", "v2\n", &[("If-Match", &stale)]).await?;
    second.expect_status(200)?;
    let current = etag(&second)?;
    put(
        &t,
        &vault,
        "a.md",
        "v3 from a stale copy\n",
        &[("If-Match", &stale)],
    )
    .await?
    .expect_error(412, "precondition-failed")?;
    call(
        &t,
        Method::DELETE,
        &vault,
        "a.md",
        Scope::Write,
        None,
        &[("If-Match", &stale)],
    )
    .await?
    .expect_error(412, "precondition-failed")?;
    let g = get(&t, &vault, "a.md").await?;
    ensure(g.text() == "v2\n" && etag(&g)? == current, || {
        format!(
            "a refused write changed the note: {:?} {:?}",
            g.text(),
            g.header("etag")
        )
    })?;
    put(&t, &vault, "a.md", "x\n", &[("If-None-Match", "*")])
        .await?
        .expect_error(412, "precondition-failed")?;
    put(&t, &vault, "b.md", "x\n", &[("If-Match", "*")])
        .await?
        .expect_error(412, "precondition-failed")?;
    put(
        &t,
        &vault,
        "b.md",
        "created once\n",
        &[("If-None-Match", "*")],
    )
    .await?
    .expect_status(201)?;
    Ok(())
}

pub async fn append_adds_a_line_and_creates_the_note(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let post = |body: &'static str| {
        call(
            &t,
            Method::POST,
            &vault,
            "Daily/log.md?append",
            Scope::Write,
            Some(body.into()),
            &[],
        )
    };
    post("- 09:00 coffee").await?.expect_status(201)?;
    post("- 10:00 standup").await?.expect_status(200)?;
    post("- 11:00 done\n").await?.expect_status(200)?;
    let text = text_at(&t, &vault, "Daily/log.md").await?;
    let want = "- 09:00 coffee\n- 10:00 standup\n- 11:00 done\n";
    ensure(text == want, || {
        format!("after three appends the log reads {text:?}")
    })
}

pub async fn delete_tombstones_and_since_lists_the_deletion(t: Target) -> Result<()> {
    let vault = fresh_vault();
    put(&t, &vault, "keep.md", "k\n", &[])
        .await?
        .expect_status(201)?;
    put(&t, &vault, "gone.md", "g\n", &[])
        .await?
        .expect_status(201)?;
    let before = list(&t, &vault, "").await?;
    let cursor = before["cursor"].as_u64().context("no cursor")?;
    let epoch = before["epoch"].as_str().context("no epoch")?.to_owned();
    call(
        &t,
        Method::DELETE,
        &vault,
        "gone.md",
        Scope::Write,
        None,
        &[],
    )
    .await?
    .expect_status(200)?;
    get(&t, &vault, "gone.md")
        .await?
        .expect_error(404, "not-found")?;
    let live = list(&t, &vault, "").await?;
    ensure(paths(&live) == ["keep.md"], || {
        format!("after the delete the listing is {live}")
    })?;
    let since = list(&t, &vault, &format!("?since={cursor}&epoch={epoch}")).await?;
    let files = since["files"].as_array().cloned().unwrap_or_default();
    ensure(
        files.len() == 1 && files[0]["path"] == "gone.md" && files[0]["deleted"] == true,
        || format!("since {cursor} should list only the deletion: {since}"),
    )?;
    let other = list(&t, &vault, &format!("?since={cursor}&epoch=another")).await?;
    ensure(
        other["reset"] == true && paths(&other) == ["keep.md"],
        || format!("a cursor of another epoch should reset the listing: {other}"),
    )
}

pub async fn bad_paths_are_refused_with_bad_path_and_nothing_applied(t: Target) -> Result<()> {
    let vault = fresh_vault();
    for bad in [
        "..%2Fx.md",
        "a%2F..%2F..%2Fx.md",
        ".obsidian/plugins/evil/main.js",
        ".OBSIDIAN%2Fx",
        ".trash/x.md",
        "%2Fetc%2Fpasswd",
        "C%3A%2Fx.md",
        "a%5Cb.md",
        "nul%00.md",
        "con.md",
    ] {
        put(&t, &vault, bad, "evil\n", &[])
            .await?
            .expect_error(400, "bad-path")
            .with_context(|| format!("PUT {bad}"))?;
        call(
            &t,
            Method::POST,
            &vault,
            bad,
            Scope::Write,
            Some("evil".into()),
            &[],
        )
        .await?
        .expect_error(400, "bad-path")
        .with_context(|| format!("POST {bad}"))?;
        get(&t, &vault, bad)
            .await?
            .expect_error(400, "bad-path")
            .with_context(|| format!("GET {bad}"))?;
    }
    let listing = list(&t, &vault, "").await?;
    ensure(paths(&listing).is_empty(), || {
        format!("a refused path left files: {listing}")
    })?;
    vault_still_works(&t, &vault).await
}

pub async fn a_read_token_cannot_put_append_or_delete(t: Target) -> Result<()> {
    let vault = fresh_vault();
    put(&t, &vault, "a.md", "mine\n", &[])
        .await?
        .expect_status(201)?;
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        call(
            &t,
            method.clone(),
            &vault,
            "a.md",
            Scope::Read,
            Some("theirs\n".into()),
            &[],
        )
        .await?
        .expect_error(403, "token-insufficient-scope")
        .with_context(|| format!("{method} with a read token"))?;
    }
    let text = text_at(&t, &vault, "a.md").await?;
    ensure(text == "mine\n", || {
        format!("a read token changed the note to {text:?}")
    })
}

pub async fn without_a_token_every_files_route_is_401_even_with_a_body_over_the_limit(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let path = format!("/v1/vaults/{vault}/files/a.md");
    // Authentication comes first: 401, not 413, and (on the relay) before a
    // byte of the body is read (relay/tests/door.rs measures that).
    let over = MAX_TEXT_BODY as u64 + 1;
    for method in ["PUT", "POST"] {
        http::declared_body(&t.base, method, &path, &[], over)
            .await?
            .expect_error(401, "token-missing")
            .with_context(|| format!("{method} without a token"))?;
    }
    for method in [Method::GET, Method::DELETE] {
        http::request(method.clone(), &file_url(&t, &vault, "a.md"), None, None)
            .await?
            .expect_error(401, "token-missing")
            .with_context(|| format!("{method} without a token"))?;
    }
    http::request(
        Method::GET,
        &t.url(&format!("/v1/vaults/{vault}/files")),
        None,
        None,
    )
    .await?
    .expect_error(401, "token-missing")
}

pub async fn a_note_body_over_the_limit_is_413(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = format!("Bearer {}", t.token(&vault, Scope::Write));
    http::declared_body(
        &t.base,
        "PUT",
        &format!("/v1/vaults/{vault}/files/big.md"),
        &[("Authorization", &token)],
        MAX_TEXT_BODY as u64 + 1,
    )
    .await?
    .expect_error(413, "limit-exceeded")?;
    let listing = list(&t, &vault, "").await?;
    ensure(paths(&listing).is_empty(), || {
        format!("an oversized PUT left {listing}")
    })
}

pub async fn a_body_that_is_not_utf8_is_400_bad_text(t: Target) -> Result<()> {
    let vault = fresh_vault();
    call(
        &t,
        Method::PUT,
        &vault,
        "bin.md",
        Scope::Write,
        Some(vec![b'a', 0xff, 0xfe]),
        &[],
    )
    .await?
    .expect_error(400, "bad-text")?;
    let listing = list(&t, &vault, "").await?;
    ensure(paths(&listing).is_empty(), || {
        format!("a refused PUT left {listing}")
    })
}

pub async fn a_free_form_doc_name_serves_stock_yjs_apps_apart_from_the_vault(
    t: Target,
) -> Result<()> {
    let vault = fresh_vault();
    let mut a = t.doc_client(&vault, "my-doc", Scope::Write).await?;
    a.sync().await?;
    a.append("hello from an app").await?;
    let mut b = t.doc_client(&vault, "my-doc", Scope::Write).await?;
    b.sync().await?;
    b.wait_text("hello from an app").await?;
    // The namespace is separate: the same name with the internal prefix is
    // another doc, and the vault's devices never hear of app docs.
    let mut spoof = t.doc_client(&vault, "app.my-doc", Scope::Write).await?;
    spoof.sync().await?;
    ensure(spoof.text().is_empty(), || {
        format!("app.my-doc reads {:?}", spoof.text())
    })?;
    let mut device = t.vault_client(&vault, Scope::Read).await?;
    let changes = device.changes_since("", 0).await?;
    ensure(changes.docs.is_empty(), || {
        format!("a device was told about app docs: {:?}", changes.docs)
    })?;
    let listing = list(&t, &vault, "").await?;
    ensure(paths(&listing).is_empty(), || {
        format!("an app doc shows as a file: {listing}")
    })?;
    for c in [a, b, spoof] {
        c.close().await?;
    }
    device.close().await
}

pub async fn a_doc_name_with_bad_characters_or_129_chars_is_400(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let token = t.token(&vault, Scope::Write);
    let base = crate::client::ws_base(&t.base);
    let long = "a".repeat(129);
    for bad in ["bad~name", "a%20b", "%C3%A4", "a%2Fb", long.as_str()] {
        crate::client::ws_refused(
            &format!("{base}/v1/vaults/{vault}/docs/{bad}?token={token}"),
            &[],
        )
        .await
        .with_context(|| format!("doc name {bad:?}"))?
        .expect(400, "bad-doc-id")
        .with_context(|| format!("doc name {bad:?}"))?;
    }
    let longest = "b".repeat(128);
    let mut ok = t.doc_client(&vault, &longest, Scope::Write).await?;
    ok.sync().await?;
    ok.close().await
}

pub async fn an_attachment_is_served_as_its_bytes_and_refuses_text(t: Target) -> Result<()> {
    let vault = fresh_vault();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    http::request(
        Method::PUT,
        &t.url(&format!("/v1/vaults/{vault}/blobs/{hash}")),
        Some(&t.token(&vault, Scope::Write)),
        Some(bytes.clone()),
    )
    .await?
    .expect_status(201)?;
    let mut device = t.vault_client(&vault, Scope::Write).await?;
    device.open_and_sync(INDEX_DOC).await?;
    let mut index = Index::new(tessera_crdt::ids::random_client_id());
    let meta = tessera_crdt::vault::EntryMeta {
        hash: Some(hash.clone()),
        size: Some(bytes.len() as u64),
        mtime: None,
    };
    let (_, update) = index.create("img/chart.png", tessera_crdt::vault::EntryKind::Blob, meta)?;
    let seq = device.write_update(INDEX_DOC, &update).await?;
    device.wait_ack(INDEX_DOC, seq).await?;
    let a = get(&t, &vault, "img/chart.png").await?;
    a.expect_status(200)?;
    ensure(a.body == bytes, || {
        format!("GET returned {} other bytes", a.body.len())
    })?;
    etag(&a)?;
    let listing = list(&t, &vault, "").await?;
    ensure(
        listing["files"][0]["kind"] == "blob" && listing["files"][0]["hash"] == hash.as_str(),
        || format!("the listing does not show the attachment: {listing}"),
    )?;
    put(&t, &vault, "img/chart.png", "text over an image", &[])
        .await?
        .expect_error(409, "not-a-note")?;
    let again = get(&t, &vault, "img/chart.png").await?;
    ensure(again.body == bytes, || {
        "a refused PUT changed the attachment".into()
    })?;
    device.close().await
}
