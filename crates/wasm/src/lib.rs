//! Tessera's core for JavaScript: the npm package used by the browser page, Node and Workers.
//!
//! Only conversion lives here; every answer comes from the core, so the page, the CLI and the
//! edge agree. JS values are built in [`js`].
#![deny(missing_docs)]

mod js;
pub mod validation;

use tessera::Timestamp;
use wasm_bindgen::prelude::*;

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    validation::VERSION.to_owned()
}

/// Validates a file's text as `tessera validate` does: NDJSON (one message a line), a batch
/// document (`{"batch": [...]}`) or a JSON array. Every message needs a `messageId` (unless
/// `deriveIds`) and a `timestamp`. Returns `{accepted, rejected: [{index, path, code, message}]}`.
#[wasm_bindgen]
pub fn validate(
    text: &str,
    #[wasm_bindgen(js_name = deriveIds)] derive_ids: Option<bool>,
) -> JsValue {
    js::report(&validation::validate_file(
        text,
        derive_ids.unwrap_or(false),
    ))
}

/// What the edge answers to `body` posted on `path` (`/v1/track`, `/v1/b`, ...) when it arrives
/// at `receivedAt` (ms since the epoch): `{accepted, rejected}`, or a thrown `Error` with the
/// `code`, `path` and `errors` of the 400 the edge would send.
#[wasm_bindgen(js_name = checkRequest)]
pub fn check_request(
    path: &str,
    body: &str,
    #[wasm_bindgen(js_name = receivedAt)] received_at: f64,
) -> Result<JsValue, JsValue> {
    validation::check_request(path, body.as_bytes(), Timestamp(received_at as i64))
        .map(|report| js::report(&report))
        .map_err(|err| js::error(&err))
}
