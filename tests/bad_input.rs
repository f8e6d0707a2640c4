//! Bad input of every kind gets a clear error naming what was wrong, and changes nothing.

mod common;

use common::*;
use sosroute::US_HANDSET_TOML;
use sosroute::{
    Capabilities, ComponentId, Fact, Observation, Outcome, Policy, PolicyError, PolicyFormat,
    PsapId, RadioState, RouteId, Router, ServiceState, SignalLevel, Update, UpdateError,
};

/// The shipped policy with one line replaced.
fn edited(from: &str, to: &str) -> String {
    assert!(
        US_HANDSET_TOML.contains(from),
        "the default policy has {from:?}"
    );
    US_HANDSET_TOML.replacen(from, to, 1)
}

fn toml_error(text: &str) -> String {
    Policy::from_toml(text)
        .expect_err("the policy must be rejected")
        .to_string()
}

#[test]
fn malformed_toml_and_json_are_rejected() {
    let e = toml_error("name = \"x\"\n[budget\n");
    assert!(e.starts_with("policy is not valid TOML"), "{e}");
    assert!(e.contains("line 2"), "{e}");
    let e = Policy::from_json("{\"name\": ").unwrap_err().to_string();
    assert!(e.starts_with("policy is not valid JSON"), "{e}");
    let e = toml_error("name = 3");
    assert!(e.contains("name"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_their_name_and_line() {
    let e = toml_error(&edited(
        "allow_unverified = true",
        "allow_unverified = true\nallow_anything = 1",
    ));
    assert!(e.contains("allow_anything"), "{e}");
    assert!(e.contains("line"), "{e}");
    let e = toml_error(&edited(
        "total_s = 180.0",
        "total_s = 180.0\ntotal_minutes = 3",
    ));
    assert!(e.contains("total_minutes"), "{e}");
    let e = toml_error(&edited(
        "kind = \"radio\"",
        "kind = \"radio\"\nvendor = \"acme\"",
    ));
    assert!(e.contains("vendor"), "{e}");
    let json = serde_json::to_string(Policy::us_default().spec()).unwrap();
    let json = json.replacen("{", "{\"surprise\":true,", 1);
    let e = Policy::from_json(&json).unwrap_err().to_string();
    assert!(e.contains("surprise"), "{e}");
}

#[test]
fn out_of_range_values_are_rejected_naming_the_field_and_value() {
    let cases = [
        (
            "total_s = 180.0",
            "total_s = -1.0",
            "budget.total_s",
            "-1.0",
        ),
        ("total_s = 180.0", "total_s = nan", "budget.total_s", "NaN"),
        ("total_s = 180.0", "total_s = inf", "budget.total_s", "inf"),
        (
            "total_s = 180.0",
            "total_s = 180.0\nmax_rounds = 0",
            "budget.max_rounds",
            "0",
        ),
        (
            "redial_backoff_s = 2.0",
            "redial_backoff_s = 0.0",
            "budget.redial_backoff_s",
            "0.0",
        ),
        (
            "slow_route_s = 60.0",
            "slow_route_s = -5.0",
            "budget.slow_route_s",
            "-5.0",
        ),
        (
            "learn_window_s = 600.0",
            "learn_window_s = 1e9",
            "breaker.learn_window_s",
            "1000000000.0",
        ),
        ("radio_s = 30.0", "radio_s = 0.0", "ttl.radio_s", "0.0"),
        (
            "failure_threshold = 2",
            "failure_threshold = 0",
            "breaker.failure_threshold",
            "0",
        ),
        (
            "demoted_timeout_pct = 50",
            "demoted_timeout_pct = 150",
            "breaker.demoted_timeout_pct",
            "150",
        ),
        (
            "hold_down_s = 30.0",
            "hold_down_s = 1e9",
            "breaker.hold_down_s",
            "1000000000.0",
        ),
        (
            "setup_timeout_s = 32.0",
            "setup_timeout_s = -12.0",
            "route[2].setup_timeout_s",
            "-12.0",
        ),
        ("name = \"us-handset\"", "name = \"\"", "name", "\"\""),
        (
            "name = \"sim2\"",
            "name = \"home\"",
            "route[1].name",
            "\"home\"",
        ),
        ("id = 2", "id = 1", "route[1].id", "1"),
        (
            "name = \"home_ran\"",
            "name = \"home ran\"",
            "component[0].name",
            "\"home ran\"",
        ),
    ];
    for (from, to, field, value) in cases {
        let e = toml_error(&edited(from, to));
        assert!(e.contains(&format!("`{field}`")), "{to}: {e}");
        assert!(e.contains(value), "{to}: {e}");
    }
}

#[test]
fn a_route_depending_on_an_unknown_component_is_rejected() {
    let e = toml_error(&edited(
        r#"needs = ["sim2_ran"]"#,
        r#"needs = ["sim3_ran"]"#,
    ));
    assert!(e.contains("`route[1].needs[0]` = \"sim3_ran\""), "{e}");
    assert!(e.contains("no [[component]]"), "{e}");
}

#[test]
fn preference_lists_are_checked() {
    let e = toml_error(&edited(
        r#"rtt = ["home", "sim2", "other_network", "wifi_calling", "text", "satellite"]"#,
        "rtt = []",
    ));
    assert!(e.contains("`preference.rtt`"), "{e}");
    assert!(e.contains("at least one route"), "{e}");
    let e = toml_error(&edited(
        r#"voice = ["home", "sim2", "other_network", "wifi_calling", "text", "satellite"]"#,
        r#"voice = ["home", "teleport"]"#,
    ));
    assert!(e.contains("`preference.voice[1]` = \"teleport\""), "{e}");
    let e = toml_error(&edited(
        r#"voice = ["home", "sim2", "other_network", "wifi_calling", "text", "satellite"]"#,
        r#"voice = ["home", "home"]"#,
    ));
    assert!(e.contains("listed twice"), "{e}");
    // Only routes that need a capability: a plan for a caller without it could be empty.
    let e = toml_error(&edited(
        r#"voice = ["home", "sim2", "other_network", "wifi_calling", "text", "satellite"]"#,
        r#"voice = ["sim2", "wifi_calling"]"#,
    ));
    assert!(
        e.contains("`preference.voice`") && e.contains("could be empty"),
        "{e}"
    );
}

#[test]
fn a_rejected_policy_leaves_the_old_one_in_force() {
    let router = Router::new(Policy::us_default());
    router
        .observe(obs(
            &router,
            "home_ran",
            radio(RadioState::LimitedService),
            0,
        ))
        .unwrap();
    let before = router.plan(&voice(1_000, Capabilities::ALL));
    for (text, format) in [
        (
            edited("failure_threshold = 2", "failure_threshold = 0"),
            PolicyFormat::Toml,
        ),
        ("{\"name\": \"x\"}".to_owned(), PolicyFormat::Json),
        ("not a policy".to_owned(), PolicyFormat::Toml),
    ] {
        let err = router.load_policy(&text, format).unwrap_err();
        assert!(matches!(
            err,
            PolicyError::Invalid { .. } | PolicyError::Parse { .. }
        ));
        assert_eq!(router.policy().version(), 1);
        assert_eq!(router.plan(&voice(1_000, Capabilities::ALL)), before);
    }
    // A good policy is installed with the next version, and keeps the state by component name.
    let v = router.load_policy(
        &edited("failure_threshold = 2", "failure_threshold = 3"),
        PolicyFormat::Toml,
    );
    assert_eq!(v, Ok(2));
    let after = router.plan(&voice(1_000, Capabilities::ALL));
    assert_eq!(
        after.attempts.iter().map(|a| a.route).collect::<Vec<_>>(),
        before.attempts.iter().map(|a| a.route).collect::<Vec<_>>()
    );
    assert_eq!(after.policy_version(), 2);
}

#[test]
fn a_rejected_update_batch_changes_nothing_and_names_the_record() {
    let router = Router::new(Policy::us_default());
    router
        .observe(obs(&router, "home_core", service(ServiceState::Up), 0))
        .unwrap();
    let before = router.snapshot();
    let good = obs(&router, "home_ran", radio(RadioState::NoService), 10);
    let home_core = router.component_id("home_core").unwrap();
    let bad: [(Update, &str); 6] = [
        (
            Update::Observe(Observation::component(
                ComponentId(99),
                Fact::Link { connected: true },
                10,
            )),
            "update 1: component 99 is not declared",
        ),
        (
            Update::Observe(Observation::component(
                home_core,
                radio(RadioState::InService),
                10,
            )),
            "update 1: a radio fact does not apply to service component home_core",
        ),
        (
            Update::Observe(Observation::psap(
                PsapId(0),
                Fact::PsapTextReady { ready: true },
                10,
            )),
            "update 1: PSAP id 0",
        ),
        (
            Update::Observe(Observation::psap(
                PsapId(5),
                Fact::Link { connected: true },
                10,
            )),
            "update 1: a link fact does not apply to PSAP 5",
        ),
        (
            Update::Outcome {
                route: RouteId(77),
                outcome: Outcome::TimedOut,
                at_ms: 10,
            },
            "update 1: route id 77",
        ),
        (
            Update::Observe(obs(
                &router,
                "home_ran",
                Fact::Radio {
                    state: RadioState::InService,
                    signal: SignalLevel(9),
                },
                10,
            )),
            "update 1: signal level 9",
        ),
    ];
    for (update, message) in bad {
        let err: UpdateError = router.apply([Update::Observe(good), update]).unwrap_err();
        assert!(err.to_string().starts_with(message), "{err}");
        assert_eq!(
            router.snapshot(),
            before,
            "a rejected batch changed the state"
        );
    }
    // A batch over the limit: refused at its first update past it, nothing applied.
    let huge = vec![good; sosroute::MAX_BATCH + 1];
    let err = router.update(&huge).unwrap_err();
    assert_eq!(
        err,
        UpdateError::BatchTooLarge {
            index: sosroute::MAX_BATCH,
            max: sosroute::MAX_BATCH
        }
    );
    assert!(err.to_string().contains("at most 4096 updates"), "{err}");
    assert_eq!(
        router.snapshot(),
        before,
        "an oversized batch changed the state"
    );
    assert!(
        router.update(&huge[1..]).is_ok(),
        "a batch at the limit is applied"
    );
    assert!(router.apply([Update::Observe(good)]).is_ok());
    assert_ne!(router.snapshot(), before);
}

#[test]
fn guidance_is_bounded() {
    const TEXT: &str = "text = \"If the call does not go through:";
    let long = edited(TEXT, &format!("text = \"{}", "x".repeat(1100)));
    let e = toml_error(&long);
    assert!(
        e.contains("guidance.text") && e.contains("at most 1024"),
        "{e}"
    );
    let numbers = edited(
        "numbers = []",
        &format!("numbers = [{}]", ["\"911\""; 9].join(", ")),
    );
    let e = toml_error(&numbers);
    assert!(
        e.contains("guidance.numbers") && e.contains("at most 8"),
        "{e}"
    );
    let long_number = edited(
        "numbers = []",
        &format!("numbers = [\"{}\"]", "1".repeat(33)),
    );
    let e = toml_error(&long_number);
    assert!(
        e.contains("guidance.numbers[0]") && e.contains("at most 32"),
        "{e}"
    );
    // At the limits: accepted.
    let at = edited(TEXT, &format!("text = \"{}", "x".repeat(1024 - 120)));
    Policy::from_toml(&at).unwrap();
    let at = edited(
        "numbers = []",
        &format!("numbers = [{}]", ["\"911\""; 8].join(", ")),
    );
    Policy::from_toml(&at).unwrap();
}

#[test]
fn non_emergency_numbers_are_errors() {
    let err = sosroute::CallRequest::new(
        1,
        "18005551212",
        sosroute::Media::Voice,
        Capabilities::NONE,
        0,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("\"18005551212\" is not an emergency number"),
        "{err}"
    );
}
