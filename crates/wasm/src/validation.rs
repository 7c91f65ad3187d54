//! Validation of a whole file's text, the way the CLI reads files (`Source::File`).

use serde::Deserialize;
use tessera::ingest::{self, Rejection, RequestError, Route, Source};

/// The core crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Files carry their own ids; deriving them is an explicit CLI option, not the default.
const FILE: Source = Source::File { derive_ids: false };

/// What a file holds: how many messages are good, and why each bad one is bad.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Messages accepted.
    pub accepted: usize,
    /// Messages rejected, in file order.
    pub rejected: Vec<Rejection>,
}

/// Validates NDJSON or a batch document. A batch document is one JSON object with a `batch`
/// key; anything else is read as NDJSON, where a line's index is its 0-based line number.
pub fn validate(text: &str) -> Result<Report, RequestError> {
    if is_batch_document(text) {
        let outcome = ingest::parse_request(Route::Batch, text.as_bytes(), FILE)?;
        return Ok(Report {
            accepted: outcome.accepted.len(),
            rejected: outcome.rejected,
        });
    }
    let mut report = Report::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match ingest::parse_message(line.as_bytes(), index, FILE) {
            Ok(_) => report.accepted += 1,
            Err(rejection) => report.rejected.push(rejection),
        }
    }
    Ok(report)
}

/// Whether the text is exactly one JSON object with a `batch` key. NDJSON with two or more
/// lines fails to parse as one value, so the check settles quickly on the usual input.
fn is_batch_document(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        batch: Option<serde::de::IgnoredAny>,
    }
    matches!(
        serde_json::from_str::<Probe>(text),
        Ok(Probe { batch: Some(_) })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_documents_are_told_from_ndjson() {
        assert!(is_batch_document(r#"{"batch": []}"#));
        assert!(is_batch_document("{\n  \"batch\": [\n  ]\n}\n"));
        assert!(!is_batch_document(r#"{"type": "track", "event": "x"}"#));
        assert!(!is_batch_document("{\"batch\": []}\n{\"batch\": []}"));
        assert!(!is_batch_document(""));
    }
}
