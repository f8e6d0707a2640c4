//! The outage simulator: replays a scenario (`scenarios/FORMAT.md`) through four strategies on
//! identical callers and randomness, and reports how many 911 calls each connected, and how fast.
//!
//! - [`scenario`]: the file format, parsed and validated (errors name the key and the line);
//! - [`rng`]: deterministic draws from the seed;
//! - [`world`]: callers, the truth over time, monitor reports, how an attempt ends;
//! - [`strategy`]: `oracle`, `home_only`, `android_like`, `sosroute`;
//! - [`report`]: the comparison as a table and as JSON; [`svg`]: the chart;
//! - [`generate`]: outage worlds drawn from a seed; [`mod@dominance`]: the bounds sosroute must meet
//!   against its baselines on any one world.
//!
//! Nothing in the library core depends on this module.
//!
//! Choices the format leaves open, made here:
//! - optional keys beyond those the format marks optional: `title`, `sources`, `text_first`
//!   (default 0), every `[population]` field (default 0), a route's `requires` (default none);
//!   an event's `share` is required;
//! - at most one route per kind: strategies ask for routes by kind;
//! - uniform arrival spaces calls evenly; Poisson arrival is a Poisson process conditioned on the
//!   count (that many uniform start times, sorted), so both have the same mean rate;
//! - monitors report at every multiple of `report_every_s` from 0 s; a value observed from
//!   `at_s + observed_after_s` is in the first report at or after that time;
//! - a component made to fail without a `fails_by` ever given for it hangs (`timeout`);
//! - an attempt on a route kind the scenario does not declare, or by a caller who does not meet
//!   its `requires`, fails at once with no signal;
//! - with a router per caller, the router hears its handset's reports from the policy's longest
//!   TTL plus hold-down before the call (plus the last report before that, which is what a frozen
//!   monitor leaves behind); a shared router hears each calling handset's latest reports at each
//!   of its decisions;
//! - a caller who hangs up in the middle of an attempt reports nothing for that attempt;
//! - a `[[policy_change]]` is loaded (`Router::set_policy`) just before the shared router's first
//!   event at or after its `at_s` (a call starting, or an attempt ending);
//! - a wrong PSAP text-readiness advisory (`[psap] reported_wrong`) is drawn per caller; with a
//!   shared router, callers of one PSAP may so contradict each other, and the latest word holds.
//!
//! ```
//! use sosroute::sim::{replay, Scenario};
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/calm-day.toml")).unwrap();
//! let scenario = Scenario::from_toml(&text).unwrap();
//! let report = replay(scenario, &sosroute::Policy::us_default(), &mut |_| {}).unwrap();
//! assert_eq!(report.strategies[0].name, "oracle");
//! ```

use thiserror::Error;

use crate::policy::Policy;

pub mod dominance;
pub mod generate;
pub mod preview;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod strategy;
pub mod svg;
pub mod world;

pub use dominance::{dominance, Violation};
pub use report::Report;
pub use scenario::{Scenario, ScenarioError};
pub use strategy::sosroute::AuditLog;
pub use strategy::Strategy;

use strategy::sosroute::Wiring;
use strategy::CallResult;
use world::World;

/// A scenario that cannot be replayed under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    /// The scenario file is malformed.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// A scenario component the policy does not declare: the router could not be told about it.
    #[error(
        "line {line}: `component.name`: component {name:?} is not declared by the policy \
             {policy:?}; pass --policy FILE that declares it"
    )]
    UnknownToPolicy {
        /// The component.
        name: String,
        /// Its line in the scenario.
        line: usize,
        /// The policy's name.
        policy: String,
    },
    /// An audit log given as a corpus cannot be read.
    #[error("{0}")]
    Audit(#[from] crate::audit::ReplayError),
    /// A scenario component whose kind differs from the policy's component of that name.
    #[error(
        "line {line}: `component.kind`: component {name:?} is a {scenario} component here \
             but a {policy} component in the policy"
    )]
    KindMismatch {
        /// The component.
        name: String,
        /// Its line in the scenario.
        line: usize,
        /// Kind in the scenario.
        scenario: &'static str,
        /// Kind in the policy.
        policy: &'static str,
    },
    /// A `[[policy_change]]` policy that declares a scenario component under another id than
    /// the policy the replay starts with (or not at all).
    #[error(
        "`policy_change.policy`: {path:?} does not declare component {name:?} at the place \
         the starting policy does; declare the same components in the same order"
    )]
    ChangedIds {
        /// The component.
        name: String,
        /// The policy file, as the scenario names it.
        path: String,
    },
}

fn kind_name(kind: crate::policy::ComponentKind) -> &'static str {
    match kind {
        crate::policy::ComponentKind::Radio => "radio",
        crate::policy::ComponentKind::Service => "service",
    }
}

/// Maps the scenario's components onto the policy's, or says which one the policy lacks.
pub fn wire(scenario: &Scenario, policy: &Policy) -> Result<Wiring, SimError> {
    let mut ids = Vec::with_capacity(scenario.components.len());
    for c in &scenario.components {
        let id = policy
            .component_id(&c.name)
            .ok_or_else(|| SimError::UnknownToPolicy {
                name: c.name.clone(),
                line: c.line,
                policy: policy.name().to_owned(),
            })?;
        let declared = policy
            .component(id)
            .expect("component_id returns ids of declared components")
            .kind;
        if declared != c.kind {
            return Err(SimError::KindMismatch {
                name: c.name.clone(),
                line: c.line,
                scenario: kind_name(c.kind),
                policy: kind_name(declared),
            });
        }
        ids.push(id);
    }
    let mut changes = Vec::with_capacity(scenario.policy_changes.len());
    for change in &scenario.policy_changes {
        // The router is told about components by id: a changed policy must give every scenario
        // component the id the first one gave it.
        for (c, &id) in scenario.components.iter().zip(&ids) {
            if change.policy.component_id(&c.name) != Some(id) {
                return Err(SimError::ChangedIds {
                    name: c.name.clone(),
                    path: change.path.clone(),
                });
            }
        }
        changes.push((change.at_ms, change.policy.clone()));
    }
    Ok(Wiring {
        ids,
        shared: scenario.router == scenario::RouterMode::Shared,
        history_ms: strategy::sosroute::history_ms(policy),
        changes,
        probation: true,
        audit: None,
    })
}

/// Runs one strategy over every caller.
pub fn run(world: &World, strategy: Strategy, policy: &Policy, wiring: &Wiring) -> Vec<CallResult> {
    let each = |f: &dyn Fn(&world::Caller) -> CallResult| world.callers.iter().map(f).collect();
    match strategy {
        Strategy::Oracle => each(&|c| strategy::oracle::call(world, c)),
        Strategy::HomeOnly => each(&|c| strategy::home_only::call(world, c)),
        Strategy::AndroidLike => each(&|c| strategy::android_like::call(world, c)),
        Strategy::Sosroute if wiring.shared => {
            strategy::sosroute::run_shared(world, policy, wiring).0
        }
        Strategy::Sosroute => {
            each(&|c| strategy::sosroute::call_per_caller(world, c, policy, wiring))
        }
    }
}

/// Replays `scenario` through every strategy and reports. `progress` hears one line per
/// strategy as it starts.
pub fn replay(
    scenario: Scenario,
    policy: &Policy,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, SimError> {
    replay_audited(scenario, policy, progress, None)
}

/// [`replay`], with the audit trail of every router the `sosroute` strategy uses written to
/// `audit` as JSON lines (`sosroute replay SCENARIO --audit LOG.jsonl`).
pub fn replay_audited(
    scenario: Scenario,
    policy: &Policy,
    progress: &mut dyn FnMut(&str),
    audit: Option<&strategy::sosroute::AuditLog>,
) -> Result<Report, SimError> {
    let mut wiring = wire(&scenario, policy)?;
    wiring.audit = audit.cloned();
    let world = World::new(scenario);
    let mut results = Vec::with_capacity(Strategy::ALL.len());
    let mut statuses = Vec::new();
    for s in Strategy::ALL {
        progress(&format!(
            "{}: {} calls through {}",
            world.scenario.name,
            world.callers.len(),
            s.name()
        ));
        if s == Strategy::Sosroute && !wiring.changes.is_empty() {
            let (calls, seen) = strategy::sosroute::run_shared(&world, policy, &wiring);
            statuses = seen;
            results.push((s, calls));
        } else {
            results.push((s, run(&world, s, policy, &wiring)));
        }
    }
    let mut report = report::build(&world, policy.name(), &results);
    if !wiring.changes.is_empty() {
        progress(&format!(
            "{}: {} calls through sosroute without probation",
            world.scenario.name,
            world.callers.len()
        ));
        let unguarded = Wiring {
            probation: false,
            ..wiring.clone()
        };
        let (calls, _) = strategy::sosroute::run_shared(&world, policy, &unguarded);
        report.add_policy_changes(&world, &statuses, &calls);
    }
    Ok(report)
}
