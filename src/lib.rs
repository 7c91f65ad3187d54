//! Tessera's core: the event contract, identity resolution, segments and activation.
//!
//! The same crate runs natively (the `tessera` CLI and the tests), in the browser and Node (the
//! npm package built from `crates/wasm`) and at the edge (`crates/worker`). It has no wasm or
//! worker dependency, so it tests natively and gives the same answer everywhere.
#![deny(missing_docs)]

pub mod activation;
pub mod event;
pub mod gen;
pub mod identity;
pub mod ingest;
mod memory;
pub mod pipeline;
pub mod segment;
pub mod suggest;
pub mod time;

pub use event::{CallType, Event};
pub use time::Timestamp;
