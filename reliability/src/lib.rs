//! Drivers that try to break Tessera from the outside, with real processes:
//! SIGKILL chaos ([`chaos`]), hostile input ([`fuzz`], [`bad_inputs`]),
//! partitions ([`partition`]) and a bounded soak ([`soak`]). Each run is
//! seeded and prints the numbers `docs/reliability.md` reports.

pub mod bad_inputs;
pub mod chaos;
pub mod fuzz;
pub mod partition;
pub mod rng;
pub mod server;
pub mod soak;
