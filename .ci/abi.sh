#!/usr/bin/env bash
# The C ABI, frozen: lists every exported symbol (from the shared library), every function's
# prototype, every constant, enum value, and the size, alignment and field offsets of every
# struct (measured by a C program compiled against include/sosroute.h: sizeof, _Alignof,
# offsetof), and compares the listing with the committed baseline abi/sosroute.abi.txt.
#
#   bash .ci/abi.sh           # check: exit 1 and show the difference if the ABI moved
#   bash .ci/abi.sh --bless   # an intended change: rewrite the baseline (commit it with the
#                             # change, and raise SOSROUTE_ABI_VERSION if it breaks callers)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

BASELINE=abi/sosroute.abi.txt
HEADER=include/sosroute.h
TARGET_DIR=${CARGO_TARGET_DIR:-target}
LIB=$TARGET_DIR/release/libsosroute.so
for tool in gcc nm python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "abi.sh: needs $tool" >&2; exit 1; }
done

cargo build --release --lib
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The C program: one printf per struct, field, enum value and constant the header declares.
python3 - "$HEADER" >"$work/abi.c" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# Comments out, so that only declarations are parsed.
code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
code = re.sub(r"//[^\n]*", "", code)
out = ['#include <stdio.h>', '#include <stddef.h>', '#include "sosroute.h"', 'int main(void)', '{']
def say(fmt, *args):
    out.append('    printf(%s);' % ", ".join(['"%s\\n"' % fmt] + list(args)))
# Constants (the library's release numbers are not ABI: they change on every release).
for name in sorted(set(re.findall(r"^#define (SOS\w+) ", code, flags=re.M))):
    if not name.startswith("SOSROUTE_VERSION_") and name != "SOSROUTE_H":
        say("define %s %%llu" % name, "(unsigned long long)(%s)" % name)
# Enums: every value, and the size of the type a struct field or argument carries them in.
for name, body in sorted(re.findall(r"enum (sos_\w+)\s*(?:#ifdef __cplusplus\s*:\s*uint32_t\s*#endif)?\s*\{(.*?)\}", code, flags=re.S)):
    say("enum %s size %%zu align %%zu" % name, "sizeof(%s)" % name, "_Alignof(%s)" % name)
    for value in re.findall(r"(\w+)\s*=", body):
        say("  value %s %%lld" % value, "(long long)%s" % value)
# Structs with a body: size, alignment, and each field's offset and size.
for name, body in sorted(re.findall(r"typedef struct (sos_\w+) \{(.*?)\} \1;", code, flags=re.S)):
    say("struct %s size %%zu align %%zu" % name, "sizeof(%s)" % name, "_Alignof(%s)" % name)
    for field in re.findall(r"(\w+);", body):
        say("  field %s offset %%zu size %%zu" % field, "offsetof(%s, %s)" % (name, field),
            "sizeof(((%s *)0)->%s)" % (name, field))
# Opaque handles: declared, never measured.
for name in sorted(re.findall(r"typedef struct (sos_\w+) \1;", code)):
    say("opaque %s" % name)
out += ['    return 0;', '}']
print("\n".join(out))
PY

{
    echo "# sosroute C ABI: bash .ci/abi.sh checks the library against this; --bless rewrites it."
    echo "# $(uname -m), $(gcc -dumpmachine)"
    # Exported functions, from the library itself.
    nm -D --defined-only "$LIB" | awk '$3 ~ /^sos_/ { print "symbol " $3 }' | sort
    # Their prototypes, as the header declares them (whitespace normalised).
    python3 - "$HEADER" <<'PY'
import re, sys
code = re.sub(r"/\*.*?\*/", "", open(sys.argv[1]).read(), flags=re.S)
for proto in re.findall(r"^[A-Za-z][\w \*]*?\bsos_\w+\([^;{]*\);", code, flags=re.M):
    print("prototype " + " ".join(proto.split()))
PY
    gcc -std=c11 -Wall -Wextra -Werror -Iinclude -o "$work/abi" "$work/abi.c"
    "$work/abi"
} >"$work/listing.txt"

# Every exported symbol has a prototype in the header, and every prototype an exported symbol.
symbols=$(grep '^symbol ' "$work/listing.txt" | cut -d' ' -f2 | sort)
declared=$(grep '^prototype ' "$work/listing.txt" | sed 's/.*\b\(sos_[a-z0-9_]*\)(.*/\1/' | sort)
if [ "$symbols" != "$declared" ]; then
    echo "abi.sh: exported symbols and header prototypes differ:" >&2
    diff <(echo "$symbols") <(echo "$declared") >&2 || true
    exit 1
fi

if [ "${1:-}" = "--bless" ]; then
    mkdir -p "$(dirname "$BASELINE")"
    cp "$work/listing.txt" "$BASELINE"
    echo "abi.sh: baseline $BASELINE rewritten ($(wc -l <"$BASELINE") lines)"
    exit 0
fi
if ! diff -u "$BASELINE" "$work/listing.txt"; then
    cat >&2 <<MSG

abi.sh: the C ABI differs from $BASELINE (diff above: - baseline, + this build).
If the change is intended, run 'bash .ci/abi.sh --bless' and commit the new baseline with it;
if it can break a caller built against the old header (a removed or changed function, a moved
field, a changed value), raise SOSROUTE_ABI_VERSION in src/ffi/mod.rs in the same commit.
MSG
    exit 1
fi
echo "abi.sh: C ABI matches $BASELINE ($(grep -c '^symbol ' "$BASELINE") functions)"
