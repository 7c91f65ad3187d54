//! `tessera export`: an audience as CSV, or as Meta Custom Audiences payload files.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tessera::activation::csv::{ColumnSpec, CsvExport};
use tessera::activation::meta::{MetaBatches, MetaSchema};
use tessera::identity::{IdentitySettings, Profile};
use tessera::segment::{SavedSegments, Segment};
use tessera::Timestamp;

use crate::input;
use crate::CliResult;

/// Arguments of `tessera export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    target: Target,
}

#[derive(clap::Subcommand)]
enum Target {
    /// RFC 4180 CSV: profile_id, then the requested columns.
    Csv {
        /// Events (NDJSON or a batch JSON file).
        file: PathBuf,
        /// The segment definition (JSON).
        #[arg(long)]
        segment: PathBuf,
        /// Columns after profile_id: identifier types (user_id, email, phone, anonymous_id,
        /// identifiers.<type>) and trait paths (plan, address.city, traits.<path>).
        #[arg(long, default_value = "")]
        columns: String,
        /// Evaluate at this time (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
        /// Write here instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Meta Custom Audiences payloads, DIR/batch-0001.json, ... (at most 10,000 rows each).
    Meta {
        /// Events (NDJSON or a batch JSON file).
        file: PathBuf,
        /// The segment definition (JSON).
        #[arg(long)]
        segment: PathBuf,
        /// Keys of each row: EMAIL,PHONE,FN,LN,FI,GEN,DOBY,DOBM,DOBD,CT,ST,ZIP,COUNTRY,EXTERN_ID,MADID.
        #[arg(long)]
        schema: String,
        /// Directory for the payload files (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Evaluate at this time (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
        /// The upload session id; default derived from the audience and `now`.
        #[arg(long)]
        session_id: Option<u64>,
    },
}

pub fn run(args: Args) -> CliResult {
    match args.target {
        Target::Csv {
            file,
            segment,
            columns,
            now,
            output,
        } => {
            let columns = ColumnSpec::parse(&columns)?;
            let now = input::parse_now(now.as_deref())?;
            let audience = audience(&file, &segment, now)?;
            let rows = match &output {
                Some(path) => {
                    let out = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
                    write_csv(BufWriter::new(out), &columns, &audience.members)?
                }
                None => write_csv(io::stdout().lock(), &columns, &audience.members)?,
            };
            manifest(&audience.id, now, rows, 0);
        }
        Target::Meta {
            file,
            segment,
            schema,
            out,
            now,
            session_id,
        } => {
            let schema = MetaSchema::parse(&schema)?;
            let now = input::parse_now(now.as_deref())?;
            let audience = audience(&file, &segment, now)?;
            fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let session_id = session_id.unwrap_or_else(|| default_session(&audience.id, now));
            let total = audience.members.len() as u64;
            let mut rows = 0;
            let mut batches = 0;
            for payload in MetaBatches::new(schema, audience.members.iter(), session_id, total) {
                let path = out.join(format!("batch-{:04}.json", payload.session.batch_seq));
                write_json(&path, &payload)?;
                rows += payload.payload.data.len() as u64;
                batches += 1;
            }
            manifest(&audience.id, now, rows, batches);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An audience: a segment's members at `now`, sorted by profile id.
struct Audience {
    id: String,
    members: Vec<Profile>,
}

fn audience(file: &Path, segment: &Path, now: Timestamp) -> Result<Audience, input::Error> {
    let document = input::read_segment_document(segment)?;
    let segment = Segment::parse(&document, &SavedSegments::new())?;
    let workspace = input::load_workspace(file, &IdentitySettings::default())?;
    let evaluation = workspace.store.evaluate(&segment, now);
    let members = evaluation
        .ids(&workspace.store)
        .into_iter()
        .filter_map(|id| workspace.resolution.profile(id).cloned())
        .collect();
    Ok(Audience {
        id: segment.id.clone().unwrap_or_else(|| "audience".to_owned()),
        members,
    })
}

fn write_csv(
    out: impl Write,
    columns: &ColumnSpec,
    members: &[Profile],
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut export = CsvExport::new(out, columns)?;
    for p in members {
        match export.write_profile(p) {
            // `tessera export csv | head`: the reader went away, which is not a failure.
            Err(e) if e.message.contains("Broken pipe") => return Ok(export.rows()),
            other => other?,
        }
    }
    let rows = export.rows();
    export.finish()?;
    Ok(rows)
}

fn write_json(
    path: &Path,
    value: &impl serde::Serialize,
) -> Result<(), Box<dyn std::error::Error>> {
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer(&mut out, value)?;
    out.flush()?;
    Ok(())
}

fn default_session(audience: &str, now: Timestamp) -> u64 {
    let digest = tessera::activation::meta::sha256_hex(&format!("{audience}\n{now}"));
    u64::from_str_radix(&digest[..15], 16).unwrap_or(1)
}

/// Every export states the `now` it was evaluated at: on stderr, so stdout stays pure CSV.
fn manifest(audience: &str, now: Timestamp, rows: u64, batches: u64) {
    let mut m = serde_json::json!({"audience": audience, "now": now.to_string(), "rows": rows});
    if batches > 0 {
        m["batches"] = batches.into();
    }
    eprintln!("{m}");
}
