//! Parsing and validating segment documents into a typed definition.
//!
//! The JSON is walked by hand rather than through serde derives so that every error names the
//! exact path of the offending part (`condition.and[1].op`) with a stable code. Keys are checked
//! in a fixed order of our own, never in map order, so the same document gives the same error
//! whichever way `serde_json` was built.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::event::CallType;
use crate::time::{Duration, Timestamp};

/// A segment definition that failed validation: a stable code and the path of the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError {
    /// One of `unknown_key`, `unknown_condition`, `wrong_type`, `missing_key`,
    /// `unknown_operator`, `missing_operator`, `bad_duration`, `bad_time`, `conflicting_keys`,
    /// `unknown_segment`, `segment_cycle`; or `too_deep` for a document built in memory that
    /// nests conditions deeper than [`MAX_CONDITION_DEPTH`] (JSON text cannot: it stops at 128 levels).
    pub code: &'static str,
    /// Path of the offending part, e.g. `condition.and[1].op` (empty for the document itself).
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at `{}`: {}", self.code, self.path, self.message)
    }
}

impl std::error::Error for DefinitionError {}

type Result<T> = std::result::Result<T, DefinitionError>;

fn fail<T>(code: &'static str, path: &str, message: impl Into<String>) -> Result<T> {
    Err(DefinitionError {
        code,
        path: path.to_string(),
        message: message.into(),
    })
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A validated segment: its metadata, its condition and every saved segment it reaches.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// `id` of the document, if it has one.
    pub id: Option<String>,
    /// `name` of the document, if it has one.
    pub name: Option<String>,
    /// `description` of the document, if it has one.
    pub description: Option<String>,
    pub(crate) condition: Condition,
    /// Saved segments reached through `in_segment`, indexed by [`Condition::InSegment`].
    pub(crate) saved: Vec<Condition>,
}

/// The saved segments an evaluator may reach through `in_segment`: id → segment document.
pub type SavedSegments = BTreeMap<String, Value>;

impl Segment {
    /// Parses and validates a segment document; `in_segment` references are resolved against
    /// `saved` (and checked for cycles).
    ///
    /// ```
    /// use tessera::segment::{Segment, SavedSegments};
    /// let doc = serde_json::json!({"condition": {"event": "Signed Up", "within": "7d"}});
    /// assert!(Segment::parse(&doc, &SavedSegments::new()).is_ok());
    /// let bad = serde_json::json!({"condition": {"and": [{"trait": "plan", "op": "is"}]}});
    /// let err = Segment::parse(&bad, &SavedSegments::new()).unwrap_err();
    /// assert_eq!((err.code, err.path.as_str()), ("unknown_operator", "condition.and[0].op"));
    /// ```
    pub fn parse(doc: &Value, saved: &SavedSegments) -> Result<Segment> {
        let mut ctx = Context {
            saved,
            stack: Vec::new(),
            resolved: Vec::new(),
            index: BTreeMap::new(),
            depth: 0,
        };
        let (id, name, description, condition) = ctx.document(doc, "")?;
        Ok(Segment {
            id,
            name,
            description,
            condition,
            saved: ctx.resolved,
        })
    }
}

type Document = (Option<String>, Option<String>, Option<String>, Condition);

struct Context<'a> {
    saved: &'a SavedSegments,
    /// Ids of the documents being parsed, outermost first: a reference to one of them is a cycle.
    stack: Vec<String>,
    resolved: Vec<Condition>,
    index: BTreeMap<String, usize>,
    /// How many conditions enclose the one being parsed, across `in_segment` references too.
    depth: usize,
}

/// The deepest conditions may nest (`too_deep` beyond), counting through `in_segment`.
pub const MAX_CONDITION_DEPTH: usize = 128;

/// A condition of the language, with constants already parsed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Trait { path: String, filter: Filter },
    Event(Box<EventCondition>),
    FirstSeen(Vec<TimeBound>),
    LastSeen(Vec<TimeBound>),
    InSegment(usize),
    HasIdentifier(String),
}

/// An operator of trait and property filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    In,
    NotIn,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    Exists,
    NotExists,
    Before,
    After,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "between" => Op::Between,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "contains" => Op::Contains,
            "not_contains" => Op::NotContains,
            "starts_with" => Op::StartsWith,
            "ends_with" => Op::EndsWith,
            "exists" => Op::Exists,
            "not_exists" => Op::NotExists,
            "before" => Op::Before,
            "after" => Op::After,
            _ => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            Op::Eq | Op::Neq | Op::Gt | Op::Gte | Op::Lt | Op::Lte | Op::Between
        )
    }
}

/// A constant a value is compared with for equality.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// The parsed `value` of a filter, in the shape its operator needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    None,
    Scalar(Scalar),
    Num(f64),
    Range(f64, f64),
    List(Vec<Scalar>),
    Str(String),
    Time(TimeRef),
}

/// A point in time given as a duration ago or as an absolute time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeRef {
    Ago(i64),
    At(i64),
}

impl TimeRef {
    pub(crate) fn at(self, now: i64) -> i64 {
        match self {
            TimeRef::Ago(d) => now.saturating_sub(d),
            TimeRef::At(t) => t,
        }
    }
}

/// `{"op": ..., "value": ..., "ignore_case": ...}` of a trait or property filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
    pub op: Op,
    pub operand: Operand,
    pub ignore_case: bool,
}

/// One key of `first_seen` / `last_seen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeBound {
    pub after: bool,
    pub at: TimeRef,
}

/// Which events an event condition or a sequence step matches.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EventMatch {
    pub call: CallType,
    /// `None` for `"*"`.
    pub name: Option<String>,
    pub filters: Vec<(String, Filter)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    All,
    Within(i64),
    Between(i64, i64),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AggregateFn {
    Count,
    Sum(String),
    Avg(String),
    Min(String),
    Max(String),
}

/// One comparison of an aggregate: `op` against `a` (and `b` for `between`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NumTest {
    pub op: Op,
    pub a: f64,
    pub b: f64,
}

impl NumTest {
    pub(crate) fn holds(self, x: f64) -> bool {
        match self.op {
            Op::Eq => x == self.a,
            Op::Neq => x != self.a,
            Op::Gt => x > self.a,
            Op::Gte => x >= self.a,
            Op::Lt => x < self.a,
            Op::Lte => x <= self.a,
            Op::Between => self.a <= x && x <= self.b,
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Aggregate {
    pub func: AggregateFn,
    pub tests: Vec<NumTest>,
}

impl Aggregate {
    pub(crate) fn holds(&self, x: f64) -> bool {
        self.tests.iter().all(|t| t.holds(x))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sequence {
    pub negated: bool,
    pub step: EventMatch,
    pub within: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EventCondition {
    pub matcher: EventMatch,
    pub window: Window,
    pub aggregate: Aggregate,
    pub sequence: Option<Sequence>,
}

/// The keys that name a condition's kind (`and`, `event`, `trait`, ...).
pub const CONDITION_KINDS: [&str; 9] = [
    "and",
    "or",
    "not",
    "trait",
    "event",
    "first_seen",
    "last_seen",
    "in_segment",
    "has_identifier",
];

const AGGREGATES: [&str; 5] = ["count", "sum", "avg", "min", "max"];

fn object<'v>(value: &'v Value, path: &str, what: &str) -> Result<&'v Map<String, Value>> {
    match value {
        Value::Object(m) => Ok(m),
        _ => fail("wrong_type", path, format!("{what} must be an object")),
    }
}

fn string<'v>(value: &'v Value, path: &str) -> Result<&'v str> {
    match value {
        Value::String(s) => Ok(s),
        _ => fail("wrong_type", path, "must be a string"),
    }
}

fn number(value: &Value, path: &str) -> Result<f64> {
    match value.as_f64() {
        Some(n) if value.is_number() => Ok(n),
        _ => fail("wrong_type", path, "must be a number"),
    }
}

/// Reports the first key (in byte order) that is not one of `allowed`.
fn check_keys(map: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<()> {
    let mut unknown: Vec<&String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    unknown.sort();
    match unknown.first() {
        Some(k) => fail("unknown_key", &child(path, k), format!("unknown key `{k}`")),
        None => Ok(()),
    }
}

fn duration(value: &Value, path: &str) -> Result<i64> {
    let text = string(value, path)?;
    match Duration::parse(text) {
        Ok(d) => Ok(d.millis),
        Err(_) => fail(
            "bad_duration",
            path,
            format!("`{text}` is not a duration (a whole number followed by m, h, d or w)"),
        ),
    }
}

fn rfc3339(value: &Value, path: &str) -> Result<i64> {
    let text = string(value, path)?;
    match Timestamp::parse(text) {
        Ok(t) => Ok(t.0),
        Err(_) => fail(
            "bad_time",
            path,
            format!("`{text}` is not an RFC 3339 time"),
        ),
    }
}

/// A duration (meaning that long before `now`) or an RFC 3339 time.
fn time_ref(value: &Value, path: &str) -> Result<TimeRef> {
    let text = string(value, path)?;
    if let Ok(d) = Duration::parse(text) {
        return Ok(TimeRef::Ago(d.millis));
    }
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(TimeRef::At(t.0));
    }
    // Name the error after what the text was most likely meant to be: text that starts like a
    // date (`2026-`) was meant as a time, anything else as a duration.
    let b = text.as_bytes();
    let date_like = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    if date_like {
        fail(
            "bad_time",
            path,
            format!("`{text}` is not an RFC 3339 time"),
        )
    } else {
        fail(
            "bad_duration",
            path,
            format!("`{text}` is neither a duration (a whole number followed by m, h, d or w) nor an RFC 3339 time"),
        )
    }
}

fn scalar(value: &Value, path: &str) -> Result<Scalar> {
    match value {
        Value::String(s) => Ok(Scalar::Str(s.clone())),
        Value::Bool(b) => Ok(Scalar::Bool(*b)),
        Value::Number(_) => Ok(Scalar::Num(number(value, path)?)),
        _ => fail(
            "wrong_type",
            path,
            "must be a string, a number or a boolean",
        ),
    }
}

fn range(value: &Value, path: &str) -> Result<(f64, f64)> {
    match value {
        Value::Array(items) if items.len() == 2 => Ok((
            number(&items[0], &format!("{path}[0]"))?,
            number(&items[1], &format!("{path}[1]"))?,
        )),
        _ => fail("wrong_type", path, "must be an array of two numbers"),
    }
}

/// `op`, `value` and `ignore_case` of a trait or property filter.
fn filter(map: &Map<String, Value>, path: &str) -> Result<Filter> {
    let op_path = child(path, "op");
    let op = match map.get("op") {
        None => return fail("missing_operator", &op_path, "the filter has no `op`"),
        Some(Value::String(name)) => match Op::from_name(name) {
            Some(op) => op,
            None => {
                return fail(
                    "unknown_operator",
                    &op_path,
                    format!("unknown operator `{name}`"),
                )
            }
        },
        Some(_) => return fail("wrong_type", &op_path, "must be a string"),
    };
    let ignore_case = match map.get("ignore_case") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return fail(
                "wrong_type",
                &child(path, "ignore_case"),
                "must be a boolean",
            )
        }
    };
    let value_path = child(path, "value");
    let operand = if matches!(op, Op::Exists | Op::NotExists) {
        Operand::None
    } else {
        let Some(value) = map.get("value") else {
            return fail("missing_key", &value_path, "the operator needs a `value`");
        };
        match op {
            Op::Eq | Op::Neq | Op::Contains | Op::NotContains => {
                Operand::Scalar(scalar(value, &value_path)?)
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => Operand::Num(number(value, &value_path)?),
            Op::Between => {
                let (a, b) = range(value, &value_path)?;
                Operand::Range(a, b)
            }
            Op::In | Op::NotIn => match value {
                Value::Array(items) => Operand::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| scalar(v, &format!("{value_path}[{i}]")))
                        .collect::<Result<_>>()?,
                ),
                _ => return fail("wrong_type", &value_path, "must be an array of scalars"),
            },
            Op::StartsWith | Op::EndsWith => Operand::Str(string(value, &value_path)?.to_string()),
            Op::Before | Op::After => Operand::Time(time_ref(value, &value_path)?),
            Op::Exists | Op::NotExists => Operand::None,
        }
    };
    Ok(Filter {
        op,
        operand,
        ignore_case,
    })
}

fn call_type(map: &Map<String, Value>, path: &str) -> Result<CallType> {
    let Some(value) = map.get("call") else {
        return Ok(CallType::Track);
    };
    let call_path = child(path, "call");
    match string(value, &call_path)? {
        "track" => Ok(CallType::Track),
        "page" => Ok(CallType::Page),
        "screen" => Ok(CallType::Screen),
        other => fail(
            "wrong_type",
            &call_path,
            format!("`{other}` is not one of track, page, screen"),
        ),
    }
}

fn event_match(map: &Map<String, Value>, path: &str) -> Result<EventMatch> {
    let name = string(
        map.get("event").unwrap_or(&Value::Null),
        &child(path, "event"),
    )?;
    let call = call_type(map, path)?;
    let mut filters = Vec::new();
    if let Some(value) = map.get("where") {
        let where_path = child(path, "where");
        let Value::Array(items) = value else {
            return fail("wrong_type", &where_path, "must be an array of filters");
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{where_path}[{i}]");
            let f = object(item, &item_path, "a property filter")?;
            check_keys(f, &["property", "op", "value", "ignore_case"], &item_path)?;
            let property_path = child(&item_path, "property");
            let Some(property) = f.get("property") else {
                return fail(
                    "missing_key",
                    &property_path,
                    "the filter has no `property`",
                );
            };
            let property = string(property, &property_path)?.to_string();
            filters.push((property, filter(f, &item_path)?));
        }
    }
    Ok(EventMatch {
        call,
        name: (name != "*").then(|| name.to_string()),
        filters,
    })
}

fn aggregate(func: &str, value: &Value, path: &str) -> Result<Aggregate> {
    let map = object(value, path, "an aggregate")?;
    let with_property = func != "count";
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in &keys {
        if key.as_str() == "property" {
            if !with_property {
                return fail(
                    "unknown_key",
                    &child(path, key),
                    "`count` takes no property",
                );
            }
            continue;
        }
        match Op::from_name(key) {
            Some(op) if op.is_comparison() => {}
            _ => {
                return fail(
                    "unknown_operator",
                    &child(path, key),
                    format!(
                        "`{key}` is not a comparison operator (eq, neq, gt, gte, lt, lte, between)"
                    ),
                )
            }
        }
    }
    let property = if with_property {
        let property_path = child(path, "property");
        let Some(p) = map.get("property") else {
            return fail(
                "missing_key",
                &property_path,
                "the aggregate has no `property`",
            );
        };
        Some(string(p, &property_path)?.to_string())
    } else {
        None
    };
    let mut tests = Vec::new();
    for key in keys {
        let Some(op) = Op::from_name(key) else {
            continue;
        };
        let key_path = child(path, key);
        let value = &map[key.as_str()];
        let (a, b) = if op == Op::Between {
            range(value, &key_path)?
        } else {
            (number(value, &key_path)?, 0.0)
        };
        tests.push(NumTest { op, a, b });
    }
    if tests.is_empty() {
        return fail("missing_operator", path, "the aggregate has no comparison");
    }
    let property = property.unwrap_or_default();
    let func = match func {
        "sum" => AggregateFn::Sum(property),
        "avg" => AggregateFn::Avg(property),
        "min" => AggregateFn::Min(property),
        "max" => AggregateFn::Max(property),
        _ => AggregateFn::Count,
    };
    Ok(Aggregate { func, tests })
}

fn first_present<'k>(map: &Map<String, Value>, keys: &[&'k str]) -> Vec<&'k str> {
    keys.iter()
        .copied()
        .filter(|k| map.contains_key(*k))
        .collect()
}

fn event_condition(map: &Map<String, Value>, path: &str) -> Result<EventCondition> {
    check_keys(
        map,
        &[
            "event",
            "call",
            "where",
            "within",
            "between",
            "count",
            "sum",
            "avg",
            "min",
            "max",
            "followed_by",
            "not_followed_by",
        ],
        path,
    )?;
    if map.contains_key("within") && map.contains_key("between") {
        return fail(
            "conflicting_keys",
            &child(path, "between"),
            "`within` and `between` cannot both be given",
        );
    }
    let aggregates = first_present(map, &AGGREGATES);
    if let Some(second) = aggregates.get(1) {
        return fail(
            "conflicting_keys",
            &child(path, second),
            "an event condition takes one aggregate",
        );
    }
    if map.contains_key("followed_by") && map.contains_key("not_followed_by") {
        return fail(
            "conflicting_keys",
            &child(path, "not_followed_by"),
            "`followed_by` and `not_followed_by` cannot both be given",
        );
    }
    let matcher = event_match(map, path)?;
    let window = if let Some(v) = map.get("within") {
        Window::Within(duration(v, &child(path, "within"))?)
    } else if let Some(v) = map.get("between") {
        let between_path = child(path, "between");
        match v {
            Value::Array(items) if items.len() == 2 => Window::Between(
                rfc3339(&items[0], &format!("{between_path}[0]"))?,
                rfc3339(&items[1], &format!("{between_path}[1]"))?,
            ),
            _ => return fail("wrong_type", &between_path, "must be an array of two times"),
        }
    } else {
        Window::All
    };
    let aggregate = match aggregates.first() {
        Some(func) => aggregate(func, &map[*func], &child(path, func))?,
        None => Aggregate {
            func: AggregateFn::Count,
            tests: vec![NumTest {
                op: Op::Gte,
                a: 1.0,
                b: 0.0,
            }],
        },
    };
    let sequence = match first_present(map, &["followed_by", "not_followed_by"]).first() {
        Some(key) => {
            let step_path = child(path, key);
            let step = object(&map[*key], &step_path, "a sequence step")?;
            check_keys(step, &["event", "call", "where", "within"], &step_path)?;
            if !step.contains_key("event") {
                return fail(
                    "missing_key",
                    &child(&step_path, "event"),
                    "the step has no `event`",
                );
            }
            let Some(within) = step.get("within") else {
                return fail(
                    "missing_key",
                    &child(&step_path, "within"),
                    "the step needs a `within`",
                );
            };
            Some(Sequence {
                negated: *key == "not_followed_by",
                step: event_match(step, &step_path)?,
                within: duration(within, &child(&step_path, "within"))?,
            })
        }
        None => None,
    };
    Ok(EventCondition {
        matcher,
        window,
        aggregate,
        sequence,
    })
}

fn seen(value: &Value, path: &str) -> Result<Vec<TimeBound>> {
    let map = object(value, path, "a first_seen / last_seen test")?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut bounds = Vec::new();
    for key in keys {
        let key_path = child(path, key);
        let after = match key.as_str() {
            "before" => false,
            "after" => true,
            _ => {
                return fail(
                    "unknown_operator",
                    &key_path,
                    format!("`{key}` is not `before` or `after`"),
                )
            }
        };
        bounds.push(TimeBound {
            after,
            at: time_ref(&map[key.as_str()], &key_path)?,
        });
    }
    if bounds.is_empty() {
        return fail("missing_operator", path, "give `before` and/or `after`");
    }
    Ok(bounds)
}

impl Context<'_> {
    fn document(&mut self, doc: &Value, path: &str) -> Result<Document> {
        let map = object(doc, path, "a segment")?;
        check_keys(map, &["id", "name", "description", "condition"], path)?;
        let text = |key: &str| -> Result<Option<String>> {
            map.get(key)
                .map(|v| string(v, &child(path, key)).map(str::to_string))
                .transpose()
        };
        let id = text("id")?;
        let name = text("name")?;
        let description = text("description")?;
        let condition_path = child(path, "condition");
        let Some(condition) = map.get("condition") else {
            return fail(
                "missing_key",
                &condition_path,
                "the segment has no `condition`",
            );
        };
        let pushed = id.is_some();
        if let Some(id) = &id {
            self.stack.push(id.clone());
        }
        let condition = self.condition(condition, &condition_path);
        if pushed {
            self.stack.pop();
        }
        Ok((id, name, description, condition?))
    }

    fn condition(&mut self, value: &Value, path: &str) -> Result<Condition> {
        // Parsing, evaluation and dropping all recurse once per level: a document built in
        // memory (JSON text already stops at 128 levels) must not be able to overflow the stack.
        if self.depth >= MAX_CONDITION_DEPTH {
            return fail(
                "too_deep",
                path,
                format!("conditions nest deeper than {MAX_CONDITION_DEPTH} levels"),
            );
        }
        self.depth += 1;
        let condition = self.condition_at(value, path);
        self.depth -= 1;
        condition
    }

    fn condition_at(&mut self, value: &Value, path: &str) -> Result<Condition> {
        let map = object(value, path, "a condition")?;
        let kinds = first_present(map, &CONDITION_KINDS);
        let Some(kind) = kinds.first().copied() else {
            return fail(
                "unknown_condition",
                path,
                "a condition has one of and, or, not, trait, event, first_seen, last_seen, in_segment, has_identifier",
            );
        };
        if let Some(second) = kinds.get(1) {
            return fail(
                "conflicting_keys",
                &child(path, second),
                format!("`{kind}` and `{second}` cannot be in one condition"),
            );
        }
        let kind_path = child(path, kind);
        let body = &map[kind];
        match kind {
            "and" | "or" => {
                check_keys(map, &[kind], path)?;
                let Value::Array(items) = body else {
                    return fail("wrong_type", &kind_path, "must be an array of conditions");
                };
                let parts = items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| self.condition(c, &format!("{kind_path}[{i}]")))
                    .collect::<Result<Vec<_>>>()?;
                Ok(if kind == "and" {
                    Condition::And(parts)
                } else {
                    Condition::Or(parts)
                })
            }
            "not" => {
                check_keys(map, &["not"], path)?;
                Ok(Condition::Not(Box::new(self.condition(body, &kind_path)?)))
            }
            "trait" => {
                check_keys(map, &["trait", "op", "value", "ignore_case"], path)?;
                let trait_path = string(body, &kind_path)?.to_string();
                Ok(Condition::Trait {
                    path: trait_path,
                    filter: filter(map, path)?,
                })
            }
            "event" => Ok(Condition::Event(Box::new(event_condition(map, path)?))),
            "first_seen" | "last_seen" => {
                check_keys(map, &[kind], path)?;
                let bounds = seen(body, &kind_path)?;
                Ok(if kind == "first_seen" {
                    Condition::FirstSeen(bounds)
                } else {
                    Condition::LastSeen(bounds)
                })
            }
            "has_identifier" => {
                check_keys(map, &[kind], path)?;
                Ok(Condition::HasIdentifier(
                    string(body, &kind_path)?.to_string(),
                ))
            }
            _ => {
                check_keys(map, &[kind], path)?;
                let id = string(body, &kind_path)?;
                self.reference(id, &kind_path)
            }
        }
    }

    fn reference(&mut self, id: &str, path: &str) -> Result<Condition> {
        if self.stack.iter().any(|s| s == id) {
            return fail(
                "segment_cycle",
                path,
                format!("segment `{id}` refers back to itself"),
            );
        }
        if let Some(&i) = self.index.get(id) {
            return Ok(Condition::InSegment(i));
        }
        let Some(doc) = self.saved.get(id) else {
            return fail("unknown_segment", path, format!("no saved segment `{id}`"));
        };
        self.stack.push(id.to_string());
        let parsed = self.document(doc, &format!("segments.{id}"));
        self.stack.pop();
        let (_, _, _, condition) = parsed?;
        self.resolved.push(condition);
        let i = self.resolved.len() - 1;
        self.index.insert(id.to_string(), i);
        Ok(Condition::InSegment(i))
    }
}
