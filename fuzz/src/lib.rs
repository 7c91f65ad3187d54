//! Fuzz targets for the tessera core: see `checks` and `docs/reliability.md`.
#![allow(missing_docs)]

pub mod checks;
