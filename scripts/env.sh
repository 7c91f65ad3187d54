# Sourced by the other scripts: the environment every build and run shares.
# shellcheck shell=bash
TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$TESSERA_ROOT/node_modules/.bin:$PATH"
# Outside the clone and reused between runs: a fresh clone does not rebuild from nothing.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
# wrangler reports usage and errors to Cloudflare unless told not to.
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
# worker-build would download these from GitHub; use the pinned CLI and npm's binaryen instead
# (Debian's older binaryen produces wasm that fails to load).
WASM_BINDGEN_BIN="$(command -v wasm-bindgen || true)"
export WASM_BINDGEN_BIN
export WASM_OPT_BIN="$TESSERA_ROOT/node_modules/.bin/wasm-opt"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '  -> %s\n' "$*"; }
