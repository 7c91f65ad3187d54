//! `tessera gen`: deterministic, realistic Segment-style traffic as NDJSON.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use tessera::gen::{Generator, GeneratorConfig, DEFAULT_START};
use tessera::Timestamp;

use crate::CliResult;

/// Arguments of `tessera gen`.
#[derive(clap::Args)]
pub struct Args {
    /// How many lines to write (duplicates and malformed lines included).
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Seed: the same seed, count and window give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start of the time window (RFC 3339); default 2026-03-03T00:00:00Z.
    #[arg(long)]
    start: Option<String>,
    /// Length of the window in days.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Plant the pattern the suggestions feature should find: visitors who viewed /pricing 3+
    /// times in a week complete orders 5x as often.
    #[arg(long)]
    planted: bool,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> CliResult {
    let start = match &args.start {
        Some(text) => Timestamp::parse(text).map_err(|e| format!("--start {text:?}: {e}"))?,
        None => DEFAULT_START,
    };
    if args.days == 0 {
        return Err("--days must be at least 1".into());
    }
    let config = GeneratorConfig {
        events: args.events,
        seed: args.seed,
        start,
        days: args.days,
        planted: args.planted,
        ..GeneratorConfig::default()
    };
    let mut generator = Generator::new(config);
    match &args.output {
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            generator.write_to(BufWriter::with_capacity(1 << 16, file))?;
        }
        None => {
            let stdout = io::stdout();
            match generator.write_to(stdout.lock()) {
                // `tessera gen | head` closes the pipe early: that is not a failure.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                other => {
                    other?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
