//! `tessera suggest`.

use crate::CliResult;

/// Arguments of `tessera suggest`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera suggest` is not built yet".into())
}
