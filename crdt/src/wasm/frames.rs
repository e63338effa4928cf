//! Vault-endpoint frames and awareness updates for JavaScript.

use wasm_bindgen::prelude::*;

use super::js::{self, AwarenessStates};
use super::to_js_err;
use crate::awareness::{self, AwarenessEntry};
use crate::limits::Limits;
use crate::protocol::{Message, SyncMessage, VaultFrame, VAULT_LEVEL};

/// A decoded vault frame. `kind` is one of `step1`, `step2`, `update`,
/// `awareness`, `permission-denied`, `query-awareness`, `ack`,
/// `changes-since`, `changes`, `error`, `hello`; the other fields are set
/// for the kinds that carry them.
#[wasm_bindgen]
#[derive(Default)]
pub struct Frame {
    doc: String,
    kind: &'static str,
    payload: Vec<u8>,
    seq: f64,
    cursor: f64,
    reset: bool,
    epoch: String,
    docs: Vec<String>,
    code: String,
    text: String,
    scope: String,
    server: String,
}

#[wasm_bindgen]
impl Frame {
    /// The doc the frame is about ("" for vault-level frames).
    #[wasm_bindgen(getter)]
    pub fn doc(&self) -> String {
        self.doc.clone()
    }
    /// The message kind.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        self.kind.to_owned()
    }
    /// Sync payload (state vector or update) or awareness update.
    #[wasm_bindgen(getter)]
    pub fn payload(&self) -> Vec<u8> {
        self.payload.clone()
    }
    /// `ack`: writes acknowledged; `error`: the refused write (0 if none).
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.seq
    }
    /// `changes`/`hello`: the change cursor.
    #[wasm_bindgen(getter)]
    pub fn cursor(&self) -> f64 {
        self.cursor
    }
    /// `changes`: the cursor was not honoured; `docs` lists every doc.
    #[wasm_bindgen(getter)]
    pub fn reset(&self) -> bool {
        self.reset
    }
    /// `changes`/`hello`: the relay's epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> String {
        self.epoch.clone()
    }
    /// `changes`: changed doc ids.
    #[wasm_bindgen(getter)]
    pub fn docs(&self) -> Vec<String> {
        self.docs.clone()
    }
    /// `error`: the reason code's name (e.g. `permission-denied`).
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> String {
        self.code.clone()
    }
    /// `error`/`permission-denied`: the explanation.
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.text.clone()
    }
    /// `hello`: the connection's scope.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> String {
        self.scope.clone()
    }
    /// `hello`: the relay's name and version.
    #[wasm_bindgen(getter)]
    pub fn server(&self) -> String {
        self.server.clone()
    }
}

/// Decodes a vault-endpoint frame, under the default limits.
#[wasm_bindgen(js_name = decodeFrame)]
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, JsError> {
    let f = VaultFrame::decode(bytes, &Limits::default()).map_err(to_js_err)?;
    let mut out = Frame {
        doc: f.doc.to_owned(),
        ..Frame::default()
    };
    match f.message {
        Message::Sync(SyncMessage::Step1(p)) => (out.kind, out.payload) = ("step1", p.to_vec()),
        Message::Sync(SyncMessage::Step2(p)) => (out.kind, out.payload) = ("step2", p.to_vec()),
        Message::Sync(SyncMessage::Update(p)) => (out.kind, out.payload) = ("update", p.to_vec()),
        Message::Awareness(p) => (out.kind, out.payload) = ("awareness", p.to_vec()),
        Message::PermissionDenied { reason } => {
            (out.kind, out.text) = ("permission-denied", reason.to_owned())
        }
        Message::QueryAwareness => out.kind = "query-awareness",
        Message::Ack { seq } => (out.kind, out.seq) = ("ack", seq as f64),
        Message::ChangesSince { epoch, cursor } => {
            (out.kind, out.epoch, out.cursor) = ("changes-since", epoch.to_owned(), cursor as f64)
        }
        Message::Changes {
            epoch,
            cursor,
            reset,
            docs,
        } => {
            out.kind = "changes";
            out.epoch = epoch.to_owned();
            out.cursor = cursor as f64;
            out.reset = reset;
            out.docs = docs.into_iter().map(str::to_owned).collect();
        }
        Message::Error { code, seq, text } => {
            (out.kind, out.code, out.seq, out.text) =
                ("error", code.name().to_owned(), seq as f64, text.to_owned())
        }
        Message::Hello {
            server,
            scope,
            epoch,
            cursor,
        } => {
            out.kind = "hello";
            out.server = server.to_owned();
            out.scope = scope.to_owned();
            out.epoch = epoch.to_owned();
            out.cursor = cursor as f64;
        }
    }
    Ok(out)
}

/// Sync step 1 for `doc`: "here is my state vector".
#[wasm_bindgen(js_name = encodeStep1)]
pub fn encode_step1(doc: &str, state_vector: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Step1(state_vector)).to_vault_frame(doc)
}

/// Sync step 2 for `doc`: "here is what you lack".
#[wasm_bindgen(js_name = encodeStep2)]
pub fn encode_step2(doc: &str, update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Step2(update)).to_vault_frame(doc)
}

/// An incremental update for `doc`.
#[wasm_bindgen(js_name = encodeUpdate)]
pub fn encode_update(doc: &str, update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).to_vault_frame(doc)
}

/// An awareness message for `doc` carrying an encoded awareness update.
#[wasm_bindgen(js_name = encodeAwarenessFrame)]
pub fn encode_awareness_frame(doc: &str, awareness_update: &[u8]) -> Vec<u8> {
    Message::Awareness(awareness_update).to_vault_frame(doc)
}

/// Asks the relay for the current awareness states of `doc`.
#[wasm_bindgen(js_name = encodeQueryAwareness)]
pub fn encode_query_awareness(doc: &str) -> Vec<u8> {
    Message::QueryAwareness.to_vault_frame(doc)
}

/// Asks which docs changed since `cursor` of `epoch` (vault-level).
#[wasm_bindgen(js_name = encodeChangesSince)]
pub fn encode_changes_since(epoch: &str, cursor: f64) -> Vec<u8> {
    Message::ChangesSince {
        epoch,
        cursor: cursor.max(0.0) as u64,
    }
    .to_vault_frame(VAULT_LEVEL)
}

/// An awareness update with one client's state as JSON text (`"null"` to
/// leave), e.g. `JSON.stringify(state)`.
#[wasm_bindgen(js_name = encodeAwarenessUpdate)]
pub fn encode_awareness_update(
    client: f64,
    clock: f64,
    state_json: &str,
) -> Result<Vec<u8>, JsError> {
    let client = super::client_id(client)?;
    let clock = super::client_id(clock)?;
    Ok(awareness::encode_update(&[AwarenessEntry {
        client,
        clock,
        state: state_json,
    }]))
}

/// Decodes an awareness update into `[{client, clock, state}]`, each `state`
/// parsed from its JSON text (`null` for a client that left, or for text
/// that is not JSON).
#[wasm_bindgen(js_name = decodeAwarenessUpdate)]
pub fn decode_awareness_update(bytes: &[u8]) -> Result<AwarenessStates, JsError> {
    let entries = awareness::decode_update(bytes, &Limits::default()).map_err(to_js_err)?;
    Ok(js::awareness_states(&entries))
}
