//! The vault's Durable Object: one per vault (`idFromName(vault)`), owning
//! the vault's [`Room`] like the relay's vault actor does.
//!
//! Sockets use the WebSocket Hibernation API: the runtime keeps them open
//! while the object is evicted from memory, so an idle vault costs nothing.
//! Each socket carries its session id as its attachment; the session's
//! record (scope, token, write numbers, open docs) lives in SQLite. After a
//! wake-up the first event rebuilds the room from storage — manifest, change
//! catalog, log — and restores the sessions silently; clients notice nothing.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use tessera_crdt::keys::{self, VaultId, DEFAULT_VAULT};
use tessera_crdt::room::{close, Effect, Room, SessionId, SessionRecord};
use tessera_crdt::token::{Revocations, TokenKey};
use worker::{
    console_error, console_log, durable_object, DurableObject, Env, Request, Response, State,
    WebSocket, WebSocketIncomingMessage,
};

use crate::api::ApiError;
use crate::config::WorkerConfig;
use crate::log::Log;
use crate::respond::{error_response, now_ms};
use crate::route::route;
use crate::store::Store;

/// Docs unused this long leave memory (the relay's default).
const IDLE_EVICT_MS: u64 = 5 * 60 * 1000;
/// The R2 bucket binding.
pub const BUCKET: &str = "BUCKET";
/// The secret that signs tokens.
pub const SECRET: &str = "TESSERA_SECRET";

/// The room and what the object keeps beside it while in memory.
pub(crate) struct Live {
    pub(crate) vault: VaultId,
    /// Snapshots kept per doc.
    pub(crate) snapshot_keep: usize,
    pub(crate) room: Room,
    pub(crate) revoked: Revocations,
    pub(crate) sockets: HashMap<SessionId, WebSocket>,
    /// The records last saved, to save only what changed.
    saved: HashMap<SessionId, SessionRecord>,
    /// Effects waiting to be carried out, in order.
    queue: VecDeque<Effect>,
    /// True while one event drains `queue`; others only append to it.
    draining: bool,
    /// When the alarm is set for, if this instance set it.
    alarm_at: Option<u64>,
    /// Set when the log could not be written: the room is dropped after the
    /// current drain and rebuilt from storage by the next event.
    pub(crate) poisoned: bool,
    /// When this instance last stored each token's last-seen time (unix s).
    pub(crate) seen: HashMap<String, u64>,
    /// HTTP requests per token.
    pub(crate) requests: tessera_crdt::rate::RequestRate,
}

/// One vault.
#[durable_object]
pub struct VaultObject {
    pub(crate) state: State,
    pub(crate) env: Env,
    pub(crate) live: Rc<RefCell<Option<Live>>>,
}

impl DurableObject for VaultObject {
    fn new(state: State, env: Env) -> Self {
        VaultObject {
            state,
            env,
            live: Rc::new(RefCell::new(None)),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let origin = req.headers().get("Origin").ok().flatten();
        let matched = route(req.method().as_ref(), &req.path());
        match crate::http::handle(self, req, matched).await {
            Ok(resp) => Ok(resp),
            Err(e) => error_response(&e, origin.as_deref()),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        if self.boot(None).await.is_err() {
            let _ = ws.close(Some(close::INTERNAL), Some("storage is unavailable; retry"));
            return Ok(());
        }
        let Some(session) = session_of(&ws) else {
            let _ = ws.close(
                Some(close::GOING_AWAY),
                Some("the relay restarted; reconnect"),
            );
            return Ok(());
        };
        if expiry_of(&ws).is_some_and(|at| at <= now_ms()) {
            // The alarm closes expired sockets; a frame racing it is not let in.
            let _ = ws.close(
                Some(close::UNAUTHORIZED),
                Some(tessera_crdt::api::EXPIRED_REASON),
            );
            self.socket_gone(&ws).await;
            return Ok(());
        }
        let now = now_ms();
        let effects = self.with(|live| {
            if live.room.session_record(session).is_none() {
                return vec![Effect::Close {
                    to: session,
                    code: close::GOING_AWAY,
                    reason: "the relay restarted; reconnect".into(),
                }];
            }
            match &message {
                WebSocketIncomingMessage::Binary(bytes) => {
                    if bytes.len() > live.room.config().limits.max_frame_bytes {
                        let mut fx = live.room.leave(session, now);
                        fx.insert(
                            0,
                            Effect::Close {
                                to: session,
                                code: close::TOO_LARGE,
                                reason: "frame over the size limit".into(),
                            },
                        );
                        fx
                    } else {
                        live.room.receive(session, bytes, now)
                    }
                }
                WebSocketIncomingMessage::String(_) => {
                    let mut fx = live.room.leave(session, now);
                    fx.insert(
                        0,
                        Effect::Close {
                            to: session,
                            code: close::MALFORMED,
                            reason: "text frames are not part of the protocol; send binary".into(),
                        },
                    );
                    fx
                }
            }
        });
        self.apply(effects.unwrap_or_default()).await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        self.socket_gone(&ws).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        self.socket_gone(&ws).await;
        Ok(())
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.boot(None).await {
            console_error!("vault alarm: could not start: {e}");
            // Retried by the runtime.
            return Err(worker::Error::RustError(e.message));
        }
        self.close_expired().await;
        let now = now_ms();
        let effects = self.with(|live| {
            live.alarm_at = None;
            live.room.evict_idle(now, IDLE_EVICT_MS);
            live.room.tick(now)
        });
        self.apply(effects.unwrap_or_default()).await;
        Response::ok("")
    }
}

/// The session id a socket carries as its attachment (`session` or
/// `session:expiry_ms`; the attachment survives hibernation).
fn session_of(ws: &WebSocket) -> Option<SessionId> {
    ws.deserialize_attachment::<String>()
        .ok()
        .flatten()
        .and_then(|s| s.split(':').next()?.parse().ok())
}

/// When the socket's token expires (unix ms), from its attachment.
fn expiry_of(ws: &WebSocket) -> Option<u64> {
    ws.deserialize_attachment::<String>()
        .ok()
        .flatten()
        .and_then(|s| s.split(':').nth(1)?.parse().ok())
}

/// The attachment of a new socket: its session and its token's expiry.
pub(crate) fn attachment(session: SessionId, expiry_ms: Option<u64>) -> String {
    match expiry_ms {
        Some(at) => format!("{session}:{at}"),
        None => session.to_string(),
    }
}

impl VaultObject {
    /// Runs `f` on the live state, if the object has booted.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Live) -> T) -> Option<T> {
        self.live.borrow_mut().as_mut().map(f)
    }

    /// The object's SQLite storage.
    pub(crate) fn log(&self) -> Result<Log, ApiError> {
        Log::open(self.state.storage().sql()).map_err(|e| ApiError::unavailable(e.to_string()))
    }

    /// The R2 bucket.
    pub(crate) fn store(&self) -> Result<Store, ApiError> {
        self.env.bucket(BUCKET).map(Store::new).map_err(|e| {
            ApiError::unavailable(format!("the worker has no R2 binding {BUCKET}: {e}"))
        })
    }

    /// The token key from the `TESSERA_SECRET` secret.
    pub(crate) fn token_key(&self) -> Result<TokenKey, ApiError> {
        let secret = self.env.secret(SECRET).map_err(|_| {
            ApiError::unavailable(format!(
                "the worker has no {SECRET}; set it with `npx wrangler secret put {SECRET}`"
            ))
        })?;
        Ok(TokenKey::from_secret(secret.to_string().as_bytes()))
    }

    /// Rebuilds the room from storage if it is not in memory: after the
    /// first request, an eviction or a hibernation. `vault` names the vault on
    /// a request; wake-ups (socket messages, alarms) read it from storage.
    /// Opens `vault` for a request. The first request an object ever gets
    /// must name a vault an admin created (its manifest is in R2), or be the
    /// admin's `create`; otherwise it is answered 404 and nothing is written
    /// to this object's storage or to R2.
    pub(crate) async fn open(&self, vault: &VaultId, create: bool) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let config = WorkerConfig::from_vars(|name| self.env.var(name).ok().map(|v| v.to_string()))
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let may_create = create || config.auto_create_vaults || vault.as_str() == DEFAULT_VAULT;
        if !may_create
            && !self
                .store()?
                .exists(&keys::manifest_key(vault))
                .await
                .map_err(|e| ApiError::unavailable(format!("the vault could not be opened: {e}")))?
        {
            return Err(ApiError::no_such_vault(vault.as_str()));
        }
        self.boot(Some(vault)).await
    }

    pub(crate) async fn boot(&self, vault: Option<&VaultId>) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let unavailable = |e: &dyn std::fmt::Display| ApiError::unavailable(e.to_string());
        let log = self.log()?;
        let vault = match (log.meta("vault").map_err(|e| unavailable(&e))?, vault) {
            (Some(stored), _) => VaultId::new(&stored).map_err(|e| unavailable(&e))?,
            (None, Some(v)) => {
                log.set_meta("vault", v.as_str())
                    .map_err(|e| unavailable(&e))?;
                v.clone()
            }
            (None, None) => {
                return Err(ApiError::unavailable("this vault object was never opened"))
            }
        };
        let config = WorkerConfig::from_vars(|name| self.env.var(name).ok().map(|v| v.to_string()))
            .map_err(|e| unavailable(&e))?;
        let recovered = log.recover().map_err(|e| unavailable(&e))?;
        let manifest = self
            .store()?
            .load_manifest(&vault, now_ms(), recovered.catalog_intact)
            .await
            .map_err(|e| ApiError::unavailable(format!("the vault could not be opened: {e}")))?;
        if self.live.borrow().is_some() {
            // Another event booted while the manifest was read.
            return Ok(());
        }
        log.mark_catalog_kept().map_err(|e| unavailable(&e))?;
        let rates = config.room.rates;
        let mut room = Room::new(vault.as_str(), config.room, &manifest.epoch);
        if recovered.catalog_intact {
            room.mark_catalog_complete();
        }
        room.load_catalog(recovered.catalog);
        let effects = room.recover(recovered.next_ticket, recovered.logged);
        let records = log.sessions().map_err(|e| unavailable(&e))?;
        let mut sockets = HashMap::new();
        let mut saved = HashMap::new();
        for ws in self.state.get_websockets() {
            match session_of(&ws).and_then(|id| Some((id, records.get(&id)?.clone()))) {
                Some((id, record)) => {
                    room.restore_session(id, record.clone());
                    saved.insert(id, record);
                    sockets.insert(id, ws);
                }
                None => {
                    let _ = ws.close(
                        Some(close::GOING_AWAY),
                        Some("the relay restarted; reconnect"),
                    );
                }
            }
        }
        for id in records.keys().filter(|id| !sockets.contains_key(id)) {
            let _ = log.drop_session(*id);
        }
        console_log!(
            "tessera: vault {vault} rebuilt from storage: {} sessions restored, next ticket {}",
            sockets.len(),
            recovered.next_ticket
        );
        *self.live.borrow_mut() = Some(Live {
            vault,
            snapshot_keep: config.snapshot_keep,
            room,
            revoked: manifest.revoked,
            sockets,
            saved,
            queue: VecDeque::new(),
            draining: false,
            alarm_at: None,
            poisoned: false,
            seen: HashMap::new(),
            requests: tessera_crdt::rate::RequestRate::new(&rates),
        });
        self.apply(effects).await;
        Ok(())
    }

    /// A socket closed or failed: its session leaves the room.
    async fn socket_gone(&self, ws: &WebSocket) {
        let Some(session) = session_of(ws) else {
            return;
        };
        if self.boot(None).await.is_err() {
            return;
        }
        let now = now_ms();
        let effects = self.with(|live| {
            live.sockets.remove(&session);
            live.room.leave(session, now)
        });
        if let Ok(log) = self.log() {
            let _ = log.drop_session(session);
        }
        self.with(|live| live.saved.remove(&session));
        self.apply(effects.unwrap_or_default()).await;
    }

    /// Carries out the room's effects in order. Effects from every event go
    /// through one queue, drained by one event at a time, so frames to a
    /// session keep their order even while a load or snapshot awaits R2.
    pub(crate) async fn apply(&self, effects: Vec<Effect>) {
        let start = self.with(|live| {
            live.queue.extend(effects);
            let start = !live.draining;
            live.draining = true;
            start
        });
        if start != Some(true) {
            return;
        }
        while let Some(effect) = self.with(|live| live.queue.pop_front()).flatten() {
            let more = crate::effects::carry_out(self, effect).await;
            self.with(|live| live.queue.extend(more));
        }
        self.with(|live| live.draining = false);
        if self.with(|live| live.poisoned) == Some(true) {
            *self.live.borrow_mut() = None;
            return;
        }
        self.save_sessions();
        self.schedule_alarm().await;
    }

    /// Saves the records of sessions that changed since last saved.
    pub(crate) fn save_sessions(&self) {
        let Ok(log) = self.log() else {
            return;
        };
        self.with(|live| {
            let ids: Vec<SessionId> = live.sockets.keys().copied().collect();
            for id in ids {
                let Some(record) = live.room.session_record(id) else {
                    continue;
                };
                if live.saved.get(&id) != Some(&record) {
                    match log.save_session(id, &record) {
                        Ok(()) => {
                            live.saved.insert(id, record);
                        }
                        Err(e) => console_error!("saving a session record failed: {e}"),
                    }
                }
            }
        });
    }

    /// Closes (4401) the sockets whose token has expired, hibernated or not:
    /// the alarm is set for the earliest expiry (see `schedule_alarm`).
    pub(crate) async fn close_expired(&self) {
        let now = now_ms();
        for ws in self.state.get_websockets() {
            if expiry_of(&ws).is_some_and(|at| at <= now) {
                let _ = ws.close(
                    Some(close::UNAUTHORIZED),
                    Some(tessera_crdt::api::EXPIRED_REASON),
                );
                self.socket_gone(&ws).await;
            }
        }
    }

    /// Sets the alarm for the room's next deadline (snapshots, presence
    /// expiry, the earliest token expiry of a socket), or to evict idle docs
    /// while any are in memory.
    async fn schedule_alarm(&self) {
        let now = now_ms();
        let expiry = self
            .state
            .get_websockets()
            .iter()
            .filter_map(expiry_of)
            .min();
        let want = self.with(|live| {
            let stats = live.room.stats();
            let deadline = live
                .room
                .next_deadline()
                .or_else(|| (stats.docs_loaded > 0).then_some(now + IDLE_EVICT_MS));
            let deadline = match (deadline, expiry) {
                (Some(d), Some(e)) => d.min(e),
                (d, e) => d.or(e)?,
            };
            let deadline = deadline.max(now + 1);
            match live.alarm_at {
                Some(at) if at <= deadline && at > now => None,
                _ => {
                    live.alarm_at = Some(deadline);
                    Some(deadline)
                }
            }
        });
        if let Some(Some(at)) = want {
            let offset = i64::try_from(at.saturating_sub(now)).unwrap_or(i64::MAX);
            if let Err(e) = self.state.storage().set_alarm(offset).await {
                console_error!("setting the alarm failed: {e}");
                self.with(|live| live.alarm_at = None);
            }
        }
    }
}
