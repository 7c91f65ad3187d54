#!/usr/bin/env bash
# Fuzzes every parser of outside input for a bounded time per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30; FUZZ_TARGETS="a b" picks targets)
#
# The corpus grows in fuzz/corpus/<target>/ (only the named seeds are committed). A crash, OOM or
# timeout is copied to tests/fixtures/hostile/crashes/<target>/, where `cargo test --test hostile`
# replays it on stable from then on. Exits non-zero when any target found something.
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer); RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them, so no nightly is needed.
set -euo pipefail

seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/fuzz/target}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}

# Messages are held to 32 KB and bodies to 500 KB: inputs must be able to cross the first limit;
# 64 KB keeps runs fast. Settings and segment definitions are small documents.
max_len_of() {
    case "$1" in
        identity_settings) echo 8192 ;;
        *) echo 65536 ;;
    esac
}

cargo fuzz build --target-dir "$target_dir"

found=()
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: ${seconds}s"
    if ! cargo fuzz run --target-dir "$target_dir" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" \
        -rss_limit_mb=2048 \
        -malloc_limit_mb=2048 \
        -timeout=10 \
        -max_len="$(max_len_of "$target")" \
        -dict=json.dict \
        -print_final_stats=1; then
        found+=("$target")
    fi
    shopt -s nullglob
    for artifact in artifacts/"$target"/{crash,oom,timeout,leak,slow-unit}-*; do
        dest="$root/tests/fixtures/hostile/crashes/$target"
        mkdir -p "$dest"
        # Moved, not copied: a later run must not report an old finding again.
        mv "$artifact" "$dest/"
        echo "   moved $(basename "$artifact") as a regression input in tests/fixtures/hostile/crashes/$target/"
    done
    shopt -u nullglob
done

if ((${#found[@]})); then
    echo "findings in: ${found[*]} (inputs copied to tests/fixtures/hostile/crashes/)" >&2
    exit 1
fi
echo "no findings"
