//! The baseline: the same kind of decision written the way a hurried integrator would write it.
//! State is a `Mutex<HashMap<String, _>>` keyed by component name, every call allocates a fresh
//! `Vec` of candidates, sorts it and explains itself with `String` reasons. Nothing here is
//! deliberately slow; it is ordinary code, and it is what sosroute's numbers are compared with.

// Each including bench uses a different subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use sosroute::{Fact, Observation, Policy, RadioState, ServiceState, Subject};

/// The latest thing seen about a component.
#[derive(Debug, Clone)]
struct NaiveFact {
    /// `Some(true)` working, `Some(false)` not, `None` nobody knows.
    up: Option<bool>,
    at_ms: u64,
}

#[derive(Debug, Clone)]
struct NaiveRoute {
    name: String,
    needs: Vec<String>,
    timeout_ms: u64,
}

/// One attempt of a naive plan.
#[derive(Debug, Clone)]
pub struct NaiveAttempt {
    pub route: String,
    pub timeout_ms: u64,
    pub reason: String,
}

/// A router as a hurried integrator would write it.
pub struct NaiveRouter {
    state: Mutex<HashMap<String, NaiveFact>>,
    failures: Mutex<HashMap<String, u32>>,
    routes: Vec<NaiveRoute>,
    component_names: Vec<String>,
    ttl_ms: u64,
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
                    timeout_ms: r.setup_timeout_ms,
                }
            })
            .collect();
        NaiveRouter {
            state: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            routes,
            component_names,
            ttl_ms: 30_000,
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
                RadioState::Unknown => None,
            },
            Fact::Service { state } => match state {
                ServiceState::Up => Some(true),
                ServiceState::Down => Some(false),
                ServiceState::Unknown => None,
            },
            _ => None,
        };
        let name = self.component_names[c.0 as usize].clone();
        self.state
            .lock()
            .unwrap()
            .insert(name, NaiveFact { up, at_ms: o.at_ms });
    }

    /// Records that an attempt on `route` failed.
    pub fn record_failure(&self, route: &str) {
        *self
            .failures
            .lock()
            .unwrap()
            .entry(route.to_string())
            .or_insert(0) += 1;
    }

    /// Records that an attempt on `route` connected.
    pub fn record_success(&self, route: &str) {
        self.failures.lock().unwrap().insert(route.to_string(), 0);
    }

    /// Working routes first, unknown next, broken last; preference order within each.
    pub fn plan(&self, now_ms: u64) -> Vec<NaiveAttempt> {
        let state = self.state.lock().unwrap();
        let failures = self.failures.lock().unwrap();
        let mut candidates: Vec<(u8, usize, NaiveAttempt)> = Vec::new();
        for (preference, route) in self.routes.iter().enumerate() {
            let mut class = 0u8;
            let mut reason = String::from("fresh evidence it works");
            if route.needs.is_empty() {
                class = 1;
                reason = String::from("no fresh evidence either way");
            }
            for need in &route.needs {
                let fresh = state
                    .get(need)
                    .filter(|f| now_ms < f.at_ms + self.ttl_ms)
                    .and_then(|f| f.up);
                match fresh {
                    Some(true) => {}
                    Some(false) => {
                        class = 2;
                        reason = format!("{need} is down, tried anyway");
                    }
                    None if class < 1 => {
                        class = 1;
                        reason = format!("nothing fresh about {need}");
                    }
                    None => {}
                }
            }
            let mut timeout_ms = route.timeout_ms;
            if failures.get(&route.name).copied().unwrap_or(0) >= 2 {
                class = 2;
                timeout_ms /= 2;
                reason = format!("{} failed recently", route.name);
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
        candidates.into_iter().map(|(_, _, a)| a).collect()
    }
}
