//! The npm package: a thin wasm-bindgen adapter over the core.
