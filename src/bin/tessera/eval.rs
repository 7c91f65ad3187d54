//! `tessera eval`.

use crate::CliResult;

/// Arguments of `tessera eval`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera eval` is not built yet".into())
}
