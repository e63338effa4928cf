//! Tessera's relay as a Cloudflare Worker: the second thin shell over the
//! core room (`tessera-crdt`), with one Durable Object per vault, SQLite
//! storage in the object for the log, and R2 for snapshots, heads, the
//! manifest and blobs — the same endpoints, tokens, limits, messages and
//! key layout as the self-hosted relay.
//!
//! Only `route`, `api` and `config` are plain Rust; the rest needs the Workers runtime
//! and is compiled for `wasm32` only, so native workspace builds and tests
//! see a small library.

pub mod api;
pub mod config;
pub mod route;

#[cfg(target_arch = "wasm32")]
mod backup;
#[cfg(target_arch = "wasm32")]
mod effects;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg(target_arch = "wasm32")]
mod front;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod log;
#[cfg(target_arch = "wasm32")]
mod object;
#[cfg(target_arch = "wasm32")]
mod respond;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(target_arch = "wasm32")]
pub use object::VaultObject;
