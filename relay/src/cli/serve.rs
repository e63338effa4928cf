//! `tessera-relay serve`: the relay itself.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tessera_crdt::token::{self, Claims, Scope, TokenKey};
use tessera_relay::backup::schedule::Schedule;
use tessera_relay::config::ServeArgs;
use tessera_relay::metrics::Metrics;
use tessera_relay::server::auth::{now_secs, Auth};
use tessera_relay::server::{router, tls, AppState};
use tessera_relay::vault::{VaultDeps, Vaults};
use tessera_relay::wal::WalOptions;
use tracing::{debug, info, warn};

/// How long shutdown waits for sockets to finish closing.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long shutdown waits for the last snapshots.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the relay until SIGINT or SIGTERM, then snapshots changed notes and exits.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let schedule = Schedule::from_args(&args.backup).map_err(anyhow::Error::msg)?;
    let store = super::open_store(&args.common, true).await?;
    let auth = if args.insecure_no_auth {
        warn!("AUTHENTICATION IS DISABLED (--insecure-no-auth): anyone who can reach this port can read and change every vault");
        Auth::Disabled
    } else {
        let (secret, created) = super::load_secret(&args.common, true)?;
        let key = TokenKey::from_secret(secret.as_bytes());
        if created {
            print_first_start(&args, &key)?;
        }
        Auth::Tokens(key)
    };
    let metrics = Arc::new(Metrics::default());
    let deps = VaultDeps {
        store: store.clone(),
        data: args.common.data.clone(),
        metrics: metrics.clone(),
        room: args.room_config(),
        snapshot_keep: args.snapshot_keep,
        idle_evict: args.idle_evict,
        dormant_after: args.dormant_after,
        wal: WalOptions::default(),
    };
    let vaults = Arc::new(Vaults::new(deps).auto_create(args.auto_create_vaults));
    // The one vault that exists without an admin asking: the first start's
    // `default`, whose tokens print below. Creating it again is a no-op.
    vaults
        .create(&tessera_crdt::keys::VaultId::new(
            tessera_crdt::keys::DEFAULT_VAULT,
        )?)
        .await
        .context("creating the default vault")?;
    let state = AppState {
        vaults: vaults.clone(),
        auth,
        metrics,
        store: store.clone(),
        limits: args.limits(),
        send_queue: args.send_queue,
        max_snapshot_lag: args.max_snapshot_lag,
        vault_grace_ms: u64::try_from(args.vault_grace.as_millis()).unwrap_or(u64::MAX),
    };
    if let Some(schedule) = schedule {
        schedule.spawn(store.clone(), vaults.clone(), state.metrics.clone());
    }
    // Revocations written to storage by others reach this process.
    let polled = vaults.clone();
    let poll = args.revocation_poll.max(Duration::from_millis(100));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(poll);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            polled.refresh_revocations().await;
        }
    });
    if !args.vault_idle_unload.is_zero() {
        let idle = args.vault_idle_unload;
        let registry = vaults.clone();
        tokio::spawn(async move {
            // Checked a few times per idle period, at most once a minute.
            let every = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
            let mut every = tokio::time::interval(every);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                registry.unload_idle(idle).await;
            }
        });
    }
    // Garbage collection: deleted notes and unreferenced blobs past the retention.
    let collected = vaults.clone();
    let grace = args.vault_grace;
    let (gc_every, retention) = (
        args.gc_interval.max(Duration::from_millis(100)),
        args.gc_retention,
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(gc_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        loop {
            every.tick().await;
            collected.collect_garbage(retention_ms, grace_ms).await;
        }
    });
    // A bad certificate or key stops the start, before anything listens.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    info!(addr = %args.listen, scheme = args.scheme(), storage = %store.describe(), "tessera relay listening");
    let (closing, open) = (vaults.clone(), state.metrics.clone());
    let shutdown = async move {
        shutdown_signal().await;
        // Upgraded sockets outlive axum's graceful shutdown: say goodbye, and
        // give clients a moment to receive the close before the process ends.
        closing.going_away().await;
        let deadline = tokio::time::Instant::now() + CLOSE_TIMEOUT;
        while open.connections.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    // Nagle's algorithm held a small frame back until the client acked the
    // previous one (up to its 40 ms delayed ack): an ack frame followed by a
    // sync reply on one socket cost tens of milliseconds. Frames are batched
    // per flush (server/ws.rs), so there is nothing for Nagle to merge.
    // (TLS connections set it in their accept loop.)
    let app = router(state);
    if let Some(config) = tls {
        let listener = tls::TlsListener::new(listener, config)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    } else {
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                debug!(error = %e, "TCP_NODELAY could not be set");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
    .context("serving")?;
    info!("shutting down: snapshotting changed notes");
    if tokio::time::timeout(FLUSH_TIMEOUT, vaults.flush_all())
        .await
        .is_err()
    {
        warn!("some snapshots did not finish in time; the write-ahead log keeps their changes");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// First start: tell the user how to connect. Printed once, on stdout, never logged.
fn print_first_start(args: &ServeArgs, key: &TokenKey) -> anyhow::Result<()> {
    let now = now_secs();
    let mint = |scope, device: &str| -> anyhow::Result<String> {
        let claims = Claims::new("default", scope, now, None, Some(device.to_owned()))?;
        Ok(token::mint(key, &claims))
    };
    let admin = mint(Scope::Admin, "admin")?;
    let write = mint(Scope::Write, "first-device")?;
    println!(
        "\nTessera relay: first start. A secret was generated in {secret} (keep it private).\n\n  \
         Server URL for the plugin:  {scheme}://{addr}   (vault: default)\n  \
         Write token, vault default: {write}\n  \
         Admin token, vault default: {admin}\n\n\
         Mint more with: tessera-relay token --vault default --scope write --device phone\n",
        secret = args.common.data.join("secret").display(),
        scheme = args.scheme(),
        addr = args.listen,
    );
    // A phone reaches the relay by this machine's address, not 0.0.0.0: the
    // link uses TESSERA_PUBLIC_URL when set.
    let url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{}://{}", args.scheme(), args.listen));
    println!("{}", super::setup::setup_block(&url, "default", &write)?);
    if args.public_url.is_none() {
        println!(
            "(The link uses {}://{}; set TESSERA_PUBLIC_URL to the address your devices reach, then run\n \
             tessera-relay token --vault default --device phone --setup --public-url <that address>.)\n",
            args.scheme(),
            args.listen
        );
    }
    if args.tls_cert.is_none() {
        // The plugin refuses http:// to anything but this machine unless the
        // user opts in: say how to get https:// before they hit that.
        println!(
            "Devices on other machines need https://. Either serve it directly with\n  \
             tessera-relay serve --tls-cert fullchain.pem --tls-key privkey.pem\n\
             or put the relay behind Caddy or nginx (docs/self-hosting.md, \"HTTPS\").\n"
        );
    }
    Ok(())
}
