//! `tessera eval`: evaluate a segment over events or a snapshot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use tessera::segment::{Segment, Store};

use crate::input::{
    load_settings, load_store, parse_now, read_bytes, read_saved_segments, read_segment_document,
    store_from_bytes,
};
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

pub fn run(args: Args) -> CliResult {
    let saved = read_saved_segments(args.segments.as_deref())?;
    let segment = Segment::parse(&read_segment_document(&args.segment)?, &saved)?;
    let now = parse_now(args.now.as_deref())?;
    // A file is streamed unless it is a snapshot, so large event files are never held whole.
    let is_file = args.input.as_os_str() != "-";
    let store = if is_file && !starts_with_snapshot_magic(&args.input)? {
        load_store(&args.input, &load_settings(args.settings.as_deref())?)?
    } else {
        let bytes = read_bytes(&args.input)?;
        if bytes.starts_with(b"TSNAP") {
            Store::from_bytes(&bytes)?
        } else {
            store_from_bytes(&bytes, &load_settings(args.settings.as_deref())?)?
        }
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

/// True when the file begins with the snapshot magic `TSNAP`.
fn starts_with_snapshot_magic(path: &std::path::Path) -> Result<bool, crate::input::Error> {
    use std::io::Read;
    let mut head = Vec::with_capacity(5);
    std::fs::File::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .take(5)
        .read_to_end(&mut head)?;
    Ok(head == b"TSNAP")
}
