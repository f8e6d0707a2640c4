//! What an audit sink costs `Router::plan`, as ratios that hold on a shared, noisy machine: the
//! series (no sink; a sink drained often; a sink drained in bursts; a stalled sink) are
//! interleaved batch by batch, so a change in load hits all of them alike, and each batch of
//! plans is timed whole (drains between batches are not timed). Prints each series' median
//! nanoseconds per plan and its ratio to the plan without a sink.
//!
//! Run: `cargo bench --bench audit_ratio`.

use std::hint::black_box;
use std::time::Instant;

use sosroute::Router;

mod common;

const ROUTES: usize = 8;
/// Plans per timed batch: half the small ring.
const BATCH: usize = 32;
/// Batches per series.
const BATCHES: usize = 20_000;

fn attached(capacity: usize) -> Router {
    common::audited_router(ROUTES, capacity)
}

fn main() {
    // `cargo bench` passes `--bench`; `--list` and filters are not supported.
    let request = common::request(1, common::NOW);
    let series: [(&str, Router, usize); 4] = [
        ("plan, no sink", common::router(ROUTES), 0),
        ("plan, sink, ring of 64 drained every 32", attached(64), 1),
        (
            "plan, sink, ring of 1024 drained every 512",
            attached(1024),
            16,
        ),
        (
            "plan, stalled sink (ring of 64 full)",
            attached(64),
            usize::MAX,
        ),
    ];
    // The stalled ring fills once and is never drained.
    for _ in 0..64 {
        series[3].1.plan(&request);
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(BATCHES); series.len()];
    for round in 0..BATCHES {
        for (i, (_, router, drain_every)) in series.iter().enumerate() {
            if *drain_every != 0 && *drain_every != usize::MAX && round % drain_every == 0 {
                router.drain_audit();
            }
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(router.plan(black_box(&request)));
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    assert!(series[3].1.audit_dropped() > 0, "the stalled ring dropped");
    let medians: Vec<f64> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect();
    println!("| series | median ns per plan | / no sink |");
    println!("|---|---:|---:|");
    for ((name, _, _), m) in series.iter().zip(&medians) {
        println!("| {name} | {m:.0} | {:.2} |", m / medians[0]);
    }
}
