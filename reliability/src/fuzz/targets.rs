//! The fuzz targets: each takes untrusted bytes the way the relay does and
//! checks the invariant "rejected with an error and nothing changed, or
//! accepted and canonical".

use tessera_crdt::awareness::{encode_update, AwarenessEntry};
use tessera_crdt::ids::INDEX_DOC;
use tessera_crdt::limits::Limits;
use tessera_crdt::protocol::{ErrorCode, Message, SyncMessage, VaultFrame};
use tessera_crdt::room::{Effect, Endpoint, Room, RoomConfig};
use tessera_crdt::snapshot::{self, Head, HistoryEntry, SnapshotHeader};
use tessera_crdt::token::{mint, sign_payload, verify, Claims, Scope, TokenKey};
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

/// The note doc every room target preloads.
pub const NOTE: &str = "0123456789abcdef0123456789abcdef";
const VAULT: &str = "fuzz-vault";
const NOW: u64 = 1_800_000_000;
const WRITER: u64 = 1;

/// What one execution showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decoded (and, through a room, applied or answered).
    Accepted,
    /// Refused with an error.
    Rejected,
    /// A yrs panic was contained and the doc quarantined.
    Quarantined,
}

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A doc-endpoint frame (one y-protocols message), decoded.
    Frame,
    /// A vault-endpoint frame (doc id envelope + message), through a room.
    Envelope,
    /// Extension messages (type ≥ 100) in vault frames, through a room.
    Extension,
    /// Tokens: raw strings, and payloads signed with the right key.
    Token,
    /// Snapshot files (checksum fixed up after mutation) and head pointers.
    Snapshot,
    /// yrs updates in a valid sync envelope, applied by a room.
    Update,
}

impl Target {
    /// Every target, in report order.
    pub const ALL: [Target; 6] = [
        Target::Frame,
        Target::Envelope,
        Target::Extension,
        Target::Token,
        Target::Snapshot,
        Target::Update,
    ];

    /// The name used on the command line and for the corpus folder.
    pub fn name(self) -> &'static str {
        match self {
            Target::Frame => "frame",
            Target::Envelope => "envelope",
            Target::Extension => "extension",
            Target::Token => "token",
            Target::Snapshot => "snapshot",
            Target::Update => "update",
        }
    }

    /// Built-in seed inputs (also what `--write-corpus` stores).
    pub fn seeds(self) -> Vec<Vec<u8>> {
        match self {
            Target::Frame => messages().iter().map(|m| m.to_bytes()).collect(),
            Target::Envelope => messages()
                .iter()
                .flat_map(|m| [m.to_vault_frame(NOTE), m.to_vault_frame(INDEX_DOC)])
                .collect(),
            Target::Extension => extension_messages()
                .iter()
                .map(|m| m.to_vault_frame(""))
                .chain(extension_messages().iter().map(|m| m.to_vault_frame(NOTE)))
                .collect(),
            Target::Token => token_seeds(),
            Target::Snapshot => snapshot_seeds(),
            Target::Update => updates(),
        }
    }

    /// Runs one input; `Err` is an invariant violation.
    pub fn exec(self, input: &[u8]) -> Result<Outcome, String> {
        match self {
            Target::Frame => frame(input),
            Target::Envelope | Target::Extension => through_room(input),
            Target::Token => token(input),
            Target::Snapshot => snapshot_input(input),
            Target::Update => {
                through_room(&Message::Sync(SyncMessage::Update(input)).to_vault_frame(NOTE))
            }
        }
    }
}

fn base_doc() -> Doc {
    let doc = Doc::with_client_id(77);
    let text = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    text.insert(
        &mut txn,
        0,
        "# Plans\n\nfirst paragraph\n\nsecond wörld 👋\n",
    );
    drop(txn);
    doc
}

fn updates() -> Vec<Vec<u8>> {
    let doc = base_doc();
    let text = doc.get_or_insert_text("content");
    let full = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let sv = doc.transact().state_vector();
    let insert = {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 9, "inserted ");
        txn.encode_update_v1()
    };
    let delete = {
        let mut txn = doc.transact_mut();
        text.remove_range(&mut txn, 2, 5);
        txn.encode_update_v1()
    };
    let since = doc.transact().encode_state_as_update_v1(&sv);
    vec![full, insert, delete, since, vec![0, 0]]
}

fn messages() -> Vec<Message<'static>> {
    let sv: &'static [u8] = StateVector::default().encode_v1().leak();
    let update: &'static [u8] = updates().swap_remove(1).leak();
    let aw: &'static [u8] = encode_update(&[AwarenessEntry {
        client: 9,
        clock: 2,
        state: r#"{"user":{"name":"Ada"}}"#,
    }])
    .leak();
    let mut out = vec![
        Message::Sync(SyncMessage::Step1(sv)),
        Message::Sync(SyncMessage::Step2(update)),
        Message::Sync(SyncMessage::Update(update)),
        Message::Awareness(aw),
        Message::QueryAwareness,
        Message::PermissionDenied { reason: "no" },
    ];
    out.extend(extension_messages());
    out
}

fn extension_messages() -> Vec<Message<'static>> {
    vec![
        Message::Ack { seq: 3 },
        Message::ChangesSince {
            epoch: "e1",
            cursor: 7,
        },
        Message::Changes {
            epoch: "e1",
            cursor: 9,
            reset: false,
            docs: vec![NOTE, INDEX_DOC],
        },
        Message::Error {
            code: ErrorCode::LimitExceeded,
            seq: 2,
            text: "too big",
        },
        Message::Hello {
            server: "tessera",
            scope: "write",
            epoch: "e1",
            cursor: 4,
        },
    ]
}

/// Decode; if accepted, re-encoding must be a fixpoint and within limits.
fn frame(input: &[u8]) -> Result<Outcome, String> {
    let limits = Limits::default();
    let Ok(message) = Message::decode(input, &limits) else {
        return Ok(Outcome::Rejected);
    };
    let once = message.to_bytes();
    let again = Message::decode(&once, &limits)
        .map_err(|e| format!("re-encoded accepted frame does not decode: {e}"))?;
    if again != message || again.to_bytes() != once {
        return Err(format!(
            "re-encoding is not canonical: {message:?} vs {again:?}"
        ));
    }
    Ok(Outcome::Accepted)
}

/// A room with a writer session and the note and index docs loaded.
fn room() -> Room {
    let mut room = Room::new(VAULT, RoomConfig::default(), "e1");
    room.join(WRITER, Endpoint::Vault, Scope::Write, None, 0);
    let state = updates().swap_remove(0);
    for doc in [NOTE, INDEX_DOC] {
        let sv = StateVector::default().encode_v1();
        let open = Message::Sync(SyncMessage::Step1(&sv)).to_vault_frame(doc);
        for e in room.receive(WRITER, &open, 0) {
            if let Effect::Load { doc } = e {
                room.doc_loaded(&doc, Some(&state), 0, &[], 0);
            }
        }
    }
    room
}

/// Feeds one vault frame to a fresh room: a frame answered with an error or
/// a close must not be persisted and must leave every doc's state as it was.
fn through_room(input: &[u8]) -> Result<Outcome, String> {
    let mut room = room();
    let before: Vec<Option<Vec<u8>>> = [NOTE, INDEX_DOC].map(|d| room.doc_state(d)).into();
    let mut effects = room.receive(WRITER, input, 1);
    let loads: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Load { doc } => Some(doc.clone()),
            _ => None,
        })
        .collect();
    for doc in loads {
        effects.extend(room.doc_loaded(&doc, None, 0, &[], 1));
    }
    let mut rejected = false;
    let mut quarantined = false;
    for e in &effects {
        match e {
            Effect::Close { to: WRITER, .. } => rejected = true,
            Effect::Send { to: WRITER, frame } => {
                if let Ok(f) = VaultFrame::decode(frame, &Limits::default()) {
                    match f.message {
                        Message::Error {
                            code: ErrorCode::DocQuarantined,
                            ..
                        } => quarantined = true,
                        Message::Error { .. } | Message::PermissionDenied { .. } => rejected = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if quarantined {
        return Ok(Outcome::Quarantined);
    }
    if !rejected {
        return Ok(Outcome::Accepted);
    }
    if let Some(p) = effects.iter().find(|e| matches!(e, Effect::Persist { .. })) {
        return Err(format!("a rejected frame was persisted: {p:?}"));
    }
    let after: Vec<Option<Vec<u8>>> = [NOTE, INDEX_DOC].map(|d| room.doc_state(d)).into();
    if after != before {
        return Err("a rejected frame changed a doc's state".into());
    }
    Ok(Outcome::Rejected)
}

fn key() -> TokenKey {
    TokenKey::from_secret(b"fuzz-secret-0123456789abcdef0123456789")
}

fn token_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for scope in [Scope::Read, Scope::Write, Scope::Admin] {
        if let Ok(claims) = Claims::new(VAULT, scope, NOW - 10, Some(3600), Some("phone".into())) {
            let token = mint(&key(), &claims);
            // Mode 0: the token string as sent.
            out.push([&[0u8][..], token.as_bytes()].concat());
            // Mode 1: the claims JSON, signed by the fuzzer after mutation.
            if let Ok(json) = serde_json::to_vec(&claims) {
                out.push([&[1u8][..], &json].concat());
            }
        }
    }
    out
}

/// Raw tokens must verify only if they are exactly what `mint` produces;
/// signed payloads that verify must be valid claims for this vault.
fn token(input: &[u8]) -> Result<Outcome, String> {
    let (mode, rest) = input.split_first().unwrap_or((&0, &[]));
    let token = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        sign_payload(&key(), rest)
    };
    let Ok(claims) = verify(&key(), &token, VAULT, Scope::Read, NOW) else {
        return Ok(Outcome::Rejected);
    };
    claims
        .validate()
        .map_err(|e| format!("verify accepted invalid claims: {e}"))?;
    if claims.vault != VAULT || claims.is_expired(NOW) {
        return Err(format!("verify accepted claims it should not: {claims:?}"));
    }
    if mode % 2 == 0 && mint(&key(), &claims) != token {
        // The MAC covers the exact bytes, so only a minted string can verify.
        return Err(format!(
            "a token that is not the minted form verified: {token}"
        ));
    }
    Ok(Outcome::Accepted)
}

fn snapshot_seeds() -> Vec<Vec<u8>> {
    let header = SnapshotHeader {
        vault: VAULT.into(),
        doc: NOTE.into(),
        created_ms: 5,
        covers: 12,
    };
    let state = updates().swap_remove(0);
    let Ok(file) = snapshot::encode(&header, &state) else {
        return Vec::new();
    };
    let head = Head::first(HistoryEntry::new(&file, &state, 5), 12).encode();
    vec![
        [&[0u8][..], &file].concat(),
        [&[1u8][..], &file].concat(),
        [&[2u8][..], &head].concat(),
    ]
}

/// Mode 0: the file as stored. Mode 1: the checksum is recomputed after
/// mutation, so the header and length parsing behind it are exercised.
/// Mode 2: a head pointer. Accepted input must round-trip exactly.
fn snapshot_input(input: &[u8]) -> Result<Outcome, String> {
    let (mode, rest) = input.split_first().unwrap_or((&0, &[]));
    match mode % 3 {
        2 => {
            let Ok(head) = Head::decode(rest) else {
                return Ok(Outcome::Rejected);
            };
            let again = Head::decode(&head.encode())
                .map_err(|e| format!("re-encoded head does not decode: {e}"))?;
            if again != head {
                return Err("head does not round-trip".into());
            }
            Ok(Outcome::Accepted)
        }
        m => {
            let mut file = rest.to_vec();
            if m == 1 && file.len() >= 32 {
                let body = file.len() - 32;
                let sum = blake3::hash(&file[..body]);
                file[body..].copy_from_slice(sum.as_bytes());
            }
            let Ok(snap) = snapshot::decode(&file, 1 << 20) else {
                return Ok(Outcome::Rejected);
            };
            let again = snapshot::encode(&snap.header, &snap.state)
                .map_err(|e| format!("accepted snapshot does not re-encode: {e}"))?;
            let back = snapshot::decode(&again, 1 << 20)
                .map_err(|e| format!("re-encoded snapshot does not decode: {e}"))?;
            if back != snap {
                return Err("snapshot does not round-trip".into());
            }
            Ok(Outcome::Accepted)
        }
    }
}
