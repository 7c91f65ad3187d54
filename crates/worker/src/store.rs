//! `EventStore`: one Durable Object per workspace holding its events in SQLite.
//!
//! The object is the single writer of its workspace, which is what makes `messageId`
//! deduplication exact: every append runs against the same table, one request at a time.

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorageValue, State,
};

/// The object's routes, called by the worker only (never reachable from outside).
pub const APPEND_URL: &str = "https://event-store/append";
/// Counts of what is stored.
pub const STATS_URL: &str = "https://event-store/stats";

/// An accepted event as the worker hands it to the store.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The idempotency key.
    pub message_id: String,
    /// Event time, ms since the epoch.
    pub time: i64,
    /// Call type name (`track`, `identify`, ...).
    pub call: String,
    /// When the edge received it, ms since the epoch.
    pub received_at: Option<i64>,
    /// `Event::to_json`, serialized.
    pub json: String,
}

/// What an append did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AppendResult {
    /// Events newly stored or replacing a later duplicate.
    pub written: u64,
}

/// What the store holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Stored events (distinct `messageId`s).
    pub events: u64,
}

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS events (
        message_id TEXT PRIMARY KEY,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        received_at INTEGER,
        json TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS events_by_time ON events (time)",
    "CREATE INDEX IF NOT EXISTS events_by_type_time ON events (type, time)",
];

// Dedup rule (events.md): of two messages with one messageId, the earliest event time is kept;
// on a tie the stored one (the first to arrive) stays, hence the strict `<`.
const APPEND: &str = "INSERT INTO events (message_id, time, type, received_at, json)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (message_id) DO UPDATE SET
        time = excluded.time, type = excluded.type,
        received_at = excluded.received_at, json = excluded.json
    WHERE excluded.time < events.time";

/// The Durable Object class bound as `EVENT_STORE` in `wrangler.toml`.
#[durable_object(fetch)]
pub struct EventStore {
    state: State,
}

impl EventStore {
    fn ensure_schema(&self) -> Result<()> {
        let sql = self.state.storage().sql();
        for statement in SCHEMA {
            sql.exec(statement, None)?;
        }
        Ok(())
    }

    fn append(&self, events: Vec<StoredEvent>) -> Result<AppendResult> {
        let sql = self.state.storage().sql();
        let mut written = 0;
        // No await between the statements: the runtime commits them as one atomic write.
        for e in events {
            let received_at = e
                .received_at
                .map_or(SqlStorageValue::Null, SqlStorageValue::Integer);
            let cursor = sql.exec(
                APPEND,
                vec![
                    e.message_id.into(),
                    SqlStorageValue::Integer(e.time),
                    e.call.into(),
                    received_at,
                    e.json.into(),
                ],
            )?;
            // Drain the cursor so the write is counted, then see whether the row changed.
            let _ = cursor.to_array::<serde_json::Value>()?;
            if cursor.rows_written() > 0 {
                written += 1;
            }
        }
        Ok(AppendResult { written })
    }

    fn stats(&self) -> Result<Stats> {
        #[derive(Deserialize)]
        struct Count {
            n: u64,
        }
        let count: Count = self
            .state
            .storage()
            .sql()
            .exec("SELECT COUNT(*) AS n FROM events", None)?
            .one()?;
        Ok(Stats { events: count.n })
    }
}

impl DurableObject for EventStore {
    fn new(state: State, _env: Env) -> Self {
        EventStore { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.ensure_schema()?;
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => {
                let events: Vec<StoredEvent> = req.json().await?;
                Response::from_json(&self.append(events)?)
            }
            (Method::Get, "/stats") => Response::from_json(&self.stats()?),
            _ => Response::error("no such event-store route", 404),
        }
    }
}
