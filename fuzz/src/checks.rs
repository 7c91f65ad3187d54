//! What each fuzz target feeds to which parser, and what must hold whatever the input.
//!
//! Shared, as source, by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and by
//! `tests/hostile.rs`, which replays the committed corpus and crash inputs on stable Rust without
//! cargo-fuzz. A broken invariant panics with a message saying which one.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::value::RawValue;
use tessera::identity::{self, IdentitySettings};
use tessera::ingest::{
    self, codes, decode_body, parse_message, parse_request, read_file_bytes, Outcome, Rejection,
    RequestError, Route, Source, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES,
};
use tessera::segment::{SavedSegments, Segment, Store};
use tessera::{CallType, Event, Timestamp};

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/` and of its corpus folder.
pub const TARGETS: [&str; 9] = [
    "request_single",
    "request_batch",
    "message",
    "lean_scanner",
    "file_bytes",
    "gzip_body",
    "identity_settings",
    "segment_definition",
    "snapshot",
];

/// Runs the target called `name` on `data`; `false` when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "request_single" => request_single(data),
        "request_batch" => request_batch(data),
        "message" => message(data),
        "lean_scanner" => lean_scanner(data),
        "file_bytes" => file_bytes(data),
        "gzip_body" => gzip_body(data),
        "identity_settings" => identity_settings(data),
        "segment_definition" => segment_definition(data),
        "snapshot" => snapshot(data),
        _ => return false,
    }
    true
}

/// A fixed edge receive time: the parsers never read a clock.
fn edge() -> Source {
    Source::Edge {
        received_at: Timestamp(1_772_366_400_000),
    }
}

fn sources() -> [Source; 3] {
    [
        edge(),
        Source::File { derive_ids: false },
        Source::File { derive_ids: true },
    ]
}

fn known_code(code: &str) {
    assert!(codes::ALL.contains(&code), "unknown code {code:?}");
}

fn check_rejection(r: &Rejection) {
    known_code(r.code);
}

fn check_request_error(e: &RequestError) {
    known_code(e.code);
    e.errors.iter().for_each(check_rejection);
}

/// What every accepted event carries, whatever its source.
fn check_event(event: &Event, source: Source) {
    assert!(
        !event.message_id.is_empty(),
        "accepted event without a messageId"
    );
    match source {
        Source::Edge { received_at } => assert_eq!(event.received_at, Some(received_at)),
        Source::File { .. } => assert_eq!(event.received_at, None),
    }
    let ids = [&event.user_id, &event.anonymous_id];
    if event.call == CallType::Alias {
        assert!(event.user_id.is_some() && event.previous_id.is_some());
    } else {
        assert!(ids.iter().any(|id| id.is_some()), "accepted without an id");
    }
    if event.call == CallType::Track {
        assert!(event.name.as_deref().is_some_and(|n| !n.is_empty()));
    }
}

/// An accepted event written out by `Event::to_json` reads back, from a file, as the same event:
/// what was acknowledged can always be replayed.
fn check_replays(event: &Event) {
    let text = serde_json::to_vec(&event.to_json()).expect("an event serializes");
    if text.len() > MAX_MESSAGE_BYTES {
        // Escaping can grow a message past the limit; the replay then rejects it by size.
        return;
    }
    let again = parse_message(&text, 0, Source::File { derive_ids: false })
        .unwrap_or_else(|r| panic!("an accepted event does not replay: {r}"));
    let mut want = event.clone();
    want.received_at = None;
    assert_eq!(again, want, "an accepted event replays differently");
}

/// A single-call body, on each of the six routes and from each source.
pub fn request_single(data: &[u8]) {
    for call in CallType::ALL {
        for source in sources() {
            match parse_request(Route::Single(call), data, source) {
                Ok(outcome) => {
                    assert!(data.len() <= MAX_BATCH_BYTES);
                    assert_eq!(outcome.accepted.len(), 1);
                    assert!(outcome.rejected.is_empty());
                    let event = &outcome.accepted[0];
                    assert_eq!(event.call, call, "the route decides the call type");
                    check_event(event, source);
                    check_replays(event);
                }
                Err(e) => check_request_error(&e),
            }
        }
    }
}

/// The number of messages a well-formed batch body holds, read independently of the parser.
/// (Messages stay raw text: their nesting depth is not this reader's business.)
fn batch_len(data: &[u8]) -> usize {
    let body: HashMap<String, &RawValue> =
        serde_json::from_slice(data).expect("a body the parser took is a JSON object");
    let batch = body
        .get("batch")
        .expect("a body the parser took has a batch");
    serde_json::from_str::<Vec<&RawValue>>(batch.get())
        .expect("a batch the parser took is an array")
        .len()
}

fn check_outcome(outcome: &Outcome, source: Source) {
    outcome.accepted.iter().for_each(|e| check_event(e, source));
    outcome.rejected.iter().for_each(check_rejection);
}

/// A batch body: every message is either accepted or rejected, exactly once, in order.
pub fn request_batch(data: &[u8]) {
    for source in sources() {
        match parse_request(Route::Batch, data, source) {
            Ok(outcome) => {
                let n = batch_len(data);
                assert!(n <= MAX_BATCH_MESSAGES);
                assert_eq!(
                    outcome.accepted.len() + outcome.rejected.len(),
                    n,
                    "accepted + rejected must equal the messages of the batch"
                );
                let indexes: Vec<usize> = outcome.rejected.iter().map(|r| r.index).collect();
                assert!(indexes.windows(2).all(|w| w[0] < w[1]));
                assert!(indexes.iter().all(|&i| i < n));
                for r in &outcome.rejected {
                    assert!(
                        r.path.starts_with(&format!("batch[{}]", r.index)),
                        "rejection path {} does not name its message {}",
                        r.path,
                        r.index
                    );
                }
                check_outcome(&outcome, source);
                outcome.accepted.iter().for_each(check_replays);
            }
            Err(e) => check_request_error(&e),
        }
    }
}

/// One message with no route (an NDJSON line), from each source.
pub fn message(data: &[u8]) {
    for source in sources() {
        match parse_message(data, 7, source) {
            Ok(event) => {
                check_event(&event, source);
                check_replays(&event);
            }
            Err(r) => {
                check_rejection(&r);
                assert_eq!(r.index, 7);
            }
        }
    }
}

/// One message through the pipeline's lean parser: its fast scanner and the strict serde parser
/// give the same event or the same rejection (code, path, message), whatever the bytes; and the
/// bytes read as a file by `pipeline::load` give the full path's rejections, profiles and store.
pub fn lean_scanner(data: &[u8]) {
    for source in sources() {
        let fast = ingest::parse_message_lean(data, 7, source);
        let strict = ingest::parse_message_lean_strict(data, 7, source);
        assert_eq!(
            fast, strict,
            "the fast scanner and the strict parser differ"
        );
        if let Err(r) = &fast {
            check_rejection(r);
        }
    }
    // The pipeline's own path (checked messages kept as compact records, properties encoded
    // from their text, re-deliveries settled by a sort) against the full path on the same bytes.
    let settings = IdentitySettings::default();
    for derive_ids in [false, true] {
        let source = Source::File { derive_ids };
        let loaded = tessera::pipeline::load(data, &settings, source)
            .expect("reading from memory cannot fail");
        let outcome = read_file_bytes(data, source);
        let (events, duplicates) = ingest::dedup(outcome.accepted);
        let resolution = identity::resolve(&events, &settings);
        let store = Store::build(&events, &resolution);
        // Same lines, codes and paths; the message text may differ (serde's column for a
        // duplicate key depends on which visitor read the value).
        let verdicts = |r: &[Rejection]| -> Vec<(usize, String, &'static str)> {
            r.iter()
                .map(|r| (r.index, r.path.clone(), r.code))
                .collect()
        };
        assert_eq!(
            verdicts(&loaded.rejected),
            verdicts(&outcome.rejected),
            "pipeline rejections differ"
        );
        assert_eq!(loaded.duplicates, duplicates, "pipeline dedup differs");
        assert_eq!(
            loaded.resolution.profiles, resolution.profiles,
            "pipeline profiles differ"
        );
        assert_eq!(
            loaded.resolution.event_profile, resolution.event_profile,
            "pipeline event profiles differ"
        );
        assert!(
            loaded.store.to_bytes() == store.to_bytes(),
            "pipeline store differs"
        );
    }
}

/// A whole file (NDJSON, array or batch object).
pub fn file_bytes(data: &[u8]) {
    for derive_ids in [false, true] {
        let source = Source::File { derive_ids };
        let outcome = read_file_bytes(data, source);
        check_outcome(&outcome, source);
        outcome.accepted.iter().for_each(check_replays);
        let (kept, dropped) = ingest::dedup(outcome.accepted.clone());
        assert_eq!(kept.len() + dropped, outcome.accepted.len());
    }
}

/// A request body as sent, gzip declared or not: decoding is bounded, and what it gives goes on
/// to the batch parser.
pub fn gzip_body(data: &[u8]) {
    for declared in [true, false] {
        match decode_body(data, declared) {
            Ok(body) => {
                assert!(
                    body.len() <= MAX_BATCH_BYTES,
                    "decode_body gave {} bytes",
                    body.len()
                );
                if let Ok(outcome) = parse_request(Route::Batch, &body, edge()) {
                    check_outcome(&outcome, edge());
                }
            }
            Err(e) => {
                assert!(
                    e.code == codes::INVALID_GZIP || e.code == codes::BODY_TOO_LARGE,
                    "decode_body said {}",
                    e.code
                );
            }
        }
    }
}

/// The codes `IdentitySettings::from_json` documents.
const SETTINGS_CODES: [&str; 8] = [
    "invalid_json",
    "not_an_object",
    "unknown_field",
    "invalid_priorities",
    "invalid_type_name",
    "duplicate_priority",
    "invalid_limits",
    "invalid_limit",
];

/// Identity settings JSON: what is accepted is usable (limits ≥ 1, priorities distinct names).
pub fn identity_settings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match IdentitySettings::from_json(text) {
        Ok(settings) => {
            assert!(settings.limits.values().all(|&n| n >= 1));
            assert!(settings.limits.keys().all(|k| !k.trim().is_empty()));
            for (i, p) in settings.priorities.iter().enumerate() {
                assert!(!p.trim().is_empty());
                assert!(!settings.priorities[..i].contains(p), "{p} listed twice");
            }
        }
        Err(e) => assert!(SETTINGS_CODES.contains(&e.code), "unknown code {}", e.code),
    }
}

/// The codes `Segment::parse` documents (`segments.md`, "Definitions").
const DEFINITION_CODES: [&str; 11] = [
    "unknown_key",
    "unknown_condition",
    "wrong_type",
    "missing_key",
    "unknown_operator",
    "missing_operator",
    "bad_duration",
    "bad_time",
    "conflicting_keys",
    "unknown_segment",
    "segment_cycle",
];

/// A small store to evaluate fuzzed segments and snapshots against: two profiles, a few events.
fn sample_store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let file = br#"
{"type":"identify","userId":"u1","messageId":"i1","timestamp":"2026-02-01T00:00:00Z","traits":{"plan":"pro","email":"a@x.io","age":41,"tags":["a","b"],"address":{"city":"Lyon"}}}
{"type":"track","userId":"u1","event":"Order Completed","messageId":"t1","timestamp":"2026-02-10T00:00:00Z","properties":{"revenue":"49.99","sku":"a"}}
{"type":"track","userId":"u1","event":"Order Completed","messageId":"t2","timestamp":"2026-02-11T00:00:00Z","properties":{"revenue":12}}
{"type":"page","anonymousId":"a2","name":"Home","messageId":"p1","timestamp":"2026-02-12T00:00:00Z","properties":{"path":"/"}}
{"type":"track","anonymousId":"a2","event":"Product Added","messageId":"t3","timestamp":"2026-02-13T00:00:00Z"}
"#;
        let events = read_file_bytes(file, Source::File { derive_ids: false }).accepted;
        let resolution = identity::resolve(&events, &IdentitySettings::default());
        Store::build(&events, &resolution)
    })
}

/// Saved segments a fuzzed definition may reach through `in_segment`: one plain, one that
/// refers to it, a cycle, and an invalid one.
fn saved_segments() -> &'static SavedSegments {
    static SAVED: OnceLock<SavedSegments> = OnceLock::new();
    SAVED.get_or_init(|| {
        let doc = |text: &str| serde_json::from_str(text).expect("a saved segment");
        let mut saved = SavedSegments::new();
        saved.insert("pro".into(), doc(r#"{"id":"pro","condition":{"trait":"plan","op":"eq","value":"pro"}}"#));
        saved.insert("pro_buyers".into(), doc(r#"{"id":"pro_buyers","condition":{"and":[{"in_segment":"pro"},{"event":"Order Completed"}]}}"#));
        saved.insert("loop_a".into(), doc(r#"{"id":"loop_a","condition":{"in_segment":"loop_b"}}"#));
        saved.insert("loop_b".into(), doc(r#"{"id":"loop_b","condition":{"not":{"in_segment":"loop_a"}}}"#));
        saved.insert("broken".into(), doc(r#"{"id":"broken","condition":{"trait":"plan"}}"#));
        saved
    })
}

fn now() -> Timestamp {
    Timestamp(1_772_366_400_000)
}

/// Members are distinct profiles of the store, in order, whatever the segment.
fn check_evaluation(store: &Store, segment: &Segment) {
    let result = store.evaluate(segment, now());
    let ids = result.ids(store);
    assert_eq!(ids.len(), result.count());
    assert!(result.count() <= store.profile_count());
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "members sorted and distinct"
    );
}

/// A segment document as JSON text: parsed and checked, and when valid evaluated.
pub fn segment_definition(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match Segment::parse(&doc, saved_segments()) {
        Ok(segment) => check_evaluation(sample_store(), &segment),
        Err(e) => assert!(
            DEFINITION_CODES.contains(&e.code),
            "unknown code {}",
            e.code
        ),
    }
}

const SNAPSHOT_MAGIC: &[u8; 8] = b"TSNAP\r\n\x1a";

/// `payload` framed as a snapshot (magic, version, length, CRC-32), so that mutations reach the
/// payload reader instead of stopping at the checksum.
pub fn frame_snapshot(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 24);
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&tessera::segment::SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: this module is shared as source and takes no extra dependency.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Snapshot bytes, as given and with `data` taken as the payload of a well-framed snapshot: a
/// loaded store writes back to the same bytes and evaluates any segment without panicking.
pub fn snapshot(data: &[u8]) {
    for bytes in [data.to_vec(), frame_snapshot(data)] {
        match Store::from_bytes(&bytes) {
            Ok(store) => {
                // Compared as bytes: a hostile float may be NaN, which no `==` finds equal.
                let written = store.to_bytes();
                let again = Store::from_bytes(&written).expect("a loaded store reloads");
                assert_eq!(again.to_bytes(), written, "a loaded store round-trips");
                for doc in SNAPSHOT_PROBES {
                    let doc = serde_json::from_str(doc).expect("a probe segment");
                    let segment = Segment::parse(&doc, saved_segments()).expect("a valid probe");
                    check_evaluation(&store, &segment);
                }
            }
            Err(e) => assert!(
                e.code == "snapshot_version" || e.code == "snapshot_corrupt",
                "unknown code {}",
                e.code
            ),
        }
    }
}

/// Segments that touch every part of a store: traits, properties, event kinds, sequences,
/// first/last seen, identifiers, saved segments.
const SNAPSHOT_PROBES: [&str; 8] = [
    r#"{"condition":{"trait":"plan","op":"eq","value":"pro"}}"#,
    r#"{"condition":{"trait":"address.city","op":"starts_with","value":"L","ignore_case":true}}"#,
    r#"{"condition":{"event":"*","where":[{"property":"revenue","op":"gt","value":10}],"within":"30d","count":{"gte":1}}}"#,
    r#"{"condition":{"event":"Order Completed","sum":{"property":"revenue","gt":1},"within":"9999w"}}"#,
    r#"{"condition":{"event":"Product Added","not_followed_by":{"event":"Order Completed","within":"1d"}}}"#,
    r#"{"condition":{"event":"*","call":"page","followed_by":{"event":"*","within":"2d"}}}"#,
    r#"{"condition":{"or":[{"first_seen":{"before":"1d"}},{"last_seen":{"after":"2026-01-01T00:00:00Z"}},{"has_identifier":"email"}]}}"#,
    r#"{"condition":{"not":{"in_segment":"pro_buyers"}}}"#,
];
