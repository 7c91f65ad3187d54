//! Audience suggestions, end to end: planted patterns are found, pattern-free data claims no
//! large lift, and every figure reported is what an evaluator gives the suggested definition.

#[path = "support/reference.rs"]
mod reference;
#[path = "support/shop.rs"]
mod shop;

use serde_json::{json, Value};
use tessera::suggest::{
    suggest, AudienceSource, DataSummary, Goal, Report, SourceError, SuggestError, SuggestOptions,
};
use tessera::time::Timestamp;

use reference::Reference;
use shop::{make, now, Plan, Shop};

fn run(shop: &Shop, goal: &str) -> Report {
    let options = SuggestOptions::new(Goal::parse(goal).unwrap(), "30d", now()).unwrap();
    let summary = DataSummary::build(&shop.events, &shop.resolution, now(), 30, None);
    let source = Reference::new(&shop.events, &shop.resolution);
    suggest(&source, &summary, &options).unwrap()
}

fn planted() -> Shop {
    make(&Plan {
        profiles: 2000,
        pricing_pattern: true,
        pro_pattern: false,
        seed: 7,
    })
}

fn mentions(value: &Value, text: &str) -> bool {
    value.to_string().contains(text)
}

#[test]
fn finds_the_planted_pricing_pattern_among_the_top_three() {
    let shop = planted();
    let report = run(&shop, "event:Order Completed");
    let top: Vec<_> = report.suggestions.iter().take(3).collect();
    for s in &report.suggestions {
        println!("{} | {} | {}", s.explanation, s.size, s.lift_lower);
    }
    let found = top
        .iter()
        .find(|s| mentions(&s.segment["condition"], "/pricing"))
        .unwrap_or_else(|| panic!("no /pricing rule in the top 3: {top:#?}"));
    assert!(found.lift > 2.5, "{found:#?}");
    assert!(
        found.explanation.contains("/pricing"),
        "{}",
        found.explanation
    );
    assert!(found
        .explanation
        .contains("the usual rate of Order Completed"));
}

#[test]
fn reported_sizes_are_the_evaluated_sizes() {
    let shop = planted();
    let report = run(&shop, "event:Order Completed");
    assert!(!report.suggestions.is_empty());
    let source = Reference::new(&shop.events, &shop.resolution);
    let goal = source.evaluate(&report.goal.condition, now()).unwrap();
    assert_eq!(report.goal.reached, goal.len());
    assert_eq!(report.goal.profiles, 2000);
    for s in &report.suggestions {
        let members = source.evaluate(&s.segment["condition"], now()).unwrap();
        assert_eq!(s.size, members.len(), "{}", s.segment);
        let hits = members
            .iter()
            .filter(|m| goal.binary_search(m).is_ok())
            .count();
        assert_eq!(s.reached, hits);
        assert!(s.size >= 30, "minimum support: 30 profiles");
        assert!((s.rate - hits as f64 / members.len() as f64).abs() < 1e-12);
        assert!(s.lift_lower <= s.lift && s.lift_lower > 1.0);
        // Editable: a segment document with the keys of the language.
        let keys: Vec<&str> = s
            .segment
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["condition", "description", "id", "name"]);
        // The goal never predicts itself.
        assert!(
            !mentions(&s.segment["condition"], "Order Completed"),
            "{}",
            s.segment
        );
    }
    let mut all: Vec<_> = report.lifecycle.iter().collect();
    all.extend(report.lookalike.iter());
    assert!(all.len() >= 5, "{all:#?}");
    for a in all {
        let members = source.evaluate(&a.segment["condition"], now()).unwrap();
        assert_eq!(a.size, members.len(), "{}", a.segment);
    }
}

#[test]
fn lookalikes_match_the_best_rules_and_exclude_converted_profiles() {
    let shop = planted();
    let report = run(&shop, "event:Order Completed");
    let look = report.lookalike.as_ref().expect("a lookalike audience");
    let source = Reference::new(&shop.events, &shop.resolution);
    let members = source.evaluate(&look.segment["condition"], now()).unwrap();
    let goal = source.evaluate(&report.goal.condition, now()).unwrap();
    assert!(members.iter().all(|m| goal.binary_search(m).is_err()));
    assert!(look.size > 0);
    let best = source
        .evaluate(&report.suggestions[0].segment["condition"], now())
        .unwrap();
    let best_not_converted = best
        .iter()
        .filter(|m| goal.binary_search(m).is_err())
        .count();
    assert!(look.size >= best_not_converted);
}

#[test]
fn data_without_a_pattern_claims_no_large_lift() {
    for seed in [1, 2, 3] {
        let shop = make(&Plan {
            profiles: 2000,
            pricing_pattern: false,
            pro_pattern: false,
            seed,
        });
        let report = run(&shop, "event:Order Completed");
        for s in &report.suggestions {
            assert!(s.lift < 1.5, "seed {seed}: {s:#?}");
        }
    }
}

#[test]
fn trait_goals_find_behaviour_and_never_use_the_goal_trait() {
    let shop = make(&Plan {
        profiles: 2000,
        pricing_pattern: false,
        pro_pattern: true,
        seed: 11,
    });
    let report = run(&shop, "trait:plan=pro");
    assert_eq!(
        report.goal.condition,
        json!({"trait": "plan", "op": "eq", "value": "pro"})
    );
    let best = report.suggestions.first().expect("a suggestion");
    assert!(
        mentions(&best.segment["condition"], "Feature Used"),
        "{best:#?}"
    );
    assert!(best.lift > 2.0);
    for s in &report.suggestions {
        assert!(
            !mentions(&s.segment["condition"], "\"plan\""),
            "{}",
            s.segment
        );
    }
}

#[test]
fn the_same_input_gives_the_same_report() {
    let shop = planted();
    let a = serde_json::to_string(&run(&shop, "event:Order Completed")).unwrap();
    let b = serde_json::to_string(&run(&shop, "event:Order Completed")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn lifecycle_thresholds_come_from_the_data() {
    let shop = planted();
    let report = run(&shop, "event:Order Completed");
    let kinds: Vec<&str> = report.lifecycle.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["new", "active", "at_risk", "lapsed", "high_value"]);
    let high = &report.lifecycle[4];
    assert_eq!(high.segment["condition"]["event"], json!("Order Completed"));
    assert_eq!(
        high.segment["condition"]["sum"]["property"],
        json!("revenue")
    );
    assert!(high.explanation.contains("90th percentile"));
    let buyers = shop
        .resolution
        .profiles
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            shop.events
                .iter()
                .zip(&shop.resolution.event_profile)
                .any(|(e, p)| *p == Some(*i as u32) && e.name.as_deref() == Some("Order Completed"))
        })
        .count();
    // The top tenth of buyers, give or take ties at the threshold.
    assert!(high.size * 10 >= buyers.saturating_sub(10) && high.size * 10 <= buyers + 30);
    let new = &report.lifecycle[0];
    assert!(
        new.size * 5 >= 2000 / 2 && new.size * 5 <= 2000 * 2,
        "{new:#?}"
    );
}

#[test]
fn goals_and_horizons_are_parsed_strictly() {
    assert_eq!(
        Goal::parse("event:Order Completed").unwrap(),
        Goal::Event("Order Completed".into())
    );
    assert_eq!(
        Goal::parse("trait:plan=pro").unwrap(),
        Goal::Trait {
            path: "plan".into(),
            value: json!("pro")
        }
    );
    assert_eq!(
        Goal::parse("trait:account.vip=true")
            .unwrap()
            .condition("30d")["value"],
        json!(true)
    );
    assert_eq!(
        Goal::parse("trait:score=12.5").unwrap().condition("30d")["value"],
        json!(12.5)
    );
    for bad in [
        "Order Completed",
        "event:",
        "trait:plan",
        "trait:=pro",
        "trait:a..b=1",
    ] {
        let err = Goal::parse(bad).unwrap_err();
        assert_eq!((err.code(), err.path()), ("bad_goal", "goal"), "{bad}");
    }
    let goal = Goal::parse("event:Signed Up").unwrap();
    let err = SuggestOptions::new(goal, "30 days", now()).unwrap_err();
    assert_eq!((err.code(), err.path()), ("bad_duration", "horizon"));
}

/// An engine that refuses everything: its error must come through, not a silent empty answer.
struct Refusing;

impl AudienceSource for Refusing {
    fn profile_count(&self) -> usize {
        3
    }
    fn evaluate(&self, _: &Value, _: Timestamp) -> Result<Vec<u32>, SourceError> {
        Err(SourceError {
            code: "unknown_condition".into(),
            path: "condition".into(),
        })
    }
}

/// An engine that answers an index it does not have.
struct OutOfRange;

impl AudienceSource for OutOfRange {
    fn profile_count(&self) -> usize {
        3
    }
    fn evaluate(&self, _: &Value, _: Timestamp) -> Result<Vec<u32>, SourceError> {
        Ok(vec![0, 3])
    }
}

#[test]
fn engine_errors_are_reported_with_their_code() {
    let shop = planted();
    let summary = DataSummary::build(&shop.events, &shop.resolution, now(), 30, None);
    let options =
        SuggestOptions::new(Goal::parse("event:Order Completed").unwrap(), "30d", now()).unwrap();
    let err = suggest(&Refusing, &summary, &options).unwrap_err();
    assert_eq!((err.code(), err.path()), ("engine_error", "condition"));
    let err = suggest(&OutOfRange, &summary, &options).unwrap_err();
    assert_eq!(err, SuggestError::MemberOutOfRange { index: 3, count: 3 });
}

#[test]
fn a_goal_nobody_reached_gives_no_suggestions_but_still_lifecycle() {
    let shop = planted();
    let report = run(&shop, "event:Never Happens");
    assert_eq!(report.goal.reached, 0);
    assert!(report.suggestions.is_empty() && report.lookalike.is_none());
    assert!(!report.lifecycle.is_empty());
}

/// The whole product path: generated traffic with the planted pattern, through ingestion,
/// identity resolution and the real segment store, with the store as the engine.
#[test]
fn the_real_engine_finds_the_generators_planted_pattern() {
    use tessera::gen::{Generator, GeneratorConfig};
    use tessera::identity::{resolve, IdentitySettings};
    use tessera::ingest::{self, Source};
    use tessera::segment::{SavedSegments, Segment, Store};

    let mut bytes = Vec::new();
    Generator::new(GeneratorConfig {
        events: 80_000,
        seed: 3,
        planted: true,
        ..GeneratorConfig::default()
    })
    .write_to(&mut bytes)
    .unwrap();
    let outcome = ingest::read_file_bytes(&bytes, Source::File { derive_ids: false });
    let (events, _) = ingest::dedup(outcome.accepted);
    let resolution = resolve(&events, &IdentitySettings::default());
    let store = Store::build(&events, &resolution);
    let now = events.iter().map(|e| e.time).max().unwrap();

    let options =
        SuggestOptions::new(Goal::parse("event:Order Completed").unwrap(), "30d", now).unwrap();
    let summary = DataSummary::build(&events, &resolution, now, 30, None);
    let report = suggest(&store, &summary, &options).unwrap();

    let top: Vec<_> = report.suggestions.iter().take(3).collect();
    assert!(
        top.iter()
            .any(|s| mentions(&s.segment["condition"], "/pricing") && s.lift > 2.0),
        "no /pricing rule with a real lift in the top 3: {top:#?}"
    );
    for s in &report.suggestions {
        let segment = Segment::parse(&s.segment, &SavedSegments::new()).unwrap();
        assert_eq!(
            store.evaluate(&segment, now).count(),
            s.size,
            "{}",
            s.explanation
        );
    }
}

/// The browser loads a snapshot, not events: suggestions from the snapshot's store must be the
/// very report the events give (same audiences, sizes, lifts, explanations, lifecycle), and each
/// size must be what the snapshot-loaded engine evaluates.
#[test]
fn a_snapshot_suggests_exactly_what_its_events_suggest() {
    use tessera::segment::{SavedSegments, Segment, Store};

    for (shop, goal, revenue) in [
        (planted(), "event:Order Completed", None),
        (
            make(&Plan {
                profiles: 1500,
                pricing_pattern: false,
                pro_pattern: true,
                seed: 11,
            }),
            "trait:plan=pro",
            Some(("Order Completed", "revenue")),
        ),
    ] {
        let mut options = SuggestOptions::new(Goal::parse(goal).unwrap(), "30d", now()).unwrap();
        options.revenue = revenue.map(|(e, p): (&str, &str)| (e.to_owned(), p.to_owned()));
        let days = options.horizon_days();

        let from_events = {
            let summary = DataSummary::build(&shop.events, &shop.resolution, now(), days, revenue);
            let store = Store::build(&shop.events, &shop.resolution);
            suggest(&store, &summary, &options).unwrap()
        };
        let bytes = Store::build(&shop.events, &shop.resolution).to_bytes();
        let loaded = Store::from_bytes(&bytes).unwrap();
        let summary = DataSummary::from_store(&loaded, now(), days, revenue);
        let from_snapshot = suggest(&loaded, &summary, &options).unwrap();

        assert!(!from_events.suggestions.is_empty(), "{goal}");
        assert!(from_events.lifecycle.len() >= 4, "{goal}");
        assert_eq!(
            serde_json::to_value(&from_snapshot).unwrap(),
            serde_json::to_value(&from_events).unwrap(),
            "{goal}"
        );
        let mut audiences: Vec<(&Value, usize)> = from_snapshot
            .suggestions
            .iter()
            .map(|s| (&s.segment, s.size))
            .collect();
        audiences.extend(from_snapshot.lifecycle.iter().map(|a| (&a.segment, a.size)));
        audiences.extend(from_snapshot.lookalike.iter().map(|a| (&a.segment, a.size)));
        for (segment, size) in audiences {
            let parsed = Segment::parse(segment, &SavedSegments::new()).unwrap();
            assert_eq!(loaded.evaluate(&parsed, now()).count(), size, "{segment}");
        }
    }
}

/// A summary read at an earlier `now` ignores later events, as the engine does: the report at
/// `now` equals the report over only the events up to `now`.
#[test]
fn the_store_summary_ignores_events_after_now() {
    use tessera::segment::Store;

    let shop = planted();
    let earlier = Timestamp(now().0 - 5 * shop::DAY);
    let options = SuggestOptions::new(
        Goal::parse("event:Order Completed").unwrap(),
        "30d",
        earlier,
    )
    .unwrap();
    let report = |events: &[tessera::event::Event], resolution| {
        let store = Store::build(events, resolution);
        let summary = DataSummary::from_store(&store, earlier, 30, None);
        serde_json::to_value(suggest(&store, &summary, &options).unwrap()).unwrap()
    };
    let all = report(&shop.events, &shop.resolution);
    let mut cut = shop.resolution.clone();
    let kept: Vec<_> = shop
        .events
        .iter()
        .zip(&shop.resolution.event_profile)
        .filter(|(e, _)| e.time <= earlier)
        .map(|(e, p)| (e.clone(), *p))
        .collect();
    cut.event_profile = kept.iter().map(|(_, p)| *p).collect();
    let events: Vec<_> = kept.into_iter().map(|(e, _)| e).collect();
    assert!(events.len() < shop.events.len());
    assert_eq!(report(&events, &cut), all);
}
