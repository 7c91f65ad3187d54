//! `tessera snapshot`: events → resolved profiles → the binary segment store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use tessera::identity::{self, IdentitySettings};
use tessera::ingest::{self, Source};
use tessera::segment::Store;
use tessera::Event;

use crate::CliResult;

/// Arguments of `tessera snapshot`.
#[derive(clap::Args)]
pub struct Args {
    /// Events as NDJSON (one Segment message per line).
    pub input: PathBuf,
    /// Where to write the snapshot (`.tsnap`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Identity settings (JSON) used to resolve profiles.
    #[arg(long)]
    pub settings: Option<PathBuf>,
}

/// Reads NDJSON events as a file replay, drops rejected lines and re-deliveries (same
/// `messageId`: the earliest event time is kept), and returns the events in canonical order.
pub fn read_events(bytes: &[u8]) -> (Vec<Event>, usize) {
    let source = Source::File { derive_ids: false };
    let mut rejected = 0;
    let mut kept: BTreeMap<String, Event> = BTreeMap::new();
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match ingest::parse_message(line, index, source) {
            Ok(event) => match kept.get(&event.message_id) {
                Some(old) if old.time <= event.time => {}
                _ => {
                    kept.insert(event.message_id.clone(), event);
                }
            },
            Err(_) => rejected += 1,
        }
    }
    let mut events: Vec<Event> = kept.into_values().collect();
    events.sort_by(|a, b| (a.time, &a.message_id).cmp(&(b.time, &b.message_id)));
    (events, rejected)
}

/// Builds the store from an NDJSON file: read, resolve identities, build.
pub fn store_from_ndjson(bytes: &[u8], settings: &IdentitySettings) -> Store {
    let (events, rejected) = read_events(bytes);
    if rejected > 0 {
        eprintln!("skipped {rejected} rejected lines (see `tessera validate`)");
    }
    let resolution = identity::resolve(&events, settings);
    Store::build(&events, &resolution)
}

/// Identity settings from a JSON file, or the defaults.
pub fn settings(path: Option<&PathBuf>) -> Result<IdentitySettings, Box<dyn std::error::Error>> {
    match path {
        None => Ok(IdentitySettings::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
            if !value.is_object() {
                return Err(format!("{}: identity settings must be an object", p.display()).into());
            }
            Ok(IdentitySettings::default())
        }
    }
}

pub fn run(args: Args) -> CliResult {
    let settings = settings(args.settings.as_ref())?;
    let bytes = std::fs::read(&args.input)?;
    let store = store_from_ndjson(&bytes, &settings);
    let snapshot = store.to_bytes();
    std::fs::write(&args.output, &snapshot)?;
    let memory = store.memory_usage();
    eprintln!(
        "{}: {} events, {} profiles, {} bytes ({:.1} resident bytes per event)",
        args.output.display(),
        store.event_count(),
        store.profile_count(),
        snapshot.len(),
        memory.bytes_per_event()
    );
    Ok(ExitCode::SUCCESS)
}
