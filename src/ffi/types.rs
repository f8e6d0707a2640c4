//! The C view of the data: enums with the same values as the Rust ones, flag constants, and the
//! structs that cross the boundary (each starts with `struct_size`).
//!
//! Fields that carry an enum are `uint32_t` in the structs: a value from C is validated, never
//! reinterpreted as a Rust enum.

use crate::observation::{PsapState, RadioState, RejectCause, ServiceState};
use crate::plan::{LeftOutReason, Reason};
use crate::policy::PolicyFormat;
use crate::probation::ProbationState;
use crate::request::EmergencyService;
use crate::route::{Media, RouteKind};
use crate::router::Done;
use crate::state::Evidence;

/// Maps each variant of a C enum to the Rust enum of the same name and value, both ways. The
/// match on the Rust enum is exhaustive, so a new Rust variant does not compile until C has it.
macro_rules! mirror {
    ($c:ident <=> $rust:ident { $($v:ident),* $(,)? }) => {
        impl $c {
            /// The C value of a Rust value.
            #[allow(dead_code)]
            pub(crate) fn from_rust(x: $rust) -> $c {
                match x {
                    $($rust::$v => $c::$v,)*
                }
            }

            /// The Rust value of a C integer, if it is one.
            #[allow(dead_code)]
            pub(crate) fn to_rust(v: u32) -> Option<$rust> {
                $(
                    if v == $c::$v as u32 {
                        return Some($rust::$v);
                    }
                )*
                None
            }
        }
    };
}

/// How the caller and the PSAP talk (`Media`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_media {
    /// Speech.
    Voice = 1,
    /// Text messages (SMS text-to-911, satellite messaging).
    Text = 2,
    /// Real-time text over an IMS call.
    Rtt = 3,
}
mirror!(sos_media <=> Media { Voice, Text, Rtt });

/// What kind of way out a route is (`RouteKind`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_route_kind {
    /// IMS (VoLTE / VoNR) or circuit-switched on the home network.
    HomeCellular = 1,
    /// The device's other SIM and its network.
    CrossSim = 2,
    /// Any other network, in limited service ("SOS only").
    OtherNetwork = 3,
    /// IMS emergency over Wi-Fi through the ePDG.
    WifiCalling = 4,
    /// Text-to-911 by SMS.
    Text = 5,
    /// Satellite SOS messaging.
    Satellite = 6,
    /// Anything else, e.g. a PSAP's outbound trunk.
    Custom = 7,
}
mirror!(sos_route_kind <=> RouteKind {
    HomeCellular,
    CrossSim,
    OtherNetwork,
    WifiCalling,
    Text,
    Satellite,
    Custom,
});

/// Radio / registration state of a network (`RadioState`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_radio_state {
    /// Registered, full service.
    InService = 1,
    /// Camped for emergency calls only ("SOS only").
    LimitedService = 2,
    /// Nothing to attach to.
    NoService = 3,
    /// The modem does not know.
    Unknown = 4,
}
mirror!(sos_radio_state <=> RadioState { InService, LimitedService, NoService, Unknown });

/// Health of a service component: IMS core, ePDG, TCC, satellite link (`ServiceState`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_service_state {
    /// Registered / healthy.
    Up = 1,
    /// Known down.
    Down = 2,
    /// Not known.
    Unknown = 3,
}
mirror!(sos_service_state <=> ServiceState { Up, Down, Unknown });

/// PSAP state in the NENA i3 vocabulary (`PsapState`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_psap_state {
    /// Taking calls normally.
    Normal = 1,
    /// Taking calls, but all call takers are busy.
    Overloaded = 2,
    /// Out of service.
    Down = 3,
    /// Cannot be reached from here.
    Unreachable = 4,
    /// Reached, but calls are being diverted to another PSAP.
    GoingDown = 5,
    /// Staffed but with reduced capacity.
    ScheduledMaintenance = 6,
    /// Not known.
    Unknown = 7,
}
mirror!(sos_psap_state <=> PsapState {
    Normal,
    Overloaded,
    Down,
    Unreachable,
    GoingDown,
    ScheduledMaintenance,
    Unknown,
});

/// Why the network refused an attempt (`RejectCause`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_reject_cause {
    /// No signal. Counts against the route's radio components.
    NoSignal = 1,
    /// Congestion / overload (SIP 503, 3GPP cause 34 / 42). Counts against its service components.
    Congestion = 2,
    /// Service unavailable or network failure. Counts against its service components.
    ServiceUnavailable = 3,
    /// Not allowed for this caller (barred, no SIM, SIP 403): refused for this caller, so it
    /// feeds no breaker shared with other calls.
    NotAllowed = 4,
    /// Anything else. Counts against the route only.
    Other = 5,
}
mirror!(sos_reject_cause <=> RejectCause {
    NoSignal,
    Congestion,
    ServiceUnavailable,
    NotAllowed,
    Other,
});

/// How an attempt ended (`Outcome`); a rejection also carries a `sos_reject_cause`.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_outcome {
    /// The call reached the PSAP.
    Connected = 1,
    /// The network refused the attempt.
    Rejected = 2,
    /// No answer before the attempt's setup timeout.
    TimedOut = 3,
}

/// What an observation is about: `sos_observation.subject`.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_subject {
    /// A component of the policy in force; `id` is its component id.
    Component = 1,
    /// A PSAP; `id` is its registry id (not 0).
    Psap = 2,
}

/// Which fact an observation carries: `sos_observation.fact`, deciding which value fields count.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_fact {
    /// Radio state of a radio component: `state` is a `sos_radio_state`, `signal` 0..=4 bars or
    /// `SOS_SIGNAL_UNKNOWN`.
    Radio = 1,
    /// Health of a service component: `state` is a `sos_service_state`.
    Service = 2,
    /// An active probe of a service component: `flag` 1 if answered, `rtt_ms` its round trip.
    Probe = 3,
    /// Whether a link (Wi-Fi behind Wi-Fi calling) is up: `flag` 0 or 1.
    Link = 4,
    /// Whether an E911 address is registered for the link: `flag` 0 or 1.
    E911Address = 5,
    /// An operator's outage notice for a component: `flag` 1 while in force.
    Outage = 6,
    /// State of a PSAP: `state` is a `sos_psap_state`.
    Psap = 7,
    /// Whether a PSAP accepts text-to-911: `flag` 0 or 1.
    PsapTextReady = 8,
}

/// Why an attempt is where it is in a plan (`Reason`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_reason {
    /// Fresh positive evidence that the route works.
    Verified = 1,
    /// No fresh evidence either way.
    Unverified = 2,
    /// Recent failures: demoted. Its timer is shorter only where the route's own breaker is open
    /// or it is observed down, and never below what the route's recent successes needed.
    Demoted = 3,
    /// Breaker half-open: one trial after the cool-down, on the full timer.
    Trial = 4,
    /// Fresh negative evidence (or a recovery still in hold-down); tried anyway (fail open). A
    /// route whose timer is below the network's own give-up (32 s) is probed on a shorter timer,
    /// never below what its recent successes needed.
    FailOpen = 5,
}
mirror!(sos_reason <=> Reason { Verified, Unverified, Demoted, Trial, FailOpen });

/// Why a route is not attempted (`LeftOutReason`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_left_out_reason {
    /// The caller lacks a capability the route needs (see `sos_left_out.missing`).
    MissingCapability = 1,
    /// A text route, and the PSAP is not known (freshly) to accept text.
    PsapNotTextReady = 2,
    /// The policy does not list the route for this media (and PSAP).
    NotPreferred = 3,
    /// Already failed in this call.
    AlreadyFailed = 4,
    /// The attempts before it use up the call's remaining budget.
    OverBudget = 5,
    /// No fresh evidence, and the policy allows only verified routes while any remain.
    Unverified = 6,
}
mirror!(sos_left_out_reason <=> LeftOutReason {
    MissingCapability,
    PsapNotTextReady,
    NotPreferred,
    AlreadyFailed,
    OverBudget,
    Unverified,
});

/// How much the state says for or against a route, best first (`Evidence`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_evidence {
    /// Fresh evidence that it works.
    Positive = 1,
    /// Nothing fresh either way.
    Unknown = 2,
    /// Fresh evidence against it, a recovery in hold-down, or an open breaker.
    Negative = 3,
}
mirror!(sos_evidence <=> Evidence { Positive, Unknown, Negative });

/// Why a call session has nothing more to attempt (`Done`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_done {
    /// An attempt connected.
    Connected = 1,
    /// The call's budget is spent.
    BudgetSpent = 2,
    /// No route is usable for this request at all. A voice call never ends so.
    Exhausted = 3,
}
mirror!(sos_done <=> Done { Connected, BudgetSpent, Exhausted });

/// Where a router's latest policy change stands (`ProbationState`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_probation_state {
    /// No policy installed since the router was made, or the latest had probation off.
    None = 0,
    /// The policy in force is being judged.
    OnProbation = 1,
    /// Its probation ended without a rollback: it stays.
    Kept = 2,
    /// It failed measurably worse than its predecessor, which the router restored by itself.
    RolledBack = 3,
    /// Another policy was installed (or rolled back to) before its probation ended.
    Superseded = 4,
}
mirror!(sos_probation_state <=> ProbationState {
    None,
    OnProbation,
    Kept,
    RolledBack,
    Superseded
});

/// Where a router's latest policy change stands, filled by `sos_router_probation_status`; the
/// reason is read with `sos_router_probation_reason`. Set `struct_size` to
/// `sizeof(sos_probation_status)` before the call.
///
/// Probation judges a new policy only on attempts where it chose another route than its
/// predecessor would have for the same request on the same state, and the predecessor's route
/// was not seen failing ("judged", the first such attempt of each call); it rolls back when, on
/// at least the policy's `probation.min_calls` judged calls, their failure rate exceeds the predecessor's recent failure rate
/// ("baseline", on routes not seen failing) by more than `probation.tolerance_pct` points, at
/// z >= 3. Attempts where both would have chosen alike ("agreed") are not judged: an outage
/// fails them under either policy.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct sos_probation_status {
    /// `sizeof(sos_probation_status)` as the caller compiled it.
    pub struct_size: u32,
    /// A `sos_probation_state`.
    pub state: u32,
    /// Version of the policy put on probation (0 with `SOS_PROBATION_STATE_NONE`).
    pub candidate_version: u64,
    /// Version of the policy it replaced.
    pub predecessor_version: u64,
    /// Version under which the predecessor was restored (`SOS_PROBATION_STATE_ROLLED_BACK`),
    /// else 0.
    pub restored_version: u64,
    /// When the probation began: the `now` of the first outcome reported under the policy
    /// (until then, the latest `now` the router had heard when it was loaded).
    pub since_ms: u64,
    /// When it ends unless decided before.
    pub until_ms: u64,
    /// When it was decided; 0 while on probation.
    pub decided_ms: u64,
    /// Judged calls: per call, the first attempt on which the policy chose another route than
    /// its predecessor would have, the predecessor's route not seen failing.
    pub judged_calls: u32,
    /// Judged calls whose judged attempt failed.
    pub judged_failed: u32,
    /// Attempts on which both policies would have chosen alike (not judged).
    pub agreed_attempts: u32,
    /// Of which failed.
    pub agreed_failed: u32,
    /// Attempts on which they differed but the predecessor's choice was seen failing too.
    pub washed: u32,
    /// The predecessor's recent attempts before the change (routes not seen failing).
    pub baseline_attempts: u32,
    /// Of which failed.
    pub baseline_failed: u32,
}

/// The text format of a policy (`PolicyFormat`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_policy_format {
    /// TOML.
    Toml = 1,
    /// JSON.
    Json = 2,
}
mirror!(sos_policy_format <=> PolicyFormat { Toml, Json });

/// The emergency service a dialled string asks for (`EmergencyService`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum sos_emergency_service {
    /// Any emergency service (911, 112, `urn:service:sos`).
    Sos = 1,
    /// `urn:service:sos.ambulance`.
    Ambulance = 2,
    /// `urn:service:sos.animal-control`.
    AnimalControl = 3,
    /// `urn:service:sos.fire`; also 119.
    Fire = 4,
    /// `urn:service:sos.gas`.
    Gas = 5,
    /// `urn:service:sos.marine`.
    Marine = 6,
    /// `urn:service:sos.mountain`.
    Mountain = 7,
    /// `urn:service:sos.physician`.
    Physician = 8,
    /// `urn:service:sos.poison`.
    Poison = 9,
    /// `urn:service:sos.police`; also 110.
    Police = 10,
}
mirror!(sos_emergency_service <=> EmergencyService {
    Sos,
    Ambulance,
    AnimalControl,
    Fire,
    Gas,
    Marine,
    Mountain,
    Physician,
    Poison,
    Police,
});

/// Capability flag: a second SIM with its own network.
pub const SOS_CAP_DUAL_SIM: u32 = 1;
/// Capability flag: Wi-Fi calling switched on.
pub const SOS_CAP_WIFI_CALLING: u32 = 2;
/// Capability flag: can send SMS.
pub const SOS_CAP_SMS: u32 = 4;
/// Capability flag: can do real-time text in a call.
pub const SOS_CAP_RTT: u32 = 8;
/// Capability flag: has satellite SOS messaging.
pub const SOS_CAP_SATELLITE: u32 = 16;
/// Every capability flag this version knows; other bits are rejected.
pub const SOS_CAP_ALL: u32 = 31;

/// Request flag (`sos_router_plan_ex`, `sos_router_begin_ex`): the dialer already classified
/// the call as an emergency. A dialled string the library does not recognise is then planned as
/// a generic emergency (`SOS_EMERGENCY_SERVICE_SOS`, `urn:service:sos`), and the plan's
/// explanation says why; `dialled` may then be NULL with `dialled_len` 0. The library is never
/// the reason an emergency call is not attempted.
pub const SOS_REQUEST_DIALER_EMERGENCY: u32 = 1;
/// Every request flag this version knows; other bits are rejected.
pub const SOS_REQUEST_ALL: u32 = 1;

/// Longest dialled string examined, in bytes: a longer one is `SOS_ERR_NOT_EMERGENCY` (without
/// `SOS_REQUEST_DIALER_EMERGENCY`).
pub const SOS_MAX_DIALLED_LEN: usize = 256;

/// Largest policy text `sos_router_new_from_policy` / `sos_router_load_policy` accept, in bytes
/// (8 MiB, room for `SOS_MAX_JURISDICTIONS`); a longer one is `SOS_ERR_POLICY`, unparsed.
pub const SOS_MAX_POLICY_LEN: usize = 8_388_608;
/// Most `[[jurisdiction]]` entries a policy may have; more is `SOS_ERR_POLICY`.
pub const SOS_MAX_JURISDICTIONS: usize = 100_000;
/// Most observations `sos_router_update` takes in one batch (as many as a wire-format batch may
/// carry); more is `SOS_ERR_INVALID_ARG`.
pub const SOS_MAX_BATCH: usize = 4096;

/// `sos_observation.signal` when no signal level was reported.
pub const SOS_SIGNAL_UNKNOWN: u32 = 255;
/// `sos_attempt.blamed` when no component weighed against the attempt.
pub const SOS_NO_COMPONENT: u32 = u32::MAX;

/// One emergency call to route. Set `struct_size` to `sizeof(sos_call_request)`.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct sos_call_request {
    /// `sizeof(sos_call_request)` as the caller compiled it.
    pub struct_size: u32,
    /// A `sos_media`: how the caller wants to talk.
    pub media: u32,
    /// Caller-chosen id of the call, carried into plans and audit records.
    pub call_id: u64,
    /// The dialled number or service URN (`911`, `tel:112`, `urn:service:sos.police`); need not
    /// be NUL-terminated. Normalised before it is matched, and in no other way: NULs (a
    /// terminator counted in `dialled_len`), white space, control and format characters
    /// (zero-width space and joiners, word joiner, byte-order mark, soft hyphen, bidirectional
    /// marks and isolates) at either end are dropped; in a number, format characters anywhere
    /// are dropped and decimal digits of any script in Unicode Nd that Android or iOS input
    /// methods type (full-width, Arabic-Indic, Persian, Devanagari, Bengali, Thai, ...) read as
    /// ASCII digits; a `tel:` prefix is dropped; URNs match without regard to case.
    pub dialled: *const std::ffi::c_char,
    /// Length of `dialled` in bytes; at most `SOS_MAX_DIALLED_LEN` are examined.
    pub dialled_len: usize,
    /// `SOS_CAP_*` flags: what the caller's device allows. Unknown bits are rejected.
    pub capabilities: u32,
    /// The PSAP (registry id) serving the caller; 0 when not known.
    pub psap: u32,
    /// When the call starts (the caller's monotonic milliseconds).
    pub now_ms: u64,
}

/// One time-stamped observation from a monitor. Set `struct_size` to `sizeof(sos_observation)`;
/// the fields a `fact` does not use are ignored.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct sos_observation {
    /// `sizeof(sos_observation)` as the caller compiled it.
    pub struct_size: u32,
    /// A `sos_subject`: what it is about.
    pub subject: u32,
    /// Component id (`sos_router_component_id`) or PSAP registry id, per `subject`.
    pub id: u32,
    /// A `sos_fact`: what was seen, and which of the fields below count.
    pub fact: u32,
    /// `sos_radio_state`, `sos_service_state` or `sos_psap_state`, per `fact`.
    pub state: u32,
    /// Radio signal level, 0..=4 bars, or `SOS_SIGNAL_UNKNOWN`.
    pub signal: u32,
    /// 0 or 1: probe answered, link up, E911 address registered, outage in force, text ready.
    pub flag: u32,
    /// Round-trip time of an answered probe.
    pub rtt_ms: u32,
    /// When it was seen (the caller's monotonic milliseconds).
    pub at_ms: u64,
}

/// One attempt of a plan, filled in by the library. Set `struct_size` to `sizeof(sos_attempt)`
/// before the call; it is left as it was.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct sos_attempt {
    /// `sizeof(sos_attempt)` as the caller compiled it.
    pub struct_size: u32,
    /// The route's id (`sos_router_route_name` names it).
    pub route: u32,
    /// A `sos_route_kind`.
    pub kind: u32,
    /// A `sos_media`: the media to use (may differ from the request's: a voice caller asked to
    /// text).
    pub media: u32,
    /// How long to wait for it to connect.
    pub timeout_ms: u64,
    /// A `sos_reason`: why it is here.
    pub reason: u32,
    /// A `sos_evidence`: the evidence class it was ranked in.
    pub evidence: u32,
    /// The component that holds the route back (see `Attempt::blamed` in the Rust API), or
    /// `SOS_NO_COMPONENT`.
    pub blamed: u32,
    /// Whether the caller must do something (type, aim the phone) beyond waiting.
    pub needs_user_action: bool,
}

/// A route left out of a plan, filled in by the library. Set `struct_size` to
/// `sizeof(sos_left_out)` before the call.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct sos_left_out {
    /// `sizeof(sos_left_out)` as the caller compiled it.
    pub struct_size: u32,
    /// The route's id.
    pub route: u32,
    /// A `sos_left_out_reason`.
    pub reason: u32,
    /// With `SOS_LEFT_OUT_REASON_MISSING_CAPABILITY`, the `SOS_CAP_*` flags missing; 0 otherwise.
    pub missing: u32,
}

/// What a plan answers and what it was made from, filled in by the library. Set `struct_size`
/// to `sizeof(sos_plan_summary)` before the call.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct sos_plan_summary {
    /// `sizeof(sos_plan_summary)` as the caller compiled it.
    pub struct_size: u32,
    /// A `sos_emergency_service`: the service the dialled string asked for.
    pub service: u32,
    /// The request's call id.
    pub call_id: u64,
    /// State epoch the plan was made from.
    pub epoch: u64,
    /// Version of the policy it was made with.
    pub policy_version: u64,
    /// When it was made.
    pub made_at_ms: u64,
    /// The PSAP's fresh state, a `sos_psap_state`, or 0 when none is known.
    pub psap_state: u32,
    /// Every attempt has evidence against it: show the caller the guidance.
    pub fail_open: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each C value names the Rust variant with the same value (the `mirror!` match covers every
    /// Rust variant, so together the two enums agree).
    #[test]
    fn c_enums_have_the_rust_values() {
        macro_rules! check {
            ($c:ident) => {
                let mut seen = 0;
                for v in 0..64u32 {
                    if let Some(x) = $c::to_rust(v) {
                        assert_eq!(x as u32, v, stringify!($c));
                        assert_eq!($c::from_rust(x) as u32, v, stringify!($c));
                        seen += 1;
                    }
                }
                assert!(seen > 0);
            };
        }
        check!(sos_media);
        check!(sos_route_kind);
        check!(sos_radio_state);
        check!(sos_service_state);
        check!(sos_psap_state);
        check!(sos_reject_cause);
        check!(sos_reason);
        check!(sos_left_out_reason);
        check!(sos_evidence);
        check!(sos_done);
        check!(sos_policy_format);
        check!(sos_emergency_service);
        check!(sos_probation_state);
    }

    #[test]
    fn capability_flags_match() {
        use crate::route::Capabilities;
        assert_eq!(SOS_CAP_DUAL_SIM, Capabilities::DUAL_SIM.0);
        assert_eq!(SOS_CAP_WIFI_CALLING, Capabilities::WIFI_CALLING.0);
        assert_eq!(SOS_CAP_SMS, Capabilities::SMS.0);
        assert_eq!(SOS_CAP_RTT, Capabilities::RTT.0);
        assert_eq!(SOS_CAP_SATELLITE, Capabilities::SATELLITE.0);
        assert_eq!(SOS_CAP_ALL, Capabilities::ALL.0);
        assert_eq!(
            SOS_SIGNAL_UNKNOWN,
            u32::from(crate::observation::SignalLevel::UNKNOWN.0)
        );
        assert_eq!(SOS_NO_COMPONENT, u32::MAX);
        assert_eq!(SOS_MAX_DIALLED_LEN, crate::request::MAX_DIALLED_LEN);
        assert_eq!(SOS_MAX_POLICY_LEN, crate::policy::MAX_POLICY_LEN);
        assert_eq!(SOS_MAX_JURISDICTIONS, crate::policy::MAX_JURISDICTIONS);
        assert_eq!(SOS_MAX_BATCH, crate::wire::MAX_RECORDS);
        // C's fact numbers are the library's (one table: FactKind).
        let c = [
            sos_fact::Radio,
            sos_fact::Service,
            sos_fact::Probe,
            sos_fact::Link,
            sos_fact::E911Address,
            sos_fact::Outage,
            sos_fact::Psap,
            sos_fact::PsapTextReady,
        ];
        for (c, kind) in c.into_iter().zip(crate::FactKind::ALL) {
            assert_eq!(c as u32, kind as u32, "{kind:?}");
            assert_eq!(crate::FactKind::from_number(c as u32), Some(kind));
        }
    }
}
