//! Generated outage worlds (`sosroute::sim::generate`): sosroute is held to the "Robust
//! decisions" bounds (`sosroute::sim::dominance`) on them, not only on the shipped scenarios.
//!
//! The goal is every world. Today 17 of the 200 break a bound (103 did before decision rules
//! 9-12 of the README), so the test holds the count at or below `MOST_BREAKING`, and the calls
//! sosroute falls short by at or below `MOST_SHORT_OF_HOME_ONLY` and `MOST_SHORT_OF_ANDROID`, and
//! prints every breaking seed: each may only go down. `sosroute worlds --count 200` shows them.

use sosroute::sim::dominance::{dominance, Bound, ANDROID_CONNECTED_SLACK_PCT};
use sosroute::sim::generate::replay_generated;
use sosroute::sim::Report;
use sosroute::Policy;

/// Worlds checked: seeds `0..WORLDS`.
const WORLDS: u64 = 200;
/// Calls per world: enough for the percentages, few enough for the whole test to take seconds.
const CALLS: u32 = 300;
/// Most of the `WORLDS` worlds that may break a bound: 17 break one on this commit. Lower it
/// whenever a change lowers the count; never raise it.
const MOST_BREAKING: usize = 17;
/// How many calls, summed over the worlds, sosroute may connect fewer than `home_only`, and
/// fewer than `android_like`'s share less one point: the count of breaking worlds does not move
/// when a change makes a breaking world worse or better, these do. 346 and 224 (of 60,000 calls)
/// on this commit; lower them whenever a change does.
const MOST_SHORT_OF_HOME_ONLY: f64 = 346.0;
const MOST_SHORT_OF_ANDROID: f64 = 224.0;

/// Seeds `0..WORLDS` replayed, once for both tests.
fn replay_all() -> &'static [(u64, Report)] {
    static REPORTS: std::sync::OnceLock<Vec<(u64, Report)>> = std::sync::OnceLock::new();
    REPORTS.get_or_init(replay_on_two_threads)
}

/// Replays seeds `0..WORLDS` on two threads (the CI machines have two cores).
fn replay_on_two_threads() -> Vec<(u64, Report)> {
    let policy = Policy::us_default();
    let half = WORLDS / 2;
    let run = |from: u64, to: u64| -> Vec<(u64, Report)> {
        (from..to)
            .map(|seed| {
                let r = replay_generated(seed, CALLS, &policy)
                    .unwrap_or_else(|e| panic!("generated world {seed} does not replay: {e}"));
                (seed, r)
            })
            .collect()
    };
    std::thread::scope(|s| {
        let upper = s.spawn(|| run(half, WORLDS));
        let mut all = run(0, half);
        all.extend(upper.join().expect("the replay thread does not panic"));
        all
    })
}

#[test]
fn generated_worlds_replay() {
    for (seed, r) in replay_all() {
        assert_eq!(r.scenario, format!("gen-{seed}"));
        assert_eq!(r.calls, CALLS);
        assert_eq!(r.strategies.len(), 4, "seed {seed}");
        for s in &r.strategies {
            assert!(s.connected <= CALLS, "seed {seed}: {}", s.name);
        }
    }
}

#[test]
fn sosroute_breaks_the_dominance_bounds_on_no_more_worlds_than_before() {
    let mut failing = Vec::new();
    let (mut short_of_home_only, mut short_of_android) = (0.0, 0.0);
    for (seed, r) in replay_all() {
        let violations = dominance(r);
        if !violations.is_empty() {
            for v in &violations {
                println!("seed {seed}: {v}");
                match v.bound {
                    Bound::NotBelowHomeOnly => short_of_home_only += v.other - v.sosroute,
                    Bound::NotBelowAndroid => {
                        let points = v.other - ANDROID_CONNECTED_SLACK_PCT - v.sosroute;
                        short_of_android += points * f64::from(CALLS) / 100.0;
                    }
                    Bound::P95NotAboveAndroid => {}
                }
            }
            failing.push(seed);
        }
    }
    println!("short of home_only: {short_of_home_only} calls; of android_like - 1 point: {short_of_android:.1} calls");
    assert!(
        short_of_home_only <= MOST_SHORT_OF_HOME_ONLY
            && short_of_android <= MOST_SHORT_OF_ANDROID + 0.5,
        "sosroute connects {short_of_home_only} calls fewer than home_only (at most \
         {MOST_SHORT_OF_HOME_ONLY}) and {short_of_android:.1} fewer than android_like's share less \
         a point (at most {MOST_SHORT_OF_ANDROID}) over the {WORLDS} worlds"
    );
    assert!(
        failing.len() <= MOST_BREAKING,
        "{} of {WORLDS} generated worlds break the bounds, more than {MOST_BREAKING} (seeds \
         {failing:?}); replay one with `sosroute generate --seed N > w.toml && sosroute replay w.toml`",
        failing.len()
    );
}
