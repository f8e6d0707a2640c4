//! The wire decoder on arbitrary bytes: it returns Ok or a typed error and never panics; what
//! it accepts re-encodes to a batch that decodes to the same updates. Applying the bytes to a
//! router either succeeds or leaves the state exactly as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sosroute::{wire, Policy, Router};
use std::sync::OnceLock;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::us_default)
}

fuzz_target!(|data: &[u8]| {
    let decoded = wire::decode(data);
    if let Ok(updates) = &decoded {
        let again = wire::encode(updates).expect("a decoded batch is within the limits");
        assert!(
            again.len() <= data.len(),
            "re-encoding only drops skipped records"
        );
        assert_eq!(
            &wire::decode(&again).expect("re-encoded batch decodes"),
            updates
        );
    }
    // The error message must render (it names the record); render it to exercise Display.
    if let Err(e) = &decoded {
        let _ = e.to_string();
    }

    // A fresh router each run, so a crash reproduces from its input alone.
    let router = &Router::new(policy().clone());
    let before = router.snapshot();
    match wire::apply(router, data) {
        Ok(epoch) => assert_eq!(epoch, before.epoch + 1),
        Err(e) => {
            // A malformed or refused batch changes nothing.
            assert_eq!(
                router.snapshot(),
                before,
                "refused batch changed the state: {e}"
            );
            assert_eq!(
                decoded.is_err(),
                !matches!(e, wire::WireError::Refused { .. })
            );
        }
    }
});
