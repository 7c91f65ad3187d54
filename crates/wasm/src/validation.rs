//! What the adapter asks the core: file validation (`Source::File`) and the edge's verdict on a
//! request (`Source::Edge`).

use tessera::ingest::{self, Outcome, Rejection, RequestError, Route, Source};
use tessera::Timestamp;

/// The package's version (the core, the adapter and the edge are released together).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How many messages are good, and why each bad one is bad.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Messages accepted.
    pub accepted: usize,
    /// Messages rejected, in input order.
    pub rejected: Vec<Rejection>,
}

impl From<Outcome> for Report {
    fn from(outcome: Outcome) -> Report {
        Report {
            accepted: outcome.accepted.len(),
            rejected: outcome.rejected,
        }
    }
}

/// Validates a file's text as `tessera validate` does: NDJSON (indexes are 1-based line
/// numbers), a batch document or a JSON array (indexes are positions).
pub fn validate_file(text: &[u8], derive_ids: bool) -> Report {
    ingest::read_file_bytes(text, Source::File { derive_ids }).into()
}

/// What the edge would answer to `body` posted on `path` at `received_at`: the report of a
/// well-formed request, or the request error it would answer 400 with.
pub fn check_request(
    path: &str,
    body: &[u8],
    received_at: Timestamp,
) -> Result<Report, RequestError> {
    let route = Route::from_path(path).ok_or_else(|| RequestError {
        code: "unknown_route",
        message: format!("{path} is not an ingestion route"),
        errors: Vec::new(),
    })?;
    let body = ingest::decode_body(body, false)?;
    let report: Report = ingest::parse_request(route, &body, Source::Edge { received_at })?.into();
    match (route, report.rejected.first()) {
        // On a single-call route the one message is the request, as the edge answers it.
        (Route::Single(_), Some(first)) => Err(RequestError {
            code: first.code,
            message: first.message.clone(),
            errors: report.rejected.clone(),
        }),
        _ => Ok(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_and_bad_single_messages_are_request_errors() {
        let at = Timestamp(1_780_000_000_000);
        let err = check_request("/v2/track", b"{}", at).expect_err("unknown route");
        assert_eq!(err.code, "unknown_route");
        let err = check_request("/v1/track", br#"{"userId":"u1"}"#, at).expect_err("no event");
        assert_eq!(err.code, "missing_event");
        let ok = check_request(
            "/v1/batch",
            br#"{"batch":[{"type":"page","userId":"u1"}]}"#,
            at,
        );
        assert_eq!(ok.map(|r| r.accepted), Ok(1));
    }
}
