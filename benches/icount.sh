#!/usr/bin/env bash
# Instructions per hot-path operation, counted by callgrind (stable on a noisy machine):
# (instructions for 2n operations - instructions for n) / n, so set-up cost cancels out.
# Usage: benches/icount.sh [plan|plan_audited|next_attempt|observe ...]   (default: plan,
# next_attempt, observe; 8 routes)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10000}
routes=${ROUTES:-8}
bin=$(cargo bench --bench icount --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "icount" and m.get("executable"):
        print(m["executable"])')
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$routes" 2>&1 \
        | awk '/Collected/ { print $4 }'
}
for op in "${@:-plan next_attempt observe}"; do
    for o in $op; do
        a=$(count "$o" "$n")
        b=$(count "$o" $((2 * n)))
        echo "$o ($routes routes): $(((b - a) / n)) instructions"
    done
done
