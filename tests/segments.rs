//! The segment conformance corpus (`tests/fixtures/segments/*.json`, format in its README) and
//! property tests of snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Value};
use tessera::event::Object;
use tessera::identity::{Profile, Resolution};
use tessera::segment::{SavedSegments, Segment, Store};
use tessera::{CallType, Event, Timestamp};

fn time(v: &Value) -> Timestamp {
    Timestamp::parse(v.as_str().expect("a time string")).expect("an RFC 3339 time")
}

fn object(v: Option<&Value>) -> Object {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The events and hand-made resolution a fixture describes.
fn resolution(fixture: &Value) -> (Vec<Event>, Resolution) {
    let mut profiles: Vec<Profile> = fixture["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| Profile {
            id: p["id"].as_str().expect("profile id").to_string(),
            identifiers: p
                .get("identifiers")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let set: BTreeSet<String> = v
                                .as_array()
                                .expect("identifier values")
                                .iter()
                                .map(|s| s.as_str().expect("identifier").to_string())
                                .collect();
                            (k.clone(), set)
                        })
                        .collect()
                })
                .unwrap_or_default(),
            traits: object(p.get("traits")),
            event_count: 0,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
        })
        .collect();
    let index: BTreeMap<String, u32> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i as u32))
        .collect();
    let mut events = Vec::new();
    let mut event_profile = Vec::new();
    let list = fixture["events"].as_array().cloned().unwrap_or_default();
    for (i, e) in list.iter().enumerate() {
        let call = CallType::from_name(e["type"].as_str().unwrap_or("track")).expect("type");
        let name = e
            .get("event")
            .or_else(|| e.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let t = time(&e["timestamp"]);
        let profile = e.get("profile").and_then(Value::as_str).map(|p| {
            *index
                .get(p)
                .unwrap_or_else(|| panic!("event {i}: unknown profile {p}"))
        });
        if let Some(p) = profile {
            let p = &mut profiles[p as usize];
            if p.event_count == 0 || t < p.first_seen {
                p.first_seen = t;
            }
            if p.event_count == 0 || t > p.last_seen {
                p.last_seen = t;
            }
            p.event_count += 1;
        }
        event_profile.push(profile);
        events.push(Event {
            message_id: e
                .get("messageId")
                .and_then(Value::as_str)
                .map_or_else(|| format!("m{i:04}"), str::to_string),
            call,
            name,
            user_id: None,
            anonymous_id: None,
            previous_id: None,
            group_id: None,
            time: t,
            received_at: None,
            properties: object(e.get("properties")),
            traits: Object::new(),
            context: Object::new(),
            integrations: Object::new(),
        });
    }
    (
        events,
        Resolution {
            profiles,
            event_profile,
        },
    )
}

fn saved(v: Option<&Value>) -> SavedSegments {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn run_fixture(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let (events, res) = resolution(&fixture);
    let store = Store::build(&events, &res);
    let reloaded = Store::from_bytes(&store.to_bytes()).expect("snapshot loads");
    let mut segments = saved(fixture.get("segments"));
    let cases = fixture["cases"].as_array().expect("cases");
    for (i, case) in cases.iter().enumerate() {
        let name = format!(
            "{}: case {i} ({})",
            path.display(),
            case["name"].as_str().unwrap_or("")
        );
        let doc = match (case.get("segment"), case.get("condition")) {
            (Some(doc), _) => doc.clone(),
            (None, Some(c)) => json!({ "condition": c }),
            _ => panic!("{name}: no segment or condition"),
        };
        segments.extend(saved(case.get("segments")));
        let parsed = Segment::parse(&doc, &segments);
        if let Some(expected) = case.get("error") {
            let err = parsed.expect_err(&name);
            assert_eq!(
                json!({"code": err.code, "path": err.path}),
                *expected,
                "{name}: {err}"
            );
            continue;
        }
        let segment = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        let now = time(case.get("now").unwrap_or(&fixture["now"]));
        let result = store.evaluate(&segment, now);
        let mut expected: Vec<String> = case["expect"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: expect"))
            .iter()
            .map(|v| v.as_str().expect("profile id").to_string())
            .collect();
        expected.sort();
        assert_eq!(result.ids(&store), expected, "{name}");
        assert_eq!(result.count(), expected.len(), "{name}");
        assert_eq!(reloaded.evaluate(&segment, now), result, "{name}: snapshot");
    }
    cases.len()
}

#[test]
fn conformance_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segments");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "corpus missing");
    let cases: usize = files.iter().map(|f| run_fixture(f)).sum();
    assert!(cases >= 100, "only {cases} cases");
}

#[test]
fn sample_is_spread_and_deterministic() {
    let (events, res) = resolution(&json!({
        "profiles": (0..10).map(|i| json!({"id": format!("p_{i:02}")})).collect::<Vec<_>>(),
        "events": (0..10).map(|i| json!({"profile": format!("p_{i:02}"), "type": "track",
            "event": "Seen", "timestamp": "2026-01-01T00:00:00Z"})).collect::<Vec<_>>(),
    }));
    let store = Store::build(&events, &res);
    let segment = Segment::parse(
        &json!({"condition": {"event": "Seen"}}),
        &SavedSegments::new(),
    )
    .expect("valid");
    let result = store.evaluate(&segment, time(&json!("2026-02-01T00:00:00Z")));
    assert_eq!(result.count(), 10);
    assert_eq!(result.sample(3), vec![0, 3, 6]);
    assert_eq!(result.sample(20).len(), 10);
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "a",
            "B",
            "10",
            "-2.5",
            "2026-01-05T00:00:00Z",
            "/pricing"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["x", "y", "z.w"]).prop_map(str::to_string),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_fixture() -> impl Strategy<Value = Value> {
    let event = (
        0usize..4,
        prop::sample::select(vec!["A", "B", "C"]),
        prop::sample::select(vec!["track", "page", "identify"]),
        0i64..40,
        prop::collection::btree_map(
            prop::sample::select(vec!["x", "y", "path"]).prop_map(str::to_string),
            arb_value(),
            0..3,
        ),
    )
        .prop_map(|(p, name, call, day, props)| {
            json!({"profile": if p == 3 { Value::Null } else { json!(format!("p_{p}")) },
                "type": call, "event": name, "timestamp": Timestamp(1_767_225_600_000 + day * 43_200_000).to_string(),
                "properties": props})
        });
    (
        prop::collection::vec(event, 0..30),
        prop::collection::vec(arb_value(), 3),
    )
        .prop_map(|(mut events, traits)| {
            for e in &mut events {
                if e["profile"].is_null() {
                    e.as_object_mut().map(|m| m.remove("profile"));
                }
            }
            json!({
                "profiles": (0..3).map(|i| json!({"id": format!("p_{i}"),
                    "traits": {"x": traits[i]}, "identifiers": {"email": [format!("{i}@e")]}})).collect::<Vec<_>>(),
                "events": events,
            })
        })
}

const PROBES: &[&str] = &[
    r#"{"event": "A"}"#,
    r#"{"event": "*", "call": "page", "where": [{"property": "path", "op": "starts_with", "value": "/p"}]}"#,
    r#"{"event": "B", "within": "7d", "count": {"gte": 2}}"#,
    r#"{"event": "A", "sum": {"property": "x", "gt": 0}}"#,
    r#"{"event": "*", "avg": {"property": "y", "between": [-10, 10]}}"#,
    r#"{"event": "A", "followed_by": {"event": "B", "within": "2d"}}"#,
    r#"{"event": "A", "not_followed_by": {"event": "C", "within": "1d"}}"#,
    r#"{"trait": "x", "op": "neq", "value": "a"}"#,
    r#"{"trait": "x.y", "op": "exists"}"#,
    r#"{"event": "C", "where": [{"property": "x", "op": "contains", "value": "a", "ignore_case": true}]}"#,
    r#"{"last_seen": {"before": "10d"}}"#,
    r#"{"not": {"first_seen": {"after": "2026-01-10T00:00:00Z"}}}"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn snapshot_round_trip_keeps_results(fixture in arb_fixture(), day in 0i64..45) {
        let (events, res) = resolution(&fixture);
        let store = Store::build(&events, &res);
        let bytes = store.to_bytes();
        let reloaded = Store::from_bytes(&bytes).expect("round trip");
        prop_assert_eq!(&reloaded, &store);
        prop_assert_eq!(reloaded.to_bytes(), bytes);
        let now = Timestamp(1_767_225_600_000 + day * 86_400_000);
        for probe in PROBES {
            let condition: Value = serde_json::from_str(probe).expect("probe");
            let segment = Segment::parse(&json!({"condition": condition}), &SavedSegments::new())
                .expect("probe is valid");
            prop_assert_eq!(store.evaluate(&segment, now), reloaded.evaluate(&segment, now));
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(Store::from_bytes(&bytes).is_err());
    }

    #[test]
    fn damaged_snapshots_are_refused_or_safe(
        fixture in arb_fixture(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (events, res) = resolution(&fixture);
        let store = Store::build(&events, &res);
        let mut bytes = store.to_bytes();
        let payload_len = bytes.len() - 24;
        for (at, value) in flips {
            if payload_len > 0 {
                bytes[20 + at.index(payload_len)] = value;
            }
        }
        // Re-seal the damage so the structural checks, not just the checksum, are exercised.
        let crc = crc32fast::hash(&bytes[20..bytes.len() - 4]).to_le_bytes();
        let end = bytes.len();
        bytes[end - 4..].copy_from_slice(&crc);
        if let Ok(loaded) = Store::from_bytes(&bytes) {
            for probe in PROBES {
                let condition: Value = serde_json::from_str(probe).expect("probe");
                let segment = Segment::parse(&json!({"condition": condition}), &SavedSegments::new())
                    .expect("probe is valid");
                let _ = loaded.evaluate(&segment, Timestamp(1_767_225_600_000));
            }
        }
    }
}
