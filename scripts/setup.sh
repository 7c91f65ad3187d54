#!/usr/bin/env bash
# Installs what Tessera's run and test commands need, skipping what is already there at the
# right version. Safe to run again. Usage: scripts/setup.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
TYPOS_VERSION=1.52.0
CARGO_DENY_VERSION=0.20.2
CARGO_FUZZ_VERSION=0.13.2

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# cargo installs land here; a fresh shell may not have it on PATH yet.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

command -v cargo >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1 \
  || die "Rust is missing: install rustup (https://rustup.rs), then run this again"
command -v node >/dev/null 2>&1 || die "Node.js 20 or newer is missing"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (found $(node --version))"

# Rust target and components.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  rustup component list --installed | grep -q "^$comp" || rustup component add "$comp"
done

# cargo tools, each at a pinned version.
# worker-build prints a bare "0.8.7", the others "name 1.2.3": match the version as a word.
have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -Fqw -- "$2"; }
if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (several minutes, once)"
  # Not --locked: a locked dependency version is missing from the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if ! have_version worker-build "$WORKER_BUILD_VERSION"; then
  log "installing worker-build $WORKER_BUILD_VERSION (several minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi
if ! have_version typos "$TYPOS_VERSION"; then
  log "installing typos-cli $TYPOS_VERSION"
  cargo install typos-cli --version "$TYPOS_VERSION" --locked --force
fi
if ! have_version cargo-deny "$CARGO_DENY_VERSION"; then
  log "installing cargo-deny $CARGO_DENY_VERSION"
  cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --force
fi
if ! have_version cargo-fuzz "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
fi

# npm packages (wrangler, binaryen's wasm-opt, the test clients).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# Debian's Chromium, for the browser tests only.
if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
fi
log "ready"
