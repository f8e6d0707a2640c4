#!/usr/bin/env python3
"""Reads one run of examples/kamailio/test.sh (sipp's response-time files and Kamailio's audit
lines), prints the per-phase table for sosroute and dispatcher side by side, and checks:
every sosroute call-back answered; sosroute answers at least as many as dispatcher in every
phase; sosroute's p95 time to answer is lower where a trunk silently drops INVITEs.

usage: report.py WORKDIR CALLS PHASE...
"""

import collections
import json
import os
import re
import sys

SILENT_PHASES = {"carrier_silent", "carrier_flapping"}
LINE = re.compile(r"^\s*\d+\((\d+)\).*\b(ATTEMPT|OUTCOME|RESULT) cid=(\S+)(.*)")


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    # nearest rank
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))
    return v[k]


def phase(work, config, name, calls):
    times = []
    path = os.path.join(work, "%s-%s.rtt.csv" % (config, name))
    with open(path) as f:
        for line in f:
            parts = line.strip().split(";")
            if len(parts) == 3 and parts[2] == "1":
                times.append(float(parts[1]) / 1000.0)
    attempts = collections.Counter()
    routes = collections.Counter()
    answered_cids = set()
    procs = collections.defaultdict(set)  # Call-ID -> Kamailio processes that handled it
    with open(os.path.join(work, "%s-%s.kamailio.log" % (config, name)), errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if not m:
                continue
            pid, kind, cid, rest = m.groups()
            procs[cid].add(pid)
            if kind == "ATTEMPT":
                attempts[cid] += 1
            elif "status=answered" in rest and cid not in answered_cids:
                answered_cids.add(cid)
                r = re.search(r"route=(\S+)", rest)
                routes[r.group(1) if r else "?"] += 1
    n_att = sum(attempts.values())
    return {
        "calls": calls,
        "answered": len(times),
        "answered_pct": 100.0 * len(times) / calls,
        "logged_answered": len(answered_cids),
        "p50_s": pct(times, 50),
        "p95_s": pct(times, 95),
        "attempts_per_call": n_att / len(attempts) if attempts else 0.0,
        "routes": dict(routes),
        "multi_process_calls": sum(1 for p in procs.values() if len(p) > 1),
        "processes": len(set().union(*procs.values())) if procs else 0,
    }


def fmt(x, nd=2):
    return "-" if x is None else ("%.*f" % (nd, x))


def main():
    work, calls = sys.argv[1], int(sys.argv[2])
    phases = [a for a in sys.argv[3:] if not a.startswith("+")]
    alone = [a[1:] for a in sys.argv[3:] if a.startswith("+")]  # sosroute only
    res = {c: {p: phase(work, c, p, calls) for p in phases} for c in ("sosroute", "dispatcher")}
    for p in alone:
        res["sosroute"][p] = phase(work, "sosroute", p, calls)
    print()
    print("| phase | router | answered | p50 s | p95 s | attempts/call | answered by |")
    print("|---|---|---:|---:|---:|---:|---|")
    for p in phases:
        for c in ("sosroute", "dispatcher"):
            r = res[c][p]
            by = ", ".join("%s %d" % kv for kv in sorted(r["routes"].items()))
            print("| %s | %s | %d/%d (%.0f %%) | %s | %s | %s | %s |" % (
                p, c, r["answered"], r["calls"], r["answered_pct"], fmt(r["p50_s"]),
                fmt(r["p95_s"]), fmt(r["attempts_per_call"]), by))
    for p in alone:
        r = res["sosroute"][p]
        by = ", ".join("%s %d" % kv for kv in sorted(r["routes"].items()))
        print("| %s | sosroute, router daemon down | %d/%d (%.0f %%) | %s | %s | %s | %s |" % (
            p, r["answered"], r["calls"], r["answered_pct"], fmt(r["p50_s"]), fmt(r["p95_s"]),
            fmt(r["attempts_per_call"]), by))
    print()
    with open(os.path.join(work, "report.json"), "w") as f:
        json.dump(res, f, indent=1)
    failures = []
    for p in phases:
        s, d = res["sosroute"][p], res["dispatcher"][p]
        if s["answered"] != calls:
            failures.append("%s: sosroute answered %d of %d call-backs" % (p, s["answered"], calls))
        if s["logged_answered"] != s["answered"]:
            failures.append("%s: sipp saw %d answered, Kamailio logged %d" % (
                p, s["answered"], s["logged_answered"]))
        if s["answered_pct"] < d["answered_pct"]:
            failures.append("%s: sosroute answered %.0f %% < dispatcher %.0f %%" % (
                p, s["answered_pct"], d["answered_pct"]))
        if p in SILENT_PHASES and d["p95_s"] is not None and not (
                s["p95_s"] is not None and s["p95_s"] < d["p95_s"]):
            failures.append("%s: sosroute p95 %s s is not below dispatcher's %s s" % (
                p, fmt(s["p95_s"]), fmt(d["p95_s"])))
    for p in alone:
        if res["sosroute"][p]["answered"] != calls:
            failures.append("%s: sosroute answered %d of %d call-backs" % (
                p, res["sosroute"][p]["answered"], calls))
    # Kamailio ran 3 SIP workers (and the timer process, which runs failure_route on a
    # timeout): a call-back whose attempts were handled by more than one process proves the
    # router's state is shared across them.
    shared = sum(res["sosroute"][p]["multi_process_calls"] for p in phases)
    procs = max(res["sosroute"][p]["processes"] for p in phases)
    print("sosroute: %d call-backs handled by more than one Kamailio process; up to %d "
          "processes in one phase" % (shared, procs))
    if shared == 0 or procs < 2:
        failures.append("no call-back was handled by more than one Kamailio process")
    for f in failures:
        print("kamailio-test: FAIL: " + f, file=sys.stderr)
    checks = 3 * len(phases) + len([p for p in phases if p in SILENT_PHASES]) + 1 + len(alone)
    print("kamailio: %d passed, %d failed" % (checks - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
