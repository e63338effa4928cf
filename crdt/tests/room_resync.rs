//! Resync after being offline: a cursor a device stores never passes a
//! change it has not fetched (issue 15).
//!
//! The room is driven as the shells drive it; devices are small models of
//! the client rule the plugin engine follows: the first `changes` frame after
//! a `changes-since` is its answer, and a cursor is stored only once the
//! answer arrived and every doc listed so far (and every doc followed) has
//! its step 2.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{Message, SyncMessage, VaultFrame, VAULT_LEVEL};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig, SessionId, SessionRecord};
use tessera_crdt::token::Scope;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

const WRITER: SessionId = 1;

fn note_id(i: usize) -> String {
    format!("{i:032x}")
}

fn text_of(doc: &Doc) -> String {
    doc.get_or_insert_text("content")
        .get_string(&doc.transact())
}

/// A small deterministic generator (splitmix64): the seed names the run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One connection of a device: frames in flight both ways and the state of
/// its resync round.
struct Conn {
    session: SessionId,
    /// Frames the device sent that the relay has not received yet (the uplink).
    up: VecDeque<Vec<u8>>,
    /// Frames the relay sent that the device has not received yet.
    down: VecDeque<Bytes>,
    asked: bool,
    answered: bool,
    /// Listed in a `changes` frame, step 2 not received yet.
    listed: BTreeSet<String>,
    subscribed: HashSet<String>,
    synced: HashSet<String>,
    /// The newest cursor seen in a `changes` frame on this connection.
    candidate: Option<(String, u64)>,
}

struct Device {
    /// Docs open in an editor: followed from the hello on, before asking
    /// what changed (as the engine does with the index and open notes).
    open: Vec<String>,
    cursor: Option<(String, u64)>,
    notes: HashMap<String, Doc>,
    conn: Option<Conn>,
}

impl Device {
    fn new(open: Vec<String>) -> Device {
        Device {
            open,
            cursor: None,
            notes: HashMap::new(),
            conn: None,
        }
    }

    fn state_vector(&self, doc: &str) -> Vec<u8> {
        self.notes
            .get(doc)
            .map(|d| d.transact().state_vector().encode_v1())
            .unwrap_or_else(|| StateVector::default().encode_v1())
    }

    /// Takes in one frame from the relay, queueing what it answers.
    fn receive(&mut self, frame: &[u8]) {
        let frame = VaultFrame::decode(frame, &Limits::default()).expect("relay frames decode");
        let doc = frame.doc.to_owned();
        match frame.message {
            Message::Hello { .. } => {
                let follows: Vec<(String, Vec<u8>)> = self
                    .open
                    .iter()
                    .map(|d| (d.clone(), self.state_vector(d)))
                    .collect();
                let conn = self.conn.as_mut().expect("connected");
                for (d, sv) in follows {
                    conn.up
                        .push_back(Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(&d));
                    conn.subscribed.insert(d);
                }
                let (epoch, cursor) = self.cursor.clone().unwrap_or_default();
                let ask = Message::ChangesSince {
                    epoch: &epoch,
                    cursor,
                }
                .to_vault_frame(VAULT_LEVEL);
                let conn = self.conn.as_mut().expect("connected");
                conn.up.push_back(ask);
                conn.asked = true;
            }
            Message::Changes {
                epoch,
                cursor,
                reset,
                docs,
            } => {
                let mut listed: Vec<String> = docs.iter().map(|d| (*d).to_owned()).collect();
                if reset {
                    listed.extend(self.notes.keys().cloned());
                }
                let svs: Vec<(String, Vec<u8>)> = listed
                    .iter()
                    .map(|d| (d.clone(), self.state_vector(d)))
                    .collect();
                let conn = self.conn.as_mut().expect("connected");
                if conn.asked {
                    conn.answered = true;
                }
                for (d, sv) in svs {
                    if conn.subscribed.insert(d.clone()) {
                        let step1 = Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(&d);
                        conn.up.push_back(step1);
                    }
                    if !conn.synced.contains(&d) {
                        conn.listed.insert(d);
                    }
                }
                conn.candidate = Some((epoch.to_owned(), cursor));
                self.try_store_cursor();
            }
            Message::Sync(SyncMessage::Step2(u)) | Message::Sync(SyncMessage::Update(u)) => {
                let step2 = matches!(frame.message, Message::Sync(SyncMessage::Step2(_)));
                let note = self
                    .notes
                    .entry(doc.clone())
                    .or_insert_with(|| Doc::with_client_id(99));
                let update = Update::decode_v1(u).expect("relay updates decode");
                note.transact_mut()
                    .apply_update(update)
                    .expect("relay updates apply");
                if step2 {
                    let conn = self.conn.as_mut().expect("connected");
                    conn.synced.insert(doc.clone());
                    conn.listed.remove(&doc);
                    self.try_store_cursor();
                }
            }
            _ => {}
        }
    }

    /// The rule under test: store a cursor only once the answer arrived and
    /// everything listed or followed is synced (and so stored locally).
    fn try_store_cursor(&mut self) {
        let Some(conn) = &self.conn else { return };
        let all_synced = conn.subscribed.iter().all(|d| conn.synced.contains(d));
        if conn.answered && conn.listed.is_empty() && all_synced {
            if let Some(c) = &conn.candidate {
                self.cursor = Some(c.clone());
            }
        }
    }
}

/// A relay room, a writing device that stays online, and reading devices
/// that come and go on slow links.
struct Sim {
    room: Room,
    /// Persisted updates per doc with their tickets (what a load returns).
    log: HashMap<String, Vec<(u64, Bytes)>>,
    persisted: u64,
    durable: u64,
    writer: HashMap<String, Doc>,
    devices: Vec<Device>,
    next_session: SessionId,
}

impl Sim {
    fn new(devices: usize) -> Sim {
        let mut sim = Sim {
            room: Room::new("default", RoomConfig::default(), "epoch-1"),
            log: HashMap::new(),
            persisted: 0,
            durable: 0,
            writer: HashMap::new(),
            // Each device has one note open in an editor (note 9 + its number).
            devices: (0..devices)
                .map(|d| Device::new(vec![note_id(9 + d)]))
                .collect(),
            next_session: WRITER + 1,
        };
        let fx = sim
            .room
            .join(WRITER, Endpoint::Vault, Scope::Write, None, 0);
        sim.run(fx);
        sim
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Send { to, frame } => {
                    if let Some(conn) = self.conn_of(to) {
                        conn.down.push_back(frame);
                    }
                }
                Effect::Close { to, .. } => {
                    for d in &mut self.devices {
                        if d.conn.as_ref().is_some_and(|c| c.session == to) {
                            d.conn = None;
                        }
                    }
                }
                Effect::Load { doc } => {
                    let log = self.log.get(&doc).cloned().unwrap_or_default();
                    queue.extend(self.room.doc_loaded(&doc, None, 0, &log, 0));
                }
                Effect::Persist {
                    ticket,
                    doc,
                    update,
                } => {
                    self.log.entry(doc).or_default().push((ticket, update));
                    self.persisted = self.persisted.max(ticket);
                }
                _ => {}
            }
        }
    }

    fn conn_of(&mut self, session: SessionId) -> Option<&mut Conn> {
        self.devices
            .iter_mut()
            .filter_map(|d| d.conn.as_mut())
            .find(|c| c.session == session)
    }

    fn edit(&mut self, note: usize, word: &str) {
        let id = note_id(note);
        let doc = self
            .writer
            .entry(id.clone())
            .or_insert_with(|| Doc::with_client_id(7));
        let t = doc.get_or_insert_text("content");
        let update = {
            let mut txn = doc.transact_mut();
            let len = t.len(&txn);
            t.insert(&mut txn, len, word);
            txn.encode_update_v1()
        };
        let frame = Message::Sync(SyncMessage::Update(&update)).to_vault_frame(&id);
        let fx = self.room.receive(WRITER, &frame, 0);
        self.run(fx);
    }

    /// The log is durable through `ticket` (at most what was persisted).
    fn make_durable(&mut self, ticket: u64) {
        let ticket = ticket.min(self.persisted);
        if ticket > self.durable {
            self.durable = ticket;
            let fx = self.room.durable(ticket);
            self.run(fx);
        }
    }

    fn connect(&mut self, device: usize) {
        if self.devices[device].conn.is_some() {
            return;
        }
        let session = self.next_session;
        self.next_session += 1;
        self.devices[device].conn = Some(Conn {
            session,
            up: VecDeque::new(),
            down: VecDeque::new(),
            asked: false,
            answered: false,
            listed: BTreeSet::new(),
            subscribed: HashSet::new(),
            synced: HashSet::new(),
            candidate: None,
        });
        let fx = self
            .room
            .join(session, Endpoint::Vault, Scope::Read, None, 0);
        self.run(fx);
    }

    /// The socket drops: whatever is in flight either way is lost.
    fn drop_conn(&mut self, device: usize) {
        if let Some(conn) = self.devices[device].conn.take() {
            let fx = self.room.leave(conn.session, 0);
            self.run(fx);
        }
    }

    fn deliver_up(&mut self, device: usize) -> bool {
        let Some(conn) = self.devices[device].conn.as_mut() else {
            return false;
        };
        let Some(frame) = conn.up.pop_front() else {
            return false;
        };
        let session = conn.session;
        let fx = self.room.receive(session, &frame, 0);
        self.run(fx);
        true
    }

    fn deliver_down(&mut self, device: usize) -> bool {
        let Some(conn) = self.devices[device].conn.as_mut() else {
            return false;
        };
        let Some(frame) = conn.down.pop_front() else {
            return false;
        };
        self.devices[device].receive(&frame);
        true
    }

    /// Connects `device` and exchanges frames until nothing is in flight.
    fn settle(&mut self, device: usize) {
        self.connect(device);
        loop {
            let moved = self.deliver_up(device) | self.deliver_down(device);
            if !moved {
                let persisted = self.persisted;
                self.make_durable(persisted);
                if !self.deliver_up(device) && !self.deliver_down(device) {
                    break;
                }
            }
        }
    }

    fn stale_notes(&self, device: usize) -> Vec<String> {
        let d = &self.devices[device];
        let mut stale: Vec<String> = self
            .writer
            .iter()
            .filter(|(id, doc)| d.notes.get(*id).map(text_of) != Some(text_of(doc)))
            .map(|(id, _)| id.clone())
            .collect();
        stale.sort();
        stale
    }
}

#[test]
fn an_announcement_racing_the_first_answer_cannot_make_a_device_skip_offline_edits() {
    let mut sim = Sim::new(1);
    // B syncs once, then goes offline with its cursor.
    sim.settle(0);
    sim.drop_conn(0);
    // A edits five notes; they are durable.
    for i in 0..5 {
        sim.edit(i, "offline edit ");
    }
    sim.make_durable(u64::MAX);
    // B reconnects on a slow uplink: its greeting (step 1 for the note open
    // in its editor, then changes-since) has not reached the relay when A
    // types into that note and the edit becomes durable.
    sim.connect(0);
    assert!(sim.deliver_down(0), "the hello arrives");
    sim.edit(9, "typing in the note B has open");
    sim.make_durable(u64::MAX);
    // The relay gets B's step 1 and answers it; B takes in what reached it;
    // then the socket drops with the changes-since answer still in flight.
    assert!(
        sim.deliver_up(0),
        "step 1 for the open note reaches the relay"
    );
    while sim.deliver_down(0) {}
    sim.drop_conn(0);
    // The next connection resumes from the stored cursor.
    sim.settle(0);
    assert_eq!(sim.stale_notes(0), Vec::<String>::new());
}

#[test]
fn a_vault_session_gets_no_announcement_before_its_first_changes_since_is_answered() {
    let mut sim = Sim::new(1);
    sim.connect(0);
    assert!(sim.deliver_down(0), "the hello arrives");
    sim.edit(3, "x");
    sim.make_durable(u64::MAX);
    let conn = sim.devices[0].conn.as_ref().expect("connected");
    assert!(
        conn.down.is_empty(),
        "no changes frame may reach a session whose changes-since is unanswered"
    );
    // Once answered, later changes are announced.
    while sim.deliver_up(0) || sim.deliver_down(0) {}
    sim.drop_conn(0);
    sim.connect(0);
    sim.deliver_down(0);
    while sim.deliver_up(0) {}
    while sim.deliver_down(0) {}
    sim.edit(4, "y");
    sim.make_durable(u64::MAX);
    let conn = sim.devices[0].conn.as_ref().expect("connected");
    assert_eq!(conn.down.len(), 1, "one announcement after the answer");
}

#[test]
fn a_cursor_handed_out_while_a_write_is_not_yet_durable_never_skips_that_write() {
    let mut sim = Sim::new(1);
    sim.settle(0);
    sim.drop_conn(0);
    // A's write is applied (ticketed) but not durable when B asks.
    sim.edit(2, "applied, not durable");
    sim.connect(0);
    sim.deliver_down(0);
    while sim.deliver_up(0) {}
    // B receives the answer but drops before fetching anything.
    while sim.deliver_down(0) {}
    sim.drop_conn(0);
    sim.make_durable(u64::MAX);
    sim.settle(0);
    assert_eq!(sim.stale_notes(0), Vec::<String>::new());
}

#[test]
fn a_hibernated_session_record_keeps_whether_the_session_has_a_baseline() {
    let mut room = Room::new("default", RoomConfig::default(), "epoch-1");
    room.join(5, Endpoint::Vault, Scope::Read, None, 0);
    let before = room.session_record(5).expect("a record");
    assert!(!before.baseline);
    let ask = Message::ChangesSince {
        epoch: "epoch-1",
        cursor: 0,
    }
    .to_vault_frame(VAULT_LEVEL);
    room.receive(5, &ask, 0);
    let after = room.session_record(5).expect("a record");
    assert!(after.baseline);
    let json = serde_json::to_string(&after).expect("records serialise");
    let back: SessionRecord = serde_json::from_str(&json).expect("records parse");
    let mut rebuilt = Room::new("default", RoomConfig::default(), "epoch-1");
    rebuilt.restore_session(5, back);
    assert_eq!(rebuilt.session_record(5), Some(after));
    // A record written before the field existed reads as no baseline.
    let old = r#"{"doc":null,"scope":"read","token_id":null}"#;
    let old: SessionRecord = serde_json::from_str(old).expect("old records parse");
    assert!(!old.baseline);
}

/// Random interleavings of edits, connects, slow links, durability,
/// announcements, answers and drops; then every device reconnects once more
/// and must end with every note's latest text.
#[test]
fn after_any_interleaving_the_last_reconnect_brings_every_device_every_note() {
    for seed in 0..1000u64 {
        let mut rng = Rng(seed);
        let devices = 3;
        let mut sim = Sim::new(devices);
        let steps = 60 + rng.below(140);
        for _ in 0..steps {
            let d = rng.below(devices as u64) as usize;
            match rng.below(10) {
                0 | 1 => {
                    let note = rng.below(12) as usize;
                    sim.edit(note, "w ");
                }
                2 => {
                    let upto = sim.durable + 1 + rng.below(3);
                    sim.make_durable(upto);
                }
                3 => sim.connect(d),
                4 => sim.drop_conn(d),
                5 | 6 => {
                    sim.deliver_up(d);
                }
                _ => {
                    sim.deliver_down(d);
                }
            }
        }
        for d in 0..devices {
            sim.drop_conn(d);
        }
        for d in 0..devices {
            sim.settle(d);
            sim.drop_conn(d);
        }
        for d in 0..devices {
            assert_eq!(
                sim.stale_notes(d),
                Vec::<String>::new(),
                "seed {seed}: device {d} misses notes after its last reconnect"
            );
        }
    }
}
