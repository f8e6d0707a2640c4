//! Scenario-shaped tests: the failure modes of real outages, each as a short story.

mod common;

use common::*;
use sosroute::{
    Capabilities, Evidence, Fact, LeftOutReason, Media, Next, Observation, Outcome, Policy,
    RadioState, Reason, RejectCause, Router, ServiceState,
};

/// Everything observed healthy at `t`: what a handset's monitors report on a calm day.
fn all_healthy(router: &Router, t: u64) {
    let mut batch = Vec::new();
    for c in router.policy().components() {
        let fact = match c.kind {
            sosroute::ComponentKind::Radio => radio(RadioState::InService),
            sosroute::ComponentKind::Service => service(ServiceState::Up),
        };
        batch.push(obs(router, &c.name, fact, t));
    }
    router.update(&batch).unwrap();
}

fn first_route(router: &Router, now: u64, caller: Capabilities) -> String {
    let plan = router.plan(&voice(now, caller));
    route_name(&router.policy(), plan.attempts[0].route)
}

fn next(call: &mut sosroute::CallSession, now: u64) -> sosroute::Attempt {
    match call.next_attempt(now).unwrap() {
        Next::Attempt(a) => a,
        Next::Done(d) => panic!("call ended early: {d:?}"),
    }
}

/// Optus 2023, AT&T 2024 phase 2: the radio says "in service" and IMS still looks registered,
/// but calls hang in a dead core. Within two failed attempts the home route is abandoned for
/// another network, not for Wi-Fi calling, which rides the same dead core.
#[test]
fn radio_in_service_but_calls_time_out() {
    let router = Router::new(Policy::us_default());
    let caller = Capabilities::WIFI_CALLING.union(Capabilities::SMS);
    all_healthy(&router, 0);
    assert_eq!(first_route(&router, 1_000, caller), "home");

    // Inside one call: the home attempt times out; the next attempt is another network.
    let mut call = router.begin(voice(1_000, caller));
    let a = next(&mut call, 1_000);
    assert_eq!(route_name(&router.policy(), a.route), "home");
    call.report(Outcome::TimedOut, 11_000).unwrap();
    let b = next(&mut call, 11_000);
    assert_eq!(route_name(&router.policy(), b.route), "other_network");
    let plan = call.plan(11_000);
    let wifi = plan
        .attempts
        .iter()
        .find(|a| route_name(&router.policy(), a.route) == "wifi_calling")
        .unwrap();
    // Demoted behind other_network by the call's own blame, not by a verdict on its evidence.
    assert_eq!(wifi.reason, Reason::Demoted, "{}", plan.explain());
    assert_eq!(wifi.evidence, Evidence::Positive, "{}", plan.explain());
    assert_eq!(
        wifi.blamed,
        router.component_id("home_core"),
        "{}",
        plan.explain()
    );
    call.report(Outcome::Connected, 20_000).unwrap();

    // Across calls: a second caller's home attempt also hangs. From then on every new call starts
    // on another network, with home and Wi-Fi calling demoted, home (whose own attempts failed)
    // on a shorter timer.
    let mut call = router.begin(voice(30_000, caller));
    let a = next(&mut call, 30_000);
    assert_eq!(route_name(&router.policy(), a.route), "home");
    call.report(Outcome::TimedOut, 40_000).unwrap();
    all_healthy(&router, 41_000); // the monitors keep saying all is well
    let plan = router.plan(&voice(42_000, caller));
    let order: Vec<String> = plan
        .attempts
        .iter()
        .map(|a| route_name(&router.policy(), a.route))
        .collect();
    assert_eq!(order[0], "other_network", "{}", plan.explain());
    let wifi_at = order.iter().position(|n| n == "wifi_calling").unwrap();
    let home_at = order.iter().position(|n| n == "home").unwrap();
    assert!(wifi_at > 0 && home_at > 0);
    assert_eq!(plan.attempts[home_at].reason, Reason::Demoted);
    assert!(plan.attempts[home_at].timeout_ms < 15_000);
    assert!(plan.explain().contains("home_core"), "{}", plan.explain());
}

/// Component blame, not preference order, keeps Wi-Fi calling off the dead core: with a policy
/// that prefers Wi-Fi calling over other networks, a hung home attempt still sends the next
/// attempt to another network.
#[test]
fn a_hung_core_demotes_wifi_calling_even_when_preferred() {
    let text = sosroute::US_HANDSET_TOML.replace(
        r#"voice = ["home", "sim2", "other_network", "wifi_calling", "text", "satellite"]"#,
        r#"voice = ["home", "wifi_calling", "sim2", "other_network", "text", "satellite"]"#,
    );
    let router = Router::new(Policy::from_toml(&text).unwrap());
    all_healthy(&router, 0);
    let mut call = router.begin(voice(1_000, Capabilities::WIFI_CALLING));
    assert_eq!(
        route_name(&router.policy(), next(&mut call, 1_000).route),
        "home"
    );
    call.report(Outcome::TimedOut, 11_000).unwrap();
    assert_eq!(
        route_name(&router.policy(), next(&mut call, 11_000).route),
        "other_network"
    );
}

/// AT&T 2024 phase 1 (radio down, core fine): the home network falls to "SOS only". The plan goes
/// straight to another network, or first to Wi-Fi calling where the caller has it: its core is
/// fine, and its 15 s attempt costs less than the other network's 32 s scan and attach (rule 2).
#[test]
fn sos_only_goes_straight_to_another_network() {
    let router = Router::new(Policy::us_default());
    all_healthy(&router, 0);
    router
        .observe(obs(
            &router,
            "home_ran",
            radio(RadioState::LimitedService),
            500,
        ))
        .unwrap();
    assert_eq!(
        first_route(&router, 1_000, Capabilities::NONE),
        "other_network"
    );
    let plan = router.plan(&voice(1_000, Capabilities::WIFI_CALLING));
    let names: Vec<String> = plan
        .attempts
        .iter()
        .map(|a| route_name(&router.policy(), a.route))
        .collect();
    assert_eq!(
        &names[..2],
        ["wifi_calling", "other_network"],
        "{}",
        plan.explain()
    );
    assert_eq!(
        names.last().unwrap(),
        "home",
        "home is tried last, not dropped: {}",
        plan.explain()
    );

    // A handset with a second SIM on another carrier uses it first.
    assert_eq!(first_route(&router, 1_000, Capabilities::DUAL_SIM), "sim2");

    // An immediate "no signal" reject inside a call moves on at once.
    let mut call = router.begin(voice(2_000, Capabilities::NONE));
    let a = next(&mut call, 2_000);
    call.report(
        Outcome::Rejected {
            cause: RejectCause::NoSignal,
            code: 0,
        },
        2_100,
    )
    .unwrap();
    assert_ne!(next(&mut call, 2_100).route, a.route);
}

/// Text-to-911 is offered only where the PSAP is known to take text and the caller can text.
#[test]
fn text_only_where_the_psap_is_text_ready_and_the_caller_can_text() {
    let router = Router::new(Policy::us_default());
    all_healthy(&router, 0);
    let ready = sosroute::PsapId(1);
    let not_ready = sosroute::PsapId(2);
    let unknown = sosroute::PsapId(3);
    router
        .update(&[
            Observation::psap(ready, Fact::PsapTextReady { ready: true }, 0),
            Observation::psap(not_ready, Fact::PsapTextReady { ready: false }, 0),
        ])
        .unwrap();
    let text_offered = |psap, caller, media| {
        let mut req = voice(1_000, caller).with_psap(psap);
        req.media = media;
        let plan = router.plan(&req);
        let offered = plan
            .attempts
            .iter()
            .any(|a| route_name(&router.policy(), a.route) == "text");
        let reason = plan
            .left_out
            .iter()
            .find(|l| route_name(&router.policy(), l.route) == "text")
            .map(|l| l.reason);
        (offered, reason)
    };
    assert_eq!(
        text_offered(ready, Capabilities::SMS, Media::Voice),
        (true, None)
    );
    assert_eq!(
        text_offered(ready, Capabilities::SMS, Media::Text),
        (true, None)
    );
    assert_eq!(
        text_offered(not_ready, Capabilities::SMS, Media::Text),
        (false, Some(LeftOutReason::PsapNotTextReady))
    );
    assert_eq!(
        text_offered(unknown, Capabilities::SMS, Media::Voice),
        (false, Some(LeftOutReason::PsapNotTextReady))
    );
    assert_eq!(
        text_offered(ready, Capabilities::NONE, Media::Voice),
        (false, Some(LeftOutReason::MissingCapability))
    );

    // A text-first caller begins with text; a voice caller is offered it after the voice routes,
    // as an action the caller must take.
    let mut req = voice(1_000, Capabilities::SMS).with_psap(ready);
    req.media = Media::Text;
    let plan = router.plan(&req);
    assert_eq!(route_name(&router.policy(), plan.attempts[0].route), "text");
    let plan = router.plan(&voice(1_000, Capabilities::SMS).with_psap(ready));
    let text = plan
        .attempts
        .iter()
        .find(|a| route_name(&router.policy(), a.route) == "text")
        .unwrap();
    assert_eq!(text.media, Media::Text);
    assert!(text.needs_user_action);

    // Readiness goes stale like any other fact.
    let later = 1_000 + router.policy().ttl_ms(sosroute::FactClass::Advisory);
    let mut req = voice(later, Capabilities::SMS).with_psap(ready);
    req.media = Media::Text;
    let plan = router.plan(&req);
    assert!(plan
        .attempts
        .iter()
        .all(|a| route_name(&router.policy(), a.route) != "text"));
}

/// Every monitor silent for longer than every TTL: nothing is known, so nothing is ruled out.
/// The plan is non-empty and in policy order (but for the other network's 32 s timer, after the
/// shorter ones: rule 2), every attempt unverified.
#[test]
fn all_monitors_silent_past_every_ttl_yields_policy_order() {
    let router = Router::new(Policy::us_default());
    all_healthy(&router, 0);
    router
        .observe(obs(&router, "home_core", service(ServiceState::Down), 0))
        .unwrap();
    let policy = router.policy();
    let silent_for = 2 * 3_600_000 + policy.hold_down_ms;
    let caller = Capabilities::ALL;
    let plan = router.plan(&voice(silent_for, caller));
    let order: Vec<String> = plan
        .attempts
        .iter()
        .map(|a| route_name(&policy, a.route))
        .collect();
    // Text is left out: the PSAP's text-readiness was never observed.
    assert_eq!(
        order,
        ["home", "sim2", "wifi_calling", "other_network", "satellite"],
        "{}",
        plan.explain()
    );
    assert!(plan
        .attempts
        .iter()
        .all(|a| a.evidence == Evidence::Unknown && a.reason == Reason::Unverified));
    assert!(!plan.fail_open);
}

/// Every route dead: the plan still tries them all, best first, and says so.
#[test]
fn every_route_dead_fails_open_with_guidance() {
    let router = Router::new(Policy::us_default());
    let mut batch = Vec::new();
    for c in router.policy().components() {
        let fact = match c.kind {
            sosroute::ComponentKind::Radio => radio(RadioState::NoService),
            sosroute::ComponentKind::Service => service(ServiceState::Down),
        };
        batch.push(obs(&router, &c.name, fact, 0));
    }
    router.update(&batch).unwrap();
    let plan = router.plan(&voice(1_000, Capabilities::NONE));
    assert_eq!(
        plan.attempts.len(),
        2,
        "home and other_network: {}",
        plan.explain()
    );
    assert!(plan.fail_open);
    assert!(plan.attempts.iter().all(|a| a.reason == Reason::FailOpen));
    assert!(plan
        .explain()
        .contains("Every route has evidence against it"));
    assert!(plan.explain().contains(&plan.guidance().text));
}

/// The breaker's life: open after the threshold, half-open trial after the cool-down, closed by
/// a success.
#[test]
fn breaker_opens_cools_down_and_closes() {
    let router = Router::new(Policy::us_default());
    all_healthy(&router, 0);
    let policy = router.policy();
    let home = policy.route_by_name("home").unwrap().id;
    for t in [1_000, 2_000] {
        router.record_outcome(home, Outcome::TimedOut, t).unwrap();
    }
    let reason_at = |t| {
        all_healthy(&router, t);
        let plan = router.plan(&voice(t, Capabilities::NONE));
        plan.attempts
            .iter()
            .find(|a| a.route == home)
            .unwrap()
            .reason
    };
    assert_eq!(reason_at(3_000), Reason::Demoted);
    assert_eq!(reason_at(2_000 + policy.cool_down_ms), Reason::Trial);
    // The trial really happens: with the home network observed healthy, the next call starts on
    // it again (a trial ranked below healthy routes would never run, and never close the breaker).
    let plan = router.plan(&voice(2_000 + policy.cool_down_ms, Capabilities::NONE));
    assert_eq!(plan.attempts[0].route, home, "{}", plan.explain());
    // Rule 9: a trial runs on the full timer, or it could never succeed on a slow route.
    assert_eq!(
        plan.attempts[0].timeout_ms,
        policy.route(home).unwrap().setup_timeout_ms
    );
    router
        .record_outcome(home, Outcome::Connected, 70_000)
        .unwrap();
    assert_eq!(reason_at(71_000), Reason::Verified);
}

/// A plan explains itself and serializes for the audit log.
#[test]
fn plans_explain_themselves_and_serialize() {
    let router = Router::new(Policy::us_default());
    all_healthy(&router, 0);
    let plan = router.plan(&voice(1_000, Capabilities::SMS));
    let text = plan.explain();
    assert!(
        text.starts_with("Call 1 (urn:service:sos, voice) to PSAP 1: try home for 15.0 s"),
        "{text}"
    );
    assert!(text.contains("sim2 (caller lacks dual_sim)"), "{text}");
    let json = serde_json::to_string(&plan.record()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["record"], "plan");
    assert_eq!(v["attempts"][0]["name"], "home");
    assert_eq!(v["attempts"][0]["reason"], "verified");
    assert_eq!(v["policy_version"], 1);
}

/// Outcomes serialize as audit records too, one JSON line each.
#[test]
fn outcomes_serialize_as_audit_records() {
    let record = sosroute::OutcomeRecord::new(
        9,
        sosroute::RouteId(3),
        Outcome::Rejected {
            cause: RejectCause::Congestion,
            code: 503,
        },
        12_345,
    );
    let line = serde_json::to_string(&record).unwrap();
    assert_eq!(
        line,
        r#"{"record":"outcome","call_id":9,"route":3,"outcome":"rejected","cause":"congestion","code":503,"at_ms":12345}"#
    );
}
