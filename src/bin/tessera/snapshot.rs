//! `tessera snapshot`: events → resolved profiles → the binary segment store.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::identity::{self, IdentitySettings};
use tessera::ingest::{self, Source};
use tessera::segment::Store;

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

/// Builds the store from an NDJSON (or batch JSON) file replay: read, drop rejected messages and
/// re-deliveries, resolve identities, build.
pub fn store_from_ndjson(bytes: &[u8], settings: &IdentitySettings) -> Store {
    let outcome = ingest::read_file_bytes(bytes, Source::File { derive_ids: false });
    if !outcome.rejected.is_empty() {
        eprintln!(
            "skipped {} rejected messages (see `tessera validate`)",
            outcome.rejected.len()
        );
    }
    let (events, _duplicates) = ingest::dedup(outcome.accepted);
    let resolution = identity::resolve(&events, settings);
    Store::build(&events, &resolution)
}

/// Identity settings from a JSON file, or the defaults.
pub fn settings(path: Option<&PathBuf>) -> Result<IdentitySettings, Box<dyn std::error::Error>> {
    match path {
        None => Ok(IdentitySettings::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)?;
            IdentitySettings::from_json(&text).map_err(|e| format!("{}: {e}", p.display()).into())
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
