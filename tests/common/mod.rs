//! Builders shared by the integration tests: arbitrary reachability states and requests for the
//! shipped default policy.
#![allow(dead_code)]

use proptest::prelude::*;
use sosroute::{
    CallRequest, Capabilities, ComponentId, EmergencyService, Fact, Media, Observation, Outcome,
    Policy, PsapId, RadioState, RejectCause, RouteId, Router, ServiceState, SignalLevel, Update,
};

/// The PSAP that the generated requests call.
pub const PSAP: PsapId = PsapId(1);

/// A fact that a component of the given kind accepts.
pub fn arb_fact(radio: bool) -> BoxedStrategy<Fact> {
    if radio {
        prop_oneof![
            (0u8..4, 0u8..5).prop_map(|(s, bars)| Fact::Radio {
                state: [
                    RadioState::InService,
                    RadioState::LimitedService,
                    RadioState::NoService,
                    RadioState::Unknown
                ][s as usize],
                signal: SignalLevel(bars),
            }),
            any::<bool>().prop_map(|active| Fact::Outage { active }),
        ]
        .boxed()
    } else {
        prop_oneof![
            (0u8..3).prop_map(|s| Fact::Service {
                state: [ServiceState::Up, ServiceState::Down, ServiceState::Unknown][s as usize]
            }),
            (any::<bool>(), 0u32..500).prop_map(|(ok, rtt_ms)| Fact::Probe { ok, rtt_ms }),
            any::<bool>().prop_map(|connected| Fact::Link { connected }),
            any::<bool>().prop_map(|registered| Fact::E911Address { registered }),
            any::<bool>().prop_map(|active| Fact::Outage { active }),
        ]
        .boxed()
    }
}

/// An observation of any component of `policy`, made at or before `horizon_ms`.
pub fn arb_observation(policy: &Policy, horizon_ms: u64) -> BoxedStrategy<Update> {
    let kinds: Vec<bool> = policy
        .components()
        .iter()
        .map(|c| c.kind == sosroute::ComponentKind::Radio)
        .collect();
    let n = kinds.len();
    (0..n)
        .prop_flat_map(move |i| (Just(i), arb_fact(kinds[i]), 0..=horizon_ms))
        .prop_map(|(i, fact, at_ms)| {
            Update::Observe(Observation::component(ComponentId(i as u16), fact, at_ms))
        })
        .boxed()
}

/// An outcome of an attempt on any route of `policy`, made at or before `horizon_ms`.
pub fn arb_outcome(policy: &Policy, horizon_ms: u64) -> BoxedStrategy<Update> {
    let ids: Vec<RouteId> = policy.routes().iter().map(|r| r.id).collect();
    (
        prop::sample::select(ids),
        prop_oneof![
            Just(Outcome::Connected),
            Just(Outcome::TimedOut),
            (1u32..=5).prop_map(|c| Outcome::Rejected {
                cause: [
                    RejectCause::NoSignal,
                    RejectCause::Congestion,
                    RejectCause::ServiceUnavailable,
                    RejectCause::NotAllowed,
                    RejectCause::Other
                ][c as usize - 1],
                code: 0
            }),
        ],
        0..=horizon_ms,
    )
        .prop_map(|(route, outcome, at_ms)| Update::Outcome {
            route,
            outcome,
            at_ms,
        })
        .boxed()
}

/// Whether PSAP 1 was observed text-ready (None: never observed).
pub fn arb_psap_fact(horizon_ms: u64) -> impl Strategy<Value = Option<Update>> {
    prop::option::of((any::<bool>(), 0..=horizon_ms).prop_map(|(ready, at_ms)| {
        Update::Observe(Observation::psap(
            PSAP,
            Fact::PsapTextReady { ready },
            at_ms,
        ))
    }))
}

/// A whole state history: observations, outcomes and PSAP facts, in any order.
pub fn arb_history(policy: &Policy, horizon_ms: u64) -> BoxedStrategy<Vec<Update>> {
    (
        prop::collection::vec(arb_observation(policy, horizon_ms), 0..40),
        prop::collection::vec(arb_outcome(policy, horizon_ms), 0..8),
        arb_psap_fact(horizon_ms),
    )
        .prop_map(|(mut obs, outcomes, psap)| {
            obs.extend(outcomes);
            obs.extend(psap);
            obs
        })
        .boxed()
}

/// A request for any media and capabilities, to PSAP 1 or to an unknown PSAP.
pub fn arb_request(now_ms: u64) -> impl Strategy<Value = CallRequest> {
    (
        any::<u64>(),
        prop::sample::select(vec![Media::Voice, Media::Text, Media::Rtt]),
        0u32..=Capabilities::ALL.0,
        any::<bool>(),
    )
        .prop_map(move |(call_id, media, caps, known_psap)| CallRequest {
            call_id,
            service: EmergencyService::Sos,
            media,
            caller: Capabilities(caps),
            psap: if known_psap { PSAP } else { PsapId(0) },
            now_ms,
            classified_by_dialer: false,
        })
}

/// A router with the shipped default policy and `history` applied.
pub fn router_with(policy: &Policy, history: &[Update]) -> Router {
    let router = Router::new(policy.clone());
    router
        .apply(history.iter().copied())
        .expect("generated updates are valid for the policy");
    router
}

/// A voice 911 request at `now_ms` from a caller with `caller` capabilities to PSAP 1.
pub fn voice(now_ms: u64, caller: Capabilities) -> CallRequest {
    CallRequest::new(1, "911", Media::Voice, caller, now_ms)
        .expect("911 is an emergency number")
        .with_psap(PSAP)
}

/// The observation of `component` (by name) as `fact` at `at_ms`.
pub fn obs(router: &Router, component: &str, fact: Fact, at_ms: u64) -> Observation {
    let id = router
        .component_id(component)
        .unwrap_or_else(|| panic!("the policy declares {component}"));
    Observation::component(id, fact, at_ms)
}

/// Radio fact helper.
pub fn radio(state: RadioState) -> Fact {
    Fact::Radio {
        state,
        signal: SignalLevel(3),
    }
}

/// Service fact helper.
pub fn service(state: ServiceState) -> Fact {
    Fact::Service { state }
}

/// The name of the route of an attempt.
pub fn route_name(policy: &Policy, id: RouteId) -> String {
    policy.route(id).map(|r| r.name.clone()).unwrap_or_default()
}

/// An audit log in memory: the JSON lines a sink was given, each ended by a line break.
pub type Log = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

/// Attaches to `router` a sink, with a ring of `capacity`, that appends JSON lines to the
/// returned log.
pub fn attach_log(router: &Router, capacity: usize) -> Log {
    let log: Log = Log::default();
    let sink = std::sync::Arc::clone(&log);
    router
        .attach_audit(
            Box::new(move |line: &[u8]| {
                let mut log = sink.lock().unwrap();
                log.extend_from_slice(line);
                log.push(b'\n');
            }),
            capacity,
        )
        .unwrap();
    log
}
