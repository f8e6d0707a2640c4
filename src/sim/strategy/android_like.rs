//! `android_like`: a model of Android's emergency domain selection (Android 14+) with its default
//! carrier-config timers, written to be checked line by line against `scenarios/FORMAT.md`,
//! "What each strategy may see". The quoted sentences below are that text.
//!
//! > `android_like` sees what Android's telephony stack sees — radio state, IMS registration (the
//! > home core's observed state), Wi-Fi connected — and follows a model of Android's emergency
//! > domain selection with its default carrier-config timers: IMS on the home network when in
//! > service; on failure, circuit-switched if present, else a scan for another network (full
//! > service, then limited); Wi-Fi only when IMS is already registered over Wi-Fi, or after the
//! > 10 s scan timer, at most 1 Wi-Fi try; the other SIM after a 120 s timer or a permanent
//! > failure; no call setup timer of its own on the current network (an attempt that hangs ends at
//! > the network's own give-up, 32 s, SIP timer B); no automatic text or satellite; nothing learnt
//! > between attempts beyond what the radio reports.
//!
//! Where the text leaves a choice, the model takes the reading kinder to Android:
//! - a scan that fails before its 10 s timer goes to Wi-Fi at once rather than waiting the timer
//!   out;
//! - "permanent failure" is a refusal by the network (a reject with a cause, Android's
//!   `EMERGENCY_PERM_FAILURE`); a hang or no signal is a temporary failure, after which Android
//!   redials on the same SIM — the ladder is walked again until the caller hangs up;
//! - a text-first caller places a (silent) voice call: Android has no automatic text, and the
//!   scenario format has no manual-text behaviour to model.

use std::ops::ControlFlow;

use super::{CallResult, Dialer, Tried, REDIAL_PAUSE_MS, SIP_TIMER_B_MS};
use crate::observation::{RadioState, ServiceState};
use crate::route::RouteKind;
use crate::sim::scenario::{Observed, PopulationFlag};
use crate::sim::world::{AttemptResult, Caller, World};

/// "after the 10 s scan timer": carrier config `emergency_scan_timer_sec_int`, default 10.
pub const SCAN_TIMER_MS: u64 = 10_000;

/// "the other SIM after a 120 s timer": the cross-stack redial timer, default 120 s.
pub const CROSS_STACK_TIMER_MS: u64 = 120_000;

/// "sees what Android's telephony stack sees — radio state, IMS registration (the home core's
/// observed state), Wi-Fi connected": the last report of each monitor. Android keeps the last
/// reported state; it does not age it.
#[derive(Debug, Clone, Copy)]
struct View {
    home_in_service: bool,
    ims_registered: bool,
    wifi_connected: bool,
}

fn view(world: &World, caller: &Caller, now_ms: u64) -> View {
    let last = |name: &str| {
        world
            .scenario
            .component_index(name)
            .and_then(|c| world.last_report(caller, c, now_ms))
            .map(|r| r.value)
    };
    View {
        home_in_service: last("home_ran") == Some(Observed::Radio(RadioState::InService)),
        ims_registered: last("home_core") == Some(Observed::Service(ServiceState::Up)),
        wifi_connected: last("wifi") == Some(Observed::Service(ServiceState::Up)),
    }
}

struct Android<'w> {
    world: &'w World,
    caller: &'w Caller,
    d: Dialer<'w>,
    wifi_tried: bool,
    other_sim_tried: bool,
}

/// The call stops: connected or abandoned.
type Flow = ControlFlow<()>;

impl Android<'_> {
    fn view(&self) -> View {
        view(self.world, self.caller, self.d.now_ms)
    }

    /// Wi-Fi calling is possible at all: switched on for this caller, and Wi-Fi connected.
    fn wifi_available(&self, v: View) -> bool {
        self.caller.has(PopulationFlag::WifiCalling) && v.wifi_connected
    }

    /// One attempt, with the other-SIM rules around it.
    fn attempt(&mut self, kind: RouteKind, timer_ms: u64) -> Flow {
        // "the other SIM after a 120 s timer"
        if self.d.elapsed_ms() >= CROSS_STACK_TIMER_MS {
            self.other_sim()?;
        }
        // "no call setup timer of its own on the current network (an attempt that hangs ends at
        // the network's own give-up, 32 s, SIP timer B)": callers pass SIP_TIMER_B_MS, except
        // the scan, which has its scan timer.
        match self.d.attempt(kind, timer_ms) {
            Tried::Connected | Tried::Abandoned => ControlFlow::Break(()),
            // "the other SIM after ... a permanent failure"
            Tried::Failed(AttemptResult::Rejected { .. }) => self.other_sim(),
            Tried::Failed(_) => ControlFlow::Continue(()),
        }
    }

    /// "the other SIM": once per call, for callers who have one.
    fn other_sim(&mut self) -> Flow {
        if self.other_sim_tried || !self.caller.has(PopulationFlag::DualSim) {
            return ControlFlow::Continue(());
        }
        self.other_sim_tried = true;
        match self.d.attempt(RouteKind::CrossSim, SIP_TIMER_B_MS) {
            Tried::Connected | Tried::Abandoned => ControlFlow::Break(()),
            Tried::Failed(_) => ControlFlow::Continue(()),
        }
    }

    /// "at most 1 Wi-Fi try"
    fn wifi(&mut self) -> Flow {
        self.wifi_tried = true;
        self.attempt(RouteKind::WifiCalling, SIP_TIMER_B_MS)
    }

    /// One walk down the ladder.
    fn ladder(&mut self) -> Flow {
        // "Wi-Fi only when IMS is already registered over Wi-Fi": with the default "cellular
        // preferred" setting, IMS registers over Wi-Fi when it is registered, Wi-Fi is connected
        // and the home network is not in service.
        let v = self.view();
        if !self.wifi_tried && self.wifi_available(v) && v.ims_registered && !v.home_in_service {
            self.wifi()?;
        }
        // "IMS on the home network when in service"
        if self.view().home_in_service {
            self.attempt(RouteKind::HomeCellular, SIP_TIMER_B_MS)?;
        }
        // "on failure, circuit-switched if present": the scenario format has no circuit-switched
        // route (US carriers shut their 3G CS networks down in 2022), so it is never present.
        // "else a scan for another network (full service, then limited)": the `other_network`
        // route. "Wi-Fi ... after the 10 s scan timer": the timer cuts the scan only when Wi-Fi
        // is there to go to; otherwise the scan runs to the network's give-up.
        let wifi_waiting = !self.wifi_tried && self.wifi_available(self.view());
        let scan_timer = if wifi_waiting {
            SCAN_TIMER_MS
        } else {
            SIP_TIMER_B_MS
        };
        self.attempt(RouteKind::OtherNetwork, scan_timer)?;
        // "or after the 10 s scan timer, at most 1 Wi-Fi try"
        if !self.wifi_tried && self.wifi_available(self.view()) {
            self.wifi()?;
        }
        // "no automatic text or satellite": nothing more on this walk.
        ControlFlow::Continue(())
    }
}

/// The Android-like call: walk the ladder, redial on temporary failure, until connected or the
/// caller hangs up. "nothing learnt between attempts beyond what the radio reports": each walk
/// reads only the monitors' latest reports.
pub fn call(world: &World, caller: &Caller) -> CallResult {
    let mut a = Android {
        world,
        caller,
        d: Dialer::new(world, caller),
        wifi_tried: false,
        other_sim_tried: false,
    };
    loop {
        let walk_started = a.d.now_ms;
        if a.ladder().is_break() || a.d.abandoned() {
            return a.d.finish(false);
        }
        if a.d.now_ms == walk_started {
            // Every step failed at once: the dialler redials after a pause instead of spinning.
            a.d.pause(REDIAL_PAUSE_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::strategy::CallOutcome;
    use crate::sim::world::tests::world;

    #[test]
    fn a_hanging_core_costs_timer_b_then_the_scan() {
        let w = world();
        // The core hangs; the home radio is in service, so IMS is tried (whatever the IMS
        // registration says) and hangs to timer B. The scan then runs under its 10 s timer (Wi-Fi
        // calling is on and Wi-Fi connected) and connects in 9 s, before Wi-Fi's turn.
        let c = w
            .callers
            .iter()
            .find(|c| c.start_ms >= 100_000 && (0.0..0.25).contains(&c.u[1]) && c.u[0] >= 0.5)
            .expect("a caller whose core alone fails");
        let r = call(&w, c);
        assert_eq!(r.attempts, 2);
        assert_eq!(
            r.outcome,
            CallOutcome::Connected {
                after_ms: SIP_TIMER_B_MS + 9_000,
                kind: RouteKind::OtherNetwork
            }
        );
    }

    #[test]
    fn a_healthy_home_network_is_used_directly() {
        let w = world();
        let r = call(&w, &w.callers[0]);
        assert_eq!(
            r.outcome,
            CallOutcome::Connected {
                after_ms: 3_000,
                kind: RouteKind::HomeCellular
            }
        );
    }
}
