//! `tessera profiles`: resolve identities in an events file and print every profile.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::ser::{Serialize, SerializeMap, Serializer};
use tessera::pipeline::Profiles;

use crate::input::{load_profiles, load_settings};
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
    // The streaming pipeline: tens of millions of events fit, which full events would not; each
    // profile is built as it is printed.
    let loaded = load_profiles(&args.file, &settings)?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            let mut doc = serde_json::Serializer::pretty(&mut out);
            Document(&loaded).serialize(&mut doc)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for p in loaded.iter() {
                serde_json::to_writer(&mut out, &p.to_json())?;
                writeln!(out)?;
            }
            eprintln!("unresolved: {}", loaded.unresolved());
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The `json` output, `{"duplicates", "events", "profiles": [...], "rejected", "unresolved"}`
/// (keys in this order, as a JSON map sorts them), written as the profiles are built.
struct Document<'a>(&'a Profiles);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let loaded = self.0;
        let mut doc = s.serialize_map(Some(5))?;
        doc.serialize_entry("duplicates", &loaded.duplicates)?;
        doc.serialize_entry("events", &loaded.events())?;
        doc.serialize_entry("profiles", &Each(loaded))?;
        doc.serialize_entry("rejected", &loaded.rejected.len())?;
        doc.serialize_entry("unresolved", &loaded.unresolved())?;
        doc.end()
    }
}

/// Every profile as JSON, built one at a time.
struct Each<'a>(&'a Profiles);

impl Serialize for Each<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| p.to_json()))
    }
}
