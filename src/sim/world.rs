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
            }
        })
        .collect()
}
