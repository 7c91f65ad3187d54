//! Standard lifecycle audiences (new, active, at risk, lapsed, high value) with thresholds taken
//! from the data's own quantiles, each explained.

use serde_json::{json, Value};

use super::candidates::{days_text, show_number};
use super::stats::quantile;
use super::summary::{DataSummary, REVENUE_KEYS};
use super::{Goal, SuggestOptions};

/// One lifecycle audience before the engine sizes it.
pub(crate) struct Stage {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) condition: Value,
    pub(crate) explanation: String,
}

/// The lifecycle audiences the data supports.
pub(crate) fn stages(summary: &DataSummary, options: &SuggestOptions) -> Vec<Stage> {
    let mut out = Vec::new();
    if let Some(d) = summary.age_days(false, 0.2) {
        out.push(Stage {
            kind: "new",
            name: "New".into(),
            condition: json!({"first_seen": {"after": format!("{d}d")}}),
            explanation: format!(
                "First seen in the last {}: the newest fifth of profiles (20th percentile of \
                 time since first seen, rounded up to whole days)",
                days_text(d)
            ),
        });
    }
    let active = summary.age_days(true, 0.5);
    let lapsing = summary.age_days(true, 0.8);
    if let Some(a) = active {
        out.push(Stage {
            kind: "active",
            name: "Active".into(),
            condition: json!({"last_seen": {"after": format!("{a}d")}}),
            explanation: format!(
                "Seen in the last {}: the more recently seen half of profiles (median time \
                 since last seen)",
                days_text(a)
            ),
        });
    }
    if let (Some(a), Some(l)) = (active, lapsing) {
        if l > a {
            out.push(Stage {
                kind: "at_risk",
                name: "At risk".into(),
                condition: json!({"last_seen": {"before": format!("{a}d"), "after": format!("{l}d")}}),
                explanation: format!(
                    "Last seen between {} and {} ago: past the median time since last seen, \
                     not yet past the 80th percentile",
                    days_text(a),
                    days_text(l)
                ),
            });
        }
    }
    if let Some(l) = lapsing {
        out.push(Stage {
            kind: "lapsed",
            name: "Lapsed".into(),
            condition: json!({"last_seen": {"before": format!("{l}d")}}),
            explanation: format!(
                "Not seen for more than {}: the least recently seen fifth of profiles (80th \
                 percentile of time since last seen)",
                days_text(l)
            ),
        });
    }
    if let Some((event, property, sums)) = revenue_source(summary, options) {
        if let Some(q) = quantile(sums, 0.9) {
            out.push(Stage {
                kind: "high_value",
                name: "High value".into(),
                condition: json!({"event": event, "sum": {"property": property, "gte": q}}),
                explanation: format!(
                    "Total {property} of {event} at least {}: the top tenth of the {} profiles \
                     with any (90th percentile of per-profile totals)",
                    show_number(q),
                    sums.len()
                ),
            });
        }
    }
    out
}

/// The per-profile money sums to rank value by: the given `(event, property)`, else a
/// money-like property of the goal event, of `Order Completed`, or of whichever event has one
/// on most profiles.
fn revenue_source<'a>(
    summary: &'a DataSummary,
    options: &'a SuggestOptions,
) -> Option<(&'a str, &'a str, &'a [f64])> {
    let sums = &summary.value_sums;
    let find = |event: &str| {
        REVENUE_KEYS.iter().find_map(|key| {
            sums.iter()
                .find(|s| s.event == event && s.property == *key && !s.sums.is_empty())
        })
    };
    let pick = if let Some((event, property)) = &options.revenue {
        sums.iter()
            .find(|s| &s.event == event && &s.property == property)
    } else {
        let goal_event = match &options.goal {
            Goal::Event(name) => find(name),
            Goal::Trait { .. } => None,
        };
        goal_event.or_else(|| find("Order Completed")).or_else(|| {
            sums.iter()
                .filter(|s| s.property == "revenue")
                .max_by(|a, b| a.sums.len().cmp(&b.sums.len()).then(b.event.cmp(&a.event)))
        })
    };
    pick.map(|s| (s.event.as_str(), s.property.as_str(), s.sums.as_slice()))
}
