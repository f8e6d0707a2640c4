//! Many threads plan and run call sessions while others push observations, report outcomes and
//! swap policies: the publish / recycle path under load. `cargo test` checks what every reader
//! sees; `.ci/tsan.sh` runs the same test under ThreadSanitizer, which checks that no two
//! threads touch the same memory without synchronisation (the recycled buffers above all). Seen
//! failing there against a writer that reuses a spare buffer without checking that no reader
//! holds it (TSan: a data race in `Snapshot::clone_used_from`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use sosroute::{
    CallRequest, Capabilities, Fact, Media, Next, Observation, Outcome, Policy, PolicyFormat,
    RadioState, Router, ServiceState, SignalLevel,
};

/// Rounds per thread: enough for writers to recycle both spare buffers many times over while
/// readers hold them, few enough for ThreadSanitizer's slowdown.
const ROUNDS: u64 = 400;

#[test]
fn readers_see_whole_states_while_writers_publish_and_recycle() {
    let router = Router::new(Policy::us_default());
    let home_ran = router.component_id("home_ran").unwrap();
    let home_core = router.component_id("home_core").unwrap();
    let policy_text = include_str!("../policies/us-handset.toml");
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..2)
        .map(|w| {
            let router = router.clone();
            thread::spawn(move || {
                for k in 0..ROUNDS {
                    let at = k * 1_000;
                    let state = if (k + w) % 3 == 0 {
                        RadioState::LimitedService
                    } else {
                        RadioState::InService
                    };
                    router
                        .update(&[
                            Observation::component(
                                home_ran,
                                Fact::Radio {
                                    state,
                                    signal: SignalLevel(3),
                                },
                                at,
                            ),
                            Observation::component(
                                home_core,
                                Fact::Service {
                                    state: ServiceState::Up,
                                },
                                at,
                            ),
                        ])
                        .unwrap();
                    // A rejected batch: its buffer goes back to the spares.
                    assert!(router
                        .update(&[Observation::component(
                            sosroute::ComponentId(999),
                            Fact::Outage { active: true },
                            at,
                        )])
                        .is_err());
                    if k % 50 == 25 {
                        router.load_policy(policy_text, PolicyFormat::Toml).unwrap();
                    }
                    if k % 50 == 45 {
                        router.rollback_policy().unwrap();
                    }
                }
            })
        })
        .collect();

    let readers: Vec<_> = (0..3)
        .map(|r| {
            let router = router.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut last_epoch = 0;
                let mut plans = 0u64;
                while !stop.load(Ordering::Relaxed) || plans < ROUNDS {
                    let now = plans * 1_000;
                    let request =
                        CallRequest::new(r, "911", Media::Voice, Capabilities::ALL, now).unwrap();
                    let plan = router.plan(&request);
                    // A published state is whole: a voice plan always has an attempt, and the
                    // epochs a reader sees never go back.
                    assert!(!plan.attempts.is_empty(), "{}", plan.explain());
                    assert!(plan.epoch >= last_epoch, "epoch went back");
                    last_epoch = plan.epoch;
                    // A session reports into the breakers, which writers publish too.
                    let mut call = router.begin(request);
                    if let Next::Attempt(a) = call.next_attempt(now).unwrap() {
                        let outcome = if plans % 2 == 0 {
                            Outcome::TimedOut
                        } else {
                            Outcome::Connected
                        };
                        call.report(outcome, now + a.timeout_ms.min(3_000)).unwrap();
                    }
                    plans += 1;
                }
                plans
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= ROUNDS);
    }
    // Every writer's batches landed: two accepted per round per writer, on top of epoch 0.
    let final_epoch = router
        .plan(&CallRequest::new(9, "911", Media::Voice, Capabilities::ALL, 0).unwrap())
        .epoch;
    assert!(final_epoch >= 2 * 2 * ROUNDS, "epoch {final_epoch}");
}
