//! Activation through its public API, driven by the shared fixtures in
//! `tests/fixtures/activation/`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tessera::activation::csv::{diff, ColumnSpec, CsvExport};
use tessera::activation::meta::{
    cell, normalize, profile_row, sha256_hex, MetaBatches, MetaKey, MetaSchema, MAX_ROWS_PER_BATCH,
};
use tessera::activation::webhook::{
    idempotency_key, plan_sync, sign, verify_signature, webhook_body, Delivery, RetryDecision,
    RetryPolicy, SyncMode, SyncState,
};
use tessera::identity::Profile;
use tessera::Timestamp;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/activation/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn profile_from(v: &Value) -> Profile {
    let mut identifiers = BTreeMap::new();
    for (kind, values) in v["identifiers"].as_object().unwrap() {
        let set: BTreeSet<String> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        identifiers.insert(kind.clone(), set);
    }
    Profile {
        id: v["id"].as_str().unwrap().to_owned(),
        identifiers,
        traits: v["traits"].as_object().unwrap().clone(),
        event_count: 1,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
    }
}

fn profile(id: &str, identifiers: &[(&str, &str)], traits: Value) -> Profile {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, v) in identifiers {
        map.entry((*k).to_owned())
            .or_default()
            .insert((*v).to_owned());
    }
    Profile {
        id: id.to_owned(),
        identifiers: map,
        traits: traits.as_object().cloned().unwrap_or_default(),
        event_count: 1,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
    }
}

#[test]
fn csv_export_matches_the_fixture_byte_for_byte() {
    let f = fixture("csv_export.json");
    let columns = ColumnSpec::parse(f["columns"].as_str().unwrap()).unwrap();
    let profiles: Vec<Profile> = f["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(profile_from)
        .collect();
    let mut export = CsvExport::new(Vec::new(), &columns).unwrap();
    for p in &profiles {
        export.write_profile(p).unwrap();
    }
    assert_eq!(export.rows(), 3);
    let bytes = export.finish().unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        f["csv"].as_str().unwrap()
    );
}

#[test]
fn csv_rows_parse_back_with_the_same_field_count() {
    let f = fixture("csv_export.json");
    let columns = ColumnSpec::parse(f["columns"].as_str().unwrap()).unwrap();
    let profiles: Vec<Profile> = f["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(profile_from)
        .collect();
    let mut out = Vec::new();
    let rows = tessera::activation::csv::write_csv(&mut out, &columns, &profiles).unwrap();
    assert_eq!(rows, 3);
    let mut reader = csv::ReaderBuilder::new().from_reader(&out[..]);
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "profile_id");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(records.iter().all(|r| r.len() == header.len()));
    assert_eq!(&records[0][7], "line1\r\nline2");
    assert_eq!(&records[1][5], "'=1+2");
}

#[test]
fn every_injection_prefix_is_neutralized_in_every_kind_of_cell() {
    let columns = ColumnSpec::parse("user_id,t").unwrap();
    for prefix in ["=", "+", "-", "@", "\t", "\r"] {
        let value = format!("{prefix}SUM(A1)");
        let p = profile(
            "p_1",
            &[("user_id", &value)],
            serde_json::json!({"t": value}),
        );
        let mut export = CsvExport::new(Vec::new(), &columns).unwrap();
        export.write_profile(&p).unwrap();
        let text = String::from_utf8(export.finish().unwrap()).unwrap();
        let row = text.split_once("\r\n").unwrap().1;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[1], format!("'{value}"), "{prefix:?}");
        assert_eq!(&record[2], format!("'{value}"), "{prefix:?}");
    }
    // A negative number is guarded too; a positive one is not touched.
    let p = profile("p_1", &[], serde_json::json!({"t": -5}));
    let columns = ColumnSpec::parse("t").unwrap();
    let mut out = Vec::new();
    tessera::activation::csv::write_csv(&mut out, &columns, [&p]).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "profile_id,t\r\np_1,'-5\r\n"
    );
}

#[test]
fn column_spec_errors_name_the_column() {
    for (text, code, path) in [
        ("email,,plan", "empty_column", "columns[1]"),
        ("email,email", "duplicate_column", "columns[1]"),
        ("profile_id", "duplicate_column", "columns[0]"),
        ("address..city", "invalid_column", "columns[0]"),
        ("identifiers.", "invalid_column", "columns[0]"),
    ] {
        let err = ColumnSpec::parse(text).unwrap_err();
        assert_eq!((err.code(), err.path.as_str()), (code, path), "{text}");
    }
    let spec = ColumnSpec::parse("").unwrap();
    assert_eq!(spec.header().collect::<Vec<_>>(), ["profile_id"]);
}

#[test]
fn diff_gives_added_and_removed() {
    let before = ["p_1", "p_2", "p_4", "p_5"];
    let after = ["p_2", "p_3", "p_5", "p_6", "p_7"];
    let d = diff(&before, &after).unwrap();
    assert_eq!(d.added, ["p_3", "p_6", "p_7"]);
    assert_eq!(d.removed, ["p_1", "p_4"]);
    let err = diff(&["b", "a"], &after).unwrap_err();
    assert_eq!(
        (err.code(), err.path.as_str()),
        ("unsorted_input", "before[1]")
    );
    let empty: [&str; 0] = [];
    assert_eq!(diff(&empty, &empty).unwrap().added.len(), 0);
}

#[test]
fn meta_normalization_matches_the_fixture() {
    let f = fixture("meta_normalization.json");
    assert_eq!(sha256_hex("test"), f["sha256_of_test"].as_str().unwrap());
    assert_eq!(
        sha256_hex("test"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    for case in f["cases"].as_array().unwrap() {
        let key = MetaKey::from_name(case["key"].as_str().unwrap()).unwrap();
        let raw = case["raw"].as_str().unwrap();
        let country = case["country"].as_str();
        if case.get("note").is_none() {
            assert_eq!(
                normalize(key, raw, country).as_deref(),
                case["normalized"].as_str(),
                "{case}"
            );
        }
        assert_eq!(
            cell(key, raw, country),
            case["cell"].as_str().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn meta_schema_errors() {
    let err = MetaSchema::parse("EMAIL,PHONEE").unwrap_err();
    assert_eq!(
        (err.code(), err.path.as_str()),
        ("unknown_meta_key", "schema[1]")
    );
    let err = MetaSchema::parse("EMAIL, EMAIL").unwrap_err();
    assert_eq!(err.code(), "duplicate_meta_key");
    assert_eq!(MetaSchema::parse(" ").unwrap_err().code(), "empty_schema");
    assert_eq!(
        MetaSchema::parse("email").unwrap_err().code(),
        "unknown_meta_key"
    );
    let schema = MetaSchema::parse(
        "EMAIL,PHONE,FN,LN,FI,GEN,DOBY,DOBM,DOBD,CT,ST,ZIP,COUNTRY,EXTERN_ID,MADID",
    )
    .unwrap();
    assert_eq!(schema.keys().len(), 15);
}

#[test]
fn meta_row_takes_each_key_from_its_documented_source() {
    let schema = MetaSchema::parse(
        "EMAIL,PHONE,FN,LN,FI,GEN,DOBY,DOBM,DOBD,CT,ST,ZIP,COUNTRY,EXTERN_ID,MADID",
    )
    .unwrap();
    let p = profile(
        "p_1",
        &[
            ("email", "b@example.com"),
            ("email", "a@example.com"),
            ("phone", "+1 415 555 0132"),
            ("user_id", "usr_42"),
            ("madid", "AEBE52E7-03EE-455A-B3C4-E57283966239"),
        ],
        serde_json::json!({
            "name": "Ana María O'Neil",
            "gender": "Female",
            "birthday": "1988-07-03",
            "address": {"city": "San Francisco", "state": "California", "postal_code": "94107-1234", "country": "United States"}
        }),
    );
    let row = profile_row(&schema, &p).unwrap();
    let expect = [
        sha256_hex("a@example.com"),
        sha256_hex("14155550132"),
        sha256_hex("ana"),
        sha256_hex("maría oneil"),
        sha256_hex("a"),
        sha256_hex("f"),
        sha256_hex("1988"),
        sha256_hex("07"),
        sha256_hex("03"),
        sha256_hex("sanfrancisco"),
        sha256_hex("ca"),
        sha256_hex("94107"),
        sha256_hex("us"),
        "usr_42".to_owned(),
        "aebe52e7-03ee-455a-b3c4-e57283966239".to_owned(),
    ];
    assert_eq!(row, expect);
    // No data at all: no row.
    assert!(profile_row(&schema, &profile("p_2", &[], serde_json::json!({}))).is_none());
}

fn email_profiles(n: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| {
            let email = format!("user{i}@example.com");
            profile(
                &format!("p_{i:016x}"),
                &[("email", &email)],
                serde_json::json!({}),
            )
        })
        .collect()
}

#[test]
fn meta_batches_of_exactly_ten_thousand_and_one_more() {
    let schema = MetaSchema::parse("EMAIL").unwrap();
    let profiles = email_profiles(MAX_ROWS_PER_BATCH);
    let batches: Vec<_> = MetaBatches::new(schema.clone(), profiles.iter(), 7, 10_000).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].payload.data.len(), 10_000);
    assert_eq!(batches[0].session.batch_seq, 1);
    assert!(batches[0].session.last_batch_flag);

    let profiles = email_profiles(MAX_ROWS_PER_BATCH + 1);
    let batches: Vec<_> = MetaBatches::new(schema.clone(), profiles.iter(), 7, 10_001).collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        (batches[0].payload.data.len(), batches[1].payload.data.len()),
        (10_000, 1)
    );
    assert_eq!(
        (batches[0].session.batch_seq, batches[1].session.batch_seq),
        (1, 2)
    );
    assert!(!batches[0].session.last_batch_flag && batches[1].session.last_batch_flag);
    assert_eq!(
        batches[1].payload.data[0][0],
        sha256_hex("user10000@example.com")
    );

    let json = serde_json::to_value(&batches[1]).unwrap();
    assert_eq!(json["payload"]["schema"], serde_json::json!(["EMAIL"]));
    assert_eq!(json["session"]["session_id"], 7);
    assert_eq!(json["session"]["estimated_num_total"], 10_001);

    let none: Vec<Profile> = Vec::new();
    assert_eq!(MetaBatches::new(schema, none.iter(), 7, 0).count(), 0);
}

#[test]
fn webhook_signature_matches_the_fixture_and_rejects_tampering() {
    let f = fixture("webhook_signature.json");
    let secret = f["secret"].as_str().unwrap().as_bytes();
    let body = f["body"].as_str().unwrap().as_bytes();
    let signature = f["signature"].as_str().unwrap();
    assert_eq!(sign(body, secret), signature);
    assert!(verify_signature(body, secret, signature));
    assert!(!verify_signature(b"{}", secret, signature));
    assert!(!verify_signature(body, b"other", signature));
    for bad in f["rejected"].as_array().unwrap() {
        assert!(
            !verify_signature(body, secret, bad.as_str().unwrap()),
            "{bad}"
        );
    }
    // The body builder writes the contract's shape.
    let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
    let added = [serde_json::json!({"profile_id": "p_0000000000000001"})];
    let built = webhook_body("repeat_buyers", now, &added, &[]);
    assert_eq!(built, body);
}

#[test]
fn idempotency_keys_are_stable_and_distinct() {
    let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
    let k = idempotency_key("crm", "vip", now, 0);
    assert_eq!(k, idempotency_key("crm", "vip", now, 0));
    assert_ne!(k, idempotency_key("crm", "vip", now, 1));
    assert_ne!(k, idempotency_key("crm2", "vip", now, 0));
    assert_ne!(k, idempotency_key("crm", "vip", Timestamp(now.0 + 1), 0));
    // Length-prefixed parts: moving a character between parts changes the key.
    assert_ne!(
        idempotency_key("ab", "c", now, 0),
        idempotency_key("a", "bc", now, 0)
    );
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

fn batches_json(plan: &tessera::activation::webhook::SyncPlan) -> Value {
    Value::Array(
        plan.batches
            .iter()
            .map(|b| serde_json::json!({"added": b.added, "removed": b.removed}))
            .collect(),
    )
}

#[test]
fn sync_resumes_without_loss_or_duplication() {
    let f = fixture("sync_scenario.json");
    let size = f["batch_size"].as_u64().unwrap() as usize;
    let mut state = SyncState {
        acknowledged: ids(&f["acknowledged"]).into_iter().collect(),
    };
    let t1 = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
    let current = ids(&f["first"]["current"]);

    let add = plan_sync("crm", "vip", t1, &state, &current, SyncMode::Add, size).unwrap();
    assert_eq!(batches_json(&add), f["first"]["add_batches"]);

    let plan = plan_sync("crm", "vip", t1, &state, &current, SyncMode::Mirror, size).unwrap();
    assert_eq!(batches_json(&plan), f["first"]["mirror_batches"]);
    let acked: Vec<u64> = f["first"]["acknowledged_batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    for b in &plan.batches {
        if acked.contains(&u64::from(b.index)) {
            state.acknowledge(b);
        }
    }
    // Replanning the same snapshot reproduces the unacknowledged batch with its key.
    let again = plan_sync("crm", "vip", t1, &state, &current, SyncMode::Mirror, size).unwrap();
    assert_eq!(again.batches.len(), 1);
    assert_eq!(again.batches[0].added, plan.batches[2].added);

    let t2 = Timestamp(t1.0 + 3_600_000);
    let second = ids(&f["second"]["current"]);
    let resumed = plan_sync("crm", "vip", t2, &state, &second, SyncMode::Mirror, size).unwrap();
    assert_eq!(batches_json(&resumed), f["second"]["mirror_batches"]);
    for b in &resumed.batches {
        state.acknowledge(b);
    }
    // After everything is acknowledged the destination mirrors the audience exactly.
    assert_eq!(
        state.acknowledged.iter().cloned().collect::<Vec<_>>(),
        second
    );
    let idle = plan_sync("crm", "vip", t2, &state, &second, SyncMode::Mirror, size).unwrap();
    assert!(idle.batches.is_empty());
}

#[test]
fn sync_plan_rejects_bad_input() {
    let state = SyncState::default();
    let t = Timestamp(0);
    let unsorted = vec!["b".to_owned(), "a".to_owned()];
    let err = plan_sync("d", "a", t, &state, &unsorted, SyncMode::Add, 10).unwrap_err();
    assert_eq!(
        (err.code(), err.path.as_str()),
        ("unsorted_input", "current[1]")
    );
    let err = plan_sync("d", "a", t, &state, &[], SyncMode::Add, 0).unwrap_err();
    assert_eq!(err.code(), "invalid_batch_size");
}

#[test]
fn retry_policy_table() {
    let f = fixture("retry_policy.json");
    let p = &f["policy"];
    for seed in [0, 1, 99] {
        let policy = RetryPolicy {
            max_attempts: p["max_attempts"].as_u64().unwrap() as u32,
            base_delay_ms: p["base_delay_ms"].as_u64().unwrap(),
            max_delay_ms: p["max_delay_ms"].as_u64().unwrap(),
            seed,
        };
        for case in f["cases"].as_array().unwrap() {
            let attempt = case["attempt"].as_u64().unwrap() as u32;
            let outcome = match &case["outcome"] {
                Value::String(_) => Delivery::NetworkError,
                v => Delivery::Response {
                    status: v.as_u64().unwrap() as u16,
                    retry_after_ms: case["retry_after_ms"].as_u64(),
                },
            };
            let decision = policy.decide(attempt, outcome);
            match case["decision"].as_str().unwrap() {
                "delivered" => assert_eq!(decision, RetryDecision::Delivered, "{case}"),
                "give_up" => assert_eq!(decision, RetryDecision::GiveUp, "{case}"),
                _ => {
                    let RetryDecision::RetryAfter(ms) = decision else {
                        panic!("{case}: {decision:?}");
                    };
                    let (lo, hi) = (
                        case["min_delay_ms"].as_u64().unwrap(),
                        case["max_delay_ms"].as_u64().unwrap(),
                    );
                    assert!((lo..=hi).contains(&ms), "{case}: {ms}");
                    assert_eq!(decision, policy.decide(attempt, outcome), "deterministic");
                }
            }
        }
    }
    // Different seeds spread the retries of many clients.
    let delays: Vec<_> = (0..20)
        .map(|seed| {
            RetryPolicy {
                seed,
                ..RetryPolicy::default()
            }
            .decide(3, Delivery::NetworkError)
        })
        .collect();
    let distinct: BTreeSet<String> = delays.iter().map(|d| format!("{d:?}")).collect();
    assert!(distinct.len() > 5);
}
