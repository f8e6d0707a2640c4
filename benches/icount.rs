//! A loop of one hot-path operation, to be run under `valgrind --tool=callgrind`: instruction
//! counts are stable on a shared, noisy machine where timings are not. `benches/icount.sh`
//! runs it twice (n and 2n operations) and prints the instructions per operation.
//!
//! Usage: `icount <plan|plan_audited|next_attempt|observe> <n> [routes]`. Without arguments (as under
//! `cargo bench`) it does nothing.

use std::hint::black_box;

mod common;

fn main() {
    // `cargo bench` passes `--bench`; only explicit operations run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(what) = args.first() else { return };
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let routes: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let router = common::router(routes);
    let request = common::request(1, common::NOW);
    match what.as_str() {
        "plan" => {
            for _ in 0..n {
                black_box(router.plan(black_box(&request)));
            }
        }
        "plan_audited" => {
            // A ring that holds every record of the run: each plan's record is queued, none
            // dropped, and no drain runs (serialising is the drain's cost, not the decision's).
            // The same size for n and 2n, so that filling it in cancels out.
            router
                .attach_audit(Box::new(|_: &[u8]| {}), sosroute::audit::MAX_AUDIT_CAPACITY)
                .expect("in range");
            for _ in 0..n {
                black_box(router.plan(black_box(&request)));
            }
            assert_eq!(router.audit_dropped(), 0);
        }
        "next_attempt" => {
            for _ in 0..n {
                let mut call = router.begin(request);
                black_box(call.next_attempt(black_box(common::NOW)).unwrap());
            }
        }
        "observe" => {
            for tick in 0..n {
                black_box(router.observe(common::one_observation(tick)).unwrap());
            }
        }
        other => panic!("unknown operation {other:?}: plan, plan_audited, next_attempt or observe"),
    }
}
