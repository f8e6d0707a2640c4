//! The simulated world: the callers, the truth about each component for each caller over time,
//! what the caller's monitors report, and how one attempt on a route ends.
//!
//! Everything here is a pure function of the scenario and the seed; strategies only ask.

use crate::policy::ComponentKind;
use crate::route::RouteKind;

use super::rng::{uniform, Stream};
use super::scenario::{Arrival, FailsBy, Observed, PopulationFlag, Scenario};

/// One 911 caller, drawn once from the seed and shared by every strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Position in arrival order (also the call id).
    pub index: u32,
    /// When the call starts.
    pub start_ms: u64,
    /// Population flags, by [`PopulationFlag`] index.
    pub flags: [bool; 5],
    /// Begins with text (cannot speak / deaf).
    pub text_first: bool,
    /// Fixed uniform draw per component, by component index.
    pub u: Vec<f64>,
    /// Whether the text-readiness advisory about the caller's PSAP says the opposite of the
    /// truth (`[psap] reported_wrong`).
    pub psap_report_wrong: bool,
}

impl Caller {
    /// Whether the caller meets `flag`.
    pub fn has(&self, flag: PopulationFlag) -> bool {
        self.flags[flag as usize]
    }

    /// When the caller hangs up if not connected.
    pub fn deadline_ms(&self, patience_ms: u64) -> u64 {
        self.start_ms.saturating_add(patience_ms)
    }
}

/// The truth about one component for one caller at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truth {
    /// Whether attempts through it work.
    pub works: bool,
    /// How they fail when it does not.
    pub fails_by: FailsBy,
    /// Delay of a refusal.
    pub reject_ms: u64,
}

/// Why an attempt on a route does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing to attach to (also: the caller cannot use the route at all).
    NoSignal,
    /// Refused after `after_ms`, by a radio (`radio = true`) or a service component.
    Reject {
        /// Delay of the refusal.
        after_ms: u64,
        /// Whether the refusing component is a radio network.
        radio: bool,
    },
    /// No answer at all.
    Hang,
}

/// How one attempt ended, as the handset sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// Reached the PSAP.
    Connected,
    /// Nothing to attach to.
    NoSignal,
    /// Refused by the network; `radio` says whether a radio or a service component refused.
    Rejected {
        /// Whether the refusing component is a radio network.
        radio: bool,
    },
    /// The strategy's own timer expired first.
    TimedOut,
}

/// An attempt's end: when (after its start) and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptEnd {
    /// Time from the attempt's start to its end.
    pub after_ms: u64,
    /// How it ended.
    pub result: AttemptResult,
}

/// One monitor report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// When it was made (a report tick).
    pub at_ms: u64,
    /// Component index.
    pub component: usize,
    /// What it says.
    pub value: Observed,
}

/// The scenario with its callers drawn.
#[derive(Debug)]
pub struct World {
    /// The scenario.
    pub scenario: Scenario,
    /// The callers, in arrival order.
    pub callers: Vec<Caller>,
    /// Events that change each component's observed value, by component, in the order their
    /// observation takes effect (`at + observed_after`, file order at equal times).
    observed_changes: Vec<Vec<usize>>,
}

impl World {
    /// Draws the callers of `scenario`.
    pub fn new(scenario: Scenario) -> World {
        let callers = draw_callers(&scenario);
        let mut observed_changes = vec![Vec::new(); scenario.components.len()];
        for (i, e) in scenario.events.iter().enumerate() {
            if e.observed.is_some() {
                observed_changes[e.component].push(i);
            }
        }
        for list in &mut observed_changes {
            // Stable: equal effective times keep event (time, file) order.
            list.sort_by_key(|&i| {
                let e = &scenario.events[i];
                e.at_ms.saturating_add(e.observed_after_ms)
            });
        }
        World {
            scenario,
            callers,
            observed_changes,
        }
    }

    /// The truth about `component` for `caller` at `t_ms`: the initial state, changed by every
    /// event at or before `t_ms` whose slice holds the caller.
    pub fn truth(&self, caller: &Caller, component: usize, t_ms: u64) -> Truth {
        let u = caller.u[component];
        let mut truth = Truth {
            works: true,
            // A component made to fail without a manner given hangs: the most conservative.
            fails_by: FailsBy::Timeout,
            reject_ms: 0,
        };
        for e in &self.scenario.events {
            if e.at_ms > t_ms {
                break;
            }
            if e.component != component || !e.applies(u) {
                continue;
            }
            if let Some(w) = e.works {
                truth.works = w;
            }
            if let Some(f) = e.fails_by {
                truth.fails_by = f;
            }
            if let Some(r) = e.reject_ms {
                truth.reject_ms = r;
            }
        }
        truth
    }

    /// What `caller`'s monitor would say about `component` at `t_ms` if it reported then.
    pub fn observed(&self, caller: &Caller, component: usize, t_ms: u64) -> Observed {
        let u = caller.u[component];
        let mut value = Observed::healthy(self.scenario.components[component].kind);
        for &i in &self.observed_changes[component] {
            let e = &self.scenario.events[i];
            if e.at_ms.saturating_add(e.observed_after_ms) > t_ms {
                break;
            }
            if e.applies(u) {
                if let Some(v) = e.observed {
                    value = v;
                }
            }
        }
        value
    }

    /// Whether `caller`'s monitor of `component` reports at `t_ms`, and if not, since when it
    /// has been frozen.
    fn monitor(&self, caller: &Caller, component: usize, t_ms: u64) -> Result<(), u64> {
        let u = caller.u[component];
        let mut frozen_since = None;
        for e in &self.scenario.events {
            if e.at_ms > t_ms {
                break;
            }
            if e.component != component || !e.applies(u) {
                continue;
            }
            match e.monitor_live {
                Some(true) => frozen_since = None,
                Some(false) if frozen_since.is_none() => frozen_since = Some(e.at_ms),
                _ => {}
            }
        }
        frozen_since.map_or(Ok(()), Err)
    }

    /// The report `caller`'s monitor of `component` makes at tick `t_ms`, if it is live.
    pub fn report_at(&self, caller: &Caller, component: usize, t_ms: u64) -> Option<Report> {
        self.monitor(caller, component, t_ms).ok()?;
        Some(Report {
            at_ms: t_ms,
            component,
            value: self.observed(caller, component, t_ms),
        })
    }

    /// The last report about `component` made at or before `t_ms` (a frozen monitor's last
    /// report ages; nothing newer exists), if any.
    pub fn last_report(&self, caller: &Caller, component: usize, t_ms: u64) -> Option<Report> {
        let every = self.scenario.report_every_ms;
        let mut tick = t_ms / every * every;
        loop {
            match self.monitor(caller, component, tick) {
                Ok(()) => return self.report_at(caller, component, tick),
                // Frozen since `since`: the last live tick is strictly before it.
                Err(0) => return None,
                Err(since) => tick = (since - 1) / every * every,
            }
        }
    }

    /// The PSAP text-readiness advisory `caller`'s handset holds at `t_ms`: the value of the
    /// last one published at or before `t_ms` and when it was published. Advisories are
    /// re-published every `[psap] report_every_s` from 0 s; for the `reported_wrong` share of
    /// callers every advisory says the opposite of the truth.
    pub fn psap_text_ready_report(&self, caller: &Caller, t_ms: u64) -> (bool, u64) {
        let every = self.scenario.psap.report_every_ms;
        let truth = caller.has(PopulationFlag::PsapTextReady);
        (truth != caller.psap_report_wrong, t_ms / every * every)
    }

    /// The first report tick at or after `t_ms`.
    pub fn next_tick(&self, t_ms: u64) -> u64 {
        let every = self.scenario.report_every_ms;
        t_ms.div_ceil(every) * every
    }

    /// Whether an attempt on route `route` (scenario index; `None` when the scenario has no route
    /// of the kind) starting at `t_ms` works for `caller`, and if not, how it fails.
    pub fn verdict(&self, caller: &Caller, route: Option<usize>, t_ms: u64) -> Result<(), Failure> {
        let Some(r) = route.and_then(|r| self.scenario.routes.get(r)) else {
            return Err(Failure::NoSignal);
        };
        if !r.requires.iter().all(|&f| caller.has(f)) {
            // The caller cannot use it at all: nothing to attach to.
            return Err(Failure::NoSignal);
        }
        let mut worst: Option<Failure> = None;
        for &c in &r.needs {
            let t = self.truth(caller, c, t_ms);
            if t.works {
                continue;
            }
            let radio = self.scenario.components[c].kind == ComponentKind::Radio;
            let f = match t.fails_by {
                FailsBy::NoSignal => Failure::NoSignal,
                FailsBy::Reject => Failure::Reject {
                    after_ms: t.reject_ms,
                    radio,
                },
                FailsBy::Timeout => Failure::Hang,
            };
            worst = Some(match worst {
                None => f,
                Some(w) => first_to_manifest(w, f),
            });
        }
        worst.map_or(Ok(()), Err)
    }

    /// How an attempt on `route` starting at `t_ms` ends for `caller` under the strategy's own
    /// setup timer `timer_ms` (`u64::MAX`: none).
    pub fn attempt(
        &self,
        caller: &Caller,
        route: Option<usize>,
        t_ms: u64,
        timer_ms: u64,
    ) -> AttemptEnd {
        let end = |after_ms, result| AttemptEnd { after_ms, result };
        match self.verdict(caller, route, t_ms) {
            Ok(()) => {
                let setup = route.map_or(0, |r| self.scenario.routes[r].setup_ms);
                if setup <= timer_ms {
                    end(setup, AttemptResult::Connected)
                } else {
                    end(timer_ms, AttemptResult::TimedOut)
                }
            }
            Err(Failure::NoSignal) => end(0, AttemptResult::NoSignal),
            Err(Failure::Reject { after_ms, radio }) if after_ms <= timer_ms => {
                end(after_ms, AttemptResult::Rejected { radio })
            }
            Err(Failure::Reject { .. } | Failure::Hang) => end(timer_ms, AttemptResult::TimedOut),
        }
    }

    /// The scenario index of the route of `kind`.
    pub fn route(&self, kind: RouteKind) -> Option<usize> {
        self.scenario.route_index(kind)
    }
}

/// Of two failures of one attempt, the one the caller sees first: no signal, then the quicker
/// refusal, then a hang.
fn first_to_manifest(a: Failure, b: Failure) -> Failure {
    match (a, b) {
        (Failure::NoSignal, _) | (_, Failure::NoSignal) => Failure::NoSignal,
        (Failure::Reject { after_ms: x, .. }, Failure::Reject { after_ms: y, .. }) => {
            if y < x {
                b
            } else {
                a
            }
        }
        (Failure::Reject { .. }, Failure::Hang) => a,
        (Failure::Hang, _) => b,
    }
}

fn draw_callers(s: &Scenario) -> Vec<Caller> {
    let n = s.calls.count as u64;
    let mut starts: Vec<u64> = match s.calls.arrival {
        // Evenly spaced over the window.
        Arrival::Uniform => (0..n).map(|i| i * s.window_ms / n).collect(),
        // A Poisson process conditioned on its count is that many uniform times, sorted: the same
        // mean rate, exactly `count` calls inside the window.
        Arrival::Poisson => (0..n)
            .map(|i| (uniform(s.seed, i, Stream::Arrival) * s.window_ms as f64) as u64)
            .collect(),
    };
    starts.sort_unstable();
    starts
        .into_iter()
        .enumerate()
        .map(|(i, start_ms)| {
            let id = i as u64;
            let mut flags = [false; 5];
            for f in PopulationFlag::ALL {
                flags[f as usize] =
                    uniform(s.seed, id, Stream::Flag(f as u8)) < s.population[f as usize];
            }
            Caller {
                index: i as u32,
                start_ms,
                flags,
                text_first: uniform(s.seed, id, Stream::TextFirst) < s.calls.text_first,
                u: (0..s.components.len())
                    .map(|c| uniform(s.seed, id, Stream::Component(c as u16)))
                    .collect(),
                psap_report_wrong: uniform(s.seed, id, Stream::PsapReport) < s.psap.reported_wrong,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::observation::{RadioState, ServiceState};

    pub(crate) const WORLD: &str = r#"
[scenario]
name = "w"
window_s = 1000
seed = 5
[calls]
count = 400
arrival = "uniform"
patience_s = 90
[population]
wifi_calling = 1.0
[[component]]
name = "home_ran"
kind = "radio"
[[component]]
name = "home_core"
kind = "service"
[[component]]
name = "other_ran"
kind = "radio"
[[component]]
name = "wifi"
kind = "service"
[[route]]
kind = "home_cellular"
needs = ["home_ran", "home_core"]
setup_s = 3
[[route]]
kind = "other_network"
needs = ["other_ran"]
setup_s = 9
[[route]]
kind = "wifi_calling"
needs = ["wifi", "home_core"]
requires = ["wifi_calling"]
setup_s = 4
[[event]]
at_s = 100
component = "home_core"
works = false
fails_by = "timeout"
observed = "down"
observed_after_s = 15
share = 0.5
[[event]]
at_s = 100
component = "home_ran"
works = false
fails_by = "reject"
reject_s = 2
share_from = 0.25
share = 0.5
[[event]]
at_s = 200
component = "home_core"
monitor = "frozen"
share = 1.0
[[event]]
at_s = 300
component = "home_core"
works = true
observed = "up"
share_from = 0.25
share = 0.5
[[event]]
at_s = 400
component = "home_core"
monitor = "live"
share = 1.0
"#;

    pub(crate) fn world() -> World {
        World::new(Scenario::from_toml(WORLD).expect("test scenario is valid"))
    }

    fn caller_with(w: &World, component: usize, lo: f64, hi: f64) -> &Caller {
        w.callers
            .iter()
            .find(|c| (lo..hi).contains(&c.u[component]))
            .expect("400 callers cover every slice")
    }

    #[test]
    fn events_apply_to_their_slice_from_their_time() {
        let w = world();
        let core = 1;
        let hit = caller_with(&w, core, 0.0, 0.5);
        let spared = caller_with(&w, core, 0.5, 1.0);
        assert!(w.truth(hit, core, 99_999).works);
        assert!(!w.truth(hit, core, 100_000).works);
        assert!(w.truth(spared, core, 100_000).works);
        // Recovery of the upper slice only.
        let upper = caller_with(&w, core, 0.25, 0.5);
        let lower = caller_with(&w, core, 0.0, 0.25);
        assert!(w.truth(upper, core, 300_000).works);
        assert!(!w.truth(lower, core, 300_000).works);
        assert_eq!(w.truth(lower, core, 300_000).fails_by, FailsBy::Timeout);
    }

    #[test]
    fn observation_lags_and_frozen_monitors_leave_their_last_report() {
        let w = world();
        let core = 1;
        let c = caller_with(&w, core, 0.0, 0.25);
        let up = Observed::Service(ServiceState::Up);
        let down = Observed::Service(ServiceState::Down);
        assert_eq!(w.observed(c, core, 114_999), up);
        assert_eq!(w.observed(c, core, 115_000), down);
        // Frozen from 200 s to 400 s: the last report is the 190 s tick, whatever the time.
        let last = w
            .last_report(c, core, 350_000)
            .expect("reported before freezing");
        assert_eq!((last.at_ms, last.value), (190_000, down));
        assert_eq!(w.report_at(c, core, 250_000), None);
        assert_eq!(w.report_at(c, core, 400_000).map(|r| r.value), Some(down));
        let radio = w.observed(c, 0, 500_000);
        assert_eq!(radio, Observed::Radio(RadioState::InService));
    }

    #[test]
    fn attempts_end_by_the_failure_that_shows_first() {
        let w = world();
        let home = w.route(RouteKind::HomeCellular);
        // A caller whose core hangs and whose radio refuses: the refusal shows first.
        let both = w
            .callers
            .iter()
            .find(|c| (0.0..0.5).contains(&c.u[1]) && (0.25..0.5).contains(&c.u[0]))
            .expect("some caller in both slices");
        let end = w.attempt(both, home, 150_000, 10_000);
        assert_eq!(
            (end.after_ms, end.result),
            (2_000, AttemptResult::Rejected { radio: true })
        );
        // A refusal slower than the strategy's timer is a timeout.
        let end = w.attempt(both, home, 150_000, 1_000);
        assert_eq!((end.after_ms, end.result), (1_000, AttemptResult::TimedOut));
        // A hang lasts the strategy's timer; a working route connects after setup, unless the
        // timer is shorter.
        let hang = w
            .callers
            .iter()
            .find(|c| (0.0..0.5).contains(&c.u[1]) && !(0.25..0.5).contains(&c.u[0]))
            .expect("some caller whose core alone fails");
        let end = w.attempt(hang, home, 150_000, 7_000);
        assert_eq!((end.after_ms, end.result), (7_000, AttemptResult::TimedOut));
        let end = w.attempt(hang, home, 0, 7_000);
        assert_eq!(
            (end.after_ms, end.result),
            (3_000, AttemptResult::Connected)
        );
        let end = w.attempt(hang, home, 0, 2_000);
        assert_eq!(end.result, AttemptResult::TimedOut);
        // No such route: nothing to attach to.
        let end = w.attempt(hang, w.route(RouteKind::Satellite), 0, 7_000);
        assert_eq!((end.after_ms, end.result), (0, AttemptResult::NoSignal));
    }

    #[test]
    fn psap_text_readiness_is_reported_late_and_sometimes_wrong() {
        // Default: re-published every 600 s, never wrong.
        let w = world();
        for c in &w.callers {
            let truth = c.has(PopulationFlag::PsapTextReady);
            assert_eq!(w.psap_text_ready_report(c, 0), (truth, 0));
            assert_eq!(w.psap_text_ready_report(c, 599_999), (truth, 0));
            assert_eq!(w.psap_text_ready_report(c, 1_234_567), (truth, 1_200_000));
        }
        // Every 60 s, wrong for a quarter of the callers: the same callers every time.
        let text = WORLD.replacen(
            "[[component]]",
            "[psap]\nreport_every_s = 60\nreported_wrong = 0.25\n[[component]]",
            1,
        );
        let w = World::new(Scenario::from_toml(&text).expect("valid"));
        assert_eq!(w.scenario.psap.report_every_ms, 60_000);
        let mut wrong = 0;
        for c in &w.callers {
            let truth = c.has(PopulationFlag::PsapTextReady);
            let (said, at) = w.psap_text_ready_report(c, 130_500);
            assert_eq!(at, 120_000);
            assert_eq!(w.psap_text_ready_report(c, 900_000).0, said);
            if said != truth {
                wrong += 1;
            }
        }
        assert!((70..130).contains(&wrong), "{wrong} of 400 wrong");
    }

    #[test]
    fn callers_are_the_same_for_the_same_seed() {
        assert_eq!(world().callers, world().callers);
        let starts: Vec<u64> = world().callers.iter().map(|c| c.start_ms).collect();
        assert_eq!(starts[1], 2_500, "uniform arrival spaces calls evenly");
    }
}
