//! A small deterministic shop: profiles that browse pages, view products, use features and
//! sometimes complete orders. With `planted`, profiles that viewed /pricing at least three times
//! in the last week complete orders five times as often as the rest; without it, orders do not
//! depend on anything.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde_json::{json, Map, Value};
use tessera::event::{CallType, Event};
use tessera::identity::{Profile, Resolution};
use tessera::time::Timestamp;

pub const DAY: i64 = 86_400_000;

/// 2026-03-01T00:00:00Z.
pub fn now() -> Timestamp {
    Timestamp(1_772_323_200_000)
}

pub struct Shop {
    pub events: Vec<Event>,
    pub resolution: Resolution,
}

pub struct Plan {
    pub profiles: usize,
    /// Planted: /pricing at least 3 times in 7 days converts at 5x.
    pub pricing_pattern: bool,
    /// Planted: heavy "Feature Used" profiles are on the pro plan far more often.
    pub pro_pattern: bool,
    pub seed: u64,
}

pub fn make(plan: &Plan) -> Shop {
    let mut rng = Pcg64::seed_from_u64(plan.seed);
    let now = now().0;
    let mut events = Vec::new();
    let mut event_profile = Vec::new();
    let mut profiles = Vec::new();
    let pages = [
        "/",
        "/docs/start",
        "/docs/api",
        "/blog/a",
        "/blog/b",
        "/features",
        "/about",
    ];
    for i in 0..plan.profiles {
        let user = format!("u{i:05}");
        let mut mine: Vec<Event> = Vec::new();
        let mut add = |call: CallType, name: Option<&str>, t: i64, props: Value| {
            let n = mine.len();
            let properties = match props {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            mine.push(Event {
                message_id: format!("{user}-{n}"),
                call,
                name: name.map(str::to_owned),
                user_id: Some(user.clone()),
                anonymous_id: None,
                previous_id: None,
                group_id: None,
                time: Timestamp(t),
                received_at: None,
                properties,
                traits: Map::new(),
                context: Map::new(),
                integrations: Map::new(),
            });
        };
        let heavy = rng.gen_bool(0.25);
        let pro = if plan.pro_pattern {
            rng.gen_bool(if heavy { 0.6 } else { 0.08 })
        } else {
            rng.gen_bool(0.15)
        };
        let plan_name = if pro {
            "pro"
        } else if rng.gen_bool(0.3) {
            "team"
        } else {
            "free"
        };
        let mut traits = Map::new();
        traits.insert("plan".into(), plan_name.into());
        traits.insert("seats".into(), rng.gen_range(1..50).into());
        traits.insert(
            "company".into(),
            format!("c{}", rng.gen_range(0..200)).into(),
        );
        let joined = now - rng.gen_range(DAY..60 * DAY);
        let when = |rng: &mut Pcg64, from: i64| rng.gen_range(from..now);
        for _ in 0..rng.gen_range(3..15) {
            let path = pages[rng.gen_range(0..pages.len())];
            let t = when(&mut rng, joined);
            add(CallType::Page, None, t, json!({"path": path}));
        }
        // Everyone may glance at pricing once or twice, any time.
        for _ in 0..rng.gen_range(0..3) {
            let t = when(&mut rng, joined);
            add(CallType::Page, None, t, json!({"path": "/pricing"}));
        }
        let curious = rng.gen_bool(0.2);
        if curious {
            for _ in 0..rng.gen_range(3..6) {
                let t = when(&mut rng, (now - 7 * DAY + 1).max(joined));
                add(CallType::Page, None, t, json!({"path": "/pricing/plans"}));
            }
        }
        let categories = ["shoes", "hats", "bags"];
        for _ in 0..rng.gen_range(0..10) {
            let t = when(&mut rng, joined);
            let category = categories[rng.gen_range(0..3)];
            let price = rng.gen_range(5..300);
            add(
                CallType::Track,
                Some("Product Viewed"),
                t,
                json!({"category": category, "price": price}),
            );
        }
        let uses = if plan.pro_pattern && heavy {
            rng.gen_range(8..16)
        } else {
            rng.gen_range(0..6)
        };
        for _ in 0..uses {
            let t = when(&mut rng, (now - 30 * DAY).max(joined));
            add(CallType::Track, Some("Feature Used"), t, json!({}));
        }
        for _ in 0..rng.gen_range(0..3) {
            let t = when(&mut rng, joined);
            add(CallType::Track, Some("Newsletter Opened"), t, json!({}));
        }
        let rate = match (plan.pricing_pattern, curious) {
            (true, true) => 0.45,
            (true, false) => 0.09,
            (false, _) => 0.15,
        };
        if rng.gen_bool(rate) {
            let t = when(&mut rng, (now - 30 * DAY + 1).max(joined));
            let revenue = rng.gen_range(20..400);
            add(
                CallType::Track,
                Some("Order Completed"),
                t,
                json!({"revenue": revenue}),
            );
        }
        if rng.gen_bool(0.05) {
            let t = rng.gen_range(joined.min(now - 31 * DAY)..now - 30 * DAY);
            add(
                CallType::Track,
                Some("Order Completed"),
                t,
                json!({"revenue": 50}),
            );
        }
        let first = mine.iter().map(|e| e.time).min().unwrap_or(Timestamp(now));
        let last = mine.iter().map(|e| e.time).max().unwrap_or(Timestamp(now));
        profiles.push(Profile {
            id: format!("p_{i:016x}"),
            identifiers: BTreeMap::from([("user_id".into(), BTreeSet::from([user.clone()]))]),
            traits,
            event_count: mine.len() as u64,
            first_seen: first,
            last_seen: last,
        });
        event_profile.extend(std::iter::repeat_n(Some(i as u32), mine.len()));
        events.extend(mine);
    }
    Shop {
        events,
        resolution: Resolution {
            profiles,
            event_profile,
        },
    }
}
