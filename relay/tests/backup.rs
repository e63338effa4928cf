//! `tessera-relay backup` and `serve --backup-every`, against the real relay
//! binary, a folder and a real SeaweedFS: plain files in the vault's layout,
//! incremental runs, deletions, `--complete`, a killed run resuming, and the
//! hostile cases (a co-editor's note named like the manifest).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use support::{Relay, Seaweed, SECRET};
use tessera_conformance::client::VaultClient;
use tessera_conformance::{fresh_vault, Target};
use tessera_crdt::ids::{new_file_id, random_client_id, INDEX_DOC};
use tessera_crdt::note::Note;
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};

const MANIFEST: &str = ".tessera-backup.json";

/// A vault written through the relay by one device.
struct Imported {
    vault: String,
    index: Index,
    /// Path → file id.
    ids: BTreeMap<String, String>,
}

/// Writes `files` through `relay` as a device would: `.md` files as notes,
/// everything else as attachments; waits until every write is acked.
async fn import(relay: &Relay, files: &BTreeMap<String, Vec<u8>>) -> Imported {
    let vault = fresh_vault();
    let target = Target::new(&relay.base, SECRET);
    let token = target.token(&vault, Scope::Write);
    let mut client = target
        .vault_client(&vault, Scope::Write)
        .await
        .expect("connects");
    client.open_and_sync(INDEX_DOC).await.expect("index syncs");
    let mut index = Index::new(random_client_id());
    let mut ids = BTreeMap::new();
    let http = reqwest::Client::new();
    for (path, bytes) in files {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let meta = EntryMeta {
            hash: Some(hash.clone()),
            size: Some(bytes.len() as u64),
            mtime: None,
        };
        let (id, update) = if path.ends_with(".md") {
            let text = std::str::from_utf8(bytes).expect("notes are UTF-8");
            let id = new_file_id();
            let mut note = Note::new(random_client_id());
            if let Some(u) = note.import_text(text).expect("imports") {
                client.write_update(&id, &u).await.expect("sends the note");
            }
            let u = index
                .create_with_id(&id, path, EntryKind::Note, meta)
                .expect("index entry");
            (id, u)
        } else {
            let url = format!("{}/v1/vaults/{vault}/blobs/{hash}", relay.base);
            let resp = http
                .put(url)
                .bearer_auth(&token)
                .body(bytes.clone())
                .send()
                .await
                .expect("uploads");
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            index
                .create(path, EntryKind::Blob, meta)
                .expect("index entry")
        };
        ids.insert(path.clone(), id);
        client
            .write_update(INDEX_DOC, &update)
            .await
            .expect("sends the index entry");
        // Acks and echoes queue up for this socket while it only sends:
        // read them now and then, as a real device does.
        if ids.len() % 100 == 0 {
            wait_acked(&mut client).await;
        }
    }
    wait_acked(&mut client).await;
    Imported { vault, index, ids }
}

async fn wait_acked(client: &mut VaultClient) {
    let writes: Vec<(String, u64)> = client.writes.iter().map(|(d, n)| (d.clone(), *n)).collect();
    for (doc, seq) in writes {
        client.wait_ack(&doc, seq).await.expect("every write acked");
    }
}

/// Reconnects after a relay restart.
async fn reconnect(relay: &Relay, vault: &str) -> VaultClient {
    Target::new(&relay.base, SECRET)
        .vault_client(vault, Scope::Write)
        .await
        .expect("reconnects")
}

/// What one backup run printed, as numbers.
#[derive(Debug, Default, PartialEq, Eq)]
struct Ran {
    written: usize,
    removed: usize,
    unchanged: usize,
    refused: usize,
}

fn parse_summary(out: &str) -> Ran {
    let count = |word: &str| -> usize {
        let end = out
            .find(&format!(" {word}"))
            .unwrap_or_else(|| panic!("no {word:?} in {out:?}"));
        let start = out[..end].rfind([' ', ':']).map_or(0, |i| i + 1);
        out[start..end].parse().expect("a count")
    };
    Ran {
        written: count("written"),
        removed: count("removed"),
        unchanged: count("unchanged"),
        refused: count("refused"),
    }
}

/// Runs `tessera-relay backup` on the relay's data directory.
fn backup(relay: &Relay, vault: &str, to: &str, extra: &[&str]) -> Ran {
    let data = relay.data.display().to_string();
    let mut args = vec!["backup", "--data", &data, "--vault", vault, "--to", to];
    args.extend(extra);
    parse_summary(&relay.cli(&args))
}

/// Every file under `root` except the backup's own, by `/` path.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if rel == MANIFEST || rel == ".tessera-backup" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

fn small_vault() -> BTreeMap<String, Vec<u8>> {
    [
        ("Home.md", "# Home\n\nSee [[Daily/2026-12-01]].\n"),
        ("Daily/2026-12-01.md", "- wrote the backup\n"),
        ("Projects/Tessera/Plan.md", "1. backups\n2. deploy\n"),
        ("Attachments/pixel.png", "\u{89}PNG fake bytes"),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_owned(), t.as_bytes().to_vec()))
    .collect()
}

/// A relay on a fresh data dir with `files` imported and snapshotted
/// (stopped: `backup` reads storage, which SIGTERM brings up to date).
async fn stopped_relay_with(tmp: &Path, files: &BTreeMap<String, Vec<u8>>) -> (Relay, Imported) {
    let mut relay = Relay::start(&tmp.join("data"), &[], &Default::default()).await;
    let imported = import(&relay, files).await;
    relay.terminate();
    (relay, imported)
}

fn dir_arg(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_to_a_folder_holds_every_note_and_attachment_in_the_vault_layout() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!(ran.written, source.len());
    assert_eq!(files(&out), source);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["vault"], v.vault.as_str());
    assert_eq!(
        manifest["files"].as_object().map(|f| f.len()),
        Some(source.len())
    );
    assert!(manifest["index_snapshot"].is_string(), "{manifest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backup_with_no_changes_writes_zero_files_not_even_the_manifest() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    backup(&relay, &v.vault, &dir_arg(&out), &[]);
    let mtimes = |root: &Path| -> Vec<_> {
        let mut paths: Vec<PathBuf> = files(root).keys().map(|p| root.join(p)).collect();
        paths.push(root.join(MANIFEST));
        paths
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .expect("mtime")
            })
            .collect()
    };
    let before = mtimes(&out);
    std::thread::sleep(Duration::from_millis(20)); // distinct mtimes if anything were rewritten
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!(
        ran,
        Ran {
            written: 0,
            removed: 0,
            unchanged: source.len(),
            refused: 0
        }
    );
    assert_eq!(mtimes(&out), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_device_edits_one_note_the_next_backup_writes_exactly_that_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let (mut relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    backup(&relay, &v.vault, &dir_arg(&out), &[]);
    relay.restart().await;
    let mut client = reconnect(&relay, &v.vault).await;
    let id = &v.ids["Daily/2026-12-01.md"];
    client.open_and_sync(id).await.expect("syncs the note");
    client
        .append(id, "- edited on the phone\n")
        .await
        .expect("edits");
    wait_acked(&mut client).await;
    relay.terminate();
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!((ran.written, ran.unchanged), (1, source.len() - 1));
    assert_eq!(
        std::fs::read_to_string(out.join("Daily/2026-12-01.md")).expect("note"),
        "- wrote the backup\n- edited on the phone\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_backup_rewrites_every_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    backup(&relay, &v.vault, &dir_arg(&out), &[]);
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &["--complete"]);
    assert_eq!((ran.written, ran.unchanged), (source.len(), 0));
    assert_eq!(files(&out), source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_renamed_files_move_to_the_deleted_area_and_the_folder_follows_the_vault() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let (mut relay, mut v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    backup(&relay, &v.vault, &dir_arg(&out), &[]);
    relay.restart().await;
    let mut client = reconnect(&relay, &v.vault).await;
    let deleted = v.index.delete(&v.ids["Home.md"]).expect("delete");
    let renamed = v
        .index
        .rename(&v.ids["Projects/Tessera/Plan.md"], "Plan.md")
        .expect("rename");
    client
        .write_update(INDEX_DOC, &deleted)
        .await
        .expect("sends");
    client
        .write_update(INDEX_DOC, &renamed)
        .await
        .expect("sends");
    wait_acked(&mut client).await;
    relay.terminate();
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!((ran.written, ran.removed), (1, 2));
    let now = files(&out);
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        ["Attachments/pixel.png", "Daily/2026-12-01.md", "Plan.md"]
    );
    assert!(
        !out.join("Projects").exists(),
        "emptied folders are removed"
    );
    let kept: Vec<PathBuf> = std::fs::read_dir(out.join(".tessera-backup/deleted"))
        .expect("a deleted area")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(kept.len(), 1, "one run stamp");
    assert_eq!(
        std::fs::read(kept[0].join("Home.md")).expect("the deleted note is kept"),
        source["Home.md"]
    );
    assert!(kept[0].join("Projects/Tessera/Plan.md").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_co_editors_note_named_like_the_manifest_is_refused_and_cannot_overwrite_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut source = small_vault();
    source.insert(MANIFEST.into(), b"{\"version\": 1, \"files\": {}}".to_vec());
    source.insert(".tessera-backup/deleted/x.md".into(), b"hostile".to_vec());
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!((ran.written, ran.refused), (4, 2));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["vault"], v.vault.as_str(), "the real manifest");
    // And the next run still reads it: nothing to do.
    assert_eq!(backup(&relay, &v.vault, &dir_arg(&out), &[]).written, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_co_editors_file_named_like_a_folder_is_refused_and_the_rest_still_backs_up() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut source = small_vault();
    source.insert("Daily".into(), b"a file where a folder is".to_vec());
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!((ran.written, ran.refused), (4, 1));
    source.remove("Daily");
    assert_eq!(files(&out), source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_holding_another_vaults_backup_is_refused_untouched() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = small_vault();
    let mut relay = Relay::start(&tmp.path().join("data"), &[], &Default::default()).await;
    let a = import(&relay, &source).await;
    let b = import(&relay, &source).await;
    relay.terminate();
    let out = tmp.path().join("backup");
    backup(&relay, &a.vault, &dir_arg(&out), &[]);
    let before = std::fs::read(out.join(MANIFEST)).expect("manifest");
    let result = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args([
            "backup",
            "--data",
            &dir_arg(&relay.data),
            "--vault",
            &b.vault,
        ])
        .args(["--to", &dir_arg(&out)])
        .env("TESSERA_SECRET", SECRET)
        .output()
        .expect("runs");
    assert!(!result.status.success());
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("holds a backup of vault"), "{err}");
    assert_eq!(std::fs::read(out.join(MANIFEST)).expect("manifest"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_mid_run_resumes_and_rewrites_only_what_its_manifest_lacks() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source: BTreeMap<String, Vec<u8>> = (0..1500)
        .map(|i| {
            (
                format!("Notes/{:02}/note-{i:04}.md", i % 30),
                format!("# Note {i}\n\n{}\n", "some text ".repeat(i % 50 + 1)).into_bytes(),
            )
        })
        .collect();
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args([
            "backup",
            "--data",
            &dir_arg(&relay.data),
            "--vault",
            &v.vault,
        ])
        .args(["--to", &dir_arg(&out), "--batch", "10"])
        .env("TESSERA_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("backup starts");
    // Kill it as soon as its manifest records a few batches.
    let recorded = |out: &Path| -> Option<usize> {
        let bytes = std::fs::read(out.join(MANIFEST)).ok()?;
        let m: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        m["files"].as_object().map(|f| f.len())
    };
    loop {
        if recorded(&out).is_some_and(|n| n >= 30) {
            break;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the backup finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let done = recorded(&out).expect("a manifest survives the kill");
    assert!(done < source.len(), "killed mid-run ({done} recorded)");
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!(
        ran.written,
        source.len() - done,
        "only what was not recorded"
    );
    assert_eq!(ran.unchanged, done);
    assert_eq!(files(&out), source);
}

fn shared_vault(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vaults")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_en_vault_imported_through_the_relay_backs_up_byte_identical_by_diff_r() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = shared_vault("en");
    let source = files(&src);
    let (relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let out = tmp.path().join("backup");
    let ran = backup(&relay, &v.vault, &dir_arg(&out), &[]);
    assert_eq!(ran.written, source.len());
    let diff = Command::new("diff")
        .args(["-r", "-x", MANIFEST, "-x", ".tessera-backup"])
        .arg(&src)
        .arg(&out)
        .output()
        .expect("diff runs");
    assert!(
        diff.status.success(),
        "diff -r found differences:\n{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}

/// The bucket's objects under `prefix`, as path → bytes.
async fn bucket_files(seaweed: &Seaweed, prefix: &str) -> BTreeMap<String, Vec<u8>> {
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
        .endpoint_url(env["TESSERA_TEST_S3_ENDPOINT"].clone())
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = &env["TESSERA_TEST_S3_BUCKET"];
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("lists");
    let mut out = BTreeMap::new();
    for obj in listed.contents() {
        let key = obj.key().expect("a key");
        let body = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("gets")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        out.insert(key[prefix.len()..].to_owned(), body.to_vec());
    }
    out
}

fn s3_cli_env(seaweed: &Seaweed) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = seaweed.relay_env().into_iter().collect();
    env.push((
        "TESSERA_BACKUP_ENDPOINT".into(),
        seaweed.env["TESSERA_TEST_S3_ENDPOINT"].clone(),
    ));
    env.push((
        "TESSERA_BACKUP_REGION".into(),
        seaweed.env["TESSERA_TEST_S3_REGION"].clone(),
    ));
    env
}

fn backup_s3(relay: &Relay, seaweed: &Seaweed, vault: &str, to: &str, extra: &[&str]) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
        .args(["backup", "--data", &dir_arg(&relay.data), "--vault", vault])
        .args(["--to", to])
        .args(extra)
        .env("TESSERA_SECRET", SECRET)
        .envs(s3_cli_env(seaweed))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_summary(&String::from_utf8_lossy(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_to_seaweedfs_holds_the_vault_under_its_prefix_and_is_incremental() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let seaweed = Seaweed::start(&tmp.path().join("s3"));
    let source = small_vault();
    let (mut relay, v) = stopped_relay_with(tmp.path(), &source).await;
    let bucket = seaweed.env["TESSERA_TEST_S3_BUCKET"].clone();
    let to = format!("s3://{bucket}/backups/{}", v.vault);
    let prefix = format!("backups/{}/", v.vault);
    let ran = backup_s3(&relay, &seaweed, &v.vault, &to, &[]);
    assert_eq!(ran.written, source.len());
    let mut stored = bucket_files(&seaweed, &prefix).await;
    assert!(stored.remove(MANIFEST).is_some(), "the manifest is there");
    assert_eq!(stored, source);
    assert_eq!(backup_s3(&relay, &seaweed, &v.vault, &to, &[]).written, 0);
    relay.restart().await;
    let mut client = reconnect(&relay, &v.vault).await;
    let id = &v.ids["Home.md"];
    client.open_and_sync(id).await.expect("syncs");
    client.append(id, "edited\n").await.expect("edits");
    wait_acked(&mut client).await;
    relay.terminate();
    let ran = backup_s3(&relay, &seaweed, &v.vault, &to, &[]);
    assert_eq!((ran.written, ran.unchanged), (1, source.len() - 1));
    let ran = backup_s3(&relay, &seaweed, &v.vault, &to, &["--complete"]);
    assert_eq!(ran.written, source.len());
    let stored = bucket_files(&seaweed, &prefix).await;
    assert!(stored["Home.md"].ends_with(b"edited\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_backup_every_backs_up_each_vault_and_reports_it_in_metrics() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("scheduled");
    let out_arg = dir_arg(&out);
    let relay = Relay::start(
        &tmp.path().join("data"),
        &["--backup-every", "1s", "--backup-to", &out_arg],
        &Default::default(),
    )
    .await;
    let source = small_vault();
    let v = import(&relay, &source).await;
    // No flush or restart: the scheduler snapshots what the relay holds.
    let vault_dir = out.join(&v.vault);
    for _ in 0..600 {
        if vault_dir.join(MANIFEST).exists() && files(&vault_dir) == source {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files(&vault_dir), source);
    assert!(relay.metric("tessera_backup_runs_total").await >= 1.0);
    assert!(relay.metric("tessera_backup_files_written_total").await >= source.len() as f64);
    assert_eq!(relay.metric("tessera_backup_failures_total").await, 0.0);
    drop(v);
}

/// Not a test: prepares the data directory that the timings in
/// docs/self-hosting.md were measured on. Run with
/// `TESSERA_BACKUP_MEASURE_DIR=/tmp/en-data cargo test -p tessera-relay
/// --test backup -- --ignored --nocapture prepare_the_en_vault`, then time
/// `target/release/tessera-relay backup --data /tmp/en-data/data …`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement set-up, run by hand"]
async fn prepare_the_en_vault_for_timing_measurements() {
    let Ok(dir) = std::env::var("TESSERA_BACKUP_MEASURE_DIR") else {
        panic!("set TESSERA_BACKUP_MEASURE_DIR to an empty directory");
    };
    let source = files(&shared_vault("en"));
    let (_relay, v) = stopped_relay_with(Path::new(&dir), &source).await;
    println!("vault {} ({} files) in {dir}/data", v.vault, source.len());
}
