#!/usr/bin/env bash
# PSAP call-backs through Kamailio, routed by sosroute, against Kamailio's dispatcher failover,
# proven with sipp. Run from anywhere: bash examples/kamailio/test.sh
#
# Installs what it needs from Debian's packages when missing (kamailio, kamailio-python3-modules,
# sip-tester, python3), builds libsosroute.so, then for each configuration (sosroute, then
# dispatcher) and each fault phase starts sipp UAS trunks on 127.0.0.1, the router daemon (for
# sosroute), Kamailio with 3 SIP workers, drives call-backs with a sipp UAC, and stops them all.
# Prints per phase: answered %, median and p95 time to answer, attempts per call; fails if
# sosroute leaves a call-back unanswered, answers fewer than dispatcher in any phase, or is not
# faster at p95 where a trunk silently drops INVITEs.
#
# Everything listens on 127.0.0.1 only. Every process it starts is stopped on exit (trap).
# KEEP=1 keeps the logs (the folder is printed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
export CARGO_TERM_COLOR=never

say() { printf '[kamailio-test %3ds] %s\n' "$SECONDS" "$*"; }
die() { printf 'kamailio-test: FAIL: %s\n' "$*" >&2; exit 1; }

# ---- packages --------------------------------------------------------------------------------
PY=/usr/bin/python3
MODDIR=$(ls -d /usr/lib/*/kamailio/modules 2>/dev/null | head -n1 || true)
have_all() {
    command -v kamailio >/dev/null 2>&1 && command -v sipp >/dev/null 2>&1 && [ -x "$PY" ] &&
        [ -n "$MODDIR" ] && [ -f "$MODDIR/app_python3.so" ] && [ -f "$MODDIR/dispatcher.so" ]
}
if ! have_all; then
    say "installing kamailio kamailio-python3-modules sip-tester python3 (apt-get)"
    command -v apt-get >/dev/null 2>&1 || die "missing packages and no apt-get: install kamailio, kamailio-python3-modules, sip-tester and python3"
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || die "apt-get update failed"
    $SUDO apt-get install -y -qq kamailio kamailio-python3-modules sip-tester python3 >/dev/null ||
        die "apt-get install kamailio kamailio-python3-modules sip-tester python3 failed"
    # The package's own service would take port 5060; this test never uses it.
    $SUDO systemctl stop kamailio >/dev/null 2>&1 || true
    MODDIR=$(ls -d /usr/lib/*/kamailio/modules 2>/dev/null | head -n1 || true)
    have_all || die "after apt-get: kamailio, sipp, $PY, app_python3.so or dispatcher.so still missing"
fi

# ---- the library -----------------------------------------------------------------------------
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
LIB=$TARGET_DIR/release/libsosroute.so
say "cargo build --release --lib"
cargo build --release --lib --quiet || die "cargo build --release --lib failed"
[ -f "$LIB" ] || die "no $LIB after the build"

# ---- ports and scratch folder ----------------------------------------------------------------
PORT_CARRIER=5071 PORT_INTERCONNECT=5072 PORT_LEC=5073 PORT_TCC=5074 PORT_EDGE=5090 PORT_UAC=5099
PORTS="$PORT_CARRIER $PORT_INTERCONNECT $PORT_LEC $PORT_TCC $PORT_EDGE $PORT_UAC"
"$PY" - $PORTS <<'EOF' || die "a UDP port this test needs on 127.0.0.1 is taken (see above); stop what holds it (ss -lunp) and run again"
import socket, sys
bad = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError as e:
        bad.append("%s (%s)" % (p, e.strerror))
    finally:
        s.close()
if bad:
    print("kamailio-test: UDP port in use on 127.0.0.1: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF

WORK=$(mktemp -d /tmp/sosroute-kamailio.XXXXXX)
SOCK="@sosroute-test-$$"
PIDS=()
declare -A TRUNK_PID=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}" "${TRUNK_PID[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for pid in "${PIDS[@]}" "${TRUNK_PID[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
        echo "kamailio-test: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SOS_PORT_CARRIER=$PORT_CARRIER SOS_PORT_INTERCONNECT=$PORT_INTERCONNECT
export SOS_PORT_LEC=$PORT_LEC SOS_PORT_TCC=$PORT_TCC SOS_PORT_EDGE=$PORT_EDGE
export SOSROUTED_SOCKET=$SOCK SOS_RING_MS=10000
# Kamailio's Python imports edge.py from this folder: leave no __pycache__ in the tree.
export PYTHONDONTWRITEBYTECODE=1

# stop PID: SIGTERM, up to 2 s, then SIGKILL; forgets it.
stop() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# trunk NAME PORT SCENARIO|none: (re)starts the sipp UAS playing that trunk, or leaves it down.
trunk() {
    local name=$1 port=$2 scenario=$3
    if [ -n "${TRUNK_PID[$name]:-}" ]; then
        kill "${TRUNK_PID[$name]}" 2>/dev/null || true
        wait "${TRUNK_PID[$name]}" 2>/dev/null || true
        unset "TRUNK_PID[$name]"
    fi
    [ "$scenario" = none ] && return 0
    sipp -sf "$HERE/sipp/$scenario.xml" -i 127.0.0.1 -p "$port" -aa -nostdin -timeout 120s \
        -trace_err -error_file "$WORK/uas-$name.err" >/dev/null 2>&1 &
    TRUNK_PID[$name]=$!
}

# ---- one phase -------------------------------------------------------------------------------
CALLS=${CALLS:-30}
RATE=${RATE:-6}

run_phase() {
    local config=$1 phase=$2 carrier=$3 inter=$4 lec=$5
    trunk carrier "$PORT_CARRIER" "$carrier"
    trunk interconnect "$PORT_INTERCONNECT" "$inter"
    trunk lec "$PORT_LEC" "$lec"
    trunk tcc "$PORT_TCC" tcc
    local dpid= kpid
    if [ "$config" = sosroute ] && [ "${NO_ROUTER:-0}" = 1 ]; then
        SOS_KEMI_SCRIPT=$HERE/sosroute_kemi.py \
            kamailio -f "$HERE/kamailio.cfg" -DD -E -m 64 -M 8 \
            >"$WORK/$config-$phase.kamailio.log" 2>&1 &
    elif [ "$config" = sosroute ]; then
        "$PY" "$HERE/sosrouted.py" --lib "$LIB" --policy "$HERE/psap-callback.toml" \
            --socket "$SOCK" --trunk "carrier_trunk=127.0.0.1:$PORT_CARRIER" \
            --trunk "interconnect=127.0.0.1:$PORT_INTERCONNECT" \
            --trunk "lec_trunk=127.0.0.1:$PORT_LEC" --trunk "tcc=127.0.0.1:$PORT_TCC" \
            >"$WORK/$config-$phase.sosrouted.log" 2>&1 &
        dpid=$!
        PIDS+=("$dpid")
        SOS_KEMI_SCRIPT=$HERE/sosroute_kemi.py \
            kamailio -f "$HERE/kamailio.cfg" -DD -E -m 64 -M 8 \
            >"$WORK/$config-$phase.kamailio.log" 2>&1 &
    else
        SOS_KEMI_SCRIPT=$HERE/dispatcher_kemi.py SOS_DS_LIST=$HERE/dispatcher.list \
            kamailio -f "$HERE/kamailio.cfg" -A WITH_DISPATCHER -DD -E -m 64 -M 8 \
            >"$WORK/$config-$phase.kamailio.log" 2>&1 &
    fi
    kpid=$!
    PIDS+=("$kpid")
    # Both learn the trunks' state from OPTIONS probes once a second. Let both run long enough
    # for dispatcher to mark a dead trunk down: its OPTIONS wait out tm's fr_timer (3 s).
    sleep "${SETTLE:-5}"
    kill -0 "$kpid" 2>/dev/null || { tail -n 20 "$WORK/$config-$phase.kamailio.log" >&2; die "kamailio ($config) did not start"; }
    [ -z "$dpid" ] || kill -0 "$dpid" 2>/dev/null || { cat "$WORK/$config-$phase.sosrouted.log" >&2; die "sosrouted did not start"; }
    local rc=0
    (cd "$WORK" && exec sipp "127.0.0.1:$PORT_EDGE" -sf "$HERE/sipp/uac-callback.xml" \
        -i 127.0.0.1 -p "$PORT_UAC" -m "$CALLS" -r "$RATE" -l "$CALLS" -nostdin -timeout 45s \
        -cid_str "$config-$phase-%u-%p@%s" -trace_rtt -rtt_freq 1 \
        -trace_err -error_file "$WORK/$config-$phase.uac.err" >"$WORK/$config-$phase.uac.out" 2>&1) || rc=$?
    mv "$WORK"/uac-callback_*_rtt.csv "$WORK/$config-$phase.rtt.csv" 2>/dev/null || : >"$WORK/$config-$phase.rtt.csv"
    stop "$kpid"
    [ -z "$dpid" ] || stop "$dpid"
    say "$config / $phase: sipp UAC exit $rc"
}

PHASES=(
    # name            carrier      interconnect  lec (alternate number)
    "all_up           uas-answer   uas-answer    uas-answer"
    "carrier_503      uas-503      uas-answer    uas-answer"
    "carrier_silent   uas-silent   uas-answer    uas-answer"
    "carrier_flapping uas-flap     uas-answer    uas-answer"
    "voice_down       none         none          none"
)

START=$SECONDS
for config in sosroute dispatcher; do
    for p in "${PHASES[@]}"; do
        # shellcheck disable=SC2086
        set -- $p
        say "$config / $1: $CALLS call-backs at $RATE/s (carrier $2, interconnect $3, lec $4)"
        run_phase "$config" "$1" "$2" "$3" "$4"
    done
done
# sosrouted down: the Kamailio script falls back to the policy's order and still calls back.
say "sosroute / router_down: $CALLS call-backs at $RATE/s, sosrouted not running, every trunk up"
NO_ROUTER=1 SETTLE=1 run_phase sosroute router_down uas-answer uas-answer uas-answer
for name in carrier interconnect lec tcc; do trunk "$name" 0 none; done

phase_names=()
for p in "${PHASES[@]}"; do set -- $p; phase_names+=("$1"); done
"$PY" "$HERE/report.py" "$WORK" "$CALLS" "${phase_names[@]}" +router_down || die "see the table above"
say "done in $((SECONDS - START)) s of phases (whole script ${SECONDS} s)"
