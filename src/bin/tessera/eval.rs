//! `tessera eval`: evaluate a segment over events or a snapshot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{json, Value};
use tessera::segment::{SavedSegments, Segment, Store};
use tessera::Timestamp;

use crate::snapshot;
use crate::CliResult;

/// How to print the result.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One JSON object: count, members, sample, evaluation time.
    Json,
    /// One member profile id per line (count and time go to stderr).
    Ids,
}

/// Arguments of `tessera eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Events as NDJSON, or a snapshot written by `tessera snapshot` (recognized by content).
    pub input: PathBuf,
    /// The segment document (JSON). A bare condition is accepted too.
    #[arg(long)]
    pub segment: PathBuf,
    /// Saved segments for `in_segment`: an object id → document, or an array of documents
    /// with `id`.
    #[arg(long)]
    pub segments: Option<PathBuf>,
    /// Evaluation time (RFC 3339); default: the current time.
    #[arg(long)]
    pub now: Option<String>,
    /// Identity settings (JSON), when the input is NDJSON.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

fn read_json(path: &PathBuf) -> Result<Value, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()).into())
}

/// A document as given, or a bare condition wrapped into one.
fn document(value: Value) -> Value {
    const KINDS: [&str; 9] = [
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
    match &value {
        Value::Object(m)
            if !m.contains_key("condition") && KINDS.iter().any(|k| m.contains_key(*k)) =>
        {
            json!({ "condition": value })
        }
        _ => value,
    }
}

fn saved(value: Value) -> Result<SavedSegments, Box<dyn std::error::Error>> {
    match value {
        Value::Object(m) => Ok(m.into_iter().collect()),
        Value::Array(docs) => docs
            .into_iter()
            .enumerate()
            .map(|(i, doc)| match doc.get("id").and_then(Value::as_str) {
                Some(id) => Ok((id.to_string(), doc.clone())),
                None => Err(format!("saved segment [{i}] has no string `id`").into()),
            })
            .collect(),
        _ => Err("saved segments must be an object or an array".into()),
    }
}

fn now(text: Option<&str>) -> Result<Timestamp, Box<dyn std::error::Error>> {
    match text {
        Some(t) => {
            Timestamp::parse(t).map_err(|_| format!("--now `{t}` is not an RFC 3339 time").into())
        }
        None => {
            let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            Ok(Timestamp(i64::try_from(since.as_millis())?))
        }
    }
}

pub fn run(args: Args) -> CliResult {
    let saved = match &args.segments {
        Some(p) => saved(read_json(p)?)?,
        None => SavedSegments::new(),
    };
    let segment = Segment::parse(&document(read_json(&args.segment)?), &saved)?;
    let now = now(args.now.as_deref())?;
    let bytes = std::fs::read(&args.input)?;
    let store = if bytes.starts_with(b"TSNAP") {
        Store::from_bytes(&bytes)?
    } else {
        let settings = snapshot::settings(args.settings.as_ref())?;
        snapshot::store_from_ndjson(&bytes, &settings)
    };
    let started = Instant::now();
    let result = store.evaluate(&segment, now);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let ids = result.ids(&store);
    match args.format {
        Format::Json => {
            let sample: Vec<&str> = result
                .sample(10)
                .into_iter()
                .filter_map(|m| store.profile_id(m))
                .collect();
            let out = json!({
                "segment": segment.id,
                "now": now.to_string(),
                "count": result.count(),
                "evaluation_ms": ms,
                "events": store.event_count(),
                "profiles": store.profile_count(),
                "sample": sample,
                "members": ids,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Ids => {
            let mut text = String::with_capacity(ids.len() * 20);
            for id in &ids {
                text.push_str(id);
                text.push('\n');
            }
            print!("{text}");
            eprintln!("{} members, evaluated in {ms:.3} ms", result.count());
        }
    }
    Ok(ExitCode::SUCCESS)
}
