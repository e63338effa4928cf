//! Real processes for the relay's integration tests: the relay binary and a
//! SeaweedFS S3 server, each stopped when its guard drops.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The secret every test relay signs tokens with.
pub const SECRET: &str = "relay-integration-test-secret-0123456789";

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `tessera-relay serve`.
pub struct Relay {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    port: u16,
    /// The data directory.
    pub data: PathBuf,
    args: Vec<String>,
    envs: HashMap<String, String>,
    log: PathBuf,
}

impl Relay {
    /// Starts the relay on a fresh port with `data`, the test secret, quick
    /// snapshots, and `extra` arguments; waits for `/healthz`.
    pub async fn start(data: &Path, extra: &[&str], envs: &HashMap<String, String>) -> Relay {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data".into(),
            data.display().to_string(),
            "--secret".into(),
            SECRET.into(),
        ];
        for (flag, default) in [
            ("--snapshot-debounce", "200ms"),
            ("--snapshot-max-delay", "1s"),
        ] {
            if !extra.contains(&flag) {
                args.extend([flag.to_owned(), default.to_owned()]);
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut relay = Relay {
            child: None,
            base: format!("http://127.0.0.1:{port}"),
            port,
            data: data.to_owned(),
            args,
            envs: envs.clone(),
            log: data.with_extension("relay.log"),
        };
        relay.spawn().await;
        relay
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("relay log");
        let child = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
            .args(&self.args)
            // Every case uses a fresh vault minted offline; tests that check
            // vault creation pass TESSERA_AUTO_CREATE_VAULTS=false.
            .env("TESSERA_AUTO_CREATE_VAULTS", "true")
            .envs(&self.envs)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tessera-relay starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(resp) = reqwest::get(format!("{}/healthz", self.base)).await {
                if resp.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("relay exited with {status}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("relay did not answer /healthz:\n{}", self.log_tail());
    }

    /// `kill -9`: no flush, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the process to exit (it snapshots first).
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("relay did not exit within 60 s of SIGTERM");
        }
    }

    /// Starts the relay again on the same port and data.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// The relay's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// `/metrics` as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default()
    }

    /// One metric's value.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    /// The last lines of the relay's stderr.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs a `tessera-relay` subcommand with the same environment; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera-relay"))
            .args(args)
            .envs(&self.envs)
            .env("TESSERA_SECRET", SECRET)
            .output()
            .expect("tessera-relay runs");
        assert!(
            out.status.success(),
            "tessera-relay {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A throwaway SeaweedFS started through scripts/seaweedfs.sh.
pub struct Seaweed {
    dir: PathBuf,
    /// The environment a client needs (endpoint, bucket, credentials).
    pub env: HashMap<String, String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/seaweedfs.sh")
}

impl Seaweed {
    /// Starts a server in `dir`.
    pub fn start(dir: &Path) -> Seaweed {
        let out = Command::new(script())
            .arg("start")
            .arg(dir)
            .args(["--owner", &std::process::id().to_string()])
            .output()
            .expect("scripts/seaweedfs.sh runs");
        assert!(
            out.status.success(),
            "SeaweedFS did not start (run scripts/setup.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Seaweed {
            dir: dir.to_owned(),
            env,
        }
    }

    /// The relay arguments that put its storage in this server.
    pub fn relay_args(&self) -> Vec<String> {
        vec![
            "--s3-bucket".into(),
            self.env["TESSERA_TEST_S3_BUCKET"].clone(),
            "--s3-endpoint".into(),
            self.env["TESSERA_TEST_S3_ENDPOINT"].clone(),
            "--s3-region".into(),
            self.env["TESSERA_TEST_S3_REGION"].clone(),
            "--s3-path-style".into(),
        ]
    }

    /// Credentials for the relay process (the standard AWS variables).
    pub fn relay_env(&self) -> HashMap<String, String> {
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
            .iter()
            .map(|k| (k.to_string(), self.env[*k].clone()))
            .collect()
    }

    /// Stops the server (an outage).
    pub fn stop(&self) {
        let ok = Command::new(script())
            .arg("stop")
            .arg(&self.dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "stopping SeaweedFS failed");
    }

    /// Starts it again on the same endpoint and data.
    pub fn resume(&self) {
        let ok = Command::new(script())
            .arg("resume")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "restarting SeaweedFS failed");
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}
