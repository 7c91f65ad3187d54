//! `tessera snapshot`.

use crate::CliResult;

/// Arguments of `tessera snapshot`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera snapshot` is not built yet".into())
}
