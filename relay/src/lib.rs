//! Tessera's self-hosted relay: the I/O shell around the core's room.
//!
//! The core (`tessera-crdt`) decides everything — protocol, acks, snapshots,
//! limits, tokens. This crate moves bytes: WebSockets and HTTP (axum), the
//! write-ahead log on local disk, and snapshots in a [`store::Store`] (a local
//! directory by default, or S3).

pub mod backup;
pub mod config;
pub mod metrics;
pub mod server;
pub mod store;
pub mod vault;
pub mod wal;
