//! Criterion benches of the hot path, with the naive baseline measured in the same run so the
//! results read as ratios even on a noisy machine. `benches/latency.rs` gives the percentiles
//! criterion does not.
//!
//! Run: `cargo bench --bench decide`; summarise: `python3 benches/table.py`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sosroute::ffi::sos_call_request;
use sosroute::JurisdictionSpec;
use sosroute::{CallRequest, Capabilities, Next, Plan, Policy, PsapId, Router};

mod common;
mod naive;

/// Route counts of the scaling bench; 16 is `MAX_ROUTES`.
const ROUTE_COUNTS: [usize; 4] = [2, 4, 8, 16];
/// Route count of every other bench (the target).
const ROUTES: usize = 8;

/// Keeps a plan observable to the optimiser and drops it, as a caller would, inside the timed
/// routine. Routines return this `()` rather than the plan: criterion 0.5's stable black box
/// passes a routine's return value through `read_volatile`, which for a ~1 KB `Plan` is a
/// word-by-word copy costing about 80 ns, more than half of the decision being measured.
fn keep<T>(plan: T) {
    black_box(&plan);
}

fn config() -> Criterion {
    // About 3 s per bench: the whole suite runs in about a minute and a half.
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
}

/// Plan latency against the number of routes; and with 8 routes at a time past the state's
/// latest update by more than a TTL, where the writer's rankings no longer hold and the decision
/// ranks the routes itself (as it does for a PSAP-specific list, or in a call whose earlier
/// failures made components suspect).
fn plan_vs_routes(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    for routes in ROUTE_COUNTS {
        let router = common::router(routes);
        let request = common::request(1, common::NOW);
        group.bench_with_input(BenchmarkId::new("routes", routes), &routes, |b, _| {
            b.iter(|| keep(router.plan(black_box(&request))))
        });
    }
    let router = common::router(ROUTES);
    let request = common::request(1, common::STALE);
    group.bench_function("ranked_afresh/8", |b| {
        b.iter(|| keep(router.plan(black_box(&request))))
    });
    // The shipped policy with a national PSAP table: each plan looks its caller's PSAP up (a
    // binary search; it was a scan). Every other PSAP has its own voice order, so the lookup's
    // answer is used.
    for jurisdictions in [0u32, JURISDICTIONS] {
        let router = Router::new(with_jurisdictions(jurisdictions));
        let request = common::request(1, common::NOW).with_psap(PsapId(JURISDICTIONS / 2 + 1));
        group.bench_with_input(
            BenchmarkId::new("jurisdictions", jurisdictions),
            &jurisdictions,
            |b, _| b.iter(|| keep(router.plan(black_box(&request)))),
        );
    }
    group.finish();
}

/// PSAPs in the national-table bench: about seven times the US's 6,000.
const JURISDICTIONS: u32 = 40_000;

/// The shipped policy with PSAPs 1..=`n`, the odd ones with their own voice order.
fn with_jurisdictions(n: u32) -> Policy {
    let mut spec = Policy::us_default().spec().clone();
    let mut own = spec.preference.clone();
    own.voice.reverse();
    spec.jurisdiction = (1..=n)
        .map(|psap| JurisdictionSpec {
            psap,
            preference: (psap % 2 == 1).then(|| own.clone()),
            guidance: None,
        })
        .collect();
    Policy::from_spec(spec).expect("the bench policy is valid")
}

/// One call that fails on every route it is offered until the last one connects; returns the
/// attempts made.
fn full_fallback(router: &Router, call_id: u64) -> u32 {
    let mut call = router.begin(common::request(call_id, common::NOW));
    let mut now = common::NOW;
    loop {
        match call.next_attempt(now).expect("no attempt is in flight") {
            Next::Attempt(_) => {
                now += 1_000;
                let outcome = common::fallback_outcome(call.attempts(), ROUTES);
                call.report(outcome, now).expect("an attempt is in flight");
            }
            Next::Done(_) => return call.attempts(),
        }
    }
}

/// Call sessions: the first decision of a call, and a whole call through a full fallback
/// (8 decisions and 8 reports, each report publishing the route's breaker update).
fn session(c: &mut Criterion) {
    let mut group = c.benchmark_group("session");
    let router = common::router(ROUTES);
    group.bench_function("next_attempt/8", |b| {
        b.iter(|| {
            let mut call = router.begin(black_box(common::request(1, common::NOW)));
            call.next_attempt(black_box(common::NOW))
        })
    });
    assert_eq!(full_fallback(&router, 0), ROUTES as u32);
    group.bench_function("full_fallback/8", |b| {
        b.iter(|| full_fallback(&router, black_box(2)))
    });
    group.finish();
}

/// State updates: one observation, and a batch of one observation per component.
fn update(c: &mut Criterion) {
    let mut group = c.benchmark_group("update");
    let router = common::router(ROUTES);
    let mut tick = 0u64;
    group.bench_function("single_observation", |b| {
        b.iter(|| {
            tick += 1;
            router.observe(black_box(common::one_observation(tick)))
        })
    });
    let batch = common::observations(ROUTES, common::OBSERVED_AT);
    group.bench_function("batch_of_12", |b| {
        b.iter(|| router.update(black_box(&batch)))
    });
    group.finish();
}

/// The same decision through each path a host can take, side by side (STYLE.md): one bench
/// function per path, named `path/<path>/plan_8`, all on this router state and request.
fn path(c: &mut Criterion) {
    let mut group = c.benchmark_group("path");
    let router = common::router(ROUTES);
    let request = common::request(1, common::NOW);
    // One decision as a host uses it: plan, read the first attempt, let the plan go.
    group.bench_function("rust/plan_8", |b| {
        b.iter(|| {
            let plan = router.plan(black_box(&request));
            keep(plan.attempts[0].route);
        })
    });

    // The same decision through the extern "C" functions a C host calls (called from Rust here:
    // the same machine code a C caller reaches), on a router built through the C ABI too.
    let c_router = c_path::Router::new(ROUTES);
    let dialled = "911";
    let c_request = sos_call_request {
        struct_size: std::mem::size_of::<sos_call_request>() as u32,
        media: sosroute::Media::Voice as u32,
        call_id: 1,
        dialled: dialled.as_ptr().cast(),
        dialled_len: dialled.len(),
        capabilities: Capabilities::ALL.0,
        psap: 0,
        now_ms: common::NOW,
    };
    assert_eq!(
        c_router.first_route(&c_request),
        router.plan(&request).attempts[0].route.0 as u32
    );
    group.bench_function("c/plan_8", |b| {
        b.iter(|| keep(c_router.first_route(black_box(&c_request))))
    });
    group.finish();
}

/// A `sos_router` made and fed through the C ABI, and one decision through it.
mod c_path {
    use std::ptr::null_mut;

    use sosroute::ffi::*;

    pub struct Router(*mut sos_router);

    impl Router {
        /// The bench fixture's policy and observations, through `sos_router_new_from_policy`
        /// and `sos_router_apply_update` (wire format).
        pub fn new(routes: usize) -> Router {
            let text = super::common::policy_toml(routes);
            let updates: Vec<sosroute::Update> =
                super::common::observations(routes, super::common::OBSERVED_AT)
                    .into_iter()
                    .map(sosroute::Update::Observe)
                    .collect();
            let batch = sosroute::wire::encode(&updates).expect("the fixture encodes");
            let mut router = null_mut();
            // SAFETY: valid buffers and out-pointers.
            unsafe {
                let format = sos_policy_format::Toml as u32;
                assert_eq!(
                    sos_router_new_from_policy(
                        text.as_ptr().cast(),
                        text.len(),
                        format,
                        &mut router
                    ),
                    sos_status::SOS_OK
                );
                let mut epoch = 0;
                assert_eq!(
                    sos_router_apply_update(router, batch.as_ptr(), batch.len(), &mut epoch),
                    sos_status::SOS_OK
                );
            }
            Router(router)
        }

        /// `sos_router_plan`, `sos_plan_attempt(0)`, `sos_plan_free`: the first route's id.
        pub fn first_route(&self, request: &sos_call_request) -> u32 {
            // SAFETY: a live router, a valid request and out-pointers; the plan is freed once.
            unsafe {
                let mut plan = null_mut();
                assert_eq!(
                    sos_router_plan(self.0, request, &mut plan),
                    sos_status::SOS_OK
                );
                let mut attempt: sos_attempt = std::mem::zeroed();
                attempt.struct_size = std::mem::size_of::<sos_attempt>() as u32;
                assert_eq!(sos_plan_attempt(plan, 0, &mut attempt), sos_status::SOS_OK);
                sos_plan_free(plan);
                attempt.route
            }
        }
    }

    impl Drop for Router {
        fn drop(&mut self) {
            // SAFETY: made by sos_router_new_from_policy, freed once.
            unsafe { sos_router_free(self.0) }
        }
    }
}

/// Decoding a wire-format batch of 12 observations (WIRE.md), and decoding plus applying it.
fn wire(c: &mut Criterion) {
    let mut group = c.benchmark_group("wire");
    let updates: Vec<sosroute::Update> = common::observations(ROUTES, common::OBSERVED_AT)
        .into_iter()
        .map(sosroute::Update::Observe)
        .collect();
    let batch = sosroute::wire::encode(&updates).expect("the fixture encodes");
    group.bench_function(format!("decode_{}", updates.len()), |b| {
        b.iter(|| keep(sosroute::wire::decode(black_box(&batch)).expect("valid batch")))
    });
    let router = common::router(ROUTES);
    group.bench_function(format!("decode_apply_{}", updates.len()), |b| {
        b.iter(|| keep(sosroute::wire::apply(&router, black_box(&batch)).expect("valid batch")))
    });
    group.finish();
}

/// Plan latency with the state idle, then while a writer storms it. Readers never wait for the
/// writer; what remains is cache traffic on the freshly published snapshots.
fn writer_storm(c: &mut Criterion) {
    let mut group = c.benchmark_group("writer_storm");
    let router = common::router(ROUTES);
    let request = common::request(1, common::NOW);
    group.bench_function("plan_8/idle", |b| {
        b.iter(|| keep(router.plan(black_box(&request))))
    });
    let storm = common::WriterStorm::start(&router, ROUTES);
    let epoch_before = router.snapshot().epoch;
    let started = std::time::Instant::now();
    group.bench_function("plan_8/storm", |b| {
        b.iter(|| {
            let request = CallRequest {
                now_ms: storm.now_ms(),
                ..request
            };
            keep(router.plan(black_box(&request)))
        })
    });
    let elapsed = started.elapsed();
    let batches = storm.stop();
    let published = router.snapshot().epoch - epoch_before;
    println!(
        "writer storm: {batches} batches of 12 observations applied in {:.1} s \
         ({:.0} batches/s, {published} publications seen)",
        elapsed.as_secs_f64(),
        batches as f64 / elapsed.as_secs_f64()
    );
    group.finish();
}

/// The naive baseline, on the same policy and the same observations.
fn baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("naive");
    let policy = common::policy(ROUTES);
    let naive = std::sync::Arc::new(naive::NaiveRouter::new(&policy));
    for o in common::observations(ROUTES, common::OBSERVED_AT) {
        naive.observe(&o);
    }
    // The baseline must make the same decision, or the ratio means nothing.
    let router = common::router(ROUTES);
    let plan: Plan = router.plan(&common::request(1, common::NOW));
    let ours: Vec<&str> = plan
        .attempts
        .iter()
        .map(|a| plan.route_name(a.route))
        .collect();
    let theirs = naive.plan(Capabilities::ALL, &[], common::NOW);
    let theirs: Vec<&str> = theirs.attempts.iter().map(|a| a.route.as_str()).collect();
    assert_eq!(ours, theirs, "the baseline orders routes as sosroute does");

    group.bench_function("plan_8", |b| {
        b.iter(|| keep(naive.plan(black_box(Capabilities::ALL), &[], black_box(common::NOW))))
    });
    // The same storm as `writer_storm`: the naive router's readers queue behind its lock.
    let storm = common::WriterStorm::with(ROUTES, {
        let naive = naive.clone();
        move |batch| batch.iter().for_each(|o| naive.observe(o))
    });
    group.bench_function("plan_8/storm", |b| {
        b.iter(|| keep(naive.plan(black_box(Capabilities::ALL), &[], storm.now_ms())))
    });
    storm.stop();
    let mut tick = 0u64;
    group.bench_function("single_observation", |b| {
        b.iter(|| {
            tick += 1;
            naive.observe(black_box(&common::one_observation(tick)))
        })
    });
    group.bench_function("full_fallback/8", |b| {
        b.iter(|| {
            // A call walking the naive plan, re-planning after every failure, like the session.
            let mut failed: Vec<String> = Vec::new();
            let mut now = common::NOW;
            loop {
                let plan = naive.plan(Capabilities::ALL, &failed, black_box(now));
                let Some(next) = plan.attempts.into_iter().next() else {
                    break;
                };
                now += 1_000;
                if failed.len() + 1 == ROUTES {
                    naive.record(&next.route, true, now);
                    break;
                }
                naive.record(&next.route, false, now);
                failed.push(next.route);
            }
            failed.len()
        })
    });
    group.finish();
}

/// Records per timed stretch of the audit benches: half the ring, so a drain between stretches
/// (not timed) keeps every push on the success path.
const AUDIT_STRETCH: u64 = 512;
/// The same with a small ring (a handset's: 64 records, drained twice as often as it fills), and
/// with the large ring drained as often (a logging thread that keeps up).
const SMALL_STRETCH: u64 = 32;

/// Times `iters` plans on `router` in stretches of `stretch`, draining its audit ring (untimed)
/// before each.
fn audited_plans(router: &Router, request: &CallRequest, iters: u64, stretch: u64) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(stretch);
        router.drain_audit();
        let start = Instant::now();
        for _ in 0..n {
            keep(router.plan(black_box(request)));
        }
        timed += start.elapsed();
        left -= n;
    }
    timed
}

/// `plan` with no audit sink, with one attached (drained between timed stretches: every record
/// is queued), and with a stalled one (never drained: every record is dropped and counted), in
/// one run so their ratio means something; then what a drain costs per plan record, serialised
/// to a JSON line for a sink that discards it.
fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    let request = common::request(1, common::NOW);
    let plain = common::router(ROUTES);
    group.bench_function("plan_8/no_sink", |b| {
        b.iter(|| keep(plain.plan(black_box(&request))))
    });
    let audited = common::audited_router(ROUTES, 2 * AUDIT_STRETCH as usize);
    group.bench_function("plan_8/sink", |b| {
        b.iter_custom(|iters| audited_plans(&audited, &request, iters, AUDIT_STRETCH))
    });
    group.bench_function("plan_8/sink_drained_often", |b| {
        b.iter_custom(|iters| audited_plans(&audited, &request, iters, SMALL_STRETCH))
    });
    let small = common::audited_router(ROUTES, 2 * SMALL_STRETCH as usize);
    group.bench_function("plan_8/sink_small_ring", |b| {
        b.iter_custom(|iters| audited_plans(&small, &request, iters, SMALL_STRETCH))
    });
    let stalled = common::audited_router(ROUTES, 64);
    for _ in 0..64 {
        stalled.plan(&request);
    }
    group.bench_function("plan_8/stalled_sink", |b| {
        b.iter(|| keep(stalled.plan(black_box(&request))))
    });
    assert!(stalled.audit_dropped() > 0, "the stalled ring dropped");
    audited.drain_audit();
    group.bench_function("drain_per_plan_record", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(AUDIT_STRETCH);
                for _ in 0..n {
                    audited.plan(&request);
                }
                let start = Instant::now();
                let written = audited.drain_audit();
                timed += start.elapsed();
                assert_eq!(written as u64, n, "one line per queued plan");
                left -= n;
            }
            timed
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = plan_vs_routes, session, update, path, wire, writer_storm, audit, baseline
}
criterion_main!(benches);
