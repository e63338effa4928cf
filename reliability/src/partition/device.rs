//! One simulated device: the vault index and its notes held in the core
//! crate's own types (as the plugin holds them through WASM), a vault socket
//! when online, and the plugin's rules for renames, deletes and first-sync
//! path conflicts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{anyhow, Result};
use tessera_conformance::{Target, VaultClient};
use tessera_crdt::ids::{random_client_id, INDEX_DOC};
use tessera_crdt::note::Note;
use tessera_crdt::token::Scope;
use tessera_crdt::vault::{EntryKind, EntryMeta, Index};
use tokio::time::Instant;
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

use crate::rng::Rng;

/// Paths new notes are created at: few, so devices collide on them.
pub const PATHS: [&str; 5] = [
    "Inbox.md",
    "Plans.md",
    "Daily/Today.md",
    "Ideas.md",
    "Log.md",
];

/// A device of the vault.
pub struct Device {
    /// Name for messages (`d0`, `d1`, …).
    pub name: String,
    client_id: u64,
    index: Index,
    notes: BTreeMap<String, Note>,
    /// Entries this device created: the ones it must retire if they lose a path.
    created: BTreeSet<String>,
    /// Whether the device wants to be online (it reconnects after a relay restart).
    pub online: bool,
    conn: Option<VaultClient>,
    /// Docs synced over the current connection.
    synced: BTreeSet<String>,
    counter: u64,
    /// Rename notes onto the shared paths too (not only to fresh ones), so
    /// offline devices can move two different notes onto one path.
    pub rename_onto_shared_paths: bool,
}

impl Device {
    /// A device with an empty vault.
    pub fn new(name: &str) -> Device {
        let client_id = random_client_id();
        Device {
            name: name.to_owned(),
            client_id,
            index: Index::new(client_id),
            notes: BTreeMap::new(),
            created: BTreeSet::new(),
            online: false,
            conn: None,
            synced: BTreeSet::new(),
            counter: 0,
            rename_onto_shared_paths: false,
        }
    }

    /// True while a socket is open.
    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Drops the socket (the relay went away, or the device went offline).
    pub fn disconnect(&mut self) {
        self.conn = None;
        self.synced.clear();
    }

    fn local_state(&self, doc: &str) -> Option<Vec<u8>> {
        if doc == INDEX_DOC {
            Some(self.index.encode_state())
        } else {
            self.notes.get(doc).map(Note::encode_state)
        }
    }

    /// Opens a socket and syncs every doc both ways: the socket's view of
    /// each doc starts as the local state, so its state vector asks only for
    /// what is missing and the relay's sync step 1 is answered with our
    /// offline edits.
    pub async fn connect(&mut self, target: &Target, vault: &str) -> Result<()> {
        self.disconnect();
        let client = target.vault_client(vault, Scope::Write).await?;
        self.conn = Some(client);
        let docs: Vec<String> = std::iter::once(INDEX_DOC.to_owned())
            .chain(self.notes.keys().cloned())
            .collect();
        for doc in docs {
            self.open(&doc).await?;
        }
        self.absorb().await
    }

    async fn open(&mut self, doc: &str) -> Result<()> {
        let state = self.local_state(doc);
        let conn = self.conn.as_mut().ok_or_else(|| anyhow!("offline"))?;
        if let Some(state) = state {
            let update = Update::decode_v1(&state)?;
            conn.doc(doc).transact_mut().apply_update(update)?;
        }
        conn.open_and_sync(doc).await?;
        self.synced.insert(doc.to_owned());
        Ok(())
    }

    /// Applies what arrived, and opens notes the index names that are new here.
    async fn absorb(&mut self) -> Result<()> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(());
            };
            let received = std::mem::take(&mut conn.received_updates);
            for (doc, updates) in received {
                for u in updates {
                    if doc == INDEX_DOC {
                        self.index.apply_remote(&u)?;
                    } else {
                        let id = self.client_id;
                        self.notes
                            .entry(doc.clone())
                            .or_insert_with(|| Note::new(id))
                            .apply_remote(&u)?;
                    }
                }
            }
            let unseen: Vec<String> = self
                .index
                .list()
                .into_iter()
                .filter(|e| e.kind == EntryKind::Note && !self.synced.contains(&e.id))
                .map(|e| e.id)
                .collect();
            if unseen.is_empty() {
                return Ok(());
            }
            for id in unseen {
                let client_id = self.client_id;
                self.notes
                    .entry(id.clone())
                    .or_insert_with(|| Note::new(client_id));
                self.open(&id).await?;
            }
        }
    }

    /// Reads what the relay sent for up to `ms` milliseconds and applies it.
    pub async fn pump(&mut self, ms: u64) -> Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            let deadline = Instant::now() + Duration::from_millis(ms);
            loop {
                match conn.pump(deadline, "updates").await {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.disconnect();
                        return Ok(());
                    }
                    // The deadline passed: nothing more for now.
                    Err(_) => break,
                }
            }
        }
        self.absorb().await
    }

    /// Re-syncs every doc and waits until all our writes are acked.
    pub async fn settle(&mut self) -> Result<()> {
        let docs: Vec<String> = std::iter::once(INDEX_DOC.to_owned())
            .chain(self.notes.keys().cloned())
            .collect();
        for doc in docs {
            self.open(&doc).await?;
        }
        self.absorb().await?;
        let conn = self.conn.as_mut().ok_or_else(|| anyhow!("offline"))?;
        let writes: Vec<(String, u64)> = conn.writes.iter().map(|(d, n)| (d.clone(), *n)).collect();
        for (doc, n) in writes {
            conn.wait_ack(&doc, n).await?;
        }
        Ok(())
    }

    /// Sends a local change if online; offline, it waits in the local state.
    async fn send(&mut self, doc: &str, update: Vec<u8>) {
        if let Some(conn) = self.conn.as_mut() {
            if conn.write_update(doc, &update).await.is_err() {
                self.disconnect();
            }
        }
    }

    fn paragraph(&mut self) -> String {
        self.counter += 1;
        format!("p-{}-{}\n", self.name, self.counter)
    }

    fn live_notes(&self) -> Vec<String> {
        self.index
            .list()
            .into_iter()
            .filter(|e| e.kind == EntryKind::Note && self.notes.contains_key(&e.id))
            .map(|e| e.id)
            .collect()
    }

    /// One random user action: create, edit, delete a paragraph, rename or delete a note.
    pub async fn act(&mut self, rng: &mut Rng) -> Result<String> {
        let live = self.live_notes();
        let roll = rng.below(100);
        if live.is_empty() || roll < 15 {
            let path = PATHS[rng.index(PATHS.len())];
            if self.index.lookup(path).is_some() {
                return Ok(format!("{} found {path} taken", self.name));
            }
            let (id, entry) = self
                .index
                .create(path, EntryKind::Note, EntryMeta::default())?;
            let mut note = Note::new(self.client_id);
            let text = self.paragraph();
            // The text goes first, so a device resolving a conflict finds it.
            let body = note.insert(0, &text)?;
            self.notes.insert(id.clone(), note);
            self.created.insert(id.clone());
            if self.conn.is_some() {
                self.open(&id).await?;
            }
            self.send(&id, body).await;
            self.send(INDEX_DOC, entry).await;
            return Ok(format!("{} created {path}", self.name));
        }
        let id = live[rng.index(live.len())].clone();
        let path = self.index.get(&id).map(|e| e.path).unwrap_or_default();
        if roll < 75 {
            let note = self
                .notes
                .get_mut(&id)
                .ok_or_else(|| anyhow!("no note {id}"))?;
            let text = note.text();
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            let lines = starts.len() - 1;
            let update = if roll >= 62 && lines > 1 {
                let k = rng.index(lines);
                note.delete(starts[k] as u32, (starts[k + 1] - starts[k]) as u32)?
            } else {
                let at = starts[rng.index(starts.len())] as u32;
                let p = self.paragraph();
                self.notes
                    .get_mut(&id)
                    .ok_or_else(|| anyhow!("no note {id}"))?
                    .insert(at, &p)?
            };
            self.send(&id, update).await;
            Ok(format!("{} edited {path}", self.name))
        } else if roll < 90 {
            self.counter += 1;
            let shared = PATHS[rng.index(PATHS.len())];
            let to = if self.rename_onto_shared_paths && self.index.lookup(shared).is_none() {
                shared.to_owned()
            } else {
                format!("Moved/{}-{}.md", self.name, self.counter)
            };
            let update = self.index.rename(&id, &to)?;
            self.send(INDEX_DOC, update).await;
            Ok(format!("{} renamed {path} to {to}", self.name))
        } else {
            let update = self.index.delete(&id)?;
            self.send(INDEX_DOC, update).await;
            Ok(format!("{} deleted {path}", self.name))
        }
    }

    /// The plugin's rule for a path two devices created at once: the device
    /// that created a losing entry merges its text into the winner (once the
    /// winner's text is synced here, or it would be added twice) and retires
    /// its entry. Returns how many it resolved.
    pub async fn resolve_conflicts(&mut self) -> Result<usize> {
        let mut resolved = 0;
        for c in self.index.conflicts() {
            for loser in c.losers {
                if !self.created.contains(&loser) || !self.synced.contains(&c.winner) {
                    continue;
                }
                let ours = self.notes.get(&loser).map(Note::text).unwrap_or_default();
                let merge = match self.notes.get_mut(&c.winner) {
                    Some(winner) => winner.merge_union(&ours)?,
                    None => continue,
                };
                if let Some(update) = merge {
                    self.send(&c.winner, update).await;
                }
                let retire = self.index.retire(&loser, &c.winner)?;
                self.send(INDEX_DOC, retire).await;
                self.created.remove(&loser);
                resolved += 1;
            }
        }
        Ok(resolved)
    }

    /// What must agree across devices: live entries (id, path) and each
    /// live note's text.
    pub fn view(&self) -> BTreeMap<String, (String, String)> {
        self.index
            .list()
            .into_iter()
            .map(|e| {
                let text = self.notes.get(&e.id).map(Note::text).unwrap_or_default();
                (e.id, (e.path, text))
            })
            .collect()
    }

    /// Paths with more than one live entry.
    pub fn conflicted_paths(&self) -> Vec<String> {
        self.index.conflicts().into_iter().map(|c| c.path).collect()
    }
}
