#!/usr/bin/env python3
"""Summarise the last `cargo bench --bench decide` run as the markdown tables of BENCHMARKS.md.

Reads criterion's estimates (target/criterion/**/new/estimates.json) and prints each bench's
median with its 95 % confidence interval, then the ratios the issue asks about. Ratios are taken
between benches of the same run only.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"

# (label, numerator, denominator): how many times the numerator's median is the denominator's.
RATIOS = [
    ("naive plan / sosroute plan (8 routes)", "naive/plan_8", "plan/routes/8"),
    ("naive plan / sosroute plan, path group", "naive/plan_8", "path/rust/plan_8"),
    ("naive plan / sosroute plan ranked afresh (8 routes)", "naive/plan_8", "plan/ranked_afresh/8"),
    ("naive full fallback / sosroute full fallback", "naive/full_fallback/8", "session/full_fallback/8"),
    ("naive observe / sosroute observe", "naive/single_observation", "update/single_observation"),
    ("plan under writer storm / plan idle", "writer_storm/plan_8/storm", "writer_storm/plan_8/idle"),
    ("naive plan under writer storm / sosroute plan under writer storm", "naive/plan_8/storm", "writer_storm/plan_8/storm"),
    ("naive plan under writer storm / naive plan idle", "naive/plan_8/storm", "naive/plan_8"),
    ("plan 16 routes / plan 8 routes", "plan/routes/16", "plan/routes/8"),
    ("plan with an audit sink / plan without (8 routes; bound 1.5)", "audit/plan_8/sink", "audit/plan_8/no_sink"),
    ("plan with an audit sink drained often / plan without (8 routes; bound 1.5)", "audit/plan_8/sink_drained_often", "audit/plan_8/no_sink"),
    ("plan with an audit sink, ring of 64 / plan without (8 routes; bound 1.5)", "audit/plan_8/sink_small_ring", "audit/plan_8/no_sink"),
    ("plan with a stalled audit sink / plan without (8 routes; bound 1.5)", "audit/plan_8/stalled_sink", "audit/plan_8/no_sink"),
    # Printed once the C ABI path is benched next to the Rust one.
    ("C path / Rust path (8 routes)", "path/c/plan_8", "path/rust/plan_8"),
]


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def main():
    medians = {}
    rows = []
    for bench in sorted(ROOT.glob("**/new/benchmark.json")):
        full_id = json.loads(bench.read_text())["full_id"]
        median = json.loads((bench.parent / "estimates.json").read_text())["median"]
        ci = median["confidence_interval"]
        medians[full_id] = median["point_estimate"]
        rows.append((full_id, median["point_estimate"], ci["lower_bound"], ci["upper_bound"]))
    if not rows:
        sys.exit(f"no criterion results under {ROOT}; run `cargo bench --bench decide` first")
    print("| bench | median | 95 % CI of the median |")
    print("|---|---:|---:|")
    for full_id, m, lo, hi in rows:
        print(f"| `{full_id}` | {fmt(m)} | {fmt(lo)} – {fmt(hi)} |")
    print()
    print("| ratio | value |")
    print("|---|---:|")
    for label, num, den in RATIOS:
        if num in medians and den in medians:
            print(f"| {label} | {medians[num] / medians[den]:.2f} |")


if __name__ == "__main__":
    main()
