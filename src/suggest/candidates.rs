//! Candidate conditions drawn from the data's own statistics, each a condition of the segment
//! language with a family (what it is about, so a rule never combines two conditions on the
//! same thing) and a phrase for explanations.

use serde_json::{json, Value};

use super::stats::quantile;
use super::summary::{ActivityKind, DataSummary, PropertyStats};
use super::Goal;

/// Most frequent track events, page sections and screens considered.
const TOP_TRACKS: usize = 15;
const TOP_PAGES: usize = 12;
const TOP_SCREENS: usize = 8;
/// Activities whose properties are looked at, and values listed per property.
const TOP_PROPERTY_ACTIVITIES: usize = 10;
const TOP_VALUES: usize = 5;

/// One candidate condition.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// The condition, in the segment language.
    pub(crate) condition: Value,
    /// What the condition is about (`event:Product Viewed`, `trait:plan`, ...).
    pub(crate) family: String,
    /// How the condition reads in an explanation ("viewed pages under /pricing ...").
    pub(crate) phrase: String,
}

/// Every candidate condition for `goal`, in a fixed order. `min_support` drops thresholds too
/// strict to reach enough profiles (by the summary's count; the engine has the last word).
pub(crate) fn candidates(summary: &DataSummary, goal: &Goal, min_support: usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    let n = summary.profile_count;
    let largest = summary.windows.last();
    let (mut tracks, mut pages, mut screens) = (0, 0, 0);
    let mut property_activities = 0;
    for activity in &summary.activities {
        if activity.profiles < min_support {
            continue;
        }
        let seen = match &activity.kind {
            ActivityKind::Track(name) if goal.is_event(name) => continue,
            ActivityKind::Track(_) => &mut tracks,
            ActivityKind::PagePath(_) => &mut pages,
            ActivityKind::Screen(_) => &mut screens,
        };
        let limit = match &activity.kind {
            ActivityKind::Track(_) => TOP_TRACKS,
            ActivityKind::PagePath(_) => TOP_PAGES,
            ActivityKind::Screen(_) => TOP_SCREENS,
        };
        if *seen >= limit {
            continue;
        }
        *seen += 1;
        let family = family_of(&activity.kind);
        for (window, counts) in summary.windows.iter().zip(&activity.counts) {
            // Small counts people think in, plus the quantiles of this data.
            let max = counts.last().copied().unwrap_or(0);
            let mut ks: Vec<u32> = [0.5, 0.75, 0.9]
                .iter()
                .filter_map(|&q| quantile(counts, q))
                .chain([1, 2, 3, 5].into_iter().filter(|&k| k <= max))
                .map(|k| k.max(1))
                .collect();
            ks.sort_unstable();
            ks.dedup();
            for k in ks {
                let reach = counts.len() - counts.partition_point(|&c| c < k);
                if reach < min_support {
                    continue;
                }
                out.push(Candidate {
                    condition: activity_condition(&activity.kind, None, &window.text(), k),
                    family: family.clone(),
                    phrase: activity_phrase(&activity.kind, None, window.days, k),
                });
            }
        }
        if matches!(activity.kind, ActivityKind::PagePath(_)) {
            continue;
        }
        property_activities += 1;
        let Some(window) = largest.filter(|_| property_activities <= TOP_PROPERTY_ACTIVITIES)
        else {
            continue;
        };
        for property in &activity.properties {
            for (filter, text) in property_filters(property, min_support) {
                out.push(Candidate {
                    condition: activity_condition(&activity.kind, Some(filter), &window.text(), 1),
                    family: format!("{family}.{}", property.key),
                    phrase: activity_phrase(&activity.kind, Some(&text), window.days, 1),
                });
            }
        }
    }

    for t in &summary.traits {
        if t.present < min_support || goal.is_trait_related(&t.path) {
            continue;
        }
        let family = format!("trait:{}", t.path);
        let mut push = |condition: Value, phrase: String| {
            out.push(Candidate {
                condition,
                family: family.clone(),
                phrase,
            })
        };
        for (value, count) in t.categories.iter().take(8) {
            if *count >= min_support && *count < n {
                push(
                    json!({"trait": t.path, "op": "eq", "value": value}),
                    format!("{} is {}", t.path, show(value)),
                );
            }
        }
        if t.numbers.len() >= min_support {
            for (op, q) in [("gte", 0.5), ("gte", 0.75), ("gte", 0.9), ("lt", 0.25)] {
                let Some(x) = quantile(&t.numbers, q) else {
                    continue;
                };
                let passing = match op {
                    "gte" => t.numbers.len() - t.numbers.partition_point(|&v| v < x),
                    _ => t.numbers.partition_point(|&v| v < x),
                };
                if passing >= min_support && passing < t.numbers.len() {
                    let sign = if op == "gte" { "≥" } else { "<" };
                    push(
                        json!({"trait": t.path, "op": op, "value": x}),
                        format!("{} {sign} {}", t.path, show_number(x)),
                    );
                }
            }
        }
        if t.present * 20 <= n * 19 {
            push(
                json!({"trait": t.path, "op": "exists"}),
                format!("has a {}", t.path),
            );
        }
    }

    for (kind, count) in &summary.identifiers {
        if *count >= min_support && count * 20 <= n * 19 {
            out.push(Candidate {
                condition: json!({"has_identifier": kind}),
                family: format!("identifier:{kind}"),
                phrase: format!("has a known {kind}"),
            });
        }
    }

    // Last-seen recency is left out for event goals: reaching the goal is itself an event, so
    // "seen lately" would only restate the goal.
    let recency: &[(bool, &str, f64)] = if goal.is_trait() {
        &[
            (false, "after", 0.25),
            (false, "after", 0.5),
            (true, "after", 0.25),
            (true, "after", 0.5),
        ]
    } else {
        &[(false, "after", 0.25), (false, "after", 0.5)]
    };
    for &(last, op, q) in recency {
        let Some(days) = summary.age_days(last, q) else {
            continue;
        };
        let key = if last { "last_seen" } else { "first_seen" };
        out.push(Candidate {
            condition: json!({ key: { op: format!("{days}d") } }),
            family: key.to_owned(),
            phrase: format!(
                "{} in the last {}",
                if last { "seen" } else { "first seen" },
                days_text(days)
            ),
        });
    }
    out
}

/// Filters on one property of an activity's events, with their phrase.
fn property_filters(property: &PropertyStats, min_support: usize) -> Vec<(Value, String)> {
    let key = &property.key;
    let lower = key.to_ascii_lowercase();
    if lower == "id" || lower.ends_with("_id") || lower.ends_with("id") && lower.len() > 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (value, count) in property.categories.iter().take(TOP_VALUES) {
        if *count >= min_support {
            out.push((
                json!({"property": key, "op": "eq", "value": value}),
                format!("{key} = {}", show(value)),
            ));
        }
    }
    if property.numbers.len() >= min_support {
        let mut last = None;
        for q in [0.75, 0.9] {
            let x = quantile(&property.numbers, q);
            if x.is_some() && x != last && x > property.numbers.first().copied() {
                if let Some(x) = x {
                    out.push((
                        json!({"property": key, "op": "gte", "value": x}),
                        format!("{key} ≥ {}", show_number(x)),
                    ));
                }
            }
            last = x;
        }
    }
    out
}

/// The condition "did this activity at least `k` times within `window`".
pub(crate) fn activity_condition(
    kind: &ActivityKind,
    filter: Option<Value>,
    window: &str,
    k: u32,
) -> Value {
    let mut c = serde_json::Map::new();
    let mut filters: Vec<Value> = Vec::new();
    match kind {
        ActivityKind::Track(name) => {
            c.insert("event".into(), name.as_str().into());
        }
        ActivityKind::Screen(name) => {
            c.insert("event".into(), name.as_str().into());
            c.insert("call".into(), "screen".into());
        }
        ActivityKind::PagePath(prefix) => {
            c.insert("event".into(), "*".into());
            c.insert("call".into(), "page".into());
            filters.push(json!({"property": "path", "op": "starts_with", "value": prefix}));
        }
    }
    filters.extend(filter);
    if !filters.is_empty() {
        c.insert("where".into(), Value::Array(filters));
    }
    c.insert("within".into(), window.into());
    c.insert("count".into(), json!({ "gte": k }));
    Value::Object(c)
}

fn activity_phrase(kind: &ActivityKind, filter: Option<&str>, days: i64, k: u32) -> String {
    let what = match kind {
        ActivityKind::Track(name) => format!("did {name}"),
        ActivityKind::Screen(name) => format!("viewed the {name} screen"),
        ActivityKind::PagePath(prefix) => format!("viewed {prefix}"),
    };
    let with = filter.map(|f| format!(" with {f}")).unwrap_or_default();
    let times = match k {
        1 => String::new(),
        k => format!(" at least {k} times"),
    };
    format!("{what}{with}{times} in {}", days_text(days))
}

fn family_of(kind: &ActivityKind) -> String {
    match kind {
        ActivityKind::Track(name) => format!("event:{name}"),
        ActivityKind::Screen(name) => format!("screen:{name}"),
        ActivityKind::PagePath(prefix) => format!("page:{prefix}"),
    }
}

/// `7 days`, `1 day`.
pub(crate) fn days_text(days: i64) -> String {
    if days == 1 {
        "1 day".into()
    } else {
        format!("{days} days")
    }
}

/// A scalar as a reader expects it: strings bare, others as JSON.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number without a trailing `.0`.
pub(crate) fn show_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
