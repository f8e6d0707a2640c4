//! Generated outage worlds (`sosroute::sim::generate`): sosroute is held to the "Robust
//! decisions" bounds (`sosroute::sim::dominance`) on them, not only on the shipped scenarios.
//!
//! The goal is every world. Today 237 of the 2,200 worlds replayed here (seeds 0-199, 1000-1999
//! and 5000-5999) break a bound, so the test holds the count at or below `MOST_BREAKING`, and
//! the calls sosroute falls short by at or below `MOST_SHORT_OF_HOME_ONLY` and
//! `MOST_SHORT_OF_ANDROID`, and prints every breaking seed: each may only go down. Summed over
//! 2,200 worlds, a change cannot pass by trading one small sample for another.
//! `sosroute worlds --count 200` (or `--count 1000 --from 1000`) shows them.

use sosroute::sim::dominance::{dominance, Bound, ANDROID_CONNECTED_SLACK_PCT};
use sosroute::sim::generate::replay_generated;
use sosroute::sim::Report;
use sosroute::Policy;

/// Worlds checked: these ranges of seeds (`from..to`). The first is the one the README charts.
const SEEDS: [(u64, u64); 3] = [(0, 200), (1_000, 2_000), (5_000, 6_000)];
/// Calls per world: enough for the percentages, few enough for the whole test to take seconds.
const CALLS: u32 = 300;
/// Most of the worlds that may break a bound: 237 of 2,200 break one on this commit (17, 102 and
/// 118 of the three ranges). Lower it whenever a change lowers the count; never raise it.
const MOST_BREAKING: usize = 237;
/// How many calls, summed over the worlds, sosroute may connect fewer than `home_only`, and
/// fewer than `android_like`'s share less one point: the count of breaking worlds does not move
/// when a change makes a breaking world worse or better, these do. On this commit, of 660,000
/// calls: 2,404 and 1,329 (on seeds 0-199 alone, 346 and 224). Lower them whenever a change
/// does.
const MOST_SHORT_OF_HOME_ONLY: f64 = 2404.0;
const MOST_SHORT_OF_ANDROID: f64 = 1329.0;

/// Every seed of `SEEDS` replayed, once for both tests.
fn replay_all() -> &'static [(u64, Report)] {
    static REPORTS: std::sync::OnceLock<Vec<(u64, Report)>> = std::sync::OnceLock::new();
    REPORTS.get_or_init(replay_on_two_threads)
}

/// Replays every seed of `SEEDS`, alternately on two threads (the CI machines have two cores).
fn replay_on_two_threads() -> Vec<(u64, Report)> {
    let policy = Policy::us_default();
    let seeds: Vec<u64> = SEEDS.iter().flat_map(|&(from, to)| from..to).collect();
    let run = |half: usize| -> Vec<(u64, Report)> {
        seeds
            .iter()
            .skip(half)
            .step_by(2)
            .map(|&seed| {
                let r = replay_generated(seed, CALLS, &policy)
                    .unwrap_or_else(|e| panic!("generated world {seed} does not replay: {e}"));
                (seed, r)
            })
            .collect()
    };
    let mut all = std::thread::scope(|s| {
        let odd = s.spawn(|| run(1));
        let mut all = run(0);
        all.extend(odd.join().expect("the replay thread does not panic"));
        all
    });
    all.sort_by_key(|&(seed, _)| seed);
    all
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
         a point (at most {MOST_SHORT_OF_ANDROID}) over the {} worlds",
        replay_all().len()
    );
    assert!(
        failing.len() <= MOST_BREAKING,
        "{} of {} generated worlds break the bounds, more than {MOST_BREAKING} (seeds \
         {failing:?}); replay one with `sosroute generate --seed N > w.toml && sosroute replay w.toml`",
        failing.len(),
        replay_all().len()
    );
}
