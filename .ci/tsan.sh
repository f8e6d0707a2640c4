#!/usr/bin/env bash
# Concurrency checked by a tool that understands it: tests/concurrency.rs (readers planning and
# running sessions while writers publish, reject batches, swap and roll back policies, so both
# recycled buffers change hands) under ThreadSanitizer. Stable toolchain + RUSTC_BOOTSTRAP, like
# the fuzz smoke run; its own target directory, so the ordinary build is not invalidated.
#
# std is not rebuilt (no rust-src here), hence -Cunsafe-allow-abi-mismatch and the suppressions
# in .ci/tsan.supp, each a known false positive of an uninstrumented std, explained there.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
export CARGO_TARGET_DIR=target/tsan
# Any report fails the run (TSan's exit code is 66 when it reported anything).
export TSAN_OPTIONS="suppressions=$PWD/.ci/tsan.supp halt_on_error=1 exitcode=66"
cargo test --release --target "$host" --test concurrency
echo "ThreadSanitizer: no data race in tests/concurrency.rs"
