//! Destinations at the edge: a saved segment's audience pushed to a signed webhook or a Meta
//! Custom Audience, by hand (`POST .../sync`) or on a schedule (the object's alarm).
//!
//! The core plans and signs (`tessera::activation::webhook`, `::meta`); this module stores the
//! destinations, sends the batches and persists each acknowledgement as soon as it arrives, so
//! a sync cut short (a failing receiver, an evicted object) is resumed by the next one: it
//! plans from the acknowledged members and sends exactly what was not acknowledged.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tessera::activation::meta::{
    profile_row, MetaData, MetaPayload, MetaSchema, MetaSession, MAX_ROWS_PER_BATCH,
};
use tessera::activation::profile_json;
use tessera::activation::webhook::{
    plan_sync, sign, webhook_body, Delivery, RetryDecision, RetryPolicy, SyncBatch, SyncMode,
    SyncState, IDEMPOTENCY_HEADER, SIGNATURE_HEADER,
};
use tessera::Timestamp;
use worker::{
    Date, Delay, Fetch, Headers, Method, Request, RequestInit, Response, SqlStorage, Url,
};

use crate::answer::EdgeError;
use crate::store::{EventStore, WORKSPACE_HEADER};

type Reply = Result<Response, EdgeError>;

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS destinations (
        id TEXT PRIMARY KEY,
        segment_id TEXT NOT NULL,
        config TEXT NOT NULL,
        credential TEXT NOT NULL,
        next_sync_at INTEGER
    )",
    "CREATE TABLE IF NOT EXISTS destination_acks (
        destination_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        row TEXT,
        PRIMARY KEY (destination_id, profile_id)
    )",
    "CREATE TABLE IF NOT EXISTS destination_syncs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        destination_id TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL,
        added INTEGER NOT NULL,
        removed INTEGER NOT NULL,
        batches_planned INTEGER NOT NULL,
        batches_sent INTEGER NOT NULL,
        batches_acknowledged INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT
    )",
    "CREATE INDEX IF NOT EXISTS destination_syncs_by_destination
        ON destination_syncs (destination_id, id)",
];

/// Meta's Graph API root unless a destination names another (tests point it at a stand-in).
const META_BASE_URL: &str = "https://graph.facebook.com/v19.0";
/// Profiles per webhook request unless the destination says otherwise.
const DEFAULT_WEBHOOK_BATCH: usize = 1_000;
/// Attempts per batch (the first included) unless the destination says otherwise.
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Delay before the first retry unless the destination says otherwise; doubled each time.
const DEFAULT_RETRY_BASE_MS: u64 = 1_000;
/// The longest wait between two attempts: a sync runs inside one request or alarm.
const MAX_RETRY_DELAY_MS: u64 = 30_000;
/// Syncs listed by the history route.
const HISTORY_LIMIT: usize = 100;
/// Characters of a receiver's error answer kept in the history.
const ERROR_EXCERPT: usize = 300;

thread_local! {
    /// Destinations with a sync under way (workspace/destination): an object serves other
    /// requests while a sync waits on the network, and two syncs of one destination would
    /// both send the unacknowledged batches.
    static RUNNING: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// Where a destination sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Webhook,
    Meta,
}

/// A destination as stored, without its credential.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Destination {
    id: String,
    segment_id: String,
    #[serde(rename = "type")]
    kind: Kind,
    mode: SyncMode,
    batch_size: usize,
    schedule_minutes: Option<u64>,
    max_attempts: u32,
    retry_base_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    created_at: i64,
}

impl Destination {
    /// The answer for it: every setting, credentials only said to be set.
    fn public_json(&self, next_sync_at: Option<i64>) -> Value {
        let mut v = json!({
            "id": self.id,
            "segment_id": self.segment_id,
            "type": self.kind,
            "mode": self.mode,
            "batch_size": self.batch_size,
            "schedule_minutes": self.schedule_minutes,
            "max_attempts": self.max_attempts,
            "retry_base_ms": self.retry_base_ms,
            "created_at": Timestamp(self.created_at).to_string(),
            "next_sync_at": next_sync_at.map(|t| Timestamp(t).to_string()),
        });
        match self.kind {
            Kind::Webhook => {
                v["url"] = json!(self.url);
                v["secret"] = json!("set");
            }
            Kind::Meta => {
                v["audience_id"] = json!(self.audience_id);
                v["schema"] = json!(self.schema);
                v["base_url"] = json!(self.base_url);
                v["access_token"] = json!("set");
            }
        }
        v
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay_ms: self.retry_base_ms,
            max_delay_ms: MAX_RETRY_DELAY_MS,
            seed: self.created_at as u64,
        }
    }
}

/// True for the routes this module answers: `/v1/segments/{id}/destinations...`.
pub fn handles(req: &Request) -> bool {
    let path = req.path();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["v1", "segments", _, "destinations", ..])
}

/// Answers a destinations route inside the workspace's object.
pub async fn route(store: &EventStore, mut req: Request) -> Reply {
    let workspace = req.headers().get(WORKSPACE_HEADER).ok().flatten();
    store.ensure_current(workspace.as_deref())?;
    let workspace = workspace.unwrap_or_default();
    let sql = store.sql();
    ensure_schema(&sql)?;
    let path = req.path();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method();
    let body = match method {
        Method::Post => req.bytes().await.map_err(sql_err)?,
        _ => Vec::new(),
    };
    match (parts.as_slice(), method) {
        (["v1", "segments", segment, "destinations"], Method::Post) => {
            if store.audience(segment).is_none() {
                return Err(segment_not_found(segment));
            }
            let body: Value = serde_json::from_slice(&body).map_err(|e| EdgeError::Invalid {
                code: "invalid_json",
                message: format!("the body is not JSON: {e}"),
                path: String::new(),
            })?;
            let (destination, credential) = parse_destination(segment, &body)?;
            let next = destination
                .schedule_minutes
                .map(|m| now_ms() + minutes_ms(m));
            sql.exec(
                "INSERT INTO destinations (id, segment_id, config, credential, next_sync_at)
                 VALUES (?, ?, ?, ?, ?)",
                vec![
                    destination.id.as_str().into(),
                    destination.segment_id.as_str().into(),
                    to_json_text(&destination).into(),
                    credential.into(),
                    next.into(),
                ],
            )
            .map_err(sql_err)?;
            reschedule(store).await;
            json_reply(201, &destination.public_json(next))
        }
        (["v1", "segments", segment, "destinations"], Method::Get) => {
            // Like every route under a segment: one this workspace does not have is a 404.
            if store.audience(segment).is_none() {
                return Err(segment_not_found(segment));
            }
            let list: Vec<Value> = load_all(&sql)?
                .into_iter()
                .filter(|(d, _, _)| d.segment_id == *segment)
                .map(|(d, _, next)| d.public_json(next))
                .collect();
            json_reply(200, &json!({"destinations": list}))
        }
        (["v1", "segments", segment, "destinations", id], Method::Get) => {
            let (d, _, next) = load_one(&sql, segment, id)?;
            json_reply(200, &d.public_json(next))
        }
        (["v1", "segments", segment, "destinations", id], Method::Delete) => {
            load_one(&sql, segment, id)?;
            for statement in [
                "DELETE FROM destinations WHERE id = ?",
                "DELETE FROM destination_acks WHERE destination_id = ?",
                "DELETE FROM destination_syncs WHERE destination_id = ?",
            ] {
                sql.exec(statement, vec![(*id).into()]).map_err(sql_err)?;
            }
            reschedule(store).await;
            json_reply(200, &json!({"deleted": id}))
        }
        (["v1", "segments", segment, "destinations", id, "sync"], Method::Post) => {
            load_one(&sql, segment, id)?;
            let record = sync(store, &workspace, id, "manual").await?;
            reschedule(store).await;
            json_reply(200, &record)
        }
        (["v1", "segments", segment, "destinations", id, "syncs"], Method::Get) => {
            load_one(&sql, segment, id)?;
            json_reply(200, &json!({"syncs": history(&sql, id)?}))
        }
        _ => Err(EdgeError::MethodNotAllowed),
    }
}

/// The earliest scheduled sync, if any (the object's alarm is shared with re-evaluation).
pub fn next_due(sql: &SqlStorage) -> Option<i64> {
    #[derive(Deserialize)]
    struct Due {
        at: Option<i64>,
    }
    // A failed statement (the table not created yet) would cancel the object's pending
    // writes and alarm, so the table is made sure of first.
    ensure_schema(sql).ok()?;
    sql.exec("SELECT MIN(next_sync_at) AS at FROM destinations", None)
        .and_then(|c| c.one::<Due>())
        .ok()
        .and_then(|d| d.at)
}

/// Runs every scheduled sync that is due, then sets the alarm for what comes next.
pub async fn run_due(store: &EventStore) {
    let sql = store.sql();
    if ensure_schema(&sql).is_err() {
        return;
    }
    let now = now_ms();
    let due: Vec<(Destination, i64)> = match load_all(&sql) {
        Ok(all) => all
            .into_iter()
            .filter_map(|(d, _, next)| Some((d, next?)))
            .filter(|(_, next)| *next <= now)
            .collect(),
        Err(e) => {
            worker::console_error!("destinations: {}", e.body());
            return;
        }
    };
    let workspace = store.workspace_id().unwrap_or_default();
    for (destination, _) in due {
        if let Err(e) = sync(store, &workspace, &destination.id, "schedule").await {
            worker::console_error!("scheduled sync {}: {}", destination.id, e.body());
        }
    }
    reschedule(store).await;
}

/// Sets the object's one alarm to the earliest of re-evaluation and the next scheduled sync.
async fn reschedule(store: &EventStore) {
    // Only when a sync comes first: otherwise the re-evaluation alarm already set is the one.
    let Some(at) = next_due(&store.sql()) else {
        return;
    };
    if store.reevaluation_due().is_none_or(|r| at < r) {
        if let Err(e) = store.storage().set_alarm(at.max(now_ms())).await {
            worker::console_error!("set_alarm failed: {e}");
        }
    }
}

fn ensure_schema(sql: &SqlStorage) -> Result<(), EdgeError> {
    for statement in SCHEMA {
        sql.exec(statement, None).map_err(sql_err)?;
    }
    Ok(())
}

/// Reads and checks a destination body; the credential is returned apart.
fn parse_destination(segment: &str, body: &Value) -> Result<(Destination, String), EdgeError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("wrong_type", "", "a destination is a JSON object"))?;
    let text = |key: &str| -> Result<Option<String>, EdgeError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(
                "wrong_type",
                key,
                format!("{key} must be a non-empty string"),
            )),
        }
    };
    let required = |key: &str| -> Result<String, EdgeError> {
        text(key)?.ok_or_else(|| invalid("missing_field", key, format!("{key} is required")))
    };
    let number = |key: &str, min: u64, max: u64| -> Result<Option<u64>, EdgeError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(
                    "out_of_range",
                    key,
                    format!("{key} must be an integer from {min} to {max}"),
                )),
            },
        }
    };
    let kind = match required("type")?.as_str() {
        "webhook" => Kind::Webhook,
        "meta" => Kind::Meta,
        other => {
            return Err(invalid(
                "unknown_destination_type",
                "type",
                format!("type {other:?} is not one of webhook, meta"),
            ))
        }
    };
    let mode_name = text("mode")?.unwrap_or_else(|| "add".into());
    let mode = SyncMode::from_name(&mode_name)
        .ok_or_else(|| invalid("unknown_sync_mode", "mode", "mode is add or mirror"))?;
    let max_batch = MAX_ROWS_PER_BATCH as u64;
    let batch_size = number("batch_size", 1, max_batch)?.map(|n| n as usize);
    let schedule_minutes = number("schedule_minutes", 1, 60 * 24 * 31)?;
    let max_attempts = number("max_attempts", 1, 10)?.map_or(DEFAULT_MAX_ATTEMPTS, |n| n as u32);
    let retry_base_ms = number("retry_base_ms", 0, 60_000)?.unwrap_or(DEFAULT_RETRY_BASE_MS);
    let http_url = |key: &str, value: &str| -> Result<(), EdgeError> {
        match Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            _ => Err(invalid(
                "invalid_url",
                key,
                format!("{key} must be an http or https URL"),
            )),
        }
    };
    let mut destination = Destination {
        id: new_id(),
        segment_id: segment.to_string(),
        kind,
        mode,
        batch_size: batch_size.unwrap_or(DEFAULT_WEBHOOK_BATCH),
        schedule_minutes,
        max_attempts,
        retry_base_ms,
        url: None,
        audience_id: None,
        schema: None,
        base_url: None,
        created_at: now_ms(),
    };
    let credential = match kind {
        Kind::Webhook => {
            let url = required("url")?;
            http_url("url", &url)?;
            destination.url = Some(url);
            required("secret")?
        }
        Kind::Meta => {
            let audience_id = required("audience_id")?;
            if !audience_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(invalid(
                    "invalid_audience_id",
                    "audience_id",
                    "audience_id holds letters, digits and _ only",
                ));
            }
            let schema: Vec<String> = match obj.get("schema") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| invalid("wrong_type", "schema", "schema lists key names"))?,
                Some(Value::String(s)) => s.split(',').map(|k| k.trim().to_string()).collect(),
                _ => return Err(invalid("missing_field", "schema", "schema is required")),
            };
            MetaSchema::parse(&schema.join(",")).map_err(|e| EdgeError::Invalid {
                code: e.code(),
                message: e.message.clone(),
                path: format!("schema{}", e.path.strip_prefix("schema").unwrap_or("")),
            })?;
            let base_url = text("base_url")?.unwrap_or_else(|| META_BASE_URL.to_string());
            http_url("base_url", &base_url)?;
            destination.audience_id = Some(audience_id);
            destination.schema = Some(schema);
            destination.base_url = Some(base_url.trim_end_matches('/').to_string());
            // Meta takes at most 10,000 rows per request; that is also the default.
            destination.batch_size = batch_size.unwrap_or(MAX_ROWS_PER_BATCH);
            required("access_token")?
        }
    };
    Ok((destination, credential))
}

/// Every destination with its credential and next scheduled sync.
fn load_all(sql: &SqlStorage) -> Result<Vec<(Destination, String, Option<i64>)>, EdgeError> {
    #[derive(Deserialize)]
    struct Row {
        config: String,
        credential: String,
        next_sync_at: Option<i64>,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT config, credential, next_sync_at FROM destinations ORDER BY id",
            None,
        )
        .and_then(|c| c.to_array())
        .map_err(sql_err)?;
    rows.into_iter()
        .map(|r| {
            let d: Destination = serde_json::from_str(&r.config)
                .map_err(|e| EdgeError::Storage(format!("stored destination: {e}")))?;
            Ok((d, r.credential, r.next_sync_at))
        })
        .collect()
}

fn load_one(
    sql: &SqlStorage,
    segment: &str,
    id: &str,
) -> Result<(Destination, String, Option<i64>), EdgeError> {
    load_all(sql)?
        .into_iter()
        .find(|(d, _, _)| d.id == id && d.segment_id == segment)
        .ok_or_else(|| EdgeError::Missing {
            code: "destination_not_found",
            message: format!("no destination {id:?} on segment {segment:?}"),
        })
}

/// What one sync did, kept in the history.
#[derive(Debug, Default)]
struct SyncRecord {
    row_id: i64,
    added: usize,
    removed: usize,
    planned: usize,
    sent: usize,
    acknowledged: usize,
    attempts: u32,
    last_error: Option<String>,
}

/// Removes a destination from [`RUNNING`] however the sync ends.
struct RunningGuard(String);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.borrow_mut().remove(&self.0));
    }
}

/// Syncs one destination now and answers its history record.
async fn sync(
    store: &EventStore,
    workspace: &str,
    id: &str,
    trigger: &str,
) -> Result<Value, EdgeError> {
    let key = format!("{workspace}/{id}");
    if !RUNNING.with(|r| r.borrow_mut().insert(key.clone())) {
        return Err(EdgeError::Conflict {
            code: "sync_in_progress",
            message: format!("destination {id:?} is already syncing"),
        });
    }
    let _guard = RunningGuard(key);
    let sql = store.sql();
    let (destination, credential, _) = load_all(&sql)?
        .into_iter()
        .find(|(d, _, _)| d.id == id)
        .ok_or_else(|| EdgeError::Missing {
            code: "destination_not_found",
            message: format!("no destination {id:?}"),
        })?;
    let started = now_ms();
    if let Some(m) = destination.schedule_minutes {
        // The next scheduled sync counts from this one, whatever started it.
        sql.exec(
            "UPDATE destinations SET next_sync_at = ? WHERE id = ?",
            vec![(started + minutes_ms(m)).into(), id.into()],
        )
        .map_err(sql_err)?;
    }
    sql.exec(
        "INSERT INTO destination_syncs (destination_id, trigger, started_at, status, added,
            removed, batches_planned, batches_sent, batches_acknowledged, attempts)
         VALUES (?, ?, ?, 'running', 0, 0, 0, 0, 0, 0)",
        vec![id.into(), trigger.into(), started.into()],
    )
    .map_err(sql_err)?;
    let mut record = SyncRecord {
        row_id: last_row_id(&sql)?,
        ..SyncRecord::default()
    };
    let outcome = run(store, &destination, &credential, started, &mut record).await;
    if let Err(e) = outcome {
        record.last_error = Some(format!("{}: {}", e.code(), e.body()["message"]));
    }
    let status = if record.acknowledged == record.planned && record.last_error.is_none() {
        "ok"
    } else if record.acknowledged > 0 {
        "partial"
    } else {
        "failed"
    };
    sql.exec(
        "UPDATE destination_syncs SET finished_at = ?, status = ?, added = ?, removed = ?,
            batches_planned = ?, batches_sent = ?, batches_acknowledged = ?, attempts = ?,
            last_error = ?
         WHERE id = ?",
        vec![
            now_ms().into(),
            status.into(),
            (record.added as i64).into(),
            (record.removed as i64).into(),
            (record.planned as i64).into(),
            (record.sent as i64).into(),
            (record.acknowledged as i64).into(),
            i64::from(record.attempts).into(),
            record.last_error.clone().into(),
            record.row_id.into(),
        ],
    )
    .map_err(sql_err)?;
    history(&sql, id)?
        .into_iter()
        .find(|r| r["id"] == json!(record.row_id))
        .ok_or_else(|| EdgeError::Storage("sync record vanished".into()))
}

/// Plans from the acknowledged state and sends batch by batch, stopping at the first batch
/// the destination did not take (later batches wait for the next sync, in order).
async fn run(
    store: &EventStore,
    destination: &Destination,
    credential: &str,
    started: i64,
    record: &mut SyncRecord,
) -> Result<(), EdgeError> {
    let sql = store.sql();
    let current = store
        .audience(&destination.segment_id)
        .ok_or_else(|| segment_not_found(&destination.segment_id))?;
    let acked = acknowledged(&sql, &destination.id)?;
    let state = SyncState {
        acknowledged: acked.keys().cloned().collect(),
    };
    let snapshot = Timestamp(started);
    let plan = plan_sync(
        &destination.id,
        &destination.segment_id,
        snapshot,
        &state,
        &current,
        destination.mode,
        destination.batch_size,
    )
    .map_err(|e| EdgeError::Storage(format!("{}: {}", e.code(), e.message)))?;
    record.planned = plan.batches.len();
    record.added = plan.batches.iter().map(|b| b.added.len()).sum();
    record.removed = plan.batches.iter().map(|b| b.removed.len()).sum();
    let meta = match destination.kind {
        Kind::Meta => Some(MetaPlan::new(destination, &plan.batches, &acked, store)?),
        Kind::Webhook => None,
    };
    let policy = destination.retry_policy();
    for batch in &plan.batches {
        let (request, rows) = match &meta {
            Some(meta) => match meta.request(destination, credential, batch)? {
                Some(r) => r,
                None => {
                    // No row has data Meta can match: nothing to send, nothing to wait for.
                    acknowledge(&sql, &destination.id, batch, &BTreeMap::new())?;
                    record.acknowledged += 1;
                    continue;
                }
            },
            None => (
                webhook_request(store, destination, credential, snapshot, batch)?,
                BTreeMap::new(),
            ),
        };
        record.sent += 1;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            record.attempts += 1;
            let (delivery, error) = send(&request).await;
            match policy.decide(attempt, delivery) {
                RetryDecision::Delivered => {
                    acknowledge(&sql, &destination.id, batch, &rows)?;
                    record.acknowledged += 1;
                    break;
                }
                RetryDecision::RetryAfter(ms) => {
                    record.last_error = error;
                    Delay::from(Duration::from_millis(ms)).await;
                }
                RetryDecision::GiveUp => {
                    record.last_error = error;
                    return Ok(());
                }
            }
        }
        record.last_error = None;
    }
    Ok(())
}

/// One prepared request, re-sent as is on every attempt.
struct Outgoing {
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn webhook_request(
    store: &EventStore,
    destination: &Destination,
    secret: &str,
    snapshot: Timestamp,
    batch: &SyncBatch,
) -> Result<Outgoing, EdgeError> {
    let describe = |ids: &[String]| -> Vec<Value> {
        store
            .profiles(ids)
            .into_iter()
            .zip(ids)
            .map(|(p, id)| match p {
                Some(p) => profile_json(&p),
                // Deleted or merged away since: its id is what the receiver keyed it by.
                None => json!({"profile_id": id}),
            })
            .collect()
    };
    let body = webhook_body(
        &destination.segment_id,
        snapshot,
        &describe(&batch.added),
        &describe(&batch.removed),
    );
    Ok(Outgoing {
        method: Method::Post,
        url: destination.url.clone().unwrap_or_default(),
        headers: vec![
            ("Content-Type", "application/json".into()),
            (SIGNATURE_HEADER, sign(&body, secret.as_bytes())),
            (IDEMPOTENCY_HEADER, batch.idempotency_key.clone()),
        ],
        body,
    })
}

/// A Meta sync's rows: additions built from the profiles now, removals from the rows that
/// were sent when each profile was added (a deleted profile's identifiers are gone).
struct MetaPlan {
    schema: MetaSchema,
    rows: BTreeMap<String, Vec<String>>,
    /// Per direction (removals, additions): the upload session, its batches in order and rows.
    sessions: [(u64, Vec<u32>, u64); 2],
}

impl MetaPlan {
    fn new(
        destination: &Destination,
        batches: &[SyncBatch],
        acked: &BTreeMap<String, Option<String>>,
        store: &EventStore,
    ) -> Result<MetaPlan, EdgeError> {
        let names = destination.schema.clone().unwrap_or_default().join(",");
        let schema = MetaSchema::parse(&names)
            .map_err(|e| EdgeError::Storage(format!("stored schema: {}", e.message)))?;
        let mut rows = BTreeMap::new();
        for batch in batches {
            for (p, id) in store.profiles(&batch.added).into_iter().zip(&batch.added) {
                if let Some(row) = p.and_then(|p| profile_row(&schema, &p)) {
                    rows.insert(id.clone(), row);
                }
            }
            for id in &batch.removed {
                let stored = acked.get(id).cloned().flatten();
                if let Some(row) = stored.and_then(|r| serde_json::from_str(&r).ok()) {
                    rows.insert(id.clone(), row);
                }
            }
        }
        let mut sessions: [(u64, Vec<u32>, u64); 2] = [(0, Vec::new(), 0), (0, Vec::new(), 0)];
        for batch in batches {
            let removal = !batch.removed.is_empty();
            let ids = if removal {
                &batch.removed
            } else {
                &batch.added
            };
            let count = ids.iter().filter(|id| rows.contains_key(*id)).count() as u64;
            if count == 0 {
                continue;
            }
            let session = &mut sessions[usize::from(!removal)];
            if session.1.is_empty() {
                // The first batch's idempotency key is unique to this sync and direction.
                session.0 = u64::from_str_radix(&batch.idempotency_key[..15], 16).unwrap_or(1);
            }
            session.1.push(batch.index);
            session.2 += count;
        }
        Ok(MetaPlan {
            schema,
            rows,
            sessions,
        })
    }

    /// The request for one batch and the rows it carries; `None` when no row has data.
    #[allow(clippy::type_complexity)]
    fn request(
        &self,
        destination: &Destination,
        token: &str,
        batch: &SyncBatch,
    ) -> Result<Option<(Outgoing, BTreeMap<String, Vec<String>>)>, EdgeError> {
        let removal = !batch.removed.is_empty();
        let ids = if removal {
            &batch.removed
        } else {
            &batch.added
        };
        let rows: BTreeMap<String, Vec<String>> = ids
            .iter()
            .filter_map(|id| Some((id.clone(), self.rows.get(id)?.clone())))
            .collect();
        if rows.is_empty() {
            return Ok(None);
        }
        let (session_id, order, total) = &self.sessions[usize::from(!removal)];
        let position = order.iter().position(|i| *i == batch.index).unwrap_or(0);
        let payload = MetaPayload {
            payload: MetaData {
                schema: self.schema.keys().iter().map(|k| k.name()).collect(),
                data: rows.values().cloned().collect(),
            },
            session: MetaSession {
                session_id: *session_id,
                batch_seq: position as u32 + 1,
                last_batch_flag: position + 1 == order.len(),
                estimated_num_total: *total,
            },
        };
        let mut url = Url::parse(&format!(
            "{}/{}/users",
            destination.base_url.as_deref().unwrap_or(META_BASE_URL),
            destination.audience_id.as_deref().unwrap_or_default()
        ))
        .map_err(|e| EdgeError::Storage(format!("meta url: {e}")))?;
        url.query_pairs_mut().append_pair("access_token", token);
        Ok(Some((
            Outgoing {
                method: if removal {
                    Method::Delete
                } else {
                    Method::Post
                },
                url: url.to_string(),
                headers: vec![("Content-Type", "application/json".into())],
                body: serde_json::to_vec(&payload).unwrap_or_default(),
            },
            rows,
        )))
    }
}

/// One attempt: what happened, and the error to record if it was not a 2xx.
async fn send(out: &Outgoing) -> (Delivery, Option<String>) {
    let headers = Headers::new();
    for (name, value) in &out.headers {
        let _ = headers.set(name, value);
    }
    let mut init = RequestInit::new();
    init.with_method(out.method.clone())
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(out.body.as_slice()).into()));
    let request = match Request::new_with_init(&out.url, &init) {
        Ok(r) => r,
        Err(e) => return (Delivery::NetworkError, Some(format!("request: {e}"))),
    };
    match Fetch::Request(request).send().await {
        Err(e) => (Delivery::NetworkError, Some(format!("network: {e}"))),
        Ok(mut response) => {
            let status = response.status_code();
            let retry_after_ms = response
                .headers()
                .get("Retry-After")
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s.saturating_mul(1000).min(MAX_RETRY_DELAY_MS));
            let text = response.text().await.unwrap_or_default();
            let error = (!(200..300).contains(&status)).then(|| {
                let excerpt: String = text.chars().take(ERROR_EXCERPT).collect();
                format!("status {status}: {excerpt}")
            });
            (
                Delivery::Response {
                    status,
                    retry_after_ms,
                },
                error,
            )
        }
    }
}

/// The destination's acknowledged members, with the Meta row each was added with.
fn acknowledged(sql: &SqlStorage, id: &str) -> Result<BTreeMap<String, Option<String>>, EdgeError> {
    #[derive(Deserialize)]
    struct Row {
        profile_id: String,
        row: Option<String>,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT profile_id, row FROM destination_acks WHERE destination_id = ?",
            vec![id.into()],
        )
        .and_then(|c| c.to_array())
        .map_err(sql_err)?;
    Ok(rows.into_iter().map(|r| (r.profile_id, r.row)).collect())
}

/// Persists one acknowledged batch at once: a sync cut short after it does not resend it.
fn acknowledge(
    sql: &SqlStorage,
    id: &str,
    batch: &SyncBatch,
    rows: &BTreeMap<String, Vec<String>>,
) -> Result<(), EdgeError> {
    if !batch.removed.is_empty() {
        sql.exec(
            "DELETE FROM destination_acks WHERE destination_id = ?
             AND profile_id IN (SELECT value FROM json_each(?))",
            vec![id.into(), to_json_text(&batch.removed).into()],
        )
        .map_err(sql_err)?;
    }
    if !batch.added.is_empty() {
        let added: Vec<(&str, Option<String>)> = batch
            .added
            .iter()
            .map(|p| (p.as_str(), rows.get(p).map(to_json_text)))
            .collect();
        sql.exec(
            "INSERT OR REPLACE INTO destination_acks (destination_id, profile_id, row)
             SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)",
            vec![id.into(), to_json_text(&added).into()],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// The destination's syncs, newest first.
fn history(sql: &SqlStorage, id: &str) -> Result<Vec<Value>, EdgeError> {
    #[derive(Deserialize)]
    struct Row {
        id: i64,
        trigger: String,
        started_at: i64,
        finished_at: Option<i64>,
        status: String,
        added: i64,
        removed: i64,
        batches_planned: i64,
        batches_sent: i64,
        batches_acknowledged: i64,
        attempts: i64,
        last_error: Option<String>,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT * FROM destination_syncs WHERE destination_id = ? ORDER BY id DESC LIMIT ?",
            vec![id.into(), (HISTORY_LIMIT as i64).into()],
        )
        .and_then(|c| c.to_array())
        .map_err(sql_err)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "trigger": r.trigger,
                "started_at": Timestamp(r.started_at).to_string(),
                "finished_at": r.finished_at.map(|t| Timestamp(t).to_string()),
                "status": r.status,
                "added": r.added,
                "removed": r.removed,
                "batches": {
                    "planned": r.batches_planned,
                    "sent": r.batches_sent,
                    "acknowledged": r.batches_acknowledged,
                },
                "attempts": r.attempts,
                "last_error": r.last_error,
            })
        })
        .collect())
}

fn last_row_id(sql: &SqlStorage) -> Result<i64, EdgeError> {
    #[derive(Deserialize)]
    struct Id {
        id: i64,
    }
    sql.exec("SELECT last_insert_rowid() AS id", None)
        .and_then(|c| c.one::<Id>())
        .map(|r| r.id)
        .map_err(sql_err)
}

/// `d_` and 16 random hex digits.
fn new_id() -> String {
    let mut id = String::from("d_");
    for _ in 0..16 {
        let digit = (js_sys::Math::random() * 16.0) as u32;
        id.push(char::from_digit(digit.min(15), 16).unwrap_or('0'));
    }
    id
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

fn minutes_ms(minutes: u64) -> i64 {
    (minutes as i64).saturating_mul(60_000)
}

fn to_json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Response::from_json(body)
        .map(|r| r.with_status(status))
        .map_err(sql_err)
}

fn invalid(code: &'static str, path: &str, message: impl Into<String>) -> EdgeError {
    EdgeError::Invalid {
        code,
        message: message.into(),
        path: path.to_string(),
    }
}

fn segment_not_found(id: &str) -> EdgeError {
    EdgeError::Missing {
        code: "segment_not_found",
        message: format!("no saved segment {id:?}"),
    }
}

fn sql_err(e: worker::Error) -> EdgeError {
    EdgeError::Storage(e.to_string())
}
