//! `tessera explain`: how a profile's identifiers were joined, and which merges were blocked.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tessera::identity::IdentityGraph;

use crate::input::{load_events, load_settings};
use crate::CliResult;

/// Output shape of `tessera explain`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Sentences for a person to read.
    Text,
    /// The explanation as one JSON object.
    Json,
}

/// Arguments of `tessera explain`.
#[derive(clap::Args)]
pub struct Args {
    /// NDJSON events (file mode).
    file: PathBuf,
    /// The profile id (`p_...`); an id that was merged away redirects to the current profile.
    profile_id: String,
    /// Identity settings: `{"priorities": [...], "limits": {...}}`.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(args: Args) -> CliResult {
    let settings = load_settings(args.settings.as_deref())?;
    let events = load_events(&args.file)?;
    let mut graph = IdentityGraph::from_events(&events, &settings);
    let Some(explanation) = graph.explain(&args.profile_id) else {
        eprintln!(
            "tessera: no profile {} in {}",
            args.profile_id,
            args.file.display()
        );
        return Ok(ExitCode::from(1));
    };
    let mut out = io::stdout().lock();
    match args.format {
        Format::Text => write!(out, "{explanation}")?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &explanation)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
