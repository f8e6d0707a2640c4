#!/usr/bin/env bash
# Fuzz smoke test: builds every target in fuzz/fuzz_targets/ and runs each for a short time
# (FUZZ_SECONDS, default 30), replaying the checked-in seed corpus and regression inputs first.
# Fails on any crash, panic, leak or timeout libFuzzer reports. Run from the repository root;
# installs cargo-fuzz if it is missing. Crash inputs are left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
# cargo-fuzz passes nightly-only flags (-Zsanitizer=...); this lets a stable toolchain take them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "=== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "=== building fuzz targets"
cargo fuzz build

# New inputs found during the smoke run go to a scratch directory, so the checked-in corpus stays
# as committed.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for file in fuzz/fuzz_targets/*.rs; do
    target="$(basename "$file" .rs)"
    dirs=("$scratch/$target")
    mkdir -p "$scratch/$target"
    for seeds in "fuzz/corpus/$target" "fuzz/regressions/$target"; do
        if [ -d "$seeds" ]; then
            dirs+=("$seeds")
        fi
    done
    echo "=== fuzzing $target for ${seconds}s"
    cargo fuzz run "$target" "${dirs[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1
done
echo "=== fuzz smoke test passed"
