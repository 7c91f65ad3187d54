//! `tessera suggest`: audiences for a goal, from a file of events.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tessera::identity::IdentitySettings;
use tessera::suggest::{suggest, DataSummary, Goal, Report, SuggestOptions};

use crate::input;
use crate::CliResult;

/// Output format of `tessera suggest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Explanations and definitions for people.
    Text,
    /// The whole report as one JSON object.
    Json,
}

/// Arguments of `tessera suggest`.
#[derive(clap::Args)]
pub struct Args {
    /// NDJSON events (`-` for stdin).
    file: PathBuf,
    /// `event:NAME` (did the event within the horizon) or `trait:PATH=VALUE`.
    #[arg(long)]
    goal: String,
    /// Window of an event goal: `30d`, `2w`, `12h`.
    #[arg(long, default_value = "30d")]
    horizon: String,
    /// Time of evaluation (RFC 3339); default: the time of the latest event in the file.
    #[arg(long)]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// How many suggestions.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Smallest audience worth suggesting, in profiles (and at least 1% of all).
    #[arg(long, default_value_t = 30)]
    min_profiles: usize,
    /// The money property for high-value audiences, as `EVENT.PROPERTY`
    /// (e.g. `Order Completed.revenue`); found in the data when absent.
    #[arg(long)]
    revenue: Option<String>,
}

pub fn run(args: Args) -> CliResult {
    let goal = Goal::parse(&args.goal)?;
    let workspace = input::load_workspace(&args.file, &IdentitySettings::default())?;
    let events = &workspace.events;
    let now = match &args.now {
        Some(text) => input::parse_now(Some(text))?,
        None => events
            .iter()
            .map(|e| e.time)
            .max()
            .ok_or("the file holds no valid event")?,
    };
    let mut options = SuggestOptions::new(goal, &args.horizon, now)?;
    options.top = args.top;
    options.min_profiles = args.min_profiles;
    if let Some(spec) = &args.revenue {
        let (event, property) = spec
            .rsplit_once('.')
            .filter(|(e, p)| !e.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("--revenue `{spec}` is not EVENT.PROPERTY"))?;
        options.revenue = Some((event.to_owned(), property.to_owned()));
    }
    let revenue = options
        .revenue
        .as_ref()
        .map(|(e, p)| (e.as_str(), p.as_str()));
    let summary = DataSummary::from_store(&workspace.store, now, options.horizon_days(), revenue);
    let report = suggest(&workspace.store, &summary, &options)?;
    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => write_text(&mut out, &report, events.len())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn write_text(out: &mut impl Write, report: &Report, events: usize) -> io::Result<()> {
    let g = &report.goal;
    writeln!(
        out,
        "{events} events, {} profiles, evaluated at {}",
        g.profiles, report.now
    )?;
    writeln!(
        out,
        "Goal: {} — {} of {} profiles ({:.1}%)",
        g.description,
        g.reached,
        g.profiles,
        g.rate * 100.0
    )?;
    writeln!(
        out,
        "{} candidate conditions tried; lower bounds at z = {} (Bonferroni over {} hypotheses)\n",
        report.candidates, report.z, report.hypotheses
    )?;
    if report.suggestions.is_empty() {
        writeln!(out, "No audience stands out with confidence.")?;
    }
    for (i, s) in report.suggestions.iter().enumerate() {
        writeln!(out, "{}. {}", i + 1, s.explanation)?;
        writeln!(
            out,
            "   {} profiles, {} reached (lift {:.2}, at least {:.2})",
            s.size, s.reached, s.lift, s.lift_lower
        )?;
        writeln!(out, "   {}", s.segment["condition"])?;
    }
    if let Some(l) = &report.lookalike {
        writeln!(out, "\nLookalikes: {} profiles. {}", l.size, l.explanation)?;
        writeln!(out, "   {}", l.segment["condition"])?;
    }
    writeln!(out, "\nLifecycle:")?;
    for a in &report.lifecycle {
        writeln!(out, "- {} ({} profiles): {}", a.kind, a.size, a.explanation)?;
        writeln!(out, "   {}", a.segment["condition"])?;
    }
    Ok(())
}
