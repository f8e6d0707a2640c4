//! Percentiles of single decisions, which criterion (means and medians of batches) does not
//! give: every decision is timed on its own with `Instant`, and the samples are sorted. The
//! timer's own cost is measured the same way and printed, not subtracted, so the numbers are an
//! upper bound.
//!
//! Run: `cargo bench --bench latency`.

use std::hint::black_box;
use std::time::Instant;

use sosroute::{Next, Outcome, RejectCause};

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
            let outcome = if call.attempts() as usize == ROUTES {
                Outcome::Connected
            } else {
                Outcome::Rejected {
                    cause: RejectCause::Congestion,
                    code: 503,
                }
            };
            call.report(outcome, now).expect("an attempt is in flight");
        }
    }
    samples
}

fn main() {
    let router = common::router(ROUTES);
    let request = common::request(1, common::NOW);
    // Warm up caches, the branch predictor and arc-swap's per-thread slots.
    time_each(SAMPLES / 10, || router.plan(&request));

    let mut rows = vec![row(
        "timer alone (Instant::now + elapsed)",
        time_each(SAMPLES, || ()),
    )];
    let idle = row(
        "plan, 8 routes, idle",
        time_each(SAMPLES, || router.plan(&request)),
    );
    let idle_p50 = idle.p50;
    rows.push(idle);
    rows.push(row(
        "next_attempt, 8 routes (full fallback walk)",
        next_attempts(&router, SAMPLES / ROUTES),
    ));
    rows.push(row(
        "plan, 16 routes, idle",
        time_each(SAMPLES, {
            let router = common::router(16);
            move || router.plan(&request)
        }),
    ));
    let mut tick = 0;
    rows.push(row(
        "observe, one observation",
        time_each(SAMPLES / 5, || {
            tick += 1;
            router.observe(common::one_observation(tick))
        }),
    ));

    let storm = common::WriterStorm::start(&router, ROUTES);
    let started = Instant::now();
    let stormy = row(
        "plan, 8 routes, writer storm",
        time_each(SAMPLES, || router.plan(&request)),
    );
    let elapsed = started.elapsed();
    let batches = storm.stop();
    let storm_p50 = stormy.p50;
    rows.push(stormy);

    let naive = naive::NaiveRouter::new(&common::policy(ROUTES));
    for o in common::observations(ROUTES, common::OBSERVED_AT) {
        naive.observe(&o);
    }
    let naive_row = row(
        "naive baseline plan, 8 routes",
        time_each(SAMPLES / 5, || {
            naive.plan(sosroute::Capabilities::ALL, &[], common::NOW)
        }),
    );
    let naive_p50 = naive_row.p50;
    rows.push(naive_row);

    println!("| decision | p50 ns | p99 ns | p99.9 ns | max ns | samples |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name, r.p50, r.p99, r.p999, r.max, r.n
        );
    }
    println!();
    println!(
        "writer storm: {batches} batches of {} observations in {:.2} s; plan p50 storm / idle = {:.2}",
        common::observations(ROUTES, 0).len(),
        elapsed.as_secs_f64(),
        storm_p50 as f64 / idle_p50 as f64
    );
    println!(
        "naive / sosroute plan p50 = {:.1}",
        naive_p50 as f64 / idle_p50 as f64
    );
}
