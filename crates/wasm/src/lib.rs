//! Tessera's core for JavaScript: the npm package `@tessera/engine` used by browsers, Node and
//! Workers, and by the page in `www/`.
//!
//! Only conversion lives here; every answer comes from the core, so the page, the CLI and the
//! edge agree. JS values are built in the `js` module; the `Engine` class is in [`engine`] over
//! the plain Rust state in [`workspace`]; standalone activation helpers are in [`activation`].
#![deny(missing_docs)]

pub mod activation;
pub mod engine;
mod js;
pub mod validation;
pub mod workspace;

use serde_json::{json, Value};
use tessera::ingest::{self, Route, Source};
use tessera::Timestamp;
use wasm_bindgen::prelude::*;

use workspace::EngineError;

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    validation::VERSION.to_owned()
}

/// Called once by the package's entry file: errors are thrown as instances of `class`.
#[wasm_bindgen(js_name = __registerErrorClass)]
pub fn register_error_class(class: js_sys::Function) {
    js::register_error_class(class);
}

/// `options` as `{deriveIds}`, or the boolean itself (the page's older call).
fn derive_ids(options: &JsValue) -> Result<bool, EngineError> {
    if let Some(b) = options.as_bool() {
        return Ok(b);
    }
    js::derive_ids(options)
}

/// Validates messages as `tessera validate` does: NDJSON text (one message a line), a batch
/// document (`{"batch": [...]}`), a JSON array text, or an array of message objects. Every
/// message needs a `messageId` (unless `deriveIds`) and a `timestamp`. Returns
/// `{accepted, rejected: [{index, path, code, message}]}`.
#[wasm_bindgen]
pub fn validate(messages: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    (|| {
        let derive = derive_ids(&options)?;
        let text = js::messages(&messages)?;
        Ok(js::report(&validation::validate_file(&text, derive)))
    })()
    .map_err(js::error)
}

/// What the edge answers to `body` posted on `path` (`/v1/track`, `/v1/b`, ...) when it arrives
/// at `receivedAt` (ms since the epoch): `{accepted, rejected}`, or a thrown `TesseraError` with
/// the `code`, `path` and `errors` of the 400 the edge would send.
#[wasm_bindgen(js_name = checkRequest)]
pub fn check_request(
    path: &str,
    body: JsValue,
    #[wasm_bindgen(js_name = receivedAt)] received_at: f64,
) -> Result<JsValue, JsValue> {
    let body = js::messages(&body).map_err(js::error)?;
    validation::check_request(path, &body, Timestamp(received_at as i64))
        .map(|report| js::report(&report))
        .map_err(|err| js::request_error(&err))
}

fn events_json(events: &[tessera::Event]) -> Value {
    Value::Array(events.iter().map(tessera::Event::to_json).collect())
}

/// Parses a request body as the edge does, returning the events themselves:
/// `{writeKey, events, rejected}`. `options.receivedAt` (Date, RFC 3339 or ms) is the edge's
/// receive time (skew correction, assigned `messageId`s); without it the body is read as a
/// replay from a file (`messageId` and `timestamp` required unless `options.deriveIds`).
/// `options.gzip` says the body is declared gzip (`Content-Encoding: gzip`). A request the edge
/// answers 400 throws a `TesseraError` with `errors`.
#[wasm_bindgen(js_name = parseRequest)]
pub fn parse_request(path: &str, body: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let parsed = (|| {
        let options = js::options(&options)?;
        let source = match js::time(options.get("receivedAt"), "options.receivedAt")? {
            Some(received_at) => Source::Edge { received_at },
            None => Source::File {
                derive_ids: js::flag(options.get("deriveIds"), "options.deriveIds")?,
            },
        };
        let gzip = js::flag(options.get("gzip"), "options.gzip")?;
        let route = Route::from_path(path).ok_or_else(|| {
            EngineError::new(
                "unknown_route",
                "",
                format!("{path} is not an ingestion route"),
            )
        })?;
        Ok((route, source, gzip, js::messages(&body)?))
    })()
    .map_err(js::error)?;
    let (route, source, gzip, body) = parsed;
    let outcome = ingest::decode_body(&body, gzip)
        .and_then(|body| ingest::parse_request(route, &body, source))
        .map_err(|e| js::request_error(&e))?;
    let value = json!({
        "writeKey": outcome.write_key,
        "events": events_json(&outcome.accepted),
        "rejected": [],
    });
    let result = js::to_js(&value);
    let rejected: js_sys::Array = outcome.rejected.iter().map(js::rejection).collect();
    let _ = js_sys::Reflect::set(&result, &JsValue::from_str("rejected"), &rejected);
    Ok(result)
}

/// Reads messages in file mode (as `ingest` does) and returns the events themselves:
/// `{events, rejected, duplicates}`. With `options.dedup` the events are deduplicated by
/// `messageId` (earliest event time kept) and sorted by (time, `messageId`); otherwise they are
/// in input order and `duplicates` is 0.
#[wasm_bindgen(js_name = parseFile)]
pub fn parse_file(messages: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    (|| {
        let options_map = js::options(&options)?;
        let derive = js::flag(options_map.get("deriveIds"), "options.deriveIds")?;
        let dedup = js::flag(options_map.get("dedup"), "options.dedup")?;
        let text = js::messages(&messages)?;
        let outcome = ingest::read_file_bytes(&text, Source::File { derive_ids: derive });
        let (events, duplicates) = if dedup {
            ingest::dedup(outcome.accepted)
        } else {
            (outcome.accepted, 0)
        };
        let result = js::to_js(&json!({"events": events_json(&events), "duplicates": duplicates}));
        let rejected: js_sys::Array = outcome.rejected.iter().map(js::rejection).collect();
        let _ = js_sys::Reflect::set(&result, &JsValue::from_str("rejected"), &rejected);
        Ok(result)
    })()
    .map_err(js::error)
}
