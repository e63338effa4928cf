//! Load generator comparing the Tessera relay with the servers people would
//! otherwise pick: y-websocket's reference server, Hocuspocus and y-sweet.
//!
//! It speaks each server's framing of the y-protocols messages
//! ([`protocols`]), measures delivery latency and bytes on the client side
//! and reads the server's CPU time and RSS from /proc ([`procstat`]).
//! `scripts/bench.sh` runs every [`scenarios`] module against every server.

pub mod conn;
pub mod procstat;
pub mod protocols;
pub mod scenarios;
pub mod stats;
