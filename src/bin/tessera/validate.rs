//! `tessera validate`.

use crate::CliResult;

/// Arguments of `tessera validate`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera validate` is not built yet".into())
}
