#!/usr/bin/env bash
# Benchmarks in CI: compile every bench (no timing: CI machines are too noisy for numbers to mean
# anything) and prove the hot path allocates nothing. Timed runs: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

printf '\n=== %s\n' "benches compile (cargo bench --no-run)"
cargo bench --no-run

printf '\n=== %s\n' "zero heap allocations on the hot path"
cargo test --release --test alloc
