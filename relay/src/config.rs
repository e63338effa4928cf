//! The relay's command line: one struct per concern, every option with a
//! `TESSERA_*` environment fallback and a sensible default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tessera_crdt::limits::Limits;
use tessera_crdt::rate::{RateLimits, Rates};
use tessera_crdt::room::RoomConfig;
use tessera_crdt::token::{Scope, WritePaths};

/// Tessera's self-hosted relay: real-time, conflict-free sync for Obsidian vaults.
#[derive(Debug, Parser)]
#[command(name = "tessera-relay", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve` (also accepted without the subcommand).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The relay's subcommands.
// Parsed once at start-up and moved out at once: the size of the largest
// variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay (the default).
    Serve(ServeArgs),
    /// Print a new token on stdout. Works offline, with the data dir's secret
    /// or TESSERA_SECRET, so it can also mint tokens for a worker deployment.
    Token(TokenArgs),
    /// Tokens of a vault, recorded in its registry: mint, list, revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Vaults in storage: list, create, delete, undelete.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Revoke a token by its id: refused from now on, open sockets included.
    Revoke(RevokeArgs),
    /// Write a vault from storage as plain Markdown files and attachments.
    Export(ExportArgs),
    /// Back a vault up as plain files to a folder or S3, incrementally.
    Backup(crate::backup::args::BackupArgs),
    /// List the stored versions of a note.
    History(HistoryArgs),
    /// Bring back a stored version of a note as a new edit, through a running relay.
    Restore(RestoreArgs),
    /// Check that storage is reachable and every head points to a valid snapshot.
    Check(CheckArgs),
}

/// Where data lives and which secret signs tokens: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Local data directory: the write-ahead log, and all storage unless S3 is configured.
    #[arg(long, env = "TESSERA_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// Secret that keys tokens. Generated into the data directory on first start if unset.
    #[arg(long, env = "TESSERA_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,
    /// Storage backend options.
    #[command(flatten)]
    pub s3: S3Args,
}

/// S3-compatible storage. Without a bucket, storage is the local data directory.
/// Credentials come from the standard AWS chain (environment, profile, IAM role).
#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// Bucket to keep snapshots and attachments in.
    #[arg(long = "s3-bucket", env = "TESSERA_S3_BUCKET", global = true)]
    pub bucket: Option<String>,
    /// Key prefix inside the bucket.
    #[arg(long = "s3-prefix", env = "TESSERA_S3_PREFIX", global = true)]
    pub prefix: Option<String>,
    /// Endpoint URL for S3-compatible services (R2, SeaweedFS, MinIO…).
    #[arg(long = "s3-endpoint", env = "TESSERA_S3_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// Region (`auto` for R2).
    #[arg(long = "s3-region", env = "TESSERA_S3_REGION", global = true)]
    pub region: Option<String>,
    /// Address buckets by path (needed by most self-hosted S3 servers).
    #[arg(long = "s3-path-style", env = "TESSERA_S3_PATH_STYLE", global = true)]
    pub path_style: bool,
}

/// `serve`'s options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// The relay's address as devices reach it (e.g. https://sync.example.org),
    /// for the first start's setup link and QR code.
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// A changed note is snapshotted after this long without further changes.
    #[arg(long, env = "TESSERA_SNAPSHOT_DEBOUNCE", default_value = "2s", value_parser = parse_duration)]
    pub snapshot_debounce: Duration,
    /// …or at the latest this long after its first unsnapshotted change.
    #[arg(long, env = "TESSERA_SNAPSHOT_MAX_DELAY", default_value = "30s", value_parser = parse_duration)]
    pub snapshot_max_delay: Duration,
    /// Snapshots kept per note (history).
    #[arg(long, env = "TESSERA_SNAPSHOT_KEEP", default_value_t = 20)]
    pub snapshot_keep: usize,
    /// How long a deleted note's doc and snapshots, and a blob no live
    /// index entry references, are kept (restorable) before garbage
    /// collection removes them.
    #[arg(long, env = "TESSERA_GC_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub gc_retention: Duration,
    /// How often garbage collection visits every vault (and refreshes the
    /// per-vault storage metric).
    #[arg(long, env = "TESSERA_GC_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub gc_interval: Duration,
    /// A deleted vault refuses connections at once; its data is removed this
    /// long after the deletion (garbage collection does it), and until then
    /// `tessera-relay vault undelete` brings it back.
    #[arg(long, env = "TESSERA_VAULT_GRACE", default_value = "7d", value_parser = parse_duration)]
    pub vault_grace: Duration,
    /// How often the relay re-reads each running vault's revocation list from
    /// storage, so `tessera-relay revoke` without `--url` (or another relay
    /// sharing the bucket) reaches it; open sockets of a revoked token close.
    #[arg(long, env = "TESSERA_REVOCATION_POLL", default_value = "30s", value_parser = parse_duration)]
    pub revocation_poll: Duration,
    /// A vault with no connection and nothing unsaved for this long is
    /// unloaded from memory (started again by its next connection); 0 keeps
    /// every vault loaded.
    #[arg(long, env = "TESSERA_VAULT_IDLE_UNLOAD", default_value = "10m", value_parser = parse_duration)]
    pub vault_idle_unload: Duration,
    /// Notes unused for this long are dropped from memory (reloaded on demand).
    #[arg(long, env = "TESSERA_IDLE_EVICT", default_value = "5m", value_parser = parse_duration)]
    pub idle_evict: Duration,
    /// Notes idle this long are kept as their encoded state only (a note
    /// open on a device but not edited costs about its size; it is decoded
    /// again on its next write).
    #[arg(long, env = "TESSERA_DORMANT_AFTER", default_value = "5s", value_parser = parse_duration)]
    pub dormant_after: Duration,
    /// `/readyz` fails when unsnapshotted changes are older than this.
    #[arg(long, env = "TESSERA_MAX_SNAPSHOT_LAG", default_value = "5m", value_parser = parse_duration)]
    pub max_snapshot_lag: Duration,
    /// Frames queued for one connection before it is dropped as too slow.
    #[arg(long, env = "TESSERA_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,
    /// Largest WebSocket frame, in bytes.
    #[arg(long, env = "TESSERA_MAX_FRAME", default_value_t = Limits::default().max_frame_bytes)]
    pub max_frame: usize,
    /// Largest update in one message, in bytes.
    #[arg(long, env = "TESSERA_MAX_UPDATE", default_value_t = Limits::default().max_update_bytes)]
    pub max_update: usize,
    /// Largest attachment, in bytes.
    #[arg(long, env = "TESSERA_MAX_BLOB", default_value_t = Limits::default().max_blob_bytes)]
    pub max_blob: u64,
    /// Most notes per vault.
    #[arg(long, env = "TESSERA_MAX_DOCS", default_value_t = Limits::default().max_docs_per_vault)]
    pub max_docs: usize,
    /// Frames one connection may send per second, sustained (bursts of up
    /// to 60× are allowed: a first sync of a large vault is one). 0: no limit.
    #[arg(long, env = "TESSERA_MAX_FRAMES_PER_SEC", default_value_t = Rates::default().frames_per_sec)]
    pub max_frames_per_sec: u32,
    /// Bytes one connection may send per second, sustained (bursts of up to
    /// 32× are allowed). 0: no limit.
    #[arg(long, env = "TESSERA_MAX_BYTES_PER_SEC", default_value_t = Rates::default().bytes_per_sec)]
    pub max_bytes_per_sec: u64,
    /// New sockets one token may open per minute in a vault. 0: no limit.
    #[arg(long, env = "TESSERA_MAX_CONNECTS_PER_MIN", default_value_t = Rates::default().connects_per_min)]
    pub max_connects_per_min: u32,
    /// Sockets one token may hold open in a vault at once. 0: no limit.
    #[arg(long, env = "TESSERA_MAX_SOCKETS_PER_TOKEN", default_value_t = Rates::default().sockets_per_token)]
    pub max_sockets_per_token: u32,
    /// HTTP requests one token may make per second, sustained (bursts of up
    /// to 20× are allowed). 0: no limit.
    #[arg(long, env = "TESSERA_MAX_REQUESTS_PER_SEC", default_value_t = Rates::default().requests_per_sec)]
    pub max_requests_per_sec: u32,
    /// Turn every rate limit off (benchmarks measuring raw throughput).
    #[arg(long, env = "TESSERA_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,
    /// Accept connections without a token. For local experiments only.
    #[arg(long, env = "TESSERA_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Create a vault on the first request whose token is valid for it.
    /// Off by default: vaults are created by an admin (`default` on first
    /// start, `POST /v1/vaults/{vault}` with an admin token), and a valid
    /// token for any other vault gets 404. For test suites that use a fresh
    /// vault per case.
    #[arg(long, env = "TESSERA_AUTO_CREATE_VAULTS")]
    pub auto_create_vaults: bool,
    /// Serve HTTPS and WSS with this PEM certificate chain (with --tls-key),
    /// e.g. certbot's fullchain.pem or mkcert's output.
    #[arg(long, env = "TESSERA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "TESSERA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Scheduled backups.
    #[command(flatten)]
    pub backup: crate::backup::args::ScheduleArgs,
}

impl ServeArgs {
    /// `https` with --tls-cert/--tls-key, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The limits every shell and the core agree on, with this relay's overrides.
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame_bytes: self.max_frame,
            max_update_bytes: self.max_update.min(self.max_frame),
            max_blob_bytes: self.max_blob,
            max_docs_per_vault: self.max_docs,
            ..Limits::default()
        }
    }

    /// The rate limits derived from the options.
    pub fn rates(&self) -> RateLimits {
        if self.no_rate_limits {
            return RateLimits::unlimited();
        }
        RateLimits::from_rates(Rates {
            frames_per_sec: self.max_frames_per_sec,
            bytes_per_sec: self.max_bytes_per_sec,
            connects_per_min: self.max_connects_per_min,
            sockets_per_token: self.max_sockets_per_token,
            requests_per_sec: self.max_requests_per_sec,
        })
    }

    /// The room settings derived from the options.
    pub fn room_config(&self) -> RoomConfig {
        RoomConfig {
            limits: self.limits(),
            rates: self.rates(),
            snapshot_debounce_ms: millis(self.snapshot_debounce),
            snapshot_max_delay_ms: millis(self.snapshot_max_delay),
            server: format!("tessera-relay {}", env!("CARGO_PKG_VERSION")),
            ..RoomConfig::default()
        }
    }
}

/// `token`'s options.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The vault the token opens.
    #[arg(long)]
    pub vault: String,
    /// read, write or admin.
    #[arg(long, default_value = "write")]
    pub scope: Scope,
    /// Lifetime (e.g. 30d, 12h); none for a token that never expires.
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// A label for the device the token is for.
    #[arg(long)]
    pub device: Option<String>,
    /// Limits the token's writes to these path prefixes, comma-separated
    /// (`"Inbox/,Journal/"`); write tokens only. Without it: the whole vault.
    #[arg(long, value_parser = parse_paths)]
    pub paths: Option<WritePaths>,
    /// Print an `obsidian://tessera-setup` link and a QR code for the device
    /// instead of the bare token (needs the relay's URL: `--public-url`).
    #[arg(long, requires = "public_url")]
    pub setup: bool,
    /// The relay's address as devices reach it, e.g. https://sync.example.org.
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `tessera-relay tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Mints a token and records it in the vault's registry (through a
    /// running relay with `--url`, else directly in storage).
    Mint(MintArgs),
    /// Lists the vault's tokens: id, scope, device, expiry, paths, last seen, revoked.
    List(ListTokensArgs),
    /// Revokes a token (as `tessera-relay revoke`).
    Revoke(RevokeArgs),
}

/// `tessera-relay tokens mint`.
#[derive(Debug, Clone, Args)]
pub struct MintArgs {
    /// What the token is (vault, scope, lifetime, device, paths).
    #[command(flatten)]
    pub token: TokenArgs,
    /// Mint through this running relay (it records the token); needed
    /// while a relay holds the data directory.
    #[arg(long, env = "TESSERA_URL")]
    pub url: Option<String>,
}

/// `tessera-relay vault ...`: works on the store directly (the CLI has the
/// server secret), or through a running relay with `--url` where it must.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Lists the vaults in storage, with creation and deletion times.
    List(VaultListArgs),
    /// Creates a vault (through a running relay with `--url`, else in storage).
    Create(VaultArgs),
    /// Marks a vault deleted: it refuses connections at once and is removed
    /// after the relay's `--vault-grace` (default 7 days).
    Delete(VaultArgs),
    /// Brings back a deleted vault that has not been purged yet.
    Undelete(VaultArgs),
}

/// `tessera-relay vault list`.
#[derive(Debug, Clone, Args)]
pub struct VaultListArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `tessera-relay vault create|delete|undelete`.
#[derive(Debug, Clone, Args)]
pub struct VaultArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// Through this running relay (needed while it holds the data
    /// directory; its sockets then close at once on delete).
    #[arg(long, env = "TESSERA_URL")]
    pub url: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `tessera-relay tokens list`.
#[derive(Debug, Clone, Args)]
pub struct ListTokensArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `revoke`'s options.
#[derive(Debug, Clone, Args)]
pub struct RevokeArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// The token's id (printed when it was minted; also in its payload).
    #[arg(long)]
    pub token_id: String,
    /// A running relay to tell at once (its open sockets close); otherwise
    /// storage is updated and a relay picks it up when it next loads the vault.
    #[arg(long, env = "TESSERA_URL")]
    pub url: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `export`'s options.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// Folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `history`'s options.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// The note's path in the vault.
    #[arg(long)]
    pub path: String,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `restore`'s options.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The vault.
    #[arg(long)]
    pub vault: String,
    /// The note's path in the vault.
    #[arg(long)]
    pub path: String,
    /// The snapshot id to bring back (from `history`).
    #[arg(long)]
    pub snapshot: String,
    /// The running relay that applies the restore as a new edit.
    #[arg(long, env = "TESSERA_URL", default_value = "http://127.0.0.1:8787")]
    pub url: String,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `check`'s options.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Only this vault (all vaults when omitted).
    #[arg(long)]
    pub vault: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Parses `500ms`, `30s`, `5m`, `12h`, `30d`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 30s, 5m, 12h, 30d"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit in {s:?}: use ms, s, m, h or d"
            ))
        }
    };
    Ok(Duration::from_secs(secs))
}

/// Parses `--paths`: comma-separated path prefixes.
pub fn parse_paths(s: &str) -> Result<WritePaths, String> {
    WritePaths::parse(s).map_err(|e| e.to_string())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_documented_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn running_without_a_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["tessera-relay"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen, "127.0.0.1:8787".parse().unwrap());
        assert_eq!(cli.serve.common.data, PathBuf::from("./data"));
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
