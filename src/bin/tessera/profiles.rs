//! `tessera profiles`: resolve identities in an events file and print every profile.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use tessera::identity::{resolve, IdentitySettings};
use tessera::ingest::{self, Source};
use tessera::Event;

use crate::CliResult;

/// Output shape of `tessera profiles`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One JSON object: `{"profiles": [...], "unresolved": n, ...}`.
    Json,
    /// One profile per line; the unresolved count goes to stderr.
    Ndjson,
}

/// Arguments of `tessera profiles`.
#[derive(clap::Args)]
pub struct Args {
    /// NDJSON events (file mode: each line needs a `messageId` and a `timestamp`; duplicates by
    /// `messageId` follow the dedup rule).
    file: PathBuf,
    /// Identity settings: `{"priorities": [...], "limits": {...}}`.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

/// Events read from a file, and how many lines were rejected.
pub(crate) struct Loaded {
    pub(crate) events: Vec<Event>,
    pub(crate) rejected: usize,
}

/// Reads NDJSON events, reporting rejected lines (with their codes) on stderr.
pub(crate) fn load_events(path: &Path) -> Result<Loaded, Box<dyn std::error::Error>> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut events = Vec::new();
    let mut rejected = 0;
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match ingest::parse_message(&line, i + 1, Source::File { derive_ids: false }) {
            Ok(event) => events.push(event),
            Err(r) => {
                if rejected < 5 {
                    eprintln!("line {}: {} at {}: {}", i + 1, r.code, r.path, r.message);
                }
                rejected += 1;
            }
        }
    }
    if rejected > 0 {
        eprintln!("{rejected} line(s) rejected and skipped");
    }
    Ok(Loaded { events, rejected })
}

/// Reads `--settings`, or the defaults.
pub(crate) fn load_settings(
    path: Option<&Path>,
) -> Result<IdentitySettings, Box<dyn std::error::Error>> {
    let Some(path) = path else {
        return Ok(IdentitySettings::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(IdentitySettings::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

pub fn run(args: Args) -> CliResult {
    let settings = load_settings(args.settings.as_deref())?;
    let loaded = load_events(&args.file)?;
    let resolution = resolve(&loaded.events, &settings);
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            let profiles: Vec<_> = resolution.profiles.iter().map(|p| p.to_json()).collect();
            let doc = json!({
                "profiles": profiles,
                "unresolved": resolution.unresolved(),
                "events": loaded.events.len(),
                "rejected": loaded.rejected,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for p in &resolution.profiles {
                serde_json::to_writer(&mut out, &p.to_json())?;
                writeln!(out)?;
            }
            eprintln!("unresolved: {}", resolution.unresolved());
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
