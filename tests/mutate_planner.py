#!/usr/bin/env python3
"""Checks that each decision-rule property in tests/rules.rs can fail.

For each rule it applies one deliberate bug to the planner (or the state store), runs that rule's
property and expects it to FAIL, then restores the sources. Run from the repository root:

    python3 tests/mutate_planner.py          # rules 1-11, the probe, the hold-down's redial, the
                                             # doubled redial, long timers, the redial order, slow
                                             # failures, the route cut short, the slow route's
                                             # wait, the trials' backoff and the blame property
    python3 tests/mutate_planner.py 4        # one rule (or `probe`, `holddown`, `double`, `long`,
                                             # `redial`, `slowly`, `slowlast`, `cut`, `slow`,
                                             # `backoff`, `blame`)

It exits non-zero if a property passes against its broken planner: such a property asserts
nothing.
"""
import subprocess
import sys

P = 'src/planner.rs'
S = 'src/state.rs'
R = 'src/router.rs'


# While set (path -> source), sub() only checks that its edit applies: main() tries every
# mutation this way first, so a stale one stops the run before the first slow test build.
DRY_RUN = None


def sub(path, old, new):
    s = DRY_RUN[path] if DRY_RUN is not None else open(path).read()
    assert old in s, (path, old)
    if DRY_RUN is None:
        open(path, 'w').write(s.replace(old, new, 1))


def mutate(rule):
    SORT = "        keys.sort_unstable();"
    if rule=='1':
        sub(P,"        let mut attempt = assessed.attempts[index];","        let mut attempt = assessed.attempts[index];\n        if attempt.evidence == Evidence::Negative { continue; }")
    elif rule=='2':
        sub(P,"+ rank_slot(assessed.attempts[index].evidence, slow) * 16","+ rank_slot(Evidence::Positive, slow) * 16")
    elif rule=='3':
        sub(P,"let (observed, breaker) = (view.observed(now_ms), view.breaker(now_ms));","let (observed, breaker) = (view.observed(now_ms), Breaker::Closed);")
    elif rule=='4':
        sub(S,"let hold_down = policy.hold_down_ms;","let hold_down = 0;")
    elif rule=='5':
        sub(P,"let text_not_ready = if snapshot.psap_text_ready(","let text_not_ready = if true || snapshot.psap_text_ready(")
    elif rule=='6':
        sub(P,"        attempt.timeout_ms = attempt.timeout_ms.min(remaining);\n        remaining -= attempt.timeout_ms;","        remaining = remaining.saturating_sub(attempt.timeout_ms);")
    elif rule=='7':
        sub(P,SORT,SORT+"\n        static FLIP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);\n        if FLIP.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2 == 1 { keys.reverse(); }")
    elif rule=='8':
        sub(P,"        Evidence::Positive if !slow => 0,\n        Evidence::Positive | Evidence::Unknown => 1,","        Evidence::Unknown => 0,\n        Evidence::Positive => 1,")
    elif rule=='9':
        sub(P,"    timeout_ms.max(wait).max(NETWORK_GIVE_UP_MS)","    let _ = wait;\n    timeout_ms")
    elif rule=='10':
        sub(R,"            if self.failed.is_empty() {","            if true {")
    elif rule=='11':
        sub(S,"        let touched = if connected {\n            policy.routes()[route].needs","        let touched = if connected {\n            ComponentSet::default()")
    elif rule=='redial':
        sub(P,"failures.slowly.contains(index) as u16 * 48","false as u16 * 48")
    elif rule=='probe':
        sub(P,"let probe = own == Breaker::Closed && bounds_hang && observed == Evidence::Negative;","let probe = false;")
    elif rule=='holddown':
        sub(P,"let down = view.reported_down(now_ms);","let down = observed == Evidence::Negative;")
    elif rule=='double':
        sub(P,"before.max(full_ms) * 2","before")
    elif rule=='long':
        sub(P,"let long = a_call &&","let long = false &&")
    elif rule=='slowlast':
        sub(P,"|| (slow && failures.slowly.contains(index))","")
    elif rule=='slowly':
        sub(P,"self.timed_out.union(self.failed_slowly)","self.timed_out")
    elif rule=='cut':
        sub(P,"let failed = failed.minus(cut_short(constraints));","")
    elif rule=='slow':
        sub(R,"first.filter(|a| !self.slow_route_waits(&current, a, at_ms))","first")
    elif rule=='backoff':
        sub(S,"let cool_down = policy.cool_down_ms << self.failed_trials.min(3);","let cool_down = policy.cool_down_ms;")
    elif rule=='blame':
        sub(P,"suspect.or_else(|| view.blamed(","suspect.or_else(|| views.route((index + 1) % policy.routes().len()).blamed(")


def main():
    rules = sys.argv[1:] or [str(r) for r in range(1, 12)] + ['probe', 'holddown', 'double', 'long', 'redial', 'slowly', 'slowlast', 'cut', 'slow', 'backoff', 'blame']
    originals = {path: open(path).read() for path in (P, S, R)}
    global DRY_RUN
    DRY_RUN = originals
    for rule in rules:
        mutate(rule)
    DRY_RUN = None
    survived = []
    for rule in rules:
        try:
            mutate(rule)
            out = subprocess.run(
                ['cargo', 'test', '--release', '--test', 'rules',
                 {'probe': 'rule_9_a_route_observed', 'holddown': 'rule_9_a_route_back', 'double': 'rule_9_a_long_route', 'long': 'rule_2_', 'blame': 'blame_', 'redial': 'rule_10_redial', 'slowly': 'rule_10_redial', 'slowlast': 'rule_10_a_slow_route', 'cut': 'rule_9_a_route_cut', 'slow': 'rule_10_slow', 'backoff': 'rule_3_failed'}.get(rule, f'rule_{rule}_')],
                capture_output=True, text=True).stdout
        finally:
            for path, text in originals.items():
                open(path, 'w').write(text)
        verdict = 'FAILED (good)' if 'test result: FAILED' in out else 'passed: asserts nothing!'
        print(f'rule {rule}: property {verdict}')
        if 'test result: FAILED' not in out:
            survived.append(rule)
    sys.exit(1 if survived else 0)


if __name__ == '__main__':
    main()
