#!/usr/bin/env bash
# Builds the JavaScript-facing artifacts. Usage: scripts/build.sh [wasm|npm|www|worker|all]...
#   wasm    the wasm-bindgen output: pkg/web (browser, Workers) and pkg/node (Node, CommonJS)
#   npm     the npm package @tessera/engine (packages/engine) and its tarball in pkg/npm/
#   www     the page, with the browser engine, into www/dist (needs wasm)
#   worker  the edge worker into build/ (what wrangler.toml's `main` points at)
# Assumes scripts/setup.sh has run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$TESSERA_ROOT"

# The wasm target enables these features by default; wasm-opt must accept them too.
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-reference-types --enable-multivalue --enable-mutable-globals)

build_wasm() {
  note "build wasm package (pkg/)"
  # The `wasm` profile (Cargo.toml) optimizes for size: this is what browsers download.
  cargo build --profile wasm --target wasm32-unknown-unknown -p tessera-wasm
  local wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/tessera_wasm.wasm"
  # wasm-opt is the slow part: skip everything below when cargo's output has not changed.
  local stamp
  stamp="$(sha256sum "$wasm" | cut -d' ' -f1) $(wasm-bindgen --version)"
  if [ -f pkg/.stamp ] && [ "$(cat pkg/.stamp)" = "$stamp" ] \
    && [ -f pkg/web/tessera_wasm_bg.wasm ] && [ -f pkg/node/tessera_wasm_bg.wasm ]; then
    echo "pkg/ is up to date"
    return
  fi
  rm -rf pkg/web pkg/node pkg/.stamp
  wasm-bindgen --target web --out-dir pkg/web "$wasm"
  wasm-bindgen --target nodejs --out-dir pkg/node "$wasm"
  # The root package.json says "type": "module"; the Node build is CommonJS.
  printf '{ "type": "commonjs" }\n' > pkg/node/package.json
  for out in pkg/web/tessera_wasm_bg.wasm pkg/node/tessera_wasm_bg.wasm; do
    wasm-opt -O3 --strip-debug "${WASM_FEATURES[@]}" "$out" -o "$out"
  done
  printf 'pkg/web/tessera_wasm_bg.wasm: %s bytes\n' "$(wc -c < pkg/web/tessera_wasm_bg.wasm)"
  echo "$stamp" > pkg/.stamp
}

build_npm() {
  note "build npm package (packages/engine, pkg/npm/)"
  [ -f pkg/web/tessera_wasm.js ] || build_wasm
  # One glue and one wasm for every condition: the entries differ only in how they load it.
  rm -rf packages/engine/wasm
  mkdir -p packages/engine/wasm pkg/npm
  cp pkg/web/tessera_wasm.js pkg/web/tessera_wasm_bg.wasm packages/engine/wasm/
  rm -f pkg/npm/*.tgz
  (cd packages/engine && npm pack --silent --pack-destination ../../pkg/npm >/dev/null)
  printf '%s: %s bytes; wasm gzipped: %s bytes\n' "$(ls pkg/npm/*.tgz)" "$(wc -c < pkg/npm/*.tgz)" \
    "$(gzip -9 -c packages/engine/wasm/tessera_wasm_bg.wasm | wc -c)"
}

build_www() {
  note "build page (www/dist)"
  # The page imports the package @tessera/engine (packages/engine) with its wasm.
  if [ ! -f packages/engine/wasm/tessera_wasm_bg.wasm ] \
    || [ pkg/web/tessera_wasm_bg.wasm -nt packages/engine/wasm/tessera_wasm_bg.wasm ]; then
    build_npm
  fi
  # Type-check, then bundle with Vite (www/vite.config.ts): the builder, the validator, the
  # engine's Web Worker with the wasm, and docs/*.md rendered as the help pages.
  (cd www && tsc -p tsconfig.json && vite build --logLevel warn)
  printf 'www/dist: %s files, %s KB\n' "$(find www/dist -type f | wc -l)" "$(du -sk www/dist | cut -f1)"
}

build_worker() {
  note "build worker (build/)"
  [ -n "$WASM_BINDGEN_BIN" ] || { echo "wasm-bindgen is missing: run scripts/setup.sh" >&2; exit 1; }
  # worker-build always re-runs wasm-opt (about 20 s): skip it when no input changed.
  if [ -f build/index_bg.wasm ] && [ -z "$(find src crates/worker Cargo.toml Cargo.lock \
      -newer build/index_bg.wasm -print -quit)" ]; then
    echo "build/ is up to date"
    return
  fi
  # Output path is relative to the crate: put it where wrangler.toml's `main` looks.
  worker-build --release -d ../../build crates/worker
  printf 'build/index_bg.wasm: %s bytes\n' "$(wc -c < build/index_bg.wasm)"
}

[ $# -gt 0 ] || set -- all
for target in "$@"; do
  case "$target" in
    wasm) build_wasm ;;
    npm) build_npm ;;
    www) build_www ;;
    worker) build_worker ;;
    all) build_wasm; build_npm; build_www; build_worker ;;
    *) echo "unknown build target: $target (wasm, npm, www, worker, all)" >&2; exit 2 ;;
  esac
done
