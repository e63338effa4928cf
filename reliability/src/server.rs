//! The server under test as a real process that can be killed with SIGKILL
//! and started again on the same port and state: the relay binary, or the
//! Worker under `wrangler dev` (workerd) with its state persisted on disk.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::time::Instant;

/// The secret the drivers start the relay with (tokens are minted under it).
pub const SECRET: &str = "reliability-driver-secret-0123456789abcdef";

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start the server: a command line, its environment, and where it logs.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: HashMap<String, String>,
    /// Where stdout and stderr go (appended across restarts).
    pub log: PathBuf,
    /// Put the server in its own process group and kill the whole group
    /// (wrangler starts workerd as a child; SIGKILL must reach both).
    pub group: bool,
    /// How long a (re)start may take before it counts as failed.
    pub start_timeout: Duration,
}

/// A running server.
pub struct Server {
    launch: Launch,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The secret tokens are keyed with.
    pub secret: String,
}

impl Server {
    /// The relay binary `bin` serving `data` on a fresh port, with short
    /// snapshot delays so compaction runs while the chaos happens.
    pub async fn relay(bin: &Path, data: &Path, extra: &[String]) -> Result<Server> {
        Server::relay_with(bin, data, extra, true).await
    }

    /// [`Server::relay`]; with `auto_create` false, vaults exist only once an
    /// admin created them (the relay's default), as in production.
    pub async fn relay_with(
        bin: &Path,
        data: &Path,
        extra: &[String],
        auto_create: bool,
    ) -> Result<Server> {
        let port = free_port()?;
        std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
        let mut argv: Vec<String> = vec![
            bin.display().to_string(),
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data".into(),
            data.display().to_string(),
            "--secret".into(),
            SECRET.into(),
        ];
        for (flag, value) in [
            ("--snapshot-debounce", "200ms"),
            ("--snapshot-max-delay", "1s"),
        ] {
            if !extra.iter().any(|e| e == flag) {
                argv.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        argv.extend(extra.iter().cloned());
        let launch = Launch {
            argv,
            // The drivers use a fresh vault per case, minted offline.
            env: HashMap::from([
                ("RUST_LOG".to_owned(), "warn".to_owned()),
                (
                    "TESSERA_AUTO_CREATE_VAULTS".to_owned(),
                    auto_create.to_string(),
                ),
            ]),
            log: data.with_extension("log"),
            group: false,
            start_timeout: Duration::from_secs(60),
        };
        Server::start(launch, format!("http://127.0.0.1:{port}"), SECRET.into()).await
    }

    /// The Worker under `wrangler dev --local`, state in `persist`, run from
    /// the repository root `root` (node_modules, wrangler.toml, and the
    /// bundle in worker/build from `wrangler deploy --dry-run` or worker-build).
    /// The config is copied without its `[build]` step, so a restart takes
    /// seconds instead of a rebuild.
    pub async fn worker(root: &Path, persist: &Path, secret: &str) -> Result<Server> {
        let port = free_port()?;
        std::fs::create_dir_all(persist)?;
        let config = persist.with_extension("wrangler.toml");
        std::fs::write(&config, worker_config(root)?)?;
        let bin = root.join("node_modules/.bin");
        let argv = vec![
            bin.join("wrangler").display().to_string(),
            "dev".into(),
            "--config".into(),
            config.display().to_string(),
            "--local".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--persist-to".into(),
            persist.display().to_string(),
            "--show-interactive-dev-session=false".into(),
            "--var".into(),
            format!("TESSERA_SECRET:{secret}"),
            "--var".into(),
            "TESSERA_SNAPSHOT_DEBOUNCE:200ms".into(),
            "--var".into(),
            "TESSERA_SNAPSHOT_MAX_DELAY:1s".into(),
            // The drivers use a fresh vault per case, minted offline.
            "--var".into(),
            "TESSERA_AUTO_CREATE_VAULTS:true".into(),
        ];
        // wrangler needs Node 22, which the npm package puts in node_modules/.bin.
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let launch = Launch {
            argv,
            env: HashMap::from([
                ("PATH".to_owned(), path),
                ("WRANGLER_SEND_METRICS".to_owned(), "false".to_owned()),
            ]),
            log: persist.with_extension("log"),
            group: true,
            start_timeout: Duration::from_secs(300),
        };
        Server::start(launch, format!("http://127.0.0.1:{port}"), secret.into()).await
    }

    /// Starts `launch` and waits for `/healthz` at `base`.
    pub async fn start(launch: Launch, base: String, secret: String) -> Result<Server> {
        let mut server = Server {
            launch,
            child: None,
            base,
            secret,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.launch.log)
            .with_context(|| format!("opening {}", self.launch.log.display()))?;
        let (program, args) = self
            .launch
            .argv
            .split_first()
            .ok_or_else(|| anyhow!("empty command line"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(&self.launch.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if self.launch.group {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().with_context(|| format!("starting {program}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + self.launch.start_timeout;
        let http = reqwest::Client::new();
        while Instant::now() < deadline {
            let probe = http
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("server exited with {status}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill9();
        bail!("server did not answer /healthz:\n{}", self.log_tail())
    }

    /// SIGKILL: no flush, no goodbye (the whole process group if it has one).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.launch.group {
                // kill(1) with a negative pid signals the whole group (wrangler and workerd).
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the exit (the relay snapshots first).
    pub async fn terminate(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
            bail!("server did not exit within 60 s of SIGTERM");
        }
        Ok(())
    }

    /// `kill -9`, then start again on the same port and state.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn().await
    }

    /// The server's process id (0 when stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Resident set size of the server process in KiB, from /proc.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS in /proc/{}/status", self.pid()))
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.launch.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// wrangler.toml without its `[build]` table and with an absolute `main`.
fn worker_config(root: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(root.join("wrangler.toml")).context("reading wrangler.toml")?;
    let bundle = root.join("worker/build/index.js");
    if !bundle.exists() {
        bail!(
            "{} is missing: build the worker first (npx wrangler deploy --dry-run --outdir dist)",
            bundle.display()
        );
    }
    let mut out = String::new();
    let mut in_build = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_build = trimmed == "[build]";
        }
        if in_build {
            continue;
        }
        if trimmed.starts_with("main ") || trimmed.starts_with("main=") {
            out.push_str(&format!("main = \"{}\"\n", bundle.display()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}
