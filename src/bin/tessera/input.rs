//! Reading the CLI's inputs: event files, settings, segment documents and `--now`. Every
//! subcommand loads its input here, so they all read files the same way.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use tessera::identity::{self, IdentitySettings, Resolution};
use tessera::ingest::{self, Rejection, Source};
use tessera::pipeline::{self, Profiles};
use tessera::segment::{SavedSegments, Store, CONDITION_KINDS};
use tessera::{Event, Timestamp};

/// A boxed error, as the subcommands return them.
pub type Error = Box<dyn std::error::Error>;

/// The bytes of a file, or of stdin for `-`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Reads events in file mode (NDJSON, a batch object or an array), deduplicated by `messageId`
/// and in canonical order, reporting the first rejections (with their codes) on stderr.
pub fn load_events(path: &Path) -> Result<Vec<Event>, Error> {
    events_from_bytes(&read_bytes(path)?)
}

/// Like [`load_events`], from bytes already read.
pub fn events_from_bytes(bytes: &[u8]) -> Result<Vec<Event>, Error> {
    let outcome = ingest::read_file_bytes(bytes, Source::File { derive_ids: false });
    report(&outcome.rejected);
    Ok(ingest::dedup(outcome.accepted).0)
}

/// Events, their resolved profiles and the segment store built from them.
pub struct Workspace {
    /// The deduplicated events.
    pub events: Vec<Event>,
    /// Identity resolution over them.
    pub resolution: Resolution,
    /// The columnar store segments are evaluated on.
    pub store: Store,
}

/// Loads an events file and resolves it into profiles and a store.
pub fn load_workspace(path: &Path, settings: &IdentitySettings) -> Result<Workspace, Error> {
    let events = load_events(path)?;
    let resolution = identity::resolve(&events, settings);
    let store = Store::build(&events, &resolution);
    Ok(Workspace {
        events,
        resolution,
        store,
    })
}

/// Runs `read` over an events file's bytes (stdin for `-`) through a 1 MiB buffer; the loader
/// parses lines where they lie in it, still in cache from the copy. (Mapping the file was
/// measured slower at ten million lines: filling and dropping its page tables cost more kernel
/// time than copying, 13 GB/s here, and the scan then read every line from memory.)
fn with_events<T>(
    path: &Path,
    read: impl FnOnce(&mut dyn std::io::BufRead) -> std::io::Result<T>,
) -> Result<T, Error> {
    if path.as_os_str() == "-" {
        return Ok(read(&mut std::io::stdin().lock())?);
    }
    let named = |e: std::io::Error| -> Error { format!("{}: {e}", path.display()).into() };
    let file = std::fs::File::open(path).map_err(named)?;
    read(&mut std::io::BufReader::with_capacity(1 << 20, file)).map_err(named)
}

/// Streams an events file (or stdin for `-`) through the pipeline into the segment store, never
/// holding full events, so that files of tens of millions of events fit in memory.
pub fn load_store(path: &Path, settings: &IdentitySettings) -> Result<Store, Error> {
    let source = Source::File { derive_ids: false };
    let loaded = with_events(path, |reader| pipeline::load(reader, settings, source))?;
    report(&loaded.rejected);
    Ok(loaded.store)
}

/// Streams an events file (or stdin for `-`) through the profiles-only pipeline: the profiles
/// of files of tens of millions of events, without the store.
pub fn load_profiles(path: &Path, settings: &IdentitySettings) -> Result<Profiles, Error> {
    let source = Source::File { derive_ids: false };
    let profiles = with_events(path, |reader| {
        pipeline::load_profiles(reader, settings, source)
    })?;
    report(&profiles.rejected);
    Ok(profiles)
}

/// Like [`load_store`], from bytes already read.
pub fn store_from_bytes(bytes: &[u8], settings: &IdentitySettings) -> Result<Store, Error> {
    let source = Source::File { derive_ids: false };
    let loaded = pipeline::load(bytes, settings, source)?;
    report(&loaded.rejected);
    Ok(loaded.store)
}

/// The first rejections (with their codes) and their count, on stderr.
fn report(rejected: &[Rejection]) {
    for r in rejected.iter().take(5) {
        eprintln!("line {}: {} at {}: {}", r.index, r.code, r.path, r.message);
    }
    if !rejected.is_empty() {
        eprintln!(
            "{} message(s) rejected and skipped (see `tessera validate`)",
            rejected.len()
        );
    }
}

/// Reads `--settings`, or the defaults.
pub fn load_settings(path: Option<&Path>) -> Result<IdentitySettings, Error> {
    let Some(path) = path else {
        return Ok(IdentitySettings::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(IdentitySettings::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// `--now` as given (RFC 3339), or the current time.
pub fn parse_now(text: Option<&str>) -> Result<Timestamp, Error> {
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

/// A JSON file.
pub fn read_json(path: &Path) -> Result<Value, Error> {
    let text = read_bytes(path)?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()).into())
}

/// A segment document from a file; a bare condition is wrapped into one.
pub fn read_segment_document(path: &Path) -> Result<Value, Error> {
    let value = read_json(path)?;
    Ok(match &value {
        Value::Object(m)
            if !m.contains_key("condition")
                && CONDITION_KINDS.iter().any(|k| m.contains_key(*k)) =>
        {
            json!({ "condition": value })
        }
        _ => value,
    })
}

/// Saved segments for `in_segment`: an object id → document, or an array of documents with `id`.
pub fn read_saved_segments(path: Option<&Path>) -> Result<SavedSegments, Error> {
    let Some(path) = path else {
        return Ok(SavedSegments::new());
    };
    match read_json(path)? {
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
