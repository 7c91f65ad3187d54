//! `EventStore`: one Durable Object per workspace holding its events, profiles, saved segments
//! and audience memberships in SQLite.
//!
//! The object is the single writer of its workspace, which is what makes `messageId`
//! deduplication exact and lets identity be resolved at ingestion: the incremental
//! [`IdentityGraph`] lives in memory and is rebuilt on a cold start from the three things that
//! determine it (the stored events, the workspace's identity settings, the suppressed
//! identifiers).
//!
//! Ingestion is split in two so that the acknowledgement costs one durable write: an accepted
//! batch is stored as one row of the `pending` table and answered; a short alarm then applies
//! every queued batch at once (dedup into `events`, the graph, the profile tables, audience
//! memberships). Every read applies what is still queued first, so a read sees every event
//! acknowledged before it. See `docs/scaling.md` for the design and `docs/api.md` for the routes
//! the worker forwards here.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{select, Either};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::hash::{Hash, Hasher};
use tessera::activation::csv::{ColumnSpec, CsvExport, CONTENT_TYPE};
use tessera::identity::{Added, Identifier, IdentityGraph, Profile, ProfileChanges, Suppression};
use tessera::ingest::{self, Source};
use tessera::segment::{
    EncodedEvent, PropertyEncoder, SavedSegments, Segment, Store, StoreBuilder,
};
use tessera::{CallType, Event, Timestamp};
use wasm_bindgen::JsValue;
use worker::{
    durable_object, Date, DurableObject, Env, Headers, Method, Request, Response, Result,
    SqlStorage, SqlStorageValue, State,
};

use crate::answer::EdgeError;
use crate::workspace::{Registry, Workspace};

/// Appends accepted events (called by the worker only; the object is never reachable from
/// outside).
pub const APPEND_URL: &str = "https://event-store/append";
/// Counts of what is stored.
pub const STATS_URL: &str = "https://event-store/stats";
/// The header naming the workspace on every request from the worker.
pub const WORKSPACE_HEADER: &str = "X-Tessera-Workspace";
/// The header stating the time an export or snapshot was evaluated at.
pub const SNAPSHOT_TIME_HEADER: &str = "X-Tessera-Snapshot-Time";

/// A queued event in the format of earlier versions (a `pending` row was a JSON array of
/// these): rows queued before an upgrade are still applied.
#[derive(Debug, Deserialize)]
struct LegacyQueuedEvent {
    json: String,
}

/// What the store holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Stored events (distinct `messageId`s).
    pub events: u64,
    /// Acknowledged batches the object found queued when it loaded (after a restart, a crash
    /// or an eviction), applied since.
    #[serde(default)]
    pub queued_at_start: u64,
}

const SCHEMA: [&str; 16] = [
    "CREATE TABLE IF NOT EXISTS events (
        message_id TEXT PRIMARY KEY,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        received_at INTEGER,
        json TEXT NOT NULL
    )",
    // The cold start reads events in time order. An index on the exact time put every event of
    // a batch spread over days (an import, late events) on its own index page: each commit
    // rewrote hundreds of pages. By day, a batch touches one page per day it spans, and the
    // rebuild sorts one day at a time after the index.
    "DROP INDEX IF EXISTS events_by_time",
    "CREATE INDEX IF NOT EXISTS events_by_day ON events (time / 86400000)",
    // No query reads events by type: the index only cost a write per event.
    "DROP INDEX IF EXISTS events_by_type_time",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS profiles (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        event_count INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS identifiers (
        type TEXT NOT NULL,
        value TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        PRIMARY KEY (type, value)
    )",
    "CREATE INDEX IF NOT EXISTS identifiers_by_profile ON identifiers (profile_id)",
    "CREATE TABLE IF NOT EXISTS suppressed_identifiers (
        type TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (type, value)
    )",
    "CREATE TABLE IF NOT EXISTS deleted_messages (message_id TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS segments (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS memberships (
        segment_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (segment_id, profile_id)
    )",
    "CREATE INDEX IF NOT EXISTS memberships_by_profile ON memberships (profile_id)",
    "CREATE TABLE IF NOT EXISTS membership_changes (
        segment_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        change TEXT NOT NULL,
        at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS membership_changes_by_segment ON membership_changes (segment_id, at)",
    // Acknowledged batches not applied yet: one row per ingestion request, the batch as the
    // worker sent it (one normalized event JSON per line).
    "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, batch TEXT NOT NULL)",
];

// Dedup rule (events.md): of two messages with one messageId, the earliest event time is kept;
// on a tie the stored one (the first to arrive) stays, hence the strict `<`. The graph applies
// the same rule first, so this statement only runs for events it took; rows are in arrival
// order, so two copies in one group resolve as they would one request at a time.
//
// `?1` lists the rows' columns (JSON), `?2` holds the events' JSON texts end to end (a blob,
// each row giving its offset and length): SQLite slices the texts out instead of parsing every
// event as part of one JSON argument and writing it back out as text.
const APPEND: &str = "INSERT INTO events (message_id, time, type, received_at, json)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3,
        CAST(substr(?2, value ->> 4, value ->> 5) AS TEXT)
    FROM json_each(?1)
    WHERE true
    ON CONFLICT (message_id) DO UPDATE SET
        time = excluded.time, type = excluded.type,
        received_at = excluded.received_at, json = excluded.json
    WHERE excluded.time < events.time";

/// One statement for a whole list: `?` is a JSON array of strings.
const EVENTS_BY_IDS: &str =
    "SELECT message_id, json FROM events WHERE message_id IN (SELECT value FROM json_each(?))";

/// Events parsed per chunk while rebuilding the graph on a cold start.
const REBUILD_CHUNK: usize = 5_000;
/// Profiles per chunk of a streamed CSV export.
const EXPORT_CHUNK: usize = 500;
/// Largest page of members or events.
const MAX_PAGE: usize = 10_000;
/// Queued rows the alarm applies in one synchronous slice before it lets waiting requests run:
/// bounds how long an acknowledgement can wait behind the apply. (A read applies every row.)
const APPLY_SLICE_ROWS: i64 = 4;
/// Profile rows written per slice of a flush (profile rows are written lazily, see
/// [`Loaded::dirty`]).
const FLUSH_SLICE: usize = 250;
/// How long changed profiles wait before their rows are rewritten: a profile touched by many
/// batches in that time is written once.
const PROFILE_FLUSH_MS: i64 = 2_000;
/// The `meta` key present while some profile rows may be older than the graph: a cold start
/// that finds it rewrites every profile row.
const PROFILES_STALE: &str = "profiles_stale";
/// Events whose compact form (time, kind, encoded properties) stays in memory for segment
/// evaluation, about 100 bytes each: 25 MB at the cap. Past it, the bodies of events not held
/// are read back from SQLite when a segment evaluation needs them.
const COMPACT_CAP: usize = 250_000;
/// The longest an acknowledgement waits for other requests still reading their bodies, so that
/// their batches are written by one statement and one commit. A request alone never waits.
const GROUP_WAIT_MS: u64 = 4;
/// The largest JSON argument of a statement: SQLite in a Durable Object refuses a string of
/// 2 MB or more, so lists of rows are written in pieces below it.
const MAX_ARG_BYTES: usize = 1 << 20;

/// A saved segment as stored.
#[derive(Clone, Debug)]
struct SavedSegment {
    doc: Value,
    updated_at: i64,
}

/// One event as segment evaluation needs it: no identifiers, traits or context (the graph
/// holds those per profile), properties written by [`CompactEvents::encoder`].
struct CompactEvent {
    time: i64,
    call: CallType,
    /// Index into [`CompactEvents::names`]; `u32::MAX` for none.
    name: u32,
    properties: Box<[u8]>,
}

/// Compact forms of stored events by `messageId`, so that re-evaluating the saved segments for
/// the profiles a batch touched reads no event back from SQLite (up to [`COMPACT_CAP`]).
#[derive(Default)]
struct CompactEvents {
    encoder: PropertyEncoder,
    names: Vec<Box<str>>,
    name_index: FxHashMap<Box<str>, u32>,
    held: FxHashMap<Box<str>, CompactEvent>,
    /// Events past the cap, encoded for one evaluation and dropped after it.
    borrowed: FxHashMap<Box<str>, CompactEvent>,
}

impl CompactEvents {
    fn encode(&mut self, event: &Event) -> CompactEvent {
        let name = match event.name.as_deref() {
            None => u32::MAX,
            Some(n) => match self.name_index.get(n) {
                Some(&i) => i,
                None => {
                    let i = self.names.len() as u32;
                    self.names.push(n.into());
                    self.name_index.insert(n.into(), i);
                    i
                }
            },
        };
        let mut properties = Vec::new();
        self.encoder.encode(&event.properties, &mut properties);
        CompactEvent {
            time: event.time.0,
            call: event.call,
            name,
            properties: properties.into_boxed_slice(),
        }
    }

    /// Holds (or replaces) an event's compact form, unless the cap is reached.
    fn hold(&mut self, event: &Event) {
        let id = event.message_id.as_str();
        if self.held.len() >= COMPACT_CAP && !self.held.contains_key(id) {
            return;
        }
        let compact = self.encode(event);
        self.held.insert(id.into(), compact);
    }

    fn lend(&mut self, event: &Event) {
        let compact = self.encode(event);
        self.borrowed
            .insert(event.message_id.as_str().into(), compact);
    }

    fn contains(&self, id: &str) -> bool {
        self.held.contains_key(id) || self.borrowed.contains_key(id)
    }

    fn get(&self, id: &str) -> Option<EncodedEvent<'_>> {
        let c = self.held.get(id).or_else(|| self.borrowed.get(id))?;
        Some(EncodedEvent {
            time: c.time,
            call: c.call,
            name: self.names.get(c.name as usize).map(|n| &**n),
            properties: &c.properties,
        })
    }

    /// Makes sure every listed event is held or borrowed, reading the others from SQLite.
    fn fetch_missing(
        &mut self,
        sql: &SqlStorage,
        ids: &[&str],
    ) -> std::result::Result<(), EdgeError> {
        let missing: Vec<&str> = ids.iter().copied().filter(|m| !self.contains(m)).collect();
        for chunk in missing.chunks(REBUILD_CHUNK) {
            for event in events_by_ids(sql, chunk)?.into_values() {
                self.lend(&event);
            }
        }
        Ok(())
    }
}

/// What the object keeps in memory between requests.
struct Loaded {
    workspace: Workspace,
    graph: IdentityGraph,
    /// `messageId`s of deleted profiles' events: a re-delivery is ignored.
    deleted: FxHashSet<String>,
    segments: BTreeMap<String, SavedSegment>,
    /// Parsed saved segments (re-parsed whenever one changes: `in_segment` links them).
    parsed: Vec<(String, Segment)>,
    memberships: BTreeMap<String, BTreeSet<String>>,
    /// A hash of each profile's identifiers as last written, so unchanged ones are not rewritten.
    written_identifiers: FxHashMap<String, u64>,
    /// Profiles whose rows are older than the graph. Rows are rewritten lazily (by the alarm
    /// [`PROFILE_FLUSH_MS`] after the first change, or before any read): the graph is the truth
    /// and is rebuilt from the events on a cold start.
    dirty: FxHashSet<String>,
    /// Profiles merged away or deleted whose rows are still to be deleted.
    gone: FxHashSet<String>,
    /// The `PROFILES_STALE` marker is stored.
    stale_marked: bool,
    /// When the alarm rewrites the dirty profiles' rows.
    flush_at: Option<i64>,
    /// Rows found in `pending` when the object loaded.
    queued_at_start: u64,
    /// The store over every profile, kept until the next write.
    full: Option<Rc<Store>>,
    /// Compact forms of the stored events, for segment evaluation.
    compact: CompactEvents,
    /// Rows in the `pending` table (acknowledged, not applied yet).
    pending: u64,
    /// The batches of the `pending` rows written since the object loaded, oldest first (the
    /// load applies every row it finds, so from then on this mirrors the table): the alarm
    /// applies them from memory instead of reading back what it has just written.
    queued: VecDeque<String>,
    /// When the alarm applies the queued batches, once one is queued.
    apply_at: Option<i64>,
    /// When the periodic re-evaluation of the saved segments is due.
    reevaluate_at: Option<i64>,
    /// The object's alarm must be set again once the request's synchronous work is done.
    alarm_due: bool,
}

/// What an acknowledgement waits for: the queue's length once its batch is written, or why the
/// write failed.
type Written = std::result::Result<u64, String>;

/// Ingestion requests on their way to the queue.
#[derive(Default)]
struct Intake {
    /// Requests still reading their bodies: the group waits for them.
    arriving: usize,
    /// Batches waiting to be written together, with the requests to answer once they are.
    group: Vec<(String, oneshot::Sender<Written>)>,
}

/// The Durable Object class bound as `EVENT_STORE` in `wrangler.toml`.
#[durable_object]
pub struct EventStore {
    state: State,
    env: Env,
    loaded: Rc<RefCell<Option<Loaded>>>,
    intake: Rc<RefCell<Intake>>,
}

/// An ingestion request reading its body. When the last such request is done (its batch in
/// the group, or failed, or cancelled), the group is written.
struct Arrival<'a> {
    store: &'a EventStore,
}

impl<'a> Arrival<'a> {
    fn new(store: &'a EventStore) -> Self {
        store.intake.borrow_mut().arriving += 1;
        Arrival { store }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        let last = {
            let mut intake = self.store.intake.borrow_mut();
            intake.arriving -= 1;
            intake.arriving == 0 && !intake.group.is_empty()
        };
        if last {
            self.store.write_group();
        }
    }
}

type Reply = std::result::Result<Response, EdgeError>;

fn sql_err(e: worker::Error) -> EdgeError {
    EdgeError::Storage(e.to_string())
}

fn now() -> Timestamp {
    Timestamp(Date::now().as_millis() as i64)
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Response::from_json(body)
        .map(|r| r.with_status(status))
        .map_err(sql_err)
}

/// The JSON error answer for an error.
pub fn error_response(err: &EdgeError) -> Result<Response> {
    Ok(Response::from_json(&err.body())?.with_status(err.status()))
}

fn bad_parameter(name: &str, message: impl Into<String>) -> EdgeError {
    EdgeError::Invalid {
        code: "bad_parameter",
        message: message.into(),
        path: name.to_string(),
    }
}

fn profile_not_found(id: &str) -> EdgeError {
    EdgeError::Missing {
        code: "profile_not_found",
        message: format!("no profile {id}"),
    }
}

fn segment_not_found(id: &str) -> EdgeError {
    EdgeError::Missing {
        code: "segment_not_found",
        message: format!("no saved segment {id:?}"),
    }
}

fn parse_time(name: &str, text: &str) -> std::result::Result<Timestamp, EdgeError> {
    Timestamp::parse(text).map_err(|_| bad_parameter(name, format!("{name} must be RFC 3339")))
}

fn parse_limit(
    query: &BTreeMap<String, String>,
    default: usize,
) -> std::result::Result<usize, EdgeError> {
    match query.get("limit") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(bad_parameter(
                "limit",
                format!("limit must be an integer from 1 to {MAX_PAGE}"),
            )),
        },
    }
}

/// Reads a stored event back (it was accepted once, so it parses).
/// A stored event as the object uses it: identity reads only `context.traits` and
/// `context.externalIds`, the compact forms only names, times and properties (the full JSON stays
/// in the `events` table), so the lean parse with its fast scanner is enough.
fn parse_stored(json: &str) -> Option<Event> {
    ingest::parse_message_lean(json.as_bytes(), 0, Source::File { derive_ids: false }).ok()
}

fn identifiers_hash(profile: &Profile) -> u64 {
    let mut h = FxHasher::default();
    profile.identifiers.hash(&mut h);
    h.finish()
}

/// A segment's JSON answer.
fn segment_json(id: &str, saved: &SavedSegment, size: usize) -> Value {
    json!({
        "id": id,
        "name": saved.doc.get("name"),
        "description": saved.doc.get("description"),
        "condition": saved.doc.get("condition"),
        "size": size,
        "updated_at": Timestamp(saved.updated_at).to_string(),
    })
}

/// An id from a name: lowercase letters and digits, other runs become `_`.
fn id_from_name(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    id.trim_matches('_').to_string()
}

impl Loaded {
    fn saved_map(&self) -> SavedSegments {
        self.segments
            .iter()
            .map(|(id, s)| (id.clone(), s.doc.clone()))
            .collect()
    }

    /// The earliest instant this object needs its alarm at.
    fn next_alarm(&self) -> Option<i64> {
        [self.apply_at, self.reevaluate_at, self.flush_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn reparse(&mut self) {
        let saved = self.saved_map();
        // Stored documents were valid when saved and dependencies cannot be deleted, so each
        // parses; one that somehow does not is left out of evaluation rather than failing ingestion.
        self.parsed = self
            .segments
            .iter()
            .filter_map(|(id, s)| Some((id.clone(), Segment::parse(&s.doc, &saved).ok()?)))
            .collect();
    }
}

impl EventStore {
    pub(crate) fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// The object's storage (destinations set the shared alarm through it).
    pub(crate) fn storage(&self) -> worker::Storage {
        self.state.storage()
    }

    /// A saved segment's current members, sorted; `None` when no such segment is saved.
    pub(crate) fn audience(&self, segment_id: &str) -> Option<Vec<String>> {
        let guard = self.loaded.borrow();
        let loaded = guard.as_ref()?;
        loaded.segments.get(segment_id)?;
        Some(
            loaded
                .memberships
                .get(segment_id)
                .map(|m| m.iter().cloned().collect())
                .unwrap_or_default(),
        )
    }

    /// The current profiles with these ids (merged-away or deleted ones are `None`).
    pub(crate) fn profiles(&self, ids: &[String]) -> Vec<Option<Profile>> {
        let guard = self.loaded.borrow();
        ids.iter()
            .map(|id| {
                guard
                    .as_ref()
                    .and_then(|l| l.graph.profile(id))
                    .filter(|p| p.id == *id)
            })
            .collect()
    }

    /// The workspace this object holds, once loaded.
    pub(crate) fn workspace_id(&self) -> Option<String> {
        self.loaded
            .borrow()
            .as_ref()
            .map(|l| l.workspace.id.clone())
    }

    /// When the object's own alarm is due (queued batches, segment re-evaluation), if scheduled.
    pub(crate) fn reevaluation_due(&self) -> Option<i64> {
        self.loaded.borrow().as_ref().and_then(Loaded::next_alarm)
    }

    /// Loads the workspace and applies every queued batch: what a read needs first, so that it
    /// sees every event acknowledged before it.
    pub(crate) fn ensure_current(
        &self,
        workspace_id: Option<&str>,
    ) -> std::result::Result<(), EdgeError> {
        self.ensure_loaded(workspace_id)?;
        let mut guard = self.loaded.borrow_mut();
        let Some(loaded) = guard.as_mut() else {
            return Ok(());
        };
        let sql = self.sql();
        let applied = self
            .apply_pending(&sql, loaded)
            .and_then(|()| self.flush_profiles(&sql, loaded, usize::MAX).map(drop));
        if applied.is_err() {
            // Memory may be ahead of SQLite now: start again from what is stored (the queue is
            // only emptied by the group's last statement, and applying it twice is harmless).
            *guard = None;
        }
        applied
    }

    /// Loads the workspace on first use: schema, graph, segments, memberships.
    pub(crate) fn ensure_loaded(
        &self,
        workspace_id: Option<&str>,
    ) -> std::result::Result<(), EdgeError> {
        if self.loaded.borrow().is_some() {
            return Ok(());
        }
        let sql = self.sql();
        for statement in SCHEMA {
            sql.exec(statement, None).map_err(sql_err)?;
        }
        #[derive(Deserialize)]
        struct Meta {
            value: String,
        }
        let stored: Option<String> = sql
            .exec("SELECT value FROM meta WHERE key = 'workspace'", None)
            .and_then(|c| c.to_array::<Meta>())
            .map_err(sql_err)?
            .into_iter()
            .next()
            .map(|m| m.value);
        let id = match (workspace_id, stored) {
            (Some(id), Some(s)) if id != s => {
                return Err(EdgeError::Misconfigured(format!(
                    "object of workspace {s:?} asked for {id:?}"
                )))
            }
            (Some(id), None) => {
                sql.exec(
                    "INSERT INTO meta (key, value) VALUES ('workspace', ?)",
                    vec![id.into()],
                )
                .map_err(sql_err)?;
                id.to_string()
            }
            (_, Some(s)) => s,
            (None, None) => {
                return Err(EdgeError::Misconfigured(
                    "the object does not know its workspace".into(),
                ))
            }
        };
        let text = self
            .env
            .var("WORKSPACES")
            .map(|v| v.to_string())
            .or_else(|_| self.env.secret("WORKSPACES").map(|v| v.to_string()))
            .map_err(|_| EdgeError::Misconfigured("WORKSPACES is not set".into()))?;
        let registry = Registry::from_json(&text).map_err(EdgeError::Misconfigured)?;
        let workspace = registry.by_id(&id).cloned().ok_or_else(|| {
            EdgeError::Misconfigured(format!("workspace {id:?} is not configured"))
        })?;
        let settings = workspace
            .identity_settings()
            .map_err(EdgeError::Misconfigured)?;

        #[derive(Deserialize)]
        struct Suppressed {
            r#type: String,
            value: String,
        }
        let suppression: Suppression = sql
            .exec("SELECT type, value FROM suppressed_identifiers", None)
            .and_then(|c| c.to_array::<Suppressed>())
            .map_err(sql_err)?
            .into_iter()
            .map(|s| Identifier::new(s.r#type, s.value))
            .collect();
        let mut graph = IdentityGraph::with_suppression(&settings, suppression);
        // Canonical order: every chunk after the first takes the graph's in-order path.
        #[derive(Deserialize)]
        struct Row {
            json: String,
        }
        let cursor = sql
            .exec(
                "SELECT json FROM events ORDER BY time / 86400000, time, message_id",
                None,
            )
            .map_err(sql_err)?;
        let mut chunk = Vec::with_capacity(REBUILD_CHUNK);
        let mut compact = CompactEvents::default();
        for row in cursor.next::<Row>() {
            let row = row.map_err(sql_err)?;
            if let Some(event) = parse_stored(&row.json) {
                compact.hold(&event);
                chunk.push(event);
            }
            if chunk.len() == REBUILD_CHUNK {
                graph.add_batch(&chunk);
                chunk.clear();
            }
        }
        graph.add_batch(&chunk);

        #[derive(Deserialize)]
        struct Deleted {
            message_id: String,
        }
        let deleted = sql
            .exec("SELECT message_id FROM deleted_messages", None)
            .and_then(|c| c.to_array::<Deleted>())
            .map_err(sql_err)?
            .into_iter()
            .map(|d| d.message_id)
            .collect();
        #[derive(Deserialize)]
        struct SegmentRow {
            id: String,
            doc: String,
            updated_at: i64,
        }
        let segments = sql
            .exec("SELECT id, doc, updated_at FROM segments", None)
            .and_then(|c| c.to_array::<SegmentRow>())
            .map_err(sql_err)?
            .into_iter()
            .filter_map(|s| {
                let doc = serde_json::from_str(&s.doc).ok()?;
                Some((
                    s.id,
                    SavedSegment {
                        doc,
                        updated_at: s.updated_at,
                    },
                ))
            })
            .collect();
        #[derive(Deserialize)]
        struct Member {
            segment_id: String,
            profile_id: String,
        }
        let mut memberships: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for m in sql
            .exec("SELECT segment_id, profile_id FROM memberships", None)
            .and_then(|c| c.to_array::<Member>())
            .map_err(sql_err)?
        {
            memberships
                .entry(m.segment_id)
                .or_default()
                .insert(m.profile_id);
        }
        let settings_text = workspace
            .identity
            .clone()
            .unwrap_or(Value::Null)
            .to_string();
        let mut loaded = Loaded {
            workspace,
            graph,
            deleted,
            segments,
            parsed: Vec::new(),
            memberships,
            written_identifiers: FxHashMap::default(),
            dirty: FxHashSet::default(),
            gone: FxHashSet::default(),
            stale_marked: false,
            flush_at: None,
            queued_at_start: 0,
            full: None,
            compact,
            pending: count(&sql, "SELECT COUNT(*) AS n FROM pending")?,
            queued: VecDeque::new(),
            apply_at: None,
            reevaluate_at: None,
            alarm_due: false,
        };
        loaded.reparse();
        loaded.queued_at_start = loaded.pending;
        // Profile rows the last instance had not rewritten yet (it stopped or crashed first).
        let stale =
            sql.exec(
                "SELECT COUNT(*) AS n FROM meta WHERE key = ?",
                vec![PROFILES_STALE.into()],
            )
            .and_then(|c| c.one::<Counted>())
            .map_err(sql_err)?
            .n > 0;
        loaded.stale_marked = stale;
        // Batches acknowledged before a restart or an eviction.
        self.apply_pending(&sql, &mut loaded)?;
        if stale {
            self.rewrite_all_profiles(&sql, &mut loaded)?;
        }
        self.flush_profiles(&sql, &mut loaded, usize::MAX)?;
        // Settings changed since the tables were written: profiles may differ everywhere.
        let previous_settings: Option<String> = sql
            .exec("SELECT value FROM meta WHERE key = 'identity'", None)
            .and_then(|c| c.to_array::<Meta>())
            .map_err(sql_err)?
            .into_iter()
            .next()
            .map(|m| m.value);
        if previous_settings.as_deref() != Some(settings_text.as_str()) {
            self.rewrite_all_profiles(&sql, &mut loaded)?;
            sql.exec(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('identity', ?)",
                vec![settings_text.into()],
            )
            .map_err(sql_err)?;
            let at = now();
            self.reevaluate_all(&sql, &mut loaded, at)?;
        }
        *self.loaded.borrow_mut() = Some(loaded);
        Ok(())
    }

    fn rewrite_all_profiles(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
    ) -> std::result::Result<(), EdgeError> {
        sql.exec("DELETE FROM profiles", None).map_err(sql_err)?;
        sql.exec("DELETE FROM identifiers", None).map_err(sql_err)?;
        loaded.written_identifiers.clear();
        loaded.dirty.clear();
        loaded.gone.clear();
        let resolution = loaded.graph.resolution();
        for chunk in resolution.profiles.chunks(1000) {
            write_profiles(sql, loaded, chunk)?;
        }
        Ok(())
    }

    /// Queues an acknowledged batch and answers once it is written (the runtime's output gate
    /// holds the answer until the write is durable). A request alone writes its batch at once;
    /// requests that overlap are written by one statement, so they share one commit: the last
    /// one to finish reading its body writes the group, and none waits more than
    /// [`GROUP_WAIT_MS`] for it.
    async fn enqueue(&self, batch: String, arrival: Arrival<'_>) -> Reply {
        let (sender, receiver) = oneshot::channel();
        self.intake.borrow_mut().group.push((batch, sender));
        drop(arrival);
        let delay = worker::Delay::from(Duration::from_millis(GROUP_WAIT_MS));
        let written = match select(receiver, delay).await {
            Either::Left((written, _)) => written,
            Either::Right(((), receiver)) => {
                self.write_group();
                receiver.await
            }
        };
        match written {
            // No body: in `wrangler dev` every chunk of a subrequest's answer is one more
            // inspector event relayed to Node, and the worker only needs the status.
            Ok(Ok(_)) => Response::empty().map_err(sql_err),
            Ok(Err(message)) => Err(EdgeError::Storage(message)),
            Err(_) => Err(EdgeError::Storage("the batch was not written".into())),
        }
    }

    /// Writes the gathered batches and tells their requests.
    fn write_group(&self) {
        let group = std::mem::take(&mut self.intake.borrow_mut().group);
        if group.is_empty() {
            return;
        }
        let (batches, waiters): (Vec<String>, Vec<_>) = group.into_iter().unzip();
        let written = self
            .write_pending(batches)
            .map_err(|e| e.body().to_string());
        for waiter in waiters {
            let _ = waiter.send(written.clone());
        }
    }

    /// Writes queued batches, one row each, with one statement.
    fn write_pending(&self, batches: Vec<String>) -> std::result::Result<u64, EdgeError> {
        let mut guard = self.loaded.borrow_mut();
        let loaded = guard
            .as_mut()
            .ok_or_else(|| EdgeError::Storage("workspace not loaded".into()))?;
        if batches.is_empty() {
            return Ok(loaded.pending);
        }
        let mut batches = batches.into_iter().peekable();
        // A Durable Object's statement takes at most 100 parameters.
        while batches.peek().is_some() {
            let piece: Vec<String> = batches.by_ref().take(50).collect();
            let statement = format!(
                "INSERT INTO pending (batch) VALUES {}",
                vec!["(?)"; piece.len()].join(", ")
            );
            let values: Vec<JsValue> = piece.iter().map(|b| JsValue::from_str(b)).collect();
            self.sql().exec_raw(&statement, values).map_err(sql_err)?;
            // Only what was written: memory stays the table's mirror.
            loaded.pending += piece.len() as u64;
            loaded.queued.extend(piece);
        }
        if loaded.apply_at.is_none() {
            loaded.apply_at = Some(now().0 + loaded.workspace.apply_delay_ms() as i64);
            loaded.alarm_due = true;
        }
        Ok(loaded.pending)
    }

    /// Applies every queued batch: what a read (or a cold start) needs first.
    fn apply_pending(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
    ) -> std::result::Result<(), EdgeError> {
        loaded.apply_at = None;
        while self.apply_slice(sql, loaded, -1)? {}
        Ok(())
    }

    /// Applies up to `rows` queued batches (`-1`: all) as one group: dedup into `events`,
    /// identity, audiences of the touched profiles (membership changes recorded at the apply
    /// time). All of it runs without an await, so the runtime commits it as one atomic write;
    /// the group's rows leave the queue by its last statement. Returns whether rows are left.
    fn apply_slice(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        rows: i64,
    ) -> std::result::Result<bool, EdgeError> {
        if loaded.pending == 0 {
            return Ok(false);
        }
        // The batches to apply, and the statement that takes their rows out of the queue.
        let (batches, delete, bound): (Vec<String>, &str, i64) = if !loaded.queued.is_empty() {
            // Written since the load: the oldest rows of the table, in the same order.
            let n = match usize::try_from(rows) {
                Ok(n) => n.min(loaded.queued.len()),
                Err(_) => loaded.queued.len(),
            };
            let taken = loaded.queued.drain(..n).collect();
            (
                taken,
                "DELETE FROM pending WHERE seq IN (SELECT seq FROM pending ORDER BY seq LIMIT ?)",
                n as i64,
            )
        } else {
            // Found in the table when the object loaded (queued before a restart, a crash or
            // an eviction).
            #[derive(Deserialize)]
            struct Row {
                seq: i64,
                batch: String,
            }
            let taken: Vec<Row> = sql
                .exec(
                    "SELECT seq, batch FROM pending ORDER BY seq LIMIT ?",
                    vec![SqlStorageValue::Integer(rows)],
                )
                .and_then(|c| c.to_array())
                .map_err(sql_err)?;
            let Some(last) = taken.iter().map(|r| r.seq).max() else {
                loaded.pending = 0;
                return Ok(false);
            };
            let batches = taken
                .into_iter()
                .map(|row| {
                    if !row.batch.starts_with('[') {
                        return row.batch;
                    }
                    // Queued by an earlier version. Written by the worker from accepted events,
                    // so it parses; one that somehow does not must not block every later row.
                    match serde_json::from_str::<Vec<LegacyQueuedEvent>>(&row.batch) {
                        Ok(list) => {
                            let lines: Vec<String> = list.into_iter().map(|e| e.json).collect();
                            lines.join("\n")
                        }
                        Err(e) => {
                            worker::console_error!("pending batch {} dropped: {e}", row.seq);
                            String::new()
                        }
                    }
                })
                .collect();
            (batches, "DELETE FROM pending WHERE seq <= ?", last)
        };
        let texts: Vec<&str> = batches
            .iter()
            .flat_map(|b| b.lines())
            .filter(|l| !l.is_empty())
            .collect();
        self.append(sql, loaded, &texts)?;
        sql.exec(delete, vec![SqlStorageValue::Integer(bound)])
            .map_err(sql_err)?;
        loaded.pending = loaded.pending.saturating_sub(batches.len() as u64);
        Ok(loaded.pending > 0)
    }

    /// Stores events (each a normalized event's JSON): identity at ingestion, the new events,
    /// then the touched profiles (rows marked for rewriting) and their audiences.
    fn append(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        texts: &[&str],
    ) -> std::result::Result<(), EdgeError> {
        let mut events = Vec::with_capacity(texts.len());
        let mut kept = Vec::with_capacity(texts.len());
        for text in texts {
            if let Some(e) = parse_stored(text) {
                if !loaded.deleted.contains(e.message_id.as_str()) {
                    events.push(e);
                    kept.push(*text);
                }
            }
        }
        if events.is_empty() {
            return Ok(());
        }
        let (added, changes) = loaded.graph.add_batch_tracked(&events);
        // The texts are stored as they are, never re-serialized. (Bound as parameters, 20 rows
        // per statement, they cost more: a crossing to JavaScript per value.)
        let mut columns = String::from("[");
        let mut texts: Vec<u8> = Vec::new();
        let flush = |columns: &mut String, texts: &mut Vec<u8>| {
            columns.push(']');
            let args = vec![
                std::mem::replace(columns, String::from("[")).into(),
                SqlStorageValue::Blob(std::mem::take(texts)),
            ];
            sql.exec(APPEND, args).map(drop).map_err(sql_err)
        };
        for ((e, text), added) in events.iter().zip(&kept).zip(added) {
            if added == Added::Duplicate {
                continue;
            }
            loaded.compact.hold(e);
            if texts.len() + text.len() > MAX_ARG_BYTES && !texts.is_empty() {
                flush(&mut columns, &mut texts)?;
            }
            let id = serde_json::to_string(e.message_id.as_str())
                .map_err(|err| EdgeError::Storage(err.to_string()))?;
            let received = e
                .received_at
                .map_or_else(|| "null".to_string(), |t| t.millis().to_string());
            if columns.len() > 1 {
                columns.push(',');
            }
            // substr() counts from 1.
            let _ = write!(
                columns,
                "[{id},{},\"{}\",{received},{},{}]",
                e.time.millis(),
                e.call.as_str(),
                texts.len() + 1,
                text.len()
            );
            texts.extend_from_slice(text.as_bytes());
        }
        if !texts.is_empty() {
            flush(&mut columns, &mut texts)?;
        }
        // Even for duplicates only: a group applied again after a failure rewrites its profiles.
        self.apply_changes(sql, loaded, &changes, now())
    }

    /// Marks the touched profiles' rows for rewriting and recomputes their memberships.
    fn apply_changes(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        changes: &ProfileChanges,
        at: Timestamp,
    ) -> std::result::Result<(), EdgeError> {
        loaded.full = None;
        for id in &changes.removed {
            loaded.dirty.remove(id);
            loaded.gone.insert(id.clone());
        }
        for id in &changes.current {
            loaded.gone.remove(id);
            loaded.dirty.insert(id.clone());
        }
        if !loaded.dirty.is_empty() || !loaded.gone.is_empty() {
            if !loaded.stale_marked {
                // In the same atomic write as the change: a crash before the rows are rewritten
                // leaves the marker, and the next cold start rewrites every row.
                sql.exec(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')",
                    vec![PROFILES_STALE.into()],
                )
                .map_err(sql_err)?;
                loaded.stale_marked = true;
            }
            if loaded.flush_at.is_none() {
                loaded.flush_at = Some(at.0 + PROFILE_FLUSH_MS);
                loaded.alarm_due = true;
            }
        }
        if loaded.parsed.is_empty() {
            return Ok(());
        }
        let profiles: Vec<Profile> = changes
            .current
            .iter()
            .filter_map(|id| loaded.graph.profile(id))
            .collect();
        // Conditions are per profile: a store of just these profiles answers for them.
        let store = store_of(sql, &loaded.graph, &mut loaded.compact, &profiles)?;
        let mut decided: Vec<(String, BTreeSet<String>)> = Vec::new();
        for (segment_id, segment) in &loaded.parsed {
            let members = store.evaluate(segment, at);
            let ids = members.ids(&store).into_iter().map(String::from).collect();
            decided.push((segment_id.clone(), ids));
        }
        for (segment_id, members) in decided {
            let current = loaded.memberships.entry(segment_id.clone()).or_default();
            let mut added = Vec::new();
            let mut removed: Vec<String> = changes
                .removed
                .iter()
                .filter(|id| current.contains(*id))
                .cloned()
                .collect();
            for p in &profiles {
                match (current.contains(&p.id), members.contains(&p.id)) {
                    (false, true) => added.push(p.id.clone()),
                    (true, false) => removed.push(p.id.clone()),
                    _ => {}
                }
            }
            record(sql, &segment_id, current, &added, &removed, at)?;
        }
        self.schedule_reevaluation(loaded);
        Ok(())
    }

    /// Rewrites up to `limit` dirty profiles' rows (and deletes the rows of profiles gone);
    /// clears the stale marker once none is left. Returns whether dirty profiles remain.
    fn flush_profiles(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        limit: usize,
    ) -> std::result::Result<bool, EdgeError> {
        if !loaded.gone.is_empty() {
            let gone: Vec<String> = loaded.gone.drain().collect();
            exec_rows(
                sql,
                "DELETE FROM profiles WHERE id IN (SELECT value FROM json_each(?))",
                &gone,
            )?;
            exec_rows(
                sql,
                "DELETE FROM identifiers WHERE profile_id IN (SELECT value FROM json_each(?))",
                &gone,
            )?;
            for id in &gone {
                loaded.written_identifiers.remove(id);
            }
        }
        let ids: Vec<String> = if limit >= loaded.dirty.len() {
            loaded.dirty.drain().collect()
        } else {
            let ids: Vec<String> = loaded.dirty.iter().take(limit).cloned().collect();
            for id in &ids {
                loaded.dirty.remove(id);
            }
            ids
        };
        let profiles: Vec<Profile> = ids
            .iter()
            .filter_map(|id| loaded.graph.profile(id).filter(|p| p.id == *id))
            .collect();
        write_profiles(sql, loaded, &profiles)?;
        if !loaded.dirty.is_empty() {
            return Ok(true);
        }
        loaded.flush_at = None;
        if loaded.stale_marked {
            sql.exec(
                "DELETE FROM meta WHERE key = ?",
                vec![PROFILES_STALE.into()],
            )
            .map_err(sql_err)?;
            loaded.stale_marked = false;
        }
        Ok(false)
    }

    /// The store over every profile (cached until the next write), built from the compact
    /// events (the ones past the cap read back from SQLite).
    fn full_store(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
    ) -> std::result::Result<Rc<Store>, EdgeError> {
        if let Some(store) = &loaded.full {
            return Ok(Rc::clone(store));
        }
        let resolution = loaded.graph.resolution();
        let mut lists: Vec<Vec<&str>> = vec![Vec::new(); resolution.profiles.len()];
        let mut all: Vec<&str> = Vec::new();
        for (m, p) in loaded.graph.message_ids().zip(&resolution.event_profile) {
            if let Some(list) = p.and_then(|p| lists.get_mut(p as usize)) {
                list.push(m);
                all.push(m);
            }
        }
        let compact = &mut loaded.compact;
        compact.borrowed.clear();
        compact.fetch_missing(sql, &all)?;
        let mut order: Vec<usize> = (0..resolution.profiles.len()).collect();
        order.sort_by(|&a, &b| resolution.profiles[a].id.cmp(&resolution.profiles[b].id));
        let mut builder = StoreBuilder::new();
        for p in order {
            let mut events: Vec<(&str, EncodedEvent<'_>)> = lists[p]
                .iter()
                .filter_map(|m| Some((*m, compact.get(m)?)))
                .collect();
            events.sort_by(|a, b| (a.1.time, a.0).cmp(&(b.1.time, b.0)));
            builder.add_profile_encoded(
                &resolution.profiles[p],
                &compact.encoder,
                events.into_iter().map(|(_, e)| e),
            );
        }
        let store = Rc::new(builder.finish());
        compact.borrowed.clear();
        loaded.full = Some(Rc::clone(&store));
        Ok(store)
    }

    /// Evaluates every saved segment over every profile and records what changed.
    fn reevaluate_all(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        at: Timestamp,
    ) -> std::result::Result<(), EdgeError> {
        let gone: Vec<String> = loaded
            .memberships
            .keys()
            .filter(|id| !loaded.segments.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            loaded.memberships.remove(&id);
        }
        if loaded.parsed.is_empty() {
            return Ok(());
        }
        let store = self.full_store(sql, loaded)?;
        for (segment_id, segment) in &loaded.parsed {
            let members: BTreeSet<String> = store
                .evaluate(segment, at)
                .ids(&store)
                .into_iter()
                .map(String::from)
                .collect();
            let current = loaded.memberships.entry(segment_id.clone()).or_default();
            let added: Vec<String> = members.difference(current).cloned().collect();
            let removed: Vec<String> = current.difference(&members).cloned().collect();
            record(sql, segment_id, current, &added, &removed, at)?;
        }
        self.schedule_reevaluation(loaded);
        Ok(())
    }

    /// Time-window expiry: while saved segments exist, an alarm re-evaluates them every
    /// `reevaluate_seconds` (docs/scaling.md explains the choice).
    fn schedule_reevaluation(&self, loaded: &mut Loaded) {
        if loaded.reevaluate_at.is_some() || loaded.segments.is_empty() {
            return;
        }
        let at = now().0 + loaded.workspace.reevaluate_seconds() as i64 * 1000;
        loaded.reevaluate_at = Some(at);
        loaded.alarm_due = true;
    }

    /// Sets the alarm a request asked for (outside the in-memory borrow: it awaits).
    async fn set_due_alarm(&self) {
        let due = self.loaded.borrow_mut().as_mut().and_then(|l| {
            let due = std::mem::take(&mut l.alarm_due);
            due.then(|| l.next_alarm()).flatten()
        });
        if let Some(at) = due {
            // One alarm per object: the earliest of queued batches, re-evaluation and syncs.
            let at = crate::destinations::next_due(&self.sql()).map_or(at, |d| d.min(at));
            let when = worker::ScheduledTime::new(js_sys::Date::new(&(at as f64).into()));
            if let Err(e) = self.state.storage().set_alarm(when).await {
                // Queued batches then wait for the next read or write, expiry for the next
                // write: each schedules again.
                worker::console_error!("set_alarm failed: {e}");
                if let Some(l) = self.loaded.borrow_mut().as_mut() {
                    l.apply_at = None;
                    l.reevaluate_at = None;
                }
            }
        }
    }

    async fn route(&self, mut req: Request) -> Reply {
        let workspace = req.headers().get(WORKSPACE_HEADER).ok().flatten();
        let method = req.method();
        let path = req.path();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts == ["append"] {
            if method != Method::Post {
                return Err(EdgeError::MethodNotAllowed);
            }
            let arrival = Arrival::new(self);
            let body = req.bytes().await.map_err(sql_err)?;
            self.ensure_loaded(workspace.as_deref())?;
            let batch = String::from_utf8(body).map_err(|e| EdgeError::Storage(e.to_string()))?;
            return self.enqueue(batch, arrival).await;
        } else {
            self.ensure_current(workspace.as_deref())?;
        }
        let url = req.url().map_err(sql_err)?;
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        let body: Option<Vec<u8>> = match method {
            Method::Post | Method::Put => Some(req.bytes().await.map_err(sql_err)?),
            _ => None,
        };
        let mut guard = self.loaded.borrow_mut();
        let loaded = guard
            .as_mut()
            .ok_or_else(|| EdgeError::Storage("workspace not loaded".into()))?;
        let sql = self.sql();
        let json_body = || -> std::result::Result<Value, EdgeError> {
            serde_json::from_slice(body.as_deref().unwrap_or_default()).map_err(|e| {
                EdgeError::Invalid {
                    code: "invalid_json",
                    message: format!("the body is not JSON: {e}"),
                    path: String::new(),
                }
            })
        };
        match (parts.as_slice(), method) {
            (["stats"], Method::Get) => json_reply(
                200,
                &json!(Stats {
                    events: count(&sql, "SELECT COUNT(*) AS n FROM events")?,
                    queued_at_start: loaded.queued_at_start,
                }),
            ),
            (["v1", "workspace"], Method::Get) => json_reply(
                200,
                &json!({
                    "id": loaded.workspace.id,
                    "profiles": count(&sql, "SELECT COUNT(*) AS n FROM profiles")?,
                    "events": count(&sql, "SELECT COUNT(*) AS n FROM events")?,
                    "unresolved": loaded.graph.unresolved(),
                    "segments": loaded.segments.len(),
                    "storage_bytes": sql.database_size(),
                }),
            ),
            (["v1", "profiles"], Method::Get) => {
                let (Some(kind), Some(value)) = (query.get("type"), query.get("value")) else {
                    return Err(bad_parameter("type", "give both type and value"));
                };
                let ident = Identifier::normalized(kind, value)
                    .ok_or_else(|| profile_not_found(&format!("{kind}:{value}")))?;
                #[derive(Deserialize)]
                struct Owner {
                    profile_id: String,
                }
                let owner: Option<Owner> = sql
                    .exec(
                        "SELECT profile_id FROM identifiers WHERE type = ? AND value = ?",
                        vec![ident.kind.as_str().into(), ident.value.as_str().into()],
                    )
                    .and_then(|c| c.to_array())
                    .map_err(sql_err)?
                    .into_iter()
                    .next();
                let owner = owner.ok_or_else(|| profile_not_found(&ident.to_string()))?;
                profile_answer(&sql, &owner.profile_id, None)
            }
            (["v1", "profiles", id], Method::Get) => {
                let current = loaded
                    .graph
                    .redirect(id)
                    .ok_or_else(|| profile_not_found(id))?;
                let from = (current != *id).then_some(*id);
                profile_answer(&sql, &current, from)
            }
            (["v1", "profiles", id], Method::Delete) => self.delete_profile(&sql, loaded, id),
            (["v1", "profiles", id, "events"], Method::Get) => {
                profile_events(&sql, loaded, id, &query)
            }
            (["v1", "profiles", id, "explain"], Method::Get) => {
                let explanation = loaded
                    .graph
                    .explain(id)
                    .ok_or_else(|| profile_not_found(id))?;
                json_reply(200, &explanation.to_json())
            }
            (["v1", "segments"], Method::Get) => {
                let list: Vec<Value> = loaded
                    .segments
                    .iter()
                    .map(|(id, s)| segment_json(id, s, size_of(loaded, id)))
                    .collect();
                json_reply(200, &json!({"segments": list}))
            }
            (["v1", "segments"], Method::Post) => {
                let doc = json_body()?;
                self.save_segment(&sql, loaded, None, doc)
            }
            (["v1", "segments", "preview"], Method::Post) => {
                let body = json_body()?;
                self.preview(&sql, loaded, &body)
            }
            (["v1", "segments", id], Method::Get) => {
                let saved = loaded
                    .segments
                    .get(*id)
                    .ok_or_else(|| segment_not_found(id))?;
                json_reply(200, &segment_json(id, saved, size_of(loaded, id)))
            }
            (["v1", "segments", id], Method::Put) => {
                let doc = json_body()?;
                if !loaded.segments.contains_key(*id) {
                    return Err(segment_not_found(id));
                }
                self.save_segment(&sql, loaded, Some(id), doc)
            }
            (["v1", "segments", id], Method::Delete) => self.delete_segment(&sql, loaded, id),
            (["v1", "segments", id, "members"], Method::Get) => members(&sql, loaded, id, &query),
            (["v1", "segments", id, "changes"], Method::Get) => changes(&sql, loaded, id, &query),
            (["v1", "segments", id, "export.csv"], Method::Get) => {
                drop(guard);
                self.export(id, &query)
            }
            (["v1", "snapshot"], Method::Get) => {
                let at = now();
                let store = self.full_store(&sql, loaded)?;
                let headers = Headers::new();
                let _ = headers.set("Content-Type", "application/octet-stream");
                let _ = headers.set(SNAPSHOT_TIME_HEADER, &at.to_string());
                Ok(Response::from_bytes(store.to_bytes())
                    .map_err(sql_err)?
                    .with_headers(headers))
            }
            (
                ["append" | "stats"]
                | ["v1", "workspace" | "snapshot"]
                | ["v1", "profiles", ..]
                | ["v1", "segments", ..],
                _,
            ) => Err(EdgeError::MethodNotAllowed),
            _ => Err(EdgeError::NotFound),
        }
    }

    fn delete_profile(&self, sql: &SqlStorage, loaded: &mut Loaded, id: &str) -> Reply {
        let (deletion, changes) = loaded
            .graph
            .delete_profile_tracked(id)
            .ok_or_else(|| profile_not_found(id))?;
        let ids = serde_json::to_string(&deletion.message_ids).unwrap_or_default();
        sql.exec(
            "DELETE FROM events WHERE message_id IN (SELECT value FROM json_each(?))",
            vec![ids.clone().into()],
        )
        .map_err(sql_err)?;
        sql.exec(
            "INSERT OR IGNORE INTO deleted_messages (message_id) SELECT value FROM json_each(?)",
            vec![ids.into()],
        )
        .map_err(sql_err)?;
        for m in &deletion.message_ids {
            loaded.compact.held.remove(m.as_str());
        }
        loaded.deleted.extend(deletion.message_ids.iter().cloned());
        for ident in &deletion.identifiers {
            sql.exec(
                "INSERT OR IGNORE INTO suppressed_identifiers (type, value) VALUES (?, ?)",
                vec![ident.kind.as_str().into(), ident.value.as_str().into()],
            )
            .map_err(sql_err)?;
        }
        // Its past membership history names it: only the final removal is kept, so downstream
        // syncs still learn to drop it.
        sql.exec(
            "DELETE FROM membership_changes WHERE profile_id = ?",
            vec![deletion.profile_id.as_str().into()],
        )
        .map_err(sql_err)?;
        let at = now();
        self.apply_changes(sql, loaded, &changes, at)?;
        // The deleted profile's row goes now, with everything else the request deletes.
        self.flush_profiles(sql, loaded, usize::MAX)?;
        for (segment_id, current) in loaded.memberships.iter_mut() {
            if current.contains(&deletion.profile_id) {
                record(
                    sql,
                    segment_id,
                    current,
                    &[],
                    std::slice::from_ref(&deletion.profile_id),
                    at,
                )?;
            }
        }
        json_reply(
            200,
            &json!({"deleted": {
                "profile_id": deletion.profile_id,
                "events": deletion.message_ids.len(),
                "identifiers": deletion.identifiers.len(),
            }}),
        )
    }

    fn save_segment(
        &self,
        sql: &SqlStorage,
        loaded: &mut Loaded,
        path_id: Option<&str>,
        mut doc: Value,
    ) -> Reply {
        let Some(obj) = doc.as_object_mut() else {
            return Err(EdgeError::Invalid {
                code: "wrong_type",
                message: "a segment document is a JSON object".into(),
                path: String::new(),
            });
        };
        let doc_id = obj.get("id").and_then(Value::as_str).map(str::to_string);
        let id = match (path_id, doc_id) {
            (Some(p), Some(d)) if p != d => {
                return Err(EdgeError::Invalid {
                    code: "id_mismatch",
                    message: format!("the document's id {d:?} is not the path's {p:?}"),
                    path: "id".into(),
                })
            }
            (Some(p), _) => p.to_string(),
            (None, Some(d)) => d,
            (None, None) => obj
                .get("name")
                .and_then(Value::as_str)
                .map(id_from_name)
                .unwrap_or_default(),
        };
        if id.is_empty() {
            return Err(EdgeError::Invalid {
                code: "missing_id",
                message: "a saved segment needs an id, or a name to derive one from".into(),
                path: "id".into(),
            });
        }
        obj.insert("id".into(), id.clone().into());
        if path_id.is_none() && loaded.segments.contains_key(&id) {
            return Err(EdgeError::Conflict {
                code: "segment_exists",
                message: format!("a segment {id:?} exists: PUT /v1/segments/{id} replaces it"),
            });
        }
        let mut saved = loaded.saved_map();
        saved.insert(id.clone(), doc.clone());
        Segment::parse(&doc, &saved).map_err(definition_error)?;
        // Replacing a segment must not break another that names it.
        for (other, other_doc) in &saved {
            if *other != id {
                Segment::parse(other_doc, &saved).map_err(definition_error)?;
            }
        }
        let at = now();
        sql.exec(
            "INSERT OR REPLACE INTO segments (id, doc, updated_at) VALUES (?, ?, ?)",
            vec![
                id.as_str().into(),
                doc.to_string().into(),
                SqlStorageValue::Integer(at.0),
            ],
        )
        .map_err(sql_err)?;
        let created = path_id.is_none();
        loaded.segments.insert(
            id.clone(),
            SavedSegment {
                doc,
                updated_at: at.0,
            },
        );
        loaded.reparse();
        self.reevaluate_all(sql, loaded, at)?;
        let saved = &loaded.segments[&id];
        json_reply(
            if created { 201 } else { 200 },
            &segment_json(&id, saved, size_of(loaded, &id)),
        )
    }

    fn delete_segment(&self, sql: &SqlStorage, loaded: &mut Loaded, id: &str) -> Reply {
        if !loaded.segments.contains_key(id) {
            return Err(segment_not_found(id));
        }
        let mut saved = loaded.saved_map();
        saved.remove(id);
        for (other, doc) in &saved {
            if Segment::parse(doc, &saved).is_err() {
                return Err(EdgeError::Conflict {
                    code: "segment_in_use",
                    message: format!("segment {other:?} uses {id:?} through in_segment"),
                });
            }
        }
        for statement in [
            "DELETE FROM segments WHERE id = ?",
            "DELETE FROM memberships WHERE segment_id = ?",
            "DELETE FROM membership_changes WHERE segment_id = ?",
        ] {
            sql.exec(statement, vec![id.into()]).map_err(sql_err)?;
        }
        loaded.segments.remove(id);
        loaded.memberships.remove(id);
        loaded.reparse();
        json_reply(200, &json!({"deleted": id}))
    }

    fn preview(&self, sql: &SqlStorage, loaded: &mut Loaded, body: &Value) -> Reply {
        let started = Date::now().as_millis();
        let doc = body.get("segment").ok_or_else(|| EdgeError::Invalid {
            code: "missing_key",
            message: "the body needs \"segment\": a segment document".into(),
            path: "segment".into(),
        })?;
        let at = match body.get("now") {
            None | Some(Value::Null) => now(),
            Some(Value::String(s)) => parse_time("now", s)?,
            Some(_) => return Err(bad_parameter("now", "now must be an RFC 3339 string")),
        };
        let sample = match body.get("sample") {
            None | Some(Value::Null) => 10,
            Some(v) => v.as_u64().filter(|&n| n <= 1000).ok_or_else(|| {
                bad_parameter("sample", "sample must be an integer from 0 to 1000")
            })? as usize,
        };
        let segment = Segment::parse(doc, &loaded.saved_map()).map_err(|e| {
            let mut err = definition_error(e);
            if let EdgeError::Invalid { path, .. } = &mut err {
                *path = if path.is_empty() {
                    "segment".into()
                } else {
                    format!("segment.{path}")
                };
            }
            err
        })?;
        let store = self.full_store(sql, loaded)?;
        let result = store.evaluate(&segment, at);
        let ids: Vec<&str> = result
            .sample(sample)
            .into_iter()
            .filter_map(|m| store.profile_id(m))
            .collect();
        json_reply(
            200,
            &json!({
                "count": result.count(),
                "total_profiles": store.profile_count(),
                "sample": ids,
                "now": at.to_string(),
                "took_ms": Date::now().as_millis().saturating_sub(started),
            }),
        )
    }

    /// Streams an audience as CSV: evaluated at `now` over every profile, rows written
    /// `EXPORT_CHUNK` profiles at a time, each from the live graph (a profile deleted meanwhile is
    /// left out).
    fn export(&self, id: &str, query: &BTreeMap<String, String>) -> Reply {
        let columns =
            ColumnSpec::parse(query.get("columns").map_or("", String::as_str)).map_err(|e| {
                EdgeError::Invalid {
                    code: e.code(),
                    message: e.message.clone(),
                    path: e.path.clone(),
                }
            })?;
        let at = match query.get("now") {
            Some(t) => parse_time("now", t)?,
            None => now(),
        };
        let members: Vec<String> = {
            let mut guard = self.loaded.borrow_mut();
            let loaded = guard
                .as_mut()
                .ok_or_else(|| EdgeError::Storage("workspace not loaded".into()))?;
            let segment = loaded
                .parsed
                .iter()
                .find(|(s, _)| s == id)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| segment_not_found(id))?;
            let store = self.full_store(&self.sql(), loaded)?;
            store
                .evaluate(&segment, at)
                .ids(&store)
                .into_iter()
                .map(String::from)
                .collect()
        };
        let buffer = SharedBuffer::default();
        let export = CsvExport::new(buffer.clone(), &columns)
            .map_err(|e| EdgeError::Storage(format!("csv: {e}")))?;
        let state = ExportState {
            loaded: Rc::clone(&self.loaded),
            members,
            next: 0,
            export: Some(export),
            buffer,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            let chunk = state.next_chunk()?;
            Some((Ok::<Vec<u8>, worker::Error>(chunk), state))
        });
        let headers = Headers::new();
        let _ = headers.set("Content-Type", CONTENT_TYPE);
        let _ = headers.set(
            "Content-Disposition",
            &format!("attachment; filename=\"{}.csv\"", id_from_name(id)),
        );
        let _ = headers.set(SNAPSHOT_TIME_HEADER, &at.to_string());
        Ok(Response::from_stream(stream)
            .map_err(sql_err)?
            .with_headers(headers))
    }

    /// The alarm: applies queued batches, rewrites changed profiles' rows, re-evaluates the
    /// saved segments when that is due. Queued batches and profile rows are done in slices with
    /// a yield between them, so that acknowledgements never wait behind more than one slice.
    async fn alarm_run(&self) -> std::result::Result<(), EdgeError> {
        self.ensure_loaded(None)?;
        let sql = self.sql();
        // Rows queued from here on set the alarm again; this run takes the ones queued so far.
        let slices = match self.loaded.borrow_mut().as_mut() {
            Some(loaded) => {
                loaded.apply_at = None;
                loaded.pending.div_ceil(APPLY_SLICE_ROWS as u64)
            }
            None => return Ok(()),
        };
        for slice in 0..slices {
            if slice > 0 {
                yield_now().await;
            }
            if !self.in_slice(|loaded| self.apply_slice(&sql, loaded, APPLY_SLICE_ROWS))? {
                break;
            }
        }
        let due = |l: &Loaded| l.flush_at.is_some_and(|f| f <= now().0);
        if self.loaded.borrow().as_ref().is_some_and(due) {
            if slices > 0 {
                yield_now().await;
            }
            while self.in_slice(|loaded| self.flush_profiles(&sql, loaded, FLUSH_SLICE))? {
                yield_now().await;
            }
        }
        let mut guard = self.loaded.borrow_mut();
        let Some(loaded) = guard.as_mut() else {
            return Ok(());
        };
        // The alarm that fired is spent: whatever is still due needs it set again.
        loaded.alarm_due = true;
        if loaded.pending > 0 && loaded.apply_at.is_none() {
            loaded.apply_at = Some(now().0 + loaded.workspace.apply_delay_ms() as i64);
        }
        let at = now();
        if loaded.reevaluate_at.is_some_and(|r| r <= at.0) {
            loaded.reevaluate_at = None;
            self.reevaluate_all(&sql, loaded, at)?;
        }
        Ok(())
    }

    /// Runs one synchronous slice of the alarm's work on the loaded state (`false` when there
    /// is none). A failure drops the state, to be rebuilt from SQLite by the next request.
    fn in_slice(
        &self,
        work: impl FnOnce(&mut Loaded) -> std::result::Result<bool, EdgeError>,
    ) -> std::result::Result<bool, EdgeError> {
        let mut guard = self.loaded.borrow_mut();
        let Some(loaded) = guard.as_mut() else {
            return Ok(false);
        };
        let done = work(loaded);
        if done.is_err() {
            *guard = None;
        }
        done
    }
}

/// Lets the requests that arrived meanwhile run (a timer of zero goes through the event loop).
async fn yield_now() {
    worker::Delay::from(Duration::ZERO).await;
}

/// A `Write` whose bytes the export stream takes out chunk by chunk.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct ExportState {
    loaded: Rc<RefCell<Option<Loaded>>>,
    members: Vec<String>,
    next: usize,
    export: Option<CsvExport<SharedBuffer>>,
    buffer: SharedBuffer,
}

impl ExportState {
    /// The next piece of the file; `None` once everything was handed out.
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        let export = self.export.as_mut()?;
        let end = (self.next + EXPORT_CHUNK).min(self.members.len());
        {
            let guard = self.loaded.borrow();
            if let Some(loaded) = guard.as_ref() {
                for id in &self.members[self.next..end] {
                    // Merged away or deleted since the evaluation: left out.
                    if let Some(p) = loaded.graph.profile(id).filter(|p| p.id == *id) {
                        if export.write_profile(&p).is_err() {
                            self.next = self.members.len();
                        }
                    }
                }
            }
        }
        self.next = end;
        if self.next >= self.members.len() {
            if let Some(export) = self.export.take() {
                let _ = export.finish();
            }
        }
        Some(std::mem::take(&mut *self.buffer.0.borrow_mut()))
    }
}

fn definition_error(e: tessera::segment::DefinitionError) -> EdgeError {
    EdgeError::Invalid {
        code: e.code,
        message: e.message,
        path: e.path,
    }
}

fn size_of(loaded: &Loaded, id: &str) -> usize {
    loaded.memberships.get(id).map_or(0, BTreeSet::len)
}

/// The row of a `SELECT COUNT(*) AS n`.
#[derive(Deserialize)]
struct Counted {
    n: u64,
}

fn count(sql: &SqlStorage, statement: &str) -> std::result::Result<u64, EdgeError> {
    let c: Counted = sql
        .exec(statement, None)
        .and_then(|c| c.one())
        .map_err(sql_err)?;
    Ok(c.n)
}

/// One SQL argument holding a list, read back with `json_each`: a statement per batch instead
/// of one per row (each statement crosses from wasm to the runtime).
fn json_arg<T: Serialize + ?Sized>(value: &T) -> SqlStorageValue {
    serde_json::to_string(value).unwrap_or_default().into()
}

/// Runs a statement whose one `?` is a JSON array of rows over every row, in as few pieces as
/// [`MAX_ARG_BYTES`] allows.
fn exec_rows<T: Serialize>(
    sql: &SqlStorage,
    statement: &str,
    rows: &[T],
) -> std::result::Result<(), EdgeError> {
    let items = rows
        .iter()
        .map(serde_json::to_string)
        .collect::<serde_json::Result<Vec<String>>>()
        .map_err(|e| EdgeError::Storage(e.to_string()))?;
    exec_json_items(sql, statement, items)
}

/// [`exec_rows`] for rows already written as JSON.
fn exec_json_items(
    sql: &SqlStorage,
    statement: &str,
    items: Vec<String>,
) -> std::result::Result<(), EdgeError> {
    let mut piece = String::from("[");
    for item in items {
        if piece.len() > 1 && piece.len() + item.len() + 2 > MAX_ARG_BYTES {
            piece.push(']');
            sql.exec(statement, vec![std::mem::take(&mut piece).into()])
                .map_err(sql_err)?;
            piece.push('[');
        }
        if piece.len() > 1 {
            piece.push(',');
        }
        piece.push_str(&item);
    }
    if piece.len() > 1 {
        piece.push(']');
        sql.exec(statement, vec![piece.into()]).map_err(sql_err)?;
    }
    Ok(())
}

/// Writes profiles' rows, and the identifiers of those whose identifiers changed since last
/// written.
fn write_profiles(
    sql: &SqlStorage,
    loaded: &mut Loaded,
    profiles: &[Profile],
) -> std::result::Result<(), EdgeError> {
    if profiles.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&str, String, u64, i64, i64)> = profiles
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.to_json().to_string(),
                p.event_count,
                p.first_seen.0,
                p.last_seen.0,
            )
        })
        .collect();
    exec_rows(
        sql,
        "INSERT OR REPLACE INTO profiles (id, json, event_count, first_seen, last_seen)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)",
        &rows,
    )?;
    let mut changed: Vec<&str> = Vec::new();
    let mut pairs: Vec<[&str; 3]> = Vec::new();
    for p in profiles {
        let hash = identifiers_hash(p);
        if loaded.written_identifiers.get(&p.id) == Some(&hash) {
            continue;
        }
        loaded.written_identifiers.insert(p.id.clone(), hash);
        changed.push(&p.id);
        for (kind, values) in &p.identifiers {
            pairs.extend(
                values
                    .iter()
                    .map(|v| [kind.as_str(), v.as_str(), p.id.as_str()]),
            );
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    exec_rows(
        sql,
        "DELETE FROM identifiers WHERE profile_id IN (SELECT value FROM json_each(?))",
        &changed,
    )?;
    exec_rows(
        sql,
        "INSERT OR REPLACE INTO identifiers (type, value, profile_id)
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
        &pairs,
    )?;
    Ok(())
}

/// Applies membership changes to memory and SQLite, with their time.
fn record(
    sql: &SqlStorage,
    segment_id: &str,
    current: &mut BTreeSet<String>,
    added: &[String],
    removed: &[String],
    at: Timestamp,
) -> std::result::Result<(), EdgeError> {
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let segment = || SqlStorageValue::from(segment_id);
    let time = || SqlStorageValue::Integer(at.0);
    if !added.is_empty() {
        sql.exec(
            "INSERT OR REPLACE INTO memberships (segment_id, profile_id, since)
             SELECT ?, value, ? FROM json_each(?)",
            vec![segment(), time(), json_arg(added)],
        )
        .map_err(sql_err)?;
        current.extend(added.iter().cloned());
    }
    if !removed.is_empty() {
        sql.exec(
            "DELETE FROM memberships WHERE segment_id = ?
             AND profile_id IN (SELECT value FROM json_each(?))",
            vec![segment(), json_arg(removed)],
        )
        .map_err(sql_err)?;
        for p in removed {
            current.remove(p);
        }
    }
    for (list, change) in [(added, "added"), (removed, "removed")] {
        if list.is_empty() {
            continue;
        }
        sql.exec(
            "INSERT INTO membership_changes (segment_id, profile_id, change, at)
             SELECT ?, value, ?, ? FROM json_each(?)",
            vec![segment(), change.into(), time(), json_arg(list)],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Stored events by `messageId`, parsed.
fn events_by_ids(
    sql: &SqlStorage,
    ids: &[&str],
) -> std::result::Result<FxHashMap<String, Event>, EdgeError> {
    #[derive(Deserialize)]
    struct Row {
        message_id: String,
        json: String,
    }
    let mut out = FxHashMap::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(ids).unwrap_or_default();
    for row in sql
        .exec(EVENTS_BY_IDS, vec![list.into()])
        .map_err(sql_err)?
        .next::<Row>()
    {
        let row = row.map_err(sql_err)?;
        if let Some(e) = parse_stored(&row.json) {
            out.insert(row.message_id, e);
        }
    }
    Ok(out)
}

/// A segment store over some profiles, from their events' compact forms (the ones not held
/// read back from SQLite).
fn store_of(
    sql: &SqlStorage,
    graph: &IdentityGraph,
    compact: &mut CompactEvents,
    profiles: &[Profile],
) -> std::result::Result<Store, EdgeError> {
    // Canonical order, as `add_profile_encoded` wants it.
    let lists: Vec<Vec<&str>> = profiles
        .iter()
        .map(|p| {
            graph
                .profile_events(&p.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, m)| m)
                .collect()
        })
        .collect();
    compact.borrowed.clear();
    let wanted: Vec<&str> = lists.iter().flatten().copied().collect();
    compact.fetch_missing(sql, &wanted)?;
    let mut order: Vec<usize> = (0..profiles.len()).collect();
    order.sort_by(|&a, &b| profiles[a].id.cmp(&profiles[b].id));
    let mut builder = StoreBuilder::new();
    for i in order {
        builder.add_profile_encoded(
            &profiles[i],
            &compact.encoder,
            lists[i].iter().filter_map(|m| compact.get(m)),
        );
    }
    let store = builder.finish();
    compact.borrowed.clear();
    Ok(store)
}

fn profile_answer(sql: &SqlStorage, id: &str, redirected_from: Option<&str>) -> Reply {
    #[derive(Deserialize)]
    struct Row {
        json: String,
    }
    let row: Option<Row> = sql
        .exec("SELECT json FROM profiles WHERE id = ?", vec![id.into()])
        .and_then(|c| c.to_array())
        .map_err(sql_err)?
        .into_iter()
        .next();
    let row = row.ok_or_else(|| profile_not_found(id))?;
    let mut profile: Value =
        serde_json::from_str(&row.json).map_err(|e| EdgeError::Storage(e.to_string()))?;
    if let Some(from) = redirected_from {
        profile["redirected_from"] = from.into();
    }
    json_reply(200, &profile)
}

/// A profile's events, newest first. A page ends on a time boundary: every event at the oldest
/// time shown is in the page, so `before` never skips an event sharing that millisecond.
fn profile_events(
    sql: &SqlStorage,
    loaded: &Loaded,
    id: &str,
    query: &BTreeMap<String, String>,
) -> Reply {
    let limit = parse_limit(query, 100)?;
    let before = query
        .get("before")
        .map(|t| parse_time("before", t))
        .transpose()?;
    let listed = loaded
        .graph
        .profile_events(id)
        .ok_or_else(|| profile_not_found(id))?;
    let mut page: Vec<(Timestamp, &str)> = listed
        .iter()
        .rev()
        .filter(|(t, _)| before.is_none_or(|b| *t < b))
        .copied()
        .collect();
    let mut next_before = None;
    if page.len() > limit {
        let boundary = page[limit - 1].0;
        let end = page
            .iter()
            .position(|(t, _)| *t < boundary)
            .unwrap_or(page.len());
        if end < page.len() {
            next_before = Some(boundary.to_string());
        }
        page.truncate(end);
    }
    let ids: Vec<&str> = page.iter().map(|(_, m)| *m).collect();
    #[derive(Deserialize)]
    struct Row {
        message_id: String,
        json: String,
    }
    let list = serde_json::to_string(&ids).unwrap_or_default();
    let mut bodies: FxHashMap<String, Value> = FxHashMap::default();
    for row in sql
        .exec(EVENTS_BY_IDS, vec![list.into()])
        .map_err(sql_err)?
        .next::<Row>()
    {
        let row = row.map_err(sql_err)?;
        if let Ok(v) = serde_json::from_str(&row.json) {
            bodies.insert(row.message_id, v);
        }
    }
    let events: Vec<Value> = ids.iter().filter_map(|m| bodies.remove(*m)).collect();
    json_reply(200, &json!({"events": events, "next_before": next_before}))
}

fn members(sql: &SqlStorage, loaded: &Loaded, id: &str, query: &BTreeMap<String, String>) -> Reply {
    if !loaded.segments.contains_key(id) {
        return Err(segment_not_found(id));
    }
    let limit = parse_limit(query, 1000)?;
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    #[derive(Deserialize)]
    struct Row {
        profile_id: String,
    }
    let mut rows: Vec<String> = sql
        .exec(
            "SELECT profile_id FROM memberships WHERE segment_id = ? AND profile_id > ?
             ORDER BY profile_id LIMIT ?",
            vec![
                id.into(),
                cursor.into(),
                SqlStorageValue::Integer(limit as i64 + 1),
            ],
        )
        .and_then(|c| c.to_array::<Row>())
        .map_err(sql_err)?
        .into_iter()
        .map(|r| r.profile_id)
        .collect();
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().cloned()
    } else {
        None
    };
    json_reply(200, &json!({"members": rows, "next_cursor": next_cursor}))
}

fn changes(sql: &SqlStorage, loaded: &Loaded, id: &str, query: &BTreeMap<String, String>) -> Reply {
    if !loaded.segments.contains_key(id) {
        return Err(segment_not_found(id));
    }
    let since = query
        .get("since")
        .map(|t| parse_time("since", t))
        .transpose()?
        .unwrap_or(Timestamp(i64::MIN));
    #[derive(Deserialize)]
    struct Row {
        profile_id: String,
        change: String,
        at: i64,
    }
    let rows: Vec<Value> = sql
        .exec(
            "SELECT profile_id, change, at FROM membership_changes
             WHERE segment_id = ? AND at >= ? ORDER BY at, rowid LIMIT ?",
            vec![
                id.into(),
                SqlStorageValue::Integer(since.0),
                SqlStorageValue::Integer(MAX_PAGE as i64),
            ],
        )
        .and_then(|c| c.to_array::<Row>())
        .map_err(sql_err)?
        .into_iter()
        .map(|r| json!({"profile_id": r.profile_id, "change": r.change, "at": Timestamp(r.at).to_string()}))
        .collect();
    json_reply(200, &json!({"changes": rows}))
}

impl DurableObject for EventStore {
    fn new(state: State, env: Env) -> Self {
        EventStore {
            state,
            env,
            loaded: Rc::new(RefCell::new(None)),
            intake: Rc::new(RefCell::new(Intake::default())),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let answer = if crate::destinations::handles(&req) {
            crate::destinations::route(self, req).await
        } else {
            self.route(req).await
        };
        self.set_due_alarm().await;
        match answer {
            Ok(response) => Ok(response),
            Err(err) => error_response(&err),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let answer = self.alarm_run().await;
        if let Err(e) = &answer {
            worker::console_error!("alarm: {}", e.body());
        }
        self.set_due_alarm().await;
        crate::destinations::run_due(self).await;
        match answer {
            Ok(()) => Response::ok("re-evaluated"),
            Err(err) => error_response(&err),
        }
    }
}
