//! Audience suggestions: given a goal (an event, or a trait value) find the audiences whose goal
//! rate stands out, as editable segment definitions with their exact size, lift and a one-line
//! reason.
//!
//! Candidate conditions come from the data's own statistics ([`DataSummary`]); every membership
//! is computed by the segment engine through [`AudienceSource`], so a suggestion's reported size
//! is the size the engine gives its definition. Everything runs in the core: no threads, no
//! files, no clock (`now` is a parameter), the same answer natively and in wasm.
//!
//! ```
//! use serde_json::{json, Value};
//! use tessera::suggest::{suggest, AudienceSource, DataSummary, Goal, SourceError, SuggestOptions};
//! use tessera::time::Timestamp;
//!
//! /// Ten profiles; a trait `plan` on all of them, `pro` for the last five.
//! struct Plans;
//! impl AudienceSource for Plans {
//!     fn profile_count(&self) -> usize { 10 }
//!     fn evaluate(&self, c: &Value, _now: Timestamp) -> Result<Vec<u32>, SourceError> {
//!         Ok(if c["value"] == json!("pro") { (5..10).collect() } else { Vec::new() })
//!     }
//! }
//! let summary = DataSummary::build(&[], &Default::default(), Timestamp(0), 30, None);
//! let options = SuggestOptions::new(Goal::parse("trait:plan=pro").unwrap(), "30d", Timestamp(0)).unwrap();
//! let report = suggest(&Plans, &summary, &options).unwrap();
//! assert_eq!(report.goal.reached, 5);
//! assert!(report.suggestions.is_empty()); // nothing to learn from an empty summary
//! ```

mod candidates;
mod lifecycle;
mod stats;
mod store;
mod summary;

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::{json, Value};

use crate::time::{Duration, Timestamp};

use candidates::{show, Candidate};
use stats::{bonferroni_z, wilson_lower, Members};
pub use summary::DataSummary;

/// Where memberships come from: the segment engine over a store of profiles.
pub trait AudienceSource {
    /// How many profiles the store holds; member indices are below this.
    fn profile_count(&self) -> usize;
    /// The indices of the profiles matching `condition` (a condition of `segments.md`) at
    /// `now`, sorted.
    fn evaluate(&self, condition: &Value, now: Timestamp) -> Result<Vec<u32>, SourceError>;
}

/// The segment engine refused a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// The engine's stable code (`unknown_key`, `bad_duration`, ...).
    pub code: String,
    /// The JSON path of the offending part, such as `condition.and[1].op`.
    pub path: String,
}

/// Why suggestions could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SuggestError {
    /// The goal is neither `event:NAME` nor `trait:PATH=VALUE`.
    #[error("goal `{0}` is neither `event:NAME` nor `trait:PATH=VALUE`")]
    BadGoal(String),
    /// The horizon is not a duration such as `30d`.
    #[error("horizon `{0}` is not a duration such as `30d`")]
    BadHorizon(String),
    /// The segment engine refused a condition built here.
    #[error("the segment engine refused {condition}: {} at {}", .error.code, .error.path)]
    Engine {
        /// The condition, as JSON text.
        condition: String,
        /// What the engine said.
        error: SourceError,
    },
    /// The segment engine returned a member index at or past its profile count.
    #[error("the segment engine returned member {index} of only {count} profiles")]
    MemberOutOfRange {
        /// The index returned.
        index: u32,
        /// The profile count.
        count: usize,
    },
}

impl SuggestError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SuggestError::BadGoal(_) => "bad_goal",
            SuggestError::BadHorizon(_) => "bad_duration",
            SuggestError::Engine { .. } => "engine_error",
            SuggestError::MemberOutOfRange { .. } => "member_out_of_range",
        }
    }

    /// The JSON path of the offending input (`goal`, `horizon`), or the engine's path.
    pub fn path(&self) -> &str {
        match self {
            SuggestError::BadGoal(_) => "goal",
            SuggestError::BadHorizon(_) => "horizon",
            SuggestError::Engine { error, .. } => &error.path,
            SuggestError::MemberOutOfRange { .. } => "",
        }
    }
}

/// What the marketer wants more of.
#[derive(Clone, Debug, PartialEq)]
pub enum Goal {
    /// Doing this track event within the horizon.
    Event(String),
    /// Having this trait value (traits are those of the whole event set, as in segments).
    Trait {
        /// Dot path of the trait.
        path: String,
        /// The value, compared with `eq`.
        value: Value,
    },
}

impl Goal {
    /// Parses `event:Order Completed` or `trait:plan=pro`. A trait value of `true`/`false` is a
    /// boolean, one of the form `-12.5` a number (which also matches numeric strings), anything
    /// else a string.
    pub fn parse(text: &str) -> Result<Goal, SuggestError> {
        let bad = || SuggestError::BadGoal(text.to_owned());
        if let Some(name) = text.strip_prefix("event:") {
            return (!name.is_empty())
                .then(|| Goal::Event(name.to_owned()))
                .ok_or_else(bad);
        }
        let (path, raw) = text
            .strip_prefix("trait:")
            .and_then(|t| t.split_once('='))
            .ok_or_else(bad)?;
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(bad());
        }
        let numeric = {
            let body = raw.strip_prefix('-').unwrap_or(raw);
            let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
            digits(int) && digits(frac)
        };
        let value = match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ if numeric => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::from(raw), Value::Number),
            _ => Value::from(raw),
        };
        Ok(Goal::Trait {
            path: path.to_owned(),
            value,
        })
    }

    /// The goal as a condition of the segment language; `horizon` is the window of an event
    /// goal.
    pub fn condition(&self, horizon: &str) -> Value {
        match self {
            Goal::Event(name) => json!({"event": name, "within": horizon}),
            Goal::Trait { path, value } => json!({"trait": path, "op": "eq", "value": value}),
        }
    }

    /// How the goal reads in an explanation.
    pub fn describe(&self) -> String {
        match self {
            Goal::Event(name) => name.clone(),
            Goal::Trait { path, value } => format!("{path} = {}", show(value)),
        }
    }

    pub(crate) fn is_event(&self, name: &str) -> bool {
        matches!(self, Goal::Event(goal) if goal == name)
    }

    pub(crate) fn is_trait(&self) -> bool {
        matches!(self, Goal::Trait { .. })
    }

    /// Whether a trait at `path` would restate the goal: the goal trait, a part of it, or an
    /// object holding it.
    pub(crate) fn is_trait_related(&self, path: &str) -> bool {
        let Goal::Trait { path: goal, .. } = self else {
            return false;
        };
        let nested = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.'))
        };
        goal == path || nested(goal, path) || nested(path, goal)
    }
}

/// The settings of a suggestion run.
#[derive(Clone, Debug)]
pub struct SuggestOptions {
    /// What to find audiences for.
    pub goal: Goal,
    /// The goal's window (event goals), as a duration text such as `30d`.
    pub horizon: String,
    /// The time everything is evaluated at.
    pub now: Timestamp,
    /// How many suggestions to return.
    pub top: usize,
    /// Smallest audience worth suggesting, in profiles.
    pub min_profiles: usize,
    /// Smallest audience worth suggesting, as a share of all profiles.
    pub min_share: f64,
    /// Smallest lift (goal rate inside over overall) worth suggesting.
    pub min_lift: f64,
    /// The chance, over every condition tried, of suggesting an audience whose rate is not
    /// really above the overall rate (Bonferroni-corrected).
    pub alpha: f64,
    /// Most conditions a suggested rule may combine with `and`.
    pub max_conditions: usize,
    /// The `(event, property)` that holds money, for the high-value audience; found in the
    /// data when absent.
    pub revenue: Option<(String, String)>,
}

impl SuggestOptions {
    /// The defaults: top 5, at least 30 profiles and 1% of all, lift at least 1.2,
    /// alpha 0.05, rules of up to 3 conditions.
    pub fn new(goal: Goal, horizon: &str, now: Timestamp) -> Result<SuggestOptions, SuggestError> {
        Duration::parse(horizon).map_err(|_| SuggestError::BadHorizon(horizon.to_owned()))?;
        Ok(SuggestOptions {
            goal,
            horizon: horizon.to_owned(),
            now,
            top: 5,
            min_profiles: 30,
            min_share: 0.01,
            min_lift: 1.2,
            alpha: 0.05,
            max_conditions: 3,
            revenue: None,
        })
    }

    /// The horizon in whole days, rounded up (0 when it does not parse).
    pub fn horizon_days(&self) -> i64 {
        Duration::parse(&self.horizon).map_or(0, |d| (d.millis + 86_399_999) / 86_400_000)
    }
}

/// The goal as measured over all profiles.
#[derive(Clone, Debug, Serialize)]
pub struct GoalReach {
    /// How the goal reads.
    pub description: String,
    /// The goal as a condition.
    pub condition: Value,
    /// Profiles in total.
    pub profiles: usize,
    /// Profiles that reached the goal.
    pub reached: usize,
    /// `reached / profiles`.
    pub rate: f64,
}

/// One suggested audience.
#[derive(Clone, Debug, Serialize)]
pub struct Suggestion {
    /// An editable segment document (`id`, `name`, `description`, `condition`).
    pub segment: Value,
    /// Members, as the engine counts them.
    pub size: usize,
    /// Members that reached the goal.
    pub reached: usize,
    /// `reached / size`.
    pub rate: f64,
    /// `rate` over the overall goal rate.
    pub lift: f64,
    /// The lift at the lower confidence bound of `rate`: what the data guarantees.
    pub lift_lower: f64,
    /// One line: the rule and its lift.
    pub explanation: String,
}

/// A ready-made audience: lookalikes or a lifecycle stage.
#[derive(Clone, Debug, Serialize)]
pub struct Audience {
    /// `lookalike`, `new`, `active`, `at_risk`, `lapsed`, `high_value`.
    pub kind: String,
    /// An editable segment document.
    pub segment: Value,
    /// Members, as the engine counts them.
    pub size: usize,
    /// What it is and how its thresholds were chosen.
    pub explanation: String,
}

/// Everything a suggestion run found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The time of evaluation.
    pub now: String,
    /// The goal, measured.
    pub goal: GoalReach,
    /// The best audiences, best first.
    pub suggestions: Vec<Suggestion>,
    /// Profiles matching the best rules that have not reached the goal yet.
    pub lookalike: Option<Audience>,
    /// New, active, at-risk, lapsed and high-value audiences from the data's own quantiles.
    pub lifecycle: Vec<Audience>,
    /// Single conditions evaluated by the engine.
    pub candidates: usize,
    /// Hypotheses the confidence level was corrected for.
    pub hypotheses: usize,
    /// The normal quantile used for lower bounds.
    pub z: f64,
}

/// How many of the best single conditions the rule learner refines.
const BEAM: usize = 8;

/// A conjunction of candidates with its members and score.
#[derive(Clone, Debug)]
struct Rule {
    parts: Vec<usize>,
    members: Members,
    size: usize,
    reached: usize,
    lower: f64,
}

/// Finds audiences for `options.goal`, evaluating every condition through `source`.
pub fn suggest(
    source: &dyn AudienceSource,
    summary: &DataSummary,
    options: &SuggestOptions,
) -> Result<Report, SuggestError> {
    let n = source.profile_count();
    let now = options.now;
    let evaluate = |condition: &Value| -> Result<Members, SuggestError> {
        let indices = source
            .evaluate(condition, now)
            .map_err(|error| SuggestError::Engine {
                condition: condition.to_string(),
                error,
            })?;
        Members::from_indices(&indices, n)
            .map_err(|index| SuggestError::MemberOutOfRange { index, count: n })
    };
    let goal_condition = options.goal.condition(&options.horizon);
    let goal = evaluate(&goal_condition)?;
    let reached = goal.len();
    let base = if n == 0 {
        0.0
    } else {
        reached as f64 / n as f64
    };
    let min_support = options
        .min_profiles
        .max((options.min_share * n as f64).ceil() as usize)
        .max(1);

    // Evaluate each candidate once; conditions with too few members, everyone, or the same
    // members as an earlier (simpler) one are dropped.
    let mut kept: Vec<(Candidate, Members)> = Vec::new();
    let mut seen: FxHashMap<Members, ()> = FxHashMap::default();
    let all = candidates::candidates(summary, &options.goal, min_support);
    let tried = all.len();
    for candidate in all {
        let members = evaluate(&candidate.condition)?;
        let size = members.len();
        if size < min_support || size == n || seen.contains_key(&members) {
            continue;
        }
        seen.insert(members.clone(), ());
        kept.push((candidate, members));
    }

    let hypotheses = kept.len() * (1 + BEAM * options.max_conditions.saturating_sub(1));
    let z = bonferroni_z(options.alpha, hypotheses);
    let score = |parts: Vec<usize>, members: Members| -> Rule {
        let size = members.len();
        let hits = members.and_len(&goal);
        Rule {
            parts,
            size,
            reached: hits,
            lower: wilson_lower(hits, size, z),
            members,
        }
    };
    let passes = |r: &Rule| {
        r.size >= min_support
            && r.lower > base
            && r.reached as f64 >= options.min_lift * base * r.size as f64
    };

    let mut rules: Vec<Rule> = Vec::new();
    if reached > 0 && reached < n {
        let mut singles: Vec<Rule> = kept
            .iter()
            .enumerate()
            .map(|(i, (_, m))| score(vec![i], m.clone()))
            .filter(|r| passes(r))
            .collect();
        singles.sort_by(rank);
        let mut beam: Vec<Rule> = Vec::new();
        for r in &singles {
            if beam.len() < BEAM
                && beam
                    .iter()
                    .all(|b| kept[b.parts[0]].0.family != kept[r.parts[0]].0.family)
            {
                beam.push(r.clone());
            }
        }
        rules.extend(singles);
        for start in beam {
            let mut current = start;
            while current.parts.len() < options.max_conditions {
                let mut best: Option<Rule> = None;
                for (i, (candidate, members)) in kept.iter().enumerate() {
                    if current
                        .parts
                        .iter()
                        .any(|&p| kept[p].0.family == candidate.family)
                    {
                        continue;
                    }
                    let size = current.members.and_len(members);
                    if size < min_support {
                        continue;
                    }
                    let hits = current.members.and3_len(members, &goal);
                    let lower = wilson_lower(hits, size, z);
                    // A longer rule must earn its place: its guaranteed rate must beat the
                    // shorter rule's observed rate (else the gain may be the luck of picking
                    // the best of many subsets) and raise the guaranteed lift by 5%.
                    let parent_rate = current.reached as f64 / current.size as f64;
                    if lower <= parent_rate
                        || lower <= current.lower * 1.05
                        || best.as_ref().is_some_and(|b| lower <= b.lower)
                    {
                        continue;
                    }
                    let mut parts = current.parts.clone();
                    parts.push(i);
                    best = Some(score(parts, current.members.and(members)));
                }
                match best {
                    Some(next) if passes(&next) => {
                        rules.push(next.clone());
                        current = next;
                    }
                    _ => break,
                }
            }
        }
        rules.sort_by(rank);
    }

    // The best rules that say something different: not about the same things as a better one,
    // and not (nearly) the same people.
    let mut chosen: Vec<Rule> = Vec::new();
    for rule in rules {
        if chosen.len() >= options.top {
            break;
        }
        let families = family_set(&rule, &kept);
        let redundant = chosen.iter().any(|c| {
            let union = c.members.or_len(&rule.members);
            family_set(c, &kept) == families
                || (union > 0 && c.members.and_len(&rule.members) * 5 >= union * 4)
        });
        if !redundant {
            chosen.push(rule);
        }
    }

    let goal_text = options.goal.describe();
    let mut suggestions = Vec::new();
    let mut best_conditions = Vec::new();
    for (i, rule) in chosen.iter().enumerate() {
        let condition = rule_condition(rule, &kept);
        // The reported figures are the engine's own for the whole definition.
        let members = evaluate(&condition)?;
        let size = members.len();
        let hits = members.and_len(&goal);
        let rate = ratio(hits, size);
        let lift = if base > 0.0 { rate / base } else { 0.0 };
        let lift_lower = if base > 0.0 {
            wilson_lower(hits, size, z) / base
        } else {
            0.0
        };
        let phrase = capitalize(
            &rule
                .parts
                .iter()
                .map(|&p| kept[p].0.phrase.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
        );
        let explanation = format!(
            "{phrase}: {}x the usual rate of {goal_text} ({} vs {})",
            round1(lift),
            percent(rate),
            percent(base)
        );
        suggestions.push(Suggestion {
            segment: json!({
                "id": format!("suggested_{}", i + 1),
                "name": phrase,
                "description": explanation,
                "condition": condition.clone(),
            }),
            size,
            reached: hits,
            rate,
            lift,
            lift_lower,
            explanation,
        });
        if best_conditions.len() < 3 {
            best_conditions.push(condition);
        }
    }

    let lookalike = match best_conditions.len() {
        0 => None,
        count => {
            let rules = if count == 1 {
                best_conditions.remove(0)
            } else {
                json!({ "or": best_conditions })
            };
            let matching = evaluate(&rules)?;
            let condition = json!({"and": [rules, {"not": goal_condition}]});
            let size = evaluate(&condition)?.len();
            let explanation = format!(
                "Matches the top {count} suggestion{} but has not reached {goal_text} yet; \
                 {} of everyone matching them reached it, vs {} overall",
                if count == 1 { "" } else { "s" },
                percent(ratio(matching.and_len(&goal), matching.len())),
                percent(base)
            );
            Some(Audience {
                kind: "lookalike".into(),
                segment: json!({
                    "id": "lookalike",
                    "name": format!("Likely to reach {goal_text}"),
                    "description": explanation,
                    "condition": condition,
                }),
                size,
                explanation,
            })
        }
    };

    let mut lifecycle = Vec::new();
    for stage in lifecycle::stages(summary, options) {
        let size = evaluate(&stage.condition)?.len();
        lifecycle.push(Audience {
            segment: json!({
                "id": format!("lifecycle_{}", stage.kind),
                "name": stage.name,
                "description": stage.explanation,
                "condition": stage.condition,
            }),
            kind: stage.kind.into(),
            size,
            explanation: stage.explanation,
        });
    }

    Ok(Report {
        now: now.to_string(),
        goal: GoalReach {
            description: goal_text,
            condition: goal_condition,
            profiles: n,
            reached,
            rate: base,
        },
        suggestions,
        lookalike,
        lifecycle,
        candidates: tried,
        hypotheses,
        z,
    })
}

/// Best first: higher guaranteed rate, then fewer conditions, then larger, then by definition
/// text, so equal inputs always give the same order.
fn rank(a: &Rule, b: &Rule) -> std::cmp::Ordering {
    b.lower
        .total_cmp(&a.lower)
        .then(a.parts.len().cmp(&b.parts.len()))
        .then(b.size.cmp(&a.size))
        .then_with(|| a.parts.cmp(&b.parts))
}

fn family_set(rule: &Rule, kept: &[(Candidate, Members)]) -> Vec<String> {
    let mut f: Vec<String> = rule
        .parts
        .iter()
        .map(|&p| kept[p].0.family.clone())
        .collect();
    f.sort();
    f
}

fn rule_condition(rule: &Rule, kept: &[(Candidate, Members)]) -> Value {
    match rule.parts.as_slice() {
        [one] => kept[*one].0.condition.clone(),
        parts => {
            json!({"and": parts.iter().map(|&p| kept[p].0.condition.clone()).collect::<Vec<_>>()})
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
