#!/usr/bin/env python3
"""Checks that each decision-rule property in tests/rules.rs can fail.

For each rule it applies one deliberate bug to the planner, runs that rule's property, expects
FAILED, and restores the sources with `git checkout src/`. Run from the repository root on a
clean tree:

    for r in 1 2 3 4 5 6 7 8; do python3 tests/mutate_planner.py $r && \
      cargo test --release --test rules rule_$r 2>&1 | grep "^test rule_$r"; git checkout -q src/; done

Every line must end in FAILED. A property that passes against its broken planner asserts nothing.
"""
rule=sys.argv[1]
def sub(path, old, new):
    s=open(path).read()
    assert old in s, (path, old)
    open(path,'w').write(s.replace(old,new,1))
P='src/planner.rs'; S='src/state.rs'
if rule=='1':
    sub(P,"        // Rule 6: never promise more time than remains.","        if class == Evidence::Negative { continue; }\n        // Rule 6: never promise more time than remains.")
elif rule=='2':
    sub(P,"    ranked.sort_unstable_by_key(|&(class, rank, _)| (class, rank));","    ranked.sort_unstable_by_key(|&(_class, rank, _)| rank);")
elif rule=='3':
    sub(P,"        if b > breaker {","        if false && b > breaker {")
    sub(P,"    let mut breaker = snapshot.route_health(index).breaker(policy, now_ms);","    let mut breaker = { let _ = index; Breaker::Closed };")
elif rule=='4':
    sub(S,"now_ms < negative_until.saturating_add(policy.hold_down_ms)","now_ms < negative_until")
elif rule=='5':
    sub(P,"if route.kind.needs_text_ready_psap() && !text_ready {","if route.kind.needs_text_ready_psap() && !text_ready && false {")
elif rule=='6':
    sub(P,"        attempt.timeout_ms = attempt.timeout_ms.min(remaining);\n        remaining -= attempt.timeout_ms;","        remaining = remaining.saturating_sub(attempt.timeout_ms);")
elif rule=='7':
    sub(P,"    ranked.sort_unstable_by_key(|&(class, rank, _)| (class, rank));","    static FLIP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);\n    let flip = FLIP.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2 == 1;\n    ranked.sort_unstable_by_key(|&(class, rank, _)| (class, if flip { 99 - rank } else { rank }));")
elif rule=='8':
    sub(P,"    ranked.sort_unstable_by_key(|&(class, rank, _)| (class, rank));","    ranked.sort_unstable_by_key(|&(class, rank, _)| (match class { Evidence::Positive => 2, Evidence::Unknown => 1, Evidence::Negative => 3 }, rank));")
