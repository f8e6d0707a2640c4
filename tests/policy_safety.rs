//! Safe policy change (issue 12): a policy's identity (content hash), rollback, and signed
//! policies.

use sosroute::{
    CallRequest, Capabilities, Fact, Media, Observation, OutcomeRecord, Plan, Policy, PolicyError,
    PolicyFormat, PolicySignature, PsapId, RadioState, RouteId, Router, SecretKey, ServiceState,
    SignalLevel, SignatureError,
};

const SHIPPED: &str = sosroute::US_HANDSET_TOML;

/// The shipped policy with one text edit (which must apply).
fn edited(from: &str, to: &str) -> String {
    assert!(SHIPPED.contains(from), "{from:?} not in the shipped policy");
    SHIPPED.replacen(from, to, 1)
}

/// A policy that differs in what it decides: tiny timers on the home route.
fn candidate() -> String {
    edited("setup_timeout_s = 15.0", "setup_timeout_s = 2.0")
}

#[test]
fn toml_and_json_of_one_policy_hash_the_same_and_an_edit_does_not() {
    let toml = Policy::us_default();
    let json = serde_json::to_string(toml.spec()).unwrap();
    let from_json = Policy::from_json(&json).unwrap();
    assert_eq!(from_json.hash(), toml.hash());
    let other = Policy::from_toml(&candidate()).unwrap();
    assert_ne!(other.hash(), toml.hash());
    // The version a router gives it does not change what it is.
    let router = Router::new(Policy::us_default());
    router.set_policy(Policy::us_default());
    assert_eq!(router.policy().version(), 2);
    assert_eq!(router.policy().hash(), toml.hash());
}

#[test]
fn explanations_and_audit_records_name_the_policy_version_and_hash() {
    let router = Router::new(Policy::us_default());
    router
        .load_policy(&candidate(), PolicyFormat::Toml)
        .unwrap();
    let policy = router.policy();
    let hash = policy.hash().to_string();
    let plan =
        router.plan(&CallRequest::new(1, "911", Media::Voice, Capabilities::ALL, 0).unwrap());
    let text = plan.explain();
    assert!(
        text.contains(&format!("policy us-handset v2 sha256:{}", &hash[..16])),
        "{text}"
    );

    let record = serde_json::to_value(plan.record()).unwrap();
    assert_eq!(record["policy_version"], 2);
    assert_eq!(record["policy_hash"], hash.as_str());

    let outcome =
        OutcomeRecord::new(1, RouteId(1), sosroute::Outcome::Connected, 3_000).with_policy(&policy);
    let line = serde_json::to_string(&outcome).unwrap();
    assert!(
        line.ends_with(&format!(r#""policy_version":2,"policy_hash":"{hash}"}}"#)),
        "{line}"
    );
}

/// Observations that put the router in one of a few states, by component name.
fn state(router: &Router, which: usize, at_ms: u64) {
    let id = |name: &str| router.component_id(name).unwrap();
    let radio = |name: &str, state| {
        Observation::component(
            id(name),
            Fact::Radio {
                state,
                signal: SignalLevel(3),
            },
            at_ms,
        )
    };
    let service =
        |name: &str, state| Observation::component(id(name), Fact::Service { state }, at_ms);
    let batch = match which {
        0 => vec![],
        1 => vec![
            radio("home_ran", RadioState::InService),
            service("home_core", ServiceState::Up),
            service("wifi", ServiceState::Up),
            Observation::psap(PsapId(1), Fact::PsapTextReady { ready: true }, at_ms),
        ],
        2 => vec![
            radio("home_ran", RadioState::NoService),
            radio("other_ran", RadioState::InService),
        ],
        _ => vec![
            radio("home_ran", RadioState::InService),
            service("home_core", ServiceState::Down),
            service("wifi", ServiceState::Up),
        ],
    };
    router.update(&batch).unwrap();
}

/// A corpus of recorded requests: every media × capability combination, two PSAPs.
fn corpus(at_ms: u64) -> Vec<CallRequest> {
    let mut out = Vec::new();
    for media in Media::ALL {
        for caps in 0..=Capabilities::ALL.0 {
            for psap in [0, 1] {
                let id = out.len() as u64;
                let request = CallRequest::new(id, "911", media, Capabilities(caps), at_ms)
                    .unwrap()
                    .with_psap(PsapId(psap));
                out.push(request);
            }
        }
    }
    out
}

/// What a plan decides, without the policy version or epoch.
fn decisions(plan: &Plan) -> (Vec<sosroute::Attempt>, Vec<sosroute::LeftOut>, bool) {
    (
        plan.attempts.to_vec(),
        plan.left_out.to_vec(),
        plan.fail_open,
    )
}

#[test]
fn a_rollback_restores_the_previous_policy_and_its_decisions_exactly() {
    for which in 0..4 {
        let router = Router::new(Policy::us_default());
        state(&router, which, 1_000);
        let before_hash = router.policy().hash();
        let requests = corpus(2_000);
        let before: Vec<_> = requests
            .iter()
            .map(|r| decisions(&router.plan(r)))
            .collect();

        let v = router
            .load_policy(&candidate(), PolicyFormat::Toml)
            .unwrap();
        assert_eq!(v, 2);
        let changed: Vec<_> = requests
            .iter()
            .map(|r| decisions(&router.plan(r)))
            .collect();
        assert_ne!(
            changed, before,
            "state {which}: the candidate decides differently"
        );

        assert_eq!(router.rollback_policy(), Ok(3));
        let policy = router.policy();
        assert_eq!(policy.version(), 3);
        assert_eq!(policy.hash(), before_hash);
        assert_eq!(policy.spec(), Policy::us_default().spec());
        let after: Vec<_> = requests
            .iter()
            .map(|r| decisions(&router.plan(r)))
            .collect();
        assert_eq!(
            after, before,
            "state {which}: the rollback decides as before the change"
        );
    }
}

#[test]
fn rollbacks_step_back_through_history_then_refuse() {
    let router = Router::new(Policy::us_default());
    let err = router.rollback_policy().unwrap_err();
    assert!(err.to_string().contains("no previous policy"), "{err}");
    assert_eq!(router.policy().version(), 1);

    let second = edited("failure_threshold = 2", "failure_threshold = 3");
    router.load_policy(&second, PolicyFormat::Toml).unwrap();
    router
        .load_policy(&candidate(), PolicyFormat::Toml)
        .unwrap();
    let hashes = [
        Policy::us_default().hash(),
        Policy::from_toml(&second).unwrap().hash(),
    ];
    assert_eq!(router.rollback_policy(), Ok(4));
    assert_eq!(router.policy().hash(), hashes[1]);
    assert_eq!(router.rollback_policy(), Ok(5));
    assert_eq!(router.policy().hash(), hashes[0]);
    assert!(router.rollback_policy().is_err());
    assert_eq!(
        router.policy().version(),
        5,
        "a refused rollback changes nothing"
    );
}

#[test]
fn a_rollback_carries_the_state_over() {
    let router = Router::new(Policy::us_default());
    state(&router, 2, 1_000);
    let epoch = router.snapshot().epoch;
    router
        .load_policy(&candidate(), PolicyFormat::Toml)
        .unwrap();
    router.rollback_policy().unwrap();
    assert_eq!(router.snapshot().epoch, epoch);
    let plan =
        router.plan(&CallRequest::new(1, "911", Media::Voice, Capabilities::NONE, 2_000).unwrap());
    assert_eq!(plan.route_name(plan.attempts[0].route), "other_network");
}

fn signer(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

#[test]
fn without_trusted_keys_unsigned_policies_load_as_before() {
    let router = Router::new(Policy::us_default());
    assert!(router.trusted_keys().is_empty());
    assert_eq!(router.load_policy(&candidate(), PolicyFormat::Toml), Ok(2));
    // A signature cannot be checked without keys: refused, saying so.
    let sig = signer(1).sign(SHIPPED.as_bytes());
    let err = router
        .load_signed_policy(SHIPPED, PolicyFormat::Toml, &sig)
        .unwrap_err();
    assert!(matches!(
        err,
        PolicyError::Signature(SignatureError::NoTrustedKeys { .. })
    ));
    assert_eq!(router.policy().version(), 2);
}

#[test]
fn with_trusted_keys_only_a_valid_signature_by_one_of_them_loads() {
    let (ops, other) = (signer(1), signer(2));
    let router = Router::new(Policy::us_default());
    router.set_trusted_keys(&[signer(9).public_key(), ops.public_key()]);
    let text = candidate();
    let in_force = router.policy();

    // Missing signature.
    let err = router.load_policy(&text, PolicyFormat::Toml).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Signature(SignatureError::Missing { keys: 2 })
    );
    assert!(err.to_string().contains("no signature"), "{err}");

    // Signed by a key the router does not trust.
    let err = router
        .load_signed_policy(&text, PolicyFormat::Toml, &other.sign(text.as_bytes()))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not one of this router's 2 trusted key(s)"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&other.public_key().to_string()),
        "{err}"
    );

    // One byte changed after signing.
    let signature = ops.sign(text.as_bytes());
    let mut tampered = text.clone().into_bytes();
    let at = text.find("2.0").unwrap();
    tampered[at] = b'9';
    let tampered = String::from_utf8(tampered).unwrap();
    let err = router
        .load_signed_policy(&tampered, PolicyFormat::Toml, &signature)
        .unwrap_err();
    assert!(
        matches!(err, PolicyError::Signature(SignatureError::Bad { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("bad signature"), "{err}");

    // Every refusal left the policy in force.
    assert!(std::sync::Arc::ptr_eq(&router.policy(), &in_force));

    // The signature file round-trips, and the right signature loads.
    let from_file = PolicySignature::from_file(&signature.to_file()).unwrap();
    assert_eq!(
        router.load_signed_policy(&text, PolicyFormat::Toml, &from_file),
        Ok(2)
    );
    assert_eq!(
        router.policy().hash(),
        Policy::from_toml(&text).unwrap().hash()
    );

    // A signed but invalid policy is refused for what is wrong with it.
    let bad = edited("failure_threshold = 2", "failure_threshold = 0");
    let err = router
        .load_signed_policy(&bad, PolicyFormat::Toml, &ops.sign(bad.as_bytes()))
        .unwrap_err();
    assert!(
        err.to_string().contains("breaker.failure_threshold"),
        "{err}"
    );

    // Clearing the keys allows unsigned policies again.
    router.set_trusted_keys(&[]);
    assert_eq!(router.load_policy(SHIPPED, PolicyFormat::Toml), Ok(3));
}

#[cfg(feature = "sim")]
fn scenario(name: &str) -> sosroute::sim::Scenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    sosroute::sim::Scenario::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[cfg(feature = "sim")]
#[test]
fn a_preview_refuses_a_candidate_that_worsens_a_shipped_scenario() {
    use sosroute::sim::preview::{preview, DEFAULT_TOLERANCE_POINTS};
    // Voice without another network or Wi-Fi calling: the AT&T replay connects fewer calls.
    // (Cutting every timer to a second no longer does: a route cut short is dialled again on the
    // network's own give-up.)
    let path = format!(
        "{}/policies/bad-no-fallback.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let candidate = Policy::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let shipped = Policy::us_default();
    let p = preview(
        &shipped,
        &candidate,
        vec![scenario("att-2024-02-22")],
        DEFAULT_TOLERANCE_POINTS,
    )
    .unwrap();
    assert!(!p.accepted(), "{}", p.table());
    assert!(p.refusals[0].contains("att-2024-02-22"), "{:?}", p.refusals);
    assert!(p.scenarios[0].points() < -DEFAULT_TOLERANCE_POINTS);
    assert!(p.decisions.left_out > 0 && !p.decisions.examples.is_empty());
    assert!(p.table().contains("REFUSED"));
}

#[cfg(feature = "sim")]
#[test]
fn a_preview_accepts_an_identical_candidate_with_no_changed_decision() {
    use sosroute::sim::preview::{preview, DEFAULT_TOLERANCE_POINTS};
    let shipped = Policy::us_default();
    let same = Policy::from_json(&serde_json::to_string(shipped.spec()).unwrap()).unwrap();
    let p = preview(
        &shipped,
        &same,
        vec![scenario("calm-day"), scenario("tmobile-2020-06-15")],
        DEFAULT_TOLERANCE_POINTS,
    )
    .unwrap();
    assert!(p.accepted(), "{}", p.table());
    assert_eq!(p.decisions.changed, 0);
    assert!(p.decisions.plans > 1000);
    assert_eq!(p.current_hash, p.candidate_hash);
    for s in &p.scenarios {
        assert_eq!(s.current, s.candidate);
    }
}
