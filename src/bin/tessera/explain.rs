//! `tessera explain`.

use crate::CliResult;

/// Arguments of `tessera explain`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera explain` is not built yet".into())
}
