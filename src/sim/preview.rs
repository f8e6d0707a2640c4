//! Impact preview of a policy change: what a candidate policy would do, next to the policy in
//! force, before anyone installs it.
//!
//! Two views. **Scenarios**: each outage scenario is replayed through the `sosroute` strategy
//! under both policies, on identical callers and randomness, giving connected % and time to
//! connect side by side. **Decisions**: a fixed corpus of requests (every media × every
//! capability combination × PSAP unknown or text-ready, in a few states: no observations, all
//! healthy, and each component of the policies down in turn) is planned under both, and every
//! decision that changes is counted by how (first route, order, timers, routes left out), with
//! examples.
//!
//! **Recorded decisions**: every decision of an audit log (`Router::drain_audit`) is planned
//! again on the state it read, under the policy it was made with and under the candidate (the
//! state and the call's own history carried over by component and route name, as a policy
//! install carries them), and the changes are counted the same way.
//!
//! A candidate is **refused** if under it any emergency voice request gets no attempt, or any
//! scenario connects fewer calls than under the current policy by more than the tolerance
//! (percentage points).
//!
//! ```
//! use sosroute::sim::{preview, Scenario};
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/calm-day.toml")).unwrap();
//! let scenario = Scenario::from_toml(&text).unwrap();
//! let shipped = sosroute::Policy::us_default();
//! let p = preview::preview(&shipped, &shipped, vec![scenario], preview::DEFAULT_TOLERANCE_POINTS).unwrap();
//! assert!(p.accepted());
//! assert_eq!(p.decisions.changed, 0);
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::report::{self, StrategyReport};
use super::world::World;
use super::{run, wire, Scenario, SimError, Strategy};
use crate::identity::PolicyHash;
use crate::observation::{Fact, Observation, PsapId, RadioState, ServiceState, SignalLevel};
use crate::plan::Plan;
use crate::planner::{self, Constraints};
use crate::policy::{ComponentKind, Policy, MAX_COMPONENTS};
use crate::request::CallRequest;
use crate::route::{Capabilities, Media};
use crate::router::Router;

/// How many percentage points fewer connected calls a candidate may have on a scenario before it
/// is refused: half a point, below the noise of one generated world and far below any outage's
/// effect.
pub const DEFAULT_TOLERANCE_POINTS: f64 = 0.5;

/// Examples kept per kind of decision change.
const EXAMPLES: usize = 3;

/// One policy's figures on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Calls connected.
    pub connected: u32,
    /// Percent of all calls.
    pub connected_pct: f64,
    /// Median time to connect, seconds (over connected calls).
    pub p50_s: Option<f64>,
    /// 95th percentile time to connect, seconds.
    pub p95_s: Option<f64>,
}

impl Figures {
    fn of(report: &StrategyReport) -> Figures {
        Figures {
            connected: report.connected,
            connected_pct: report.connected_pct,
            p50_s: report.ttc_p50_s,
            p95_s: report.ttc_p95_s,
        }
    }
}

/// One scenario under both policies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioComparison {
    /// The scenario's name.
    pub scenario: String,
    /// Calls in it.
    pub calls: u32,
    /// Under the current policy.
    pub current: Figures,
    /// Under the candidate.
    pub candidate: Figures,
}

impl ScenarioComparison {
    /// Candidate minus current connected, percentage points.
    pub fn points(&self) -> f64 {
        self.candidate.connected_pct - self.current.connected_pct
    }
}

/// How the corpus's decisions change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DecisionChanges {
    /// Requests planned under each policy.
    pub plans: usize,
    /// Requests whose plan changed in any of the ways below.
    pub changed: usize,
    /// ... whose first route changed.
    pub first_route: usize,
    /// ... whose order of routes changed (other routes, or the same in another order).
    pub order: usize,
    /// ... whose timers (setup timeouts, redial delays) changed, the routes being the same.
    pub timers: usize,
    /// ... whose routes left out (or their reasons) changed.
    pub left_out: usize,
    /// A few changed decisions, one line each.
    pub examples: Vec<String>,
}

/// The preview of a candidate policy against the policy in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// Name of the current policy.
    pub current: String,
    /// Its hash.
    pub current_hash: PolicyHash,
    /// Name of the candidate.
    pub candidate: String,
    /// Its hash.
    pub candidate_hash: PolicyHash,
    /// The tolerance applied, percentage points.
    pub tolerance_points: f64,
    /// Each scenario, in the order given.
    pub scenarios: Vec<ScenarioComparison>,
    /// The decision corpus.
    pub decisions: DecisionChanges,
    /// The decisions recorded in the audit logs given, if any.
    pub recorded: Option<DecisionChanges>,
    /// Why the candidate is refused; empty if it is accepted.
    pub refusals: Vec<String>,
}

impl Preview {
    /// Whether the candidate passed every check.
    pub fn accepted(&self) -> bool {
        self.refusals.is_empty()
    }

    /// The preview as a text report.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "current   {} sha256:{}\ncandidate {} sha256:{}{}",
            self.current,
            self.current_hash.short(16),
            self.candidate,
            self.candidate_hash.short(16),
            if self.current_hash == self.candidate_hash {
                " (identical)"
            } else {
                ""
            }
        );
        if !self.scenarios.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<32} {:>7} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
                "scenario",
                "calls",
                "current%",
                "cand.%",
                "points",
                "p50 cur",
                "p50 can",
                "p95 cur",
                "p95 can"
            );
            for c in &self.scenarios {
                let _ = writeln!(
                    s,
                    "{:<32} {:>7} {:>9.2} {:>9.2} {:>+7.2} {:>7} {:>7} {:>7} {:>7}",
                    c.scenario,
                    c.calls,
                    c.current.connected_pct,
                    c.candidate.connected_pct,
                    c.points(),
                    secs(c.current.p50_s),
                    secs(c.candidate.p50_s),
                    secs(c.current.p95_s),
                    secs(c.candidate.p95_s)
                );
            }
        }
        let d = &self.decisions;
        let _ = writeln!(
            s,
            "\ndecisions: {} of {} requests planned differently (first route {}, order {}, \
             timers {}, left out {})",
            d.changed, d.plans, d.first_route, d.order, d.timers, d.left_out
        );
        for e in &d.examples {
            let _ = writeln!(s, "  {e}");
        }
        if let Some(d) = &self.recorded {
            let _ = writeln!(
                s,
                "\nrecorded decisions: {} of {} planned differently (first route {}, order {}, \
                 timers {}, left out {})",
                d.changed, d.plans, d.first_route, d.order, d.timers, d.left_out
            );
            for e in &d.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        if self.accepted() {
            let _ = writeln!(
                s,
                "\naccepted: no voice request without an attempt; no scenario more than {} \
                 points worse",
                self.tolerance_points
            );
        } else {
            let _ = writeln!(s, "\nREFUSED:");
            for r in &self.refusals {
                let _ = writeln!(s, "  {r}");
            }
        }
        s
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// Previews `candidate` against `current` on `scenarios` and the decision corpus, refusing a
/// candidate whose connected % on any scenario is more than `tolerance_points` below the
/// current policy's, or that leaves a voice request without an attempt. An error if a scenario
/// cannot be replayed under one of the policies (a component it does not declare).
pub fn preview(
    current: &Policy,
    candidate: &Policy,
    scenarios: Vec<Scenario>,
    tolerance_points: f64,
) -> Result<Preview, SimError> {
    preview_with_audit(current, candidate, scenarios, &[], tolerance_points)
}

/// [`preview`], also re-planning every decision recorded in the audit logs `logs` (name, JSON
/// lines) under the policy it was made with and under `candidate`. A recorded emergency voice
/// request that gets no attempt under the candidate refuses it.
pub fn preview_with_audit(
    current: &Policy,
    candidate: &Policy,
    scenarios: Vec<Scenario>,
    logs: &[(String, String)],
    tolerance_points: f64,
) -> Result<Preview, SimError> {
    let mut refusals = Vec::new();
    let mut comparisons = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let comparison = compare_scenario(current, candidate, scenario)?;
        let points = comparison.points();
        if points < -tolerance_points {
            refusals.push(format!(
                "scenario {}: the candidate connects {:.2} % of calls, the current policy {:.2} % \
                 ({:+.2} points; at most {tolerance_points} fewer allowed)",
                comparison.scenario,
                comparison.candidate.connected_pct,
                comparison.current.connected_pct,
                points
            ));
        }
        comparisons.push(comparison);
    }
    let decisions = compare_decisions(current, candidate, &mut refusals);
    let recorded = if logs.is_empty() {
        None
    } else {
        Some(compare_recorded(candidate, logs, &mut refusals)?)
    };
    Ok(Preview {
        current: current.name().to_owned(),
        current_hash: current.hash(),
        candidate: candidate.name().to_owned(),
        candidate_hash: candidate.hash(),
        tolerance_points,
        scenarios: comparisons,
        decisions,
        recorded,
        refusals,
    })
}

/// Replays `scenario` through the sosroute strategy under each policy.
fn compare_scenario(
    current: &Policy,
    candidate: &Policy,
    scenario: Scenario,
) -> Result<ScenarioComparison, SimError> {
    let wiring = [wire(&scenario, current)?, wire(&scenario, candidate)?];
    let world = World::new(scenario);
    let figures = |policy: &Policy, wiring| {
        let results = run(&world, Strategy::Sosroute, policy, wiring);
        let report = report::build(&world, policy.name(), &[(Strategy::Sosroute, results)]);
        Figures::of(&report.strategies[0])
    };
    Ok(ScenarioComparison {
        scenario: world.scenario.name.clone(),
        calls: world.callers.len() as u32,
        current: figures(current, &wiring[0]),
        candidate: figures(candidate, &wiring[1]),
    })
}

/// A state of the corpus: its name and, per component name, the fact reported (none: no
/// observation of it).
struct CorpusState {
    name: String,
    down: Option<String>,
    observed: bool,
}

/// The corpus's states: no observations, all healthy, and each component of either policy down
/// while the others are healthy.
fn corpus_states(current: &Policy, candidate: &Policy) -> Vec<CorpusState> {
    let mut names: Vec<String> = Vec::new();
    for c in current.components().iter().chain(candidate.components()) {
        if !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    }
    let mut states = vec![
        CorpusState {
            name: "no observations".to_owned(),
            down: None,
            observed: false,
        },
        CorpusState {
            name: "all healthy".to_owned(),
            down: None,
            observed: true,
        },
    ];
    states.extend(names.into_iter().map(|n| CorpusState {
        name: format!("{n} down"),
        down: Some(n),
        observed: true,
    }));
    states
}

/// When the corpus's observations are made, and when its requests are planned: shortly after,
/// so every fact is fresh under any sane TTL.
const OBSERVED_MS: u64 = 1_000;
const PLANNED_MS: u64 = 2_000;

/// A router with `policy` in `state`.
fn router_in(policy: &Policy, state: &CorpusState) -> Router {
    let router = Router::new(policy.clone());
    if !state.observed {
        return router;
    }
    let mut batch: Vec<Observation> = policy
        .components()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let down = state.down.as_deref() == Some(c.name.as_str());
            let fact = match (c.kind, down) {
                (ComponentKind::Radio, false) => Fact::Radio {
                    state: RadioState::InService,
                    signal: SignalLevel(3),
                },
                (ComponentKind::Radio, true) => Fact::Radio {
                    state: RadioState::NoService,
                    signal: SignalLevel(0),
                },
                (ComponentKind::Service, false) => Fact::Service {
                    state: ServiceState::Up,
                },
                (ComponentKind::Service, true) => Fact::Service {
                    state: ServiceState::Down,
                },
            };
            Observation::component(crate::ComponentId(i as u16), fact, OBSERVED_MS)
        })
        .collect();
    batch.push(Observation::psap(
        PsapId(1),
        Fact::PsapTextReady { ready: true },
        OBSERVED_MS,
    ));
    router
        .update(&batch)
        .expect("facts of each component's own kind are accepted");
    router
}

/// What a plan decides, by route name (ids may differ between policies).
#[derive(PartialEq)]
struct Decision {
    routes: Vec<String>,
    timers: Vec<(Media, u64, u64)>,
    left_out: Vec<(String, crate::LeftOutReason)>,
}

impl Decision {
    fn of(plan: &Plan) -> Decision {
        Decision {
            routes: plan
                .attempts
                .iter()
                .map(|a| plan.route_name(a.route).to_owned())
                .collect(),
            timers: plan
                .attempts
                .iter()
                .map(|a| (a.media, a.timeout_ms, a.delay_ms))
                .collect(),
            left_out: plan
                .left_out
                .iter()
                .map(|l| (plan.route_name(l.route).to_owned(), l.reason))
                .collect(),
        }
    }

    fn summary(&self) -> String {
        if self.routes.is_empty() {
            return "no attempt".to_owned();
        }
        self.routes
            .iter()
            .zip(&self.timers)
            .map(|(r, (_, t, _))| format!("{r} {:.1} s", *t as f64 / 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl DecisionChanges {
    /// Counts how decision `b` differs from `a`, keeping an example (described by `what`).
    fn count(&mut self, a: &Decision, b: &Decision, what: impl FnOnce() -> String) {
        if a == b {
            return;
        }
        self.changed += 1;
        let first = a.routes.first() != b.routes.first();
        let order = a.routes != b.routes;
        let timers = !order && a.timers != b.timers;
        self.first_route += usize::from(first);
        self.order += usize::from(order);
        self.timers += usize::from(timers);
        self.left_out += usize::from(a.left_out != b.left_out);
        if self.examples.len() < EXAMPLES * 3 && (first || self.examples.len() < EXAMPLES) {
            self.examples
                .push(format!("{}: {} -> {}", what(), a.summary(), b.summary()));
        }
    }
}

/// Re-plans every decision of `logs` under the policy it was made with and under `candidate`.
fn compare_recorded(
    candidate: &Policy,
    logs: &[(String, String)],
    refusals: &mut Vec<String>,
) -> Result<DecisionChanges, SimError> {
    let mut out = DecisionChanges::default();
    let mut without_attempt = 0usize;
    let mut first_without: Option<String> = None;
    let candidate = Arc::new(candidate.clone());
    for (name, log) in logs {
        crate::audit::for_each_decision(log, &mut |d| {
            let before = planner::plan(d.request, d.snapshot, d.policy, d.now_ms, d.constraints);
            // The state and the call's own history under the candidate, by name, as an install
            // carries them over.
            let snapshot = d.snapshot.remap(d.policy, &candidate);
            let mut constraints = Constraints {
                remaining_ms: d.constraints.remaining_ms,
                failed: d.constraints.failed,
                ..Constraints::default()
            };
            for (i, c) in candidate.components().iter().enumerate() {
                if let Some(old) = d.policy.component_id(&c.name) {
                    constraints.blame[i] = d.constraints.blame[old.0 as usize % MAX_COMPONENTS];
                }
            }
            for (i, r) in candidate.routes().iter().enumerate() {
                if let Some(old) = d.policy.route_index(r.id) {
                    constraints.tried_ms[i] = d.constraints.tried_ms[old];
                }
            }
            let after = planner::plan(d.request, &snapshot, &candidate, d.now_ms, &constraints);
            out.plans += 1;
            let what = || {
                format!(
                    "{name} line {}: call {} ({})",
                    d.line,
                    d.request.call_id,
                    d.request.media.name()
                )
            };
            let (a, b) = (Decision::of(&before), Decision::of(&after));
            if d.request.media == Media::Voice && b.routes.is_empty() {
                without_attempt += 1;
                first_without.get_or_insert_with(what);
            }
            out.count(&a, &b, what);
        })?;
    }
    if let Some(first) = first_without {
        refusals.push(format!(
            "{without_attempt} recorded emergency voice request(s) get no attempt under the \
             candidate, e.g. {first}"
        ));
    }
    Ok(out)
}

fn caps_name(caps: Capabilities) -> String {
    let names: Vec<&str> = Capabilities::NAMED
        .iter()
        .filter(|(_, c)| caps.contains(*c))
        .map(|(n, _)| *n)
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join("+")
    }
}

/// Plans the corpus under both policies and counts the changes; a voice request with no attempt
/// under the candidate is a refusal.
fn compare_decisions(
    current: &Policy,
    candidate: &Policy,
    refusals: &mut Vec<String>,
) -> DecisionChanges {
    let mut out = DecisionChanges::default();
    let mut without_attempt = 0usize;
    let mut first_without: Option<String> = None;
    for state in corpus_states(current, candidate) {
        let (before, after) = (router_in(current, &state), router_in(candidate, &state));
        for media in Media::ALL {
            for caps in 0..=Capabilities::ALL.0 {
                for psap in [0, 1] {
                    let caps = Capabilities(caps);
                    let request =
                        CallRequest::new(out.plans as u64, "911", media, caps, PLANNED_MS)
                            .expect("911 is an emergency number")
                            .with_psap(PsapId(psap));
                    out.plans += 1;
                    let what = || {
                        format!(
                            "{state}, {media} caller with {caps}, PSAP {psap}",
                            state = state.name,
                            media = media.name(),
                            caps = caps_name(caps),
                            psap = if psap == 0 { "unknown" } else { "text-ready" }
                        )
                    };
                    let (a, b) = (
                        Decision::of(&before.plan(&request)),
                        Decision::of(&after.plan(&request)),
                    );
                    if media == Media::Voice && b.routes.is_empty() {
                        without_attempt += 1;
                        first_without.get_or_insert_with(what);
                    }
                    out.count(&a, &b, what);
                }
            }
        }
    }
    if let Some(first) = first_without {
        refusals.push(format!(
            "{without_attempt} emergency voice request(s) get no attempt under the candidate, \
             e.g. {first}"
        ));
    }
    out
}
