//! The planner: a pure function from (request, state snapshot, policy, now) to a plan.
//!
//! It knows nothing of threads, clocks, bytes or C, and does not touch the heap. The decision
//! rules of `docs/DESIGN.md`, in the order they act:
//!
//! - rule 5: routes the caller cannot use, text routes to a PSAP not known to take text, and
//!   routes the policy does not list for the media are left out, each with its reason;
//! - rules 2 and 3: every other route is ranked by its evidence class (positive, unknown,
//!   negative: fresh observations, hold-down, breakers), then faster before slow (routes whose
//!   timer is above the policy's `slow_route_s`; a slow one that has not connected recently
//!   after every faster one), then, for a call, routes whose timer is shorter than the
//!   network's own give-up before those that may hang for all of it, then by policy preference;
//!   open breakers and components that failed earlier in this call demote; of them, only the
//!   route's own open breaker shortens the timer;
//! - rule 10: a redial walk tries routes that failed at once in this call before those that
//!   timed out or failed slowly;
//! - rule 4: a recovered component stays negative during the hold-down (in [`crate::state`]);
//! - rule 9: no timer is cut below what the route's recent successes needed; a route whose timer
//!   bounds a hang is probed on a shortened timer while observations say it is down; a half-open
//!   trial runs on the full timer; a further attempt at a route in one call waits for the network's
//!   own give-up ([`NETWORK_GIVE_UP_MS`]), or as long as the one before where that was longer, and
//!   twice as long (or twice the full timer) where a route whose policy timer is at least the
//!   give-up (a scan, a text, a satellite link) ran out its timer and is not reported down; a
//!   route that ran out a shorter timer stays in the walk, after the routes not tried yet and
//!   before unproven slow ones;
//! - rule 6: timers are clipped to the remaining budget, and routes past it are left out;
//! - rule 1: nothing with a fresh negative verdict is removed, only ranked last (fail open);
//! - rule 11: a component blamed by other routes' failures (its breaker, or a failure earlier
//!   in this call) does not hold back a route that has connected since;
//! - rules 7 and 8 follow from ranking on a total order of (class, speed, preference) alone.

use std::sync::Arc;

use crate::observation::PsapId;
use crate::plan::{Attempt, LeftOut, LeftOutReason, Plan, Reason};
use crate::policy::{Policy, MAX_COMPONENTS};
use crate::published::Published;
use crate::request::CallRequest;
use crate::route::{Capabilities, Media, RouteId, RouteKind, RouteSet, MAX_ROUTES};
use crate::state::{timer_floor_ms, Breaker, Evidence, Snapshot, Views};

/// The network's own give-up on a call attempt that gets no answer: SIP timer B, 64 × T1 = 32 s
/// (RFC 3261 §17.1.1.2). Repeated attempts at a route in one call escalate their timer to it; a
/// route whose policy timer is already at least this long (what its medium needs: a scan and an
/// attach, a text, a satellite link) waits twice as long on a redial after it ran out.
pub const NETWORK_GIVE_UP_MS: u64 = 32_000;

/// What a call session adds to a plain request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constraints<'a> {
    /// Time left in the call's budget; `None` for the policy's whole budget.
    pub remaining_ms: Option<u64>,
    /// Routes that already failed in this call.
    pub failed: &'a [RouteId],
    /// How many failures earlier in this call blamed each component (by id): a route through a
    /// blamed component counts as negative evidence, ranked after less blamed ones.
    pub blame: [u8; MAX_COMPONENTS],
    /// The timer of the latest attempt at each route (by policy index) earlier in this call;
    /// 0 for a route not tried yet.
    pub tried_ms: [u32; MAX_ROUTES],
    /// Routes (by policy index) whose latest attempt in this call ran out its timer.
    pub timed_out: RouteSet,
    /// Routes (by policy index) whose latest attempt in this call failed before its timer ran
    /// out, but only after the policy's redial backoff or longer (a slow refusal): a redial walk
    /// treats them as routes that timed out.
    pub failed_slowly: RouteSet,
}

impl Constraints<'_> {
    /// Whether a failure earlier in the call blamed any component.
    fn any_blame(&self) -> bool {
        self.blame.iter().any(|&b| b != 0)
    }

    /// The routes whose latest attempt in this call cost time to fail: it ran out its timer or
    /// failed slowly. A redial walk tries the routes that failed at once (a reject costs little
    /// to try again; a flapping network may be back) before them.
    fn slow_failures(&self) -> RouteSet {
        self.timed_out.union(self.failed_slowly)
    }
}

/// Makes the plan for `request` from `snapshot` under `policy` at `now_ms`.
pub fn plan(
    request: &CallRequest,
    snapshot: &Snapshot,
    policy: &Arc<Policy>,
    now_ms: u64,
    constraints: &Constraints<'_>,
) -> Plan {
    let published = Published::unranked(snapshot.clone(), Arc::clone(policy));
    let mut plan = Plan::empty(request, policy);
    fill(&published, &mut plan, request, now_ms, constraints);
    plan
}

/// [`plan`] into an existing plan, on `published`: each route's evidence and breaker from its
/// views, its rank from its rankings where they hold. Every field of the plan is set; its
/// tables keep their storage.
pub(crate) fn fill(
    published: &Published,
    plan: &mut Plan,
    request: &CallRequest,
    now_ms: u64,
    constraints: &Constraints<'_>,
) {
    let Published {
        snapshot,
        policy,
        views,
        rankings,
        ..
    } = published;
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
    // Rule 9: a route that ran out a timer shorter than the network's own give-up has not had
    // its full chance; it stays in the walk, after the routes not tried yet, on a longer timer.
    let failed = failed.minus(cut_short(constraints));
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

    // Rules 2, 3 and 4: what the state says of each usable route, and their order. The router
    // keeps these for the default lists while no route's state changes; otherwise work them
    // out here.
    let kept = rankings
        .as_ref()
        .filter(|_| {
            !constraints.any_blame()
                && constraints.slow_failures().is_empty()
                && std::ptr::eq(preferences, policy.preferences(PsapId(0)))
        })
        .and_then(|r| r.at(now_ms));
    let fresh;
    let (assessed, order) = match kept {
        Some(kept) => (&kept.assessed, &kept.orders[request.media as usize - 1]),
        None => {
            let (mut assessed, mut order) = (NOT_ASSESSED, EMPTY_ORDER);
            assess(
                &mut assessed,
                policy,
                usable,
                views,
                now_ms,
                &constraints.blame,
            );
            order.refresh(
                preference,
                usable,
                policy.slow_routes(),
                request.media != Media::Text,
                &assessed,
                Failures::of(constraints),
            );
            fresh = (assessed, order);
            (&fresh.0, &fresh.1)
        }
    };

    // Rule 2: fresh positive, then unknown, then negative; policy preference within a class.
    let entries = order.iter().filter(|&index| usable.contains(index));
    let has_verified = entries
        .clone()
        .next()
        .is_some_and(|index| assessed.attempts[index].evidence == Evidence::Positive);
    let mut remaining = constraints.remaining_ms.unwrap_or(policy.budget_ms);
    for index in entries {
        let route = &routes[index];
        let mut attempt = assessed.attempts[index];
        let left_out =
            if attempt.evidence == Evidence::Unknown && !policy.allow_unverified && has_verified {
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
        attempt.media = route
            .media_for(request.media, request.caller)
            .expect("a usable route carries media for the request");
        attempt.needs_user_action =
            route.kind.needs_user_action() || attempt.media != request.media;
        // Rule 9: a redial of a route tried earlier in this call escalates its timer.
        let before_ms = constraints.tried_ms[index];
        if before_ms > 0 {
            attempt.timeout_ms = escalated(
                attempt.timeout_ms,
                route.setup_timeout_ms,
                before_ms,
                constraints.timed_out.contains(index) && assessed.slow_today.contains(index),
            );
        }
        attempt.timeout_ms = attempt.timeout_ms.min(remaining);
        remaining -= attempt.timeout_ms;
        plan.attempts.push(attempt);
    }

    plan.fail_open = !plan.attempts.is_empty()
        && plan
            .attempts
            .iter()
            .all(|a| a.evidence == Evidence::Negative);
}

/// The routes whose latest attempt in this call ran out a timer shorter than the network's own
/// give-up: a longer wait might have connected them.
fn cut_short(constraints: &Constraints<'_>) -> RouteSet {
    let mut set = RouteSet::EMPTY;
    for index in constraints.timed_out.iter() {
        set.set(
            index,
            u64::from(constraints.tried_ms[index]) < NETWORK_GIVE_UP_MS,
        );
    }
    set
}

/// How the latest attempt at each route (by policy index) earlier in a call failed, for the
/// redial order (rules 9 and 10).
#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Failed at once (within the redial backoff).
    at_once: RouteSet,
    /// Timed out or failed slowly.
    slowly: RouteSet,
}

impl Failures {
    /// A call that has tried nothing yet.
    const NONE: Failures = Failures {
        at_once: RouteSet::EMPTY,
        slowly: RouteSet::EMPTY,
    };

    /// The failures of the call with `constraints`.
    fn of(constraints: &Constraints<'_>) -> Failures {
        let slowly = constraints.slow_failures();
        let mut at_once = RouteSet::EMPTY;
        for (index, &tried) in constraints.tried_ms.iter().enumerate() {
            at_once.set(index, tried > 0 && !slowly.contains(index));
        }
        Failures { at_once, slowly }
    }
}

/// What the state says of each route (by policy index), for ranking.
#[derive(Debug, Clone, PartialEq)]
struct Assessed {
    /// The attempt the state makes of the route: evidence class, reason, timer (not yet clipped
    /// to a budget) and blame. Its media is left to the request.
    attempts: [Attempt; MAX_ROUTES],
    /// For a route through a component that failures earlier in the call blamed, how often its
    /// most blamed component was blamed: it ranks after less suspect routes of its class and
    /// speed.
    suspicion: [u8; MAX_ROUTES],
    /// The routes that connected within the learning window (a setup time is learnt).
    proven: RouteSet,
    /// The routes whose timer is what their medium needs (the policy's is at least the network's
    /// give-up: a scan and an attach, a text, a satellite link) and that no fresh report says are
    /// down: one that ran out its timer may just be slow today (rule 9).
    slow_today: RouteSet,
}

const NOT_ASSESSED: Assessed = Assessed {
    attempts: [PLACEHOLDER; MAX_ROUTES],
    suspicion: [0; MAX_ROUTES],
    proven: RouteSet::EMPTY,
    slow_today: RouteSet::EMPTY,
};

/// Fills `assessed` for each route in `among` from the state at `now_ms` and this call's
/// `blame`.
fn assess(
    assessed: &mut Assessed,
    policy: &Policy,
    among: RouteSet,
    views: &Views,
    now_ms: u64,
    blame: &[u8; MAX_COMPONENTS],
) {
    for index in among.iter() {
        let route = &policy.routes()[index];
        // The worst evidence and breaker over the route and its components, from its view (the
        // hold-down is in the view).
        let view = views.route(index);
        // Rule 11: what failed earlier in this call does not hold back a route that connected
        // (for any call) within the cool-down.
        let trusted = view.succeeded_since(now_ms.saturating_sub(policy.cool_down_ms));
        let suspect = route
            .needs
            .iter()
            .filter(|c| !trusted && blame[c.0 as usize % MAX_COMPONENTS] > 0)
            .max_by_key(|c| (blame[c.0 as usize % MAX_COMPONENTS], std::cmp::Reverse(c.0)));
        assessed.suspicion[index] = suspect.map_or(0, |c| blame[c.0 as usize % MAX_COMPONENTS]);
        let (observed, breaker) = (view.observed(now_ms), view.breaker(now_ms));
        let class = class(observed, breaker);
        // Rule 9: never below what recent successes needed. Two things shorten the timer: the
        // route's own open breaker (its own attempts failed, across calls), and, for a route
        // whose timer bounds a hang (below the network's own give-up), fresh observations that
        // it is down (or back within the hold-down): an attempt then is a probe, and one cut
        // short is redialled on the give-up. Not a component's breaker (other routes' failures,
        // through the policy's assumed dependencies), not a suspicion within this call, not a
        // half-open trial.
        let need = view.setup_need_ms(now_ms);
        assessed.proven.set(index, need > 0);
        let floor = timer_floor_ms(need);
        // A timer below the give-up bounds a hang; one at or above it is what the route's
        // medium needs, and one that ran out may just be slow today, unless a fresh report says
        // it is down (that explains a timeout; the hold-down after a report that it is back
        // does not).
        let bounds_hang = route.setup_timeout_ms < NETWORK_GIVE_UP_MS;
        let down = view.reported_down(now_ms);
        assessed.slow_today.set(index, !bounds_hang && !down);
        let own = view.own_breaker(now_ms);
        let probe = own == Breaker::Closed && bounds_hang && observed == Evidence::Negative;
        let timeout_ms = if probe || own == Breaker::Open {
            demoted_timeout(route.setup_timeout_ms, policy)
        } else {
            route.setup_timeout_ms
        };
        assessed.attempts[index] = Attempt {
            route: route.id,
            kind: route.kind,
            timeout_ms: timeout_ms.max(floor),
            reason: if suspect.is_some() {
                Reason::Demoted
            } else {
                reason(class, breaker)
            },
            evidence: class,
            // Failed earlier in this call: that is what holds the route back.
            blamed: suspect.or_else(|| view.blamed(observed, breaker, now_ms)),
            ..PLACEHOLDER
        };
    }
}

/// What [`assess`] leaves to the request, and the attempt of a route it did not assess.
const PLACEHOLDER: Attempt = Attempt {
    route: RouteId(0),
    kind: RouteKind::Custom,
    media: Media::Voice,
    timeout_ms: 0,
    delay_ms: 0,
    needs_user_action: false,
    reason: Reason::Unverified,
    evidence: Evidence::Unknown,
    blamed: None,
};

/// Routes (policy indices) in plan order.
#[derive(Debug, Clone, PartialEq)]
struct Order {
    len: usize,
    indices: [u8; MAX_ROUTES],
}

const EMPTY_ORDER: Order = Order {
    len: 0,
    indices: [0; MAX_ROUTES],
};

impl Order {
    /// Makes this rule 2's order of the routes of `preference` in `among`, from what is
    /// `assessed` of them and the `failures` earlier in this call (rules 9 and 10):
    /// 1. last, the routes in `slow` that are not `proven` (no recent success), unless they
    ///    failed at once earlier in this call, and those that failed slowly in it;
    /// 2. after the others, routes whose latest attempt in this call timed out or failed
    ///    slowly;
    /// 3. by the evidence class of their attempts (positive, unknown, negative), a slow route
    ///    ranking with the unknown ones when its evidence is positive;
    /// 4. the slow routes after the others;
    /// 5. the routes blamed less by failures earlier in the call first (0, 1, 2, more);
    /// 6. for `a_call` (voice or RTT: a text request's list is the caller's choice of medium),
    ///    the routes whose timer reaches the network's own give-up after the others;
    /// 7. in preference order.
    ///
    /// Each route's place is one small number (its group, then its rank in the preference
    /// list), so the order is a sort of at most `MAX_ROUTES` of them.
    fn refresh(
        &mut self,
        preference: &[u8],
        among: RouteSet,
        slow: RouteSet,
        a_call: bool,
        assessed: &Assessed,
        failures: Failures,
    ) {
        let mut keys = [0u16; MAX_ROUTES];
        self.len = 0;
        for (rank, &index) in preference.iter().enumerate() {
            let index = index as usize;
            if among.contains(index) {
                let slow = slow.contains(index);
                let unproven = slow && !assessed.proven.contains(index);
                let last = (unproven && !failures.at_once.contains(index))
                    || (slow && failures.slowly.contains(index));
                let long = a_call && assessed.attempts[index].timeout_ms >= NETWORK_GIVE_UP_MS;
                let group = last as u16 * 96
                    + failures.slowly.contains(index) as u16 * 48
                    + rank_slot(assessed.attempts[index].evidence, slow) * 16
                    + slow as u16 * 8
                    + u16::from(assessed.suspicion[index].min(3)) * 2
                    + long as u16;
                keys[self.len] = group * MAX_ROUTES as u16 + rank as u16;
                self.len += 1;
            }
        }
        let keys = &mut keys[..self.len];
        keys.sort_unstable();
        for (slot, key) in self.indices.iter_mut().zip(keys) {
            *slot = preference[usize::from(*key) % MAX_ROUTES];
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        self.indices[..self.len].iter().map(|&index| index as usize)
    }
}

/// Every route assessed, and the policy's default preference lists ordered in full, for the time
/// window around one instant in which no route's evidence, breaker or blame changes. Within it,
/// a request's usable routes are in the order of its list restricted to them. The router makes
/// these when the state changes, so that a decision on a default list (no PSAP-specific list,
/// no suspects: the usual case) only picks its routes out of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rankings {
    from_ms: u64,
    until_ms: u64,
    assessed: Assessed,
    orders: [Order; 3],
}

impl Rankings {
    /// The rankings at `at_ms` (the latest time the state has heard of).
    pub(crate) fn new(policy: &Policy, views: &Views, at_ms: u64) -> Rankings {
        let mut rankings = Rankings {
            from_ms: 0,
            until_ms: 0,
            assessed: NOT_ASSESSED,
            orders: [EMPTY_ORDER; 3],
        };
        rankings.refresh(policy, views, at_ms);
        rankings
    }

    /// Makes these the rankings at `at_ms`, in place (the writer refreshes them on every
    /// update, and a new table is worth moving only once).
    pub(crate) fn refresh(&mut self, policy: &Policy, views: &Views, at_ms: u64) {
        let mut window = (0, u64::MAX);
        for index in 0..policy.routes().len() {
            views.route(index).narrow(at_ms, &mut window);
        }
        (self.from_ms, self.until_ms) = window;
        let all = policy.all_routes();
        assess(
            &mut self.assessed,
            policy,
            all,
            views,
            at_ms,
            &[0; MAX_COMPONENTS],
        );
        let preferences = policy.preferences(PsapId(0));
        for (order, media) in self.orders.iter_mut().zip(Media::ALL) {
            order.refresh(
                preferences.for_media(media),
                all,
                policy.slow_routes(),
                media != Media::Text,
                &self.assessed,
                Failures::NONE,
            );
        }
    }

    /// These rankings, if they hold at `now_ms`.
    fn at(&self, now_ms: u64) -> Option<&Rankings> {
        (self.from_ms..self.until_ms)
            .contains(&now_ms)
            .then_some(self)
    }
}

/// The class a route with `observed` evidence and a `breaker` ranks in: its observed class, or
/// negative while a breaker is open (demoted).
fn class(observed: Evidence, breaker: Breaker) -> Evidence {
    if breaker == Breaker::Open {
        Evidence::Negative
    } else {
        observed
    }
}

/// The slot a route in evidence class `class` ranks in: by class, except that a slow route with
/// positive evidence ranks with the unknown ones. A slow attempt costs a large part of the
/// caller's patience: it goes ahead of faster routes only when evidence is against them.
fn rank_slot(class: Evidence, slow: bool) -> u16 {
    match class {
        Evidence::Positive if !slow => 0,
        Evidence::Positive | Evidence::Unknown => 1,
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

/// The timer of a redial of a route whose latest attempt in this call ran `before_ms` and which
/// the state would give `timeout_ms`: a redial waits for the network's own give-up (a route that
/// is slow today gets the whole of what the network allows, as the phone's own ladder gives it),
/// or as long as before where that was longer; never less than `timeout_ms`.
/// Where the earlier attempt ran out its timer and the route may be `slow_today` (its timer is
/// what its medium needs, not a bound on a hang, and no observation explains the timeout), the
/// redial waits twice as long as that attempt or the route's `full_ms` timer, whichever was
/// longer (a shortened attempt that ran out is weak evidence): a scan and an attach that take
/// 40 s can never beat a 32 s timer however often it is tried.
fn escalated(timeout_ms: u64, full_ms: u64, before_ms: u32, slow_today: bool) -> u64 {
    let before = u64::from(before_ms);
    let wait = if slow_today {
        before.max(full_ms) * 2
    } else {
        before
    };
    timeout_ms.max(wait).max(NETWORK_GIVE_UP_MS)
}

/// The shortened timer of a demoted route: a percentage of the normal one, floored, and never
/// longer than the normal one.
fn demoted_timeout(normal_ms: u64, policy: &Policy) -> u64 {
    let shortened = normal_ms.saturating_mul(policy.demoted_timeout_pct as u64) / 100;
    shortened.max(policy.min_setup_timeout_ms).min(normal_ms)
}
