//! The baseline: the same kind of decision as sosroute's planner, written the way a hurried
//! integrator would write it. State is a `Mutex<HashMap<String, _>>` keyed by component name,
//! every call allocates a fresh `Vec` of candidates, sorts it, and explains itself with `String`
//! reasons. It applies the same rules — capabilities and failed routes leave a route out (with a
//! reason), fresh facts rank positive / unknown / negative, a recent negative stays negative for
//! the hold-down, breakers on routes and components demote and halve the timer, timers are
//! clipped to the budget — so the comparison is like for like. Nothing in it is deliberately slow.

// Each including bench uses a different subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use sosroute::{Capabilities, Fact, Observation, Policy, RadioState, ServiceState, Subject};

/// The latest fact of one kind about a component.
#[derive(Debug, Clone)]
struct NaiveFact {
    kind: String,
    /// `Some(true)` working, `Some(false)` not, `None` nobody knows.
    up: Option<bool>,
    at_ms: u64,
    ttl_ms: u64,
}

/// Failures in a row and when the breaker last opened.
#[derive(Debug, Clone, Default)]
struct NaiveHealth {
    failures: u32,
    opened_at_ms: u64,
}

#[derive(Debug, Clone)]
struct NaiveRoute {
    name: String,
    needs: Vec<String>,
    requires: Capabilities,
    timeout_ms: u64,
}

/// One attempt of a naive plan.
#[derive(Debug, Clone)]
pub struct NaiveAttempt {
    pub route: String,
    pub timeout_ms: u64,
    pub reason: String,
}

/// A naive plan.
#[derive(Debug, Clone, Default)]
pub struct NaivePlan {
    pub attempts: Vec<NaiveAttempt>,
    pub left_out: Vec<(String, String)>,
}

/// A router as a hurried integrator would write it.
pub struct NaiveRouter {
    facts: Mutex<HashMap<String, Vec<NaiveFact>>>,
    health: Mutex<HashMap<String, NaiveHealth>>,
    routes: Vec<NaiveRoute>,
    component_names: Vec<String>,
    policy: Policy,
}

impl NaiveRouter {
    /// The routes and components of `policy`, in its voice preference order.
    pub fn new(policy: &Policy) -> NaiveRouter {
        let component_names: Vec<String> =
            policy.components().iter().map(|c| c.name.clone()).collect();
        let routes = policy
            .preference(sosroute::Media::Voice, sosroute::PsapId(0))
            .iter()
            .map(|&i| {
                let r = &policy.routes()[i as usize];
                NaiveRoute {
                    name: r.name.clone(),
                    needs: r
                        .needs
                        .iter()
                        .map(|c| component_names[c.0 as usize].clone())
                        .collect(),
                    requires: r.requires,
                    timeout_ms: r.setup_timeout_ms,
                }
            })
            .collect();
        NaiveRouter {
            facts: Mutex::new(HashMap::new()),
            health: Mutex::new(HashMap::new()),
            routes,
            component_names,
            policy: policy.clone(),
        }
    }

    /// Records an observation (the same `Observation` sosroute takes, looked up by name).
    pub fn observe(&self, o: &Observation) {
        let Subject::Component(c) = o.subject else {
            return;
        };
        let up = match o.fact {
            Fact::Radio { state, .. } => match state {
                RadioState::InService => Some(true),
                RadioState::LimitedService | RadioState::NoService => Some(false),
                _ => None,
            },
            Fact::Service { state } => match state {
                ServiceState::Up => Some(true),
                ServiceState::Down => Some(false),
                _ => None,
            },
            Fact::Probe { ok, .. } => Some(ok),
            Fact::Link { connected } => Some(connected),
            _ => None,
        };
        let fact = NaiveFact {
            kind: o.fact.name().to_string(),
            up,
            at_ms: o.at_ms,
            ttl_ms: self.policy.ttl_ms(o.fact.class()),
        };
        let name = self.component_names[c.0 as usize].clone();
        let mut facts = self.facts.lock().unwrap();
        let list = facts.entry(name).or_default();
        list.retain(|f| f.kind != fact.kind);
        list.push(fact);
    }

    /// Records how an attempt on `route` ended, on the route and on every component it needs.
    pub fn record(&self, route: &str, connected: bool, at_ms: u64) {
        let mut keys = vec![route.to_string()];
        if let Some(r) = self.routes.iter().find(|r| r.name == route) {
            keys.extend(r.needs.iter().cloned());
        }
        let mut health = self.health.lock().unwrap();
        for key in keys {
            let h = health.entry(key).or_default();
            if connected {
                h.failures = 0;
            } else {
                h.failures += 1;
                if h.failures >= self.policy.failure_threshold as u32 {
                    h.opened_at_ms = at_ms;
                }
            }
        }
    }

    /// Working routes first, unknown next, broken last; preference order within each.
    pub fn plan(&self, caller: Capabilities, failed: &[String], now_ms: u64) -> NaivePlan {
        let facts = self.facts.lock().unwrap();
        let health = self.health.lock().unwrap();
        let p = &self.policy;
        let mut plan = NaivePlan::default();
        let mut candidates: Vec<(u8, usize, NaiveAttempt)> = Vec::new();
        for (preference, route) in self.routes.iter().enumerate() {
            if !caller.contains(route.requires) {
                plan.left_out.push((
                    route.name.clone(),
                    format!(
                        "caller lacks {}",
                        route.requires.missing_from(caller).first_name()
                    ),
                ));
                continue;
            }
            if failed.contains(&route.name) {
                plan.left_out.push((
                    route.name.clone(),
                    "already failed in this call".to_string(),
                ));
                continue;
            }
            let mut class = if route.needs.is_empty() { 1 } else { 0 };
            let mut reason = String::from("fresh evidence it works");
            for need in &route.needs {
                let mut positive = false;
                for f in facts.get(need).map(|v| v.as_slice()).unwrap_or(&[]) {
                    let fresh = now_ms < f.at_ms + f.ttl_ms;
                    let recent = now_ms < f.at_ms + f.ttl_ms + p.hold_down_ms;
                    if f.up == Some(false) && recent {
                        class = 2;
                        reason = format!("{need} is down, tried anyway");
                    }
                    positive |= fresh && f.up == Some(true);
                }
                if !positive && class == 0 {
                    class = 1;
                    reason = format!("nothing fresh about {need}");
                }
            }
            let mut timeout_ms = route.timeout_ms;
            for key in std::iter::once(&route.name).chain(&route.needs) {
                if let Some(h) = health.get(key) {
                    if h.failures >= p.failure_threshold as u32
                        && now_ms < h.opened_at_ms + p.cool_down_ms
                    {
                        class = 2;
                        timeout_ms = (timeout_ms / 2).max(p.min_setup_timeout_ms);
                        reason = format!("{key} failed recently, shorter timer");
                    }
                }
            }
            candidates.push((
                class,
                preference,
                NaiveAttempt {
                    route: route.name.clone(),
                    timeout_ms,
                    reason,
                },
            ));
        }
        candidates.sort_by_key(|c| (c.0, c.1));
        let mut remaining = p.budget_ms;
        for (_, _, mut attempt) in candidates {
            if remaining == 0 {
                plan.left_out
                    .push((attempt.route, "no budget left for it".to_string()));
                continue;
            }
            attempt.timeout_ms = attempt.timeout_ms.min(remaining);
            remaining -= attempt.timeout_ms;
            plan.attempts.push(attempt);
        }
        plan
    }
}
