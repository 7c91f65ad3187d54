//! `tessera validate`: check a file of messages against the event contract and count the
//! rejections by code.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tessera::ingest::{self, codes, Rejection, Source};

use crate::CliResult;

/// Output format of `tessera validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A small table for people.
    Text,
    /// `{"accepted":N,"rejected":N,"by_code":{...},"duplicates":N}`.
    Json,
}

/// Arguments of `tessera validate`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to check: NDJSON, a batch JSON object or a JSON array of messages; `-` for stdin.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Derive a missing `messageId` from the message's content instead of rejecting it.
    #[arg(long)]
    derive_ids: bool,
}

/// What a file gave.
#[derive(Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    by_code: BTreeMap<&'static str, usize>,
    duplicates: usize,
    seen: HashSet<String>,
    /// The first few rejections, shown in the text report.
    examples: Vec<Rejection>,
}

const EXAMPLES: usize = 10;

impl Tally {
    fn add(&mut self, result: Result<String, Rejection>) -> Result<(), io::Error> {
        match result {
            Ok(message_id) => {
                self.accepted += 1;
                if !self.seen.insert(message_id) {
                    self.duplicates += 1;
                }
            }
            Err(rejection) if rejection.code == codes::IO_ERROR => {
                return Err(io::Error::other(rejection.message));
            }
            Err(rejection) => {
                self.rejected += 1;
                *self.by_code.entry(rejection.code).or_default() += 1;
                if self.examples.len() < EXAMPLES {
                    self.examples.push(rejection);
                }
            }
        }
        Ok(())
    }
}

pub fn run(args: Args) -> CliResult {
    let source = Source::File {
        derive_ids: args.derive_ids,
    };
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut tally = Tally::default();

    // NDJSON is streamed; a batch object, an array or a pretty-printed message has to be read
    // whole. The first non-blank line tells which.
    let mut head = Vec::new();
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            break;
        }
        if head[start..].iter().any(|b| !b.is_ascii_whitespace()) {
            break;
        }
    }
    if is_ndjson_line(&head) {
        let chained = BufReader::new(io::Cursor::new(head).chain(reader));
        for result in ingest::validate_ndjson(chained, source) {
            tally.add(result.map(|m| m.message_id))?;
        }
    } else {
        reader.read_to_end(&mut head)?;
        let outcome = ingest::read_file_bytes(&head, source);
        for event in outcome.accepted {
            tally.add(Ok(event.message_id))?;
        }
        for rejection in outcome.rejected {
            tally.add(Err(rejection))?;
        }
    }

    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => {
            // Written by hand to keep the documented key order.
            writeln!(
                out,
                "{{\"accepted\":{},\"rejected\":{},\"by_code\":{},\"duplicates\":{}}}",
                tally.accepted,
                tally.rejected,
                serde_json::to_string(&tally.by_code)?,
                tally.duplicates
            )?;
        }
        Format::Text => {
            writeln!(out, "{:<22}{:>10}", "accepted", tally.accepted)?;
            writeln!(out, "{:<22}{:>10}", "rejected", tally.rejected)?;
            for (code, count) in &tally.by_code {
                writeln!(out, "  {code:<20}{count:>10}")?;
            }
            writeln!(out, "{:<22}{:>10}", "duplicates", tally.duplicates)?;
            if !tally.examples.is_empty() {
                writeln!(out)?;
                for r in &tally.examples {
                    let path = if r.path.is_empty() { "-" } else { &r.path };
                    writeln!(out, "#{} {path}: {} ({})", r.index, r.code, r.message)?;
                }
                if tally.rejected > tally.examples.len() {
                    writeln!(out, "... {} more", tally.rejected - tally.examples.len())?;
                }
            }
        }
    }
    Ok(if tally.rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether the first non-blank line of a file is a complete JSON object other than a batch,
/// that is, whether the file is NDJSON that can be streamed.
fn is_ndjson_line(head: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(head) else {
        // Not UTF-8: streamed, so the line is rejected as `invalid_json` like any other.
        return true;
    };
    let text = text.trim();
    if text.is_empty() {
        return true;
    }
    if !text.starts_with('{') {
        return !text.starts_with('[');
    }
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        Ok(object) => !object.contains_key("batch"),
        // An incomplete object is the start of a pretty-printed file; a broken line in NDJSON
        // is read whole too, which gives the same answer.
        Err(_) => false,
    }
}
