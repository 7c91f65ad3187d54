//! Tessera's edge: a Cloudflare Worker speaking the Segment HTTP Tracking API (`events.md`).
//!
//! The worker is routing and glue only: the core (`tessera::ingest`) parses and validates, the
//! workspace's [`store::EventStore`] Durable Object stores, resolves identity and keeps
//! audiences. Read and manage routes (`docs/api.md`) need the workspace's secret key and are
//! forwarded to its object. Every answer, good or bad, carries CORS headers so browsers can send
//! directly.

pub mod answer;
pub mod destinations;
pub mod store;
pub mod workspace;

use answer::EdgeError;
use serde_json::{json, Value};
use store::{Stats, APPEND_URL, STATS_URL, WORKSPACE_HEADER};
use tessera::ingest::{self, RequestError, Route, Source};
use tessera::Timestamp;
use worker::{event, Context, Date, Env, Headers, Method, Request, RequestInit, Response, Stub};
use workspace::{bearer_token, write_key_from_basic, Registry, Workspace};

/// The Durable Object namespace binding (`wrangler.toml`).
const EVENT_STORE_BINDING: &str = "EVENT_STORE";
/// The variable (or secret) listing workspaces and their keys.
const WORKSPACES_VAR: &str = "WORKSPACES";
/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
const OPENAPI: &str = include_str!("../openapi.json");

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let mut response = if req.method() == Method::Options {
        preflight(&req)?
    } else {
        match handle(req, &env).await {
            Ok(response) => response,
            Err(err) => json_response(err.status(), &err.body())?,
        }
    };
    let headers = response.headers_mut();
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set(
        "Access-Control-Expose-Headers",
        "Content-Disposition, X-Tessera-Snapshot-Time",
    )?;
    Ok(response)
}

async fn handle(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let path = req.path();
    match path.as_str() {
        "/v1/health" => {
            only(&req, Method::Get)?;
            json_response(
                200,
                &json!({"ok": true, "version": env!("CARGO_PKG_VERSION")}),
            )
            .map_err(internal)
        }
        "/v1/admin/stats" => {
            only(&req, Method::Get)?;
            stats(&req, env).await
        }
        "/openapi.json" => {
            only(&req, Method::Get)?;
            let headers = Headers::new();
            headers
                .set("Content-Type", "application/json")
                .map_err(internal)?;
            Ok(Response::ok(OPENAPI)
                .map_err(internal)?
                .with_headers(headers))
        }
        "/v1/workspace" | "/v1/snapshot" | "/v1/profiles" | "/v1/segments" => {
            forward(req, env).await
        }
        p if p.starts_with("/v1/profiles/") || p.starts_with("/v1/segments/") => {
            forward(req, env).await
        }
        _ => match Route::from_path(&path) {
            Some(route) => {
                only(&req, Method::Post)?;
                ingest(req, env, route).await
            }
            None => Err(EdgeError::NotFound),
        },
    }
}

/// Accepts one request on an ingestion route: authenticate, parse, store, answer.
async fn ingest(mut req: Request, env: &Env, route: Route) -> Result<Response, EdgeError> {
    let registry = registry(env)?;
    let authorization = header(&req, "Authorization");
    let header_key = authorization.as_deref().and_then(write_key_from_basic);
    // A key in the header is checked before the body is read: a stranger's body is not parsed.
    let header_workspace = match &header_key {
        Some(key) => Some(registry.by_write_key(key).ok_or(EdgeError::Unauthorized {
            code: "unknown_write_key",
        })?),
        None => None,
    };

    let body = req.bytes().await.map_err(|e| {
        EdgeError::Request(RequestError {
            code: "unreadable_body",
            message: format!("the request body could not be read: {e}"),
            errors: Vec::new(),
        })
    })?;
    let gzip_declared = header(&req, "Content-Encoding")
        .is_some_and(|v| v.split(',').any(|c| c.trim().eq_ignore_ascii_case("gzip")));
    let decoded = ingest::decode_body(&body, gzip_declared).map_err(EdgeError::Request)?;
    let received_at = Timestamp(Date::now().as_millis() as i64);
    let outcome = ingest::parse_request(route, &decoded, Source::Edge { received_at })
        .map_err(EdgeError::Request)?;

    let workspace = match header_workspace {
        Some(w) => w,
        None => {
            let key = outcome
                .write_key
                .as_deref()
                .ok_or(EdgeError::Unauthorized {
                    code: "missing_write_key",
                })?;
            registry.by_write_key(key).ok_or(EdgeError::Unauthorized {
                code: "unknown_write_key",
            })?
        }
    };

    if let (Route::Single(_), Some(first)) = (route, outcome.rejected.first()) {
        // On a single-call route the one message is the request: its error is the answer.
        return Err(EdgeError::Request(RequestError {
            code: first.code,
            message: first.message.clone(),
            errors: outcome.rejected.clone(),
        }));
    }

    if !outcome.accepted.is_empty() {
        // The queued row's format (store.rs): one normalized event per line, no wrapper to
        // escape and unescape again.
        let mut batch = Vec::with_capacity(decoded.len() + decoded.len() / 4);
        let received = ReceivedAt::new(received_at);
        for event in &outcome.accepted {
            let line = QueuedLine {
                event,
                received: &received,
            };
            serde_json::to_writer(&mut batch, &line).map_err(|e| {
                EdgeError::Storage(format!("an accepted event did not serialize: {e}"))
            })?;
            batch.push(b'\n');
        }
        append(env, workspace, batch).await?;
    }

    let answer = match route {
        Route::Single(_) => answer::single_accepted(),
        Route::Batch => answer::batch_accepted(outcome.accepted.len(), &outcome.rejected),
    };
    json_response(200, &answer).map_err(internal)
}

/// An accepted event as its queued line: exactly the JSON of [`tessera::Event::to_json`] (keys in
/// the sorted order a `serde_json::Map` writes them), written straight from the event instead of
/// copying every field and object into a `Value` first.
struct QueuedLine<'a> {
    event: &'a tessera::Event,
    /// The request's receive time, formatted once for all its events.
    received: &'a ReceivedAt,
}

/// A receive time with its RFC 3339 text: every event of a request carries the same one, and
/// formatting it per event was a measurable share of the worker's time.
struct ReceivedAt {
    at: Timestamp,
    text: String,
}

impl ReceivedAt {
    fn new(at: Timestamp) -> Self {
        ReceivedAt {
            at,
            text: at.to_string(),
        }
    }
}

impl serde::Serialize for QueuedLine<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let e = self.event;
        let track = e.call == tessera::CallType::Track;
        let mut map = serializer.serialize_map(None)?;
        if let Some(v) = &e.anonymous_id {
            map.serialize_entry("anonymousId", v)?;
        }
        if !e.context.is_empty() {
            map.serialize_entry("context", &e.context)?;
        }
        if let (Some(name), true) = (&e.name, track) {
            map.serialize_entry("event", name)?;
        }
        if let Some(v) = &e.group_id {
            map.serialize_entry("groupId", v)?;
        }
        if !e.integrations.is_empty() {
            map.serialize_entry("integrations", &e.integrations)?;
        }
        map.serialize_entry("messageId", &e.message_id)?;
        if let (Some(name), false) = (&e.name, track) {
            map.serialize_entry("name", name)?;
        }
        if let Some(v) = &e.previous_id {
            map.serialize_entry("previousId", v)?;
        }
        if !e.properties.is_empty() {
            map.serialize_entry("properties", &e.properties)?;
        }
        match e.received_at {
            Some(r) if r == self.received.at => {
                map.serialize_entry("receivedAt", &self.received.text)?
            }
            Some(r) => map.serialize_entry("receivedAt", &r.to_string())?,
            None => {}
        }
        map.serialize_entry("timestamp", &e.time.to_string())?;
        if !e.traits.is_empty() {
            map.serialize_entry("traits", &e.traits)?;
        }
        map.serialize_entry("type", e.call.as_str())?;
        if let Some(v) = &e.user_id {
            map.serialize_entry("userId", v)?;
        }
        map.end()
    }
}

/// The workspace of the request's secret key: a write key (or anything else) is refused.
fn secret_workspace(req: &Request, env: &Env) -> Result<Workspace, EdgeError> {
    let registry = registry(env)?;
    let authorization = header(req, "Authorization");
    let secret =
        authorization
            .as_deref()
            .and_then(bearer_token)
            .ok_or(EdgeError::Unauthorized {
                code: "missing_secret_key",
            })?;
    registry
        .by_secret_key(secret)
        .cloned()
        .ok_or(EdgeError::Unauthorized {
            code: "unknown_secret_key",
        })
}

/// A read or manage route: authenticated here, answered by the workspace's object. Its answer
/// is passed on as is (a CSV export streams through).
async fn forward(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let workspace = secret_workspace(&req, env)?;
    let url = req.url().map_err(internal)?;
    let target = match url.query() {
        Some(q) => format!("https://event-store{}?{q}", url.path()),
        None => format!("https://event-store{}", url.path()),
    };
    let method = req.method();
    let mut init = RequestInit::new();
    init.with_method(method.clone());
    if matches!(method, Method::Post | Method::Put) {
        let body = req.bytes().await.map_err(|e| {
            EdgeError::Request(RequestError {
                code: "unreadable_body",
                message: format!("the request body could not be read: {e}"),
                errors: Vec::new(),
            })
        })?;
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let headers = Headers::new();
    headers
        .set(WORKSPACE_HEADER, &workspace.id)
        .map_err(internal)?;
    init.with_headers(headers);
    let request = Request::new_with_init(&target, &init).map_err(storage)?;
    let mut response = stub(env, &workspace)?
        .fetch_with_request(request)
        .await
        .map_err(storage)?;
    // A fetched response's headers are immutable: copy them so CORS can be added.
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.set(&name, &value).map_err(internal)?;
    }
    let status = response.status_code();
    let body = match response.stream() {
        Ok(stream) => Response::from_stream(stream).map_err(internal)?,
        Err(_) => Response::empty().map_err(internal)?,
    };
    Ok(body.with_status(status).with_headers(headers))
}

fn stub(env: &Env, workspace: &Workspace) -> Result<Stub, EdgeError> {
    env.durable_object(EVENT_STORE_BINDING)
        .and_then(|ns| ns.id_from_name(&workspace.id)?.get_stub())
        .map_err(|e| EdgeError::Misconfigured(format!("{EVENT_STORE_BINDING} binding: {e}")))
}

/// `GET /v1/admin/stats`: what the secret key's workspace holds.
async fn stats(req: &Request, env: &Env) -> Result<Response, EdgeError> {
    let workspace = &secret_workspace(req, env)?;
    let stats: Stats = call_store(env, workspace, Method::Get, STATS_URL).await?;
    json_response(
        200,
        &json!({
            "workspace": workspace.id,
            "events": stats.events,
            "queued_at_start": stats.queued_at_start,
        }),
    )
    .map_err(internal)
}

/// Hands accepted events (one JSON per line) to the workspace's object; returns once they are
/// durably queued there.
async fn append(env: &Env, workspace: &Workspace, batch: Vec<u8>) -> Result<(), EdgeError> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let headers = Headers::new();
    headers
        .set(WORKSPACE_HEADER, &workspace.id)
        .map_err(internal)?;
    init.with_headers(headers);
    init.with_body(Some(js_sys::Uint8Array::from(batch.as_slice()).into()));
    let request = Request::new_with_init(APPEND_URL, &init).map_err(storage)?;
    let mut response = stub(env, workspace)?
        .fetch_with_request(request)
        .await
        .map_err(storage)?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(EdgeError::Storage(format!(
            "status {}: {text}",
            response.status_code()
        )));
    }
    Ok(())
}

/// Sends one request to the workspace's Durable Object and reads its JSON answer.
async fn call_store<T: serde::de::DeserializeOwned>(
    env: &Env,
    workspace: &Workspace,
    method: Method,
    url: &str,
) -> Result<T, EdgeError> {
    let stub = stub(env, workspace)?;
    let mut init = RequestInit::new();
    init.with_method(method);
    let headers = Headers::new();
    headers
        .set(WORKSPACE_HEADER, &workspace.id)
        .map_err(internal)?;
    init.with_headers(headers);
    let request = Request::new_with_init(url, &init).map_err(storage)?;
    let mut response = stub.fetch_with_request(request).await.map_err(storage)?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(EdgeError::Storage(format!(
            "status {}: {text}",
            response.status_code()
        )));
    }
    response.json().await.map_err(storage)
}

fn registry(env: &Env) -> Result<Registry, EdgeError> {
    let text = env
        .var(WORKSPACES_VAR)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(WORKSPACES_VAR).map(|v| v.to_string()))
        .map_err(|_| EdgeError::Misconfigured(format!("{WORKSPACES_VAR} is not set")))?;
    Registry::from_json(&text).map_err(EdgeError::Misconfigured)
}

/// Answers a CORS preflight for any path: browsers ask before sending JSON with credentials.
fn preflight(req: &Request) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set(
        "Access-Control-Allow-Methods",
        "GET, POST, PUT, DELETE, OPTIONS",
    )?;
    let requested = header(req, "Access-Control-Request-Headers");
    headers.set(
        "Access-Control-Allow-Headers",
        requested
            .as_deref()
            .unwrap_or("Authorization, Content-Type, Content-Encoding"),
    )?;
    headers.set("Access-Control-Max-Age", "86400")?;
    Ok(Response::empty()?.with_status(204).with_headers(headers))
}

fn only(req: &Request, method: Method) -> Result<(), EdgeError> {
    if req.method() == method {
        Ok(())
    } else {
        Err(EdgeError::MethodNotAllowed)
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn json_response(status: u16, body: &Value) -> worker::Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

fn storage(e: worker::Error) -> EdgeError {
    EdgeError::Storage(e.to_string())
}

fn internal(e: worker::Error) -> EdgeError {
    EdgeError::Misconfigured(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{QueuedLine, ReceivedAt};
    use tessera::ingest::{self, Route, Source};
    use tessera::Timestamp;

    /// The queued line is the core's JSON of the event, byte for byte, for every call type and
    /// every optional field (the object applies and stores these lines as they are).
    #[test]
    fn queued_line_is_the_events_json() {
        let body = r#"{"batch": [
            {"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1",
             "messageId": "m1", "timestamp": "2026-01-02T03:04:05.678Z",
             "properties": {"price": 12.5, "items": [1, "two", null], "nested": {"z": 1, "a": "\"q\""}},
             "context": {"traits": {"plan": "pro"}, "ip": "1.2.3.4"}, "integrations": {"All": false}},
            {"type": "page", "name": "Home", "anonymousId": 42, "messageId": "m2",
             "properties": {"path": "/"}},
            {"type": "screen", "userId": "u2", "messageId": "m3"},
            {"type": "identify", "userId": "u3", "messageId": "m4",
             "traits": {"email": "x@example.com", "name": "Zoë"}},
            {"type": "alias", "userId": "u4", "previousId": "old", "messageId": "m5"},
            {"type": "group", "userId": "u5", "groupId": "g1", "messageId": "m6",
             "traits": {"name": "Acme"}}
        ], "context": {"library": {"name": "test"}}}"#
            .as_bytes();
        let outcome = ingest::parse_request(
            Route::Batch,
            body,
            Source::Edge {
                received_at: Timestamp(1_767_323_045_000),
            },
        )
        .expect("the request parses");
        assert_eq!(outcome.accepted.len(), 6, "{:?}", outcome.rejected);
        // The request's receive time formatted once, and one that differs (formatted per event).
        let shared = ReceivedAt::new(Timestamp(1_767_323_045_000));
        let other = ReceivedAt::new(Timestamp(0));
        for event in &outcome.accepted {
            for received in [&shared, &other] {
                let direct =
                    serde_json::to_string(&QueuedLine { event, received }).expect("serializes");
                assert_eq!(direct, event.to_json().to_string(), "{}", event.message_id);
            }
        }
    }
}
