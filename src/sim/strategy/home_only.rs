//! `home_only`: a phone that never falls back. It redials its home network until the caller's
//! patience runs out. A text-first caller's phone does the same (a silent voice call): the
//! strategy knows no other route.

use super::{CallResult, Dialer, Tried, REDIAL_PAUSE_MS, SIP_TIMER_B_MS};
use crate::route::RouteKind;
use crate::sim::world::{AttemptResult, Caller, World};

/// The home-only call: no setup timer of its own, so a hanging attempt ends at the network's
/// SIP timer B; an attempt that fails at once (no signal, or a refusal within a second) is
/// redialled after a short pause, otherwise at once.
pub fn call(world: &World, caller: &Caller) -> CallResult {
    let mut d = Dialer::new(world, caller);
    loop {
        match d.attempt(RouteKind::HomeCellular, SIP_TIMER_B_MS) {
            Tried::Connected | Tried::Abandoned => return d.finish(false),
            Tried::Failed(AttemptResult::NoSignal) => d.pause(REDIAL_PAUSE_MS),
            Tried::Failed(_) if d.last_attempt_ms() < 1_000 => d.pause(REDIAL_PAUSE_MS),
            Tried::Failed(_) => {}
        }
    }
}
