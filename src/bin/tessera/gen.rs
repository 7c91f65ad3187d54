//! `tessera gen`.

use crate::CliResult;

/// Arguments of `tessera gen`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera gen` is not built yet".into())
}
