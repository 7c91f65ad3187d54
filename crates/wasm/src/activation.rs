//! Activation helpers as standalone functions: Meta normalization and hashing, CSV cells and
//! files, webhook signatures. The rules are the core's, so a browser-side preview of an upload
//! shows exactly what the edge sends.

use serde_json::Value;
use tessera::activation::csv::{render_cell, write_csv, CellSource};
use tessera::activation::meta::{self, MetaKey};
use tessera::activation::webhook;
use wasm_bindgen::prelude::*;

use crate::engine::columns;
use crate::js;
use crate::workspace::{EngineError, Result, Workspace};

fn meta_key(name: &str) -> Result<MetaKey> {
    MetaKey::from_name(name).ok_or_else(|| {
        EngineError::new(
            "unknown_meta_key",
            "key",
            format!("`{name}` is not a Meta key (EMAIL, PHONE, FN, LN, FI, GEN, DOBY, DOBM, DOBD, CT, ST, ZIP, COUNTRY, EXTERN_ID, MADID)"),
        )
    })
}

/// The text Meta expects for `value` under `key` before hashing, or `null` when nothing is
/// left. `country` (the profile's, ISO 3166 alpha-2) helps phone numbers without a prefix.
#[wasm_bindgen(js_name = normalizeMeta)]
pub fn normalize_meta(
    key: &str,
    value: &str,
    country: Option<String>,
) -> std::result::Result<JsValue, JsValue> {
    let key = meta_key(key).map_err(js::error)?;
    Ok(meta::normalize(key, value, country.as_deref()).map_or(JsValue::NULL, JsValue::from))
}

/// The cell sent to Meta: SHA-256 hex of the normalized value (EXTERN_ID and MADID are sent
/// normalized, unhashed); `""` when nothing is left.
#[wasm_bindgen(js_name = hashMeta)]
pub fn hash_meta(
    key: &str,
    value: &str,
    country: Option<String>,
) -> std::result::Result<String, JsValue> {
    let key = meta_key(key).map_err(js::error)?;
    Ok(meta::cell(key, value, country.as_deref()))
}

/// Lowercase hex SHA-256 of the text's UTF-8 bytes.
#[wasm_bindgen(js_name = sha256Hex)]
pub fn sha256_hex(text: &str) -> String {
    meta::sha256_hex(text)
}

/// One CSV cell as an export writes it, before quoting: strings as they are, numbers and
/// booleans as JSON, objects and arrays as compact JSON, `null`/missing empty, and the
/// formula-injection guard (a leading `'` before `=`, `+`, `-`, `@`, TAB, CR).
#[wasm_bindgen(js_name = csvCell)]
pub fn csv_cell(value: JsValue) -> std::result::Result<String, JsValue> {
    let value = js::from_js(&value, "value").map_err(js::error)?;
    let mut out = String::new();
    render_cell(CellSource::Json(Some(&value)), &mut out);
    Ok(out)
}

/// A CSV file (RFC 4180, CRLF) of these profiles (`{id, identifiers?, traits?}`): `profile_id`,
/// then the columns.
#[wasm_bindgen(js_name = toCsv)]
pub fn to_csv(profiles: JsValue, columns_list: JsValue) -> std::result::Result<String, JsValue> {
    (|| {
        let profiles = js::from_js(&profiles, "profiles")?;
        let spec = columns(Some(&js::from_js(&columns_list, "columns")?)).map_err(|mut e| {
            e.path = e.path.trim_start_matches("options.").to_owned();
            e
        })?;
        let mut workspace = Workspace::from_resolved(&serde_json::json!({ "profiles": profiles }))?;
        let list = workspace.profiles()?;
        // The resolved input is sorted by id; an export keeps the caller's order.
        let order: Vec<&str> = match &profiles {
            Value::Array(items) => items
                .iter()
                .filter_map(|p| p.get("id").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        let rows = order
            .iter()
            .filter_map(|id| list.binary_search_by(|p| p.id.as_str().cmp(id)).ok())
            .map(|i| &list[i]);
        let mut out = Vec::new();
        write_csv(&mut out, &spec, rows)?;
        String::from_utf8(out).map_err(|e| EngineError::new("io_error", "", e.to_string()))
    })()
    .map_err(js::error)
}

/// The `X-Signature` header of a webhook body: `sha256=` + hex HMAC-SHA256 with the secret.
#[wasm_bindgen(js_name = signWebhook)]
pub fn sign_webhook(body: &str, secret: &str) -> String {
    webhook::sign(body.as_bytes(), secret.as_bytes())
}

/// True when `header` is the right `X-Signature` for the body and secret (constant time).
#[wasm_bindgen(js_name = verifyWebhook)]
pub fn verify_webhook(body: &str, secret: &str, header: &str) -> bool {
    webhook::verify_signature(body.as_bytes(), secret.as_bytes(), header)
}
