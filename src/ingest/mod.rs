//! The event contract (`events.md`): parsing and validating messages and batches.
//!
//! Everything that reads messages goes through here, so that the edge, the CLI, the npm
//! package and replays all accept and reject the same input with the same codes:
//!
//! ```
//! use tessera::ingest::{parse_request, Route, Source};
//! use tessera::time::Timestamp;
//!
//! let body = br#"{"batch": [
//!     {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1"},
//!     {"type": "track", "userId": "u2"}
//! ], "context": {"library": {"name": "analytics-python"}}}"#;
//! let source = Source::Edge { received_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap() };
//! let outcome = parse_request(Route::Batch, body, source).unwrap();
//! assert_eq!(outcome.accepted.len(), 1);
//! assert_eq!(outcome.rejected[0].path, "batch[1].event");
//! assert_eq!(outcome.rejected[0].code, "missing_event");
//! assert!(outcome.accepted[0].context.contains_key("library"));
//! ```
//!
//! Files and replays use [`read_ndjson`] / [`read_file_bytes`] and [`dedup`].

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::event::{CallType, Event};
use crate::time::Timestamp;

mod fast;
mod file;
mod message;
mod quotes;
mod strict;

pub use file::{
    dedup, read_file_bytes, read_ndjson, validate_ndjson, Dedup, NdjsonReader, NdjsonValidator,
    ValidMessage,
};

use message::{BatchDefaults, Field, Place};
use strict::{scalar_arms, Key, KeySet, StrictIgnore, StrictValue};

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
    /// The route for a request path such as `/v1/track` or the shorthand `/v1/t`; a trailing
    /// slash is allowed, the query string must already be removed.
    ///
    /// ```
    /// use tessera::ingest::Route;
    /// use tessera::CallType;
    /// assert_eq!(Route::from_path("/v1/p"), Some(Route::Single(CallType::Page)));
    /// assert_eq!(Route::from_path("/v1/batch/"), Some(Route::Batch));
    /// assert_eq!(Route::from_path("/v1/import"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Route> {
        let name = path.strip_prefix("/v1/")?;
        let name = name.strip_suffix('/').unwrap_or(name);
        Some(match name {
            "batch" | "b" => Route::Batch,
            "track" | "t" => Route::Single(CallType::Track),
            "identify" | "i" => Route::Single(CallType::Identify),
            "page" | "p" => Route::Single(CallType::Page),
            "screen" | "s" => Route::Single(CallType::Screen),
            "group" | "g" => Route::Single(CallType::Group),
            "alias" | "a" => Route::Single(CallType::Alias),
            _ => return None,
        })
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
    /// Position of the message: its 0-based position in a batch or array file, 0 for a
    /// single-call request, the 1-based line number in an NDJSON file.
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
    /// Stable code (`invalid_json`, `body_too_large`, `message_too_large`, ...), see [`codes`].
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

/// The stable error codes, as listed in `docs/ingestion.md`.
pub mod codes {
    use super::Code;

    /// Not RFC 8259 JSON: a syntax error, non-UTF-8 bytes, `NaN`/`Infinity`, a duplicate key.
    pub const INVALID_JSON: Code = "invalid_json";
    /// `Content-Encoding: gzip` (or the gzip magic bytes) on a body that is not valid gzip.
    pub const INVALID_GZIP: Code = "invalid_gzip";
    /// The body, or a message in a batch or file, is JSON but not an object.
    pub const NOT_AN_OBJECT: Code = "not_an_object";
    /// The decoded body is over 512,000 bytes (or a gzip body inflates past it).
    pub const BODY_TOO_LARGE: Code = "body_too_large";
    /// One message's JSON text is over 32,768 bytes.
    pub const MESSAGE_TOO_LARGE: Code = "message_too_large";
    /// A batch holds more than 2,500 messages.
    pub const TOO_MANY_MESSAGES: Code = "too_many_messages";
    /// A batch body without a `batch` array (absent or `null`).
    pub const MISSING_BATCH: Code = "missing_batch";
    /// A field has the wrong JSON type (`properties` not an object, `event` not a string, ...).
    pub const WRONG_TYPE: Code = "wrong_type";
    /// A batch or file message without `type`.
    pub const MISSING_TYPE: Code = "missing_type";
    /// `type` is not one of the six lowercase call names, or contradicts the route.
    pub const INVALID_TYPE: Code = "invalid_type";
    /// No non-empty `userId`/`anonymousId` (alias: no non-empty `userId`).
    pub const MISSING_ID: Code = "missing_id";
    /// An id that is neither a string nor an integer within ±(2^53−1).
    pub const INVALID_ID: Code = "invalid_id";
    /// An alias without a non-empty `previousId`.
    pub const MISSING_PREVIOUS_ID: Code = "missing_previous_id";
    /// A track without a non-empty string `event`.
    pub const MISSING_EVENT: Code = "missing_event";
    /// A group without a non-empty `groupId`.
    pub const MISSING_GROUP_ID: Code = "missing_group_id";
    /// `timestamp`, `originalTimestamp` or `sentAt` is not an RFC 3339 date-time string.
    pub const INVALID_TIMESTAMP: Code = "invalid_timestamp";
    /// A file message with neither `timestamp` nor `originalTimestamp`.
    pub const MISSING_TIMESTAMP: Code = "missing_timestamp";
    /// A file message without a non-empty string `messageId` (and ids are not derived).
    pub const MISSING_MESSAGE_ID: Code = "missing_message_id";
    /// Reading a file failed part-way (only from [`super::read_ndjson`]).
    pub const IO_ERROR: Code = "io_error";

    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [Code; 19] = [
        INVALID_JSON,
        INVALID_GZIP,
        NOT_AN_OBJECT,
        BODY_TOO_LARGE,
        MESSAGE_TOO_LARGE,
        TOO_MANY_MESSAGES,
        MISSING_BATCH,
        WRONG_TYPE,
        MISSING_TYPE,
        INVALID_TYPE,
        MISSING_ID,
        INVALID_ID,
        MISSING_PREVIOUS_ID,
        MISSING_EVENT,
        MISSING_GROUP_ID,
        INVALID_TIMESTAMP,
        MISSING_TIMESTAMP,
        MISSING_MESSAGE_ID,
        IO_ERROR,
    ];
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {}: {} ({})",
            self.index, self.path, self.message, self.code
        )
    }
}

impl std::error::Error for Rejection {}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RequestError {}

impl RequestError {
    fn new(code: Code, message: impl Into<String>) -> RequestError {
        RequestError {
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    fn at(code: Code, path: &str, message: impl Into<String>) -> RequestError {
        let message = message.into();
        RequestError {
            code,
            errors: vec![Rejection {
                index: 0,
                path: path.to_owned(),
                code,
                message: message.clone(),
            }],
            message,
        }
    }
}

impl From<Rejection> for RequestError {
    fn from(r: Rejection) -> RequestError {
        RequestError {
            code: r.code,
            message: r.message.clone(),
            errors: vec![r],
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Decodes a request body: gunzips it when `Content-Encoding: gzip` says so or the gzip magic
/// bytes are there, never inflating past [`MAX_BATCH_BYTES`].
///
/// Errors: `body_too_large` (raw or inflated body over the limit), `invalid_gzip`.
pub fn decode_body(
    body: &[u8],
    gzip_declared: bool,
) -> Result<std::borrow::Cow<'_, [u8]>, RequestError> {
    if !gzip_declared && !body.starts_with(&GZIP_MAGIC) {
        if body.len() > MAX_BATCH_BYTES {
            return Err(too_large(body.len()));
        }
        return Ok(Cow::Borrowed(body));
    }
    let limit = MAX_BATCH_BYTES as u64 + 1;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| RequestError::new(codes::INVALID_GZIP, format!("body is not gzip: {e}")))?;
    if out.len() > MAX_BATCH_BYTES {
        return Err(RequestError::new(
            codes::BODY_TOO_LARGE,
            format!("body inflates past the limit of {MAX_BATCH_BYTES} bytes"),
        ));
    }
    Ok(Cow::Owned(out))
}

fn too_large(len: usize) -> RequestError {
    RequestError::new(
        codes::BODY_TOO_LARGE,
        format!("body is {len} bytes, over the limit of {MAX_BATCH_BYTES}"),
    )
}

/// JSON whitespace (RFC 8259): what may surround a value.
fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` without the JSON whitespace around it: a message's size is measured on this.
pub(crate) fn trim_json_space(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_json_space(b))
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&b| !is_json_space(b))
        .map_or(start, |e| e + 1);
    &text[start..end]
}

/// Parses a decoded request body received on `route`.
///
/// A single-call route answers `Ok` with one accepted message, or `Err` carrying that message's
/// code (the edge answers 400). A batch answers `Ok` as soon as the body is a well-formed batch,
/// with every good message accepted and every bad one listed in [`Outcome::rejected`].
pub fn parse_request(route: Route, body: &[u8], source: Source) -> Result<Outcome, RequestError> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(too_large(body.len()));
    }
    match route {
        Route::Batch => parse_batch(body, source, true),
        Route::Single(call) => {
            let text = trim_json_space(body);
            let place = Place {
                index: 0,
                prefix: "",
                route_call: Some(call),
                source,
                batch: None,
                keep_objects: true,
            };
            let event = message::parse_text(text, &place)?;
            Ok(Outcome {
                write_key: write_key(text),
                accepted: vec![event],
                rejected: Vec::new(),
            })
        }
    }
}

/// Parses one message (an NDJSON line, say) at position `index`, with no route: its `type`
/// field is required. Rejection paths are relative to the message (`event`, `context.traits`).
pub fn parse_message(text: &[u8], index: usize, source: Source) -> Result<Event, Rejection> {
    let place = Place::alone(index, source);
    message::parse_text(trim_json_space(text), &place)
}

/// [`parse_message`] for loaders that keep only what identity resolution and the segment store
/// read: the same verdicts, codes and paths, but the event's `context` holds only `traits` and
/// `externalIds` and its `integrations` stay empty, which saves most of the parsing work.
pub fn parse_message_lean(text: &[u8], index: usize, source: Source) -> Result<Event, Rejection> {
    let place = Place::alone(index, source);
    message::parse_text_lean(trim_json_space(text), &place)
}

/// [`parse_message_lean`] without its fast scanner: the strict serde parser alone. The two
/// give the same answer on every input (the property tests and the `lean_scanner` fuzz target
/// hold them to it); this one is the reference, and slower.
pub fn parse_message_lean_strict(
    text: &[u8],
    index: usize,
    source: Source,
) -> Result<Event, Rejection> {
    let place = Place::alone(index, source);
    message::parse_text_lean_strict(trim_json_space(text), &place)
}

/// [`parse_message_lean`] for the pipeline: the checked message, borrowed from `text` where it
/// can be, with no [`Event`] built; when the fast scanner reads the message, an object
/// `properties` is not built but handed back as its checked text, for [`encode_properties`].
pub(crate) fn parse_message_checked(
    text: &[u8],
    index: usize,
    source: Source,
) -> Result<(message::Checked<'_>, Option<&str>), Rejection> {
    let place = Place::alone(index, source);
    message::parse_text_checked(trim_json_space(text), &place)
}

pub(crate) use fast::encode_properties;

/// `bytes` as text when they are UTF-8: checked a vector at a time (simdutf8), and by the
/// standard library again only to describe an error.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes))
}
pub(crate) use message::Checked;

/// The `writeKey` string at the top level of a body (a batch or a single message), if any:
/// for the edge's authentication when there is no `Authorization` header.
pub fn write_key(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let keys: std::collections::HashMap<Cow<'_, str>, &RawValue> =
        serde_json::from_str(text).ok()?;
    serde_json::from_str::<String>(keys.get("writeKey")?.get()).ok()
}

/// The `batch` member of a batch body.
enum BatchField<'de> {
    Items(Vec<&'de RawValue>),
    WrongType,
}

#[derive(Default)]
struct BatchBody<'de> {
    batch: Option<BatchField<'de>>,
    context: Option<Value>,
    integrations: Option<Value>,
    sent_at: Option<Field<'de>>,
    write_key: Option<Field<'de>>,
}

struct BatchFieldSeed;

impl<'de> DeserializeSeed<'de> for BatchFieldSeed {
    type Value = Option<BatchField<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BatchFieldVisitor)
    }
}

struct BatchFieldVisitor;

impl<'de> Visitor<'de> for BatchFieldVisitor {
    type Value = Option<BatchField<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }
    scalar_arms!(Some(BatchField::WrongType), None);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Each message is kept as its raw text: its size is measured on it, and duplicate keys
        // inside it reject that message only.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            items.push(item);
        }
        Ok(Some(BatchField::Items(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        strict::ignore_map(map)?;
        Ok(Some(BatchField::WrongType))
    }
}

struct BatchSeed;

impl<'de> DeserializeSeed<'de> for BatchSeed {
    type Value = Option<BatchBody<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BatchVisitor)
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Option<BatchBody<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch object")
    }
    scalar_arms!(None, None);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        strict::ignore_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = BatchBody::default();
        let mut keys = KeySet::default();
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "batch" => body.batch = map.next_value_seed(BatchFieldSeed)?,
                "context" => body.context = map.next_value_seed(StrictValue)?.into(),
                "integrations" => body.integrations = map.next_value_seed(StrictValue)?.into(),
                "sentAt" => body.sent_at = Some(map.next_value_seed(message::FieldSeed)?),
                "writeKey" => body.write_key = Some(map.next_value_seed(message::FieldSeed)?),
                _ => map.next_value_seed(StrictIgnore)?,
            }
            keys.insert::<A::Error>(key)?;
        }
        Ok(Some(body))
    }
}

/// The batch-level object `name`, `null` counting as absent.
fn batch_object(
    v: Option<Value>,
    name: &str,
) -> Result<Option<crate::event::Object>, RequestError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(RequestError::at(
            codes::WRONG_TYPE,
            name,
            format!("the batch's {name} must be an object"),
        )),
    }
}

/// Parses a batch body. `limits` applies the edge's body limits (size, message count); files
/// and replays are only held to the per-message limit.
pub(crate) fn parse_batch(
    body: &[u8],
    source: Source,
    limits: bool,
) -> Result<Outcome, RequestError> {
    let text = utf8(body)
        .map_err(|e| RequestError::new(codes::INVALID_JSON, format!("body is not UTF-8: {e}")))?;
    let parsed = strict::from_str_seed(text, BatchSeed)
        .map_err(|e| RequestError::new(codes::INVALID_JSON, e.to_string()))?
        .ok_or_else(|| RequestError::new(codes::NOT_AN_OBJECT, "the body must be a JSON object"))?;
    let items = match parsed.batch {
        None => {
            return Err(RequestError::at(
                codes::MISSING_BATCH,
                "batch",
                "a batch body needs a batch array",
            ))
        }
        Some(BatchField::WrongType) => {
            return Err(RequestError::at(
                codes::WRONG_TYPE,
                "batch",
                "batch must be an array of messages",
            ))
        }
        Some(BatchField::Items(items)) => items,
    };
    if limits && items.len() > MAX_BATCH_MESSAGES {
        return Err(RequestError::new(
            codes::TOO_MANY_MESSAGES,
            format!(
                "batch holds {} messages, over the limit of {MAX_BATCH_MESSAGES}",
                items.len()
            ),
        ));
    }
    let sent_at = match parsed.sent_at {
        None | Some(Field::Null) => None,
        Some(Field::Str(s)) => Some(Timestamp::parse(&s).map_err(|_| {
            RequestError::at(
                codes::INVALID_TIMESTAMP,
                "sentAt",
                "the batch's sentAt is not an RFC 3339 date-time",
            )
        })?),
        Some(_) => {
            return Err(RequestError::at(
                codes::INVALID_TIMESTAMP,
                "sentAt",
                "the batch's sentAt must be an RFC 3339 date-time string",
            ))
        }
    };
    let defaults = BatchDefaults {
        context: batch_object(parsed.context, "context")?,
        integrations: batch_object(parsed.integrations, "integrations")?,
        sent_at,
    };
    let mut outcome = Outcome {
        write_key: match parsed.write_key {
            Some(Field::Str(key)) => Some(key.into_owned()),
            _ => None,
        },
        ..Outcome::default()
    };
    for (index, item) in items.into_iter().enumerate() {
        let prefix = format!("batch[{index}]");
        let place = Place {
            index,
            prefix: &prefix,
            route_call: None,
            source,
            batch: Some(&defaults),
            keep_objects: true,
        };
        match message::parse_text(item.get().as_bytes(), &place) {
            Ok(event) => outcome.accepted.push(event),
            Err(rejection) => outcome.rejected.push(rejection),
        }
    }
    Ok(outcome)
}
