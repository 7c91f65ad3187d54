//! Every conversion between JavaScript values and the core's values, in one place.
//!
//! Plain data crosses as JSON (`JSON.stringify` / `JSON.parse`), so a `Date` arrives as its
//! RFC 3339 text and the shapes are exactly the core's `to_json` shapes. Errors become instances
//! of the package's `TesseraError` class (registered at load), with `code` and `path`.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect, JSON};
use serde_json::Value;
use tessera::ingest::{Rejection, RequestError};
use tessera::Timestamp;
use wasm_bindgen::{JsCast, JsValue};

use crate::validation::Report;
use crate::workspace::{EngineError, IngestReport, Result};

thread_local! {
    /// The `TesseraError` class of the package's entry file.
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Makes `class` (`new class(message, code, path)`) the class of every error thrown.
pub fn register_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    // Reflect.set on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

/// A thrown error: a `TesseraError` (a real `Error`) with `code` and `path`.
pub fn throw(code: &str, path: &str, message: &str) -> JsValue {
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    let args = Array::of3(
        &JsValue::from_str(message),
        &JsValue::from_str(code),
        &JsValue::from_str(path),
    );
    if let Some(Ok(error)) = class.map(|class| Reflect::construct(&class, &args)) {
        return error;
    }
    // Loaded without the entry file (the raw wasm-bindgen module): still a real Error.
    let e = js_sys::Error::new(message);
    set(&e, "code", code);
    set(&e, "path", path);
    e.into()
}

/// An [`EngineError`] as a thrown value.
pub fn error(e: EngineError) -> JsValue {
    throw(e.code, &e.path, &e.message)
}

/// A core value as a plain JS value.
pub fn to_js(value: &Value) -> JsValue {
    let text = value.to_string();
    JSON::parse(&text).unwrap_or(JsValue::NULL)
}

/// A JS value as JSON (`undefined` is `null`; a `Date` its RFC 3339 text).
pub fn from_js(value: &JsValue, path: &str) -> Result<Value> {
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    let text = JSON::stringify(value).map_err(|_| {
        EngineError::new(
            "invalid_json",
            path,
            "not serializable as JSON (a cycle or a BigInt?)",
        )
    })?;
    let text = String::from(text);
    serde_json::from_str(&text).map_err(|e| EngineError::new("invalid_json", path, e.to_string()))
}

/// An options object (or `undefined`) as a JSON object.
pub fn options(value: &JsValue) -> Result<serde_json::Map<String, Value>> {
    match from_js(value, "options")? {
        Value::Null => Ok(serde_json::Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(EngineError::new(
            "wrong_type",
            "options",
            "options must be an object",
        )),
    }
}

/// A time option: a `Date`, an RFC 3339 string or milliseconds since the epoch.
pub fn time(value: Option<&Value>, path: &str) -> Result<Option<Timestamp>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Timestamp::parse(text).map(Some).map_err(|_| {
            EngineError::new(
                "invalid_timestamp",
                path,
                format!("`{text}` is not an RFC 3339 time"),
            )
        }),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(ms) if ms.is_finite() => Ok(Some(Timestamp(ms as i64))),
            _ => Err(EngineError::new(
                "invalid_timestamp",
                path,
                "not a finite number of ms",
            )),
        },
        Some(_) => Err(EngineError::new(
            "invalid_timestamp",
            path,
            "a time is a Date, an RFC 3339 string or ms since the epoch",
        )),
    }
}

/// A required time option.
pub fn required_time(value: Option<&Value>, path: &str) -> Result<Timestamp> {
    time(value, path)?.ok_or_else(|| {
        EngineError::new(
            "missing_now",
            path,
            "the evaluation time is required: the engine never reads the clock",
        )
    })
}

/// A non-negative integer option.
pub fn count(value: Option<&Value>, path: &str) -> Result<Option<usize>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| EngineError::new("wrong_type", path, "must be a non-negative integer")),
    }
}

/// A string option.
pub fn text<'v>(value: Option<&'v Value>, path: &str) -> Result<Option<&'v str>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EngineError::new("wrong_type", path, "must be a string")),
    }
}

/// A boolean option.
pub fn flag(value: Option<&Value>, path: &str) -> Result<bool> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(EngineError::new("wrong_type", path, "must be a boolean")),
    }
}

/// `options.deriveIds` of a file-mode call (`ingest`, `validate`).
pub fn derive_ids(options: &JsValue) -> Result<bool> {
    let options = self::options(options)?;
    flag(options.get("deriveIds"), "options.deriveIds")
}

/// Messages as file text: NDJSON (or a batch document) as given, an array as its JSON.
pub fn messages(value: &JsValue) -> Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    if Array::is_array(value) {
        let text = JSON::stringify(value).map_err(|_| {
            EngineError::new(
                "invalid_json",
                "",
                "the messages are not serializable as JSON",
            )
        })?;
        return Ok(String::from(text).into_bytes());
    }
    Err(EngineError::new(
        "wrong_type",
        "",
        "messages are an array of objects, or NDJSON text (one message a line)",
    ))
}

/// `{index, path, code, message}`.
pub fn rejection(r: &Rejection) -> JsValue {
    let obj = Object::new();
    set(&obj, "index", r.index as f64);
    set(&obj, "path", r.path.as_str());
    set(&obj, "code", r.code);
    set(&obj, "message", r.message.as_str());
    obj.into()
}

fn rejections(list: &[Rejection]) -> Array {
    list.iter().map(rejection).collect()
}

/// `{accepted, rejected: [...]}`.
pub fn report(report: &Report) -> JsValue {
    let obj = Object::new();
    set(&obj, "accepted", report.accepted as f64);
    set(&obj, "rejected", rejections(&report.rejected));
    obj.into()
}

/// `{accepted, rejected: [...], duplicates}`.
pub fn ingest_report(report: &IngestReport) -> JsValue {
    let obj = Object::new();
    set(&obj, "accepted", report.accepted as f64);
    set(&obj, "rejected", rejections(&report.rejected));
    set(&obj, "duplicates", report.duplicates as f64);
    obj.into()
}

/// A request the edge would answer 400: a thrown `TesseraError` with `code`, `path` (of the first
/// detail, or `""` when the whole input is at fault) and `errors`.
pub fn request_error(err: &RequestError) -> JsValue {
    let path = err.errors.first().map_or("", |r| r.path.as_str());
    let e = throw(err.code, path, &err.message);
    if let Some(obj) = e.dyn_ref::<Object>() {
        set(obj, "errors", rejections(&err.errors));
    }
    e
}

/// The high-resolution clock of the host (`performance.now()`), for `tookMs` only.
pub fn clock_ms() -> f64 {
    let performance = Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok();
    let now = performance
        .as_ref()
        .and_then(|p| Reflect::get(p, &JsValue::from_str("now")).ok())
        .and_then(|f| f.dyn_into::<Function>().ok());
    match (performance, now) {
        (Some(p), Some(now)) => now.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or(0.0),
        _ => js_sys::Date::now(),
    }
}
