//! The planner on arbitrary state and requests, checking the decision rules of
//! `docs/DESIGN.md` as assertions: a voice plan is never empty (1); attempts are ordered
//! positive, unknown, negative evidence, then faster before slow routes, then less blamed in
//! the call first, then by policy preference (2), each in the class its state implies (3, 4, 11);
//! a route the caller cannot use is never attempted and is left out with its reason (5);
//! timeouts fit the budget (6) and are never above the route's full timer unless escalated (9);
//! the same input gives the same plan, also on a router rebuilt from the same updates (7). A
//! whole call session then runs on the same router with arbitrary outcomes: its attempts obey
//! the same rules, fit the budget left, escalate on redial (9), and the call ends only when the
//! budget is spent or it connects (10).
//!
//! State is built through `Router::apply` from arbitrary batches (some refused, which must change
//! nothing), on the shipped policy with arbitrary timers, thresholds and preference orders.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
// The pure planner and its call-session constraints: not API, reached through the hidden
// testing module.
use sosroute::__testing::{self as planner, Constraints, RouteSet};
use sosroute::{
    Breaker, CallRequest, Capabilities, ComponentId, Done, EmergencyService, Evidence, Fact,
    LeftOutReason, Media, Next, Observation, Outcome, Plan, PsapId, PsapState, RadioState, Reason,
    RejectCause, RouteId, Router, ServiceState, SignalLevel, Snapshot, Update,
};
use sosroute::{Policy, PolicySpec, MAX_COMPONENTS, MAX_ROUTES, NETWORK_GIVE_UP_MS};

const RADIO: [RadioState; 4] = [
    RadioState::InService,
    RadioState::LimitedService,
    RadioState::NoService,
    RadioState::Unknown,
];
const SERVICE: [ServiceState; 3] = [ServiceState::Up, ServiceState::Down, ServiceState::Unknown];
const PSAP: [PsapState; 7] = [
    PsapState::Normal,
    PsapState::Overloaded,
    PsapState::Down,
    PsapState::Unreachable,
    PsapState::GoingDown,
    PsapState::ScheduledMaintenance,
    PsapState::Unknown,
];
const CAUSES: [RejectCause; 5] = [
    RejectCause::NoSignal,
    RejectCause::Congestion,
    RejectCause::ServiceUnavailable,
    RejectCause::NotAllowed,
    RejectCause::Other,
];
const PSAPS: [u32; 3] = [0, 7, 9];

/// The shipped policy with arbitrary numbers and preference orders; the default if the changed
/// spec does not validate.
fn policy(u: &mut Unstructured) -> Result<Policy> {
    static DEFAULT: OnceLock<Policy> = OnceLock::new();
    let default = DEFAULT.get_or_init(Policy::us_default);
    let mut spec: PolicySpec = default.spec().clone();
    if u.arbitrary()? {
        spec.allow_unverified = u.arbitrary()?;
        spec.budget.total_s = f64::from(u.int_in_range(1u32..=400)?);
        spec.budget.redial_backoff_s = Some(f64::from(u.int_in_range(1u32..=10)?));
        spec.budget.slow_route_s = Some(f64::from(u.int_in_range(1u32..=120)?));
        spec.breaker.learn_window_s = Some(f64::from(u.int_in_range(0u32..=1200)?));
        spec.ttl.radio_s = f64::from(u.int_in_range(1u32..=120)?);
        spec.ttl.service_s = f64::from(u.int_in_range(1u32..=120)?);
        spec.ttl.link_s = f64::from(u.int_in_range(1u32..=300)?);
        spec.ttl.advisory_s = f64::from(u.int_in_range(1u32..=7200)?);
        spec.breaker.failure_threshold = u.int_in_range(1..=5)?;
        spec.breaker.cool_down_s = f64::from(u.int_in_range(0u32..=120)?);
        spec.breaker.hold_down_s = f64::from(u.int_in_range(0u32..=60)?);
        spec.breaker.demoted_timeout_pct = u.int_in_range(1..=100)?;
        spec.breaker.min_setup_timeout_s = f64::from(u.int_in_range(1u32..=20)?);
        for r in &mut spec.route {
            r.setup_timeout_s = f64::from(u.int_in_range(1u32..=120)?);
        }
        for list in [
            &mut spec.preference.voice,
            &mut spec.preference.text,
            &mut spec.preference.rtt,
        ] {
            // Shuffle, then maybe drop a tail (validation keeps an unconditional voice route).
            for i in (1..list.len()).rev() {
                let j = u.int_in_range(0..=i)?;
                list.swap(i, j);
            }
            let keep = u.int_in_range(1..=list.len())?;
            list.truncate(keep);
        }
    }
    Ok(Policy::from_spec(spec).unwrap_or_else(|_| default.clone()))
}

fn fact(u: &mut Unstructured) -> Result<Fact> {
    Ok(match u.int_in_range(0..=7)? {
        0 => Fact::Radio {
            state: *u.choose(&RADIO)?,
            signal: SignalLevel(*u.choose(&[0, 1, 2, 3, 4, 255, 5])?),
        },
        1 => Fact::Service {
            state: *u.choose(&SERVICE)?,
        },
        2 => Fact::Probe {
            ok: u.arbitrary()?,
            rtt_ms: u.arbitrary()?,
        },
        3 => Fact::Link {
            connected: u.arbitrary()?,
        },
        4 => Fact::E911Address {
            registered: u.arbitrary()?,
        },
        5 => Fact::Outage {
            active: u.arbitrary()?,
        },
        6 => Fact::Psap {
            state: *u.choose(&PSAP)?,
        },
        _ => Fact::PsapTextReady {
            ready: u.arbitrary()?,
        },
    })
}

/// A time near `now`: mostly in the recent past (fresh or stale), sometimes ahead.
fn time(u: &mut Unstructured, now: u64) -> Result<u64> {
    let back = u64::from(u.int_in_range(0u32..=400_000)?);
    Ok(if u.ratio(1, 8)? {
        now + back
    } else {
        now.saturating_sub(back)
    })
}

fn update(u: &mut Unstructured, policy: &Policy, now: u64) -> Result<Update> {
    // Mostly ids the policy declares, sometimes one it does not (the batch is then refused).
    let components = policy.components().len() as u16;
    let routes = policy.routes().len();
    Ok(match u.int_in_range(0..=9)? {
        0..=5 => {
            let c = ComponentId(u.int_in_range(0..=components)?);
            // Facts that fit the component's kind, mostly.
            let f = fact(u)?;
            Update::Observe(Observation::component(c, f, time(u, now)?))
        }
        6 => Update::Observe(Observation::psap(
            PsapId(*u.choose(&PSAPS)?),
            fact(u)?,
            time(u, now)?,
        )),
        _ => {
            let index = u.int_in_range(0..=routes)?;
            let route = policy.routes().get(index).map_or(RouteId(999), |r| r.id);
            let outcome = match u.int_in_range(0..=2)? {
                0 => Outcome::Connected,
                1 => Outcome::TimedOut,
                _ => Outcome::Rejected {
                    cause: *u.choose(&CAUSES)?,
                    code: u.arbitrary()?,
                },
            };
            Update::Outcome {
                route,
                outcome,
                at_ms: time(u, now)?,
            }
        }
    })
}

fn request(u: &mut Unstructured, now: u64) -> Result<CallRequest> {
    let mut caps = Capabilities(u.arbitrary::<u32>()? & Capabilities::ALL.0);
    if u.ratio(1, 16)? {
        caps = Capabilities(u.arbitrary()?); // unknown bits too
    }
    Ok(CallRequest {
        call_id: u.arbitrary()?,
        service: EmergencyService::Sos,
        media: *u.choose(&Media::ALL)?,
        caller: caps,
        psap: PsapId(*u.choose(&PSAPS)?),
        now_ms: now,
        classified_by_dialer: u.ratio(1, 8)?,
    })
}

/// The evidence class rules 2-4 and 11 give a route, from the snapshot's public accessors.
fn expected_class(policy: &Policy, snapshot: &Snapshot, index: usize, now: u64) -> Evidence {
    let route = &policy.routes()[index];
    let mut class = if route.needs.0 == 0 {
        Evidence::Unknown
    } else {
        Evidence::Positive
    };
    let own = snapshot.route_health(index);
    let mut breaker = own.breaker(policy, now);
    for c in route.needs.iter() {
        let state = snapshot.component(c);
        class = class.max(state.observed(policy, now));
        // Rule 11: a component's breaker does not count against a route that connected since
        // it opened.
        let trusted = state.health.tripped
            && own
                .last_success()
                .is_some_and(|t| t >= state.health.opened_at_ms);
        if !trusted {
            breaker = breaker.max(state.health.breaker(policy, now));
        }
    }
    // An open breaker demotes; a half-open one lets the route be ranked by what is observed
    // again (its trial must be able to run, or the breaker never closes).
    match breaker {
        Breaker::Open => Evidence::Negative,
        Breaker::HalfOpen | Breaker::Closed => class,
    }
}

/// How often the most blamed component of a route was blamed earlier in the call (capped at 3),
/// or 0 where the route connected within the cool-down (rule 11).
fn suspicion(
    policy: &Policy,
    snapshot: &Snapshot,
    index: usize,
    now: u64,
    blame: &[u8; MAX_COMPONENTS],
) -> u8 {
    let trusted = snapshot
        .route_health(index)
        .last_success()
        .is_some_and(|t| t >= now.saturating_sub(policy.cool_down_ms));
    if trusted {
        return 0;
    }
    let needs = policy.routes()[index].needs;
    needs
        .iter()
        .map(|c| blame[c.0 as usize])
        .max()
        .unwrap_or(0)
        .min(3)
}

/// Every decision rule a single plan can be checked against.
fn check(
    plan: &Plan,
    policy: &Policy,
    snapshot: &Snapshot,
    request: &CallRequest,
    constraints: &Constraints<'_>,
) {
    let now = plan.made_at_ms;
    let budget = constraints.remaining_ms.unwrap_or(policy.budget_ms);
    let preference = policy.preference(request.media, request.psap);
    let text_ready = snapshot.psap_text_ready(request.psap, policy, now);

    // Rule 1: never empty for voice, with the whole budget and nothing failed yet.
    if request.media == Media::Voice && constraints.failed.is_empty() && budget > 0 {
        assert!(
            !plan.attempts.is_empty(),
            "rule 1: empty voice plan\n{}",
            plan.explain()
        );
    }

    // Every route of the policy is accounted for exactly once.
    for r in policy.routes() {
        let n = plan.attempts.iter().filter(|a| a.route == r.id).count()
            + plan.left_out.iter().filter(|l| l.route == r.id).count();
        assert_eq!(
            n,
            1,
            "route {} appears {n} times\n{}",
            r.name,
            plan.explain()
        );
    }

    let mut total = 0u64;
    let mut previous: Option<(bool, bool, Evidence, bool, u8, bool, usize)> = None;
    for a in &plan.attempts {
        let index = policy.route_index(a.route).expect("attempted routes exist");
        let route = &policy.routes()[index];
        // Rule 5: hard constraints exclude.
        assert!(
            route.requires.missing_from(request.caller).is_empty(),
            "rule 5: {} attempted without {}\n{}",
            route.name,
            route.requires.missing_from(request.caller).first_name(),
            plan.explain()
        );
        assert!(
            !route.kind.needs_text_ready_psap() || text_ready,
            "rule 5: text to a PSAP not known to take text\n{}",
            plan.explain()
        );
        // Rule 9: a route that failed in this walk is attempted again only if its timer ran
        // out before the network's own give-up (it has not had its full chance).
        let cut_short = constraints.timed_out.contains(index)
            && u64::from(constraints.tried_ms[index]) < NETWORK_GIVE_UP_MS;
        assert!(
            !constraints.failed.contains(&a.route) || cut_short,
            "a failed route is attempted again\n{}",
            plan.explain()
        );
        let rank = preference
            .iter()
            .position(|&i| i as usize == index)
            .expect("rule 5: attempted routes are in the policy's list for the media");
        assert!(route.media.contains(a.media));
        assert_eq!(
            a.needs_user_action,
            route.kind.needs_user_action() || a.media != request.media
        );

        // Rules 2-4: the class its state implies, and ordered by (class, speed, blame,
        // preference).
        let class = expected_class(policy, snapshot, index, now);
        let suspicion = suspicion(policy, snapshot, index, now, &constraints.blame);
        assert_eq!(
            a.evidence,
            class,
            "{} ranked in the wrong class\n{}",
            route.name,
            plan.explain()
        );
        let reason_fits = match a.reason {
            Reason::Verified => a.evidence == Evidence::Positive,
            Reason::Unverified => a.evidence == Evidence::Unknown,
            // A half-open trial ranks by what is observed: anything but negative.
            Reason::Trial => a.evidence != Evidence::Negative,
            Reason::Demoted => a.evidence == Evidence::Negative || suspicion > 0,
            Reason::FailOpen => a.evidence == Evidence::Negative,
            other => panic!("a reason this target does not check yet: {other:?}"),
        };
        assert!(
            reason_fits,
            "reason {:?} in class {:?}",
            a.reason, a.evidence
        );
        // A slow route with positive evidence ranks with the unknown ones; one that has not
        // connected recently (no setup time learnt) after every faster route, unless it failed
        // at once in this call, and so does one that timed out or failed slowly in this call;
        // routes that timed out or failed slowly in this call after those that failed at once
        // or were not tried. Then for a call, routes on a timer shorter than the give-up first.
        let slow = route.setup_timeout_ms > policy.slow_route_ms;
        let ranked = if slow && a.evidence == Evidence::Positive {
            Evidence::Unknown
        } else {
            a.evidence
        };
        let unproven = slow && snapshot.route_health(index).setup_need_ms(policy, now) == 0;
        let failed_slowly = constraints.timed_out.contains(index)
            || constraints.failed_slowly.contains(index);
        let failed_fast = constraints.tried_ms[index] > 0 && !failed_slowly;
        // For a call (not a text request), a route whose timer before any redial reaches the
        // network's give-up after the shorter ones: the policy's timer, shortened while its own
        // breaker is open, never below what its recent successes needed and a quarter. (The
        // probe of a route observed down shortens only timers already below the give-up, so it
        // never moves a route across it.)
        let health = snapshot.route_health(index);
        let mut timer = route.setup_timeout_ms;
        if health.breaker(policy, now) == Breaker::Open {
            let shortened = timer * u64::from(policy.demoted_timeout_pct) / 100;
            timer = shortened.max(policy.min_setup_timeout_ms).min(timer);
        }
        let need = health.setup_need_ms(policy, now);
        let long =
            request.media != Media::Text && timer.max(need + need / 4) >= NETWORK_GIVE_UP_MS;
        let key = (
            (unproven && !failed_fast) || (slow && failed_slowly),
            failed_slowly,
            ranked,
            slow,
            suspicion,
            long,
            rank,
        );
        if let Some(p) = previous {
            assert!(
                p < key,
                "rule 2: attempts out of order ({p:?} before {key:?})\n{}",
                plan.explain()
            );
        }
        previous = Some(key);

        // Rule 6: positive timers that fit what remains. Rule 9: none above the route's full
        // timer (the policy's, or what its recent successes needed and a quarter), unless it is
        // a redial in this call: then the network's give-up, or the earlier timer if longer, and
        // at most twice the earlier one or the route's own, whichever is longer, where it ran out
        // on a route whose policy timer is at least the give-up (whether an observation says it
        // is down, and so forgoes the doubling, is left to tests/rules.rs).
        assert!(a.timeout_ms > 0, "zero timeout\n{}", plan.explain());
        let need = snapshot.route_health(index).setup_need_ms(policy, now);
        let full = route.setup_timeout_ms.max(need + need / 4);
        let before = u64::from(constraints.tried_ms[index]);
        let redial = if before > 0 {
            before.max(NETWORK_GIVE_UP_MS)
        } else {
            0
        };
        let doubled = constraints.timed_out.contains(index)
            && route.setup_timeout_ms >= NETWORK_GIVE_UP_MS;
        let most = if doubled {
            (2 * before.max(route.setup_timeout_ms)).max(redial)
        } else {
            redial
        };
        assert!(
            a.timeout_ms <= full.max(most),
            "rule 9: a {} ms timer on {}\n{}",
            a.timeout_ms,
            route.name,
            plan.explain()
        );
        // (Unless the budget left after the attempts before it cut it.)
        if before > 0 && a.timeout_ms < budget - total {
            assert!(
                a.timeout_ms >= redial,
                "rule 9: a redial of {} not escalated from {before} ms\n{}",
                route.name,
                plan.explain()
            );
        }
        total += a.timeout_ms;
    }
    assert!(
        total <= budget,
        "rule 6: {total} ms of timers in a {budget} ms budget"
    );
    if !policy.allow_unverified
        && plan
            .attempts
            .first()
            .is_some_and(|a| a.evidence == Evidence::Positive)
    {
        assert!(plan
            .attempts
            .iter()
            .all(|a| a.evidence != Evidence::Unknown));
    }

    for l in &plan.left_out {
        let index = policy.route_index(l.route).expect("left-out routes exist");
        let route = &policy.routes()[index];
        match l.reason {
            LeftOutReason::MissingCapability => {
                assert!(!l.missing.is_empty());
                assert_eq!(l.missing, route.requires.missing_from(request.caller));
            }
            LeftOutReason::PsapNotTextReady => {
                assert!(route.kind.needs_text_ready_psap() && !text_ready)
            }
            LeftOutReason::AlreadyFailed => assert!(constraints.failed.contains(&l.route)),
            LeftOutReason::NotPreferred | LeftOutReason::OverBudget | LeftOutReason::Unverified => {
            }
            other => panic!("a left-out reason this target does not check yet: {other:?}"),
        }
        if l.reason != LeftOutReason::MissingCapability {
            assert!(l.missing.is_empty());
        }
    }

    let all_negative = plan
        .attempts
        .iter()
        .all(|a| a.evidence == Evidence::Negative);
    assert_eq!(plan.fail_open, !plan.attempts.is_empty() && all_negative);
    assert_eq!(plan.epoch, snapshot.epoch);
}

fn run(u: &mut Unstructured) -> Result<()> {
    let policy = policy(u)?;
    let router = Router::new(policy);
    let policy = router.policy();
    let mut now: u64 = u.int_in_range(0..=1_000_000)?;
    let mut applied: Vec<Vec<Update>> = Vec::new();
    for _ in 0..u.int_in_range(0..=12)? {
        now += u64::from(u.int_in_range(0u32..=60_000)?);
        let n = u.int_in_range(0..=6)?;
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            batch.push(update(u, &policy, now)?);
        }
        let before = router.snapshot();
        match router.apply(batch.iter().copied()) {
            Ok(epoch) => {
                assert_eq!(epoch, before.epoch + 1);
                applied.push(batch);
            }
            Err(e) => assert_eq!(
                router.snapshot(),
                before,
                "a refused batch changed state: {e}"
            ),
        }
    }

    now += u64::from(u.int_in_range(0u32..=200_000)?);
    let request = request(u, now)?;
    let snapshot = router.snapshot();

    // Rule 7: the same plan twice, through the router and through the pure function.
    let plan = router.plan(&request);
    let direct = planner::plan(&request, &snapshot, &policy, now, &Constraints::default());
    assert_eq!(plan, direct);
    assert_eq!(router.plan(&request), plan);
    check(&plan, &policy, &snapshot, &request, &Constraints::default());

    // ... and on a router rebuilt from the same updates.
    let replay = Router::new((*policy).clone());
    for batch in &applied {
        replay
            .apply(batch.iter().copied())
            .expect("a batch accepted once is accepted again");
    }
    assert_eq!(replay.snapshot(), snapshot);
    assert_eq!(replay.plan(&request).attempts, plan.attempts);

    // As a call session sees it: part of the budget spent, some routes failed or tried
    // before, some components blamed.
    let mut failed: Vec<RouteId> = Vec::new();
    let mut tried_ms = [0u32; MAX_ROUTES];
    let mut timed_out = RouteSet::default();
    let mut failed_slowly = RouteSet::default();
    for (i, r) in policy.routes().iter().enumerate() {
        if u.ratio(1, 4)? {
            failed.push(r.id);
        }
        if u.ratio(1, 4)? {
            tried_ms[i] = u.int_in_range(1u32..=60_000)?;
            timed_out.set(i, u.ratio(1, 2)?);
            failed_slowly.set(i, u.ratio(1, 3)?);
        }
    }
    let mut blame = [0u8; MAX_COMPONENTS];
    for b in blame.iter_mut().take(policy.components().len()) {
        if u.ratio(1, 6)? {
            *b = u.int_in_range(1..=5)?;
        }
    }
    let constraints = Constraints {
        remaining_ms: Some(u64::from(u.int_in_range(0u32..=400_000)?)),
        failed: &failed,
        blame,
        tried_ms,
        timed_out,
        failed_slowly,
    };
    let plan = planner::plan(&request, &snapshot, &policy, now, &constraints);
    let again = planner::plan(&request, &snapshot, &policy, now, &constraints);
    assert_eq!(plan, again);
    check(&plan, &policy, &snapshot, &request, &constraints);

    session(u, &router, &policy, request)
}

/// A whole call on the same router: the first attempt of a voice call always comes (rule 1);
/// every attempt is usable by the caller (rule 5) and fits the budget left (rule 6); a redial
/// of a route gets a longer timer (rule 9); a connected attempt ends the call; otherwise it ends
/// only when the budget is spent, or for a request no route can carry (rule 10).
fn session(
    u: &mut Unstructured,
    router: &Router,
    policy: &Policy,
    request: CallRequest,
) -> Result<()> {
    let start = request.now_ms;
    let end = start + policy.budget_ms;
    let mut now = start;
    let mut call = router.begin(request);
    let mut timers: Vec<(RouteId, u64)> = Vec::new();
    // Bounded for speed: with instant failures a call redials every backoff until its budget.
    for n in 0..300 {
        let next = call.next_attempt(now).expect("nothing is in flight");
        let a = match next {
            Next::Attempt(a) => a,
            Next::Done(Done::BudgetSpent) => {
                assert!(
                    now + policy.redial_backoff_ms >= end,
                    "rule 10: budget called spent with {} ms left",
                    end - now
                );
                break;
            }
            Next::Done(done) => {
                assert!(
                    n > 0 || request.media != Media::Voice,
                    "rule 1: a voice call ended before its first attempt"
                );
                assert!(
                    request.media != Media::Voice || done == Done::Connected,
                    "rule 10: a voice call ended with {done:?}"
                );
                break;
            }
        };
        let dialled = now + a.delay_ms;
        assert!(
            a.timeout_ms > 0 && dialled + a.timeout_ms <= end,
            "rule 6: a {} ms timer dialled {} ms into a {} ms budget",
            a.timeout_ms,
            dialled - start,
            policy.budget_ms
        );
        assert!(a.delay_ms <= policy.redial_backoff_ms);
        let route = policy.route(a.route).expect("attempted routes exist");
        assert!(
            route.requires.missing_from(request.caller).is_empty(),
            "rule 5"
        );
        if let Some(&(_, before)) = timers.iter().rev().find(|(r, _)| *r == a.route) {
            if dialled + a.timeout_ms < end && before < NETWORK_GIVE_UP_MS {
                assert!(
                    a.timeout_ms > before,
                    "rule 9: redial of {} not longer",
                    route.name
                );
            }
        }
        timers.push((a.route, a.timeout_ms));
        let outcome = match u.int_in_range(0..=7)? {
            0 => Outcome::Connected,
            1..=4 => Outcome::TimedOut,
            _ => Outcome::Rejected {
                cause: *u.choose(&CAUSES)?,
                code: 0,
            },
        };
        now = dialled
            + if outcome == Outcome::TimedOut {
                a.timeout_ms
            } else {
                u.int_in_range(0..=a.timeout_ms)?
            };
        call.report(outcome, now).expect("an attempt is in flight");
        if outcome.is_connected() {
            assert_eq!(call.next_attempt(now), Ok(Next::Done(Done::Connected)));
            break;
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
