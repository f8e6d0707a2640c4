//! `oracle`: sees the truth and goes straight, at call start, to the fastest route that works for
//! this caller. The physical limit.

use super::{CallOutcome, CallResult};
use crate::sim::world::{Caller, World};

/// The oracle's call. Any route kind the caller can use counts (a text-first caller's silent
/// voice call reaches a call taker too); `requires` is honoured by [`World::verdict`].
pub fn call(world: &World, caller: &Caller) -> CallResult {
    let best = world
        .scenario
        .routes
        .iter()
        .enumerate()
        .filter(|&(i, _)| world.verdict(caller, Some(i), caller.start_ms).is_ok())
        .min_by_key(|&(i, r)| (r.setup_ms, i));
    match best {
        Some((_, r)) if r.setup_ms <= world.scenario.calls.patience_ms => CallResult {
            outcome: CallOutcome::Connected {
                after_ms: r.setup_ms,
                kind: r.kind,
            },
            attempts: 1,
        },
        // Connects too late for the caller's patience.
        Some(_) => CallResult {
            outcome: CallOutcome::Abandoned,
            attempts: 1,
        },
        None => CallResult {
            outcome: CallOutcome::GaveUp,
            attempts: 0,
        },
    }
}
