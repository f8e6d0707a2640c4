//! Percentiles of single decisions, which criterion (means and medians of batches) does not
//! give: every decision is timed on its own with `Instant`, and the samples are sorted. The
//! timer's own cost is measured the same way and printed, not subtracted, so the numbers are an
//! upper bound.
//!
//! Run: `cargo bench --bench latency`.

use std::hint::black_box;
use std::time::Instant;

use sosroute::{CallRequest, Next};

mod common;
mod naive;

const ROUTES: usize = 8;
const SAMPLES: usize = 500_000;

/// Nanoseconds of each of `n` calls of `f`.
fn time_each<R>(n: usize, mut f: impl FnMut() -> R) -> Vec<u64> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        black_box(f());
        samples.push(start.elapsed().as_nanos() as u64);
    }
    samples
}

struct Row {
    name: &'static str,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    n: usize,
}

fn row(name: &'static str, mut samples: Vec<u64>) -> Row {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Row {
        name,
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: *samples.last().expect("at least one sample"),
        n: samples.len(),
    }
}

/// Every `next_attempt` of calls that fail on every route until the last one connects; the
/// reports between them are not timed.
fn next_attempts(router: &sosroute::Router, calls: usize) -> Vec<u64> {
    let mut samples = Vec::with_capacity(calls * ROUTES);
    for call_id in 0..calls as u64 {
        let mut call = router.begin(common::request(call_id, common::NOW));
        let mut now = common::NOW;
        loop {
            let start = Instant::now();
            let next = black_box(call.next_attempt(now).expect("no attempt is in flight"));
            samples.push(start.elapsed().as_nanos() as u64);
            let Next::Attempt(_) = next else { break };
            now += 1_000;
            let outcome = common::fallback_outcome(call.attempts(), ROUTES);
            call.report(outcome, now).expect("an attempt is in flight");
        }
    }
    samples
}

/// Rounds the measurements are interleaved in, so that a change in the machine's load (it is
/// shared) hits every series alike and the ratios between them hold.
const ROUNDS: usize = 10;

fn main() {
    let n = SAMPLES / ROUNDS;
    let router = common::router(ROUTES);
    let router16 = common::router(16);
    // Sessions and updates change the state; they get routers of their own.
    let session_router = common::router(ROUTES);
    let update_router = common::router(ROUTES);
    let request = common::request(1, common::NOW);
    let stale_request = common::request(1, common::STALE);
    let naive_router = || {
        let naive = naive::NaiveRouter::new(&common::policy(ROUTES));
        for o in common::observations(ROUTES, common::OBSERVED_AT) {
            naive.observe(&o);
        }
        naive
    };
    let naive = naive_router();
    // Warm up caches, the branch predictor and arc-swap's per-thread slots.
    time_each(SAMPLES / 10, || router.plan(&request));

    let mut timer = Vec::new();
    let mut idle = Vec::new();
    let mut afresh = Vec::new();
    let mut next = Vec::new();
    let mut plan16 = Vec::new();
    let mut observe = Vec::new();
    let mut stormy = Vec::new();
    let mut naive_plan = Vec::new();
    let mut naive_stormy = Vec::new();
    let (mut storm_batches, mut storm_time) = (0, 0.0);
    let (mut alone_batches, mut alone_time) = (0, 0.0);
    let mut tick = 0;
    for _ in 0..ROUNDS {
        timer.extend(time_each(n, || ()));
        idle.extend(time_each(n, || router.plan(&request)));
        afresh.extend(time_each(n / 5, || router.plan(&stale_request)));
        next.extend(next_attempts(&session_router, n / ROUTES));
        plan16.extend(time_each(n, || router16.plan(&request)));
        observe.extend(time_each(n / 5, || {
            tick += 1;
            update_router.observe(common::one_observation(tick))
        }));
        naive_plan.extend(time_each(n / 5, || {
            naive.plan(sosroute::Capabilities::ALL, &[], common::NOW)
        }));

        // A router of its own: the storm moves the state's clock on, and the idle series of the
        // next round must plan on the state it was built with.
        let storm_router = common::router(ROUTES);
        let storm = common::WriterStorm::start(&storm_router, ROUTES);
        let started = Instant::now();
        stormy.extend(time_each(n, || {
            storm_router.plan(&CallRequest {
                now_ms: storm.now_ms(),
                ..request
            })
        }));
        storm_time += started.elapsed().as_secs_f64();
        storm_batches += storm.stop();

        // The naive router under the same storm: its readers queue behind the writer's lock.
        let stormed = std::sync::Arc::new(naive_router());
        let storm = common::WriterStorm::with(ROUTES, {
            let stormed = stormed.clone();
            move |batch| batch.iter().for_each(|o| stormed.observe(o))
        });
        naive_stormy.extend(time_each(n / 5, || {
            stormed.plan(sosroute::Capabilities::ALL, &[], storm.now_ms())
        }));
        storm.stop();

        // The writer alone, for its rate without a reader beside it.
        let storm = common::WriterStorm::start(&common::router(ROUTES), ROUTES);
        let started = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        alone_time += started.elapsed().as_secs_f64();
        alone_batches += storm.stop();
    }

    let rows = [
        row("timer alone (Instant::now + elapsed)", timer),
        row("plan, 8 routes, idle", idle),
        row(
            "plan, 8 routes, ranked afresh (state older than its TTLs)",
            afresh,
        ),
        row("next_attempt, 8 routes (full fallback walk)", next),
        row("plan, 16 routes, idle", plan16),
        row("observe, one observation", observe),
        row("plan, 8 routes, writer storm", stormy),
        row("naive baseline plan, 8 routes", naive_plan),
        row("naive baseline plan, 8 routes, writer storm", naive_stormy),
    ];
    println!("| decision | p50 ns | p99 ns | p99.9 ns | max ns | samples |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name, r.p50, r.p99, r.p999, r.max, r.n
        );
    }
    let p50 = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .expect("a row of that name")
            .p50 as f64
    };
    println!();
    println!(
        "plan p50: writer storm / idle = {:.2}; naive / sosroute = {:.1} idle, {:.1} under the storm",
        p50("plan, 8 routes, writer storm") / p50("plan, 8 routes, idle"),
        p50("naive baseline plan, 8 routes") / p50("plan, 8 routes, idle"),
        p50("naive baseline plan, 8 routes, writer storm") / p50("plan, 8 routes, writer storm"),
    );
    println!(
        "writer: {:.0} batches/s of {} observations beside a planning reader, {:.0} alone",
        storm_batches as f64 / storm_time,
        common::observations(ROUTES, 0).len(),
        alone_batches as f64 / alone_time,
    );
}
