//! The event contract (`events.md`): parsing and validating messages and batches.
//!
//! CONTRACT SKETCH (to be implemented): the names and signatures below are what the CLI, the
//! wasm adapter and the worker call. Bodies are filled in by the ingestion work.

use crate::event::{CallType, Event};
use crate::time::Timestamp;

/// 32 KB: the most one message's JSON text may take.
pub const MAX_MESSAGE_BYTES: usize = 32_768;
/// 500 KB: the most a (decoded) request body may take.
pub const MAX_BATCH_BYTES: usize = 512_000;
/// The most messages one batch may hold.
pub const MAX_BATCH_MESSAGES: usize = 2_500;

/// Which ingestion route a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/v1/track`, `/v1/t`, ...: one message of that call type.
    Single(CallType),
    /// `/v1/batch`, `/v1/b`.
    Batch,
}

impl Route {
    /// The route for a request path such as `/v1/track` or the shorthand `/v1/t`.
    pub fn from_path(path: &str) -> Option<Route> {
        let _ = path;
        todo!()
    }
}

/// Where messages come from, which decides how event time and `messageId` are settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Received by the edge at this time: skew correction applies and a missing `messageId` is
    /// assigned.
    Edge {
        /// The edge's own receive time.
        received_at: Timestamp,
    },
    /// Read from a file or a replay: event time is `timestamp`, else `originalTimestamp`; a
    /// missing `messageId` is an error unless `derive_ids` is set.
    File {
        /// Derive a missing `messageId` from the message content instead of rejecting it.
        derive_ids: bool,
    },
}

/// A stable, machine-readable error code (`missing_event`, `invalid_timestamp`, ...).
pub type Code = &'static str;

/// One rejected message of a batch (or the one message of a single-call request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Position of the message in the batch (0 for a single-call request or an NDJSON line's
    /// position in a file).
    pub index: usize,
    /// JSON path of the offending field, e.g. `batch[3].event`.
    pub path: String,
    /// Stable code.
    pub code: Code,
    /// Human-readable explanation.
    pub message: String,
}

/// A request that cannot be taken at all (answered 400 as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// Stable code (`invalid_json`, `batch_too_large`, `message_too_large`, ...).
    pub code: Code,
    /// Human-readable explanation.
    pub message: String,
    /// Per-field detail, when there is any.
    pub errors: Vec<Rejection>,
}

/// What a request gave: the good messages and the rejected ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// The write key found in the body (`writeKey`), if any.
    pub write_key: Option<String>,
    /// Accepted messages, in request order.
    pub accepted: Vec<Event>,
    /// Rejected messages, in request order.
    pub rejected: Vec<Rejection>,
}

/// Decodes a request body: gunzips it when `Content-Encoding: gzip` says so or the gzip magic
/// bytes are there, never inflating past [`MAX_BATCH_BYTES`].
pub fn decode_body(
    body: &[u8],
    gzip_declared: bool,
) -> Result<std::borrow::Cow<'_, [u8]>, RequestError> {
    let _ = (body, gzip_declared);
    todo!()
}

/// Parses a decoded request body received on `route`.
pub fn parse_request(route: Route, body: &[u8], source: Source) -> Result<Outcome, RequestError> {
    let _ = (route, body, source);
    todo!()
}

/// Parses one message (an NDJSON line, say) at position `index`.
pub fn parse_message(text: &[u8], index: usize, source: Source) -> Result<Event, Rejection> {
    let _ = (text, index, source);
    todo!()
}
