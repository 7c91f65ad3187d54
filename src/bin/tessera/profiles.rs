//! `tessera profiles`: resolve identities in an events file and print every profile.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use tessera::identity::resolve;

use crate::input::{load_events, load_settings};
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
                "duplicates": loaded.duplicates,
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
