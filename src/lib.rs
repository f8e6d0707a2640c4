//! # sosroute
//!
//! Decides, per emergency call (911, 112, ...), which way the call should go — home network, the
//! other SIM, any other network ("SOS only"), Wi-Fi calling, text-to-911, satellite — from live
//! reachability state, and re-decides after every failed attempt.
//!
//! - [`Policy`]: routes, the components they depend on, preferences, timers (TOML or JSON).
//! - [`Router`]: live state pushed by monitors ([`Router::update`]) and decisions
//!   ([`Router::plan`], [`Router::begin`]). `Send + Sync`; decisions never block or allocate.
//! - [`CallSession`]: one call, attempt by attempt, learning from each failure.
//! - [`wire`]: the binary format of state-update batches from another process (`WIRE.md`).
//! - [`audit`]: the audit trail's records and the replay that re-derives every decision.
//!
//! Time is always a parameter (`now_ms`, the caller's monotonic milliseconds): the library reads
//! no clock, so every decision replays exactly.
//!
//! ```
//! use sosroute::{CallRequest, Capabilities, Media, Next, Outcome, Router, Policy};
//!
//! let router = Router::new(Policy::us_default());
//! let request = CallRequest::new(42, "911", Media::Voice, Capabilities::SMS, 0).unwrap();
//! let mut call = router.begin(request);
//! let Next::Attempt(first) = call.next_attempt(0).unwrap() else { unreachable!() };
//! // The home network did not answer within the attempt's timer:
//! call.report(Outcome::TimedOut, first.timeout_ms).unwrap();
//! let Next::Attempt(second) = call.next_attempt(first.timeout_ms).unwrap() else { unreachable!() };
//! assert_ne!(second.route, first.route);
//! ```
//!
//! # The API
//!
//! Everything a Rust embedder (a handset telephony stack, PSAP call-handling software) uses is
//! at the crate root; the modules behind it are private.
//!
//! - **Deciding**: [`Router`], [`CallSession`], [`Next`], [`Done`], [`Plan`] (with [`Attempt`],
//!   [`LeftOut`], [`Reason`], [`LeftOutReason`], [`Guidance`]), [`CallRequest`],
//!   [`EmergencyService`], [`Capabilities`], [`Media`].
//! - **What monitors report**: [`Observation`], [`Fact`] and its states ([`RadioState`],
//!   [`ServiceState`], [`SignalLevel`], [`PsapState`]), [`Outcome`], [`RejectCause`],
//!   [`Update`] (a batch for [`Router::apply`]), ids ([`ComponentId`], [`PsapId`], [`RouteId`]).
//! - **What the router knows**, read-only: [`Router::snapshot`] gives a [`Snapshot`] with each
//!   component's [`ComponentState`] and each route's [`Health`] ([`Evidence`], [`Breaker`]).
//! - **Policies**: [`Policy`], written as a [`PolicySpec`] (TOML or JSON, [`US_HANDSET_TOML`]
//!   shipped), compiled into [`Route`]s and [`Component`]s; identified by a [`PolicyHash`],
//!   signed with [`SecretKey`] / [`PublicKey`] / [`PolicySignature`]; judged on probation
//!   ([`ProbationStatus`]).
//! - **Audit**: records ([`PlanRecord`], [`OutcomeRecord`]) and the streaming trail
//!   ([`AuditSink`], [`Router::attach_audit`]); the [`audit`] module replays a log.
//! - **Errors**, one per boundary: [`PolicyError`], [`RequestError`], [`UpdateError`],
//!   [`SessionError`], [`SignatureError`], [`AuditError`], [`NoPreviousPolicy`],
//!   [`wire::WireError`].
//! - **Limits**, each refused with an error naming it: [`MAX_ROUTES`], [`MAX_COMPONENTS`],
//!   [`MAX_BATCH`], [`MAX_PSAPS`], [`MAX_POLICY_LEN`], [`MAX_JURISDICTIONS`], [`MAX_DIALLED_LEN`],
//!   and the rest of the `MAX_` constants.
//!
//! Public modules are kept where the namespace says something: [`wire`] (the wire format of
//! `WIRE.md`), [`audit`] (log records and replay), `ffi` (the C ABI, feature `capi`, whose
//! contract is `include/sosroute.h`) and `sim` (feature `sim`).
//!
//! ## Stability
//!
//! From 1.0 the crate follows semver: the root items, [`wire`], [`audit`] and the C ABI change
//! incompatibly only in a major release. Public enums and errors are `#[non_exhaustive]` (a new
//! fact, reason or error variant is not a breaking change) except the closed sets meant to be
//! matched in full: [`Evidence`], [`Breaker`], [`Next`], [`Subject`], [`ComponentKind`]. The
//! structs the crate hands out to be read ([`Plan`], [`Attempt`], [`LeftOut`], [`Health`],
//! [`ComponentState`], [`Stamped`], [`PsapFacts`], [`ProbationStatus`]) are `#[non_exhaustive]`
//! too: a new field is not a breaking change. Plans
//! are deterministic for a given request, state and policy, but which plan a policy yields is
//! behaviour, not API: a minor release may decide better. `sim` is the engine of the `sosroute`
//! command (outage replay, generated worlds, policy preview): its Rust API serves that command
//! and the tests and may change in a minor release. Anything `#[doc(hidden)]` (the `__testing`
//! module) is not API at all.
#![deny(unsafe_code)]
#![warn(missing_docs)]
// An item of a private module is `pub` only if the crate root re-exports it; the rest is
// `pub(crate)`, so that what is API can be read off this file.
#![warn(unreachable_pub)]

// Without the simulator, nothing walks a log decision by decision (`sosroute preview-policy`).
pub mod audit;
#[cfg(feature = "capi")]
#[allow(unsafe_code)]
pub mod ffi;
mod identity;
mod observation;
mod plan;
mod planner;
mod policy;
mod probation;
mod published;
mod request;
mod route;
mod router;
mod signing;
#[cfg(feature = "sim")]
pub mod sim;
mod state;
mod text;
pub mod wire;

pub use audit::{AuditError, AuditSink, DEFAULT_AUDIT_CAPACITY, MAX_AUDIT_CAPACITY};
pub use identity::PolicyHash;
pub use observation::{
    ComponentId, Fact, FactClass, FactKind, Observation, Outcome, PsapId, PsapState, RadioState,
    RejectCause, ServiceState, SignalLevel, Subject,
};
pub use plan::{
    Attempt, AttemptRecord, Attempts, LeftOut, LeftOutReason, LeftOuts, OutcomeRecord, Plan,
    PlanRecord, Reason,
};
pub use planner::NETWORK_GIVE_UP_MS;
pub use policy::{
    BreakerSpec, BudgetSpec, Component, ComponentKind, ComponentSet, ComponentSpec, Guidance,
    GuidanceSpec, JurisdictionSpec, Policy, PolicyError, PolicyFormat, PolicySpec, PreferenceSpec,
    ProbationSpec, Route, RouteSpec, TtlSpec, MAX_COMPONENTS, MAX_GUIDANCE_LEN,
    MAX_GUIDANCE_NUMBERS, MAX_GUIDANCE_NUMBER_LEN, MAX_JURISDICTIONS, MAX_POLICY_LEN,
    MAX_POLICY_NAME_LEN, US_HANDSET_TOML,
};
pub use probation::{ProbationSettings, ProbationState, ProbationStatus, Tally};
pub use request::{CallRequest, EmergencyService, RequestError, MAX_DIALLED_LEN};
pub use route::{Capabilities, Media, MediaSet, RouteId, RouteKind, MAX_ROUTES};
pub use router::{CallSession, Done, Next, NoPreviousPolicy, Router, SessionError, POLICY_HISTORY};
pub use signing::{PolicySignature, PublicKey, SecretKey, SignatureError};
pub use state::{
    Breaker, ComponentState, Evidence, Health, PsapFacts, Snapshot, Stamped, Update, UpdateError,
    MAX_BATCH, MAX_PSAPS,
};
pub use text::{CUT_MARK, MAX_ERROR_LEN};

/// **Not API.** Internals that the property tests (`tests/rules.rs`) and the fuzz targets
/// (`fuzz/fuzz_targets/planner.rs`) drive directly, to check the decision rules on the pure
/// planner without a call session around it. Hidden from the docs, not covered by semver: it may
/// change or go in any release. Embedders use [`Router::plan`] and [`CallSession`].
#[doc(hidden)]
pub mod __testing {
    pub use crate::planner::{plan, Constraints};
    pub use crate::route::RouteSet;
}
