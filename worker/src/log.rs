//! The vault's durable state in Durable Object SQLite storage: the update
//! log (the worker's write-ahead log), the change catalog, the session
//! records of hibernated sockets, and a few counters.
//!
//! Writes are synchronous calls into the object's own SQLite; the runtime's
//! output gate holds every message sent afterwards (the ack above all) until
//! the write is confirmed durable, which is what "acked only once durable"
//! needs. A SQLite value is limited to 2 MB, so an update is stored in parts.

use std::collections::BTreeMap;

use bytes::Bytes;
use tessera_crdt::room::{SessionId, SessionRecord};
use worker::{SqlStorage, SqlStorageValue};

/// Bytes per stored part of a log entry (under SQLite's 2 MB value limit).
const PART_BYTES: usize = 1 << 20;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The SQL call failed.
    #[error("durable object storage failed: {0}")]
    Sql(String),
    /// A stored row is not what this code writes.
    #[error("durable object storage holds an unexpected row: {0}")]
    Corrupt(String),
}

impl From<worker::Error> for LogError {
    fn from(e: worker::Error) -> Self {
        LogError::Sql(e.to_string())
    }
}

/// The object's SQLite storage.
pub struct Log {
    sql: SqlStorage,
}

/// What start-up needs from the log.
pub struct Recovered {
    /// Higher than every ticket ever issued.
    pub next_ticket: u64,
    /// Each doc with log entries: first and last ticket.
    pub logged: Vec<(String, u64, u64)>,
    /// The change catalog.
    pub catalog: Vec<(String, u64)>,
    /// Whether this object's catalog was kept since the vault was opened
    /// here; if not (new object, or its storage was lost), cursors handed out
    /// before cannot be honoured and an existing vault gets a new epoch.
    pub catalog_intact: bool,
}

fn int(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

fn as_u64(v: &SqlStorageValue) -> Result<u64, LogError> {
    match v {
        SqlStorageValue::Integer(i) => {
            u64::try_from(*i).map_err(|_| LogError::Corrupt(format!("negative number {i}")))
        }
        SqlStorageValue::Float(f) if *f >= 0.0 => Ok(*f as u64),
        other => Err(LogError::Corrupt(format!(
            "expected a number, found {other:?}"
        ))),
    }
}

fn as_string(v: &SqlStorageValue) -> Result<String, LogError> {
    match v {
        SqlStorageValue::String(s) => Ok(s.clone()),
        other => Err(LogError::Corrupt(format!("expected text, found {other:?}"))),
    }
}

fn as_bytes(v: SqlStorageValue) -> Result<Vec<u8>, LogError> {
    match v {
        SqlStorageValue::Blob(b) => Ok(b),
        SqlStorageValue::Null => Ok(Vec::new()),
        other => Err(LogError::Corrupt(format!(
            "expected bytes, found {other:?}"
        ))),
    }
}

impl Log {
    /// Opens the storage, creating the tables on first use.
    pub fn open(sql: SqlStorage) -> Result<Log, LogError> {
        for ddl in [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS log (ticket INTEGER NOT NULL, part INTEGER NOT NULL, \
             doc TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ticket, part))",
            "CREATE TABLE IF NOT EXISTS catalog (doc TEXT PRIMARY KEY, ticket INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sessions (id INTEGER PRIMARY KEY, record TEXT NOT NULL)",
        ] {
            sql.exec(ddl, None)?;
        }
        Ok(Log { sql })
    }

    /// A value from the meta table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, LogError> {
        let rows = self.sql.exec(
            "SELECT value FROM meta WHERE key = ?",
            vec![SqlStorageValue::from(key)],
        )?;
        match rows.raw().next() {
            Some(row) => Ok(Some(as_string(
                row?.first().unwrap_or(&SqlStorageValue::Null),
            )?)),
            None => Ok(None),
        }
    }

    /// Sets a value in the meta table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), LogError> {
        self.sql.exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![SqlStorageValue::from(key), SqlStorageValue::from(value)],
        )?;
        Ok(())
    }

    /// Appends an update under `ticket`, and records it in the catalog and
    /// the ticket counter, all in the object's implicit transaction.
    pub fn append(&self, ticket: u64, doc: &str, update: &[u8]) -> Result<(), LogError> {
        let parts: Vec<&[u8]> = if update.is_empty() {
            vec![&[]]
        } else {
            update.chunks(PART_BYTES).collect()
        };
        for (i, part) in parts.into_iter().enumerate() {
            self.sql.exec(
                "INSERT OR REPLACE INTO log (ticket, part, doc, data) VALUES (?, ?, ?, ?)",
                vec![
                    int(ticket),
                    int(i as u64),
                    SqlStorageValue::from(doc),
                    SqlStorageValue::Blob(part.to_vec()),
                ],
            )?;
        }
        self.sql.exec(
            "INSERT INTO catalog (doc, ticket) VALUES (?, ?) \
             ON CONFLICT(doc) DO UPDATE SET ticket = max(ticket, excluded.ticket)",
            vec![SqlStorageValue::from(doc), int(ticket)],
        )?;
        self.set_meta("next_ticket", &(ticket + 1).to_string())?;
        Ok(())
    }

    /// Marks the catalog as kept from now on (after the manifest is settled).
    pub fn mark_catalog_kept(&self) -> Result<(), LogError> {
        self.set_meta("catalog", "kept")
    }

    /// Drops every entry below `below` (covered by stored snapshots).
    pub fn compact(&self, below: u64) -> Result<(), LogError> {
        self.sql
            .exec("DELETE FROM log WHERE ticket < ?", vec![int(below)])?;
        Ok(())
    }

    /// Saves changed catalog entries (before compaction, as the relay does).
    pub fn save_catalog(&self, entries: &[(String, u64)]) -> Result<(), LogError> {
        for (doc, ticket) in entries {
            self.sql.exec(
                "INSERT INTO catalog (doc, ticket) VALUES (?, ?) \
                 ON CONFLICT(doc) DO UPDATE SET ticket = max(ticket, excluded.ticket)",
                vec![SqlStorageValue::from(doc.as_str()), int(*ticket)],
            )?;
        }
        Ok(())
    }

    /// A doc's log entries, in ticket order.
    pub fn entries(&self, doc: &str) -> Result<Vec<(u64, Bytes)>, LogError> {
        let rows = self.sql.exec(
            "SELECT ticket, data FROM log WHERE doc = ? ORDER BY ticket, part",
            vec![SqlStorageValue::from(doc)],
        )?;
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        for row in rows.raw() {
            let mut row = row?;
            if row.len() != 2 {
                return Err(LogError::Corrupt("log row".into()));
            }
            let data = as_bytes(row.pop().unwrap_or(SqlStorageValue::Null))?;
            let ticket = as_u64(&row[0])?;
            match out.last_mut() {
                Some((t, bytes)) if *t == ticket => bytes.extend_from_slice(&data),
                _ => out.push((ticket, data)),
            }
        }
        Ok(out.into_iter().map(|(t, b)| (t, Bytes::from(b))).collect())
    }

    /// What start-up needs: the ticket counter, logged docs and the catalog.
    pub fn recover(&self) -> Result<Recovered, LogError> {
        let mut logged = Vec::new();
        let rows = self.sql.exec(
            "SELECT doc, min(ticket), max(ticket) FROM log GROUP BY doc",
            None,
        )?;
        for row in rows.raw() {
            let row = row?;
            if row.len() != 3 {
                return Err(LogError::Corrupt("log summary row".into()));
            }
            logged.push((as_string(&row[0])?, as_u64(&row[1])?, as_u64(&row[2])?));
        }
        let mut catalog = Vec::new();
        for row in self
            .sql
            .exec("SELECT doc, ticket FROM catalog", None)?
            .raw()
        {
            let row = row?;
            if row.len() != 2 {
                return Err(LogError::Corrupt("catalog row".into()));
            }
            catalog.push((as_string(&row[0])?, as_u64(&row[1])?));
        }
        let next_ticket = match self.meta("next_ticket")? {
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| LogError::Corrupt(format!("next_ticket {v:?}")))?,
            None => 1,
        };
        let last_logged = logged.iter().map(|(_, _, last)| *last).max().unwrap_or(0);
        let next_ticket = next_ticket.max(last_logged + 1);
        Ok(Recovered {
            catalog_intact: self.meta("catalog")?.is_some(),
            next_ticket,
            logged,
            catalog,
        })
    }

    /// Saves a session's record (for restoring it after hibernation).
    pub fn save_session(&self, id: SessionId, record: &SessionRecord) -> Result<(), LogError> {
        let json = serde_json::to_string(record).map_err(|e| LogError::Corrupt(e.to_string()))?;
        self.sql.exec(
            "INSERT INTO sessions (id, record) VALUES (?, ?) \
             ON CONFLICT(id) DO UPDATE SET record = excluded.record",
            vec![int(id), SqlStorageValue::String(json)],
        )?;
        Ok(())
    }

    /// Forgets a session's record.
    pub fn drop_session(&self, id: SessionId) -> Result<(), LogError> {
        self.sql
            .exec("DELETE FROM sessions WHERE id = ?", vec![int(id)])?;
        Ok(())
    }

    /// Every saved session record.
    pub fn sessions(&self) -> Result<BTreeMap<SessionId, SessionRecord>, LogError> {
        let mut out = BTreeMap::new();
        for row in self
            .sql
            .exec("SELECT id, record FROM sessions", None)?
            .raw()
        {
            let row = row?;
            if row.len() != 2 {
                return Err(LogError::Corrupt("session row".into()));
            }
            let record: SessionRecord = serde_json::from_str(&as_string(&row[1])?)
                .map_err(|e| LogError::Corrupt(format!("session record: {e}")))?;
            out.insert(as_u64(&row[0])?, record);
        }
        Ok(out)
    }

    /// A new session id, unique for the life of the object (kept across hibernation).
    pub fn next_session_id(&self) -> Result<SessionId, LogError> {
        let next = match self.meta("next_session")? {
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| LogError::Corrupt(format!("next_session {v:?}")))?,
            None => 1,
        };
        self.set_meta("next_session", &(next + 1).to_string())?;
        Ok(next)
    }
}
