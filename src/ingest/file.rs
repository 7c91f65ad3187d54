//! Messages from files and replays: NDJSON streams, batch or array files, and the dedup rule.
//!
//! These are what the CLI commands and the other areas call to load events, so they stay small:
//! [`read_ndjson`] streams, [`read_file_bytes`] takes a whole file in any of the three shapes,
//! [`dedup`] applies the `messageId` rule to what was accepted.

use std::io::BufRead;

use rustc_hash::FxHashMap;
use serde_json::value::RawValue;

use super::message::{self, Place};
use super::{codes, parse_batch, trim_json_space, Outcome, Rejection, Source};
use crate::event::{CallType, Event};
use crate::time::Timestamp;

/// A streaming NDJSON reader: one message per line, blank lines skipped.
///
/// Each item is the accepted event or the rejection of one line; a rejection's `index` is the
/// line number (1-based) and its `path` is relative to the message (`event`, `context.traits`).
/// Every line is held to the 32,768-byte message limit. A read error ends the stream with one
/// last item, a rejection coded `io_error`.
pub struct NdjsonReader<R> {
    reader: R,
    source: Source,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

/// Streams the messages of an NDJSON reader (see [`NdjsonReader`]).
///
/// ```
/// use tessera::ingest::{read_ndjson, Source};
/// let file = "{\"type\":\"page\",\"userId\":1,\"messageId\":\"a\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n\n{\"type\":\"page\"}\n";
/// let results: Vec<_> = read_ndjson(file.as_bytes(), Source::File { derive_ids: false }).collect();
/// assert_eq!(results[0].as_ref().unwrap().user_id.as_deref(), Some("1"));
/// assert_eq!(results[1].as_ref().unwrap_err().index, 3);
/// ```
pub fn read_ndjson<R: BufRead>(reader: R, source: Source) -> NdjsonReader<R> {
    NdjsonReader {
        reader,
        source,
        line: 0,
        buf: Vec::new(),
        done: false,
    }
}

impl<R> NdjsonReader<R> {
    /// The number of the last line read (1-based; 0 before the first).
    pub fn line(&self) -> usize {
        self.line
    }
}

impl<R: BufRead> Iterator for NdjsonReader<R> {
    type Item = Result<Event, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with(true)
    }
}

impl<R: BufRead> NdjsonReader<R> {
    fn next_with(&mut self, keep_objects: bool) -> Option<Result<Event, Rejection>> {
        // Lines are parsed where they lie in the reader's buffer; only a line that straddles
        // two buffer fills is copied (into `buf`). Copying every line cost about a tenth of
        // the validation time.
        while !self.done {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Rejection {
                        index: self.line + 1,
                        path: String::new(),
                        code: codes::IO_ERROR,
                        message: e.to_string(),
                    }));
                }
            };
            if available.is_empty() {
                self.done = true;
                if self.buf.is_empty() {
                    return None;
                }
                self.line += 1;
                let text = trim_json_space(&self.buf);
                let result = (!text.is_empty())
                    .then(|| parse_line(text, self.line, self.source, keep_objects));
                self.buf.clear();
                return result;
            }
            let Some(end) = memchr::memchr(b'\n', available) else {
                self.buf.extend_from_slice(available);
                let n = available.len();
                self.reader.consume(n);
                continue;
            };
            self.line += 1;
            let result = if self.buf.is_empty() {
                let text = trim_json_space(&available[..end]);
                (!text.is_empty()).then(|| parse_line(text, self.line, self.source, keep_objects))
            } else {
                self.buf.extend_from_slice(&available[..end]);
                let text = trim_json_space(&self.buf);
                let result = (!text.is_empty())
                    .then(|| parse_line(text, self.line, self.source, keep_objects));
                self.buf.clear();
                result
            };
            self.reader.consume(end + 1);
            if result.is_some() {
                return result;
            }
        }
        None
    }
}

fn parse_line(
    text: &[u8],
    line: usize,
    source: Source,
    keep_objects: bool,
) -> Result<Event, Rejection> {
    let place = Place {
        keep_objects,
        ..Place::alone(line, source)
    };
    message::parse_text(text, &place)
}

/// What validation keeps of an accepted message: enough to count it and find duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidMessage {
    /// The `messageId` (given, or derived with `derive_ids`).
    pub message_id: String,
    /// The call type.
    pub call: CallType,
    /// The event time.
    pub time: Timestamp,
}

/// A streaming NDJSON validator: the same verdicts, indexes and paths as [`NdjsonReader`], but
/// `properties`, `traits`, `context` and `integrations` are only checked, never built, which is
/// what makes `tessera validate` fast.
pub struct NdjsonValidator<R>(NdjsonReader<R>);

/// Validates the messages of an NDJSON reader (see [`NdjsonValidator`]).
///
/// ```
/// use tessera::ingest::{validate_ndjson, Source};
/// let file = b"{\"type\":\"page\",\"userId\":\"u\",\"messageId\":\"a\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"context\":{\"traits\":1}}\n";
/// let verdicts: Vec<_> = validate_ndjson(&file[..], Source::File { derive_ids: false }).collect();
/// assert_eq!(verdicts[0].as_ref().unwrap_err().code, "wrong_type");
/// ```
pub fn validate_ndjson<R: BufRead>(reader: R, source: Source) -> NdjsonValidator<R> {
    NdjsonValidator(read_ndjson(reader, source))
}

impl<R: BufRead> Iterator for NdjsonValidator<R> {
    type Item = Result<ValidMessage, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next_with(false)?.map(|event| ValidMessage {
            message_id: event.message_id,
            call: event.call,
            time: event.time,
        }))
    }
}

/// Reads a whole file of messages in any of three shapes, told apart by their first bytes:
///
/// - a JSON array of messages: indexes are positions, paths `[3].event`;
/// - a batch object `{"batch": [...], "context"?, ...}`: the batch merge applies, indexes are
///   positions, paths `batch[3].event` (the edge's body limits do not apply to files, the
///   per-message one does);
/// - otherwise NDJSON (one message per line; a single, possibly pretty-printed, message object
///   is read as one message): indexes are line numbers, paths are relative to the message.
///
/// A file that is broken as a whole (an array or batch that is not JSON, a batch without a
/// `batch` array) gives one rejection with index 0 and the request-level code.
pub fn read_file_bytes(bytes: &[u8], source: Source) -> Outcome {
    let start = bytes
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(bytes.len());
    let lines_before = bytes[..start].iter().filter(|&&b| b == b'\n').count();
    match bytes.get(start) {
        Some(b'[') => read_array(bytes, source),
        Some(b'{') => match single_value_keys(bytes) {
            Some(has_batch) if has_batch => match parse_batch(bytes, source, false) {
                Ok(outcome) => outcome,
                Err(e) => whole_file_rejection(e),
            },
            Some(_) => collect(std::iter::once(parse_line(
                trim_json_space(bytes),
                lines_before + 1,
                source,
                true,
            ))),
            None => collect(read_ndjson(bytes, source)),
        },
        _ => collect(read_ndjson(bytes, source)),
    }
}

/// `Some(has a "batch" key)` when the whole text is one JSON object, `None` otherwise.
fn single_value_keys(bytes: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(bytes).ok()?;
    let keys: std::collections::HashMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    Some(keys.contains_key("batch"))
}

fn read_array(bytes: &[u8], source: Source) -> Outcome {
    let items = std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Vec<&RawValue>>(text).map_err(|e| e.to_string()));
    let items = match items {
        Ok(items) => items,
        Err(message) => {
            return Outcome {
                rejected: vec![Rejection {
                    index: 0,
                    path: String::new(),
                    code: codes::INVALID_JSON,
                    message,
                }],
                ..Outcome::default()
            }
        }
    };
    collect(items.iter().enumerate().map(|(index, item)| {
        let prefix = format!("[{index}]");
        let place = Place {
            index,
            prefix: &prefix,
            route_call: None,
            source,
            batch: None,
            keep_objects: true,
        };
        message::parse_text(item.get().as_bytes(), &place)
    }))
}

fn whole_file_rejection(e: super::RequestError) -> Outcome {
    let rejected = if e.errors.is_empty() {
        vec![Rejection {
            index: 0,
            path: String::new(),
            code: e.code,
            message: e.message,
        }]
    } else {
        e.errors
    };
    Outcome {
        rejected,
        ..Outcome::default()
    }
}

fn collect(results: impl Iterator<Item = Result<Event, Rejection>>) -> Outcome {
    let mut outcome = Outcome::default();
    for result in results {
        match result {
            Ok(event) => outcome.accepted.push(event),
            Err(rejection) => outcome.rejected.push(rejection),
        }
    }
    outcome
}

/// The dedup rule for files and replays: among accepted events, one per `messageId`, the one with
/// the earliest event time (ties: the first inserted).
///
/// ```
/// use tessera::ingest::{read_file_bytes, Dedup, Source};
/// let file = br#"
/// {"type":"page","userId":"u","messageId":"m","timestamp":"2026-01-02T00:00:00Z"}
/// {"type":"page","userId":"u","messageId":"m","timestamp":"2026-01-01T00:00:00Z"}
/// "#;
/// let mut dedup = Dedup::new();
/// for event in read_file_bytes(file, Source::File { derive_ids: false }).accepted {
///     dedup.insert(event);
/// }
/// let (kept, dropped) = dedup.finish();
/// assert_eq!((kept.len(), dropped), (1, 1));
/// assert_eq!(kept[0].time.to_string(), "2026-01-01T00:00:00.000Z");
/// ```
#[derive(Default, Debug)]
pub struct Dedup {
    kept: FxHashMap<String, Event>,
    dropped: usize,
}

impl Dedup {
    /// An empty set.
    pub fn new() -> Dedup {
        Dedup::default()
    }

    /// Offers one event; `false` when it is a duplicate (of a kept event, or one it replaced).
    pub fn insert(&mut self, event: Event) -> bool {
        use std::collections::hash_map::Entry;
        match self.kept.entry(event.message_id.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(event);
                true
            }
            Entry::Occupied(mut slot) => {
                self.dropped += 1;
                if event.time < slot.get().time {
                    slot.insert(event);
                }
                false
            }
        }
    }

    /// How many duplicates were dropped so far.
    pub fn duplicates(&self) -> usize {
        self.dropped
    }

    /// The kept events sorted by (event time, `messageId`), and the number dropped.
    pub fn finish(self) -> (Vec<Event>, usize) {
        let mut kept: Vec<Event> = self.kept.into_values().collect();
        kept.sort_by(|a, b| (a.time, &a.message_id).cmp(&(b.time, &b.message_id)));
        (kept, self.dropped)
    }
}

/// Applies [`Dedup`] to `events` (in arrival order): the kept events sorted by (event time,
/// `messageId`), so the result depends on arrival order only to break exact ties, and the number
/// of duplicates dropped.
pub fn dedup(events: Vec<Event>) -> (Vec<Event>, usize) {
    let mut set = Dedup::new();
    for event in events {
        set.insert(event);
    }
    set.finish()
}
