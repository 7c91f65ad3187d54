//! The engine's state in plain Rust: what `Engine` holds between calls, with no JavaScript in
//! it, so it tests natively. Every answer comes from the core; this module only keeps events,
//! identity and the segment store together and rebuilds the store lazily.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{json, Value};
use tessera::activation::csv::{write_csv, ColumnSpec};
use tessera::activation::ActivationError;
use tessera::event::Object;
use tessera::identity::{
    Deletion, IdentityGraph, IdentitySettings, Profile, Resolution, SettingsError,
};
use tessera::ingest::{self, Rejection, RequestError, Source};
use tessera::segment::{
    DefinitionError, SavedSegments, Segment, SnapshotError, Store, CONDITION_KINDS,
};
use tessera::suggest::{suggest, DataSummary, Goal, SuggestError, SuggestOptions};
use tessera::{CallType, Event, Timestamp};

/// Why a call failed: a stable snake_case `code`, the JSON `path` of the offending input (empty
/// when the whole input is at fault) and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError {
    /// Stable snake_case code.
    pub code: &'static str,
    /// Where in the input, such as `condition.and[1].op` or `options.now`.
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

impl EngineError {
    /// An error with this code, path and message.
    pub fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError {
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error with `prefix` put before its path (`identity` + `limits.email`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{} at {}: {}", self.code, self.path, self.message)
        }
    }
}

impl std::error::Error for EngineError {}

impl From<DefinitionError> for EngineError {
    fn from(e: DefinitionError) -> Self {
        EngineError::new(e.code, e.path, e.message)
    }
}

impl From<SettingsError> for EngineError {
    fn from(e: SettingsError) -> Self {
        EngineError::new(e.code, e.path, e.message)
    }
}

impl From<ActivationError> for EngineError {
    fn from(e: ActivationError) -> Self {
        EngineError::new(e.code, e.path, e.message)
    }
}

impl From<SnapshotError> for EngineError {
    fn from(e: SnapshotError) -> Self {
        EngineError::new(e.code, "", e.message)
    }
}

impl From<SuggestError> for EngineError {
    fn from(e: SuggestError) -> Self {
        EngineError::new(e.code(), e.path(), e.to_string())
    }
}

impl From<RequestError> for EngineError {
    fn from(e: RequestError) -> Self {
        let path = e.errors.first().map_or(String::new(), |r| r.path.clone());
        EngineError::new(e.code, path, e.message)
    }
}

/// A result of this module.
pub type Result<T> = std::result::Result<T, EngineError>;

/// What one `ingest` call did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestReport {
    /// Messages that passed validation (duplicates included).
    pub accepted: usize,
    /// Messages rejected, in input order.
    pub rejected: Vec<Rejection>,
    /// Accepted messages whose `messageId` was already held (in this call or before); by the
    /// dedup rule the copy with the earliest event time is kept.
    pub duplicates: usize,
}

/// Where the engine's profiles come from, which decides what it can answer.
enum Data {
    /// Events ingested here, resolved by the incremental identity graph.
    Events {
        graph: Box<IdentityGraph>,
        /// Kept events; reordered to the graph's order when the store is built.
        events: Vec<Event>,
        /// `messageId` → position in `events`.
        index: FxHashMap<Box<str>, u32>,
        /// `messageId`s of deleted profiles' events: a re-delivery is a duplicate.
        deleted: FxHashSet<Box<str>>,
    },
    /// Profiles resolved elsewhere, with their events.
    Resolved {
        events: Vec<Event>,
        resolution: Resolution,
    },
    /// Only a segment store, loaded from a snapshot.
    Snapshot,
}

/// Mutable views of [`Data::Events`]: the graph, the events, their index and deleted ids.
type IngestedParts<'a> = (
    &'a mut Box<IdentityGraph>,
    &'a mut Vec<Event>,
    &'a mut FxHashMap<Box<str>, u32>,
    &'a mut FxHashSet<Box<str>>,
);

/// Events, identity and the segment store of one engine.
pub struct Workspace {
    data: Data,
    /// The store and the resolution it was built from, until the next ingest.
    store: Option<Store>,
    resolution: Option<Resolution>,
}

/// A segment's members at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Members {
    /// Member profile ids, sorted.
    pub ids: Vec<String>,
}

/// A quick look at a segment: its size and a spread-out sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// Number of members.
    pub count: usize,
    /// Number of profiles in the store.
    pub total_profiles: usize,
    /// Up to the asked number of member ids, spread over the sorted member list.
    pub sample: Vec<String>,
}

const NEEDS_EVENTS: &str = "needs_events";

impl Workspace {
    /// An empty workspace that ingests events and resolves them under `settings`.
    pub fn new(settings: &IdentitySettings) -> Workspace {
        Workspace::with(Data::Events {
            graph: Box::new(IdentityGraph::new(settings)),
            events: Vec::new(),
            index: FxHashMap::default(),
            deleted: FxHashSet::default(),
        })
    }

    fn with(data: Data) -> Workspace {
        Workspace {
            data,
            store: None,
            resolution: None,
        }
    }

    /// A workspace over a store snapshot (`Store::to_bytes`): it evaluates and previews segments
    /// and suggests audiences; profiles, explanations and exports with columns need the events.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Workspace> {
        let store = Store::from_bytes(bytes)?;
        let mut workspace = Workspace::with(Data::Snapshot);
        workspace.store = Some(store);
        Ok(workspace)
    }

    /// A workspace over profiles resolved elsewhere: `{"profiles": [{id, identifiers?, traits?}],
    /// "events": [{profile?, type, event|name, timestamp, messageId?, properties?}]}` (the
    /// segment corpus's format; an event without `profile` belongs to no one).
    pub fn from_resolved(input: &Value) -> Result<Workspace> {
        let (events, resolution) = resolved(input)?;
        Ok(Workspace::with(Data::Resolved { events, resolution }))
    }

    /// The ingested events' parts, or a `needs_events` error saying `refusal` when this engine
    /// was loaded from a snapshot or resolved profiles.
    fn ingested(&mut self, refusal: &str) -> Result<IngestedParts<'_>> {
        match &mut self.data {
            Data::Events {
                graph,
                events,
                index,
                deleted,
            } => Ok((graph, events, index, deleted)),
            _ => Err(EngineError::new(NEEDS_EVENTS, "", refusal)),
        }
    }

    /// Reads messages in file mode (NDJSON, a batch document or a JSON array), keeps one event
    /// per `messageId` and adds the new ones to the identity graph.
    pub fn ingest(&mut self, text: &[u8], derive_ids: bool) -> Result<IngestReport> {
        let (graph, events, index, deleted) = self.ingested(
            "this engine was loaded from a snapshot or resolved profiles and takes no events",
        )?;
        let outcome = ingest::read_file_bytes(text, Source::File { derive_ids });
        let mut report = IngestReport {
            accepted: outcome.accepted.len(),
            rejected: outcome.rejected,
            duplicates: 0,
        };
        let mut fresh = Vec::new();
        for event in outcome.accepted {
            if deleted.contains(event.message_id.as_str()) {
                report.duplicates += 1;
                continue;
            }
            match index.get(event.message_id.as_str()) {
                Some(&at) => {
                    report.duplicates += 1;
                    let kept = &mut events[at as usize];
                    if event.time < kept.time {
                        *kept = segment_part(&event);
                        fresh.push(event);
                    }
                }
                None => {
                    index.insert(event.message_id.as_str().into(), events.len() as u32);
                    events.push(segment_part(&event));
                    fresh.push(event);
                }
            }
        }
        if !fresh.is_empty() {
            graph.add_batch(&fresh);
            self.store = None;
            self.resolution = None;
        }
        Ok(report)
    }

    /// Number of events held (one per `messageId`); a snapshot's store count otherwise.
    pub fn event_count(&mut self) -> usize {
        match &self.data {
            Data::Events { events, .. } | Data::Resolved { events, .. } => events.len(),
            Data::Snapshot => self.store.as_ref().map_or(0, Store::event_count),
        }
    }

    /// The segment store, built on first use after a change.
    pub fn store(&mut self) -> &Store {
        if self.store.is_none() {
            self.rebuild();
        }
        // A snapshot always has its store; the others were just rebuilt.
        self.store.get_or_insert_with(empty_store)
    }

    fn rebuild(&mut self) {
        match &mut self.data {
            Data::Events {
                graph,
                events,
                index,
                ..
            } => {
                let resolution = graph.resolution();
                align(events, index, graph.message_ids());
                self.store = Some(Store::build(events, &resolution));
                self.resolution = Some(resolution);
            }
            Data::Resolved { events, resolution } => {
                self.store = Some(Store::build(events, resolution));
            }
            Data::Snapshot => {}
        }
    }

    /// The events and resolution behind the store (not for a snapshot).
    fn resolution(&mut self) -> Result<(&[Event], &Resolution)> {
        if let Data::Events { .. } = self.data {
            if self.resolution.is_none() {
                self.rebuild();
            }
        }
        match (&self.data, &self.resolution) {
            (Data::Events { events, .. }, Some(resolution)) => Ok((events, resolution)),
            (Data::Resolved { events, resolution }, _) => Ok((events, resolution)),
            _ => Err(EngineError::new(
                NEEDS_EVENTS,
                "",
                "a snapshot holds the segment store only: profiles and explanations need the events",
            )),
        }
    }

    /// Every profile, sorted by id.
    pub fn profiles(&mut self) -> Result<&[Profile]> {
        Ok(&self.resolution()?.1.profiles)
    }

    /// The profile with this id (a merged-away id gives the profile it was merged into).
    pub fn profile(&mut self, id: &str) -> Result<Option<Profile>> {
        if let Data::Events { graph, .. } = &self.data {
            return Ok(graph.profile(id));
        }
        Ok(self.resolution()?.1.profile(id).cloned())
    }

    /// The profile holding an identifier (normalized by its type's rule first).
    pub fn profile_by_identifier(&mut self, kind: &str, value: &str) -> Result<Option<Profile>> {
        if let Data::Events { graph, .. } = &self.data {
            return Ok(graph.profile_by_identifier(kind, value));
        }
        Ok(self
            .resolution()?
            .1
            .profile_by_identifier(kind, value)
            .cloned())
    }

    /// How many events belong to no profile.
    pub fn unresolved(&mut self) -> Result<u64> {
        if let Data::Events { graph, .. } = &self.data {
            return Ok(graph.unresolved());
        }
        Ok(self.resolution()?.1.unresolved())
    }

    /// The id of the profile an event belongs to; `None` when unresolved or unknown.
    pub fn profile_id_of_message(&mut self, message_id: &str) -> Result<Option<String>> {
        if let Data::Events { graph, .. } = &self.data {
            return Ok(graph.profile_id_of_message(message_id));
        }
        let (events, resolution) = self.resolution()?;
        Ok(events
            .iter()
            .zip(&resolution.event_profile)
            .find(|(e, _)| e.message_id == message_id)
            .and_then(|(_, p)| p.and_then(|p| resolution.profiles.get(p as usize)))
            .map(|p| p.id.clone()))
    }

    /// Deletes a profile (a privacy request): its events leave, its identifiers are suppressed
    /// so they never form a profile again. `None` for an unknown id.
    pub fn delete_profile(&mut self, id: &str) -> Result<Option<Deletion>> {
        let (graph, events, index, deleted) =
            self.ingested("only an engine that ingested the events can delete a profile")?;
        let Some(deletion) = graph.delete_profile(id) else {
            return Ok(None);
        };
        let gone: FxHashSet<&str> = deletion.message_ids.iter().map(String::as_str).collect();
        events.retain(|e| !gone.contains(e.message_id.as_str()));
        index.clear();
        for (i, e) in events.iter().enumerate() {
            index.insert(e.message_id.as_str().into(), i as u32);
        }
        deleted.extend(deletion.message_ids.iter().map(|m| m.as_str().into()));
        self.store = None;
        self.resolution = None;
        Ok(Some(deletion))
    }

    /// Removes an identifier (a shared device id, say): from now on it acts as blocked, as if it
    /// had been from the start. True when some event carried it.
    pub fn remove_identifier(&mut self, kind: &str, value: &str) -> Result<bool> {
        let (graph, ..) =
            self.ingested("only an engine that ingested the events can remove an identifier")?;
        let known = graph.remove_identifier(kind, value);
        self.store = None;
        self.resolution = None;
        Ok(known)
    }

    /// Why a profile's identifiers are one person, as JSON; `None` for an unknown id.
    pub fn explain(&mut self, id: &str) -> Result<Option<Value>> {
        match &mut self.data {
            Data::Events { graph, .. } => Ok(graph.explain(id).map(|e| e.to_json())),
            _ => Err(EngineError::new(
                NEEDS_EVENTS,
                "",
                "explanations replay identity resolution: only an engine that ingested the \
                 events can give them",
            )),
        }
    }

    /// A segment's members at `now`.
    pub fn evaluate(&mut self, segment: &Segment, now: Timestamp) -> Members {
        let store = self.store();
        let result = store.evaluate(segment, now);
        Members {
            ids: result.ids(store).into_iter().map(str::to_owned).collect(),
        }
    }

    /// A segment's size at `now` and up to `sample` member ids.
    pub fn preview(&mut self, segment: &Segment, now: Timestamp, sample: usize) -> Preview {
        let store = self.store();
        let result = store.evaluate(segment, now);
        Preview {
            count: result.count(),
            total_profiles: store.profile_count(),
            sample: result
                .sample(sample)
                .into_iter()
                .filter_map(|m| store.profile_id(m).map(str::to_owned))
                .collect(),
        }
    }

    /// The segment's members at `now` as CSV: `profile_id` then `columns`.
    pub fn export_csv(
        &mut self,
        segment: &Segment,
        now: Timestamp,
        columns: &ColumnSpec,
    ) -> Result<String> {
        let members = self.evaluate(segment, now);
        let mut out = Vec::new();
        if let Data::Snapshot = self.data {
            if columns.columns().next().is_some() {
                return Err(EngineError::new(
                    NEEDS_EVENTS,
                    "options.columns",
                    "a snapshot holds no identifier values or trait texts: only the \
                     profile_id column can be exported from it",
                ));
            }
            let ids: Vec<Profile> = members.ids.into_iter().map(bare_profile).collect();
            write_csv(&mut out, columns, &ids)?;
        } else {
            let (_, resolution) = self.resolution()?;
            let profiles = members.ids.iter().filter_map(|id| resolution.profile(id));
            write_csv(&mut out, columns, profiles)?;
        }
        String::from_utf8(out)
            .map_err(|e| EngineError::new("io_error", "", format!("CSV is not UTF-8: {e}")))
    }

    /// Suggested audiences for a goal, as the report's JSON. `now` defaults to the latest event.
    /// Everything is read from the segment store, so a snapshot suggests as well as events do.
    pub fn suggest(&mut self, request: &SuggestRequest) -> Result<Value> {
        let goal = Goal::parse(&request.goal)?;
        let store = self.store();
        let now = match request.now {
            Some(now) => now,
            None => store.latest_event().ok_or_else(|| {
                EngineError::new("no_events", "", "there are no events to suggest from")
            })?,
        };
        let mut options = SuggestOptions::new(goal, &request.horizon, now)?;
        if let Some(top) = request.top {
            options.top = top;
        }
        if let Some(min) = request.min_profiles {
            options.min_profiles = min;
        }
        options.revenue = request.revenue.clone();
        let revenue = options
            .revenue
            .as_ref()
            .map(|(e, p)| (e.as_str(), p.as_str()));
        let summary = DataSummary::from_store(store, now, options.horizon_days(), revenue);
        let report = suggest(store, &summary, &options)?;
        serde_json::to_value(&report)
            .map_err(|e| EngineError::new("io_error", "", format!("report: {e}")))
    }
}

/// What `suggest` is asked.
#[derive(Clone, Debug, PartialEq)]
pub struct SuggestRequest {
    /// `event:NAME` or `trait:PATH=VALUE`.
    pub goal: String,
    /// The goal's window, such as `30d`.
    pub horizon: String,
    /// Evaluation time; default the latest event's.
    pub now: Option<Timestamp>,
    /// How many suggestions (default 5).
    pub top: Option<usize>,
    /// Smallest audience worth suggesting (default 30).
    pub min_profiles: Option<usize>,
    /// The money property for high-value audiences, `(event, property)`.
    pub revenue: Option<(String, String)>,
}

fn empty_store() -> Store {
    Store::build(&[], &Resolution::default())
}

/// What the store and the suggestion summary read of an event: call, name, time, properties.
/// The identity graph keeps identifiers and traits itself, so the engine does not hold the
/// rest (contexts are most of a message's bytes).
fn segment_part(event: &Event) -> Event {
    Event {
        message_id: event.message_id.clone(),
        call: event.call,
        name: event.name.clone(),
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        time: event.time,
        received_at: None,
        properties: event.properties.clone(),
        traits: Object::new(),
        context: Object::new(),
        integrations: Object::new(),
    }
}

fn bare_profile(id: String) -> Profile {
    Profile {
        id,
        identifiers: BTreeMap::new(),
        traits: Object::new(),
        event_count: 0,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
    }
}

/// Puts `events` in the order of `order` (the graph's live `messageId`s), which is the order its
/// resolution indexes them by. Cheap when nothing moved.
fn align<'a>(
    events: &mut Vec<Event>,
    index: &mut FxHashMap<Box<str>, u32>,
    order: impl Iterator<Item = &'a str>,
) {
    let positions: Vec<u32> = order.filter_map(|id| index.get(id).copied()).collect();
    let in_place = positions.len() == events.len()
        && positions.iter().enumerate().all(|(i, &p)| p as usize == i);
    if in_place {
        return;
    }
    let mut slots: Vec<Option<Event>> = std::mem::take(events).into_iter().map(Some).collect();
    *events = positions
        .iter()
        .filter_map(|&p| slots.get_mut(p as usize).and_then(Option::take))
        .collect();
    index.clear();
    for (i, e) in events.iter().enumerate() {
        index.insert(e.message_id.as_str().into(), i as u32);
    }
}

/// Reads the "resolved profiles" input of [`Workspace::from_resolved`].
fn resolved(input: &Value) -> Result<(Vec<Event>, Resolution)> {
    let obj = input
        .as_object()
        .ok_or_else(|| EngineError::new("not_an_object", "", "expected {profiles, events}"))?;
    let list = |key: &str| -> Result<Vec<Value>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(EngineError::new("wrong_type", key, "must be an array")),
        }
    };
    let mut profiles = Vec::new();
    for (i, p) in list("profiles")?.iter().enumerate() {
        profiles.push(resolved_profile(p, &format!("profiles[{i}]"))?);
    }
    profiles.sort_by(|a: &Profile, b| a.id.cmp(&b.id));
    for pair in profiles.windows(2) {
        if pair[0].id == pair[1].id {
            return Err(EngineError::new(
                "duplicate_profile",
                "profiles",
                format!("profile {} is listed twice", pair[0].id),
            ));
        }
    }
    let position: FxHashMap<String, u32> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i as u32))
        .collect();
    let mut events = Vec::new();
    let mut event_profile = Vec::new();
    for (i, e) in list("events")?.iter().enumerate() {
        let path = format!("events[{i}]");
        let event = resolved_event(e, i, &path)?;
        let profile = match e.get("profile") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(*position.get(id).ok_or_else(|| {
                EngineError::new(
                    "unknown_profile",
                    format!("{path}.profile"),
                    format!("no profile {id}"),
                )
            })?),
            Some(_) => {
                return Err(EngineError::new(
                    "wrong_type",
                    format!("{path}.profile"),
                    "must be a profile id",
                ))
            }
        };
        if let Some(p) = profile {
            let p = &mut profiles[p as usize];
            if p.event_count == 0 || event.time < p.first_seen {
                p.first_seen = event.time;
            }
            if p.event_count == 0 || event.time > p.last_seen {
                p.last_seen = event.time;
            }
            p.event_count += 1;
        }
        events.push(event);
        event_profile.push(profile);
    }
    Ok((
        events,
        Resolution {
            profiles,
            event_profile,
        },
    ))
}

fn resolved_profile(p: &Value, path: &str) -> Result<Profile> {
    let id = p.get("id").and_then(Value::as_str).ok_or_else(|| {
        EngineError::new("missing_id", format!("{path}.id"), "a profile needs an id")
    })?;
    let mut identifiers = BTreeMap::new();
    if let Some(map) = p.get("identifiers").filter(|v| !v.is_null()) {
        let map = map.as_object().ok_or_else(|| {
            EngineError::new(
                "wrong_type",
                format!("{path}.identifiers"),
                "must be an object of type → [values]",
            )
        })?;
        for (kind, values) in map {
            let at = format!("{path}.identifiers.{kind}");
            let values = values
                .as_array()
                .ok_or_else(|| EngineError::new("wrong_type", at.as_str(), "must be an array"))?;
            let mut set = BTreeSet::new();
            for (j, v) in values.iter().enumerate() {
                let v = v.as_str().ok_or_else(|| {
                    EngineError::new("wrong_type", format!("{at}[{j}]"), "must be a string")
                })?;
                set.insert(v.to_owned());
            }
            identifiers.insert(kind.clone(), set);
        }
    }
    let traits = match p.get("traits") {
        None | Some(Value::Null) => Object::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(EngineError::new(
                "wrong_type",
                format!("{path}.traits"),
                "must be an object",
            ))
        }
    };
    Ok(Profile {
        id: id.to_owned(),
        identifiers,
        traits,
        event_count: 0,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
    })
}

fn resolved_event(e: &Value, i: usize, path: &str) -> Result<Event> {
    let text = |key: &str| -> Result<Option<String>> {
        match e.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(EngineError::new(
                "wrong_type",
                format!("{path}.{key}"),
                "must be a string",
            )),
        }
    };
    let call = match text("type")? {
        None => CallType::Track,
        Some(name) => CallType::from_name(&name).ok_or_else(|| {
            EngineError::new(
                "invalid_type",
                format!("{path}.type"),
                format!("unknown call type {name}"),
            )
        })?,
    };
    let timestamp = text("timestamp")?.ok_or_else(|| {
        EngineError::new(
            "missing_timestamp",
            format!("{path}.timestamp"),
            "an event needs a timestamp",
        )
    })?;
    let time = Timestamp::parse(&timestamp).map_err(|_| {
        EngineError::new(
            "invalid_timestamp",
            format!("{path}.timestamp"),
            format!("`{timestamp}` is not an RFC 3339 time"),
        )
    })?;
    let properties = match e.get("properties") {
        None | Some(Value::Null) => Object::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(EngineError::new(
                "wrong_type",
                format!("{path}.properties"),
                "must be an object",
            ))
        }
    };
    let name = match text("event")? {
        Some(name) => Some(name),
        None => text("name")?,
    };
    Ok(Event {
        message_id: text("messageId")?.unwrap_or_else(|| format!("m{i:04}")),
        call,
        name,
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        time,
        received_at: None,
        properties,
        traits: Object::new(),
        context: Object::new(),
        integrations: Object::new(),
    })
}

/// A segment document from what the caller gave: a whole document, or a bare condition (an
/// object with a condition key and no `condition`), which is wrapped into one.
pub fn segment(definition: &Value, saved: &SavedSegments) -> Result<Segment> {
    let wrapped;
    let doc = match definition {
        Value::Object(m)
            if !m.contains_key("condition")
                && CONDITION_KINDS.iter().any(|k| m.contains_key(*k)) =>
        {
            wrapped = json!({ "condition": definition });
            &wrapped
        }
        _ => definition,
    };
    Ok(Segment::parse(doc, saved)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, user: &str, event: &str, time: &str) -> String {
        json!({"type": "track", "event": event, "userId": user, "messageId": id, "timestamp": time})
            .to_string()
    }

    fn doc(v: Value) -> Segment {
        segment(&v, &SavedSegments::new()).expect("valid")
    }

    const NOW: Timestamp = Timestamp(1_780_272_000_000);

    #[test]
    fn ingest_dedups_across_calls_and_invalidates_the_store() {
        let mut w = Workspace::new(&IdentitySettings::default());
        let first = [
            line("m1", "u1", "Order Completed", "2026-05-01T00:00:00Z"),
            line("m2", "u2", "Signed Up", "2026-05-02T00:00:00Z"),
        ]
        .join("\n");
        let report = w.ingest(first.as_bytes(), false).expect("ingests");
        assert_eq!((report.accepted, report.duplicates), (2, 0));
        let buyers = doc(json!({"event": "Order Completed"}));
        assert_eq!(w.evaluate(&buyers, NOW).ids.len(), 1);
        let second = [
            line("m1", "u1", "Order Completed", "2026-05-03T00:00:00Z"),
            line("m3", "u2", "Order Completed", "2026-05-04T00:00:00Z"),
            "{\"type\":\"track\"}".to_owned(),
        ]
        .join("\n");
        let report = w.ingest(second.as_bytes(), false).expect("ingests");
        assert_eq!((report.accepted, report.duplicates), (2, 1));
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(w.evaluate(&buyers, NOW).ids.len(), 2);
        assert_eq!(w.event_count(), 3);
    }

    #[test]
    fn an_earlier_duplicate_replaces_the_kept_event() {
        let mut w = Workspace::new(&IdentitySettings::default());
        let text = line("m1", "u1", "Order Completed", "2026-05-28T00:00:00Z");
        w.ingest(text.as_bytes(), false).expect("ingests");
        let recent = doc(json!({"event": "Order Completed", "within": "7d"}));
        assert_eq!(w.evaluate(&recent, NOW).ids.len(), 1);
        let earlier = line("m1", "u1", "Order Completed", "2026-04-01T00:00:00Z");
        let report = w.ingest(earlier.as_bytes(), false).expect("ingests");
        assert_eq!(report.duplicates, 1);
        assert_eq!(w.evaluate(&recent, NOW).ids.len(), 0);
        let profile = w.profile_by_identifier("user_id", "u1").expect("events");
        assert_eq!(
            profile.map(|p| p.first_seen.to_string()).as_deref(),
            Some("2026-04-01T00:00:00.000Z")
        );
    }

    #[test]
    fn a_snapshot_evaluates_the_same_and_refuses_what_it_cannot_know() {
        let mut w = Workspace::new(&IdentitySettings::default());
        let text = [
            line("m1", "u1", "Order Completed", "2026-05-01T00:00:00Z"),
            line("m2", "u2", "Signed Up", "2026-05-02T00:00:00Z"),
        ]
        .join("\n");
        w.ingest(text.as_bytes(), false).expect("ingests");
        let bytes = w.store().to_bytes();
        let mut s = Workspace::from_snapshot(&bytes).expect("loads");
        let buyers = doc(json!({"event": "Order Completed"}));
        assert_eq!(s.evaluate(&buyers, NOW), w.evaluate(&buyers, NOW));
        assert_eq!(
            s.profiles().map(<[Profile]>::len).map_err(|e| e.code),
            Err(NEEDS_EVENTS)
        );
        let none = ColumnSpec::parse("").expect("columns");
        let csv = s.export_csv(&buyers, NOW, &none).expect("ids only");
        assert_eq!(csv.lines().count(), 2);
        let email = ColumnSpec::parse("email").expect("columns");
        assert_eq!(
            s.export_csv(&buyers, NOW, &email).map_err(|e| e.path),
            Err("options.columns".into())
        );
        assert_eq!(
            Workspace::from_snapshot(b"nope").err().map(|e| e.code),
            Some("snapshot_version")
        );
    }

    #[test]
    fn resolved_input_errors_have_paths() {
        let bad = json!({"profiles": [{"id": "p_a"}], "events": [{"profile": "p_b", "timestamp": "2026-01-01T00:00:00Z"}]});
        let err = Workspace::from_resolved(&bad)
            .err()
            .expect("unknown profile");
        assert_eq!(
            (err.code, err.path.as_str()),
            ("unknown_profile", "events[0].profile")
        );
        let bad = json!({"profiles": [], "events": [{"timestamp": "soon"}]});
        let err = Workspace::from_resolved(&bad).err().expect("bad time");
        assert_eq!(
            (err.code, err.path.as_str()),
            ("invalid_timestamp", "events[0].timestamp")
        );
    }

    #[test]
    fn a_bare_condition_is_wrapped_and_errors_keep_the_core_path() {
        let err = segment(&json!({"trait": "plan", "op": "is"}), &SavedSegments::new())
            .expect_err("bad op");
        assert_eq!(
            (err.code, err.path.as_str()),
            ("unknown_operator", "condition.op")
        );
    }
}
