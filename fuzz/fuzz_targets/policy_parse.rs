//! Policy parsing, TOML or JSON: never a panic; an accepted policy written back out (as TOML and
//! as JSON) parses again to an equal policy; a refused one leaves a router's policy in force.
//!
//! Input: one selector byte (even: TOML, odd: JSON; the seeds use `0` and `1`), then the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sosroute::{Policy, PolicyFormat, Router};
use std::sync::OnceLock;

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| Router::new(Policy::us_default()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if selector % 2 == 0 {
        PolicyFormat::Toml
    } else {
        PolicyFormat::Json
    };
    let policy = match Policy::parse(text, format) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            // Refused text leaves the policy in force.
            let router = router();
            let before = router.policy();
            assert!(router.load_policy(text, format).is_err());
            assert_eq!(router.policy().version(), before.version());
            return;
        }
    };

    let as_toml = toml::to_string(policy.spec())
        .unwrap_or_else(|e| panic!("an accepted policy serializes as TOML: {e}"));
    let again = Policy::from_toml(&as_toml)
        .unwrap_or_else(|e| panic!("the TOML written back parses: {e}\n{as_toml}"));
    assert_eq!(
        again, policy,
        "TOML round trip changed the policy\n{as_toml}"
    );

    let as_json = serde_json::to_string(policy.spec())
        .unwrap_or_else(|e| panic!("an accepted policy serializes as JSON: {e}"));
    let again = Policy::from_json(&as_json)
        .unwrap_or_else(|e| panic!("the JSON written back parses: {e}\n{as_json}"));
    assert_eq!(
        again, policy,
        "JSON round trip changed the policy\n{as_json}"
    );
});
