//! The route table lives in the core (`tessera_crdt::api`), shared with the relay.

pub use tessera_crdt::api::{route, Matched, Route};
