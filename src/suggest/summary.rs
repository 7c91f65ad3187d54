//! What the data looks like, in the few numbers candidate conditions are drawn from: which
//! events, pages and screens are frequent, how often profiles do them, which property and trait
//! values are common, how recent profiles are. Only thresholds come from here; membership always
//! comes from the segment engine.
//!
//! The summary is read from the segment [`Store`] alone (its columns, as a snapshot holds them),
//! so the CLI, the npm package and the browser's snapshot-loaded engine share one path and give
//! the same suggestions for the same data.

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::event::{CallType, Event};
use crate::identity::Resolution;
use crate::segment::{Column, Encoded, Store};
use crate::time::Timestamp;

use super::stats::quantile;

const DAY_MS: i64 = 86_400_000;
/// Most distinct values a property or trait may take and still give `eq` candidates.
const MAX_CATEGORIES: usize = 30;
/// Property names that usually hold money, in order of preference.
pub(crate) const REVENUE_KEYS: [&str; 5] = ["revenue", "total", "value", "amount", "price"];
/// Trait paths deeper than this many segments are not summarized.
const MAX_TRAIT_DEPTH: usize = 3;
/// A row that counts towards no activity.
const NO_ACTIVITY: u32 = u32::MAX;
/// A page row whose path section is not known yet.
const PAGE_ROW: u32 = u32::MAX - 1;

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

/// A string (by its column's dictionary id) or boolean value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Category {
    Str(u32),
    Bool(bool),
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
    counts: FxHashMap<Category, usize>,
}

impl PropertyStats {
    fn new(key: &str) -> PropertyStats {
        PropertyStats {
            key: key.to_owned(),
            ..PropertyStats::default()
        }
    }

    /// Counts one stored value; arrays and objects say nothing a threshold could use.
    fn add(&mut self, value: Encoded) {
        let category = match value {
            Encoded::Num(x) => {
                if !x.is_nan() {
                    self.numbers.push(x);
                }
                return;
            }
            Encoded::Str(id) => Category::Str(id),
            Encoded::Bool(b) => Category::Bool(b),
            Encoded::Array(_) | Encoded::Object => return,
        };
        if self.too_many {
            return;
        }
        let distinct = self.counts.len();
        match self.counts.get_mut(&category) {
            Some(n) => *n += 1,
            None if distinct < MAX_CATEGORIES => {
                self.counts.insert(category, 1);
            }
            None => {
                self.too_many = true;
                self.counts = FxHashMap::default();
            }
        }
    }

    /// Sorts the numbers and names the categories with `column`'s strings, most frequent first
    /// (ties by JSON text, so the order never depends on the order of the rows).
    fn finish(&mut self, column: &Column) {
        self.numbers.sort_by(f64::total_cmp);
        self.categories = std::mem::take(&mut self.counts)
            .into_iter()
            .map(|(c, n)| {
                let value = match c {
                    Category::Str(id) => Value::from(column.strings.get(id as usize).unwrap_or("")),
                    Category::Bool(b) => Value::Bool(b),
                };
                (value, n)
            })
            .collect();
        self.categories.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
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
    /// Summarizes `events` as resolved into profiles by `resolution`, as they stand at `now`:
    /// builds their segment [`Store`] and reads it with [`DataSummary::from_store`].
    pub fn build(
        events: &[Event],
        resolution: &Resolution,
        now: Timestamp,
        horizon_days: i64,
        revenue: Option<(&str, &str)>,
    ) -> DataSummary {
        DataSummary::from_store(
            &Store::build(events, resolution),
            now,
            horizon_days,
            revenue,
        )
    }

    /// Summarizes a segment store (built from events or loaded from a snapshot) as it stands
    /// at `now` (later events are ignored, as the segment engine ignores them). `horizon` joins
    /// the standard 7, 30 and 90 day windows; `revenue` names an extra `(event, property)` to
    /// sum for high-value audiences.
    pub fn from_store(
        store: &Store,
        now: Timestamp,
        horizon_days: i64,
        revenue: Option<(&str, &str)>,
    ) -> DataSummary {
        let times = &store.times;
        let earliest = times
            .iter()
            .copied()
            .filter(|&t| t <= now.0)
            .min()
            .unwrap_or(now.0);
        let windows = choose_windows(now.0 - earliest, horizon_days);
        let profile_count = store.profile_count();

        // The activity each row counts towards: track and screen calls by name, pages by the
        // first section of `properties.path`; identify, group and alias calls describe who
        // someone is, not what they do.
        let mut kinds: Vec<ActivityKind> = Vec::new();
        let mut row_activity = vec![NO_ACTIVITY; times.len()];
        for kind in &store.kinds {
            let activity = match (kind.call, &kind.name) {
                (CallType::Track, Some(name)) => ActivityKind::Track(name.clone()),
                (CallType::Screen, Some(name)) => ActivityKind::Screen(name.clone()),
                (CallType::Page, _) => {
                    mark(&mut row_activity, &kind.rows, PAGE_ROW);
                    continue;
                }
                _ => continue,
            };
            mark(&mut row_activity, &kind.rows, kinds.len() as u32);
            kinds.push(activity);
        }
        if let Some(paths) = store.properties.get("path") {
            let mut by_string: FxHashMap<u32, u32> = FxHashMap::default();
            let mut by_prefix: FxHashMap<&str, u32> = FxHashMap::default();
            for (row, value) in paths.cursor() {
                let (Some(slot), Encoded::Str(id)) = (row_activity.get_mut(row as usize), value)
                else {
                    continue;
                };
                if *slot != PAGE_ROW {
                    continue;
                }
                *slot = *by_string.entry(id).or_insert_with(|| {
                    let prefix = paths.strings.get(id as usize).and_then(path_prefix);
                    prefix.map_or(NO_ACTIVITY, |prefix| {
                        *by_prefix.entry(prefix).or_insert_with(|| {
                            kinds.push(ActivityKind::PagePath(prefix.to_owned()));
                            kinds.len() as u32 - 1
                        })
                    })
                });
            }
        }

        // Per profile: event counts per activity and window, first and last seen.
        let window_ms: Vec<i64> = windows.iter().map(Window::millis).collect();
        let mut per_kind: Vec<Activity> = kinds
            .iter()
            .map(|kind| Activity {
                kind: kind.clone(),
                profiles: 0,
                counts: vec![Vec::new(); windows.len()],
                properties: Vec::new(),
            })
            .collect();
        let mut scratch = vec![[0u32; 8]; kinds.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut first_seen_age = Vec::new();
        let mut last_seen_age = Vec::new();
        for p in 0..profile_count {
            let (start, end) = store.rows(p);
            let (mut first, mut last) = (i64::MAX, i64::MIN);
            for (&t, &a) in times[start..end].iter().zip(&row_activity[start..end]) {
                if t > now.0 {
                    continue;
                }
                first = first.min(t);
                last = last.max(t);
                let Some(slot) = scratch.get_mut(a as usize) else {
                    continue;
                };
                // The last slot counts the whole history: whether the profile did it at all.
                if slot[7] == 0 {
                    touched.push(a);
                }
                slot[7] += 1;
                let age = now.0 - t;
                for (n, &w) in slot.iter_mut().zip(&window_ms) {
                    if age <= w {
                        *n += 1;
                    }
                }
            }
            for a in touched.drain(..) {
                let slot = std::mem::take(&mut scratch[a as usize]);
                let activity = &mut per_kind[a as usize];
                activity.profiles += 1;
                for (counts, &n) in activity.counts.iter_mut().zip(&slot) {
                    if n > 0 {
                        counts.push(n);
                    }
                }
            }
            if first != i64::MAX {
                first_seen_age.push(now.0 - first);
                last_seen_age.push(now.0 - last);
            }
        }
        first_seen_age.sort_unstable();
        last_seen_age.sort_unstable();

        // Top-level properties of track and screen events, and money sums of track events.
        let visible = |row: u32| -> Option<u32> {
            let r = row as usize;
            let a = *row_activity.get(r)?;
            (times[r] <= now.0 && (a as usize) < kinds.len()).then_some(a)
        };
        let mut by_sum: FxHashMap<(&str, &str), Vec<f64>> = FxHashMap::default();
        for column in &store.properties.columns {
            let key = column.path.as_str();
            if key.contains('.') {
                continue;
            }
            let mut stats: FxHashMap<u32, PropertyStats> = FxHashMap::default();
            for (row, value) in column.cursor() {
                let Some(a) = visible(row) else {
                    continue;
                };
                if !matches!(kinds[a as usize], ActivityKind::PagePath(_)) {
                    stats
                        .entry(a)
                        .or_insert_with(|| PropertyStats::new(key))
                        .add(value);
                }
            }
            for (a, mut s) in stats {
                s.finish(column);
                per_kind[a as usize].properties.push(s);
            }
            let revenue_key = REVENUE_KEYS.contains(&key) || revenue.is_some_and(|r| r.1 == key);
            if revenue_key {
                let mut sums: FxHashMap<(u32, u32), f64> = FxHashMap::default();
                let mut profile = 0usize;
                for (row, value) in column.cursor() {
                    let Some(a) = visible(row) else {
                        continue;
                    };
                    let ActivityKind::Track(name) = &kinds[a as usize] else {
                        continue;
                    };
                    let wanted = REVENUE_KEYS.contains(&key) || revenue == Some((name, key));
                    let x = match value {
                        Encoded::Num(x) => Some(x),
                        Encoded::Str(id) => column.strings.get(id as usize).and_then(numeric),
                        _ => None,
                    };
                    let Some(x) = x.filter(|x| wanted && !x.is_nan()) else {
                        continue;
                    };
                    // Rows come in order, so the profile only moves forward.
                    while profile < profile_count && store.rows(profile).1 <= row as usize {
                        profile += 1;
                    }
                    *sums.entry((a, profile as u32)).or_insert(0.0) += x;
                }
                for ((a, _), sum) in sums {
                    if let ActivityKind::Track(name) = &kinds[a as usize] {
                        by_sum.entry((name, key)).or_default().push(sum);
                    }
                }
            }
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

        // Scalar traits a few levels deep, one value per profile.
        let mut traits = Vec::new();
        for column in &store.traits.columns {
            let segments = column.path.split('.');
            if column.path.split('.').any(str::is_empty) || segments.count() > MAX_TRAIT_DEPTH {
                continue;
            }
            let mut inner = PropertyStats::new(&column.path);
            let mut present = 0;
            for (_, value) in column.cursor() {
                if matches!(value, Encoded::Str(_) | Encoded::Num(_) | Encoded::Bool(_)) {
                    present += 1;
                    inner.add(value);
                }
            }
            if present == 0 {
                continue;
            }
            inner.finish(column);
            traits.push(TraitStats {
                path: column.path.clone(),
                present,
                categories: inner.categories,
                numbers: inner.numbers,
            });
        }
        traits.sort_by(|a, b| a.path.cmp(&b.path));
        let mut identifiers: Vec<(String, usize)> = store
            .identifiers
            .iter()
            .filter(|t| !t.profiles.is_empty())
            .map(|t| (t.name.clone(), t.profiles.len()))
            .collect();
        identifiers.sort();

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

/// Sets `rows` of `row_activity` to `activity` (rows past the end are ignored).
fn mark(row_activity: &mut [u32], rows: &[u32], activity: u32) {
    for &r in rows {
        if let Some(slot) = row_activity.get_mut(r as usize) {
            *slot = activity;
        }
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

/// The first segment of a URL path (`/pricing/teams` gives `/pricing`); none for the root.
fn path_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (end > 0).then(|| &path[..=end])
}

/// A number in the text form the definition language accepts for numeric strings.
fn numeric(s: &str) -> Option<f64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "1"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    (digits(int) && digits(frac))
        .then(|| s.parse().ok())
        .flatten()
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
        assert_eq!(numeric("49.99"), Some(49.99));
        assert_eq!(numeric("4e2"), None);
        assert_eq!(numeric("-3"), Some(-3.0));
    }
}
