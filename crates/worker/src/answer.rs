//! What the edge answers: the JSON bodies of `events.md` and the one mapping from errors to
//! HTTP status.

use serde_json::{json, Value};
use tessera::ingest::{Rejection, RequestError};

/// Why a request was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EdgeError {
    /// The body or its single message is bad (`invalid_json`, `batch_too_large`, ...).
    Request(RequestError),
    /// No credential, or one that matches no workspace.
    Unauthorized {
        /// `missing_write_key`, `unknown_write_key`, `missing_secret_key`, `unknown_secret_key`.
        code: &'static str,
    },
    /// No such route.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The deployment itself is wrong (the `WORKSPACES` variable, a binding).
    Misconfigured(String),
    /// The workspace's Durable Object failed; the sender should retry.
    Storage(String),
}

impl EdgeError {
    /// The HTTP status for this error: the only place that decides it.
    pub fn status(&self) -> u16 {
        match self {
            EdgeError::Request(_) => 400,
            EdgeError::Unauthorized { .. } => 401,
            EdgeError::NotFound => 404,
            EdgeError::MethodNotAllowed => 405,
            EdgeError::Misconfigured(_) => 500,
            // 503 rather than 500: every Segment SDK retries it, and nothing was stored.
            EdgeError::Storage(_) => 503,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EdgeError::Request(e) => e.code,
            EdgeError::Unauthorized { code } => code,
            EdgeError::NotFound => "not_found",
            EdgeError::MethodNotAllowed => "method_not_allowed",
            EdgeError::Misconfigured(_) => "misconfigured",
            EdgeError::Storage(_) => "storage_unavailable",
        }
    }

    /// The JSON body: always `success`, `code` and `message` (analytics-python retries a 400
    /// without them), plus `errors` with per-field detail for request errors.
    pub fn body(&self) -> Value {
        let message = match self {
            EdgeError::Request(e) => e.message.clone(),
            EdgeError::Unauthorized { code } => match *code {
                "missing_write_key" => {
                    "no write key: send it as HTTP Basic user name or as \"writeKey\" in the body"
                        .into()
                }
                "unknown_write_key" => "the write key belongs to no workspace".into(),
                "missing_secret_key" => {
                    "this endpoint needs Authorization: Bearer <secret key>".into()
                }
                _ => "the secret key belongs to no workspace".into(),
            },
            EdgeError::NotFound => "no such endpoint".into(),
            EdgeError::MethodNotAllowed => "method not allowed on this endpoint".into(),
            EdgeError::Misconfigured(m) => m.clone(),
            EdgeError::Storage(m) => format!("storage unavailable: {m}"),
        };
        let mut body = json!({"success": false, "code": self.code(), "message": message});
        if let EdgeError::Request(e) = self {
            body["errors"] = rejections(&e.errors);
        }
        body
    }
}

/// The answer to an accepted single-call request.
pub fn single_accepted() -> Value {
    json!({"success": true})
}

/// The answer to a well-formed batch, even when some of its messages were rejected.
pub fn batch_accepted(accepted: usize, rejected: &[Rejection]) -> Value {
    json!({"success": true, "accepted": accepted, "rejected": rejections(rejected)})
}

fn rejections(list: &[Rejection]) -> Value {
    list.iter()
        .map(|r| json!({"index": r.index, "path": r.path, "code": r.code}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing_event(index: usize) -> Rejection {
        Rejection {
            index,
            path: format!("batch[{index}].event"),
            code: "missing_event",
            message: "track needs an event name".into(),
        }
    }

    #[test]
    fn request_errors_are_400_with_code_message_and_errors() {
        let err = EdgeError::Request(RequestError {
            code: "invalid_json",
            message: "expected value at line 1".into(),
            errors: vec![missing_event(0)],
        });
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.body(),
            json!({"success": false, "code": "invalid_json", "message": "expected value at line 1",
                   "errors": [{"index": 0, "path": "batch[0].event", "code": "missing_event"}]})
        );
    }

    #[test]
    fn every_error_has_a_status_code_and_message() {
        let all = [
            EdgeError::Unauthorized {
                code: "missing_write_key",
            },
            EdgeError::Unauthorized {
                code: "unknown_secret_key",
            },
            EdgeError::NotFound,
            EdgeError::MethodNotAllowed,
            EdgeError::Misconfigured("WORKSPACES is not set".into()),
            EdgeError::Storage("object reset".into()),
        ];
        let statuses: Vec<u16> = all.iter().map(EdgeError::status).collect();
        assert_eq!(statuses, [401, 401, 404, 405, 500, 503]);
        for err in &all {
            let body = err.body();
            assert_eq!(body["success"], false);
            assert_eq!(body["code"], err.code());
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        }
    }

    #[test]
    fn batch_answer_lists_rejections_without_their_prose() {
        assert_eq!(
            batch_accepted(41, &[missing_event(3)]),
            json!({"success": true, "accepted": 41,
                   "rejected": [{"index": 3, "path": "batch[3].event", "code": "missing_event"}]})
        );
        assert_eq!(single_accepted(), json!({"success": true}));
    }
}
