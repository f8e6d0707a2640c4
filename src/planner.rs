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
use crate::policy::{ComponentSet, Policy, Route, MAX_COMPONENTS};
use crate::request::CallRequest;
use crate::route::{Capabilities, Media, RouteId, MAX_ROUTES};
use crate::state::{Breaker, ComponentView, Evidence, Snapshot};

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
    plan_with_views(request, snapshot, policy, None, now_ms, constraints)
}

/// [`plan`], reading each component's evidence and breaker from `views` (which must have been
/// made from `snapshot` under `policy`) instead of working them out from `snapshot`.
pub(crate) fn plan_with_views(
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Arc<Policy>,
    views: Option<&[ComponentView; MAX_COMPONENTS]>,
    now_ms: u64,
    constraints: &Constraints<'_>,
) -> Plan {
    // The plan is built in place (it is returned by value, and moving its fixed tables at the
    // end cost a memcpy of about 800 bytes per decision).
    let mut plan = Plan::empty(request, policy);
    fill(
        &mut plan,
        request,
        snapshot,
        policy,
        views,
        now_ms,
        constraints,
    );
    plan
}

/// [`plan_with_views`] into an existing plan, reusing its tables: a host that keeps a plan
/// (the C ABI's spare plan handles) saves moving a whole plan per decision.
pub(crate) fn fill(
    plan: &mut Plan,
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Arc<Policy>,
    views: Option<&[ComponentView; MAX_COMPONENTS]>,
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
    let preference = policy.preference(request.media, request.psap);
    let text_ready = snapshot.psap_text_ready(request.psap, policy, now_ms);

    // Each route's position in the preference list (`NOT_LISTED` if absent), looked up once
    // rather than searched for per route. A validated policy lists each route at most once and
    // has at most `MAX_ROUTES` routes, so every index and position fits.
    const NOT_LISTED: u8 = u8::MAX;
    let mut rank_of = [NOT_LISTED; MAX_ROUTES];
    for (rank, &index) in preference.iter().enumerate() {
        rank_of[index as usize] = rank as u8;
    }
    // Usable routes by preference rank. Ranks are unique, so walking this table once per
    // evidence class yields the order of (class, rank) with no sort.
    let mut by_rank: [Option<Attempt>; MAX_ROUTES] = [None; MAX_ROUTES];

    // Rule 5: hard constraints exclude, in policy order so the left-out list reads predictably.
    for (index, route) in policy.routes().iter().enumerate() {
        let leave = |reason, missing| LeftOut {
            route: route.id,
            reason,
            missing,
        };
        let rank = rank_of[index];
        if rank == NOT_LISTED {
            plan.left_out
                .push(leave(LeftOutReason::NotPreferred, Capabilities::NONE));
            continue;
        }
        let missing = route.requires.missing_from(request.caller);
        if !missing.is_empty() {
            plan.left_out
                .push(leave(LeftOutReason::MissingCapability, missing));
            continue;
        }
        if route.kind.needs_text_ready_psap() && !text_ready {
            plan.left_out
                .push(leave(LeftOutReason::PsapNotTextReady, Capabilities::NONE));
            continue;
        }
        if constraints.failed.contains(&route.id) {
            plan.left_out
                .push(leave(LeftOutReason::AlreadyFailed, Capabilities::NONE));
            continue;
        }
        let Some(media) = media_for(route, request) else {
            plan.left_out
                .push(leave(LeftOutReason::NotPreferred, Capabilities::NONE));
            continue;
        };
        by_rank[rank as usize] = Some(assess(
            route,
            index,
            media,
            request,
            snapshot,
            policy,
            views,
            now_ms,
            constraints.suspect,
        ));
    }
    let by_rank = &by_rank[..preference.len()];

    // Rule 2: fresh positive, then unknown, then negative; policy preference within a class.
    let has_verified = by_rank
        .iter()
        .flatten()
        .any(|a| a.evidence == Evidence::Positive);
    let mut remaining = constraints.remaining_ms.unwrap_or(policy.budget_ms);
    for class in [Evidence::Positive, Evidence::Unknown, Evidence::Negative] {
        for &attempt in by_rank.iter().flatten() {
            if attempt.evidence != class {
                continue;
            }
            let mut attempt = attempt;
            if class == Evidence::Unknown && !policy.allow_unverified && has_verified {
                plan.left_out.push(LeftOut {
                    route: attempt.route,
                    reason: LeftOutReason::Unverified,
                    missing: Capabilities::NONE,
                });
                continue;
            }
            // Rule 6: never promise more time than remains.
            if remaining == 0 {
                plan.left_out.push(LeftOut {
                    route: attempt.route,
                    reason: LeftOutReason::OverBudget,
                    missing: Capabilities::NONE,
                });
                continue;
            }
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

/// The media to use on `route` for `request`: the requested one where the route carries it;
/// otherwise a voice (or RTT) caller may text, and a text caller may use RTT or, failing that,
/// place a voice call (a silent call still reaches a call taker).
fn media_for(route: &Route, request: &CallRequest) -> Option<Media> {
    let carries = |m: Media| route.media.contains(m);
    let rtt_ok = request.caller.contains(Capabilities::RTT) && carries(Media::Rtt);
    match request.media {
        Media::Voice if carries(Media::Voice) => Some(Media::Voice),
        Media::Rtt if rtt_ok => Some(Media::Rtt),
        Media::Text if carries(Media::Text) => Some(Media::Text),
        Media::Voice | Media::Rtt if carries(Media::Text) => Some(Media::Text),
        Media::Rtt if carries(Media::Voice) => Some(Media::Voice),
        Media::Text if rtt_ok => Some(Media::Rtt),
        Media::Text if carries(Media::Voice) => Some(Media::Voice),
        _ => None,
    }
}

/// Evidence class, reason and timer of one usable route.
#[allow(clippy::too_many_arguments)]
fn assess(
    route: &Route,
    index: usize,
    media: Media,
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Policy,
    views: Option<&[ComponentView; MAX_COMPONENTS]>,
    now_ms: u64,
    suspect: ComponentSet,
) -> Attempt {
    // The worst observed class over the route's components (unknown if it declares none), and
    // the worst breaker over the route and its components. A component blamed for a failure
    // earlier in this call counts as negative and demotes, for this call only.
    let mut class = if route.needs.0 == 0 {
        Evidence::Unknown
    } else {
        Evidence::Positive
    };
    let mut breaker = snapshot.route_health(index).breaker(policy, now_ms);
    let (mut observed_blame, mut breaker_blame) = (None, None);
    for c in route.needs.iter() {
        let (observed, b) = if suspect.contains(c) {
            (Evidence::Negative, Breaker::Open)
        } else {
            let view = match views {
                Some(views) => views[c.0 as usize],
                None => snapshot.component(c).view(policy),
            };
            (view.observed(now_ms), view.breaker(now_ms))
        };
        if observed > class {
            class = observed;
            observed_blame = Some(c);
        }
        if b > breaker {
            breaker = b;
            breaker_blame = Some(c);
        }
    }
    let reason = match breaker {
        Breaker::Open => {
            class = Evidence::Negative;
            Reason::Demoted
        }
        // Half-open: ranked by what is observed again, so the next call does try it (a trial
        // ranked below healthy routes would never run, and the breaker would never close).
        Breaker::HalfOpen if class == Evidence::Negative => Reason::FailOpen,
        Breaker::HalfOpen => Reason::Trial,
        Breaker::Closed => match class {
            Evidence::Positive => Reason::Verified,
            Evidence::Unknown => Reason::Unverified,
            Evidence::Negative => Reason::FailOpen,
        },
    };
    let timeout_ms = if breaker == Breaker::Closed {
        route.setup_timeout_ms
    } else {
        demoted_timeout(route.setup_timeout_ms, policy)
    };
    Attempt {
        route: route.id,
        kind: route.kind,
        media,
        timeout_ms,
        needs_user_action: route.kind.needs_user_action() || media != request.media,
        reason,
        evidence: class,
        blamed: breaker_blame.or(observed_blame),
    }
}

/// The shortened timer of a demoted route: a percentage of the normal one, floored, and never
/// longer than the normal one.
fn demoted_timeout(normal_ms: u64, policy: &Policy) -> u64 {
    let shortened = normal_ms.saturating_mul(policy.demoted_timeout_pct as u64) / 100;
    shortened.max(policy.min_setup_timeout_ms).min(normal_ms)
}
