//! Identity resolution through the public API: the shared fixture corpus
//! (`tests/fixtures/identity/`, also read by the JS tests) and order-independence properties.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Value};
use tessera::event::Object;
use tessera::identity::{
    profile_id_for, resolve, resolve_with, Added, IdentityGraph, IdentitySettings, Profile,
    Resolution, Suppression,
};
use tessera::{CallType, Event, Timestamp};

/// Turns a fixture message into an event (fixtures are valid messages with a `messageId` and a
/// `timestamp`; ids may be numbers).
fn event(m: &Value) -> Event {
    let text = |key: &str| match m.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let object = |key: &str| {
        m.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let call = CallType::from_name(m["type"].as_str().expect("type")).expect("call type");
    Event {
        message_id: text("messageId").expect("messageId"),
        call,
        name: text("event").or_else(|| text("name")),
        user_id: text("userId"),
        anonymous_id: text("anonymousId"),
        previous_id: text("previousId"),
        group_id: text("groupId"),
        time: Timestamp::parse(m["timestamp"].as_str().expect("timestamp")).expect("time"),
        received_at: None,
        properties: object("properties"),
        traits: object("traits"),
        context: object("context"),
        integrations: object("integrations"),
    }
}

fn events(v: Option<&Value>) -> Vec<Event> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(event).collect())
        .unwrap_or_default()
}

type Partition = BTreeSet<BTreeMap<String, BTreeSet<String>>>;

fn partition(profiles: &[Profile]) -> Partition {
    profiles.iter().map(|p| p.identifiers.clone()).collect()
}

fn identifiers_of(v: &Value) -> BTreeMap<String, BTreeSet<String>> {
    serde_json::from_value(v.clone()).expect("identifiers")
}

/// Applies a fixture's actions on the batch path: deletions remove events and suppress
/// identifiers, removals suppress.
fn batch_path(case: &Value, settings: &IdentitySettings) -> (Resolution, Vec<String>) {
    let mut current = events(case.get("events"));
    let mut suppressed = Suppression::new();
    let mut deleted = Vec::new();
    for action in case["actions"].as_array().into_iter().flatten() {
        if let Some(target) = action.get("delete_profile") {
            let res = resolve_with(&current, settings, &suppressed);
            let holder = res
                .profile_by_identifier(
                    target["type"].as_str().unwrap(),
                    target["value"].as_str().unwrap(),
                )
                .expect("profile to delete")
                .id
                .clone();
            let d = res.deletion(&current, &holder).expect("deletion");
            current.retain(|e| !d.message_ids.contains(&e.message_id));
            suppressed.extend(d.identifiers);
            deleted.extend(d.message_ids);
        }
        if let Some(target) = action.get("remove_identifier") {
            suppressed.insert(
                tessera::identity::Identifier::normalized(
                    target["type"].as_str().unwrap(),
                    target["value"].as_str().unwrap(),
                )
                .expect("identifier"),
            );
        }
    }
    current.extend(events(case.get("events_after")));
    (resolve_with(&current, settings, &suppressed), deleted)
}

/// The same fixture through the incremental graph, events added in reverse file order.
fn graph_path(case: &Value, settings: &IdentitySettings) -> (IdentityGraph, Vec<String>) {
    let mut graph = IdentityGraph::new(settings);
    let mut deleted = Vec::new();
    for e in events(case.get("events")).iter().rev() {
        assert_eq!(graph.add(e), Added::New);
    }
    for action in case["actions"].as_array().into_iter().flatten() {
        if let Some(target) = action.get("delete_profile") {
            let id = graph
                .profile_by_identifier(
                    target["type"].as_str().unwrap(),
                    target["value"].as_str().unwrap(),
                )
                .expect("profile to delete")
                .id;
            deleted.extend(graph.delete_profile(&id).expect("deleted").message_ids);
        }
        if let Some(target) = action.get("remove_identifier") {
            assert!(graph.remove_identifier(
                target["type"].as_str().unwrap(),
                target["value"].as_str().unwrap()
            ));
        }
    }
    graph.add_batch(&events(case.get("events_after")));
    (graph, deleted)
}

fn check_case(name: &str, case: &Value) {
    let settings = case
        .get("settings")
        .map(|s| IdentitySettings::from_value(s).expect("settings"))
        .unwrap_or_default();
    let expected = &case["expected"];
    let (batch, batch_deleted) = batch_path(case, &settings);
    let (mut graph, graph_deleted) = graph_path(case, &settings);
    let incremental = graph.resolution();
    assert_eq!(
        batch.profiles, incremental.profiles,
        "{name}: batch vs graph"
    );
    assert_eq!(batch.unresolved(), graph.unresolved(), "{name}");
    assert_eq!(batch_deleted, graph_deleted, "{name}");

    let want: Partition = expected["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| identifiers_of(&p["identifiers"]))
        .collect();
    assert_eq!(partition(&batch.profiles), want, "{name}: partition");
    assert_eq!(
        Some(batch.unresolved()),
        expected["unresolved"].as_u64(),
        "{name}: unresolved"
    );
    for p in expected["profiles"].as_array().unwrap() {
        let ids = identifiers_of(&p["identifiers"]);
        let got = batch
            .profiles
            .iter()
            .find(|q| q.identifiers == ids)
            .unwrap();
        if let Some(id) = p.get("id") {
            assert_eq!(got.id, id.as_str().unwrap(), "{name}: id of {ids:?}");
        }
        if let Some(traits) = p.get("traits") {
            assert_eq!(&Value::Object(got.traits.clone()), traits, "{name}: traits");
        }
        if let Some(n) = p.get("event_count") {
            assert_eq!(Some(got.event_count), n.as_u64(), "{name}: event_count");
        }
        for (key, t) in [("first_seen", got.first_seen), ("last_seen", got.last_seen)] {
            if let Some(want) = p.get(key) {
                assert_eq!(t.to_string(), want.as_str().unwrap(), "{name}: {key}");
            }
        }
    }
    if let Some(want) = expected.get("deleted_message_ids") {
        let want: Vec<String> = serde_json::from_value(want.clone()).unwrap();
        assert_eq!(batch_deleted, want, "{name}: deleted");
    }
    for (old, new) in expected["redirects"].as_object().into_iter().flatten() {
        assert_eq!(graph.redirect(old).as_deref(), new.as_str(), "{name}");
        assert_eq!(graph.profile(old).map(|p| p.id).as_deref(), new.as_str());
    }
    for b in expected["blocked"].as_array().into_iter().flatten() {
        let mid = b["message_id"].as_str().unwrap();
        let pid = graph
            .profile_id_of_message(mid)
            .expect("blocked event resolved");
        let explanation = graph.explain(&pid).expect("explanation");
        let found = explanation.blocked.iter().any(|x| {
            x.message_id == mid
                && x.dropped.kind == b["dropped"]["type"].as_str().unwrap()
                && x.dropped.value == b["dropped"]["value"].as_str().unwrap()
                && b["over_limit"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| x.over_limit.iter().any(|o| o.kind == t.as_str().unwrap()))
        });
        assert!(found, "{name}: blocked {b} not in {explanation:#?}");
        assert!(explanation.to_string().contains("was kept out of"));
    }
    // Explanations leave the graph unchanged.
    assert_eq!(graph.resolution().profiles, batch.profiles, "{name}");
}

#[test]
fn fixture_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/identity");
    let mut seen = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        check_case(&path.display().to_string(), &case);
        seen += 1;
    }
    assert!(seen >= 15, "fixture corpus missing: {seen}");
}

fn msg(id: &str, call: &str, t: i64, extra: Value) -> Event {
    let mut m = json!({"type": call, "messageId": id,
        "timestamp": Timestamp(1_767_225_600_000 + t * 1000).to_string()});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    event(&m)
}

#[test]
fn explanation_names_the_joining_event() {
    let events = [
        msg(
            "m-1",
            "track",
            1,
            json!({"anonymousId": "a1", "event": "x"}),
        ),
        msg(
            "m-123",
            "identify",
            2,
            json!({"anonymousId": "a1", "userId": "42", "traits": {"email": "a@x.com"}}),
        ),
        msg(
            "m-3",
            "identify",
            3,
            json!({"anonymousId": "a1", "userId": "43"}),
        ),
    ];
    let mut graph = IdentityGraph::from_events(&events, &IdentitySettings::default());
    let id = profile_id_for("anonymous_id", "a1");
    let ex = graph.explain(&id).unwrap();
    let text = ex.to_string();
    assert!(
        text.contains("user_id 42, email a@x.com joined anonymous_id a1 through identify m-123 at 2026-01-01T00:00:02.000Z"),
        "{text}"
    );
    assert!(text.contains("anonymous_id a1 (held by"), "{text}");
    assert_eq!(ex.blocked.len(), 1);
    assert_eq!(ex.blocked[0].over_limit[0].kind, "user_id");
    assert_eq!(ex.blocked[0].over_limit[0].values, 2);
    assert_eq!(ex.to_json()["steps"][1]["added"][0]["type"], "user_id");
    // The event that lost the device belongs to user 43's own profile, whose explanation also
    // shows the block.
    let other = graph.profile_id_of_message("m-3").unwrap();
    assert_eq!(other, profile_id_for("user_id", "43"));
    assert_eq!(graph.explain(&other).unwrap().blocked.len(), 1);
    assert!(graph.explain("p_0000000000000000").is_none());
}

#[test]
fn settings_errors_have_codes_and_paths() {
    for (text, code, path) in [
        ("[]", "not_an_object", ""),
        ("{", "invalid_json", ""),
        (
            r#"{"priorities": "email"}"#,
            "invalid_priorities",
            "priorities",
        ),
        (
            r#"{"priorities": ["email", 3]}"#,
            "invalid_type_name",
            "priorities[1]",
        ),
        (
            r#"{"priorities": ["email", " email "]}"#,
            "duplicate_priority",
            "priorities[1]",
        ),
        (r#"{"limits": []}"#, "invalid_limits", "limits"),
        (
            r#"{"limits": {"email": 0}}"#,
            "invalid_limit",
            "limits.email",
        ),
        (
            r#"{"limits": {"email": 2.5}}"#,
            "invalid_limit",
            "limits.email",
        ),
        (
            r#"{"limits": {"phone": -1}}"#,
            "invalid_limit",
            "limits.phone",
        ),
        (r#"{"limit": {}}"#, "unknown_field", "limit"),
    ] {
        let err = IdentitySettings::from_json(text).unwrap_err();
        assert_eq!((err.code, err.path.as_str()), (code, path), "{text}");
    }
    let s =
        IdentitySettings::from_json(r#"{"priorities": ["phone"], "limits": {"idfa": 2}}"#).unwrap();
    assert_eq!(
        (s.limit("idfa"), s.limit("user_id"), s.limit("x")),
        (2, 1, 5)
    );
    assert_eq!(s.limit("anonymous_id"), 100);
}

#[test]
fn redelivery_and_earlier_duplicates() {
    let settings = IdentitySettings::default();
    let a = msg(
        "m-1",
        "identify",
        5,
        json!({"userId": "u1", "traits": {"v": 1}}),
    );
    let earlier = msg(
        "m-1",
        "identify",
        1,
        json!({"userId": "u2", "traits": {"v": 2}}),
    );
    let mut graph = IdentityGraph::new(&settings);
    assert_eq!(graph.add(&a), Added::New);
    assert_eq!(graph.add(&a), Added::Duplicate);
    assert_eq!(graph.add(&earlier), Added::Replaced);
    assert_eq!(graph.add(&a), Added::Duplicate);
    let res = graph.resolution();
    assert_eq!(res.profiles.len(), 1);
    assert!(res.profiles[0].holds("user_id", "u2"));
    // The batch path applies the same dedup rule whatever the slice order.
    for events in [
        vec![a.clone(), earlier.clone()],
        vec![earlier.clone(), a.clone()],
    ] {
        let batch = resolve(&events, &settings);
        assert_eq!(batch.profiles, res.profiles);
        assert_eq!(batch.event_profile, vec![Some(0), Some(0)]);
    }
}

#[test]
fn lookups_by_identifier_and_message() {
    let events = [msg(
        "m-1",
        "identify",
        1,
        json!({"userId": "u1", "traits": {"email": "Ann@X.com"}}),
    )];
    let graph = IdentityGraph::from_events(&events, &IdentitySettings::default());
    let p = graph.profile_by_identifier("email", "  ANN@x.com").unwrap();
    assert_eq!(p.id, profile_id_for("user_id", "u1"));
    assert!(graph
        .profile_by_identifier("email", "other@x.com")
        .is_none());
    assert_eq!(graph.profile_id_of_message("m-1"), Some(p.id.clone()));
    let res = resolve(&events, &IdentitySettings::default());
    assert_eq!(res.profile_by_identifier("email", "ann@x.com"), Some(&p));
    assert_eq!(res.profile(&p.id), Some(&p));
    assert_eq!(p.to_json()["identifiers"]["email"], json!(["ann@x.com"]));
}

// ---- properties -------------------------------------------------------------------------

/// A small random world: few identifiers, few distinct times, so conflicts, merges, ties and
/// late events are common.
fn arb_event(i: usize) -> impl Strategy<Value = Event> {
    let user = prop::option::of(prop::sample::select(vec!["u0", "u1", "u2", "null"]));
    let anon = prop::option::of(prop::sample::select(vec!["a0", "a1", "a2", "a3", "a4"]));
    let email = prop::option::of(prop::sample::select(vec!["e0@x", "E0@x", "e1@x"]));
    let call = prop::sample::select(vec!["identify", "track", "alias", "page"]);
    let traits = prop::collection::btree_map(
        prop::sample::select(vec!["plan", "name", "age"]),
        prop::option::of(0..3i64),
        0..3,
    );
    let prev = prop::sample::select(vec!["u0", "u1", "a0", "a1", "zz"]);
    (user, anon, email, call, traits, prev, 0..6i64).prop_map(
        move |(user, anon, email, call, traits, prev, t)| {
            let mut m = json!({"event": "x"});
            let o = m.as_object_mut().unwrap();
            let traits: Object = traits
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.map_or(Value::Null, Value::from)))
                .collect();
            if call == "alias" {
                o.insert("previousId".into(), prev.into());
                o.insert("userId".into(), user.unwrap_or("u2").into());
            } else {
                if let Some(u) = user {
                    o.insert("userId".into(), u.into());
                }
                if let Some(a) = anon {
                    o.insert("anonymousId".into(), a.into());
                }
            }
            let mut ctx = Object::new();
            let mut own = traits.clone();
            if let Some(e) = email {
                own.insert("email".into(), e.into());
            }
            if call == "identify" {
                o.insert("traits".into(), Value::Object(own));
            } else {
                ctx.insert("traits".into(), Value::Object(own));
            }
            o.insert("context".into(), Value::Object(ctx));
            msg(&format!("m-{i:02}"), call, t, m)
        },
    )
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    (1..24usize).prop_flat_map(|n| (0..n).map(arb_event).collect::<Vec<_>>())
}

fn arb_settings() -> impl Strategy<Value = IdentitySettings> {
    (1..3u32, 1..4u32, 1..3u32, any::<bool>()).prop_map(|(u, e, a, swap)| {
        let mut s = IdentitySettings::default();
        s.limits.insert("user_id".into(), u);
        s.limits.insert("email".into(), e);
        s.limits.insert("anonymous_id".into(), a);
        if swap {
            s.priorities = vec!["email".into(), "anonymous_id".into()];
        }
        s
    })
}

fn permute<T: Clone>(items: &[T], keys: &[u32]) -> Vec<T> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_by_key(|&i| keys.get(i).copied().unwrap_or(0));
    idx.into_iter().map(|i| items[i].clone()).collect()
}

/// `arrival` cut into deliveries of the sizes in `chunks`, taken in turn.
fn deliveries<'a>(arrival: &'a [Event], chunks: &'a [usize]) -> impl Iterator<Item = &'a [Event]> {
    let mut sizes = chunks.iter().cycle();
    let mut rest = arrival;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (delivery, after) = rest.split_at((*sizes.next()?).min(rest.len()));
        rest = after;
        Some(delivery)
    })
}

/// One delivery as the edge makes it: a lone event through `add`, more through `add_batch`.
fn deliver(graph: &mut IdentityGraph, delivery: &[Event]) {
    match delivery {
        [one] => {
            graph.add(one);
        }
        many => {
            graph.add_batch(many);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_shuffle_gives_identical_profiles(
        events in arb_events(),
        settings in arb_settings(),
        keys in prop::collection::vec(any::<u32>(), 24),
    ) {
        let base = resolve(&events, &settings);
        let shuffled = permute(&events, &keys);
        let other = resolve(&shuffled, &settings);
        prop_assert_eq!(&base.profiles, &other.profiles);
        prop_assert_eq!(base.unresolved(), other.unresolved());
    }

    #[test]
    fn delivering_an_event_twice_changes_nothing(
        events in arb_events(),
        settings in arb_settings(),
        pick in any::<prop::sample::Index>(),
        keys in prop::collection::vec(any::<u32>(), 25),
    ) {
        let base = resolve(&events, &settings);
        let mut twice = events.clone();
        twice.push(events[pick.index(events.len())].clone());
        let twice = permute(&twice, &keys);
        prop_assert_eq!(&resolve(&twice, &settings).profiles, &base.profiles);
        let mut graph = IdentityGraph::new(&settings);
        for e in &twice {
            graph.add(e);
        }
        prop_assert_eq!(&graph.resolution().profiles, &base.profiles);
    }

    #[test]
    fn batch_and_incremental_agree(
        events in arb_events(),
        settings in arb_settings(),
        keys in prop::collection::vec(any::<u32>(), 24),
        chunks in prop::collection::vec(1..5usize, 24),
    ) {
        let base = resolve(&events, &settings);
        let arrival = permute(&events, &keys);
        // Mixed delivery: single events and batches, late events included.
        let mut graph = IdentityGraph::new(&settings);
        let mut seen = 0;
        for delivery in deliveries(&arrival, &chunks) {
            deliver(&mut graph, delivery);
            seen += delivery.len();
            // Every prefix agrees with the batch answer for the events seen so far.
            let prefix = resolve(&arrival[..seen], &settings);
            prop_assert_eq!(&graph.resolution().profiles, &prefix.profiles);
        }
        let res = graph.resolution();
        prop_assert_eq!(&res.profiles, &base.profiles);
        prop_assert_eq!(graph.unresolved(), base.unresolved());
        for p in &base.profiles {
            let found = graph.profile(&p.id);
            prop_assert_eq!(found.as_ref(), Some(p));
        }
    }

    /// Late events that only repeat identifiers their profile already holds (re-sent page
    /// views, an app's offline queue) are attached without a replay: the answer must still be
    /// the batch one, whatever the arrival order.
    #[test]
    fn late_repeats_of_known_identifiers_agree_with_the_batch(
        events in arb_events(),
        settings in arb_settings(),
        echoes in prop::collection::vec((any::<prop::sample::Index>(), -3..6i64), 1..16),
        keys in prop::collection::vec(any::<u32>(), 40),
        chunks in prop::collection::vec(1..4usize, 40),
    ) {
        let mut all = events.clone();
        for (i, (pick, shift)) in echoes.iter().enumerate() {
            let mut echo = events[pick.index(events.len())].clone();
            if echo.call == CallType::Alias {
                continue;
            }
            echo.message_id = format!("echo-{i:02}");
            echo.call = CallType::Page;
            echo.time = Timestamp(echo.time.millis() + shift * 1000);
            all.push(echo);
        }
        let base = resolve(&all, &settings);
        let arrival = permute(&all, &keys);
        let mut graph = IdentityGraph::new(&settings);
        for delivery in deliveries(&arrival, &chunks) {
            deliver(&mut graph, delivery);
        }
        prop_assert_eq!(&graph.resolution().profiles, &base.profiles);
        prop_assert_eq!(graph.unresolved(), base.unresolved());
    }

    #[test]
    fn removing_an_identifier_equals_blocking_it_from_the_start(
        events in arb_events(),
        settings in arb_settings(),
        which in prop::sample::select(vec![("anonymous_id", "a0"), ("user_id", "u1"), ("email", "e0@x")]),
    ) {
        let mut graph = IdentityGraph::from_events(&events, &settings);
        graph.remove_identifier(which.0, which.1);
        let mut suppressed = Suppression::new();
        suppressed.insert(tessera::identity::Identifier::new(which.0, which.1));
        let batch = resolve_with(&events, &settings, &suppressed);
        prop_assert_eq!(&graph.resolution().profiles, &batch.profiles);
        prop_assert!(batch.profile_by_identifier(which.0, which.1).is_none());
    }

    #[test]
    fn deleting_a_profile_equals_resolving_without_it(
        events in arb_events(),
        settings in arb_settings(),
        pick in any::<prop::sample::Index>(),
    ) {
        let base = resolve(&events, &settings);
        prop_assume!(!base.profiles.is_empty());
        let victim = base.profiles[pick.index(base.profiles.len())].id.clone();
        let d = base.deletion(&events, &victim).unwrap();
        let kept: Vec<Event> = events.iter().filter(|e| !d.message_ids.contains(&e.message_id)).cloned().collect();
        let suppressed: Suppression = d.identifiers.iter().cloned().collect();
        let batch = resolve_with(&kept, &settings, &suppressed);
        let mut graph = IdentityGraph::from_events(&events, &settings);
        let gd = graph.delete_profile(&victim).unwrap();
        prop_assert_eq!(&gd, &d);
        prop_assert_eq!(&graph.resolution().profiles, &batch.profiles);
        prop_assert!(batch.profiles.iter().all(|p| p.id != victim));
        // Re-delivering a deleted event is ignored.
        for e in events.iter().filter(|e| d.message_ids.contains(&e.message_id)) {
            prop_assert_eq!(graph.add(e), Added::Duplicate);
        }
    }
}

#[test]
fn explanation_of_a_merge_names_the_merged_profile_and_redirects() {
    let events = [
        msg(
            "m-1",
            "track",
            1,
            json!({"anonymousId": "a1", "event": "x"}),
        ),
        msg(
            "m-2",
            "identify",
            2,
            json!({"anonymousId": "a2", "traits": {"email": "e@x.com"}}),
        ),
        msg(
            "m-3",
            "identify",
            3,
            json!({"anonymousId": "a1", "userId": "42", "traits": {"email": "e@x.com"}}),
        ),
    ];
    let mut graph = IdentityGraph::from_events(&events, &IdentitySettings::default());
    let old = profile_id_for("email", "e@x.com");
    let current = profile_id_for("anonymous_id", "a1");
    let ex = graph.explain(&old).unwrap();
    assert_eq!(
        (ex.profile_id.as_str(), ex.requested_id.as_str()),
        (current.as_str(), old.as_str())
    );
    let merge = ex.steps.iter().find(|s| s.message_id == "m-3").unwrap();
    assert_eq!(merge.merged, vec![old.clone()]);
    assert_eq!(merge.into, current);
    assert_eq!(merge.joined.as_ref().map(|j| j.value.as_str()), Some("a1"));
    assert!(ex.to_string().contains("which redirects here"));
    assert_eq!(ex.identifiers.len(), 4);
}
