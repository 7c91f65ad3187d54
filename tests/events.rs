//! The event contract, checked against the shared fixture corpus in `tests/fixtures/events/`
//! (the npm package's tests read the same files), plus properties no input may break.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use tessera::ingest::{
    self, codes, decode_body, parse_message, parse_message_lean, parse_message_lean_strict,
    parse_request, read_file_bytes, read_ndjson, validate_ndjson, Outcome, RequestError, Route,
    Source,
};
use tessera::{CallType, Event, Timestamp};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events");

fn fixture_files() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
        .expect("fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture text");
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).expect("fixture JSON"))
        })
        .collect()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex body"))
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The body bytes a case describes, before any gzip step.
fn body_of(case: &Value) -> Vec<u8> {
    if let Some(text) = case.get("body_text") {
        return text.as_str().unwrap().as_bytes().to_vec();
    }
    if let Some(h) = case.get("body_hex") {
        return hex(h.as_str().unwrap());
    }
    if let Some(r) = case.get("body_repeat") {
        let s = |k: &str| r[k].as_str().unwrap();
        let count = usize::try_from(r["count"].as_u64().unwrap()).unwrap();
        let mut out = s("prefix").to_owned();
        out.push_str(&vec![s("repeat"); count].join(s("separator")));
        out.push_str(s("suffix"));
        return out.into_bytes();
    }
    serde_json::to_vec(&case["body"]).unwrap()
}

fn source_of(case: &Value) -> Source {
    let s = &case["source"];
    if let Some(at) = s.get("received_at") {
        Source::Edge {
            received_at: Timestamp::parse(at.as_str().unwrap()).unwrap(),
        }
    } else {
        Source::File {
            derive_ids: s["derive_ids"].as_bool().unwrap_or(false),
        }
    }
}

fn run(case: &Value) -> Result<Outcome, RequestError> {
    let source = source_of(case);
    let body = body_of(case);
    let route = case["route"].as_str().unwrap();
    if route == "file" {
        return Ok(read_file_bytes(&body, source));
    }
    let route = Route::from_path(route).unwrap_or_else(|| panic!("route {route}"));
    let (raw, declared) = match case.get("gzip").and_then(Value::as_str) {
        None => (body, false),
        Some("declared") => (gzip(&body), true),
        Some("undeclared") => (gzip(&body), false),
        Some("declared_raw") => (body, true),
        Some(other) => panic!("gzip mode {other}"),
    };
    let decoded = decode_body(&raw, declared)?;
    parse_request(route, &decoded, source)
}

fn opt_text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn check_event(event: &Event, want: &Value) -> Result<(), String> {
    for (key, expected) in want.as_object().unwrap() {
        let ok = match key.as_str() {
            "type" => event.call.as_str() == expected,
            "messageId" => event.message_id == *expected,
            "time" => event.time.to_string() == *expected,
            "receivedAt" => event.received_at.map(|t| t.to_string()) == opt_text(expected),
            "name" => event.name == opt_text(expected),
            "userId" => event.user_id == opt_text(expected),
            "anonymousId" => event.anonymous_id == opt_text(expected),
            "previousId" => event.previous_id == opt_text(expected),
            "groupId" => event.group_id == opt_text(expected),
            "properties" => Value::Object(event.properties.clone()) == *expected,
            "traits" => Value::Object(event.traits.clone()) == *expected,
            "context" => Value::Object(event.context.clone()) == *expected,
            "integrations" => Value::Object(event.integrations.clone()) == *expected,
            other => return Err(format!("unknown event key {other}")),
        };
        if !ok {
            return Err(format!("{key}: want {expected}, got {}", event.to_json()));
        }
    }
    Ok(())
}

fn check(case: &Value, got: Result<Outcome, RequestError>) -> Result<(), String> {
    let expect = &case["expect"];
    if let Some(code) = expect.get("error") {
        let e = match got {
            Ok(o) => return Err(format!("want error {code}, got {o:?}")),
            Err(e) => e,
        };
        if e.code != code {
            return Err(format!("want error {code}, got {} ({})", e.code, e.message));
        }
        if let Some(path) = expect.get("error_path") {
            if e.errors.first().map(|r| r.path.as_str()) != path.as_str() {
                return Err(format!("want error path {path}, got {:?}", e.errors));
            }
        }
        return Ok(());
    }
    let outcome = got.map_err(|e| format!("want success, got {} ({})", e.code, e.message))?;
    let rejected: Vec<Value> = outcome
        .rejected
        .iter()
        .map(|r| serde_json::json!({"index": r.index, "path": r.path, "code": r.code}))
        .collect();
    if rejected != expect["rejected"].as_array().unwrap().as_slice() {
        return Err(format!(
            "rejected: want {}, got {rejected:?} ({:?})",
            expect["rejected"], outcome.rejected
        ));
    }
    let accepted = expect["accepted"].as_u64().unwrap();
    if outcome.accepted.len() as u64 != accepted {
        return Err(format!(
            "accepted: want {accepted}, got {}",
            outcome.accepted.len()
        ));
    }
    if let Some(events) = expect.get("events") {
        let events = events.as_array().unwrap();
        if events.len() != outcome.accepted.len() {
            return Err("events: the case lists a different number".into());
        }
        for (i, (event, want)) in outcome.accepted.iter().zip(events).enumerate() {
            check_event(event, want).map_err(|e| format!("event {i}: {e}"))?;
        }
    }
    if let Some(key) = expect.get("write_key") {
        if outcome.write_key != opt_text(key) {
            return Err(format!(
                "write_key: want {key}, got {:?}",
                outcome.write_key
            ));
        }
    }
    if let Some(d) = expect.get("dedup") {
        let (kept, dropped) = ingest::dedup(outcome.accepted.clone());
        let ids: Vec<&str> = kept.iter().map(|e| e.message_id.as_str()).collect();
        if ids
            != d["kept"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
        {
            return Err(format!("dedup kept: want {}, got {ids:?}", d["kept"]));
        }
        if dropped as u64 != d["dropped"].as_u64().unwrap() {
            return Err(format!(
                "dedup dropped: want {}, got {dropped}",
                d["dropped"]
            ));
        }
        if let Some(names) = d.get("kept_names") {
            let got: Vec<Value> = kept.iter().map(|e| e.name.clone().into()).collect();
            if got != names.as_array().unwrap().as_slice() {
                return Err(format!("dedup names: want {names}, got {got:?}"));
            }
        }
        if let Some(times) = d.get("kept_times") {
            let got: Vec<Value> = kept.iter().map(|e| e.time.to_string().into()).collect();
            if got != times.as_array().unwrap().as_slice() {
                return Err(format!("dedup times: want {times}, got {got:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn fixture_corpus() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, fixture) in fixture_files() {
        for case in fixture["cases"].as_array().expect("cases") {
            count += 1;
            let name = case["name"].as_str().expect("case name");
            if let Err(why) = check(case, run(case)) {
                failures.push(format!("{file} / {name}: {why}"));
            }
        }
    }
    assert!(count > 100, "only {count} cases found");
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every code a message or request can get appears in the corpus, so the JS side checks it too.
#[test]
fn corpus_covers_every_code() {
    let mut seen = BTreeSet::new();
    for (_, fixture) in fixture_files() {
        for case in fixture["cases"].as_array().unwrap() {
            let expect = &case["expect"];
            if let Some(code) = expect.get("error").and_then(Value::as_str) {
                seen.insert(code.to_owned());
            }
            for r in expect
                .get("rejected")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                seen.insert(r["code"].as_str().unwrap().to_owned());
            }
        }
    }
    for code in codes::ALL {
        if code != codes::IO_ERROR {
            assert!(seen.contains(code), "no fixture for {code}");
        }
    }
}

#[test]
fn routes() {
    for (path, call) in [
        ("track", CallType::Track),
        ("identify", CallType::Identify),
        ("page", CallType::Page),
        ("screen", CallType::Screen),
        ("group", CallType::Group),
        ("alias", CallType::Alias),
    ] {
        let short = &path[..1];
        assert_eq!(
            Route::from_path(&format!("/v1/{path}")),
            Some(Route::Single(call))
        );
        assert_eq!(
            Route::from_path(&format!("/v1/{short}")),
            Some(Route::Single(call))
        );
    }
    assert_eq!(Route::from_path("/v1/b"), Some(Route::Batch));
    for bad in [
        "/v1/",
        "/v1/import",
        "/v2/track",
        "/track",
        "/v1/Track",
        "v1/t",
        "/v1/tt",
    ] {
        assert_eq!(Route::from_path(bad), None, "{bad}");
    }
}

#[test]
fn write_key_in_body() {
    assert_eq!(
        ingest::write_key(br#"{"batch":[],"writeKey":"k1"}"#).as_deref(),
        Some("k1")
    );
    assert_eq!(ingest::write_key(br#"{"writeKey":1}"#), None);
    assert_eq!(ingest::write_key(b"not json"), None);
}

#[test]
fn parse_message_is_what_the_ndjson_reader_does() {
    let line = br#"{"type":"screen","name":"Home","anonymousId":"a","messageId":"m","originalTimestamp":"2026-01-01T00:00:00Z"}"#;
    let source = Source::File { derive_ids: false };
    let one = parse_message(line, 7, source).unwrap();
    let mut file = b"\n".repeat(6);
    file.extend_from_slice(line);
    let streamed: Vec<_> = read_ndjson(&file[..], source).collect();
    assert_eq!(streamed, vec![Ok(one.clone())]);
    assert_eq!(one.name.as_deref(), Some("Home"));
    let bad = parse_message(br#"{"type":"screen"}"#, 7, source).unwrap_err();
    assert_eq!(
        (bad.index, bad.path.as_str(), bad.code),
        (7, "userId", "missing_id")
    );
}

#[test]
fn read_errors_end_the_stream_with_io_error() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.0 = 0;
            let line = b"{\"type\":\"page\",\"userId\":\"u\",\"messageId\":\"m\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n";
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
    let reader = std::io::BufReader::new(Failing(1));
    let items: Vec<_> = read_ndjson(reader, Source::File { derive_ids: false }).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let err = items[1].as_ref().unwrap_err();
    assert_eq!((err.index, err.code), (2, codes::IO_ERROR));
}

#[test]
fn accepted_events_replay_to_themselves() {
    let body = br#"{"batch":[{"type":"track","event":"A","userId":42,"originalTimestamp":"2026-01-01T00:00:00Z","sentAt":"2026-01-01T00:00:03Z","properties":{"n":1.5}}],"context":{"ip":"1.1.1.1"}}"#;
    let edge = Source::Edge {
        received_at: Timestamp::parse("2026-01-01T00:00:10Z").unwrap(),
    };
    let outcome = parse_request(Route::Batch, body, edge).unwrap();
    let event = &outcome.accepted[0];
    assert_eq!(event.time.to_string(), "2026-01-01T00:00:07.000Z");
    let line = serde_json::to_vec(&event.to_json()).unwrap();
    let replayed = parse_message(&line, 1, Source::File { derive_ids: false }).unwrap();
    assert_eq!(replayed.time, event.time);
    assert_eq!(replayed.message_id, event.message_id);
    assert_eq!(replayed.user_id.as_deref(), Some("42"));
    assert_eq!(replayed.context, event.context);
    assert_eq!(replayed.properties, event.properties);
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("userId".to_owned()),
        Just("anonymousId".to_owned()),
        Just("previousId".to_owned()),
        Just("groupId".to_owned()),
        Just("event".to_owned()),
        Just("name".to_owned()),
        Just("messageId".to_owned()),
        Just("timestamp".to_owned()),
        Just("originalTimestamp".to_owned()),
        Just("sentAt".to_owned()),
        Just("properties".to_owned()),
        Just("traits".to_owned()),
        Just("context".to_owned()),
        Just("integrations".to_owned()),
        Just("batch".to_owned()),
        Just("externalIds".to_owned()),
        "[a-z]{1,3}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("track".to_owned()),
            Just("alias".to_owned()),
            Just("group".to_owned()),
            Just("2026-01-01T00:00:00Z".to_owned()),
            Just(" ".to_owned()),
            ".{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn every_route() -> Vec<Route> {
    let mut routes: Vec<Route> = CallType::ALL.into_iter().map(Route::Single).collect();
    routes.push(Route::Batch);
    routes
}

fn sources() -> [Source; 3] {
    [
        Source::Edge {
            received_at: Timestamp(1_767_225_600_000),
        },
        Source::File { derive_ids: false },
        Source::File { derive_ids: true },
    ]
}

fn check_invariants(outcome: &Outcome) {
    for event in &outcome.accepted {
        assert!(!event.message_id.is_empty());
        for id in [
            &event.user_id,
            &event.anonymous_id,
            &event.previous_id,
            &event.group_id,
        ]
        .into_iter()
        .flatten()
        {
            assert!(!id.trim().is_empty());
        }
        assert!(event.user_id.is_some() || event.anonymous_id.is_some());
    }
}

/// The lean parser's fast scanner and the strict serde parser give the same event or the same
/// rejection (code, path and message) for `text`.
fn assert_lean_paths_agree(text: &[u8], source: Source) {
    let fast = parse_message_lean(text, 3, source);
    let strict = parse_message_lean_strict(text, 3, source);
    assert_eq!(
        fast,
        strict,
        "fast and strict lean parsers differ on {:?}",
        String::from_utf8_lossy(text)
    );
}

/// A message that is valid more often than not, so the scanner's accepting path is exercised.
fn message_like() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        Just(Value::Null),
        Just(Value::from("u1")),
        Just(Value::from(" ")),
        Just(Value::from(42)),
        Just(Value::from(-7)),
        Just(Value::from(1.5)),
        Just(Value::from(9_007_199_254_740_993_u64)),
        Just(Value::from(false)),
        "[a-z0-9@. ]{0,6}".prop_map(Value::from),
    ];
    let call = prop_oneof![
        Just("track"),
        Just("identify"),
        Just("page"),
        Just("screen"),
        Just("group"),
        Just("alias"),
        Just("Track"),
    ];
    let time = prop_oneof![
        Just(Value::from("2026-01-01T00:00:00.123Z")),
        Just(Value::from("2026-02-30T00:00:00Z")),
        Just(Value::from(5)),
        Just(Value::Null),
    ];
    (
        call,
        (id.clone(), id.clone(), id),
        time,
        arbitrary_json(),
        arbitrary_json(),
        arbitrary_json(),
        prop::option::of("[a-z]{1,4}"),
    )
        .prop_map(
            |(call, (user, anon, prev), time, props, traits, extra, event)| {
                let mut m = serde_json::json!({
                    "type": call, "messageId": "m-1", "timestamp": time,
                    "userId": user, "anonymousId": anon, "previousId": prev, "groupId": "g",
                    "properties": props, "traits": traits,
                    "context": {"library": {"name": "x"}, "traits": extra.clone(),
                                "externalIds": [{"id": "c1", "type": "crm"}]},
                    "integrations": extra,
                });
                if let Some(event) = event {
                    m["event"] = Value::from(event.clone());
                    m["name"] = Value::from(event);
                }
                m
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The fast scanner agrees with the strict parser on message-shaped text, and on the same
    /// text damaged at one byte, cut short, given a repeated key or an escaped character.
    #[test]
    fn lean_scanner_agrees_with_strict_parser(
        value in message_like(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"{}[],:0-.e\\ntfu\x01\x7f\xc3a".to_vec()),
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_vec_pretty(&value).unwrap()
        } else {
            serde_json::to_vec(&value).unwrap()
        };
        for source in sources() {
            assert_lean_paths_agree(&text, source);
        }
        let source = Source::File { derive_ids: true };
        let i = at.index(text.len());
        let mut changed = text.clone();
        changed[i] = byte;
        assert_lean_paths_agree(&changed, source);
        let mut inserted = text.clone();
        inserted.insert(i, byte);
        assert_lean_paths_agree(&inserted, source);
        assert_lean_paths_agree(&text[..i], source);
        // A key repeated at the start of the object, and an escaped key.
        let mut repeated = b"{\"type\":\"page\",".to_vec();
        repeated.extend_from_slice(&text[1..]);
        assert_lean_paths_agree(&repeated, source);
        let escaped = String::from_utf8_lossy(&text).replacen("\"type\"", "\"\\u0074ype\"", 1);
        assert_lean_paths_agree(escaped.as_bytes(), source);
    }

    #[test]
    fn lean_scanner_agrees_on_any_json(value in arbitrary_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = serde_json::to_vec(&value).unwrap();
        for source in sources() {
            assert_lean_paths_agree(&text, source);
        }
        assert_lean_paths_agree(&bytes, Source::File { derive_ids: false });
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for route in every_route() {
            for source in sources() {
                if let Ok(outcome) = parse_request(route, &bytes, source) {
                    check_invariants(&outcome);
                }
            }
        }
        let _ = decode_body(&bytes, true);
        let _ = decode_body(&bytes, false);
        check_invariants(&read_file_bytes(&bytes, Source::File { derive_ids: true }));
        let _ = read_ndjson(&bytes[..], Source::File { derive_ids: false }).count();
    }

    #[test]
    fn random_json_never_panics(value in arbitrary_json()) {
        let text = serde_json::to_vec(&value).unwrap();
        let batch = serde_json::to_vec(&serde_json::json!({"batch": [value.clone(), value]})).unwrap();
        for source in sources() {
            for route in every_route() {
                if let Ok(outcome) = parse_request(route, &text, source) {
                    check_invariants(&outcome);
                }
            }
            let outcome = parse_request(Route::Batch, &batch, source).unwrap();
            check_invariants(&outcome);
            prop_assert_eq!(outcome.accepted.len() + outcome.rejected.len(), 2);
            check_invariants(&read_file_bytes(&text, source));
            // Validation without building objects gives the same verdicts as full parsing.
            let full: Vec<_> = read_ndjson(&text[..], source)
                .map(|r| r.map(|e| (e.message_id, e.call, e.time)))
                .collect();
            let quick: Vec<_> = validate_ndjson(&text[..], source)
                .map(|r| r.map(|m| (m.message_id, m.call, m.time)))
                .collect();
            prop_assert_eq!(full, quick);
        }
    }

    /// Dedup keeps the same (messageId, event time) pairs whatever the arrival order.
    #[test]
    fn dedup_does_not_depend_on_arrival_order(
        picks in prop::collection::vec((0u8..5, 0i64..4), 1..30),
        seed in any::<u64>(),
    ) {
        let events: Vec<Event> = picks.iter().enumerate().map(|(i, (id, t))| {
            let line = format!(
                r#"{{"type":"track","event":"e{i}","userId":"u","messageId":"m{id}","timestamp":"{}"}}"#,
                Timestamp(1_767_225_600_000 + t * 1000)
            );
            parse_message(line.as_bytes(), i, Source::File { derive_ids: false }).unwrap()
        }).collect();
        let mut shuffled = events.clone();
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            shuffled.swap(i, usize::try_from(state >> 33).unwrap() % (i + 1));
        }
        let key = |v: &[Event]| v.iter().map(|e| (e.message_id.clone(), e.time)).collect::<Vec<_>>();
        let (a, dropped_a) = ingest::dedup(events.clone());
        let (b, dropped_b) = ingest::dedup(shuffled);
        prop_assert_eq!(key(&a), key(&b));
        prop_assert_eq!(dropped_a, dropped_b);
        let distinct: BTreeSet<u8> = picks.iter().map(|p| p.0).collect();
        prop_assert_eq!(a.len(), distinct.len());
        prop_assert_eq!(dropped_a, events.len() - distinct.len());
        for kept in &a {
            let earliest = events.iter().filter(|e| e.message_id == kept.message_id).map(|e| e.time).min();
            prop_assert_eq!(Some(kept.time), earliest);
        }
    }
}

/// The lean parser's fast scanner agrees with the strict parser on every body, every line and
/// every batch item of the fixture corpus.
#[test]
fn lean_scanner_agrees_on_the_corpus() {
    let mut compared = 0;
    for (_, fixture) in fixture_files() {
        for case in fixture["cases"].as_array().unwrap() {
            let body = body_of(case);
            let source = source_of(case);
            assert_lean_paths_agree(&body, source);
            for line in body.split(|&b| b == b'\n') {
                assert_lean_paths_agree(line, source);
                compared += 1;
            }
            let parsed: Option<Value> = serde_json::from_slice(&body).ok();
            let items = parsed.as_ref().and_then(|v| match v {
                Value::Array(items) => Some(items),
                v => v.get("batch")?.as_array(),
            });
            for item in items.into_iter().flatten() {
                assert_lean_paths_agree(&serde_json::to_vec(item).unwrap(), source);
            }
        }
    }
    assert!(compared > 100);
}

/// The validator and the full reader agree on every NDJSON file of the corpus.
#[test]
fn validator_agrees_with_reader_on_the_corpus() {
    let mut compared = 0;
    for (_, fixture) in fixture_files() {
        for case in fixture["cases"].as_array().unwrap() {
            if case["route"] != "file" {
                continue;
            }
            let body = body_of(case);
            let source = source_of(case);
            let full: Vec<_> = read_ndjson(&body[..], source)
                .map(|r| r.map(|e| e.message_id))
                .collect();
            let quick: Vec<_> = validate_ndjson(&body[..], source)
                .map(|r| r.map(|m| m.message_id))
                .collect();
            assert_eq!(full, quick, "{}", case["name"]);
            // Lines straddling the reader's buffer give the same answers.
            for capacity in [1, 7, 64] {
                let reader = std::io::BufReader::with_capacity(capacity, &body[..]);
                let small: Vec<_> = read_ndjson(reader, source)
                    .map(|r| r.map(|e| e.message_id))
                    .collect();
                assert_eq!(
                    full, small,
                    "{} with a {capacity}-byte buffer",
                    case["name"]
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 5);
}

#[test]
fn fixtures_readme_exists() {
    assert!(Path::new(FIXTURES).join("README.md").exists());
}

/// `tessera validate` through its real binary: the JSON report and the exit codes.
#[test]
fn validate_command() {
    use std::process::{Command, Stdio};
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("validate")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tessera");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let good = r#"{"type":"page","userId":"u","messageId":"a","timestamp":"2026-01-01T00:00:00Z"}"#;
    let ndjson = format!(
        "{good}\n\n{good}\n{{\"type\":\"track\",\"userId\":\"u\"}}\n{{\"type\":\"page\"}}\n"
    );
    let (code, out) = run(&["--format", "json", "-"], ndjson.as_bytes());
    assert_eq!(code, Some(1));
    assert_eq!(
        out.trim(),
        r#"{"accepted":2,"rejected":2,"by_code":{"missing_event":1,"missing_id":1},"duplicates":1}"#
    );
    let (code, out) = run(&["--format", "json", "-"], format!("{good}\n").as_bytes());
    assert_eq!(
        (code, out.trim()),
        (
            Some(0),
            r#"{"accepted":1,"rejected":0,"by_code":{},"duplicates":0}"#
        )
    );
    // A pretty-printed batch file is read whole; missing ids derived on request.
    let batch = "{\n  \"batch\": [\n    {\"type\": \"page\", \"userId\": \"u\", \"timestamp\": \"2026-01-01T00:00:00Z\"}\n  ]\n}\n";
    let (code, out) = run(&["--format", "json", "-"], batch.as_bytes());
    assert_eq!(code, Some(1));
    assert!(out.contains(r#""missing_message_id":1"#), "{out}");
    let (code, _) = run(&["--derive-ids", "-"], batch.as_bytes());
    assert_eq!(code, Some(0));
    let (code, out) = run(&["-"], b"[1]");
    assert_eq!(code, Some(1));
    assert!(out.contains("not_an_object"), "{out}");
    let (code, _) = run(&["/nonexistent/events.ndjson"], b"");
    assert_eq!(code, Some(2));
    let (code, _) = run(&["--format", "yaml", "-"], b"");
    assert_eq!(code, Some(2));
}
