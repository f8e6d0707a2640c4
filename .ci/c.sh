#!/usr/bin/env bash
# C ABI checks, run from the repository root: build the Rust libraries, compile the C examples and
# the C test program with strict flags against the static and the shared library, compile the
# header as C++, run everything plainly, under AddressSanitizer + UndefinedBehaviorSanitizer, and
# under valgrind (zero errors, zero definite/indirect leaks), then install into a scratch prefix
# and build an example the ordinary way, with pkg-config.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n=== %s\n' "$*"; }

need() {
    # Installs a missing tool with apt-get when it can; otherwise says what is missing.
    local tool=$1 package=$2
    command -v "$tool" >/dev/null 2>&1 && return 0
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq && $sudo apt-get install -y -qq "$package" >/dev/null
    fi
    command -v "$tool" >/dev/null 2>&1 || {
        echo "c.sh: needs $tool (package $package)" >&2
        exit 1
    }
}
need gcc gcc
need g++ g++
need make make
need valgrind valgrind
need pkg-config pkg-config

EXAMPLES=examples/c
# Where cargo puts the libraries (CARGO_TARGET_DIR moves them); the Makefile takes them from there.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
export LIBDIR=$TARGET_DIR/release
PROGRAMS=(dialer psap_callback ffi_test)

step "cargo build --release (libsosroute.a, libsosroute.so)"
cargo build --release --lib

step "header compiles as C++"
g++ -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only include/sosroute.h
echo ok

step "compile examples and C test: -std=c99 -Wall -Wextra -Wpedantic -Werror, static and shared"
rm -rf "$EXAMPLES/build"
make -s -C "$EXAMPLES" CC=gcc BUILD=build/plain

run_all() {
    # run_all DIR [WRAPPER...]: runs every program of DIR, static and shared, under WRAPPER.
    local dir=$1
    shift
    for p in "${PROGRAMS[@]}"; do
        for link in static shared; do
            local bin="$EXAMPLES/$dir/$p-$link" log
            log=$(mktemp)
            if ! "$@" "$bin" >"$log" 2>&1; then
                cat "$log"
                echo "FAILED: $* $bin" >&2
                rm -f "$log"
                exit 1
            fi
            if [ "$p" = ffi_test ]; then
                printf '%-40s %s\n' "$bin" "$(tail -n 1 "$log")"
            else
                printf '%-40s ok (%s lines of output)\n' "$bin" "$(wc -l <"$log")"
            fi
            rm -f "$log"
        done
    done
}

step "run"
run_all build/plain

step "AddressSanitizer + UndefinedBehaviorSanitizer"
make -s -C "$EXAMPLES" CC=gcc BUILD=build/asan \
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_all build/asan env

step "valgrind (memcheck: zero errors, zero definite/indirect leaks)"
run_all build/plain valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect

step "make install + pkg-config"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s -C "$EXAMPLES" install PREFIX="$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "pkg-config --modversion sosroute: $(pkg-config --modversion sosroute)"
echo "pkg-config --cflags --libs sosroute: $(pkg-config --cflags --libs sosroute)"
# shellcheck disable=SC2046  # word splitting of pkg-config output is intended
gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -o "$prefix/dialer" "$EXAMPLES/dialer.c" \
    $(pkg-config --cflags --libs sosroute)
LD_LIBRARY_PATH="$prefix/lib" "$prefix/dialer" >/dev/null
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -o "$prefix/dialer-static" "$EXAMPLES/dialer.c" \
    $(pkg-config --cflags sosroute) "$(pkg-config --variable=libdir sosroute)/libsosroute.a" \
    -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
"$prefix/dialer-static" >/dev/null
echo "installed library found and linked through pkg-config (shared and static): ok"

step "C ABI checks passed"
