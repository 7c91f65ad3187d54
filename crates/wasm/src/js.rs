//! Every conversion from core values to JavaScript values, in one place.

use js_sys::{Array, Error, Object, Reflect};
use tessera::ingest::{Rejection, RequestError};
use wasm_bindgen::JsValue;

use crate::validation::Report;

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    // Reflect.set on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
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

/// `{accepted, rejected: [...]}`.
pub fn report(report: &Report) -> JsValue {
    let obj = Object::new();
    set(&obj, "accepted", report.accepted as f64);
    let rejected: Array = report.rejected.iter().map(rejection).collect();
    set(&obj, "rejected", rejected);
    obj.into()
}

/// A real `Error` (stack, `instanceof Error`) carrying `code`, `path` (of the first detail, or
/// `""` when the whole input is at fault) and `errors`.
pub fn error(err: &RequestError) -> JsValue {
    let e = Error::new(&err.message);
    set(&e, "code", err.code);
    let path = err.errors.first().map_or("", |r| r.path.as_str());
    set(&e, "path", path);
    let errors: Array = err.errors.iter().map(rejection).collect();
    set(&e, "errors", errors);
    e.into()
}
