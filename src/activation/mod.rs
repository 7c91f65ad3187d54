//! Activation (`activation.md`): handing an audience to the tools marketers use.
//!
//! - [`csv`]: RFC 4180 export with formula-injection protection, streamed row by row, and the
//!   diff between two snapshots.
//! - [`meta`]: Meta Custom Audiences: per-key normalization, SHA-256, payload batches.
//! - [`webhook`]: signed webhook batches, idempotency keys, resumable sync plans and the retry
//!   policy.
//!
//! Everything here is pure: no clock, no network, no filesystem. The CLI and the edge pass `now`,
//! do the I/O and report acknowledgements back.
//!
//! ```
//! use tessera::activation::csv::{ColumnSpec, CsvExport};
//! use tessera::identity::Profile;
//!
//! let mut profile = Profile {
//!     id: "p_0123456789abcdef".into(),
//!     identifiers: Default::default(),
//!     traits: Default::default(),
//!     event_count: 1,
//!     first_seen: Default::default(),
//!     last_seen: Default::default(),
//! };
//! profile.identifiers.entry("email".into()).or_default().insert("ann@example.com".into());
//! profile.traits.insert("plan".into(), "=pro".into());
//!
//! let columns = ColumnSpec::parse("email,plan").unwrap();
//! let mut export = CsvExport::new(Vec::new(), &columns).unwrap();
//! export.write_profile(&profile).unwrap();
//! let csv = String::from_utf8(export.finish().unwrap()).unwrap();
//! assert_eq!(csv, "profile_id,email,plan\r\np_0123456789abcdef,ann@example.com,'=pro\r\n");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::identity::Profile;

pub mod csv;
pub mod meta;
pub mod webhook;

/// Why an activation request was refused: a stable `code`, the `path` of the offending input and
/// a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {path}: {message}")]
pub struct ActivationError {
    /// Stable snake_case code (`unknown_meta_key`, `empty_column`, ...).
    pub code: &'static str,
    /// Where in the input: `columns[2]`, `schema[0]`, `after[10]`, ...
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ActivationError {
    pub(crate) fn new(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ActivationError {
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// What an exporter needs from a profile. [`Profile`] implements it; a columnar store can too,
/// without building `Profile` values.
pub trait ProfileRecord {
    /// The stable profile id (`p_` + 16 hex digits).
    fn profile_id(&self) -> &str;
    /// The values of one identifier type, in byte order.
    fn identifier_values(&self, kind: &str) -> impl Iterator<Item = &str>;
    /// The trait at a dot path (`address.city`), if present.
    fn trait_at(&self, path: &str) -> Option<&Value>;
}

impl ProfileRecord for Profile {
    fn profile_id(&self) -> &str {
        &self.id
    }

    fn identifier_values(&self, kind: &str) -> impl Iterator<Item = &str> {
        self.identifiers
            .get(kind)
            .into_iter()
            .flat_map(BTreeSet::iter)
            .map(String::as_str)
    }

    fn trait_at(&self, path: &str) -> Option<&Value> {
        trait_at_path(&self.traits, path)
    }
}

/// Follows a dot path (`address.city`) into a trait object.
pub fn trait_at_path<'a>(
    traits: &'a serde_json::Map<String, Value>,
    path: &str,
) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = traits.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// A profile as webhook destinations receive it: id, identifiers and traits.
pub fn profile_json(profile: &Profile) -> Value {
    let identifiers: BTreeMap<&str, Vec<&str>> = profile
        .identifiers
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    serde_json::json!({
        "profile_id": profile.id,
        "identifiers": identifiers,
        "traits": profile.traits,
    })
}
