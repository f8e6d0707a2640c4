//! `sosroute`: the library itself, through its public API only — `Router::new`, `Router::update`
//! with every observation at the time it becomes observable, `Router::begin`,
//! `CallSession::next_attempt` and `CallSession::report`.
//!
//! A call is a small state machine ([`SosCall`]) so that with a shared router many calls can be
//! interleaved in time order; with a router per caller each call simply runs to its end.

use crate::observation::{
    ComponentId, Fact, FactClass, Observation, Outcome, PsapId, RadioState, RejectCause,
    SignalLevel,
};
use crate::policy::Policy;
use crate::probation::ProbationStatus;
use crate::request::CallRequest;
use crate::route::{Capabilities, Media};
use crate::router::{CallSession, Next, Router};
use crate::sim::scenario::{Observed, PopulationFlag};
use crate::sim::world::{AttemptResult, Caller, Report, World};

use super::{CallOutcome, CallResult};

/// The least history a handset's own router hears before its call (see [`Wiring::history_ms`]).
pub const MIN_HISTORY_MS: u64 = 60_000;

/// How far before its call a handset's own router has been hearing its monitors: the policy's
/// longest component TTL plus its hold-down, so the router starts the call in the state it would
/// have built since the phone's boot; reports older than that change no decision.
pub fn history_ms(policy: &Policy) -> u64 {
    [FactClass::Radio, FactClass::Service, FactClass::Link]
        .into_iter()
        .map(|c| policy.ttl_ms(c))
        .max()
        .unwrap_or(0)
        .saturating_add(policy.hold_down_ms)
        .max(MIN_HISTORY_MS)
}

/// The PSAP of callers whose PSAP takes text, and of those whose PSAP does not (shared router).
pub const TEXT_READY_PSAP: PsapId = PsapId(1);
/// See [`TEXT_READY_PSAP`].
pub const VOICE_ONLY_PSAP: PsapId = PsapId(2);

/// What the simulator hands the router: scenario component index → policy component id.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// Policy id of each scenario component, by scenario index.
    pub ids: Vec<ComponentId>,
    /// Whether one router serves every call.
    pub shared: bool,
    /// How far before its call a per-caller router hears its handset's monitors
    /// ([`history_ms`]).
    pub history_ms: u64,
    /// Policies the shared router loads during the window (`[[policy_change]]`), in time order.
    pub changes: Vec<(u64, Policy)>,
    /// Whether loaded policies go on probation as they specify (`false`: probation off, to
    /// show what it saved).
    pub probation: bool,
    /// Where every router's audit trail goes, as JSON lines, if anywhere.
    pub audit: Option<AuditLog>,
}

/// An audit log the simulator writes: JSON lines, one router's after another's (each starts
/// with a checkpoint, so [`crate::audit::replay`] reads them as one log).
pub type AuditLog = std::sync::Arc<parking_lot::Mutex<Vec<u8>>>;

/// Ring size of a simulated router's audit trail: it is drained after every step of every call,
/// so it never fills.
const AUDIT_CAPACITY: usize = 4096;

/// A router for the run, with its audit trail going to the wiring's log.
fn router_for(policy: &Policy, wiring: &Wiring) -> Router {
    let router = Router::new(policy.clone());
    if let Some(log) = &wiring.audit {
        let log = std::sync::Arc::clone(log);
        let sink = move |line: &[u8]| {
            let mut log = log.lock();
            log.extend_from_slice(line);
            log.push(b'\n');
        };
        router
            .attach_audit(Box::new(sink), AUDIT_CAPACITY)
            .expect("AUDIT_CAPACITY is in range");
    }
    router
}

/// Writes what the router's audit trail holds to the log.
fn drain(router: &Router, wiring: &Wiring) {
    if wiring.audit.is_some() {
        router.drain_audit();
    }
}

/// The fact a monitor's report becomes.
fn fact(value: Observed) -> Fact {
    match value {
        Observed::Radio(state) => Fact::Radio {
            state,
            // Bars are not modelled: a camped radio reports full bars, no radio reports none.
            signal: match state {
                RadioState::InService | RadioState::LimitedService => SignalLevel(4),
                RadioState::NoService | RadioState::Unknown => SignalLevel::UNKNOWN,
            },
        },
        Observed::Service(state) => Fact::Service { state },
    }
}

/// The outcome the handset reports for an attempt's end.
fn outcome(result: AttemptResult) -> Outcome {
    let rejected = |cause| Outcome::Rejected { cause, code: 0 };
    match result {
        AttemptResult::Connected => Outcome::Connected,
        AttemptResult::NoSignal => rejected(RejectCause::NoSignal),
        AttemptResult::Rejected { radio: true } => rejected(RejectCause::NoSignal),
        AttemptResult::Rejected { radio: false } => rejected(RejectCause::Congestion),
        AttemptResult::TimedOut => Outcome::TimedOut,
    }
}

/// The caller's capabilities from the population flags. Nobody gets RTT: the scenario format
/// has no population field for it.
fn capabilities(caller: &Caller) -> Capabilities {
    [
        (PopulationFlag::DualSim, Capabilities::DUAL_SIM),
        (PopulationFlag::WifiCalling, Capabilities::WIFI_CALLING),
        (PopulationFlag::Sms, Capabilities::SMS),
        (PopulationFlag::Satellite, Capabilities::SATELLITE),
    ]
    .into_iter()
    .filter(|&(f, _)| caller.has(f))
    .fold(Capabilities::NONE, |acc, (_, c)| acc.union(c))
}

/// The caller's PSAP: with a router per caller every caller has "their" PSAP 1, text-ready or
/// not; a shared router sees two PSAPs, one of each.
fn psap_of(caller: &Caller, wiring: &Wiring) -> (PsapId, bool) {
    let ready = caller.has(PopulationFlag::PsapTextReady);
    match (wiring.shared, ready) {
        (false, _) | (true, true) => (TEXT_READY_PSAP, ready),
        (true, false) => (VOICE_ONLY_PSAP, false),
    }
}

/// What a call does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Wake it at this time.
    At(u64),
    /// It is over.
    Done(CallResult),
}

/// One call through the library.
#[derive(Debug)]
pub struct SosCall<'w> {
    world: &'w World,
    caller: &'w Caller,
    session: CallSession,
    /// The next report tick not yet handed to the router.
    next_tick_ms: u64,
    deadline_ms: u64,
    /// The attempt in flight: how it ends, and its scenario route kind.
    in_flight: Option<(AttemptResult, crate::route::RouteKind)>,
}

impl<'w> SosCall<'w> {
    /// Starts `caller`'s call on `router`: hands it the monitors' reports up to now and the
    /// PSAP's text-readiness, then begins a session. Returns the call and when to wake it.
    pub fn start(
        world: &'w World,
        caller: &'w Caller,
        router: &Router,
        wiring: &Wiring,
    ) -> (SosCall<'w>, Step) {
        let now = caller.start_ms;
        // The PSAP's text-readiness as the handset last heard it: possibly old, possibly wrong.
        let (psap, _) = psap_of(caller, wiring);
        let (text_ready, reported_at) = world.psap_text_ready_report(caller, now);
        let mut batch = vec![Observation::psap(
            psap,
            Fact::PsapTextReady { ready: text_ready },
            reported_at,
        )];
        // A router per handset has been hearing this handset's monitors all along: the last
        // report before the history window (a frozen monitor's last word), then every tick.
        // A shared router hears the calling handset's latest reports (below, at each step).
        let from = if wiring.shared {
            now
        } else {
            now.saturating_sub(wiring.history_ms)
        };
        for c in 0..world.scenario.components.len() {
            if let Some(r) = world.last_report(caller, c, from) {
                batch.push(observation(r, wiring));
            }
        }
        apply(router, &batch);
        let request = CallRequest {
            media: if caller.text_first {
                Media::Text
            } else {
                Media::Voice
            },
            ..CallRequest::new(
                u64::from(caller.index),
                "911",
                Media::Voice,
                capabilities(caller),
                now,
            )
            .expect("\"911\" is an emergency number")
        }
        .with_psap(psap);
        let mut call = SosCall {
            world,
            caller,
            session: router.begin(request),
            next_tick_ms: world.next_tick(from.saturating_add(1)),
            deadline_ms: caller.deadline_ms(world.scenario.calls.patience_ms),
            in_flight: None,
        };
        let step = call.decide(router, wiring, now);
        (call, step)
    }

    /// Hands the router every report made up to `now_ms` that it has not heard yet.
    fn hear(&mut self, router: &Router, wiring: &Wiring, now_ms: u64) {
        if self.next_tick_ms > now_ms {
            return;
        }
        let mut batch = Vec::new();
        if wiring.shared {
            // Only the latest tick: older ticks of this handset would be older than what other
            // handsets already told the shared router.
            for c in 0..wiring.ids.len() {
                if let Some(r) = self.world.last_report(self.caller, c, now_ms) {
                    batch.push(observation(r, wiring));
                }
            }
        } else {
            let every = self.world.scenario.report_every_ms;
            let mut tick = self.next_tick_ms;
            while tick <= now_ms {
                for c in 0..wiring.ids.len() {
                    if let Some(r) = self.world.report_at(self.caller, c, tick) {
                        batch.push(observation(r, wiring));
                    }
                }
                tick += every;
            }
        }
        self.next_tick_ms = self.world.next_tick(now_ms.saturating_add(1));
        apply(router, &batch);
    }

    /// Asks the session for the next attempt at `now_ms` and works out how it ends.
    fn decide(&mut self, router: &Router, wiring: &Wiring, now_ms: u64) -> Step {
        if now_ms >= self.deadline_ms {
            return self.done(CallOutcome::Abandoned);
        }
        self.hear(router, wiring, now_ms);
        let next = self
            .session
            .next_attempt(now_ms)
            .expect("every attempt is reported before the next is asked for");
        let attempt = match next {
            Next::Attempt(a) => a,
            Next::Done(_) => return self.done(CallOutcome::GaveUp),
        };
        // A redial's backoff: the handset waits before dialling.
        let start_ms = now_ms.saturating_add(attempt.delay_ms);
        let end = self.world.attempt(
            self.caller,
            self.world.route(attempt.kind),
            start_ms,
            attempt.timeout_ms,
        );
        let end_at = start_ms.saturating_add(end.after_ms);
        if end_at > self.deadline_ms {
            // The caller hangs up mid-attempt; nothing is reported for an attempt cut short.
            return self.done(CallOutcome::Abandoned);
        }
        self.in_flight = Some((end.result, attempt.kind));
        Step::At(end_at)
    }

    /// Wakes the call at `now_ms`: the attempt in flight has ended.
    pub fn resume(&mut self, router: &Router, wiring: &Wiring, now_ms: u64) -> Step {
        let Some((result, kind)) = self.in_flight.take() else {
            return self.decide(router, wiring, now_ms);
        };
        self.hear(router, wiring, now_ms);
        self.session
            .report(outcome(result), now_ms)
            .expect("an attempt is in flight");
        if result == AttemptResult::Connected {
            return self.done(CallOutcome::Connected {
                after_ms: now_ms - self.caller.start_ms,
                kind,
            });
        }
        self.decide(router, wiring, now_ms)
    }

    fn done(&self, outcome: CallOutcome) -> Step {
        Step::Done(CallResult {
            outcome,
            attempts: self.session.attempts(),
        })
    }
}

fn observation(r: Report, wiring: &Wiring) -> Observation {
    Observation::component(wiring.ids[r.component], fact(r.value), r.at_ms)
}

fn apply(router: &Router, batch: &[Observation]) {
    if batch.is_empty() {
        return;
    }
    router
        .update(batch)
        .expect("observations are checked against the policy before the run");
}

/// Runs one call on its own router (each handset has its own).
pub fn call_per_caller(
    world: &World,
    caller: &Caller,
    policy: &Policy,
    wiring: &Wiring,
) -> CallResult {
    let router = router_for(policy, wiring);
    let (mut call, mut step) = SosCall::start(world, caller, &router, wiring);
    loop {
        drain(&router, wiring);
        match step {
            Step::Done(result) => return result,
            Step::At(t) => step = call.resume(&router, wiring, t),
        }
    }
}

/// `policy` with probation off: the same spec with `probation.period_s = 0`.
fn without_probation(policy: &Policy) -> Policy {
    let mut spec = policy.spec().clone();
    let mut probation = spec.probation.take().unwrap_or_default();
    probation.period_s = Some(0.0);
    spec.probation = Some(probation);
    Policy::from_spec(spec).expect("a valid policy with probation off is valid")
}

/// Runs every call on one shared router, interleaved in time order, loading the wiring's policy
/// changes on the way. Returns each call's result and, per policy change, where its probation
/// stood when the next change came or the window ended.
pub fn run_shared(
    world: &World,
    policy: &Policy,
    wiring: &Wiring,
) -> (Vec<CallResult>, Vec<ProbationStatus>) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let router = router_for(policy, wiring);
    let mut changes = wiring.changes.iter().peekable();
    let mut statuses = Vec::with_capacity(wiring.changes.len());
    let n = world.callers.len();
    let mut results: Vec<Option<CallResult>> = vec![None; n];
    let mut calls: Vec<Option<SosCall<'_>>> = (0..n).map(|_| None).collect();
    // (time, sequence, call): sequence breaks ties in the order the wake-ups were made.
    let mut queue: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut seq = 0u64;
    for (i, c) in world.callers.iter().enumerate() {
        queue.push(Reverse((c.start_ms, seq, i)));
        seq += 1;
    }
    while let Some(Reverse((t, _, i))) = queue.pop() {
        while let Some((_, next)) = changes.next_if(|(at, _)| *at <= t) {
            // Where the previous change stands now that another comes (none before the first).
            if router.policy().version() > 1 {
                statuses.push(router.probation());
            }
            router.set_policy(if wiring.probation {
                next.clone()
            } else {
                without_probation(next)
            });
        }
        let step = match calls[i].as_mut() {
            None => {
                let (call, step) = SosCall::start(world, &world.callers[i], &router, wiring);
                calls[i] = Some(call);
                step
            }
            Some(call) => call.resume(&router, wiring, t),
        };
        drain(&router, wiring);
        match step {
            Step::At(next) => {
                queue.push(Reverse((next, seq, i)));
                seq += 1;
            }
            Step::Done(result) => {
                results[i] = Some(result);
                calls[i] = None;
            }
        }
    }
    if router.policy().version() > 1 {
        statuses.push(router.probation());
    }
    let results = results
        .into_iter()
        .map(|r| {
            r.unwrap_or(CallResult {
                outcome: CallOutcome::GaveUp,
                attempts: 0,
            })
        })
        .collect();
    (results, statuses)
}
