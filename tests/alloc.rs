//! The hot path does not touch the heap: a decision (`Router::plan`, a call session's
//! `next_attempt` and `report`) and a single observation update allocate nothing once warmed up.
//!
//! A counting global allocator wraps the system one. Counts are kept per thread, so the test
//! harness running other tests on other threads cannot disturb a measurement; a thread counts
//! only between `start` and `stop`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sosroute::{Next, Outcome, RejectCause};

#[path = "../benches/common/mod.rs"]
mod common;

struct Counting;

thread_local! {
    // `const` initialisers with no destructor: reading them never allocates, so the allocator
    // cannot recurse into itself.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static EVENTS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = EVENTS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only thread-locals
// that need no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap events (allocations, reallocations and frees) on this thread while `f` runs.
fn heap_events<R>(f: impl FnOnce() -> R) -> (u64, R) {
    EVENTS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (EVENTS.with(Cell::get), r)
}

const ROUNDS: u64 = 1_000;

#[test]
fn the_counter_sees_allocations() {
    // A counter that never counts would prove nothing.
    let (events, v) = heap_events(|| vec![1u8; 100]);
    drop(v);
    assert!(events >= 1, "the counting allocator saw {events} events");
}

fn plans_without_allocating(routes: usize) {
    let router = common::router(routes);
    let request = common::request(1, common::NOW);
    // Warm-up: arc-swap registers this thread's debt slots on its first load.
    let plan = router.plan(&request);
    assert_eq!(plan.attempts.len() + plan.left_out.len(), routes);
    let (events, attempts) = heap_events(|| {
        let mut attempts = 0;
        for i in 0..ROUNDS {
            let plan = router.plan(&request.with_psap(sosroute::PsapId(i as u32 % 3)));
            attempts += plan.attempts.len();
        }
        attempts
    });
    assert!(attempts > 0);
    assert_eq!(
        events, 0,
        "{ROUNDS} plans with {routes} routes made {events} heap events"
    );
}

#[test]
fn plan_with_8_routes_does_not_allocate() {
    plans_without_allocating(8);
}

#[test]
fn plan_with_16_routes_does_not_allocate() {
    plans_without_allocating(16);
}

/// One call that fails on every route it is offered until the last one connects.
fn full_fallback(router: &sosroute::Router, call_id: u64, routes: usize) -> u32 {
    let start = common::NOW;
    let mut call = router.begin(common::request(call_id, start));
    let mut now = start;
    loop {
        match call.next_attempt(now).expect("no attempt is in flight") {
            Next::Attempt(a) => {
                now += 1_000;
                let outcome = if call.attempts() as usize == routes {
                    Outcome::Connected
                } else if call.attempts() % 2 == 0 {
                    Outcome::TimedOut
                } else {
                    Outcome::Rejected {
                        cause: RejectCause::Congestion,
                        code: 503,
                    }
                };
                assert!(a.timeout_ms > 0);
                call.report(outcome, now).expect("an attempt is in flight");
            }
            Next::Done(_) => return call.attempts(),
        }
    }
}

#[test]
fn call_session_does_not_allocate() {
    let router = common::router(8);
    // Warm-up: the first report publishes into a fresh buffer; later ones recycle it.
    assert_eq!(full_fallback(&router, 0, 8), 8);
    let (events, attempts) = heap_events(|| {
        let mut attempts = 0;
        for call in 1..=ROUNDS {
            attempts += full_fallback(&router, call, 8);
        }
        attempts
    });
    assert_eq!(attempts as u64, 8 * ROUNDS);
    assert_eq!(
        events, 0,
        "{ROUNDS} calls of 8 attempts each made {events} heap events"
    );
}

#[test]
fn single_observation_update_does_not_allocate() {
    let router = common::router(8);
    // Warm-up: the first update after `router()` may need a buffer; from then on two buffers
    // alternate.
    router.observe(common::one_observation(0)).unwrap();
    router.update(&[common::one_observation(1)]).unwrap();
    let (events, epoch) = heap_events(|| {
        let mut epoch = 0;
        for tick in 2..2 + ROUNDS {
            let observed = router.observe(common::one_observation(tick)).unwrap();
            epoch = router.update(&[common::one_observation(tick)]).unwrap();
            assert_eq!(epoch, observed + 1);
        }
        epoch
    });
    assert!(epoch > 2 * ROUNDS);
    assert_eq!(
        events,
        0,
        "{} single-observation updates made {events} heap events",
        2 * ROUNDS
    );
}

#[test]
fn outcome_report_does_not_allocate() {
    let router = common::router(8);
    let route = router.policy().routes()[3].id;
    router
        .record_outcome(route, Outcome::TimedOut, common::NOW)
        .unwrap();
    let (events, _) = heap_events(|| {
        for i in 0..ROUNDS {
            let outcome = if i % 3 == 0 {
                Outcome::Connected
            } else {
                Outcome::TimedOut
            };
            router
                .record_outcome(route, outcome, common::NOW + i)
                .unwrap();
        }
    });
    assert_eq!(
        events, 0,
        "{ROUNDS} outcome reports made {events} heap events"
    );
}

#[test]
fn policy_and_snapshot_reads_do_not_allocate() {
    let router = common::router(8);
    let _ = router.policy();
    let (events, version) = heap_events(|| {
        let mut v = 0;
        for _ in 0..ROUNDS {
            v += router.policy().version();
            v += router.snapshot().epoch;
        }
        v
    });
    assert!(version > 0);
    assert_eq!(events, 0, "policy()/snapshot() made {events} heap events");
}

#[test]
fn updates_beside_a_planning_reader_recycle_buffers() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    // A reader planning without pause holds one published buffer at a time, sometimes one the
    // writer has swapped out since; the writer must still find a buffer to recycle. (With a
    // single spare buffer about one update in twenty allocated here.)
    let router = common::router(8);
    let stop = Arc::new(AtomicBool::new(false));
    let plans = Arc::new(AtomicU64::new(0));
    let reader = {
        let (router, stop, plans) = (router.clone(), stop.clone(), plans.clone());
        std::thread::spawn(move || {
            let request = common::request(1, common::NOW);
            while !stop.load(Ordering::Relaxed) {
                assert!(!router.plan(&request).attempts.is_empty());
                plans.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while plans.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let mut batch = common::observations(8, common::OBSERVED_AT);
    router.update(&batch).unwrap();
    router.update(&batch).unwrap();
    const UPDATES: u64 = 100_000;
    let (events, _) = heap_events(|| {
        for tick in 0..UPDATES {
            batch[common::CORES] = common::one_observation(tick);
            router.update(&batch).unwrap();
        }
    });
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("the reader does not panic");
    assert!(
        events <= UPDATES / 1_000,
        "{UPDATES} updates beside a planning reader made {events} heap events"
    );
}

// With a sink that keeps nothing: the audit ring is never drained while measuring, so its
// pushes fill it and then take the drop path; neither may touch the heap.

#[test]
fn plan_with_an_audit_sink_does_not_allocate() {
    // Room for the first ROUNDS records, none for the second ROUNDS: both paths measured.
    let router = common::audited_router(8, ROUNDS as usize);
    router.drain_audit();
    let request = common::request(1, common::NOW);
    let (events, _) = heap_events(|| {
        for i in 0..2 * ROUNDS {
            let plan = router.plan(&request.with_psap(sosroute::PsapId(i as u32 % 3)));
            assert!(!plan.attempts.is_empty());
        }
    });
    assert_eq!(router.audit_dropped(), ROUNDS);
    assert_eq!(
        events,
        0,
        "{} audited plans made {events} heap events",
        2 * ROUNDS
    );
}

#[test]
fn audited_call_session_and_updates_do_not_allocate() {
    let router = common::audited_router(8, 2 * ROUNDS as usize);
    router.drain_audit();
    assert_eq!(full_fallback(&router, 0, 8), 8);
    router.observe(common::one_observation(0)).unwrap();
    router.update(&[common::one_observation(1)]).unwrap();
    let (events, _) = heap_events(|| {
        for call in 1..=ROUNDS / 10 {
            full_fallback(&router, call, 8);
        }
        for tick in 2..2 + ROUNDS {
            router.observe(common::one_observation(tick)).unwrap();
        }
    });
    assert!(
        router.audit_dropped() > 0,
        "the ring filled up: drops measured too"
    );
    assert_eq!(
        events, 0,
        "audited calls and updates made {events} heap events"
    );
}
