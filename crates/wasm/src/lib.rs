//! Tessera's core for JavaScript: the npm package used by the browser page, Node and Workers.
//!
//! Only conversion lives here; every answer comes from the core, so the page, the CLI and the
//! edge agree. JS values are built in [`js`].
#![deny(missing_docs)]

mod js;
pub mod validation;

use wasm_bindgen::prelude::*;

/// The engine's version (the core crate's).
#[wasm_bindgen]
pub fn version() -> String {
    validation::VERSION.to_owned()
}

/// Validates a file's text, NDJSON (one message a line) or a batch document (`{"batch": [...]}`),
/// as the CLI reads files: every message needs a `messageId` and a `timestamp`.
///
/// Returns `{accepted, rejected: [{index, path, code, message}]}`; throws an `Error` with `code`
/// and `path` when the text as a whole cannot be read (a batch document that is not JSON, say).
#[wasm_bindgen]
pub fn validate(text: &str) -> Result<JsValue, JsValue> {
    validation::validate(text)
        .map(|report| js::report(&report))
        .map_err(|err| js::error(&err))
}
