//! Identity resolution (`identity.md`): identifiers, the canonical-order algorithm with merge
//! protection, stable profile ids, explanations, deletion and un-merge.
//!
//! Two ways in give one answer: [`resolve`] for a whole set of events, and [`IdentityGraph`]
//! for events arriving one by one in any order. Both run the same engine in canonical order
//! (event time, then `messageId`), so the result depends only on the set of events.
//!
//! ```
//! use tessera::identity::{resolve, IdentitySettings};
//! use tessera::{CallType, Event, Timestamp};
//!
//! let event = |id: &str, t: i64, user: Option<&str>, anon: &str| Event {
//!     message_id: id.into(), call: CallType::Track, name: Some("x".into()),
//!     user_id: user.map(Into::into), anonymous_id: Some(anon.into()), previous_id: None,
//!     group_id: None, time: Timestamp(t), received_at: None, properties: Default::default(),
//!     traits: Default::default(), context: Default::default(), integrations: Default::default(),
//! };
//! let events = [event("m1", 1, None, "a1"), event("m2", 2, Some("42"), "a1")];
//! let resolution = resolve(&events, &IdentitySettings::default());
//! assert_eq!(resolution.profiles.len(), 1);
//! // The profile was created by the anonymous event and keeps that id.
//! assert_eq!(resolution.profiles[0].id, tessera::identity::profile_id_for("anonymous_id", "a1"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::event::{Event, Object};
use crate::time::Timestamp;

mod engine;
mod explain;
mod extract;
mod graph;
mod staging;

pub use engine::profile_id_for;
use engine::{Engine, NONE};
pub use explain::{BlockedMerge, Explanation, JoinStep, TypeOverLimit};
pub use extract::IdentityParts;
pub use graph::{Added, IdentityGraph, ProfileChanges};
use staging::{StagedEvent, Staging};

/// The identifier types the contract defines, highest priority first by default (custom types
/// rank between `phone` and `anonymous_id`).
pub const BUILT_IN_TYPES: [&str; 4] = ["user_id", "email", "phone", "anonymous_id"];

/// Workspace identity settings: priorities and per-type limits.
///
/// The default (empty lists) is the contract's default: priority `user_id`, `email`, `phone`,
/// custom types in byte order, `anonymous_id`; limits `user_id` 1, `anonymous_id` 100, every
/// other type 5.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentitySettings {
    /// Types ranked highest first. Types not listed rank after every listed type, in their
    /// default order.
    pub priorities: Vec<String>,
    /// Per-type limits (integers ≥ 1) overriding the defaults.
    pub limits: BTreeMap<String, u32>,
}

/// Settings that could not be read, with a stable code and the JSON path of the offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    /// Stable snake_case code: `invalid_json`, `not_an_object`, `unknown_field`,
    /// `invalid_priorities`, `invalid_type_name`, `duplicate_priority`, `invalid_limits`,
    /// `invalid_limit`.
    pub code: &'static str,
    /// JSON path of the offending field (`priorities[2]`, `limits.email`; empty for the whole).
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{} at {}: {}", self.code, self.path, self.message)
        }
    }
}

impl std::error::Error for SettingsError {}

fn settings_error(code: &'static str, path: impl Into<String>, message: &str) -> SettingsError {
    SettingsError {
        code,
        path: path.into(),
        message: message.into(),
    }
}

impl IdentitySettings {
    /// The default limit of a type: `user_id` 1, `anonymous_id` 100, any other 5.
    pub fn default_limit(kind: &str) -> u32 {
        match kind {
            "user_id" => 1,
            "anonymous_id" => 100,
            _ => 5,
        }
    }

    /// The limit in force for a type.
    pub fn limit(&self, kind: &str) -> u32 {
        self.limits
            .get(kind)
            .copied()
            .unwrap_or_else(|| Self::default_limit(kind))
    }

    /// Reads settings from JSON text: `{"priorities": [...], "limits": {...}}`, both optional.
    pub fn from_json(text: &str) -> Result<IdentitySettings, SettingsError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| settings_error("invalid_json", "", &e.to_string()))?;
        Self::from_value(&value)
    }

    /// Reads settings from a parsed JSON value.
    pub fn from_value(value: &Value) -> Result<IdentitySettings, SettingsError> {
        let obj = value
            .as_object()
            .ok_or_else(|| settings_error("not_an_object", "", "settings must be an object"))?;
        let mut settings = IdentitySettings::default();
        for (key, v) in obj {
            match key.as_str() {
                "priorities" => {
                    let list = v.as_array().ok_or_else(|| {
                        settings_error(
                            "invalid_priorities",
                            "priorities",
                            "must be an array of type names",
                        )
                    })?;
                    for (i, item) in list.iter().enumerate() {
                        let path = format!("priorities[{i}]");
                        let name = item
                            .as_str()
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| {
                                settings_error(
                                    "invalid_type_name",
                                    path.clone(),
                                    "must be a non-empty string",
                                )
                            })?;
                        if settings.priorities.iter().any(|p| p == name) {
                            return Err(settings_error(
                                "duplicate_priority",
                                path,
                                "type listed twice",
                            ));
                        }
                        settings.priorities.push(name.to_string());
                    }
                }
                "limits" => {
                    let map = v.as_object().ok_or_else(|| {
                        settings_error(
                            "invalid_limits",
                            "limits",
                            "must be an object of type: limit",
                        )
                    })?;
                    for (kind, limit) in map {
                        let name = kind.trim();
                        if name.is_empty() {
                            return Err(settings_error(
                                "invalid_type_name",
                                format!("limits.{kind}"),
                                "type name must not be empty",
                            ));
                        }
                        let n = limit
                            .as_u64()
                            .filter(|&n| n >= 1)
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| {
                                settings_error(
                                    "invalid_limit",
                                    format!("limits.{kind}"),
                                    "must be an integer of at least 1",
                                )
                            })?;
                        settings.limits.insert(name.to_string(), n);
                    }
                }
                other => {
                    return Err(settings_error(
                        "unknown_field",
                        other,
                        "expected `priorities` or `limits`",
                    ))
                }
            }
        }
        Ok(settings)
    }
}

/// One identifier: a type and a normalized value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identifier {
    /// The type name (`user_id`, `email`, `phone`, `anonymous_id` or a custom type).
    pub kind: String,
    /// The normalized value.
    pub value: String,
}

impl Identifier {
    /// An identifier from a type and an already normalized value.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Identifier {
        Identifier {
            kind: kind.into(),
            value: value.into(),
        }
    }

    /// An identifier from a type and a raw value, normalized by that type's rule; `None` when
    /// the value yields no identifier (blocked, an email without `@`, ...).
    pub fn normalized(kind: &str, raw: &str) -> Option<Identifier> {
        let kind = kind.trim();
        let value = extract::normalize(kind, raw)?;
        Some(Identifier::new(kind, value.into_owned()))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.value)
    }
}

/// Identifiers that act as blocked: those of deleted profiles and removed identifiers.
pub type Suppression = BTreeSet<Identifier>;

/// The identifiers an event carries (normalized, deduplicated, blocked values removed), before
/// alias typing: an alias call's `previousId` is returned as the second element, untyped.
pub fn event_identifiers(event: &Event) -> (Vec<Identifier>, Option<String>) {
    let mut out: Vec<Identifier> = Vec::new();
    extract::for_each_identifier(event, |kind, value| {
        if !out.iter().any(|i| i.kind == kind && i.value == value) {
            out.push(Identifier::new(kind, value));
        }
    });
    (out, extract::previous_id(event).map(str::to_string))
}

/// A unified customer profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Stable id: `p_` + 16 hex digits.
    pub id: String,
    /// Identifier values by type (`user_id`, `email`, ...), each set sorted by byte order.
    pub identifiers: BTreeMap<String, BTreeSet<String>>,
    /// Profile traits after applying every event in canonical order.
    pub traits: Object,
    /// How many events belong to the profile.
    pub event_count: u64,
    /// Time of the profile's first event.
    pub first_seen: Timestamp,
    /// Time of the profile's last event.
    pub last_seen: Timestamp,
}

impl Profile {
    /// True when the profile holds this identifier.
    pub fn holds(&self, kind: &str, value: &str) -> bool {
        self.identifiers
            .get(kind)
            .is_some_and(|values| values.contains(value))
    }

    /// The profile as JSON: `{"id", "identifiers": {type: [values]}, "traits", "event_count",
    /// "first_seen", "last_seen"}`.
    pub fn to_json(&self) -> Value {
        let identifiers: serde_json::Map<String, Value> = self
            .identifiers
            .iter()
            .map(|(k, vs)| {
                (
                    k.clone(),
                    Value::Array(vs.iter().map(|v| Value::String(v.clone())).collect()),
                )
            })
            .collect();
        serde_json::json!({
            "id": self.id,
            "identifiers": identifiers,
            "traits": self.traits,
            "event_count": self.event_count,
            "first_seen": self.first_seen.to_string(),
            "last_seen": self.last_seen.to_string(),
        })
    }
}

/// The result of resolving a set of events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolution {
    /// Every profile, sorted by id.
    pub profiles: Vec<Profile>,
    /// For each input event (same index as the input slice), the index in `profiles` of the
    /// profile it belongs to, or `None` when it identifies no one (unresolved).
    pub event_profile: Vec<Option<u32>>,
}

impl Resolution {
    /// How many events belong to no profile.
    pub fn unresolved(&self) -> u64 {
        self.event_profile.iter().filter(|p| p.is_none()).count() as u64
    }

    /// The profile with this id.
    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.profiles[i])
    }

    /// The profile holding an identifier; `value` is normalized by the type's rule first.
    pub fn profile_by_identifier(&self, kind: &str, value: &str) -> Option<&Profile> {
        let ident = Identifier::normalized(kind, value)?;
        self.profiles
            .iter()
            .find(|p| p.holds(&ident.kind, &ident.value))
    }

    /// What deleting a profile takes away: its events (by index into the resolved slice) and
    /// its identifiers, which the caller adds to its [`Suppression`] before resolving again.
    pub fn deletion(&self, events: &[Event], profile_id: &str) -> Option<Deletion> {
        let index = self
            .profiles
            .binary_search_by(|p| p.id.as_str().cmp(profile_id))
            .ok()?;
        let profile = &self.profiles[index];
        let message_ids = self
            .event_profile
            .iter()
            .zip(events)
            .filter(|(p, _)| **p == Some(index as u32))
            .map(|(_, e)| e.message_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let identifiers = profile
            .identifiers
            .iter()
            .flat_map(|(k, vs)| {
                vs.iter()
                    .map(move |v| Identifier::new(k.clone(), v.clone()))
            })
            .collect();
        Some(Deletion {
            profile_id: profile.id.clone(),
            message_ids,
            identifiers,
        })
    }
}

/// What a profile deletion removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// The deleted profile's id.
    pub profile_id: String,
    /// The `messageId`s of its events (sorted), which the store must delete.
    pub message_ids: Vec<String>,
    /// Its identifiers, now suppressed.
    pub identifiers: Vec<Identifier>,
}

/// Resolves a set of events into profiles, by the canonical-order algorithm.
///
/// Events sharing a `messageId` follow the dedup rule (the earliest event time is kept, ties:
/// the first in the slice); the others change nothing and map to the kept one's profile.
pub fn resolve(events: &[Event], settings: &IdentitySettings) -> Resolution {
    resolve_with(events, settings, &Suppression::new())
}

/// [`resolve`] with suppressed identifiers (deleted profiles, removed identifiers), which act as
/// blocked values.
pub fn resolve_with(
    events: &[Event],
    settings: &IdentitySettings,
    suppressed: &Suppression,
) -> Resolution {
    let mut engine = Engine::new(settings);
    suppress_all(&mut engine, suppressed);
    let mut arena = Vec::with_capacity(events.len() * 2);
    let mut start = Vec::with_capacity(events.len() + 1);
    let mut previous = Vec::with_capacity(events.len());
    let mut staged = StagedEvent::default();
    for event in events {
        start.push(arena.len() as u32);
        previous.push(prepare(&mut engine, event, &mut arena, &mut staged));
    }
    start.push(arena.len() as u32);
    let canonical = canonical_order(events.len(), |i| {
        let e = &events[i as usize];
        (e.time, e.message_id.as_str())
    });
    let mut event_slot = vec![NONE; events.len()];
    let mut kept: FxHashMap<&str, u32> = FxHashMap::default();
    kept.reserve(events.len());
    let mut live = Vec::with_capacity(events.len());
    let mut duplicates = Vec::new();
    // Slots are created in canonical order here, so creating events compare by position.
    let mut rank = vec![0u32; events.len()];
    for (r, &e) in canonical.iter().enumerate() {
        rank[e as usize] = r as u32;
    }
    let earlier = |a: u32, b: u32| rank[a as usize] < rank[b as usize];
    for &e in &canonical {
        let ei = e as usize;
        if let Some(&first) = kept.get(events[ei].message_id.as_str()) {
            duplicates.push((e, first));
            continue;
        }
        kept.insert(events[ei].message_id.as_str(), e);
        live.push(e);
        let ids = &arena[start[ei] as usize..start[ei + 1] as usize];
        event_slot[ei] = engine.step(ids, previous[ei], e, &earlier, None);
    }
    let mut resolution = assemble(
        &mut engine,
        live.iter().copied(),
        &event_slot,
        events.len(),
        |e| events[e as usize].time,
        |e| events[e as usize].profile_traits(),
    );
    for (dup, first) in duplicates {
        resolution.event_profile[dup as usize] = resolution.event_profile[first as usize];
    }
    resolution
}

/// Events whose identifiers are interned up front, for loaders that never hold full [`Event`]s
/// (the streaming pipeline): each event is read once, and resolution later runs on `u32`s.
///
/// Resolving gives the same answer as [`resolve`] over the same events.
#[derive(Clone, Debug)]
pub struct PreparedEvents {
    engine: Engine,
    arena: Vec<u32>,
    start: Vec<u32>,
    previous: Vec<[u32; 2]>,
    /// The last few events pushed, interned a few pushes later (see `staging.rs`).
    staging: Staging,
}

impl PreparedEvents {
    /// An empty set under these settings.
    pub fn new(settings: &IdentitySettings) -> PreparedEvents {
        PreparedEvents {
            engine: Engine::new(settings),
            arena: Vec::new(),
            start: vec![0],
            previous: Vec::new(),
            staging: Staging::default(),
        }
    }

    /// Interns an event's identifiers; returns its index (events are numbered from 0).
    pub fn push(&mut self, event: &Event) -> u32 {
        self.push_parts(&IdentityParts::of(event))
    }

    /// [`PreparedEvents::push`] for an event given by its borrowed parts.
    pub fn push_parts(&mut self, parts: &IdentityParts<'_>) -> u32 {
        let e = self.len() as u32;
        if let Some(due) = self.staging.push(&mut self.engine, parts) {
            self.intern(due);
        }
        e
    }

    /// Interns a staged event, the next in push order.
    fn intern(&mut self, event: StagedEvent) {
        let previous = event.intern(&mut self.engine, &mut self.arena);
        self.previous.push(previous);
        self.start.push(self.arena.len() as u32);
        self.staging.done(event);
    }

    /// How many events were pushed.
    pub fn len(&self) -> usize {
        self.previous.len() + self.staging.len()
    }

    /// True when no event was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves the events listed in `canonical`, which must be deduplicated (one per
    /// `messageId`) and in canonical order (time, then `messageId`). `time_at(pos)` is the time
    /// of the event at position `pos` of `canonical`; `traits_at(pos)` its profile traits,
    /// pre-merged in application order (a `null` member removes the key). Both are asked in
    /// position order. `event_profile` follows the positions in `canonical`.
    pub fn resolve<'a>(
        self,
        canonical: &[u32],
        time_at: impl Fn(u32) -> Timestamp,
        traits_at: impl Fn(u32) -> Option<&'a Object>,
    ) -> Resolution {
        self.resolve_compact(canonical, time_at, |pos| traits_at(pos).is_some())
            .into_resolution(|setters| {
                merged_traits(setters, |pos| traits_at(pos).into_iter().flatten())
            })
    }

    /// [`PreparedEvents::resolve`] with the profiles left unbuilt: `sets_traits(pos)` tells
    /// whether the event at `pos` sets profile traits, and [`CompactResolution::profile`] is
    /// given them when a profile is read.
    pub fn resolve_compact(
        mut self,
        canonical: &[u32],
        time_at: impl Fn(u32) -> Timestamp,
        sets_traits: impl Fn(u32) -> bool,
    ) -> CompactResolution {
        while let Some(event) = self.staging.pop() {
            self.intern(event);
        }
        let mut slot_at = Vec::with_capacity(canonical.len());
        // Events are numbered by canonical position here, so "created earlier" is `<`.
        let earlier = |a: u32, b: u32| a < b;
        let (arena, start) = (&self.arena, &self.start);
        let ids_of = |e: u32| &arena[start[e as usize] as usize..start[e as usize + 1] as usize];
        for (pos, &e) in canonical.iter().enumerate() {
            // Events of one profile lie far apart in time, so each step's reads would miss the
            // cache: they are asked for some events ahead, in two steps (owners, then theirs).
            if let Some(&ahead) = canonical.get(pos + 16) {
                self.engine.prefetch_identifiers(ids_of(ahead));
            }
            if let Some(&ahead) = canonical.get(pos + 8) {
                self.engine.prefetch_owners(ids_of(ahead));
            }
            let ei = e as usize;
            let ids = ids_of(e);
            let slot = self
                .engine
                .step(ids, self.previous[ei], pos as u32, &earlier, None);
            slot_at.push(slot);
        }
        self.arena = Vec::new();
        self.start = Vec::new();
        self.previous = Vec::new();
        let layout = Layout::new(
            &mut self.engine,
            0..canonical.len() as u32,
            &slot_at,
            canonical.len(),
            time_at,
            sets_traits,
        );
        CompactResolution {
            layout,
            types: self.engine.types,
            ids: self.engine.ids,
        }
    }
}

/// Marks suppressed identifiers in an engine (interning them so later events see the flag).
fn suppress_all(engine: &mut Engine, suppressed: &Suppression) {
    for ident in suppressed {
        let x = engine.intern(&ident.kind, &ident.value);
        engine.suppress(x);
    }
}

/// Interns an event's identifiers into `arena` (deduplicated) and returns its alias
/// `previousId` interned as `[user_id, anonymous_id]`; `staged` is scratch space, reused.
fn prepare(
    engine: &mut Engine,
    event: &Event,
    arena: &mut Vec<u32>,
    staged: &mut StagedEvent,
) -> [u32; 2] {
    staged.clear();
    staged.read(engine, &IdentityParts::of(event));
    staged.intern(engine, arena)
}

/// Event indices sorted by (time, messageId, index).
fn canonical_order<'a>(n: usize, key: impl Fn(u32) -> (Timestamp, &'a str)) -> Vec<u32> {
    let mut packed: Vec<u128> = (0..n as u32)
        .map(|i| {
            let t = (key(i).0 .0 as u64) ^ (1 << 63);
            (u128::from(t) << 32) | u128::from(i)
        })
        .collect();
    packed.sort_unstable();
    let mut order: Vec<u32> = packed.into_iter().map(|k| k as u32).collect();
    let mut i = 0;
    while i < order.len() {
        let t = key(order[i]).0;
        let mut j = i + 1;
        while j < order.len() && key(order[j]).0 == t {
            j += 1;
        }
        if j - i > 1 {
            // Stable: equal messageIds stay in input order.
            order[i..j].sort_by(|&a, &b| key(a).1.cmp(key(b).1));
        }
        i = j;
    }
    order
}

/// Applies one event's profile traits: top-level keys, later wins, `null` removes.
pub(crate) fn apply_traits(traits: &mut Object, set: impl IntoIterator<Item = (String, Value)>) {
    for (k, v) in set {
        if v.is_null() {
            traits.remove(&k);
        } else {
            traits.insert(k, v);
        }
    }
}

/// Builds the profiles from the engine's final state.
///
/// `order` lists the live events in canonical order; `event_slot[e]` is the slot event `e` was
/// attached to. Profiles come out sorted by id, `event_profile` indexed by event.
fn assemble<'a, T>(
    engine: &mut Engine,
    order: impl Iterator<Item = u32> + Clone,
    event_slot: &[u32],
    n_events: usize,
    time_of: impl Fn(u32) -> Timestamp,
    traits_of: impl Fn(u32) -> T,
) -> Resolution
where
    T: Iterator<Item = (&'a String, &'a Value)>,
{
    let layout = Layout::new(engine, order, event_slot, n_events, time_of, |e| {
        traits_of(e).next().is_some()
    });
    let profiles = (0..layout.len())
        .map(|p| {
            layout.profile(p, &engine.types, &engine.ids, |setters| {
                merged_traits(setters, &traits_of)
            })
        })
        .collect();
    Resolution {
        profiles,
        event_profile: layout.event_profile,
    }
}

/// What each profile is made of, by number, with no profile built: its id, event count and
/// times, identifiers and the events that set its traits. Building ten million events'
/// [`Profile`]s (maps of owned strings) costs more than resolving them, so [`CompactResolution`]
/// keeps this and builds a profile when it is read.
#[derive(Debug)]
struct Layout {
    /// Per profile, in id order: the 64-bit prefix its id spells.
    prefixes: Vec<u64>,
    /// Per profile: (event count, first seen, last seen).
    stats: Vec<(u64, i64, i64)>,
    /// Identifiers grouped by profile: `held[held_ends[p]..held_ends[p + 1]]`.
    held: Vec<u32>,
    held_ends: Vec<u32>,
    /// Events that set profile traits, grouped by profile, in canonical order within each.
    setters: Vec<u32>,
    setter_ends: Vec<u32>,
    event_profile: Vec<Option<u32>>,
}

impl Layout {
    fn new(
        engine: &mut Engine,
        order: impl Iterator<Item = u32> + Clone,
        event_slot: &[u32],
        n_events: usize,
        time_of: impl Fn(u32) -> Timestamp,
        sets_traits: impl Fn(u32) -> bool,
    ) -> Layout {
        // Each slot's profile, numbered in id order before any event is visited: roots are
        // found once per slot rather than once per event, and events and identifiers then go
        // straight to their profile's number, with no reordering afterwards.
        let slots = engine.parent.len();
        // (A slot freed by a replay has no parent, and no profile.)
        let mut profile_of: Vec<u32> = (0..slots as u32)
            .map(|s| match engine.parent[s as usize] {
                NONE => NONE,
                _ => engine.find(s),
            })
            .collect();
        let mut has_events = vec![false; slots];
        for e in order.clone() {
            if let Some(&r) = profile_of.get(event_slot[e as usize] as usize) {
                if let Some(mark) = has_events.get_mut(r as usize) {
                    *mark = true;
                }
            }
        }
        // A profile id spells the first 8 bytes of a digest in fixed-width hex, so the numbers
        // sort as the ids do.
        let mut roots: Vec<(u64, u32)> = (0..slots as u32)
            .filter(|&r| has_events[r as usize])
            .map(|r| (engine.slot_id_prefix(r), r))
            .collect();
        drop(has_events);
        roots.sort_unstable();
        let mut index_of_root = vec![NONE; slots];
        for (i, &(_, r)) in roots.iter().enumerate() {
            index_of_root[r as usize] = i as u32;
        }
        for p in &mut profile_of {
            *p = index_of_root.get(*p as usize).copied().unwrap_or(NONE);
        }
        drop(index_of_root);

        let n = roots.len();
        let mut stats: Vec<(u64, i64, i64)> = vec![(0, i64::MAX, i64::MIN); n];
        let mut setters: Vec<(u32, u32)> = Vec::new();
        let mut event_profile = vec![None; n_events];
        // Each event updates its profile's stats, at random in a table of tens of megabytes at
        // 10M events: the entry is asked for 16 events ahead.
        let mut ahead = order.clone().skip(16);
        for e in order {
            if let Some(stat) = ahead
                .next()
                .and_then(|a| profile_of.get(event_slot[a as usize] as usize))
                .and_then(|&pi| stats.get(pi as usize))
            {
                crate::memory::prefetch(std::ptr::from_ref(stat).cast());
            }
            let pi = match profile_of.get(event_slot[e as usize] as usize) {
                Some(&pi) if pi != NONE => pi,
                _ => continue,
            };
            event_profile[e as usize] = Some(pi);
            let t = time_of(e).0;
            let stat = &mut stats[pi as usize];
            stat.0 += 1;
            stat.1 = stat.1.min(t);
            stat.2 = stat.2.max(t);
            if sets_traits(e) {
                setters.push((pi, e));
            }
        }
        let held = (0..engine.ids.len() as u32).filter_map(|x| {
            let pi = *profile_of.get(engine.owner[x as usize] as usize)?;
            (pi != NONE).then_some((pi, x))
        });
        let (held, held_ends) = group_by_profile(n, held.collect());
        let (setters, setter_ends) = group_by_profile(n, setters);
        Layout {
            prefixes: roots.into_iter().map(|(prefix, _)| prefix).collect(),
            stats,
            held,
            held_ends,
            setters,
            setter_ends,
            event_profile,
        }
    }

    fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Profile `p`, built: identifiers read from `ids`; `traits(setters)` gives its traits
    /// after the events that set any, listed in canonical order.
    fn profile(
        &self,
        p: usize,
        types: &engine::TypeTable,
        ids: &engine::Interner,
        traits: impl FnOnce(&[u32]) -> Object,
    ) -> Profile {
        let mut identifiers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for &x in &self.held[self.held_ends[p] as usize..self.held_ends[p + 1] as usize] {
            let kind = types.name(ids.kind(x));
            let value = ids.value(x).to_string();
            match identifiers.get_mut(kind) {
                Some(set) => {
                    set.insert(value);
                }
                None => {
                    identifiers.insert(kind.to_string(), BTreeSet::from([value]));
                }
            }
        }
        let setters = &self.setters[self.setter_ends[p] as usize..self.setter_ends[p + 1] as usize];
        let (event_count, first, last) = self.stats[p];
        Profile {
            id: engine::profile_id_from_prefix(self.prefixes[p]),
            identifiers,
            traits: traits(setters),
            event_count,
            first_seen: Timestamp(first),
            last_seen: Timestamp(last),
        }
    }
}

/// The profile traits after the trait updates of `setters`, in order (later wins per key, a
/// `null` removes it). The latest value per key is found by reference first: a value is
/// copied once, not at every event that sets it.
fn merged_traits<'a, T>(setters: &[u32], traits_of: impl Fn(u32) -> T) -> Object
where
    T: Iterator<Item = (&'a String, &'a Value)>,
{
    let mut latest: BTreeMap<&'a str, &'a Value> = BTreeMap::new();
    for &e in setters {
        latest.extend(traits_of(e).map(|(k, v)| (k.as_str(), v)));
    }
    latest
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
}

/// `(profile, item)` pairs grouped by profile, keeping their order within each: the items, and
/// where each of the `n` profiles' items end (`ends[p]..ends[p + 1]`).
fn group_by_profile(n: usize, pairs: Vec<(u32, u32)>) -> (Vec<u32>, Vec<u32>) {
    let mut ends = vec![0u32; n + 1];
    for &(p, _) in &pairs {
        ends[p as usize + 1] += 1;
    }
    for p in 0..n {
        ends[p + 1] += ends[p];
    }
    let mut fill = ends.clone();
    let mut items = vec![0u32; pairs.len()];
    for (p, item) in pairs {
        let at = &mut fill[p as usize];
        items[*at as usize] = item;
        *at += 1;
    }
    (items, ends)
}

/// A [`Resolution`] whose profiles are built when read ([`CompactResolution::profile`]): what
/// [`PreparedEvents::resolve_compact`] gives, for loaders that print or stream profiles one at
/// a time rather than hold them all.
#[derive(Debug)]
pub struct CompactResolution {
    layout: Layout,
    types: engine::TypeTable,
    ids: engine::Interner,
}

impl CompactResolution {
    /// How many profiles there are.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// True when no event identifies anyone.
    pub fn is_empty(&self) -> bool {
        self.layout.len() == 0
    }

    /// For each resolved position, the number of its profile, or `None` when unresolved (as
    /// [`Resolution::event_profile`]).
    pub fn event_profile(&self) -> &[Option<u32>] {
        &self.layout.event_profile
    }

    /// How many events belong to no profile.
    pub fn unresolved(&self) -> u64 {
        self.layout
            .event_profile
            .iter()
            .filter(|p| p.is_none())
            .count() as u64
    }

    /// Profile `p` (numbered in id order, as [`Resolution::profiles`]), built;
    /// `traits(setters)` gives its traits after the trait updates of the events at these
    /// positions, in order (later wins per key, a `null` removes it).
    pub fn profile(&self, p: usize, traits: impl FnOnce(&[u32]) -> Object) -> Profile {
        self.layout.profile(p, &self.types, &self.ids, traits)
    }

    /// Every profile built (`traits` as for [`CompactResolution::profile`]).
    pub fn into_resolution(self, traits: impl Fn(&[u32]) -> Object) -> Resolution {
        let profiles = (0..self.len()).map(|p| self.profile(p, &traits)).collect();
        Resolution {
            profiles,
            event_profile: self.layout.event_profile,
        }
    }
}
