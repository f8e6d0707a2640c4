//! The planner: a pure function from (request, state snapshot, policy, now) to a plan.
//!
//! It knows nothing of threads, clocks, bytes or C, and does not touch the heap. The decision
//! rules of DESIGN.md, in the order they act:
//!
//! - rule 5: routes the caller cannot use, text routes to a PSAP not known to take text, and
//!   routes the policy does not list for the media are left out, each with its reason;
//! - rules 2 and 3: every other route is ranked by its evidence class (positive, unknown,
//!   negative: fresh observations, hold-down, breakers) and by policy preference within a class;
//!   open breakers and components that failed earlier in this call demote and shorten the timer;
//! - rule 4: a recovered component stays negative during the hold-down (in [`crate::state`]);
//! - rule 6: timers are clipped to the remaining budget, and routes past it are left out;
//! - rule 1: nothing with a fresh negative verdict is removed, only ranked last (fail open);
//! - rules 7 and 8 follow from ranking on a total order of (class, preference) alone.

use std::sync::Arc;

use crate::plan::{Attempt, LeftOut, LeftOutReason, Plan, Reason};
use crate::policy::{ComponentSet, Policy};
use crate::request::CallRequest;
use crate::route::{Capabilities, RouteId, RouteSet, MAX_ROUTES};
use crate::state::{Breaker, Evidence, Snapshot, Views};

/// What a call session adds to a plain request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constraints<'a> {
    /// Time left in the call's budget; `None` for the policy's whole budget.
    pub remaining_ms: Option<u64>,
    /// Routes that already failed in this call.
    pub failed: &'a [RouteId],
    /// Components blamed for failures earlier in this call: treated as negative evidence.
    pub suspect: ComponentSet,
}

/// Makes the plan for `request` from `snapshot` under `policy` at `now_ms`.
pub fn plan(
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Arc<Policy>,
    now_ms: u64,
    constraints: &Constraints<'_>,
) -> Plan {
    let views = Views::new(snapshot, policy);
    let mut plan = Plan::empty(request, policy);
    fill(
        &mut plan,
        request,
        snapshot,
        policy,
        &views,
        now_ms,
        constraints,
    );
    plan
}

/// [`plan`] into an existing plan, reading each component's and route's evidence and breaker
/// from `views` (which must have been made from `snapshot` under `policy`). Every field of the
/// plan is set; its tables keep their storage.
pub(crate) fn fill(
    plan: &mut Plan,
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Arc<Policy>,
    views: &Views,
    now_ms: u64,
    constraints: &Constraints<'_>,
) {
    plan.request = *request;
    plan.attempts.clear();
    plan.left_out.clear();
    plan.psap_state = snapshot.psap_state(request.psap, policy, now_ms);
    plan.epoch = snapshot.epoch;
    plan.made_at_ms = now_ms;
    if !Arc::ptr_eq(&plan.policy, policy) {
        plan.policy = Arc::clone(policy);
    }
    let routes = policy.routes();
    let preferences = policy.preferences(request.psap);
    let preference = preferences.for_media(request.media);

    // Rule 5: hard constraints exclude. Each test is a set of routes; a left-out route gets the
    // reason of the first test it fails, and they are listed in policy order.
    let not_listed = policy.all_routes().minus(preferences.listed(request.media));
    let lacking = policy.routes_lacking(request.caller);
    let text_not_ready = if snapshot.psap_text_ready(request.psap, policy, now_ms) {
        RouteSet::default()
    } else {
        policy.text_routes()
    };
    let mut failed = RouteSet::default();
    for &id in constraints.failed {
        if let Some(index) = policy.route_index(id) {
            failed.insert(index);
        }
    }
    let without_media = policy.routes_without_media(request.media, request.caller);
    let excluded = not_listed
        .union(lacking)
        .union(text_not_ready)
        .union(failed)
        .union(without_media);
    for index in excluded.iter() {
        let route = &routes[index];
        let reason = if not_listed.contains(index) {
            LeftOutReason::NotPreferred
        } else if lacking.contains(index) {
            LeftOutReason::MissingCapability
        } else if text_not_ready.contains(index) {
            LeftOutReason::PsapNotTextReady
        } else if failed.contains(index) {
            LeftOutReason::AlreadyFailed
        } else {
            LeftOutReason::NotPreferred
        };
        plan.left_out.push(LeftOut {
            route: route.id,
            reason,
            missing: if reason == LeftOutReason::MissingCapability {
                route.requires.missing_from(request.caller)
            } else {
                Capabilities::NONE
            },
        });
    }
    let usable = policy.all_routes().minus(excluded);

    // Rules 2, 3 and 4: each usable route's observed evidence and breaker at `now_ms`, the
    // worst over the route and its components, read from its view (the hold-down is in the
    // view). A component blamed earlier in this call counts as negative with an open breaker,
    // for this call only. `ranks[class]` holds the preference ranks in each class: walking the
    // classes in order and each set's ranks upwards yields the order of (class, rank) with no
    // sort.
    let mut ranks = [0u32; 3];
    let mut states = [(Evidence::Unknown, Breaker::Closed); MAX_ROUTES];
    for (rank, &index) in preference.iter().enumerate() {
        let index = index as usize;
        if !usable.contains(index) {
            continue;
        }
        let state = if routes[index].needs.intersects(constraints.suspect) {
            (Evidence::Negative, Breaker::Open)
        } else {
            let view = views.route(index);
            (view.observed(now_ms), view.breaker(now_ms))
        };
        ranks[class_slot(class(state))] |= 1 << rank;
        states[rank] = state;
    }

    // Rule 2: fresh positive, then unknown, then negative; policy preference within a class.
    let has_verified = ranks[class_slot(Evidence::Positive)] != 0;
    let mut remaining = constraints.remaining_ms.unwrap_or(policy.budget_ms);
    for class in [Evidence::Positive, Evidence::Unknown, Evidence::Negative] {
        let mut rest = ranks[class_slot(class)];
        while rest != 0 {
            let rank = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let index = preference[rank] as usize;
            let route = &routes[index];
            let left_out = if class == Evidence::Unknown && !policy.allow_unverified && has_verified
            {
                Some(LeftOutReason::Unverified)
            } else if remaining == 0 {
                // Rule 6: never promise more time than remains.
                Some(LeftOutReason::OverBudget)
            } else {
                None
            };
            if let Some(reason) = left_out {
                plan.left_out.push(LeftOut {
                    route: route.id,
                    reason,
                    missing: Capabilities::NONE,
                });
                continue;
            }
            let (observed, breaker) = states[rank];
            let media = route
                .media_for(request.media, request.caller)
                .expect("a usable route carries media for the request");
            let mut attempt = Attempt {
                route: route.id,
                kind: route.kind,
                media,
                timeout_ms: if breaker == Breaker::Closed {
                    route.setup_timeout_ms
                } else {
                    demoted_timeout(route.setup_timeout_ms, policy)
                },
                needs_user_action: route.kind.needs_user_action() || media != request.media,
                reason: reason(class, breaker),
                evidence: class,
                blamed: match route.needs.first_in(constraints.suspect) {
                    // Failed earlier in this call: that is what holds the route back.
                    Some(c) => Some(c),
                    None => views.route(index).blamed(observed, breaker, now_ms),
                },
            };
            attempt.timeout_ms = attempt.timeout_ms.min(remaining);
            remaining -= attempt.timeout_ms;
            plan.attempts.push(attempt);
        }
    }

    plan.fail_open = !plan.attempts.is_empty()
        && plan
            .attempts
            .iter()
            .all(|a| a.evidence == Evidence::Negative);
}

/// The class a route with observed evidence and breaker `state` ranks in: its observed class,
/// or negative while a breaker is open (demoted).
fn class((observed, breaker): (Evidence, Breaker)) -> Evidence {
    if breaker == Breaker::Open {
        Evidence::Negative
    } else {
        observed
    }
}

/// The slot of `class` in a table indexed by evidence class.
fn class_slot(class: Evidence) -> usize {
    match class {
        Evidence::Positive => 0,
        Evidence::Unknown => 1,
        Evidence::Negative => 2,
    }
}

/// Why an attempt ranked in `class` with its worst breaker in state `breaker` is in the plan.
fn reason(class: Evidence, breaker: Breaker) -> Reason {
    match breaker {
        Breaker::Open => Reason::Demoted,
        // Half-open: ranked by what is observed again, so the next call does try it (a trial
        // ranked below healthy routes would never run, and the breaker would never close).
        Breaker::HalfOpen if class == Evidence::Negative => Reason::FailOpen,
        Breaker::HalfOpen => Reason::Trial,
        Breaker::Closed => match class {
            Evidence::Positive => Reason::Verified,
            Evidence::Unknown => Reason::Unverified,
            Evidence::Negative => Reason::FailOpen,
        },
    }
}

/// The shortened timer of a demoted route: a percentage of the normal one, floored, and never
/// longer than the normal one.
fn demoted_timeout(normal_ms: u64, policy: &Policy) -> u64 {
    let shortened = normal_ms.saturating_mul(policy.demoted_timeout_pct as u64) / 100;
    shortened.max(policy.min_setup_timeout_ms).min(normal_ms)
}
