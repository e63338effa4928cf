//! Refusals and the request door live in the core (`tessera_crdt::api`),
//! shared with the relay; this module keeps the worker's import paths.

pub use tessera_crdt::api::{cors_origin, selected_protocol, ApiError, Credentials, CORS_ORIGINS};
