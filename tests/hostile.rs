//! Hostile input, core level: the catalogue in `tests/fixtures/hostile/catalogue.json` (the edge
//! tests replay the same table over HTTP), and the fuzz corpus and crash inputs replayed through
//! the fuzz targets' own checks, so both run in the normal test command on stable Rust.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera::ingest::{decode_body, parse_request, Outcome, RequestError, Route, Source};
use tessera::segment::{SavedSegments, Segment, MAX_CONDITION_DEPTH};
use tessera::{Event, Timestamp};

#[allow(dead_code)]
#[path = "../fuzz/src/checks.rs"]
mod checks;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn catalogue() -> Vec<Value> {
    let path = Path::new(ROOT).join("tests/fixtures/hostile/catalogue.json");
    let text = std::fs::read_to_string(path).expect("catalogue file");
    let doc: Value = serde_json::from_str(&text).expect("catalogue JSON");
    doc["cases"].as_array().expect("cases").clone()
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64 digit");
        acc = (acc << 6) | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// The exact bytes a case sends: `body` (a string), `body_base64`, or `body_parts` (strings and
/// `{"repeat" | "numbered", "count", "separator"?, "start"?}` runs, concatenated).
fn body_of(case: &Value) -> Vec<u8> {
    if let Some(text) = case.get("body") {
        return text.as_str().expect("body is a string").as_bytes().to_vec();
    }
    if let Some(b) = case.get("body_base64") {
        return base64(b.as_str().expect("body_base64 is a string"));
    }
    let mut out = String::new();
    for part in case["body_parts"].as_array().expect("a body") {
        match part {
            Value::String(s) => out.push_str(s),
            run => {
                let count = usize::try_from(run["count"].as_u64().expect("count")).unwrap();
                let sep = run.get("separator").and_then(Value::as_str).unwrap_or("");
                let start = run.get("start").and_then(Value::as_u64).unwrap_or(0);
                for i in 0..count {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    match (run.get("repeat"), run.get("numbered")) {
                        (Some(item), None) => out.push_str(item.as_str().expect("repeat")),
                        (None, Some(template)) => {
                            let n = (start + i as u64).to_string();
                            out.push_str(&template.as_str().expect("numbered").replace("{i}", &n));
                        }
                        _ => panic!("a run has one of repeat and numbered: {run}"),
                    }
                }
            }
        }
    }
    out.into_bytes()
}

fn received_at() -> Timestamp {
    Timestamp::parse("2026-03-01T12:00:00Z").unwrap()
}

/// A segment document's answer: valid, or a code and a path.
fn segment_answer(body: &[u8]) -> Result<(), (&'static str, String)> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| ("invalid_json", String::new()))?;
    Segment::parse(&doc, &SavedSegments::new())
        .map(drop)
        .map_err(|e| (e.code, e.path))
}

/// The core's answer to a request case, as the edge computes it: decode, then parse on the route.
fn answer(case: &Value, body: &[u8]) -> Result<Outcome, RequestError> {
    let route = case["route"].as_str().expect("route");
    let route = Route::from_path(route).unwrap_or_else(|| panic!("route {route}"));
    let gzip = case["content_encoding"].as_str() == Some("gzip");
    let decoded = decode_body(body, gzip)?;
    parse_request(
        route,
        &decoded,
        Source::Edge {
            received_at: received_at(),
        },
    )
}

fn event_matches(event: &Event, outcome: &Outcome, want: &Value) -> Result<(), String> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    for (key, expected) in want.as_object().expect("event expectation") {
        let got = match key.as_str() {
            "name" => text(&event.name),
            "userId" => text(&event.user_id),
            "anonymousId" => text(&event.anonymous_id),
            "messageId" => Value::String(event.message_id.clone()),
            "time" => Value::String(event.time.to_string()),
            "write_key" => text(&outcome.write_key),
            other => return Err(format!("unknown event key {other}")),
        };
        if got != *expected {
            return Err(format!("{key}: want {expected}, got {got}"));
        }
    }
    Ok(())
}

fn check_segment(case: &Value, got: &Result<(), (&str, String)>) -> Result<(), String> {
    let expect = &case["expect"];
    match (expect.get("request_error"), got) {
        (None, Ok(())) if expect["valid"] == true => Ok(()),
        (Some(code), Err((got, path))) if code == got => match expect.get("path") {
            Some(want) if want != path => Err(format!("want path {want}, got {path}")),
            _ => Ok(()),
        },
        _ => Err(format!("want {expect}, got {got:?}")),
    }
}

fn check(case: &Value, got: &Result<Outcome, RequestError>) -> Result<(), String> {
    let expect = &case["expect"];
    if let Some(code) = expect.get("request_error") {
        return match got {
            Ok(o) => Err(format!(
                "want request error {code}, got {} accepted, rejected {:?}",
                o.accepted.len(),
                o.rejected
            )),
            Err(e) if e.code != code => Err(format!("want {code}, got {} ({})", e.code, e.message)),
            Err(e) => match expect.get("path") {
                Some(path) if e.errors.first().map(|r| r.path.as_str()) != path.as_str() => {
                    Err(format!("want path {path}, got {:?}", e.errors))
                }
                _ => Ok(()),
            },
        };
    }
    let outcome = got
        .as_ref()
        .map_err(|e| format!("want an outcome, got {} ({})", e.code, e.message))?;
    let accepted = expect["accepted"].as_u64().expect("accepted") as usize;
    if outcome.accepted.len() != accepted {
        return Err(format!(
            "want {accepted} accepted, got {}; rejected {:?}",
            outcome.accepted.len(),
            outcome.rejected
        ));
    }
    if let Some(list) = expect.get("rejected") {
        let got: Vec<Value> = outcome
            .rejected
            .iter()
            .map(|r| serde_json::json!({"index": r.index, "path": r.path, "code": r.code}))
            .collect();
        if got != *list.as_array().expect("rejected list") {
            return Err(format!("want rejected {list}, got {}", Value::Array(got)));
        }
    }
    if let Some(counts) = expect.get("rejected_counts") {
        let mut got = BTreeMap::<&str, u64>::new();
        for r in &outcome.rejected {
            *got.entry(r.code).or_default() += 1;
        }
        let got = serde_json::to_value(got).unwrap();
        if got != *counts {
            return Err(format!("want rejection counts {counts}, got {got}"));
        }
    }
    if let Some(events) = expect.get("events") {
        for (event, want) in outcome.accepted.iter().zip(events.as_array().unwrap()) {
            event_matches(event, outcome, want)?;
        }
    }
    Ok(())
}

#[test]
fn catalogue_cases_get_their_listed_answer_in_bounded_time() {
    let mut failures = Vec::new();
    let mut times = Vec::new();
    for case in catalogue() {
        let name = case["name"].as_str().expect("name").to_owned();
        let body = body_of(&case);
        let start = Instant::now();
        let verdict = if case["route"] == "segment" {
            let got = segment_answer(&body);
            (check_segment(&case, &got), start.elapsed())
        } else {
            let got = answer(&case, &body);
            (check(&case, &got), start.elapsed())
        };
        let took = verdict.1;
        if let Err(why) = verdict.0 {
            failures.push(format!("{name}: {why}"));
        }
        // Generous bounds, only on the cases that could hang (nesting, bombs, huge objects):
        // they catch a quadratic or unbounded path, not a slow machine.
        if let Some(ms) = case.get("max_ms").and_then(Value::as_u64) {
            if took > Duration::from_millis(ms) {
                failures.push(format!("{name}: took {took:?}, bound {ms} ms"));
            }
        }
        times.push((took, name));
    }
    times.sort();
    for (took, name) in times.iter().rev().take(5) {
        eprintln!("slow catalogue case: {name} ({took:?})");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn catalogue_names_are_stable_codes() {
    let cases = catalogue();
    assert!(cases.len() >= 50, "the catalogue lost cases");
    let mut seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name} is not snake_case"
        );
        assert!(seen.insert(name), "{name} listed twice");
        assert!(case["description"].as_str().is_some_and(|d| !d.is_empty()));
        let bodies = ["body", "body_base64", "body_parts"]
            .iter()
            .filter(|k| case.get(**k).is_some())
            .count();
        assert_eq!(bodies, 1, "{name}: exactly one body");
    }
}

/// The bomb really is 10 MB of zeros: inflating it without a bound gives all of them, so the
/// `body_too_large` answer proves the bound, not a broken stream.
#[test]
fn the_gzip_bomb_inflates_to_ten_megabytes() {
    let cases = catalogue();
    let bomb = cases
        .iter()
        .find(|c| c["name"] == "gzip_bomb_10mb_zeros")
        .expect("bomb case");
    let compressed = body_of(bomb);
    assert!(compressed.len() < 20_000);
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut inflated)
        .expect("a valid gzip stream");
    assert_eq!(inflated.len(), 10 * 1024 * 1024);
    assert!(inflated.iter().all(|&b| b == 0));
}

/// Every catalogue body also goes through the fuzz targets' checks (no panic, invariants hold).
#[test]
fn catalogue_bodies_keep_the_fuzz_invariants() {
    for case in catalogue() {
        let body = body_of(&case);
        let target = match case["route"].as_str() {
            Some("/v1/batch") => "request_batch",
            Some("segment") => "segment_definition",
            _ => "request_single",
        };
        checks::run(target, &body);
        checks::run("gzip_body", &body);
        if body.len() <= 65_536 {
            checks::run("message", &body);
            checks::run("file_bytes", &body);
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else if path.file_name().is_some_and(|n| n != "README.md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Replays `<dir>/<target>/**` through the target's checks; the number of inputs per target.
fn replay(dir: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return counts;
    };
    for entry in entries {
        let folder = entry.expect("directory entry").path();
        if !folder.is_dir() {
            continue;
        }
        let target = folder.file_name().unwrap().to_string_lossy().into_owned();
        for file in files_under(&folder) {
            // A running fuzzer may replace corpus files under our feet.
            let Ok(data) = std::fs::read(&file) else {
                continue;
            };
            assert!(
                checks::run(&target, &data),
                "{} is in a folder named after no fuzz target",
                file.display()
            );
        }
        counts.insert(target, files_under(&folder).len());
    }
    counts
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let counts = replay(&Path::new(ROOT).join("fuzz/corpus"));
    for target in checks::TARGETS {
        assert!(
            counts.get(target).is_some_and(|&n| n >= 3),
            "fuzz/corpus/{target} needs a seed corpus"
        );
    }
}

#[test]
fn fuzz_crashes_stay_fixed() {
    replay(&Path::new(ROOT).join("tests/fixtures/hostile/crashes"));
}

fn nest_not(depth: usize, inner: Value) -> Value {
    (0..depth).fold(inner, |c, _| {
        Value::Object(serde_json::Map::from_iter([("not".to_owned(), c)]))
    })
}

fn document(condition: Value) -> Value {
    Value::Object(serde_json::Map::from_iter([(
        "condition".to_owned(),
        condition,
    )]))
}

/// JSON text stops at 128 levels, but a document built in memory (by an adapter converting a JS
/// object, say) has no such limit: parsing must refuse it before recursion overflows the stack.
#[test]
fn segment_documents_built_in_memory_cannot_overflow_the_stack() {
    let leaf = serde_json::json!({"trait": "plan", "op": "exists"});
    let ok = document(nest_not(MAX_CONDITION_DEPTH - 1, leaf.clone()));
    assert!(Segment::parse(&ok, &SavedSegments::new()).is_ok());
    let deep = document(nest_not(10_000, leaf));
    let err = Segment::parse(&deep, &SavedSegments::new()).unwrap_err();
    assert_eq!(err.code, "too_deep");
    // serde_json drops a value recursively too: this one is left to the process exit.
    std::mem::forget(deep);

    // A chain of saved segments, each in the next: as deep, through `in_segment`.
    let mut saved = SavedSegments::new();
    for i in 0..1_000 {
        saved.insert(
            format!("s{i}"),
            serde_json::json!({"id": format!("s{i}"), "condition": {"in_segment": format!("s{}", i + 1)}}),
        );
    }
    saved.insert(
        "s1000".into(),
        serde_json::json!({"condition": {"trait": "plan", "op": "exists"}}),
    );
    let chain = serde_json::json!({"condition": {"in_segment": "s0"}});
    assert_eq!(Segment::parse(&chain, &saved).unwrap_err().code, "too_deep");
}
