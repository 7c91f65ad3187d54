//! `tessera export`.

use crate::CliResult;

/// Arguments of `tessera export`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err("`tessera export` is not built yet".into())
}
