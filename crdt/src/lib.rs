//! Tessera's core: everything the relay, the worker and the plugin share.
//!
//! The crate does no I/O and reads no clock. Bytes and events go in; bytes and
//! effects come out. The shells (`tessera-relay`, `tessera-worker`, and the
//! plugin through the `wasm` feature) own sockets, storage and time.

/// The crate version, shown by the shells.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

pub mod api;
pub mod awareness;
pub mod backup;
pub mod cursor;
pub mod encoding;
pub mod files;
pub mod gc;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod note;
pub mod protocol;
pub mod publish;
pub mod rate;
pub mod room;
pub mod snapshot;
pub mod token;
pub mod vault;

mod diff;

#[cfg(feature = "wasm")]
pub mod wasm;
