//! `tessera snapshot`: events → resolved profiles → the binary segment store.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::input::{load_settings, load_store};
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

pub fn run(args: Args) -> CliResult {
    let settings = load_settings(args.settings.as_deref())?;
    let store = load_store(&args.input, &settings)?;
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
