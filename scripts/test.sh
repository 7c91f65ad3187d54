#!/usr/bin/env bash
# Tessera's one test command, the same locally and in CI (.ci/run): installs what is missing,
# then runs every check in order and stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_args=()
if compgen -G 'tests/browser/*.test.mjs' >/dev/null; then setup_args+=(--browser); fi
bash scripts/setup.sh "${setup_args[@]}"

source scripts/env.sh
started=$SECONDS

# Runs one check under a header and reports how long it took.
check() {
  local name=$1
  shift
  step "$name"
  local t0=$SECONDS
  "$@"
  printf -- '--- %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
}

check "typos (README.md, docs/)" typos README.md docs/
check "cargo fmt" cargo fmt --all --check
check "cargo clippy (native)" cargo clippy --workspace --all-targets --locked -- -D warnings
# The adapters also compile for wasm, where other code paths (wasm-bindgen glue) are live.
check "cargo clippy (wasm32)" cargo clippy -p tessera-wasm -p tessera-worker --target wasm32-unknown-unknown --locked -- -D warnings
check "cargo test" cargo test --workspace --locked
check "advisory database (offline snapshot)" bash scripts/advisory-db.sh
check "cargo deny (advisories, licenses, bans, sources)" cargo deny --offline check
check "build wasm package" bash scripts/build.sh wasm
check "wasm tests (node)" node --test tests/wasm/
check "build npm package (npm pack)" bash scripts/build.sh npm
# Installs the tarball into temporary projects: the shared corpora, tsc on example.ts, Chromium.
check "npm package tests" node --test --test-concurrency=1 tests/npm/
check "build page and worker" bash scripts/build.sh www worker
# One file at a time: each starts its own wrangler dev, and CI has two cores.
check "edge tests (wrangler dev)" node --test --test-concurrency=1 tests/edge/
# The access matrix (every route, every key) and SIGKILL under load, against wrangler dev.
check "reliability tests (access matrix, crash safety)" node --test --test-concurrency=1 tests/reliability/
if compgen -G 'tests/browser/*.test.mjs' >/dev/null; then
  check "browser tests (chromium)" node --test --test-concurrency=1 tests/browser/
fi

# A short fuzz run of every parser of outside input; its own target dir, since the sanitizer
# flags would otherwise invalidate the main build cache.
check "fuzz smoke run (5 s per target)" env CARGO_TARGET_DIR="$CARGO_TARGET_DIR-fuzz" bash scripts/fuzz.sh 5

printf '\nall checks passed in %ss\n' "$((SECONDS - started))"
