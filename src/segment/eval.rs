//! Evaluation of a validated segment over a [`Store`] at a given `now`.
//!
//! Every condition becomes a bitset over profiles. Event conditions first build a bitset over
//! event rows (the window's slice of each matching name's time-ordered posting list, narrowed by
//! the property filters, which read only the column blocks holding a candidate row and decide
//! each distinct string once), then walk the set rows together with the profile row ranges to
//! aggregate, so the cost follows the matching events plus the profiles, not the history.

use super::definition::{
    AggregateFn, Condition, EventCondition, EventMatch, Filter, Segment, TimeBound, Window,
};
use super::store::{Column, Columns, Encoded, Kind, Store};
use super::value::{numeric_str, Element, Matcher, ValueRef};
use crate::time::Timestamp;

/// A fixed-length set of indexes (profiles or event rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    len: usize,
}

impl Bitset {
    pub(crate) fn zeros(len: usize) -> Bitset {
        Bitset {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub(crate) fn ones(len: usize) -> Bitset {
        let mut b = Bitset {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        b.trim();
        b
    }

    fn filled(len: usize, on: bool) -> Bitset {
        if on {
            Bitset::ones(len)
        } else {
            Bitset::zeros(len)
        }
    }

    fn trim(&mut self) {
        let rem = self.len % 64;
        if rem != 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << rem) - 1;
            }
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, i: usize) {
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    #[inline]
    fn assign(&mut self, i: usize, on: bool) {
        if i < self.len {
            let bit = 1u64 << (i % 64);
            let w = &mut self.words[i / 64];
            *w = (*w & !bit) | (u64::from(on) << (i % 64));
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    fn and(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    fn or(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    fn not(&mut self) {
        for w in &mut self.words {
            *w = !*w;
        }
        self.trim();
    }

    /// The first set index at or after `from`, if any.
    #[inline]
    fn next_set(&self, from: usize) -> Option<usize> {
        if from >= self.len {
            return None;
        }
        let mut w = from / 64;
        let mut word = self.words[w] & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return Some(w * 64 + word.trailing_zeros() as usize);
            }
            w += 1;
            word = *self.words.get(w)?;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

/// The result of evaluating a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Member profile indexes in the store, ascending, which is ascending profile id order.
    pub members: Vec<u32>,
}

impl Evaluation {
    /// Number of members.
    pub fn count(&self) -> usize {
        self.members.len()
    }

    /// The member profile ids, sorted.
    pub fn ids<'s>(&self, store: &'s Store) -> Vec<&'s str> {
        self.members
            .iter()
            .filter_map(|&m| store.profile_id(m))
            .collect()
    }

    /// Up to `n` members for a preview, spread evenly over the sorted member list, so the same
    /// members are picked on every evaluator.
    pub fn sample(&self, n: usize) -> Vec<u32> {
        let len = self.members.len();
        if n >= len {
            return self.members.clone();
        }
        (0..n).map(|i| self.members[i * len / n]).collect()
    }
}

impl Store {
    /// Evaluates `segment` at `now`: events after `now` are ignored everywhere.
    ///
    /// ```
    /// use tessera::segment::{Segment, SavedSegments, Store};
    /// use tessera::Timestamp;
    /// let store = Store::build(&[], &Default::default());
    /// let doc = serde_json::json!({"condition": {"not": {"event": "Order Completed"}}});
    /// let segment = Segment::parse(&doc, &SavedSegments::new()).unwrap();
    /// assert_eq!(store.evaluate(&segment, Timestamp(0)).count(), 0);
    /// ```
    pub fn evaluate(&self, segment: &Segment, now: Timestamp) -> Evaluation {
        let mut run = Run {
            store: self,
            now: now.0,
            saved: &segment.saved,
            memo: vec![None; segment.saved.len()],
        };
        let bits = run.condition(&segment.condition);
        Evaluation {
            members: bits.iter().map(|p| p as u32).collect(),
        }
    }
}

struct Run<'a> {
    store: &'a Store,
    now: i64,
    saved: &'a [Condition],
    memo: Vec<Option<Bitset>>,
}

/// A column value as the operators see it, with array elements decoded.
fn with_value<R>(column: &Column, v: Encoded, f: impl FnOnce(ValueRef<'_>) -> R) -> R {
    match v {
        Encoded::Str(id) => match column.strings.get(id as usize) {
            Some(s) => f(ValueRef::Str(s)),
            None => f(ValueRef::Missing),
        },
        Encoded::Num(n) => f(ValueRef::Num(n)),
        Encoded::Bool(b) => f(ValueRef::Bool(b)),
        Encoded::Object => f(ValueRef::Object),
        Encoded::Array(i) => {
            let items = column.array(i).unwrap_or_default();
            let elements: Vec<Element<'_>> = items
                .iter()
                .map(|e| match *e {
                    Encoded::Str(id) => column
                        .strings
                        .get(id as usize)
                        .map_or(Element::Other, Element::Str),
                    Encoded::Num(n) => Element::Num(n),
                    Encoded::Bool(b) => Element::Bool(b),
                    _ => Element::Other,
                })
                .collect();
            f(ValueRef::Array(&elements))
        }
    }
}

/// A filter applied to one column's values; each distinct string is decided once, when first
/// met, since strings repeat and a column's dictionary can be far larger than the rows read.
struct ColumnTest<'c> {
    column: &'c Column,
    matcher: Matcher,
    /// Per string id: 0 not decided yet, 1 fails, 2 passes.
    strings: Vec<u8>,
}

impl<'c> ColumnTest<'c> {
    fn new(column: &'c Column, matcher: Matcher) -> ColumnTest<'c> {
        ColumnTest {
            column,
            matcher,
            strings: vec![0; column.strings.len()],
        }
    }

    #[inline]
    fn passes(&mut self, v: Encoded) -> bool {
        match v {
            Encoded::Str(id) => match self.strings.get(id as usize) {
                Some(&known @ 1..) => known == 2,
                Some(_) => {
                    let pass = self
                        .column
                        .strings
                        .get(id as usize)
                        .is_some_and(|s| self.matcher.test(ValueRef::Str(s)));
                    self.strings[id as usize] = 1 + u8::from(pass);
                    pass
                }
                None => false,
            },
            Encoded::Num(n) => self.matcher.test(ValueRef::Num(n)),
            other => with_value(self.column, other, |value| self.matcher.test(value)),
        }
    }
}

/// The rows (events or profiles) whose value at `path` passes `filter`.
fn filter_rows(columns: &Columns, path: &str, filter: &Filter, len: usize, now: i64) -> Bitset {
    let m = Matcher::new(filter, now);
    let mut bits = Bitset::filled(len, m.on_missing());
    let Some(column) = columns.get(path) else {
        return bits;
    };
    let mut test = ColumnTest::new(column, m);
    for (row, v) in column.cursor() {
        bits.assign(row as usize, test.passes(v));
    }
    bits
}

/// The `candidates` whose value at `path` passes `filter`. Only the column blocks that hold a
/// candidate are decoded: a narrow window over a long history reads a fraction of the column.
fn narrow_rows(
    columns: &Columns,
    path: &str,
    filter: &Filter,
    candidates: Bitset,
    now: i64,
) -> Bitset {
    let m = Matcher::new(filter, now);
    let on_missing = m.on_missing();
    let Some(column) = columns.get(path) else {
        return if on_missing {
            candidates
        } else {
            Bitset::zeros(candidates.len)
        };
    };
    let mut out = if on_missing {
        candidates.clone()
    } else {
        Bitset::zeros(candidates.len)
    };
    let mut test = ColumnTest::new(column, m);
    let holds_candidate = |lo: usize, hi: usize| candidates.next_set(lo).is_some_and(|r| r < hi);
    column.for_each_in(
        holds_candidate,
        |row| candidates.get(row),
        |row, v| out.assign(row as usize, test.passes(v)),
    );
    out
}

/// Steps through profiles in row order, so a walk over ascending rows finds each row's profile
/// without a per-row profile column.
struct ProfileWalk<'a> {
    offsets: &'a [u32],
    p: usize,
}

impl ProfileWalk<'_> {
    #[inline]
    fn profile_of(&mut self, row: usize) -> usize {
        while self.p + 1 < self.offsets.len() && self.offsets[self.p + 1] as usize <= row {
            self.p += 1;
        }
        self.p
    }
}

impl Run<'_> {
    fn profiles(&self) -> usize {
        self.store.profile_ids.len()
    }

    fn condition(&mut self, c: &Condition) -> Bitset {
        let n = self.profiles();
        match c {
            Condition::And(parts) => {
                let mut acc = Bitset::ones(n);
                for part in parts {
                    acc.and(&self.condition(part));
                }
                acc
            }
            Condition::Or(parts) => {
                let mut acc = Bitset::zeros(n);
                for part in parts {
                    acc.or(&self.condition(part));
                }
                acc
            }
            Condition::Not(inner) => {
                let mut b = self.condition(inner);
                b.not();
                b
            }
            Condition::Trait { path, filter } => {
                filter_rows(&self.store.traits, path, filter, n, self.now)
            }
            Condition::Event(event) => self.event(event),
            Condition::FirstSeen(bounds) => self.seen(bounds, true),
            Condition::LastSeen(bounds) => self.seen(bounds, false),
            Condition::InSegment(i) => {
                if let Some(Some(done)) = self.memo.get(*i) {
                    return done.clone();
                }
                let Some(saved) = self.saved.get(*i) else {
                    return Bitset::zeros(n);
                };
                let b = self.condition(saved);
                self.memo[*i] = Some(b.clone());
                b
            }
            Condition::HasIdentifier(kind) => {
                let mut b = Bitset::zeros(n);
                if let Some(t) = self.store.identifiers.iter().find(|t| &t.name == kind) {
                    for &p in &t.profiles {
                        b.set(p as usize);
                    }
                }
                b
            }
        }
    }

    fn seen(&self, bounds: &[TimeBound], first: bool) -> Bitset {
        let store = self.store;
        let now = self.now;
        let bounds: Vec<(bool, i64)> = bounds.iter().map(|b| (b.after, b.at.at(now))).collect();
        let mut out = Bitset::zeros(self.profiles());
        for p in 0..self.profiles() {
            let (start, end) = store.rows(p);
            let times = &store.times[start..end];
            let seen = if first {
                times.first().copied().filter(|&t| t <= now)
            } else {
                match times.last() {
                    Some(&t) if t <= now => Some(t),
                    Some(_) => {
                        let k = times.partition_point(|&t| t <= now);
                        k.checked_sub(1).map(|i| times[i])
                    }
                    None => None,
                }
            };
            if let Some(t) = seen {
                if bounds
                    .iter()
                    .all(|&(after, at)| if after { t > at } else { t < at })
                {
                    out.set(p);
                }
            }
        }
        out
    }

    /// The (call, name) posting lists an event match reads.
    fn kinds<'k>(&'k self, m: &'k EventMatch) -> impl Iterator<Item = &'k Kind> + 'k {
        self.store.kinds.iter().filter(move |kind| {
            kind.call == m.call
                && match &m.name {
                    None => true,
                    Some(name) => kind.name.as_deref() == Some(name.as_str()),
                }
        })
    }

    /// Event rows matching the name, call and property filters, with time in `[low, high)`.
    fn matching_rows(&self, m: &EventMatch, low: i64, high: i64) -> Bitset {
        let store = self.store;
        let n = store.times.len();
        let mut rows = Bitset::zeros(n);
        for kind in self.kinds(m) {
            for &row in kind.window(low, high).0 {
                rows.set(row as usize);
            }
        }
        for (path, filter) in &m.filters {
            rows = narrow_rows(&store.properties, path, filter, rows, self.now);
        }
        rows
    }

    fn event(&self, c: &EventCondition) -> Bitset {
        let store = self.store;
        let times = &store.times;
        let now = self.now;
        let (low, high) = match c.window {
            Window::All => (i64::MIN, now.saturating_add(1)),
            Window::Within(d) => (now.saturating_sub(d), now.saturating_add(1)),
            Window::Between(start, end) => (start, end.min(now.saturating_add(1))),
        };
        let mut rows = self.matching_rows(&c.matcher, low, high);
        if let Some(seq) = &c.sequence {
            let steps = self.matching_rows(&seq.step, i64::MIN, now.saturating_add(1));
            let mut walk = ProfileWalk {
                offsets: &store.profile_offsets,
                p: 0,
            };
            let mut kept = Bitset::zeros(times.len());
            // The outer events in row order, as the walk through profiles needs them.
            for r in rows.iter() {
                let t = times[r];
                let (_, end) = store.rows(walk.profile_of(r));
                let deadline = t.saturating_add(seq.within);
                let limit = deadline.min(now);
                // Same-instant events never follow each other: skip follow-ups at `t`.
                let mut next = steps.next_set(r + 1);
                while let Some(s) = next.filter(|&s| s < end && times[s] == t) {
                    next = steps.next_set(s + 1);
                }
                let followed = next.is_some_and(|s| s < end && times[s] <= limit);
                let keep = if seq.negated {
                    !followed && deadline <= now
                } else {
                    followed
                };
                if keep {
                    kept.set(r);
                }
            }
            rows = kept;
        }
        self.aggregate(c, &rows)
    }

    fn aggregate(&self, c: &EventCondition, rows: &Bitset) -> Bitset {
        let store = self.store;
        let n = self.profiles();
        let agg = &c.aggregate;
        let mut walk = ProfileWalk {
            offsets: &store.profile_offsets,
            p: 0,
        };
        let property = match &agg.func {
            AggregateFn::Count => {
                let mut out = Bitset::filled(n, agg.holds(0.0));
                let mut current = usize::MAX;
                let mut count = 0u64;
                for r in rows.iter() {
                    let p = walk.profile_of(r);
                    if p != current {
                        if current != usize::MAX {
                            out.assign(current, agg.holds(count as f64));
                        }
                        current = p;
                        count = 0;
                    }
                    count += 1;
                }
                if current != usize::MAX {
                    out.assign(current, agg.holds(count as f64));
                }
                return out;
            }
            AggregateFn::Sum(p)
            | AggregateFn::Avg(p)
            | AggregateFn::Min(p)
            | AggregateFn::Max(p) => p,
        };
        // With no values, sum is 0 and avg/min/max fail every comparison.
        let empty_passes = matches!(agg.func, AggregateFn::Sum(_)) && agg.holds(0.0);
        let mut out = Bitset::filled(n, empty_passes);
        let Some(column) = store.properties.get(property) else {
            return out;
        };
        let finish = |acc: &Acc| -> f64 {
            match agg.func {
                AggregateFn::Sum(_) => acc.sum,
                AggregateFn::Avg(_) => acc.sum / acc.n as f64,
                AggregateFn::Min(_) => acc.min,
                _ => acc.max,
            }
        };
        let mut current = usize::MAX;
        let mut acc = Acc::new();
        // Only the blocks holding a matching row are read, and only those rows' values decoded.
        let holds_row = |lo: usize, hi: usize| rows.next_set(lo).is_some_and(|r| r < hi);
        column.for_each_in(
            holds_row,
            |row| rows.get(row),
            |row, v| {
                let x = match v {
                    Encoded::Num(x) => x,
                    Encoded::Str(id) => {
                        match column.strings.get(id as usize).and_then(numeric_str) {
                            Some(x) => x,
                            None => return,
                        }
                    }
                    _ => return,
                };
                let p = walk.profile_of(row as usize);
                if p != current {
                    if current != usize::MAX {
                        out.assign(current, agg.holds(finish(&acc)));
                    }
                    current = p;
                    acc = Acc::new();
                }
                acc.add(x);
            },
        );
        if current != usize::MAX {
            out.assign(current, agg.holds(finish(&acc)));
        }
        out
    }
}

struct Acc {
    sum: f64,
    n: u64,
    min: f64,
    max: f64,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            sum: 0.0,
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    #[inline]
    fn add(&mut self, x: f64) {
        self.sum += x;
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }
}
