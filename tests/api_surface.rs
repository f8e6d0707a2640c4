//! The public Rust API, named item by item (src/lib.rs, "The API").
//!
//! Removing or renaming a root re-export breaks the build of this test; re-exporting something
//! new fails `root_items_are_exactly_these` until it is added here, which is the moment to decide
//! that it is API. The documented limits are checked against their values, and the hidden
//! `__testing` module against the three items the planner tests and fuzz target need.

use std::collections::BTreeSet;

/// Names each root type (so that it must exist at the root) and returns the names.
macro_rules! types {
    ($($t:ident),* $(,)?) => {
        [$({
            let _ = std::any::type_name::<sosroute::$t>();
            stringify!($t)
        }),*]
    };
}

/// Checks each root constant against its documented value and returns the names.
macro_rules! limits {
    ($($c:ident = $v:expr),* $(,)?) => {
        [$({
            assert_eq!(sosroute::$c, $v, stringify!($c));
            stringify!($c)
        }),*]
    };
}

fn root_names() -> BTreeSet<&'static str> {
    let mut names = BTreeSet::new();
    // Deciding.
    names.extend(types![
        Router,
        CallSession,
        Next,
        Done,
        Plan,
        Attempt,
        Attempts,
        LeftOut,
        LeftOuts,
        Reason,
        LeftOutReason,
        CallRequest,
        EmergencyService,
        Capabilities,
        Media,
        MediaSet,
        RouteKind,
        RouteId,
    ]);
    // What monitors report.
    names.extend(types![
        Observation,
        Subject,
        Fact,
        FactKind,
        FactClass,
        RadioState,
        ServiceState,
        SignalLevel,
        PsapState,
        Outcome,
        RejectCause,
        Update,
        ComponentId,
        PsapId,
    ]);
    // What the router knows (read-only).
    names.extend(types![
        Snapshot,
        ComponentState,
        Health,
        Stamped,
        PsapFacts,
        Evidence,
        Breaker,
    ]);
    // Policies: the file format, the compiled form, identity, signatures, probation.
    names.extend(types![
        Policy,
        PolicyFormat,
        PolicySpec,
        BudgetSpec,
        TtlSpec,
        BreakerSpec,
        ComponentSpec,
        ComponentKind,
        RouteSpec,
        PreferenceSpec,
        GuidanceSpec,
        JurisdictionSpec,
        ProbationSpec,
        Route,
        Component,
        ComponentSet,
        Guidance,
        PolicyHash,
        PublicKey,
        SecretKey,
        PolicySignature,
        ProbationSettings,
        ProbationState,
        ProbationStatus,
        Tally,
    ]);
    // Audit records.
    names.extend(types![PlanRecord, AttemptRecord, OutcomeRecord]);
    let _ = std::any::type_name::<dyn sosroute::AuditSink>();
    names.insert("AuditSink");
    // Errors, one per boundary.
    names.extend(types![
        PolicyError,
        RequestError,
        UpdateError,
        SessionError,
        SignatureError,
        AuditError,
        NoPreviousPolicy,
    ]);
    // Limits and constants, at the values docs/DESIGN.md and README.md give.
    names.extend(limits![
        MAX_ROUTES = 16,
        MAX_COMPONENTS = 32,
        MAX_PSAPS = 32,
        MAX_BATCH = 4096,
        MAX_POLICY_LEN = 8 << 20,
        MAX_JURISDICTIONS = 100_000,
        MAX_POLICY_NAME_LEN = 256,
        MAX_GUIDANCE_LEN = 1024,
        MAX_GUIDANCE_NUMBERS = 8,
        MAX_GUIDANCE_NUMBER_LEN = 32,
        MAX_DIALLED_LEN = 256,
        MAX_ERROR_LEN = 1024,
        POLICY_HISTORY = 8,
        NETWORK_GIVE_UP_MS = 32_000,
        DEFAULT_AUDIT_CAPACITY = 1024,
        MAX_AUDIT_CAPACITY = 1 << 16,
    ]);
    assert!(sosroute::CUT_MARK.contains("cut"));
    names.insert("CUT_MARK");
    let shipped = sosroute::Policy::from_toml(sosroute::US_HANDSET_TOML).unwrap();
    assert_eq!(shipped.name(), sosroute::Policy::us_default().name());
    names.insert("US_HANDSET_TOML");
    names
}

/// The names in the `pub use` items of `block` (the last segment of each path).
fn reexported(block: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for item in block.split("pub use ").skip(1) {
        let item = &item[..item.find(';').expect("a `pub use` ends with `;`")];
        let list = match item.find('{') {
            Some(open) => &item[open + 1..item.rfind('}').expect("braces close")],
            None => item,
        };
        for path in list.split(',') {
            let path = path.trim();
            // `a::B as C` exports `C`.
            let name = path.rsplit(" as ").next().unwrap_or(path);
            if !name.is_empty() {
                names.insert(name.rsplit("::").next().unwrap_or(name).to_string());
            }
        }
    }
    names
}

fn lib_rs() -> (String, String) {
    let text = include_str!("../src/lib.rs");
    let hidden = text
        .find("pub mod __testing")
        .expect("src/lib.rs has the __testing module");
    (text[..hidden].to_string(), text[hidden..].to_string())
}

#[test]
fn root_items_are_exactly_these() {
    let named: BTreeSet<String> = root_names().into_iter().map(String::from).collect();
    let (root, _) = lib_rs();
    let exported = reexported(&root);
    let new: Vec<_> = exported.difference(&named).collect();
    assert!(
        new.is_empty(),
        "re-exported at the root but not named in tests/api_surface.rs: {new:?}; \
         add them here if they are meant to be API"
    );
    // The other direction is the compiler's: a name above that the root lost does not build.
    assert_eq!(named, exported);
}

#[test]
fn the_hidden_testing_module_stays_small() {
    // The pure planner for tests/rules.rs and fuzz/fuzz_targets/planner.rs; nothing else.
    let (_, hidden) = lib_rs();
    let hidden = &hidden[..hidden.find("\n}").expect("the module closes")];
    let names: Vec<String> = reexported(hidden).into_iter().collect();
    assert_eq!(names, ["Constraints", "RouteSet", "plan"]);
    let _ = sosroute::__testing::plan;
    let _ = sosroute::__testing::Constraints::default();
    let _ = sosroute::__testing::RouteSet::default();
}

#[test]
fn public_modules_wire_and_audit() {
    use sosroute::{wire, Router, Update};
    let _: fn(&[Update]) -> usize = wire::encoded_len;
    let _: fn(&[Update]) -> Result<bytes::Bytes, wire::WireError> = wire::encode;
    let _: fn(&[u8]) -> Result<Vec<Update>, wire::WireError> = wire::decode;
    let _: fn(&Router, &[u8]) -> Result<u64, wire::WireError> = wire::apply;
    let mut buf = Vec::new();
    wire::encode_into(&[], &mut buf).unwrap();
    assert_eq!(buf.len(), wire::HEADER_LEN);
    assert_eq!(&buf[..4], &wire::MAGIC);
    assert_eq!(buf[4], wire::VERSION);
    let _ = (
        wire::RECORD_HEADER_LEN,
        wire::MAX_RECORD_LEN,
        wire::MAX_BATCH_LEN,
    );
    assert_eq!(wire::MAX_RECORDS, sosroute::MAX_BATCH);
    let _ = (
        wire::record::COMPONENT_FACT,
        wire::record::PSAP_FACT,
        wire::record::OUTCOME,
    );
    let _ = (wire::fact::RADIO, wire::fact::PSAP_TEXT_READY);
    let _ = (wire::outcome::CONNECTED, wire::outcome::TIMED_OUT);

    use sosroute::audit;
    let _: fn(&str) -> Result<audit::ReplayReport, audit::ReplayError> = audit::replay;
    let _: fn(&str, Option<u64>) -> Result<audit::ReplayReport, audit::ReplayError> =
        audit::replay_call;
    let _ = std::any::type_name::<(audit::Mismatch, audit::Line, audit::SessionLine)>();
    assert!(audit::replay("").unwrap().all_match());
}
