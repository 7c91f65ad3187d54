//! `tessera`: the command-line face of the core. Each subcommand lives in its own file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod eval;
mod explain;
mod export;
mod gen;
mod input;
mod profiles;
mod snapshot;
mod suggest;
mod validate;

/// Tessera, the edge-native customer data platform.
#[derive(Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate messages (NDJSON or a batch JSON file) and count them by error code.
    Validate(validate::Args),
    /// Generate deterministic, realistic Segment-style traffic as NDJSON.
    Gen(gen::Args),
    /// Resolve identities and print every profile.
    Profiles(profiles::Args),
    /// Explain how a profile's identifiers were joined, and which merges were blocked.
    Explain(explain::Args),
    /// Build a binary segment snapshot from events.
    Snapshot(snapshot::Args),
    /// Evaluate a segment definition.
    Eval(eval::Args),
    /// Export an audience (CSV, Meta Custom Audiences payloads).
    Export(export::Args),
    /// Suggest audiences for a goal.
    Suggest(suggest::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Profiles(args) => profiles::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Snapshot(args) => snapshot::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Export(args) => export::run(args),
        Command::Suggest(args) => suggest::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tessera: {err}");
            ExitCode::from(2)
        }
    }
}

/// What a subcommand returns: an exit code, or an error to print.
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;
