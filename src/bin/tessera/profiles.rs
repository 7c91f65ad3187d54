//! `tessera profiles`.

use crate::CliResult;

/// Arguments of `tessera profiles`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera profiles` is not built yet".into())
}
