//! What the data looks like, in the few numbers candidate conditions are drawn from: which
//! events, pages and screens are frequent, how often profiles do them, which property and trait
//! values are common, how recent profiles are. Only thresholds come from here; membership always
//! comes from the segment engine.

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::event::{CallType, Event};
use crate::identity::Resolution;
use crate::time::Timestamp;

use super::stats::quantile;

const DAY_MS: i64 = 86_400_000;
/// Most distinct values a property or trait may take and still give `eq` candidates.
const MAX_CATEGORIES: usize = 30;
/// Property names that usually hold money, in order of preference.
pub(crate) const REVENUE_KEYS: [&str; 5] = ["revenue", "total", "value", "amount", "price"];

/// An event window used by candidate conditions, such as `7d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Whole days.
    pub(crate) days: i64,
}

impl Window {
    /// The duration text of the definition language.
    pub(crate) fn text(&self) -> String {
        format!("{}d", self.days)
    }
    fn millis(&self) -> i64 {
        self.days * DAY_MS
    }
}

/// What a behavioural candidate counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ActivityKind {
    /// A track event by name.
    Track(String),
    /// A screen call by name.
    Screen(String),
    /// Page calls whose `properties.path` starts with this prefix (its first path segment).
    PagePath(String),
}

/// One property of an activity.
#[derive(Clone, Debug, Default)]
pub(crate) struct PropertyStats {
    /// The property name (top-level key of `properties`).
    pub(crate) key: String,
    /// Common string or boolean values with their event counts, most frequent first; empty when
    /// the property takes too many values to list.
    pub(crate) categories: Vec<(Value, usize)>,
    /// Every numeric value seen, sorted.
    pub(crate) numbers: Vec<f64>,
    too_many: bool,
    index: FxHashMap<String, usize>,
}

impl PropertyStats {
    fn add(&mut self, value: &Value) {
        match value {
            Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    self.numbers.push(x);
                }
            }
            Value::String(_) | Value::Bool(_) if !self.too_many => {
                let key = value.to_string();
                if let Some(&i) = self.index.get(&key) {
                    self.categories[i].1 += 1;
                } else if self.categories.len() < MAX_CATEGORIES {
                    self.index.insert(key, self.categories.len());
                    self.categories.push((value.clone(), 1));
                } else {
                    self.too_many = true;
                    self.categories.clear();
                    self.index.clear();
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.numbers.sort_by(f64::total_cmp);
        self.categories.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
        self.index = FxHashMap::default();
    }
}

/// How profiles do one activity.
#[derive(Clone, Debug)]
pub(crate) struct Activity {
    /// What is counted.
    pub(crate) kind: ActivityKind,
    /// Profiles with at least one such event at or before `now`.
    pub(crate) profiles: usize,
    /// For each window of [`DataSummary::windows`], the per-profile event counts within it
    /// (profiles with none left out), sorted.
    pub(crate) counts: Vec<Vec<u32>>,
    /// Properties of the activity's events (track and screen only), by name.
    pub(crate) properties: Vec<PropertyStats>,
}

/// One trait (a dot path into profile traits).
#[derive(Clone, Debug, Default)]
pub(crate) struct TraitStats {
    /// The dot path.
    pub(crate) path: String,
    /// Profiles where the trait is present and not null.
    pub(crate) present: usize,
    /// Common string or boolean values with their profile counts (empty when too many).
    pub(crate) categories: Vec<(Value, usize)>,
    /// Numeric values, sorted.
    pub(crate) numbers: Vec<f64>,
    inner: PropertyStats,
}

/// Per-profile sums of a numeric property of a track event: the base of high-value audiences.
#[derive(Clone, Debug)]
pub(crate) struct ValueSums {
    /// The track event name.
    pub(crate) event: String,
    /// The numeric property.
    pub(crate) property: String,
    /// Per-profile sums over every such event at or before `now` (profiles with no value left
    /// out), sorted.
    pub(crate) sums: Vec<f64>,
}

/// A statistical summary of events and profiles at a time `now`, from which candidate
/// conditions and lifecycle thresholds are drawn.
#[derive(Clone, Debug)]
pub struct DataSummary {
    pub(crate) now: Timestamp,
    pub(crate) profile_count: usize,
    pub(crate) windows: Vec<Window>,
    pub(crate) activities: Vec<Activity>,
    pub(crate) traits: Vec<TraitStats>,
    pub(crate) identifiers: Vec<(String, usize)>,
    /// Milliseconds from each profile's first event to `now`, sorted (profiles seen by `now`).
    pub(crate) first_seen_age: Vec<i64>,
    /// Milliseconds from each profile's last event to `now`, sorted.
    pub(crate) last_seen_age: Vec<i64>,
    pub(crate) value_sums: Vec<ValueSums>,
}

impl DataSummary {
    /// Summarizes `events` as resolved into profiles by `resolution`, as they stand at `now`
    /// (later events are ignored, as the segment engine ignores them). `horizon` joins the
    /// standard 7, 30 and 90 day windows; `revenue` names an extra `(event, property)` to sum
    /// for high-value audiences.
    pub fn build(
        events: &[Event],
        resolution: &Resolution,
        now: Timestamp,
        horizon_days: i64,
        revenue: Option<(&str, &str)>,
    ) -> DataSummary {
        let visible = || {
            events
                .iter()
                .zip(&resolution.event_profile)
                .filter_map(|(e, p)| p.map(|p| (e, p)))
                .filter(|(e, _)| e.time <= now)
        };
        let earliest = visible().map(|(e, _)| e.time).min().unwrap_or(now);
        let windows = choose_windows(now.0 - earliest.0, horizon_days);
        let profile_count = resolution.profiles.len();

        let mut kinds: Vec<ActivityKind> = Vec::new();
        let mut kind_ids: FxHashMap<(CallType, &str), u32> = FxHashMap::default();
        let mut counts: FxHashMap<(u32, u32), [u32; 8]> = FxHashMap::default();
        let mut properties: FxHashMap<(u32, &str), PropertyStats> = FxHashMap::default();
        let mut sums: FxHashMap<(&str, &str, u32), f64> = FxHashMap::default();
        let mut first = vec![i64::MAX; profile_count];
        let mut last = vec![i64::MIN; profile_count];

        for (event, profile) in visible() {
            let p = profile as usize;
            if p >= profile_count {
                continue;
            }
            first[p] = first[p].min(event.time.0);
            last[p] = last[p].max(event.time.0);
            let Some(key) = activity_key(event) else {
                continue;
            };
            let next = kinds.len() as u32;
            let id = *kind_ids.entry(key).or_insert_with(|| {
                kinds.push(match key {
                    (CallType::Screen, name) => ActivityKind::Screen(name.to_owned()),
                    (CallType::Page, prefix) => ActivityKind::PagePath(prefix.to_owned()),
                    (_, name) => ActivityKind::Track(name.to_owned()),
                });
                next
            });
            let age = now.0 - event.time.0;
            let slot = counts.entry((id, profile)).or_insert([0; 8]);
            for (i, w) in windows.iter().enumerate() {
                if age <= w.millis() {
                    slot[i] += 1;
                }
            }
            // Any event counts in the whole-history slot, used for profile reach.
            slot[7] += 1;
            if matches!(event.call, CallType::Track | CallType::Screen) {
                for (key, value) in &event.properties {
                    if key.contains('.') {
                        continue;
                    }
                    properties
                        .entry((id, key.as_str()))
                        .or_insert_with(|| PropertyStats {
                            key: key.clone(),
                            ..PropertyStats::default()
                        })
                        .add(value);
                }
            }
            if event.call == CallType::Track {
                let name = event.name.as_deref().unwrap_or_default();
                for (key, value) in &event.properties {
                    let wanted = REVENUE_KEYS.contains(&key.as_str())
                        || revenue == Some((name, key.as_str()));
                    if let (true, Some(x)) = (wanted, numeric(value)) {
                        *sums.entry((name, key.as_str(), profile)).or_insert(0.0) += x;
                    }
                }
            }
        }

        let mut per_kind: Vec<Activity> = kinds
            .iter()
            .map(|kind| Activity {
                kind: kind.clone(),
                profiles: 0,
                counts: vec![Vec::new(); windows.len()],
                properties: Vec::new(),
            })
            .collect();
        for (&(id, _), slot) in &counts {
            let a = &mut per_kind[id as usize];
            a.profiles += 1;
            for (i, &n) in slot.iter().take(windows.len()).enumerate() {
                if n > 0 {
                    a.counts[i].push(n);
                }
            }
        }
        for ((id, _), mut stats) in properties {
            stats.finish();
            per_kind[id as usize].properties.push(stats);
        }
        for a in &mut per_kind {
            a.counts.iter_mut().for_each(|c| c.sort_unstable());
            a.properties.sort_by(|x, y| x.key.cmp(&y.key));
        }
        per_kind.sort_by(|a, b| {
            b.profiles
                .cmp(&a.profiles)
                .then_with(|| a.kind.cmp(&b.kind))
        });

        let mut by_sum: FxHashMap<(&str, &str), Vec<f64>> = FxHashMap::default();
        for ((event, property, _), sum) in sums {
            by_sum.entry((event, property)).or_default().push(sum);
        }
        let mut value_sums: Vec<ValueSums> = by_sum
            .into_iter()
            .map(|((event, property), mut sums)| {
                sums.sort_by(f64::total_cmp);
                ValueSums {
                    event: event.to_owned(),
                    property: property.to_owned(),
                    sums,
                }
            })
            .collect();
        value_sums.sort_by(|a, b| (&a.event, &a.property).cmp(&(&b.event, &b.property)));

        let mut trait_stats: FxHashMap<String, TraitStats> = FxHashMap::default();
        let mut identifier_counts: FxHashMap<&str, usize> = FxHashMap::default();
        for profile in &resolution.profiles {
            let mut seen = Vec::new();
            flatten("", &profile.traits, 0, &mut seen);
            for (path, value) in seen {
                let t = trait_stats
                    .entry(path.clone())
                    .or_insert_with(|| TraitStats {
                        path,
                        ..TraitStats::default()
                    });
                t.present += 1;
                t.inner.add(value);
            }
            for (kind, values) in &profile.identifiers {
                if !values.is_empty() {
                    *identifier_counts.entry(kind.as_str()).or_insert(0) += 1;
                }
            }
        }
        let mut traits: Vec<TraitStats> = trait_stats
            .into_values()
            .map(|mut t| {
                t.inner.finish();
                t.categories = std::mem::take(&mut t.inner.categories);
                t.numbers = std::mem::take(&mut t.inner.numbers);
                t
            })
            .collect();
        traits.sort_by(|a, b| a.path.cmp(&b.path));
        let mut identifiers: Vec<(String, usize)> = identifier_counts
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
        identifiers.sort();

        let mut first_seen_age: Vec<i64> = first
            .iter()
            .filter(|&&t| t != i64::MAX)
            .map(|&t| now.0 - t)
            .collect();
        first_seen_age.sort_unstable();
        let mut last_seen_age: Vec<i64> = last
            .iter()
            .filter(|&&t| t != i64::MIN)
            .map(|&t| now.0 - t)
            .collect();
        last_seen_age.sort_unstable();

        DataSummary {
            now,
            profile_count,
            windows,
            activities: per_kind,
            traits,
            identifiers,
            first_seen_age,
            last_seen_age,
            value_sums,
        }
    }

    /// The time the summary describes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// How many profiles there are (with or without events by `now`).
    pub fn profile_count(&self) -> usize {
        self.profile_count
    }

    /// The age quantile `q` of first-seen (or last-seen) times, in whole days rounded up.
    pub(crate) fn age_days(&self, last: bool, q: f64) -> Option<i64> {
        let ages = if last {
            &self.last_seen_age
        } else {
            &self.first_seen_age
        };
        quantile(ages, q).map(|ms| (ms.max(1) + DAY_MS - 1) / DAY_MS)
    }
}

/// The standard windows (and the horizon), smallest first, stopping at the first that already
/// covers the whole history: longer ones would select the same events.
fn choose_windows(span_ms: i64, horizon_days: i64) -> Vec<Window> {
    let mut days = vec![7, 30, 90];
    if horizon_days > 0 && horizon_days <= 365 {
        days.push(horizon_days);
    }
    days.sort_unstable();
    days.dedup();
    let mut windows = Vec::new();
    for d in days {
        windows.push(Window { days: d });
        if d * DAY_MS >= span_ms || windows.len() == 7 {
            break;
        }
    }
    windows
}

/// The activity an event counts towards, if any, as its call and name (the path section for
/// pages): identify, group and alias calls describe who someone is, not what they do.
fn activity_key(event: &Event) -> Option<(CallType, &str)> {
    match event.call {
        CallType::Track | CallType::Screen => Some((event.call, event.name.as_deref()?)),
        CallType::Page => {
            let path = event.properties.get("path")?.as_str()?;
            Some((CallType::Page, path_prefix(path)?))
        }
        _ => None,
    }
}

/// The first segment of a URL path (`/pricing/teams` gives `/pricing`); none for the root.
fn path_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (end > 0).then(|| &path[..=end])
}

/// A number, or a string in the numeric form the definition language accepts.
fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let body = s.strip_prefix('-').unwrap_or(s);
            let (int, frac) = body.split_once('.').unwrap_or((body, "1"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
            (digits(int) && digits(frac))
                .then(|| s.parse().ok())
                .flatten()
        }
        _ => None,
    }
}

/// Every scalar trait with its dot path, descending into objects a few levels.
fn flatten<'a>(
    prefix: &str,
    object: &'a serde_json::Map<String, Value>,
    depth: usize,
    out: &mut Vec<(String, &'a Value)>,
) {
    for (key, value) in object {
        if key.is_empty() || key.contains('.') {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if depth < 2 => flatten(&path, inner, depth + 1, out),
            Value::Null | Value::Array(_) | Value::Object(_) => {}
            _ => out.push((path, value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_stop_at_the_history() {
        let days = |span_days: i64, h| -> Vec<i64> {
            choose_windows(span_days * DAY_MS, h)
                .iter()
                .map(|w| w.days)
                .collect()
        };
        assert_eq!(days(20, 30), vec![7, 30]);
        assert_eq!(days(365, 14), vec![7, 14, 30, 90]);
        assert_eq!(days(3, 30), vec![7]);
    }

    #[test]
    fn prefixes_and_numbers() {
        assert_eq!(path_prefix("/pricing/teams"), Some("/pricing"));
        assert_eq!(path_prefix("/pricing?x=1"), Some("/pricing"));
        assert_eq!(path_prefix("/pricing"), Some("/pricing"));
        assert_eq!(path_prefix("/"), None);
        assert_eq!(path_prefix("pricing"), None);
        assert_eq!(numeric(&Value::from("49.99")), Some(49.99));
        assert_eq!(numeric(&Value::from("4e2")), None);
        assert_eq!(numeric(&Value::from("-3")), Some(-3.0));
    }
}
