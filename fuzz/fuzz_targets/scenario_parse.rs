//! The simulator's scenario parser (scenarios/FORMAT.md) on arbitrary text: it returns a
//! scenario or an error naming a key and a line, never panics. A small scenario that parses is
//! replayed twice through every strategy: no panic, and the same report both times.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sosroute::sim::{replay, Scenario};
use sosroute::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scenario = match Scenario::from_toml(text) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // Keep each run short: replay only small worlds.
    if scenario.calls.count > 200
        || scenario.window_ms > 86_400_000
        || scenario.report_every_ms < 1_000
    {
        return;
    }
    let policy = Policy::us_default();
    let first = replay(scenario.clone(), &policy, &mut |_| {});
    let second = replay(scenario, &policy, &mut |_| {});
    match (first, second) {
        (Ok(a), Ok(b)) => assert_eq!(
            serde_json::to_string(&a).expect("reports serialize"),
            serde_json::to_string(&b).expect("reports serialize"),
            "same scenario, same seed, different report"
        ),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("replay succeeded once and failed once"),
    }
});
