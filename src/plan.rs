//! A plan: the ordered attempts for one call, the routes left out and why, and last-resort
//! guidance. It explains itself as a paragraph and as an audit record.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::identity::PolicyHash;
use crate::observation::{ComponentId, PsapId, PsapState};
use crate::policy::{Guidance, Policy};
use crate::request::{CallRequest, EmergencyService};
use crate::route::{Capabilities, Media, RouteId, RouteKind, MAX_ROUTES};
use crate::state::Evidence;

/// Why an attempt is where it is in the plan. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum Reason {
    /// Fresh positive evidence that the route works.
    Verified = 1,
    /// No fresh evidence either way.
    Unverified = 2,
    /// Recent failures (its own or a component's breaker open, or a component that failed earlier
    /// in this call): demoted. Its timer is shorter only where its own breaker is open or it is
    /// observed down (see [`Reason::FailOpen`]), and never below what the route's recent
    /// successes needed.
    Demoted = 3,
    /// Breaker half-open: tried again after the cool-down, on its full timer.
    Trial = 4,
    /// Fresh negative evidence or a recovery still in hold-down; tried anyway, because an
    /// emergency attempt on a doubtful route costs seconds and skipping it can cost a life. A
    /// route whose timer is below the network's own give-up (32 s) is then probed on a shorter
    /// timer, never below what its recent successes needed.
    FailOpen = 5,
}

impl Reason {
    /// All reasons, in value order.
    pub(crate) const ALL: [Reason; 5] = [
        Reason::Verified,
        Reason::Unverified,
        Reason::Demoted,
        Reason::Trial,
        Reason::FailOpen,
    ];

    fn text(self) -> &'static str {
        match self {
            Reason::Verified => "fresh evidence it works",
            Reason::Unverified => "no fresh evidence either way",
            Reason::Demoted => "demoted after recent failures",
            Reason::Trial => "trial after its breaker's cool-down, full timer",
            Reason::FailOpen => "evidence against it, tried anyway",
        }
    }
}

/// Why a route is not attempted. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum LeftOutReason {
    /// The caller lacks a capability the route needs (see [`LeftOut::missing`]).
    MissingCapability = 1,
    /// A text route, and the PSAP is not known (freshly) to accept text.
    PsapNotTextReady = 2,
    /// The policy does not list the route for this media (and PSAP).
    NotPreferred = 3,
    /// Already failed in this call.
    AlreadyFailed = 4,
    /// The attempts before it use up the call's remaining budget.
    OverBudget = 5,
    /// No fresh evidence, and the policy does not allow unverified attempts while verified ones
    /// remain.
    Unverified = 6,
}

impl LeftOutReason {
    /// All reasons, in value order.
    pub(crate) const ALL: [LeftOutReason; 6] = [
        LeftOutReason::MissingCapability,
        LeftOutReason::PsapNotTextReady,
        LeftOutReason::NotPreferred,
        LeftOutReason::AlreadyFailed,
        LeftOutReason::OverBudget,
        LeftOutReason::Unverified,
    ];

    fn text(self) -> &'static str {
        match self {
            LeftOutReason::MissingCapability => "caller lacks",
            LeftOutReason::PsapNotTextReady => "PSAP not known to accept text",
            LeftOutReason::NotPreferred => "not in the policy's list for this media",
            LeftOutReason::AlreadyFailed => "already failed in this call",
            LeftOutReason::OverBudget => "no budget left for it",
            LeftOutReason::Unverified => "unverified, and the policy allows only verified routes",
        }
    }
}

/// One attempt of a plan. `Copy`, no heap data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attempt {
    /// The route.
    pub route: RouteId,
    /// Its kind.
    pub kind: RouteKind,
    /// The media to use on it (may differ from the request's: a voice caller asked to text).
    pub media: Media,
    /// How long to wait for it to connect.
    pub timeout_ms: u64,
    /// How long after it was handed out to dial it: a redial's backoff, when a whole walk of
    /// the route list failed faster than the policy's `redial_backoff_s`; 0 otherwise.
    #[serde(default)]
    pub delay_ms: u64,
    /// Whether the caller must do something (type, aim the phone) beyond waiting.
    pub needs_user_action: bool,
    /// Why it is here.
    pub reason: Reason,
    /// The evidence class it was ranked in.
    pub evidence: Evidence,
    /// The component that holds the route back, if any: one that failed earlier in this call;
    /// else, where a component's breaker is worse than the route's own, the one open the
    /// longest; else, for a route with negative evidence, the component negative the longest;
    /// for a route with no fresh evidence, the component whose positive evidence went stale
    /// first. `None` for a verified route, or where only the route's own breaker is against it.
    pub blamed: Option<ComponentId>,
}

/// A route left out of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeftOut {
    /// The route.
    pub route: RouteId,
    /// Why.
    pub reason: LeftOutReason,
    /// With [`LeftOutReason::MissingCapability`], the capabilities missing.
    pub missing: Capabilities,
}

/// Attempts in plan order.
pub type Attempts = SmallVec<[Attempt; MAX_ROUTES]>;
/// Routes left out, in policy order.
pub type LeftOuts = SmallVec<[LeftOut; MAX_ROUTES]>;

/// How one call should go: made by `Router::plan` or a `CallSession`. Building one does not
/// touch the heap.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The request it answers.
    pub request: CallRequest,
    /// Attempts, best first. Never empty for a voice call made by `Router::plan`.
    pub attempts: Attempts,
    /// Routes not attempted, with a reason each.
    pub left_out: LeftOuts,
    /// Every attempt has evidence against it: the plan tries them anyway, and the caller should
    /// be shown the guidance.
    pub fail_open: bool,
    /// The PSAP's fresh i3 state, if known.
    pub psap_state: Option<PsapState>,
    /// Epoch of the state snapshot it was made from.
    pub epoch: u64,
    /// When it was made.
    pub made_at_ms: u64,
    pub(crate) policy: Arc<Policy>,
}

impl PartialEq for Plan {
    fn eq(&self, other: &Plan) -> bool {
        self.request == other.request
            && self.attempts == other.attempts
            && self.left_out == other.left_out
            && self.fail_open == other.fail_open
            && self.psap_state == other.psap_state
            && self.epoch == other.epoch
            && self.made_at_ms == other.made_at_ms
            && self.policy_version() == other.policy_version()
    }
}

impl Plan {
    /// A plan for `request` with nothing in it yet, for the planner to fill.
    pub(crate) fn empty(request: &CallRequest, policy: &Arc<Policy>) -> Plan {
        Plan {
            request: *request,
            attempts: Attempts::new(),
            left_out: LeftOuts::new(),
            fail_open: false,
            psap_state: None,
            epoch: 0,
            made_at_ms: request.now_ms,
            policy: Arc::clone(policy),
        }
    }

    /// Version of the policy it was made with.
    pub fn policy_version(&self) -> u64 {
        self.policy.version()
    }

    /// The policy it was made with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Last-resort guidance for the caller (PSAP-specific where the policy has it).
    pub fn guidance(&self) -> &Guidance {
        self.policy.guidance(self.request.psap)
    }

    /// The policy's name for a route.
    pub fn route_name(&self, route: RouteId) -> &str {
        self.policy.route(route).map_or("?", |r| r.name.as_str())
    }

    fn component_name(&self, c: ComponentId) -> &str {
        self.policy.component(c).map_or("?", |c| c.name.as_str())
    }

    /// One human-readable paragraph: what will be tried, in what order, why, what was left out,
    /// and what to tell the caller if nothing connects.
    pub fn explain(&self) -> String {
        let mut s = String::with_capacity(512);
        let r = &self.request;
        let _ = write!(
            s,
            "Call {} ({}, {}",
            r.call_id,
            r.service.urn(),
            r.media.name()
        );
        if r.classified_by_dialer {
            s.push_str(
                "; the dialled string is not an emergency number this library knows: planned \
                 as a generic emergency because the dialer classified the call as one",
            );
        }
        s.push(')');
        if r.psap.0 != 0 {
            let _ = write!(s, " to PSAP {}", r.psap.0);
            if let Some(state) = self.psap_state {
                let _ = write!(s, " ({state:?})");
            }
        }
        if self.attempts.is_empty() {
            s.push_str(": nothing to attempt.");
        } else {
            s.push_str(": try ");
            for (i, a) in self.attempts.iter().enumerate() {
                if i > 0 {
                    s.push_str(if i + 1 == self.attempts.len() {
                        ", and last "
                    } else {
                        ", then "
                    });
                }
                let _ = write!(
                    s,
                    "{} for {:.1} s",
                    self.route_name(a.route),
                    a.timeout_ms as f64 / 1000.0
                );
                if a.media != r.media {
                    let _ = write!(s, " by {}", a.media.name());
                }
                let _ = write!(s, " ({}", a.reason.text());
                if let Some(c) = a.blamed {
                    let _ = write!(s, ": {}", self.component_name(c));
                }
                if a.needs_user_action {
                    s.push_str("; the caller must act");
                }
                s.push(')');
            }
            s.push('.');
        }
        if !self.left_out.is_empty() {
            s.push_str(" Left out: ");
            for (i, l) in self.left_out.iter().enumerate() {
                if i > 0 {
                    s.push_str("; ");
                }
                let _ = write!(s, "{} ({}", self.route_name(l.route), l.reason.text());
                if l.reason == LeftOutReason::MissingCapability {
                    let _ = write!(s, " {}", l.missing.first_name());
                }
                s.push(')');
            }
            s.push('.');
        }
        if self.fail_open {
            s.push_str(" Every route has evidence against it.");
        }
        let g = self.guidance();
        let _ = write!(s, " Guidance for the caller: {}", g.text);
        if !g.numbers.is_empty() {
            let _ = write!(s, " Numbers: {}.", g.numbers.join(", "));
        }
        // The version says when the policy was installed, the hash what it says: a short prefix
        // here for the reader, the whole hash in the audit record.
        let _ = write!(
            s,
            " (state epoch {}, policy {} v{} sha256:{}, at {} ms)",
            self.epoch,
            self.policy.name(),
            self.policy_version(),
            self.policy.hash().short(16),
            self.made_at_ms
        );
        s
    }

    /// The plan as an audit record (one JSON line with `serde_json::to_string`).
    pub fn record(&self) -> PlanRecord {
        PlanRecord {
            record: "plan",
            call_id: self.request.call_id,
            service: self.request.service,
            classified_by_dialer: self.request.classified_by_dialer,
            media: self.request.media,
            caller: self.request.caller,
            psap: self.request.psap,
            made_at_ms: self.made_at_ms,
            epoch: self.epoch,
            policy: self.policy.name().to_owned(),
            policy_version: self.policy_version(),
            policy_hash: self.policy.hash(),
            attempts: self
                .attempts
                .iter()
                .map(|a| AttemptRecord {
                    name: self.route_name(a.route).to_owned(),
                    attempt: *a,
                    blamed_name: a.blamed.map(|c| self.component_name(c).to_owned()),
                })
                .collect(),
            left_out: self.left_out.to_vec(),
            fail_open: self.fail_open,
            psap_state: self.psap_state,
            guidance: self.guidance().clone(),
            explanation: self.explain(),
        }
    }
}

/// A plan as written to the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRecord {
    /// Always `"plan"`.
    pub record: &'static str,
    /// Call id.
    pub call_id: u64,
    /// Service asked for.
    pub service: EmergencyService,
    /// The service is a generic emergency because the dialer classified the call as one (see
    /// [`CallRequest::classified_by_dialer`]); left out of the record when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub classified_by_dialer: bool,
    /// Media asked for.
    pub media: Media,
    /// Caller capabilities.
    pub caller: Capabilities,
    /// PSAP.
    pub psap: PsapId,
    /// When it was made.
    pub made_at_ms: u64,
    /// State epoch.
    pub epoch: u64,
    /// Policy name.
    pub policy: String,
    /// Policy version.
    pub policy_version: u64,
    /// SHA-256 of the policy's canonical form, 64 hex digits: which policy, whatever its version.
    pub policy_hash: PolicyHash,
    /// Attempts with route names.
    pub attempts: Vec<AttemptRecord>,
    /// Routes left out.
    pub left_out: Vec<LeftOut>,
    /// Whether every attempt had evidence against it.
    pub fail_open: bool,
    /// PSAP state.
    pub psap_state: Option<PsapState>,
    /// Guidance.
    pub guidance: Guidance,
    /// The explanation paragraph.
    pub explanation: String,
}

/// An attempt in an audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRecord {
    /// Route name.
    pub name: String,
    /// The attempt.
    #[serde(flatten)]
    pub attempt: Attempt,
    /// Name of the blamed component.
    pub blamed_name: Option<String>,
}

/// An attempt's outcome as written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutcomeRecord {
    /// Always `"outcome"`.
    pub record: &'static str,
    /// Call id.
    pub call_id: u64,
    /// Route attempted.
    pub route: RouteId,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: crate::observation::Outcome,
    /// When it ended.
    pub at_ms: u64,
    /// Version of the policy the route id belongs to, if known ([`OutcomeRecord::with_policy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u64>,
    /// Hash of that policy, if known ([`OutcomeRecord::with_policy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_hash: Option<PolicyHash>,
}

impl OutcomeRecord {
    /// The record of how an attempt of call `call_id` on `route` ended at `at_ms`.
    pub fn new(
        call_id: u64,
        route: RouteId,
        outcome: crate::observation::Outcome,
        at_ms: u64,
    ) -> OutcomeRecord {
        OutcomeRecord {
            record: "outcome",
            call_id,
            route,
            outcome,
            at_ms,
            policy_version: None,
            policy_hash: None,
        }
    }

    /// The same record, naming the policy (version and hash) under which the attempt was
    /// made: a route id means something only under its policy.
    pub fn with_policy(self, policy: &Policy) -> OutcomeRecord {
        OutcomeRecord {
            policy_version: Some(policy.version()),
            policy_hash: Some(policy.hash()),
            ..self
        }
    }
}
