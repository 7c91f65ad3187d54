//! `tessera profiles`: resolve identities in an events file and print every profile.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::input::{load_profiles, load_settings};
use crate::CliResult;
use serde_json::json;

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
    // The streaming pipeline: tens of millions of events fit, which full events would not.
    let loaded = load_profiles(&args.file, &settings)?;
    let resolution = &loaded.resolution;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            let profiles: Vec<_> = resolution.profiles.iter().map(|p| p.to_json()).collect();
            let doc = json!({
                "profiles": profiles,
                "unresolved": resolution.unresolved(),
                "events": loaded.events(),
                "rejected": loaded.rejected.len(),
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
