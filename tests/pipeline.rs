//! The streaming pipeline gives exactly what the full path gives: `read_file_bytes` + `dedup` +
//! `identity::resolve` + `Store::build`.

use serde_json::{json, Value};
use tessera::gen::{Generator, GeneratorConfig};
use tessera::identity::{self, IdentitySettings};
use tessera::ingest::{self, Source};
use tessera::pipeline::{self, Loaded};
use tessera::segment::{SavedSegments, Segment, Store};
use tessera::Timestamp;

const SOURCE: Source = Source::File { derive_ids: false };

/// The six reference segments of `benches/segments.rs`.
const SEGMENTS: [&str; 6] = [
    r#"{"event": "Order Completed", "within": "30d", "count": {"gte": 2}}"#,
    r#"{"and": [{"event": "Order Completed", "sum": {"property": "revenue", "gt": 200}}, {"trait": "plan", "op": "eq", "value": "pro"}]}"#,
    r#"{"and": [{"event": "*", "call": "page", "within": "7d", "where": [{"property": "path", "op": "starts_with", "value": "/pricing"}]}, {"not": {"event": "Order Completed"}}]}"#,
    r#"{"event": "Product Added", "within": "14d", "not_followed_by": {"event": "Order Completed", "within": "1d"}}"#,
    r#"{"and": [{"or": [{"trait": "country", "op": "in", "value": ["US", "CA"]}, {"trait": "age", "op": "gte", "value": 40}]}, {"event": "Email Opened", "count": {"gte": 3}}]}"#,
    r#"{"last_seen": {"before": "60d"}}"#,
];

fn full_path(bytes: &[u8], settings: &IdentitySettings) -> (identity::Resolution, Store, usize) {
    let outcome = ingest::read_file_bytes(bytes, SOURCE);
    let rejected = outcome.rejected.len();
    let (events, _) = ingest::dedup(outcome.accepted);
    let resolution = identity::resolve(&events, settings);
    let store = Store::build(&events, &resolution);
    (resolution, store, rejected)
}

fn streamed(bytes: &[u8], settings: &IdentitySettings) -> Loaded {
    pipeline::load(bytes, settings, SOURCE).expect("reading from memory cannot fail")
}

fn assert_same(bytes: &[u8], settings: &IdentitySettings) -> Loaded {
    let (resolution, store, rejected) = full_path(bytes, settings);
    let loaded = streamed(bytes, settings);
    assert_eq!(loaded.rejected.len(), rejected);
    assert_eq!(loaded.resolution.profiles.len(), resolution.profiles.len());
    for (a, b) in loaded.resolution.profiles.iter().zip(&resolution.profiles) {
        assert_eq!(a, b);
    }
    assert_eq!(loaded.resolution.event_profile, resolution.event_profile);
    assert!(loaded.store == store, "stores differ");
    assert_eq!(loaded.store.to_bytes(), store.to_bytes());
    // The profiles-only pipeline (`tessera profiles`) checks the same and resolves the same.
    let alone = pipeline::load_profiles(bytes, settings, SOURCE).expect("in memory");
    assert_eq!(alone.rejected, loaded.rejected);
    assert_eq!(alone.iter().collect::<Vec<_>>(), resolution.profiles);
    assert_eq!(alone.unresolved(), resolution.unresolved());
    assert_eq!(alone.event_profile(), &resolution.event_profile[..]);
    assert_eq!(
        (alone.accepted, alone.duplicates),
        (loaded.accepted, loaded.duplicates)
    );
    loaded
}

#[test]
fn generated_file_gives_the_full_paths_profiles_and_store() {
    let mut bytes = Vec::new();
    Generator::new(GeneratorConfig {
        events: 50_000,
        seed: 11,
        ..GeneratorConfig::default()
    })
    .write_to(&mut bytes)
    .expect("writing to memory");
    let settings = IdentitySettings::default();
    let (resolution, store, rejected) = full_path(&bytes, &settings);
    let loaded = assert_same(&bytes, &settings);
    assert!(rejected > 0, "the generator plants malformed lines");
    assert!(loaded.duplicates > 0, "the generator plants re-deliveries");
    assert!(resolution.profiles.iter().any(|p| p.identifiers.len() > 1));
    assert!(resolution.profiles.iter().any(|p| !p.traits.is_empty()));

    let now = Timestamp::parse("2026-06-01T00:00:00Z").expect("valid time");
    let mut non_empty = 0;
    for text in SEGMENTS {
        let condition: Value = serde_json::from_str(text).expect("segment JSON");
        let segment = Segment::parse(&json!({ "condition": condition }), &SavedSegments::new())
            .expect("valid segment");
        let expected = store.evaluate(&segment, now);
        let got = loaded.store.evaluate(&segment, now);
        assert_eq!(got.ids(&loaded.store), expected.ids(&store), "{text}");
        non_empty += usize::from(expected.count() > 0);
    }
    assert!(non_empty >= 3, "the reference segments select someone");

    let custom =
        IdentitySettings::from_json(r#"{"priorities": ["email"], "limits": {"email": 1}}"#)
            .expect("valid settings");
    assert_same(&bytes, &custom);
}

#[test]
fn dedup_keeps_the_earliest_copy_and_traits_follow_it() {
    let file = br#"
{"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-01-03T00:00:00Z","traits":{"plan":"free","age":30}}
{"type":"track","event":"Order Completed","userId":"u1","messageId":"m2","timestamp":"2026-01-04T00:00:00Z","properties":{"revenue":12.5,"items":[1,"a",null,{"x":1}],"nested":{"a":{"b":true}},"dot.key":1,"gone":null}}
{"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z","traits":{"plan":"pro"},"context":{"traits":{"email":"A@X.com","age":null}}}
{"type":"page","anonymousId":"a1","messageId":"m3","timestamp":"2026-01-02T00:00:00Z","name":"Home","properties":{"path":"/"}}
{"type":"alias","previousId":"a1","userId":"u1","messageId":"m4","timestamp":"2026-01-05T00:00:00Z"}
{"type":"track","event":"x","userId":"null","messageId":"m5","timestamp":"2026-01-05T00:00:00Z"}
{"type":"track","userId":"u2","messageId":"m6","timestamp":"2026-01-05T00:00:00Z"}
{"type":"page","userId":"u3","messageId":"m7","timestamp":"2026-01-06T00:00:00Z","context":{"traits":"x"}}
{"type":"page","userId":"u3","messageId":"m8","timestamp":"2026-01-06T00:00:00Z","context":{"a":1,"a":2}}
"#;
    let loaded = assert_same(file, &IdentitySettings::default());
    assert_eq!(loaded.duplicates, 1);
    let codes: Vec<&str> = loaded.rejected.iter().map(|r| r.code).collect();
    assert_eq!(codes, ["missing_event", "wrong_type", "invalid_json"]);
    let profile = loaded
        .resolution
        .profile_by_identifier("user_id", "u1")
        .expect("u1 resolved");
    // The earlier copy of m1 replaced the later one: plan "pro", no age.
    assert_eq!(profile.traits.get("plan"), Some(&json!("pro")));
    assert_eq!(profile.traits.get("age"), None);
    assert!(profile.holds("anonymous_id", "a1") && profile.holds("email", "a@x.com"));
    assert_eq!(loaded.resolution.unresolved(), 1);
}

#[test]
fn batch_array_and_pretty_files_are_read_like_read_file_bytes() {
    let settings = IdentitySettings::default();
    let batch = br#"{"batch": [
        {"type":"track","event":"e","userId":"u1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z"},
        {"type":"track","userId":"u1","messageId":"m2","timestamp":"2026-01-01T00:00:00Z"}
    ], "context": {"traits": {"email": "b@x.com"}}}"#;
    let loaded = assert_same(batch, &settings);
    assert_eq!(loaded.rejected[0].path, "batch[1].event");
    assert!(loaded.resolution.profiles[0].holds("email", "b@x.com"));
    let array = br#"[{"type":"page","userId":"u1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z"}, 3]"#;
    assert_eq!(assert_same(array, &settings).store.event_count(), 1);
    let pretty = b"\n\n{\n  \"type\": \"page\",\n  \"userId\": \"u1\",\n  \"messageId\": \"m1\",\n  \"timestamp\": \"2026-01-01T00:00:00Z\"\n}\n";
    assert_eq!(assert_same(pretty, &settings).store.event_count(), 1);
    let single_line_batch = br#"{"batch": [{"type":"page","userId":"u1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z"}]}"#;
    assert_eq!(
        assert_same(single_line_batch, &settings)
            .store
            .event_count(),
        1
    );
    let leading_blank = b"\n  \n{\"type\":\"page\"}\n{\"type\":\"page\",\"userId\":\"u\",\"messageId\":\"m\",\"timestamp\":\"2026-01-01T00:00:00Z\"}";
    let loaded = assert_same(leading_blank, &settings);
    assert_eq!(loaded.rejected[0].index, 3);
    assert_same(b"", &settings);
}

#[test]
fn lines_straddling_reader_buffers_are_read_whole() {
    let mut bytes = Vec::new();
    Generator::new(GeneratorConfig {
        events: 2_000,
        seed: 3,
        ..GeneratorConfig::default()
    })
    .write_to(&mut bytes)
    .expect("writing to memory");
    let settings = IdentitySettings::default();
    let expected = streamed(&bytes, &settings);
    for capacity in [7, 100, 4096] {
        let reader = std::io::BufReader::with_capacity(capacity, &bytes[..]);
        let loaded = pipeline::load(reader, &settings, SOURCE).expect("in memory");
        assert_eq!(loaded.resolution, expected.resolution);
        assert!(loaded.store == expected.store);
        assert_eq!(loaded.rejected, expected.rejected);
    }
}

fn property_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        Just(json!(9_007_199_254_740_993_u64)),
        Just(json!(-0.0)),
        "[a-zé ]{0,5}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            // Empty keys too: they are left out (`{"": {"a": 1}}` would spell the path `a`).
            prop::collection::btree_map("[a-c.B]{0,3}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Properties encoded straight from the message text give the store the full path builds
    /// from parsed objects: any nesting, key order, keys with dots, nulls, arrays, numbers.
    #[test]
    fn properties_read_from_text_build_the_same_store(
        props in proptest::collection::vec(property_value(), 1..8),
        shuffle in proptest::prelude::any::<bool>(),
    ) {
        let mut file = String::new();
        for (i, p) in props.iter().enumerate() {
            // Keys in the text in a different order than the store walks them.
            let mut text = serde_json::to_string(p).unwrap();
            if shuffle {
                if let Value::Object(m) = p {
                    let members: Vec<String> = m
                        .iter()
                        .rev()
                        .map(|(k, v)| format!("{}:{}", json!(k), v))
                        .collect();
                    text = format!("{{{}}}", members.join(","));
                }
            }
            file.push_str(&format!(
                "{{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u{}\",\"messageId\":\"m{i}\",\"timestamp\":\"2026-01-0{}T00:00:00Z\",\"properties\":{text}}}\n",
                i % 3,
                1 + i % 5
            ));
        }
        assert_same(file.as_bytes(), &IdentitySettings::default());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Re-deliveries settled after reading (one sort by `messageId` hash) keep what the full
    /// path's dedup keeps: the earliest copy, the first of equal times, whatever the arrival
    /// order; profiles, traits and the store follow the kept copy.
    #[test]
    fn redeliveries_keep_the_earliest_copy_in_any_arrival_order(
        copies in proptest::collection::vec((0u8..6, 0u8..3, 0u8..4, 0u8..3), 1..40),
    ) {
        let mut file = String::new();
        for (id, day, user, plan) in &copies {
            file.push_str(&format!(
                "{{\"type\":\"identify\",\"userId\":\"u{user}\",\"anonymousId\":\"a{id}\",\"messageId\":\"m{id}\",\"timestamp\":\"2026-01-0{}T00:00:00Z\",\"traits\":{{\"plan\":\"p{plan}\"}},\"properties\":{{\"copy\":{plan}}}}}\n",
                1 + day
            ));
        }
        let loaded = assert_same(file.as_bytes(), &IdentitySettings::default());
        let (_, duplicates) = ingest::dedup(ingest::read_file_bytes(file.as_bytes(), SOURCE).accepted);
        proptest::prop_assert_eq!(loaded.duplicates, duplicates);
        proptest::prop_assert_eq!(loaded.accepted, copies.len());
    }
}
