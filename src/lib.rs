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
//! - [`planner::plan`]: the pure decision function underneath, for replay and tests.
//! - [`wire`]: the binary format of state-update batches from another process (`WIRE.md`).
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
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
#[cfg(feature = "capi")]
#[allow(unsafe_code)]
pub mod ffi;
pub mod identity;
pub mod observation;
pub mod plan;
pub mod planner;
pub mod policy;
pub mod probation;
pub mod request;
pub mod route;
pub mod router;
pub mod signing;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;
pub mod text;
pub mod wire;

pub use audit::{AuditError, AuditSink};
pub use identity::PolicyHash;
pub use observation::{
    ComponentId, Fact, FactKind, Observation, Outcome, PsapId, PsapState, RadioState, RejectCause,
    ServiceState, SignalLevel, Subject,
};
pub use plan::{Attempt, LeftOut, LeftOutReason, OutcomeRecord, Plan, PlanRecord, Reason};
pub use policy::{ComponentKind, Policy, PolicyError, PolicyFormat, PolicySpec};
pub use probation::{ProbationState, ProbationStatus};
pub use request::{CallRequest, EmergencyService, RequestError};
pub use route::{Capabilities, Media, RouteId, RouteKind};
pub use router::{CallSession, Done, Next, NoPreviousPolicy, Router, SessionError};
pub use signing::{PolicySignature, PublicKey, SecretKey, SignatureError};
pub use state::{Breaker, Evidence, Snapshot, Update, UpdateError};
