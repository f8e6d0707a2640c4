//! The decision rules of `docs/DESIGN.md`, one `proptest!` per rule, named after it.
//!
//! Each property was seen failing against a deliberately broken planner before it was trusted;
//! the breakage used for each is named in its doc comment.

mod common;

use common::*;
use proptest::prelude::*;
use sosroute::ComponentSet;
use sosroute::{
    Breaker, CallRequest, Capabilities, ComponentId, Evidence, Fact, LeftOutReason, Media, Next,
    Observation, Outcome, Plan, Policy, RadioState, RouteId, RouteKind, Router, ServiceState,
    Snapshot, Update,
};

/// Planning happens at this time; histories lie before it.
const NOW: u64 = 600_000;

fn default_policy() -> Policy {
    Policy::us_default()
}

/// Where `route` stands in the plan: its attempt index, or `usize::MAX` if left out.
fn position(plan: &Plan, route: sosroute::RouteId) -> usize {
    plan.attempts
        .iter()
        .position(|a| a.route == route)
        .unwrap_or(usize::MAX)
}

/// The test's own model of what a component's observations say at `now`, for histories of
/// observations only (no outcomes), each component observed at most once: fresh negative,
/// fresh positive, or nothing fresh.
fn modelled_class(fact: Option<(Fact, u64)>, policy: &Policy, now: u64) -> Evidence {
    let Some((fact, at)) = fact else {
        return Evidence::Unknown;
    };
    if now >= at + policy.ttl_ms(fact.class()) {
        return Evidence::Unknown;
    }
    match fact {
        Fact::Radio {
            state: RadioState::InService,
            ..
        } => Evidence::Positive,
        Fact::Radio {
            state: RadioState::Unknown,
            ..
        } => Evidence::Unknown,
        Fact::Radio { .. } => Evidence::Negative,
        Fact::Service {
            state: ServiceState::Up,
        } => Evidence::Positive,
        Fact::Service {
            state: ServiceState::Down,
        } => Evidence::Negative,
        Fact::Probe { ok, .. } | Fact::Link { connected: ok } => {
            if ok {
                Evidence::Positive
            } else {
                Evidence::Negative
            }
        }
        Fact::E911Address { registered: false } | Fact::Outage { active: true } => {
            Evidence::Negative
        }
        _ => Evidence::Unknown,
    }
}

/// Each component of `policy` observed at most once, by `facts` (one per component, in order):
/// a random fact, either fresh or long stale. The history, and each component's fact with its
/// time for [`modelled_class`].
fn observed_once(
    policy: &Policy,
    facts: &[Option<(u8, u8)>],
) -> (Vec<Update>, Vec<Option<(Fact, u64)>>) {
    let mut history = Vec::new();
    let mut per_component = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let c = ComponentId(i as u16);
        let radio = policy.components()[i].kind == sosroute::ComponentKind::Radio;
        let fact = f.map(|(pick, age)| {
            let fact = sample_fact(radio, pick);
            let at = if age == 0 { NOW - 1_000 } else { 0 };
            (fact, at)
        });
        if let Some((fact, at)) = fact {
            history.push(Update::Observe(Observation::component(c, fact, at)));
        }
        per_component.push(fact);
    }
    (history, per_component)
}

/// The default policy, each component's fact as [`observed_once`] makes them, and the voice plan
/// for `caller` on a router that has seen only those.
fn plan_observed_once(
    facts: &[Option<(u8, u8)>],
    caller: u32,
) -> (Policy, Vec<Option<(Fact, u64)>>, Plan) {
    let policy = default_policy();
    let (history, per_component) = observed_once(&policy, facts);
    let plan = router_with(&policy, &history).plan(&voice(NOW, Capabilities(caller)));
    (policy, per_component, plan)
}

/// The test's own model of the evidence class of the route at policy index `index`: the worst
/// over its components, unknown for a route that needs none.
fn modelled_route_class(
    policy: &Policy,
    per_component: &[Option<(Fact, u64)>],
    index: usize,
) -> Evidence {
    let r = &policy.routes()[index];
    let mut class = if r.needs.0 == 0 {
        Evidence::Unknown
    } else {
        Evidence::Positive
    };
    for c in r.needs.iter() {
        class = class.max(modelled_class(per_component[c.0 as usize], policy, NOW));
    }
    class
}

/// The test's own model of the timer the state gives the route at policy index `index` on a
/// router that has seen observations only (no breaker, nothing learnt): the policy's, or, for a
/// route whose timer is below the network's give-up and that is observed `down`, the demoted
/// share, floored (rule 9's probe).
fn modelled_state_timer(policy: &Policy, index: usize, down: bool) -> u64 {
    let timer = policy.routes()[index].setup_timeout_ms;
    if down && timer < sosroute::NETWORK_GIVE_UP_MS {
        (timer * u64::from(policy.demoted_timeout_pct) / 100).max(policy.min_setup_timeout_ms)
    } else {
        timer
    }
}

/// The test's own model of a redial's timer (rule 9), from the `state_timer` the state gives
/// the route, its policy timer `full_ms` and the earlier attempt's `before_ms`: at least the
/// network's give-up and the earlier attempt, and twice the earlier attempt or the full timer,
/// whichever is longer, where the route may be `slow_today` (it ran out a timer that is what its
/// medium needs, and no fresh report says it is down). Not yet clipped to the budget.
fn modelled_redial_timer(state_timer: u64, full_ms: u64, before_ms: u64, slow_today: bool) -> u64 {
    let wait = if slow_today {
        2 * before_ms.max(full_ms)
    } else {
        before_ms
    };
    state_timer.max(wait).max(sosroute::NETWORK_GIVE_UP_MS)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Rule 1. A voice plan is never empty, whatever the state; when every attempt has evidence
    /// against it, it says so and carries guidance.
    /// Broken planner it caught: attempts with negative evidence dropped instead of ranked last.
    #[test]
    fn rule_1_never_empty(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let request = CallRequest { media: Media::Voice, ..request };
        let plan = router.plan(&request);
        prop_assert!(!plan.attempts.is_empty(), "{}", plan.explain());
        let all_negative = plan.attempts.iter().all(|a| a.evidence == Evidence::Negative);
        prop_assert_eq!(plan.fail_open, all_negative);
        prop_assert!(!plan.guidance().text.is_empty());
        if all_negative {
            prop_assert!(plan.explain().contains("Guidance for the caller"));
        }
    }

    /// Rule 2. Fresh positive before unknown before fresh negative, by the test's own model of
    /// each route's evidence; routes whose timer is above the policy's `slow_route_s`
    /// (satellite) that have not connected recently after all faster ones; within a class,
    /// routes on a timer shorter than the network's own give-up before those that may hang for
    /// all of it; policy preference within that.
    /// Broken planners it caught: ranking by preference only (no sort by evidence class); a
    /// 32 s other network ahead of a 15 s Wi-Fi calling attempt with nothing against either.
    #[test]
    fn rule_2_fresh_evidence_first(
        facts in prop::collection::vec(prop::option::of((any::<u8>(), 0u8..2)), 7),
        caller in 0u32..=Capabilities::ALL.0,
    ) {
        let (policy, per_component, plan) = plan_observed_once(&facts, caller);
        let preference = policy.preference(Media::Voice, PSAP);
        let key = |route: sosroute::RouteId| {
            let index = policy.route_index(route).unwrap();
            let r = &policy.routes()[index];
            let class = modelled_route_class(&policy, &per_component, index);
            // A slow route with positive evidence ranks with the unknown ones; a slow route
            // that has not connected recently (no success in this test) after every faster one.
            let slow = r.setup_timeout_ms > policy.slow_route_ms;
            let rank = if slow && class == Evidence::Positive { Evidence::Unknown } else { class };
            let long = r.setup_timeout_ms >= sosroute::NETWORK_GIVE_UP_MS;
            (slow, rank, long, preference.iter().position(|&p| p as usize == index).unwrap())
        };
        let keys: Vec<_> = plan.attempts.iter().map(|a| key(a.route)).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "order {:?}: {}", keys, plan.explain());
        for a in &plan.attempts {
            let index = policy.route_index(a.route).unwrap();
            prop_assert_eq!(a.evidence, modelled_route_class(&policy, &per_component, index));
        }
    }

    /// Rule 3. Failures reported across calls demote a route (never remove it), shorten its own
    /// timer (its own breaker opened), and count against every route sharing a component blamed
    /// for the failure (demoted, on its full timer: the component graph is only a prior).
    /// Broken planner it caught: open breakers ignored (route kept at its observed class).
    #[test]
    fn rule_3_learn_from_failures(
        history in arb_history(&default_policy(), NOW - 10_000 - default_policy().cool_down_ms),
        request in arb_request(NOW),
        route_pick in 0usize..6,
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let request = CallRequest { media: Media::Voice, ..request };
        let route = &policy.routes()[route_pick];
        let before = router.plan(&request);
        for k in 0..policy.failure_threshold as u64 {
            router.record_outcome(route.id, Outcome::TimedOut, NOW - 5_000 + k).unwrap();
        }
        let after = router.plan(&request);
        // Nothing is removed (a route may move past the budget, reordered).
        let kept = |p: &Plan| p.attempts.len()
            + p.left_out.iter().filter(|l| l.reason == LeftOutReason::OverBudget).count();
        prop_assert_eq!(kept(&before), kept(&after), "nothing is removed");
        for a in &after.attempts {
            let r = policy.route(a.route).unwrap();
            if r.id == route.id || r.needs.intersects(route.needs) {
                prop_assert_eq!(a.evidence, Evidence::Negative, "{}", after.explain());
            }
            if r.id == route.id {
                prop_assert!(a.timeout_ms < r.setup_timeout_ms || a.timeout_ms == policy.min_setup_timeout_ms,
                    "timer not shortened: {}", after.explain());
            }
        }
        // Demoted: behind every route without evidence against it, except slow routes that have
        // not connected recently: those come after every faster route. (Its index may still
        // drop: routes sharing the blamed components are demoted with it.)
        let at = position(&after, route.id);
        let snapshot = router.snapshot();
        let unproven_slow = |id| unproven_slow(&snapshot, &policy, id, NOW);
        for (i, a) in after.attempts.iter().enumerate() {
            let slow_after_it = unproven_slow(a.route) && !unproven_slow(route.id);
            if a.evidence != Evidence::Negative && !slow_after_it {
                prop_assert!(i < at, "{}", after.explain());
            }
        }
        // Proportionate: failures within a cool-down of a success (the route works for some
        // callers) do not trip its breaker.
        let index = policy.route_index(route.id).unwrap();
        router.record_outcome(route.id, Outcome::Connected, NOW - 4_000).unwrap();
        for k in 0..policy.failure_threshold as u64 {
            router.record_outcome(route.id, Outcome::TimedOut, NOW - 3_000 + k).unwrap();
        }
        prop_assert_eq!(router.snapshot().route_health(index).breaker(&policy, NOW), Breaker::Closed);
    }

    /// Rule 3, trials back off: a trial costs the caller who runs it a full timer, so each trial
    /// a route fails doubles the cool-down before its next (at most eight cool-downs): the
    /// breaker stays open until then and lets the next trial through at once after; a success
    /// closes it, a later trip starts again from one cool-down, and while that success is
    /// within the learning window (the route works for some callers) failed trials do not
    /// double it.
    /// Broken state it caught: every failed trial re-opened the breaker for one cool-down.
    #[test]
    fn rule_3_failed_trials_back_off(
        route_pick in 0usize..6,
        trials in 0u64..6,
        late in prop::collection::vec(0u64..40_000, 6),
    ) {
        let policy = default_policy();
        let router = Router::new(policy.clone());
        let route = policy.routes()[route_pick].id;
        let breaker = |at: u64| router.snapshot().route_health(route_pick).breaker(&policy, at);
        let trip = |at: u64| {
            for k in 0..u64::from(policy.failure_threshold) {
                router.record_outcome(route, Outcome::TimedOut, at + k).unwrap();
            }
            at + u64::from(policy.failure_threshold) - 1
        };
        let mut opened = trip(1_000);
        for n in 0..=trials {
            let cool_down = policy.cool_down_ms << n.min(3);
            prop_assert_eq!(breaker(opened + cool_down - 1), Breaker::Open, "after {} failed trials", n);
            prop_assert_eq!(breaker(opened + cool_down), Breaker::HalfOpen, "after {} failed trials", n);
            if n < trials {
                // The trial fails some time after it was let through.
                opened += cool_down + late[n as usize];
                router.record_outcome(route, Outcome::TimedOut, opened).unwrap();
            }
        }
        router.record_outcome(route, Outcome::Connected, opened + 1).unwrap();
        prop_assert_eq!(breaker(opened + 2), Breaker::Closed);
        let opened = trip(opened + 2 + policy.cool_down_ms);
        prop_assert_eq!(breaker(opened + policy.cool_down_ms - 1), Breaker::Open);
        prop_assert_eq!(breaker(opened + policy.cool_down_ms), Breaker::HalfOpen);
        // Proportionate: a route that connected within the learning window works for some
        // callers; its failed trials do not make the rest wait longer.
        let opened = opened + policy.cool_down_ms + late[0] % 10_000;
        router.record_outcome(route, Outcome::TimedOut, opened).unwrap();
        prop_assert_eq!(breaker(opened + policy.cool_down_ms - 1), Breaker::Open);
        prop_assert_eq!(breaker(opened + policy.cool_down_ms), Breaker::HalfOpen);
    }

    /// Blame (not a rule of `docs/DESIGN.md`, but what explanations and audit records say): an
    /// attempt's blamed component is one of its route's components whose own state is what
    /// holds the route back. Where a component's breaker is worse than the route's own, it is
    /// the tripped component open the longest; else a negative component when the route is
    /// negative, a not-positive one when it is unknown; none when it is verified.
    /// Broken planner it caught: the blame of a route looked up under another route's index.
    #[test]
    fn blame_names_what_holds_the_route_back(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
        later in 0u64..120_000,
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let now = NOW + later;
        let plan = router.plan(&CallRequest { now_ms: now, ..request });
        let snapshot = router.snapshot();
        for a in &plan.attempts {
            let index = policy.route_index(a.route).unwrap();
            let route = &policy.routes()[index];
            let state = |c: ComponentId| snapshot.component(c);
            let own = snapshot.route_health(index).breaker(&policy, now);
            let worst_breaker = route.needs.iter()
                .map(|c| state(c).health.breaker(&policy, now))
                .max()
                .unwrap_or(Breaker::Closed);
            let observed = route.needs.iter()
                .map(|c| state(c).observed(&policy, now))
                .max()
                .unwrap_or(Evidence::Unknown);
            // Open for the cool-down, doubled for each failed trial (rule 3's backoff).
            let open_until = |c: ComponentId| {
                let h = state(c).health;
                h.opened_at_ms + (policy.cool_down_ms << h.failed_trials.min(3))
            };
            match a.blamed {
                Some(c) => {
                    prop_assert!(route.needs.contains(c), "{}", plan.explain());
                    if worst_breaker > own {
                        prop_assert_eq!(state(c).health.breaker(&policy, now), worst_breaker);
                        for other in route.needs.iter() {
                            if state(other).health.breaker(&policy, now) != Breaker::Closed {
                                prop_assert!(open_until(other) <= open_until(c), "{}", plan.explain());
                            }
                        }
                    } else {
                        prop_assert!(observed != Evidence::Positive, "{}", plan.explain());
                        prop_assert_eq!(state(c).observed(&policy, now), observed, "{}", plan.explain());
                    }
                }
                None => prop_assert!(
                    worst_breaker <= own && (observed == Evidence::Positive || route.needs.is_empty()),
                    "{}", plan.explain()
                ),
            }
        }
    }

    /// Rule 4. A component flapping faster than the hold-down does not make consecutive calls
    /// bounce between routes: from the first failure on, every call starts on the same route.
    /// Broken planner it caught: hold-down ignored (a recovered component promoted at once).
    #[test]
    fn rule_4_no_flapping(
        gaps in prop::collection::vec(1_000u64..29_000, 2..12),
        probes in prop::collection::vec(0u64..29_000, 1..6),
        component in prop::sample::select(vec!["home_core", "home_ran"]),
    ) {
        let policy = default_policy();
        let router = Router::new(policy.clone());
        let healthy = |t| vec![
            obs(&router, "home_ran", radio(RadioState::InService), t),
            obs(&router, "home_core", service(ServiceState::Up), t),
            obs(&router, "other_ran", radio(RadioState::InService), t),
        ];
        router.update(&healthy(0)).unwrap();
        let mut t = 1_000;
        let mut down = true;
        let mut first_routes = Vec::new();
        for gap in gaps {
            let fact = match (component, down) {
                ("home_ran", true) => radio(RadioState::NoService),
                ("home_ran", false) => radio(RadioState::InService),
                (_, true) => service(ServiceState::Down),
                (_, false) => service(ServiceState::Up),
            };
            let mut batch = healthy(t);
            batch.push(obs(&router, component, fact, t));
            router.update(&batch).unwrap();
            for p in &probes {
                let at = t + p % gap;
                let plan = router.plan(&voice(at, Capabilities::NONE));
                first_routes.push(plan.attempts[0].route);
            }
            t += gap;
            down = !down;
        }
        prop_assert!(first_routes.windows(2).all(|w| w[0] == w[1]), "bounced: {:?}", first_routes);
    }

    /// Rule 5. A route the caller cannot use never appears as an attempt; it is left out with
    /// its reason. Every route is either attempted or left out, exactly once.
    /// Broken planner it caught: text offered without checking the PSAP's text-readiness.
    #[test]
    fn rule_5_hard_constraints_exclude(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let plan = router.plan(&request);
        let snapshot = router.snapshot();
        let text_ready = snapshot.psap_text_ready(request.psap, &policy, NOW);
        for route in policy.routes() {
            let attempted = plan.attempts.iter().filter(|a| a.route == route.id).count();
            let left: Vec<_> = plan.left_out.iter().filter(|l| l.route == route.id).collect();
            prop_assert_eq!(attempted + left.len(), 1, "{} once: {}", route.name, plan.explain());
            let missing = route.requires.missing_from(request.caller);
            if !missing.is_empty() {
                prop_assert_eq!(attempted, 0);
                prop_assert_eq!(left[0].reason, LeftOutReason::MissingCapability);
                prop_assert_eq!(left[0].missing, missing);
            } else if route.kind == RouteKind::Text && !text_ready {
                prop_assert_eq!(attempted, 0);
                prop_assert_eq!(left[0].reason, LeftOutReason::PsapNotTextReady);
            }
        }
    }

    /// Rule 6. Attempt timers fit the remaining budget: a plan never promises more time than
    /// remains, at any point of a call, and no attempt gets more than its route's timer.
    /// Broken planner it caught: timers not clipped to the remaining budget.
    #[test]
    fn rule_6_budget(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
        budget_s in 1u32..200,
        elapsed in 0u64..250_000,
    ) {
        let text = sosroute::US_HANDSET_TOML.replace("total_s = 180.0", &format!("total_s = {budget_s}.0"));
        let policy = Policy::from_toml(&text).unwrap();
        let router = router_with(&policy, &history);
        let plan = router.plan(&request);
        let total: u64 = plan.attempts.iter().map(|a| a.timeout_ms).sum();
        prop_assert!(total <= policy.budget_ms, "{} > {}", total, policy.budget_ms);
        let session = router.begin(request);
        let later = session.plan(NOW + elapsed);
        let remaining = policy.budget_ms.saturating_sub(elapsed);
        let total: u64 = later.attempts.iter().map(|a| a.timeout_ms).sum();
        prop_assert!(total <= remaining, "{} > {} remaining", total, remaining);
        for a in plan.attempts.iter().chain(&later.attempts) {
            prop_assert!(a.timeout_ms <= policy.route(a.route).unwrap().setup_timeout_ms);
            prop_assert!(a.timeout_ms > 0);
        }
    }

    /// Rule 7. Same request, state and policy give the same plan, bit for bit, on two routers
    /// fed the same updates (one as a batch, one an update at a time), and on one router asked
    /// twice.
    /// Broken planners it caught: the class order alternating from one ranking to the next; the
    /// order reversed on every other ranking.
    #[test]
    fn rule_7_deterministic(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
    ) {
        let policy = default_policy();
        let a = router_with(&policy, &history);
        let b = Router::new(policy.clone());
        for update in &history {
            b.apply([*update]).unwrap();
        }
        let (pa, mut pb, pa2) = (a.plan(&request), b.plan(&request), a.plan(&request));
        // The one difference: the state's epoch counts batches.
        prop_assert_eq!((pa.epoch, pb.epoch), (1, history.len() as u64));
        pb.epoch = pa.epoch;
        prop_assert_eq!(&pa, &pb);
        prop_assert_eq!(&pa, &pa2);
        // Planning into a kept plan (the C ABI does) gives the same plan as a fresh one.
        let other = CallRequest { media: Media::Text, caller: Capabilities::ALL, ..request };
        let mut reused = a.plan(&other);
        a.plan_into(&request, &mut reused);
        prop_assert_eq!(&reused, &pa);
        prop_assert_eq!(reused.explain(), pa.explain());
        prop_assert_eq!(pa.explain(), pb.explain());
        prop_assert_eq!(
            serde_json::to_string(&pa.record()).unwrap(),
            serde_json::to_string(&pb.record()).unwrap()
        );
    }

    /// Rule 8. Improving one route's own state (an observation of a component only it depends
    /// on: a better fact in its history, or a fresh positive report) never moves it later.
    /// Broken planner it caught: positive evidence ranked below unknown.
    #[test]
    fn rule_8_monotone(
        history in arb_history(&default_policy(), NOW - 1),
        request in arb_request(NOW),
        pick in any::<prop::sample::Index>(),
        fresh_report in any::<bool>(),
    ) {
        let policy = default_policy();
        let exclusive = exclusive_components(&policy);
        let (route_index, component) = exclusive[pick.index(exclusive.len())];
        let route = policy.routes()[route_index].id;
        let before = router_with(&policy, &history).plan(&request);
        let mut improved = history.clone();
        let radio = policy.components()[component.0 as usize].kind == sosroute::ComponentKind::Radio;
        let best = if radio { radio_fact_in_service() } else { Fact::Service { state: ServiceState::Up } };
        if fresh_report {
            improved.push(Update::Observe(Observation::component(component, best, NOW)));
        } else {
            // Replace the component's worst observation with the best fact of the same slot.
            let worst = improved.iter().position(|u| matches!(u,
                Update::Observe(o) if o.subject == sosroute::Subject::Component(component)
                    && is_negative(&o.fact)));
            if let Some(i) = worst {
                if let Update::Observe(o) = improved[i] {
                    improved[i] = Update::Observe(Observation { fact: better(&o.fact), ..o });
                }
            }
        }
        let after = router_with(&policy, &improved).plan(&request);
        prop_assert!(position(&after, route) <= position(&before, route),
            "before: {}\nafter: {}", before.explain(), after.explain());
    }
}

/// Whether `route` is slow (a timer above the policy's `slow_route_s`) and has not connected
/// within the learning window at `at_ms`: what rule 2 ranks after every faster route and rule 10
/// holds back for a redial.
fn unproven_slow(snapshot: &Snapshot, policy: &Policy, route: RouteId, at_ms: u64) -> bool {
    let index = policy.route_index(route).unwrap();
    policy.routes()[index].setup_timeout_ms > policy.slow_route_ms
        && snapshot.route_health(index).setup_need_ms(policy, at_ms) == 0
}

/// One attempt of a session driven by [`drive`]: what was handed out and when it was dialled.
#[derive(Debug, Clone, Copy)]
struct Dialled {
    attempt: sosroute::Attempt,
    start_ms: u64,
}

/// Drives a call from its request's time: `end` says how each attempt ends, from its number in
/// the call and the attempt: the outcome and how long it took. Returns every attempt and how the
/// call ended, or `None` if it has not ended after 5,000 attempts.
fn drive_with(
    router: &Router,
    request: CallRequest,
    end: &dyn Fn(usize, &sosroute::Attempt) -> (Outcome, u64),
) -> (Vec<Dialled>, Option<sosroute::Done>) {
    let mut call = router.begin(request);
    let mut now = request.now_ms;
    let mut dialled = Vec::new();
    for k in 0..5_000 {
        let a = match call.next_attempt(now).unwrap() {
            Next::Done(done) => return (dialled, Some(done)),
            Next::Attempt(a) => a,
        };
        let start_ms = now + a.delay_ms;
        dialled.push(Dialled {
            attempt: a,
            start_ms,
        });
        let (outcome, took) = end(k, &a);
        now = start_ms + took;
        call.report(outcome, now).unwrap();
    }
    (dialled, None)
}

/// A refusal for `cause`.
fn refused(cause: sosroute::RejectCause) -> Outcome {
    Outcome::Rejected { cause, code: 0 }
}

/// Drives a call that never connects: each attempt ends as `outcomes` says, in turn (0: times
/// out on its timer; 1: no signal at once; 2: refused after half a second; 3: refused after
/// 5 s, or on its timer if that is shorter). See [`drive_with`].
fn drive(
    router: &Router,
    request: CallRequest,
    outcomes: &[u8],
) -> (Vec<Dialled>, Option<sosroute::Done>) {
    drive_with(
        router,
        request,
        &|k, a| match outcomes[k % outcomes.len()] {
            0 => (Outcome::TimedOut, a.timeout_ms),
            1 => (refused(sosroute::RejectCause::NoSignal), 0),
            2 => (refused(sosroute::RejectCause::Other), a.timeout_ms.min(500)),
            _ => (
                refused(sosroute::RejectCause::Other),
                a.timeout_ms.min(5_000),
            ),
        },
    )
}

/// The routes dialled in a call's first walk of the list and in its second (a redial).
fn first_two_walks(dialled: &[Dialled]) -> (Vec<RouteId>, Vec<RouteId>) {
    let routes: Vec<_> = dialled.iter().map(|d| d.attempt.route).collect();
    let walk = (1..routes.len())
        .find(|&k| routes[..k].contains(&routes[k]))
        .expect("the call walks the list again");
    let second = routes[walk..].iter().take(walk).copied().collect();
    (routes[..walk].to_vec(), second)
}

/// Rule 10 in a session: an attempt refused only after seconds counts as a slow failure, not
/// a fast one. The home network refuses after 5 s, every other route at once: the redial walk
/// tries the others again first.
#[test]
fn rule_10_a_slow_refusal_is_redialled_after_the_fast_ones() {
    let policy = default_policy();
    let router = Router::new(policy.clone());
    let request = CallRequest::new(1, "911", Media::Voice, Capabilities::ALL, NOW).unwrap();
    let (dialled, _) = drive(&router, request, &[3, 1, 1, 1, 1, 1]);
    let (first, second) = first_two_walks(&dialled);
    let home = policy.routes()[0].id;
    assert_eq!(first[0], home);
    assert!(first.len() > 1, "{first:?}");
    assert_eq!(
        second.last(),
        Some(&home),
        "home refused after 5 s, the others at once: {first:?} then {second:?}"
    );
}

/// Rule 10 on a shared router: a satellite that connected for another caller (a setup time
/// learnt) but has just run out its 90 s timer for this one is tried again after every faster
/// route, also after a home network that refused in 9 s and whose radio reports no service.
#[test]
fn rule_10_a_slow_route_that_failed_slowly_is_redialled_last() {
    let policy = default_policy();
    let router = Router::new(policy.clone());
    let satellite = policy.routes()[5].id;
    let home = policy.routes()[0].id;
    assert_eq!(policy.routes()[5].kind, RouteKind::Satellite);
    let no_signal = refused(sosroute::RejectCause::NoSignal);
    // Another caller's satellite call connects after 47 s.
    let request = |at| CallRequest::new(1, "911", Media::Voice, Capabilities::ALL, at).unwrap();
    drive_with(&router, request(NOW), &|_, a| {
        if a.route == satellite {
            (Outcome::Connected, 47_000)
        } else {
            (no_signal, 0)
        }
    });
    let later = NOW + 120_000;
    router
        .apply([Update::Observe(obs(
            &router,
            "home_ran",
            radio(RadioState::NoService),
            later,
        ))])
        .unwrap();
    let (dialled, _) = drive_with(&router, request(later), &|_, a| {
        if a.route == home {
            (refused(sosroute::RejectCause::Other), 9_000)
        } else if a.route == satellite {
            (Outcome::TimedOut, a.timeout_ms)
        } else {
            (no_signal, 0)
        }
    });
    let (first, second) = first_two_walks(&dialled);
    let at = |route| {
        second
            .iter()
            .position(|&r| r == route)
            .unwrap_or(usize::MAX)
    };
    assert!(first.contains(&satellite), "{first:?}");
    assert!(at(home) < at(satellite), "{first:?} then {second:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Rule 10. The whole budget is used: a voice call whose attempts never connect ends only
    /// when its budget is spent (never with time left and routes to redial), never dials an
    /// attempt whose timer reaches past the budget, and redials a walk of the route list no
    /// sooner than the policy's backoff after the previous walk began.
    /// Broken planner it caught: the call ended after one walk of the list.
    #[test]
    fn rule_10_whole_budget_used(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
        outcomes in prop::collection::vec(0u8..3, 1..6),
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let request = CallRequest { media: Media::Voice, ..request };
        let end = NOW + policy.budget_ms;
        let (dialled, done) = drive(&router, request, &outcomes);
        prop_assert_eq!(done, Some(sosroute::Done::BudgetSpent), "{:?}", dialled.last());
        let last = dialled.last().expect("a voice call makes an attempt");
        let ended = last.start_ms + match outcomes[(dialled.len() - 1) % outcomes.len()] {
            0 => last.attempt.timeout_ms,
            1 => 0,
            _ => last.attempt.timeout_ms.min(500),
        };
        prop_assert!(ended + policy.redial_backoff_ms >= end, "ended at {} with {} ms left", ended, end - ended);
        for d in &dialled {
            prop_assert!(d.start_ms + d.attempt.timeout_ms <= end);
            if d.attempt.delay_ms > 0 {
                prop_assert!(d.attempt.delay_ms <= policy.redial_backoff_ms);
            }
        }
    }

    /// Rule 10, the redial walk: routes whose latest attempt in the call failed at once (a
    /// reject costs little to try again; a flapping network may be back) come before routes
    /// that ran out their timer or took long to fail, whatever the state says of them; and a
    /// slow route (satellite) that ran out its timer or took long to fail comes after every
    /// faster route.
    /// Broken planners it caught: the redial walk in the first walk's order; a 24 s refusal
    /// taken for a cheap one (a slow satellite tried again before the home network); a
    /// satellite that had just taken 90 s tried again before a home network refused in 9 s.
    #[test]
    fn rule_10_redial_fast_failures_first(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
        tried in prop::collection::vec(prop::option::of(0u8..3), 6),
    ) {
        let policy = std::sync::Arc::new(default_policy());
        let router = router_with(&policy, &history);
        let request = CallRequest { media: Media::Voice, ..request };
        let mut constraints = sosroute::__testing::Constraints::default();
        // 0: failed at once, 1: failed slowly, 2: timed out.
        for (index, t) in tried.iter().enumerate() {
            if let Some(how) = *t {
                constraints.tried_ms[index] = policy.routes()[index].setup_timeout_ms as u32;
                constraints.failed_slowly.set(index, how == 1);
                constraints.timed_out.set(index, how == 2);
            }
        }
        let plan = sosroute::__testing::plan(&request, &router.snapshot(), &policy, NOW, &constraints);
        let index = |a: &sosroute::Attempt| policy.route_index(a.route).unwrap();
        let failed_slowly = |a: &sosroute::Attempt| tried[index(a)].is_some_and(|how| how > 0);
        let slow = |a: &sosroute::Attempt| {
            policy.routes()[index(a)].setup_timeout_ms > policy.slow_route_ms
        };
        let first_slow = plan
            .attempts
            .iter()
            .position(failed_slowly)
            .unwrap_or(plan.attempts.len());
        prop_assert!(
            !plan.attempts[first_slow..].iter().any(|a| tried[index(a)] == Some(0)),
            "a route that failed at once after one that failed slowly: {}", plan.explain()
        );
        let first_slow_route = plan
            .attempts
            .iter()
            .position(|a| slow(a) && failed_slowly(a))
            .unwrap_or(plan.attempts.len());
        prop_assert!(
            plan.attempts[first_slow_route..].iter().all(slow),
            "a slow route that failed slowly before a faster route: {}", plan.explain()
        );
    }

    /// Rule 10, a slow route after failures at once: when every attempt of a call fails at
    /// once (no signal), a slow route that has not connected within the learning window is not
    /// dialled before the call has walked the list again (a redial after the backoff): the
    /// redial costs seconds, the slow route most of the caller's patience. It waits once: it is
    /// dialled within the call's second walk at the latest.
    /// Broken session it caught: a 90 s satellite attempt right after a first walk of instant
    /// "no signal" failures, before any redial.
    #[test]
    fn rule_10_slow_route_waits_for_a_redial(
        history in arb_history(&default_policy(), NOW),
        request in arb_request(NOW),
    ) {
        let policy = default_policy();
        let router = router_with(&policy, &history);
        let (dialled, _) = drive(&router, request, &[1]);
        let snapshot = router.snapshot();
        let slow = |d: &Dialled| unproven_slow(&snapshot, &policy, d.attempt.route, d.start_ms);
        if let Some(k) = dialled.iter().position(slow) {
            let walks = 1 + dialled[1..=k].iter().filter(|d| d.attempt.delay_ms > 0).count();
            prop_assert!(
                k == 0 || walks == 2,
                "slow route dialled as attempt {} in walk {}: {:?}", k, walks, dialled[k]
            );
        }
    }

    /// Rule 9, a timer cut short: a route whose latest attempt in the call ran out a timer
    /// shorter than the network's own give-up has not had its full chance. It stays in the walk
    /// (where it was in the plan before it failed) on at least the give-up timer, unless the
    /// budget left is shorter, and before every slow route that has not connected recently; a
    /// route that ran out the give-up itself is left out of the walk.
    /// Broken planner it caught: a route cut short left out until the next walk, behind a
    /// 90 s satellite attempt.
    #[test]
    fn rule_9_a_route_cut_short_keeps_its_full_chance(
        observations in prop::collection::vec(arb_observation(&default_policy(), NOW), 0..40),
        request in arb_request(NOW),
        index in 0usize..6,
        tried_s in 1u32..64,
    ) {
        let policy = std::sync::Arc::new(default_policy());
        // Observations only: no route has connected, so every slow route is unproven.
        let router = router_with(&policy, &observations);
        let route = policy.routes()[index].id;
        let before = sosroute::__testing::plan(
            &request, &router.snapshot(), &policy, NOW, &Default::default(),
        );
        prop_assume!(before.attempts.iter().any(|a| a.route == route));
        let failed = [route];
        let mut constraints = sosroute::__testing::Constraints {
            failed: &failed,
            ..Default::default()
        };
        constraints.tried_ms[index] = tried_s * 1_000;
        constraints.timed_out.set(index, true);
        let plan = sosroute::__testing::plan(&request, &router.snapshot(), &policy, NOW, &constraints);
        let at = plan.attempts.iter().position(|a| a.route == route);
        if u64::from(tried_s) * 1_000 >= sosroute::NETWORK_GIVE_UP_MS {
            prop_assert!(at.is_none(), "{}", plan.explain());
            return Ok(());
        }
        let Some(at) = at else {
            return Err(TestCaseError::fail(format!("cut short, left out: {}", plan.explain())));
        };
        let spent: u64 = plan.attempts[..at].iter().map(|a| a.timeout_ms).sum();
        let left = policy.budget_ms - spent;
        prop_assert!(
            plan.attempts[at].timeout_ms >= sosroute::NETWORK_GIVE_UP_MS.min(left),
            "{}", plan.explain()
        );
        let slow = |a: &sosroute::Attempt| {
            let r = &policy.routes()[policy.route_index(a.route).unwrap()];
            r.setup_timeout_ms > policy.slow_route_ms
        };
        if !slow(&plan.attempts[at]) {
            prop_assert!(
                !plan.attempts[..at].iter().any(slow),
                "a slow route before the route cut short: {}", plan.explain()
            );
        }
    }

    /// Rule 9. Timers are bounds learnt from evidence: in one call, a route dialled again on a
    /// timer below the network's own give-up (32 s) gets a longer one (the give-up), unless the
    /// budget cut it; after a success that took `took` ms, the route's timer is at least that
    /// for the next call; a half-open trial runs on the route's full timer.
    /// Broken planner it caught: no escalation (the same timer on every redial).
    #[test]
    fn rule_9_timers_are_learnt_bounds(
        history in arb_history(&default_policy(), NOW - 2 * default_policy().cool_down_ms),
        request in arb_request(NOW),
        outcomes in prop::collection::vec(0u8..3, 1..6),
        took in 1u64..120_000,
        trial in 0usize..6,
    ) {
        let policy = default_policy();
        let request = CallRequest { media: Media::Voice, ..request };
        let end = NOW + policy.budget_ms;
        // Escalation within a call.
        let router = router_with(&policy, &history);
        let (dialled, _) = drive(&router, request, &outcomes);
        let mut first: Vec<(sosroute::RouteId, u64)> = Vec::new();
        for d in &dialled {
            let a = d.attempt;
            let cut = d.start_ms + a.timeout_ms == end;
            match first.iter().find(|(r, _)| *r == a.route) {
                Some(&(_, before)) if !cut && before < sosroute::NETWORK_GIVE_UP_MS => {
                    prop_assert!(a.timeout_ms > before, "{:?} after {} ms", a, before);
                }
                Some(_) => {}
                None => first.push((a.route, a.timeout_ms)),
            }
        }
        // Learnt need: the first attempt of a call connects after `took`.
        let router = router_with(&policy, &history);
        let mut call = router.begin(request);
        let Next::Attempt(a) = call.next_attempt(NOW).unwrap() else { unreachable!() };
        call.report(Outcome::Connected, NOW + took).unwrap();
        let next = router.plan(&CallRequest { now_ms: NOW + took, ..request });
        if let Some(at) = next.attempts.iter().position(|b| b.route == a.route) {
            // Unless the attempts before it leave less of the budget.
            let before: u64 = next.attempts[..at].iter().map(|b| b.timeout_ms).sum();
            let left = policy.budget_ms - before;
            prop_assert!(next.attempts[at].timeout_ms >= took.min(left), "{}", next.explain());
        }
        // A half-open trial: the route's own breaker opened a cool-down and more ago (longer,
        // where the history holds failed trials: rule 3).
        let route = &policy.routes()[trial];
        let opened = NOW - policy.cool_down_ms - 1_000;
        let open = |router: &Router| {
            for k in 0..policy.failure_threshold as u64 {
                router.record_outcome(route.id, Outcome::TimedOut, opened - k).unwrap();
            }
            router.snapshot().route_health(trial).breaker(&policy, NOW)
        };
        prop_assert_eq!(open(&Router::new(policy.clone())), Breaker::HalfOpen);
        let router = router_with(&policy, &history);
        let half_open = open(&router) == Breaker::HalfOpen;
        let plan = router.plan(&CallRequest { caller: Capabilities::ALL, ..request });
        if let Some(at) = plan.attempts.iter().position(|b| b.route == route.id && half_open) {
            let before: u64 = plan.attempts[..at].iter().map(|b| b.timeout_ms).sum();
            let left = policy.budget_ms - before;
            prop_assert!(plan.attempts[at].timeout_ms >= route.setup_timeout_ms.min(left), "{}", plan.explain());
        }
    }

    /// Rule 9. With nothing learnt and no breaker open, a route's timer is the policy's, except
    /// that a route whose timer bounds a hang (below the network's own give-up) is probed on the
    /// demoted share while fresh observations say it is down; then clipped to the budget left.
    /// Broken planner it caught: no probe (the full timer against a route observed down).
    #[test]
    fn rule_9_a_route_observed_down_is_probed(
        facts in prop::collection::vec(prop::option::of((any::<u8>(), 0u8..2)), 7),
        caller in 0u32..=Capabilities::ALL.0,
    ) {
        let (policy, per_component, plan) = plan_observed_once(&facts, caller);
        let mut left = policy.budget_ms;
        for a in &plan.attempts {
            let index = policy.route_index(a.route).unwrap();
            let down = modelled_route_class(&policy, &per_component, index) == Evidence::Negative;
            let timer = modelled_state_timer(&policy, index, down);
            prop_assert_eq!(a.timeout_ms, timer.min(left), "{}", plan.explain());
            left -= a.timeout_ms;
        }
    }

    /// Rule 9. In the hold-down after its monitor reports it back, a route still ranks negative
    /// (rule 4), and one whose timer bounds a hang is still probed; but no fresh report explains
    /// a timeout there, so a long route (the other network's scan) that ran out its timer may be
    /// slow today and waits twice as long on its redial. Modelled exactly, first attempt or
    /// redial.
    /// Broken planner it caught: the hold-down counted as a report of "down" for the doubling (a
    /// 40 s scan during a flap's hold-down never gets the time it needs).
    #[test]
    fn rule_9_a_route_back_in_its_hold_down_is_not_reported_down(
        long in any::<bool>(),
        back_ago in 1_000u64..29_000,
        down_for in 1_000u64..29_000,
        tried_s in 0u32..100,
        ran_out in any::<bool>(),
    ) {
        let policy = default_policy();
        let router = Router::new(policy.clone());
        let (name, radio_name) = if long { ("other_network", "other_ran") } else { ("home", "home_ran") };
        let index = policy.routes().iter().position(|r| r.name == name).unwrap();
        let route = policy.routes()[index].clone();
        let back = NOW - back_ago;
        router.update(&[obs(&router, radio_name, radio(RadioState::NoService), back - down_for)]).unwrap();
        router.update(&[obs(&router, radio_name, radio(RadioState::InService), back)]).unwrap();
        let mut constraints = sosroute::__testing::Constraints::default();
        constraints.tried_ms[index] = tried_s * 1_000;
        constraints.timed_out.set(index, ran_out && tried_s > 0);
        let request = voice(NOW, Capabilities::ALL);
        let policy = std::sync::Arc::new(policy);
        let plan = sosroute::__testing::plan(&request, &router.snapshot(), &policy, NOW, &constraints);
        let at = position(&plan, route.id);
        prop_assert_eq!(plan.attempts[at].evidence, Evidence::Negative, "{}", plan.explain());
        let state_timer = modelled_state_timer(&policy, index, true);
        let before = u64::from(tried_s) * 1_000;
        let timer = if tried_s == 0 {
            state_timer
        } else {
            modelled_redial_timer(state_timer, route.setup_timeout_ms, before, ran_out && long)
        };
        let left = policy.budget_ms - plan.attempts[..at].iter().map(|a| a.timeout_ms).sum::<u64>();
        prop_assert_eq!(plan.attempts[at].timeout_ms, timer.min(left), "{}", plan.explain());
    }

    /// Rule 9. A redial's timer: at least the network's own give-up and the earlier attempt's,
    /// and twice the earlier one or the route's full timer, whichever is longer, where the
    /// earlier one ran out and the route may be slow today: its policy timer is at least the
    /// give-up (what its medium needs, not a bound on a hang) and fresh observations do not say
    /// it is down; then clipped to the budget left. Modelled exactly on a router that has seen
    /// observations only (no breaker, nothing learnt).
    /// Broken planner it caught: no doubling (a 40 s scan never beats its 32 s timer).
    #[test]
    fn rule_9_a_long_route_that_ran_out_waits_twice_as_long(
        facts in prop::collection::vec(prop::option::of((any::<u8>(), 0u8..2)), 7),
        caller in 0u32..=Capabilities::ALL.0,
        index in 0usize..6,
        tried_s in 1u32..100,
        ran_out in any::<bool>(),
    ) {
        let policy = default_policy();
        let (history, per_component) = observed_once(&policy, &facts);
        let router = router_with(&policy, &history);
        let mut constraints = sosroute::__testing::Constraints::default();
        constraints.tried_ms[index] = tried_s * 1_000;
        constraints.timed_out.set(index, ran_out);
        let request = voice(NOW, Capabilities(caller));
        let policy = std::sync::Arc::new(policy);
        let plan = sosroute::__testing::plan(&request, &router.snapshot(), &policy, NOW, &constraints);
        let route = &policy.routes()[index];
        let Some(at) = plan.attempts.iter().position(|a| a.route == route.id) else {
            return Ok(());
        };
        let down = modelled_route_class(&policy, &per_component, index) == Evidence::Negative;
        let give_up = sosroute::NETWORK_GIVE_UP_MS;
        let state_timer = modelled_state_timer(&policy, index, down);
        let before = u64::from(tried_s) * 1_000;
        let slow_today = ran_out && route.setup_timeout_ms >= give_up && !down;
        let spent: u64 = plan.attempts[..at].iter().map(|a| a.timeout_ms).sum();
        let left = policy.budget_ms - spent;
        prop_assert_eq!(
            plan.attempts[at].timeout_ms,
            modelled_redial_timer(state_timer, route.setup_timeout_ms, before, slow_today).min(left),
            "{}", plan.explain()
        );
    }

    /// Rule 11. Evidence over assumptions: once a route has connected after a shared
    /// component's breaker opened on another route's failures, that breaker no longer demotes
    /// it (without the success it would).
    /// Broken planner it caught: component breakers applied whatever the route's own record.
    #[test]
    fn rule_11_evidence_over_assumptions(
        pair in prop::sample::select(vec![("home", "wifi_calling"), ("home", "text"), ("wifi_calling", "text"), ("text", "home")]),
        failures in 2u64..6,
        gap in 1u64..50_000,
    ) {
        let policy = default_policy();
        let router = Router::new(policy.clone());
        let mut healthy = vec![];
        for c in policy.components() {
            let fact = match c.kind {
                sosroute::ComponentKind::Radio => radio_fact_in_service(),
                sosroute::ComponentKind::Service => Fact::Service { state: ServiceState::Up },
            };
            healthy.push(Observation::component(policy.component_id(&c.name).unwrap(), fact, NOW - 1_000));
        }
        healthy.push(Observation::psap(PSAP, Fact::PsapTextReady { ready: true }, NOW - 1_000));
        router.update(&healthy).unwrap();
        let (failing, working) = (policy.route_by_name(pair.0).unwrap().id, policy.route_by_name(pair.1).unwrap().id);
        let failed_at = NOW - 10_000 - gap;
        for k in 0..failures {
            router.record_outcome(failing, Outcome::TimedOut, failed_at + k).unwrap();
        }
        // Satellite left out: the other timers then fit the budget whatever the order.
        let caller = Capabilities(Capabilities::ALL.0 & !Capabilities::SATELLITE.0);
        let request = voice(NOW, caller);
        let demoted = router.plan(&request);
        let w = demoted.attempts.iter().find(|a| a.route == working).unwrap();
        prop_assert_eq!(w.evidence, Evidence::Negative, "a shared breaker demotes: {}", demoted.explain());
        router.record_outcome(working, Outcome::Connected, failed_at + failures + gap / 2).unwrap();
        let plan = router.plan(&request);
        let w = plan.attempts.iter().find(|a| a.route == working).unwrap();
        prop_assert_eq!(w.evidence, Evidence::Positive, "{}", plan.explain());
        let f = plan.attempts.iter().find(|a| a.route == failing).unwrap();
        prop_assert_eq!(f.evidence, Evidence::Negative, "{}", plan.explain());
    }
}

fn radio_fact_in_service() -> Fact {
    Fact::Radio {
        state: RadioState::InService,
        signal: sosroute::SignalLevel(4),
    }
}

fn is_negative(fact: &Fact) -> bool {
    matches!(
        fact,
        Fact::Radio {
            state: RadioState::LimitedService | RadioState::NoService,
            ..
        } | Fact::Service {
            state: ServiceState::Down
        } | Fact::Probe { ok: false, .. }
            | Fact::Link { connected: false }
            | Fact::E911Address { registered: false }
            | Fact::Outage { active: true }
    )
}

/// The best fact of the same kind.
fn better(fact: &Fact) -> Fact {
    match *fact {
        Fact::Radio { .. } => radio_fact_in_service(),
        Fact::Service { .. } => Fact::Service {
            state: ServiceState::Up,
        },
        Fact::Probe { rtt_ms, .. } => Fact::Probe { ok: true, rtt_ms },
        Fact::Link { .. } => Fact::Link { connected: true },
        Fact::E911Address { .. } => Fact::E911Address { registered: true },
        Fact::Outage { .. } => Fact::Outage { active: false },
        other => other,
    }
}

/// (route index, component) pairs where only that route depends on the component.
fn exclusive_components(policy: &Policy) -> Vec<(usize, ComponentId)> {
    let mut out = Vec::new();
    for (i, r) in policy.routes().iter().enumerate() {
        for c in r.needs.iter() {
            let mut others = ComponentSet::default();
            for (j, o) in policy.routes().iter().enumerate() {
                if j != i {
                    others.0 |= o.needs.0;
                }
            }
            if !others.contains(c) {
                out.push((i, c));
            }
        }
    }
    assert!(
        !out.is_empty(),
        "the default policy has routes with components of their own"
    );
    out
}

fn sample_fact(radio: bool, pick: u8) -> Fact {
    if radio {
        [
            radio_fact_in_service(),
            Fact::Radio {
                state: RadioState::LimitedService,
                signal: sosroute::SignalLevel(1),
            },
            Fact::Radio {
                state: RadioState::NoService,
                signal: sosroute::SignalLevel(0),
            },
            Fact::Radio {
                state: RadioState::Unknown,
                signal: sosroute::SignalLevel::UNKNOWN,
            },
            Fact::Outage { active: true },
        ][pick as usize % 5]
    } else {
        [
            Fact::Service {
                state: ServiceState::Up,
            },
            Fact::Service {
                state: ServiceState::Down,
            },
            Fact::Service {
                state: ServiceState::Unknown,
            },
            Fact::Probe {
                ok: true,
                rtt_ms: 40,
            },
            Fact::Probe {
                ok: false,
                rtt_ms: 0,
            },
            Fact::Link { connected: true },
            Fact::Link { connected: false },
            Fact::E911Address { registered: false },
            Fact::E911Address { registered: true },
            Fact::Outage { active: true },
        ][pick as usize % 10]
    }
}
