//! Policy: which routes exist, what they depend on, how they are preferred, and every timer.
//!
//! A [`PolicySpec`] is the file format (TOML or JSON, unknown keys rejected). [`Policy`] is a spec
//! that passed validation as a whole, compiled into the tables the planner reads. An invalid
//! `Policy` cannot exist, so installing one cannot fail; loading text can, and then the policy in
//! force stays in force.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

use crate::identity::PolicyHash;
use crate::observation::{ComponentId, FactClass, PsapId};
use crate::probation::{ProbationSettings, DEFAULT_TOLERANCE_PCT};
use crate::route::{
    set_bits, Capabilities, Media, MediaSet, RouteId, RouteKind, RouteSet, MAX_ROUTES,
};
use crate::text::{cut_owned, MAX_ERROR_LEN};

/// Most components one policy may declare.
pub const MAX_COMPONENTS: usize = 32;

/// Largest policy text accepted, in bytes: 8 MiB. Room for [`MAX_JURISDICTIONS`] jurisdictions
/// with a sentence of guidance each (a bare TOML `[[jurisdiction]]` takes 30 bytes, so 1 MiB
/// would not hold them), and a bound on what one load may cost.
pub const MAX_POLICY_LEN: usize = 8 << 20;

/// Most `[[jurisdiction]]` entries one policy may have (one per PSAP; the US has about 6,000).
pub const MAX_JURISDICTIONS: usize = 100_000;

/// Longest policy name, in bytes: it goes into every audit record.
pub const MAX_POLICY_NAME_LEN: usize = 256;

/// Longest guidance text, in bytes: a few sentences for a caller in an emergency, and it is
/// copied into every plan's explanation.
pub const MAX_GUIDANCE_LEN: usize = 1024;

/// Most numbers one guidance may list.
pub const MAX_GUIDANCE_NUMBERS: usize = 8;

/// Longest guidance number, in bytes (E.164 has at most 15 digits; room for spacing and signs).
pub const MAX_GUIDANCE_NUMBER_LEN: usize = 32;

/// Longest time any policy field may name: one day.
const MAX_SECONDS: f64 = 86_400.0;

/// The shipped default policy (a US handset), as TOML.
pub const US_HANDSET_TOML: &str = include_str!("../policies/us-handset.toml");

/// A policy file that could not be used. Every variant names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not valid TOML / JSON for a policy (syntax, unknown key, wrong type). The
    /// message carries the parser's location and the key.
    #[error("policy is not valid {format}: {message}")]
    Parse {
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// The text is longer than [`MAX_POLICY_LEN`]: not parsed.
    #[error("policy text is {len} bytes; at most {max} (MAX_POLICY_LEN, 8 MiB) are accepted")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// [`MAX_POLICY_LEN`].
        max: usize,
    },
    /// A field holds a value the policy cannot work with.
    #[error("policy field `{field}` = {value}: {reason}")]
    Invalid {
        /// Path of the field, e.g. `route[2].needs[1]`.
        field: String,
        /// The offending value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The router trusts signed policies only, and this one's signature is missing, bad, or
    /// by a key it does not trust (see [`PolicySignature`](crate::PolicySignature)).
    #[error(transparent)]
    Signature(#[from] crate::signing::SignatureError),
}

fn invalid(
    field: impl Into<String>,
    value: impl std::fmt::Debug,
    reason: impl Into<String>,
) -> PolicyError {
    // Each part cut so the whole message stays within `text::MAX_ERROR_LEN`: the value is the
    // caller's (a megabyte name, guidance text), and the message is quoted into logs.
    PolicyError::Invalid {
        field: cut_owned(field.into(), 200),
        value: cut_owned(format!("{value:?}"), 512),
        reason: cut_owned(reason.into(), 200),
    }
}

/// Refuses a text over [`MAX_POLICY_LEN`] before parsing it: parsing is what would cost.
fn check_len(text: &str) -> Result<(), PolicyError> {
    if text.len() > MAX_POLICY_LEN {
        return Err(PolicyError::TooLarge {
            len: text.len(),
            max: MAX_POLICY_LEN,
        });
    }
    Ok(())
}

/// A parser's message, cut: TOML quotes the whole offending line, which can be megabytes.
fn parse_error(format: &'static str, message: String) -> PolicyError {
    PolicyError::Parse {
        format,
        message: cut_owned(message, MAX_ERROR_LEN - 64),
    }
}

/// The policy file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A name for logs and audit records.
    pub name: String,
    /// Whether routes with no fresh evidence either way may be attempted before fail-open.
    #[serde(default = "yes")]
    pub allow_unverified: bool,
    /// Call budget.
    pub budget: BudgetSpec,
    /// Observation lifetimes.
    pub ttl: TtlSpec,
    /// Breakers and hold-down.
    pub breaker: BreakerSpec,
    /// Things routes depend on.
    #[serde(default)]
    pub component: Vec<ComponentSpec>,
    /// Ways a call can go.
    pub route: Vec<RouteSpec>,
    /// Route order per media.
    pub preference: PreferenceSpec,
    /// Last-resort guidance when no PSAP-specific guidance applies.
    pub guidance: GuidanceSpec,
    /// Per-PSAP overrides.
    #[serde(default)]
    pub jurisdiction: Vec<JurisdictionSpec>,
    /// How long, and how strictly, this policy is judged after it is installed (see
    /// [`Router::probation`](crate::Router::probation)). Absent: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probation: Option<ProbationSpec>,
}

/// `[probation]`: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbationSpec {
    /// Seconds a newly installed policy is on probation; 0 turns probation off. Default 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_s: Option<f64>,
    /// Judged calls needed before a verdict (1..=100000). Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_calls: Option<u32>,
    /// Points (percent of attempts) by which the judged failure rate may exceed the
    /// predecessor's before a rollback (0..=100). Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_pct: Option<f64>,
}

fn yes() -> bool {
    true
}

/// `[budget]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Total seconds a call may spend on attempts.
    pub total_s: f64,
    /// Accepted for files written before rule 10, and checked (1..=10), but without effect: a
    /// call now walks its route list again and again (redials) until the budget is spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<u32>,
    /// Seconds between the starts of two walks of the route list, at least: a walk whose
    /// attempts all failed at once waits out the rest before redialling. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redial_backoff_s: Option<f64>,
    /// A route whose setup timer is longer than this many seconds (satellite) ranks after every
    /// faster route of its evidence class. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_route_s: Option<f64>,
}

/// `[ttl]`: seconds after which an observation of each class reads as unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlSpec {
    /// Radio / registration state.
    pub radio_s: f64,
    /// Core health and probes.
    pub service_s: f64,
    /// Link facts (Wi-Fi up, E911 address).
    pub link_s: f64,
    /// Outage notices and PSAP facts.
    pub advisory_s: f64,
}

/// `[breaker]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Consecutive failures that open a breaker.
    pub failure_threshold: u32,
    /// Seconds an open breaker demotes before allowing a trial.
    pub cool_down_s: f64,
    /// Seconds a recovered component stays demoted.
    pub hold_down_s: f64,
    /// Setup timer of a demoted route, in percent of its normal timer.
    pub demoted_timeout_pct: u32,
    /// Floor of a demoted route's setup timer, seconds.
    pub min_setup_timeout_s: f64,
    /// Seconds for which the setup time of a route's slowest recent success bounds its timers
    /// from below. Default 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn_window_s: Option<f64>,
}

/// `[[component]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Unique name (`home_core`).
    pub name: String,
    /// Radio or service.
    pub kind: ComponentKind,
}

/// What a component is, which decides the observations it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum ComponentKind {
    /// A radio network: observed as in / limited / no service.
    Radio = 1,
    /// A service (core, ePDG, TCC, link): observed as up / down / unknown, probes, link facts.
    Service = 2,
}

/// `[[route]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Stable id, unique in the policy.
    pub id: u16,
    /// Unique name, used in preference lists.
    pub name: String,
    /// Kind.
    pub kind: RouteKind,
    /// Components it depends on.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Seconds an attempt may take to connect.
    pub setup_timeout_s: f64,
    /// Media carried; required for `custom`, defaulted from the kind otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<Media>>,
    /// Caller capabilities needed; defaulted from the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Vec<String>>,
}

/// `[preference]`: route names in order, per requested media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferenceSpec {
    /// For voice calls.
    pub voice: Vec<String>,
    /// For text (SMS) requests.
    pub text: Vec<String>,
    /// For real-time-text calls.
    pub rtt: Vec<String>,
}

/// `[guidance]`: what to tell a caller when nothing connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidanceSpec {
    /// One sentence for the caller.
    pub text: String,
    /// Ten-digit or other numbers to call instead.
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// `[[jurisdiction]]`: overrides for one PSAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionSpec {
    /// PSAP registry id.
    pub psap: u32,
    /// Route order for this PSAP's callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<PreferenceSpec>,
    /// Guidance for this PSAP's callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<GuidanceSpec>,
}

/// A compiled route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Stable id.
    pub id: RouteId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: RouteKind,
    /// Components it depends on.
    pub needs: ComponentSet,
    /// Media it carries.
    pub media: MediaSet,
    /// Capabilities the caller needs.
    pub requires: Capabilities,
    /// Setup timer.
    pub setup_timeout_ms: u64,
}

impl Route {
    /// The media to use on this route for a request of `media` from a caller with `caller`:
    /// the requested one where the route carries it; otherwise a voice (or RTT) caller may
    /// text, and a text caller may use RTT or, failing that, place a voice call (a silent call
    /// still reaches a call taker). `None` if the route carries nothing the caller can use.
    pub fn media_for(&self, media: Media, caller: Capabilities) -> Option<Media> {
        let carries = |m: Media| self.media.contains(m);
        let rtt_ok = caller.contains(Capabilities::RTT) && carries(Media::Rtt);
        match media {
            Media::Voice if carries(Media::Voice) => Some(Media::Voice),
            Media::Rtt if rtt_ok => Some(Media::Rtt),
            Media::Text if carries(Media::Text) => Some(Media::Text),
            Media::Voice | Media::Rtt if carries(Media::Text) => Some(Media::Text),
            Media::Rtt if carries(Media::Voice) => Some(Media::Voice),
            Media::Text if rtt_ok => Some(Media::Rtt),
            Media::Text if carries(Media::Voice) => Some(Media::Voice),
            _ => None,
        }
    }
}

/// A compiled component.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ComponentKind,
}

/// A set of components by index; fits [`MAX_COMPONENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ComponentSet(pub u32);

impl ComponentSet {
    /// Whether the component is in the set.
    pub fn contains(self, c: ComponentId) -> bool {
        (c.0 as usize) < MAX_COMPONENTS && self.0 & (1 << c.0) != 0
    }

    /// Adds a component.
    pub fn insert(&mut self, c: ComponentId) {
        debug_assert!(
            (c.0 as usize) < MAX_COMPONENTS,
            "component index fits a ComponentSet"
        );
        self.0 |= 1 << (c.0 as u32 & 31);
    }

    /// The components in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = ComponentId> {
        set_bits(self.0).map(|c| ComponentId(c as u16))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest component of this set that is also in `other`.
    pub fn first_in(self, other: ComponentSet) -> Option<ComponentId> {
        ComponentSet(self.0 & other.0).iter().next()
    }

    /// Whether the two sets share a component.
    pub fn intersects(self, other: ComponentSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// Route order (indices into [`Policy::routes`]) for each requested media.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Preference {
    lists: [SmallVec<[u8; MAX_ROUTES]>; 3],
    /// The routes of each list, as a set.
    listed: [RouteSet; 3],
}

impl Preference {
    /// Route indices, best first, for requests of `media`.
    pub(crate) fn for_media(&self, media: Media) -> &[u8] {
        &self.lists[media as usize - 1]
    }

    /// The routes listed for requests of `media`.
    pub(crate) fn listed(&self, media: Media) -> RouteSet {
        self.listed[media as usize - 1]
    }
}

/// The policy's routes grouped by what rule 5 tests, so that a decision leaves routes out with
/// a few set operations rather than a test of every route.
#[derive(Debug, Clone, PartialEq)]
struct RouteSets {
    all: RouteSet,
    /// By capability, in the order of [`Capabilities::NAMED`]: the routes requiring it.
    requiring: [RouteSet; Capabilities::NAMED.len()],
    /// Routes that need a PSAP known to accept text.
    text: RouteSet,
    /// Routes whose setup timer is above the policy's `slow_route_s`.
    slow: RouteSet,
    /// By requested media, for a caller without and with RTT: the routes that carry nothing
    /// such a caller can use ([`Route::media_for`] is `None`).
    without_media: [[RouteSet; 2]; 3],
}

impl RouteSets {
    fn new(routes: &[Route], slow_route_ms: u64) -> RouteSets {
        let set = |test: &dyn Fn(&Route) -> bool| {
            let mut set = RouteSet::default();
            for (index, route) in routes.iter().enumerate() {
                if test(route) {
                    set.insert(index);
                }
            }
            set
        };
        let without_media = |media: Media, caller: Capabilities| {
            set(&|r: &Route| r.media_for(media, caller).is_none())
        };
        RouteSets {
            all: RouteSet::first(routes.len()),
            requiring: Capabilities::NAMED
                .map(|(_, cap)| set(&|r: &Route| r.requires.contains(cap))),
            text: set(&|r: &Route| r.kind.needs_text_ready_psap()),
            slow: set(&|r: &Route| r.setup_timeout_ms > slow_route_ms),
            without_media: Media::ALL.map(|m| {
                [
                    without_media(m, Capabilities::NONE),
                    without_media(m, Capabilities::RTT),
                ]
            }),
        }
    }
}

/// Guidance for a caller when routes fail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guidance {
    /// One sentence.
    pub text: String,
    /// Numbers to call instead.
    pub numbers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Jurisdiction {
    psap: PsapId,
    preference: Option<Preference>,
    guidance: Option<Guidance>,
}

/// A validated policy. Build one with [`Policy::from_toml`], [`Policy::from_json`],
/// [`Policy::from_spec`] or [`Policy::us_default`].
///
/// ```
/// use sosroute::Policy;
/// let policy = Policy::us_default();
/// assert_eq!(policy.name(), "us-handset");
/// let err = Policy::from_toml("name = 3").unwrap_err();
/// assert!(err.to_string().contains("name"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    spec: PolicySpec,
    version: u64,
    /// SHA-256 of the spec's canonical form, computed once: explanations and audit records
    /// carry it.
    hash: PolicyHash,
    components: Vec<Component>,
    routes: Vec<Route>,
    preference: Preference,
    guidance: Guidance,
    jurisdictions: Vec<Jurisdiction>,
    ttl_ms: [u64; 4],
    route_sets: RouteSets,
    /// Total call budget.
    pub budget_ms: u64,
    /// Least time between the starts of two walks of the route list in one call.
    pub redial_backoff_ms: u64,
    /// Routes with a setup timer above this rank after faster routes of their class.
    pub slow_route_ms: u64,
    /// How long a route's slowest recent success bounds its timers from below.
    pub learn_window_ms: u64,
    /// Consecutive failures that open a breaker.
    pub failure_threshold: u16,
    /// How long an open breaker demotes.
    pub cool_down_ms: u64,
    /// How long a recovered component stays demoted.
    pub hold_down_ms: u64,
    /// Demoted setup timer, percent of normal.
    pub demoted_timeout_pct: u32,
    /// Floor of a demoted setup timer.
    pub min_setup_timeout_ms: u64,
    /// Whether unverified routes may be attempted before fail-open.
    pub allow_unverified: bool,
    /// How this policy is judged after it is installed.
    pub probation: ProbationSettings,
}

/// Which text format a policy is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum PolicyFormat {
    /// TOML.
    Toml = 1,
    /// JSON.
    Json = 2,
}

impl Policy {
    /// The shipped default: a US handset (`policies/us-handset.toml`).
    pub fn us_default() -> Policy {
        Policy::from_toml(US_HANDSET_TOML).expect("the shipped default policy is valid")
    }

    /// Parses and validates a TOML policy of at most [`MAX_POLICY_LEN`] bytes.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        check_len(text)?;
        let spec: PolicySpec = toml::from_str(text)
            .map_err(|e| parse_error("TOML", e.to_string().trim_end().to_owned()))?;
        Policy::from_spec(spec)
    }

    /// Parses and validates a JSON policy of at most [`MAX_POLICY_LEN`] bytes.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        check_len(text)?;
        let spec: PolicySpec =
            serde_json::from_str(text).map_err(|e| parse_error("JSON", e.to_string()))?;
        Policy::from_spec(spec)
    }

    /// Parses and validates a policy in either format.
    pub fn parse(text: &str, format: PolicyFormat) -> Result<Policy, PolicyError> {
        match format {
            PolicyFormat::Toml => Policy::from_toml(text),
            PolicyFormat::Json => Policy::from_json(text),
        }
    }

    /// Validates a spec as a whole and compiles it.
    pub fn from_spec(spec: PolicySpec) -> Result<Policy, PolicyError> {
        if spec.name.trim().is_empty() {
            return Err(invalid("name", &spec.name, "must not be empty"));
        }
        check_text("name", &spec.name)?;
        if spec.name.len() > MAX_POLICY_NAME_LEN {
            return Err(invalid(
                "name",
                &spec.name,
                format!(
                    "is {} bytes; at most {MAX_POLICY_NAME_LEN} (MAX_POLICY_NAME_LEN)",
                    spec.name.len()
                ),
            ));
        }
        let budget_ms = seconds("budget.total_s", spec.budget.total_s, 1.0)?;
        if let Some(rounds @ (0 | 11..)) = spec.budget.max_rounds {
            return Err(invalid("budget.max_rounds", rounds, "must be 1..=10"));
        }
        let redial_backoff_ms = seconds(
            "budget.redial_backoff_s",
            spec.budget.redial_backoff_s.unwrap_or(2.0),
            0.001,
        )?;
        let slow_route_ms = seconds(
            "budget.slow_route_s",
            spec.budget.slow_route_s.unwrap_or(60.0),
            0.001,
        )?;
        let ttl_ms = [
            seconds("ttl.radio_s", spec.ttl.radio_s, 0.001)?,
            seconds("ttl.service_s", spec.ttl.service_s, 0.001)?,
            seconds("ttl.link_s", spec.ttl.link_s, 0.001)?,
            seconds("ttl.advisory_s", spec.ttl.advisory_s, 0.001)?,
        ];
        let b = &spec.breaker;
        if b.failure_threshold == 0 || b.failure_threshold > 100 {
            return Err(invalid(
                "breaker.failure_threshold",
                b.failure_threshold,
                "must be 1..=100",
            ));
        }
        let cool_down_ms = seconds("breaker.cool_down_s", b.cool_down_s, 0.0)?;
        let hold_down_ms = seconds("breaker.hold_down_s", b.hold_down_s, 0.0)?;
        if b.demoted_timeout_pct == 0 || b.demoted_timeout_pct > 100 {
            return Err(invalid(
                "breaker.demoted_timeout_pct",
                b.demoted_timeout_pct,
                "must be 1..=100",
            ));
        }
        let min_setup_timeout_ms =
            seconds("breaker.min_setup_timeout_s", b.min_setup_timeout_s, 0.001)?;
        let learn_window_ms = seconds(
            "breaker.learn_window_s",
            b.learn_window_s.unwrap_or(600.0),
            0.0,
        )?;
        let probation = compile_probation(spec.probation.as_ref())?;

        let components = compile_components(&spec.component)?;
        let routes = compile_routes(&spec.route, &spec.component)?;
        let preference = compile_preference("preference", &spec.preference, &routes)?;
        let guidance = compile_guidance("guidance", &spec.guidance)?;
        if spec.jurisdiction.len() > MAX_JURISDICTIONS {
            return Err(invalid(
                "jurisdiction",
                spec.jurisdiction.len(),
                format!("at most {MAX_JURISDICTIONS} jurisdictions (MAX_JURISDICTIONS)"),
            ));
        }
        let mut jurisdictions: Vec<Jurisdiction> = Vec::with_capacity(spec.jurisdiction.len());
        // A set, not a scan of those before: 40,000 jurisdictions took 3.8 s to check.
        let mut seen: HashSet<u32> = HashSet::with_capacity(spec.jurisdiction.len());
        for (i, j) in spec.jurisdiction.iter().enumerate() {
            let field = format!("jurisdiction[{i}]");
            if j.psap == 0 {
                return Err(invalid(
                    format!("{field}.psap"),
                    j.psap,
                    "0 means \"PSAP not known\"; use the registry id",
                ));
            }
            if !seen.insert(j.psap) {
                return Err(invalid(format!("{field}.psap"), j.psap, "appears twice"));
            }
            jurisdictions.push(Jurisdiction {
                psap: PsapId(j.psap),
                preference: j
                    .preference
                    .as_ref()
                    .map(|p| compile_preference(&format!("{field}.preference"), p, &routes))
                    .transpose()?,
                guidance: j
                    .guidance
                    .as_ref()
                    .map(|g| compile_guidance(&format!("{field}.guidance"), g))
                    .transpose()?,
            });
        }
        // Sorted by PSAP so that each plan finds its caller's jurisdiction by binary search.
        jurisdictions.sort_unstable_by_key(|j| j.psap.0);
        Ok(Policy {
            version: 0,
            components,
            route_sets: RouteSets::new(&routes, slow_route_ms),
            routes,
            preference,
            guidance,
            jurisdictions,
            ttl_ms,
            budget_ms,
            redial_backoff_ms,
            slow_route_ms,
            learn_window_ms,
            failure_threshold: b.failure_threshold as u16,
            cool_down_ms,
            hold_down_ms,
            demoted_timeout_pct: b.demoted_timeout_pct,
            min_setup_timeout_ms,
            allow_unverified: spec.allow_unverified,
            probation,
            hash: PolicyHash::of_spec(&spec),
            spec,
        })
    }

    /// The spec this policy was compiled from (serialize it to write the policy out).
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The version a router gave this policy when installing it; 0 before.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub(crate) fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// The policy's identity: SHA-256 of its canonical form (see [`PolicyHash`]). The same
    /// policy has the same hash whether written as TOML or JSON and whatever version a router
    /// gave it.
    pub fn hash(&self) -> PolicyHash {
        self.hash
    }

    /// Components, indexed by [`ComponentId`].
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Routes, in file order. The planner refers to them by index.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The id of the component called `name`.
    pub fn component_id(&self, name: &str) -> Option<ComponentId> {
        self.components
            .iter()
            .position(|c| c.name == name)
            .map(|i| ComponentId(i as u16))
    }

    /// The component with id `id`.
    pub fn component(&self, id: ComponentId) -> Option<&Component> {
        self.components.get(id.0 as usize)
    }

    /// The index of the route with id `id`.
    pub fn route_index(&self, id: RouteId) -> Option<usize> {
        self.routes.iter().position(|r| r.id == id)
    }

    /// The route with id `id`.
    pub fn route(&self, id: RouteId) -> Option<&Route> {
        self.routes.iter().find(|r| r.id == id)
    }

    /// The route called `name`.
    pub fn route_by_name(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name == name)
    }

    /// TTL of a fact class.
    pub fn ttl_ms(&self, class: FactClass) -> u64 {
        self.ttl_ms[class as usize]
    }

    /// Route order for a request of `media` to `psap`.
    pub fn preference(&self, media: Media, psap: PsapId) -> &[u8] {
        self.preferences(psap).for_media(media)
    }

    /// Route orders for callers of `psap`.
    pub(crate) fn preferences(&self, psap: PsapId) -> &Preference {
        self.jurisdiction(psap)
            .and_then(|j| j.preference.as_ref())
            .unwrap_or(&self.preference)
    }

    /// Every route, as a set.
    pub(crate) fn all_routes(&self) -> RouteSet {
        self.route_sets.all
    }

    /// The routes requiring a capability `caller` lacks.
    pub(crate) fn routes_lacking(&self, caller: Capabilities) -> RouteSet {
        let mut set = RouteSet::default();
        for ((_, cap), routes) in Capabilities::NAMED.iter().zip(self.route_sets.requiring) {
            if !caller.contains(*cap) {
                set = set.union(routes);
            }
        }
        set
    }

    /// The routes that need a PSAP known to accept text (text-to-911).
    pub(crate) fn text_routes(&self) -> RouteSet {
        self.route_sets.text
    }

    /// The routes whose setup timer is above the policy's `slow_route_s`: they rank after every
    /// faster route of their evidence class.
    pub(crate) fn slow_routes(&self) -> RouteSet {
        self.route_sets.slow
    }

    /// The routes that carry nothing a request of `media` from `caller` can use.
    pub(crate) fn routes_without_media(&self, media: Media, caller: Capabilities) -> RouteSet {
        self.route_sets.without_media[media as usize - 1]
            [caller.contains(Capabilities::RTT) as usize]
    }

    /// Guidance for callers of `psap`.
    pub fn guidance(&self, psap: PsapId) -> &Guidance {
        self.jurisdiction(psap)
            .and_then(|j| j.guidance.as_ref())
            .unwrap_or(&self.guidance)
    }

    fn jurisdiction(&self, psap: PsapId) -> Option<&Jurisdiction> {
        if psap.0 == 0 {
            return None;
        }
        // `from_spec` sorted them by PSAP: a lookup per plan is O(log n), not a scan.
        self.jurisdictions
            .binary_search_by_key(&psap.0, |j| j.psap.0)
            .ok()
            .map(|i| &self.jurisdictions[i])
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::us_default()
    }
}

/// Seconds to milliseconds, rejecting NaN, infinities, values below `min` and above a day.
fn seconds(field: &str, s: f64, min: f64) -> Result<u64, PolicyError> {
    if !s.is_finite() || s < min || s > MAX_SECONDS {
        let range = if min > 0.0 {
            "must be positive"
        } else {
            "must not be negative"
        };
        return Err(invalid(
            field,
            s,
            format!("{range} and at most {MAX_SECONDS} s (one day)"),
        ));
    }
    Ok((s * 1000.0).round() as u64)
}

/// `[probation]`, checked; absent keys take the defaults of [`ProbationSettings`].
fn compile_probation(spec: Option<&ProbationSpec>) -> Result<ProbationSettings, PolicyError> {
    let spec = spec.cloned().unwrap_or_default();
    let defaults = ProbationSettings::default();
    let period_ms = match spec.period_s {
        Some(s) => seconds("probation.period_s", s, 0.0)?,
        None => defaults.period_ms,
    };
    let min_calls = spec.min_calls.unwrap_or(defaults.min_calls);
    if !(1..=100_000).contains(&min_calls) {
        return Err(invalid(
            "probation.min_calls",
            min_calls,
            "must be 1..=100000: a verdict needs at least one call",
        ));
    }
    let tolerance_pct = spec.tolerance_pct.unwrap_or(DEFAULT_TOLERANCE_PCT);
    if !tolerance_pct.is_finite() || !(0.0..=100.0).contains(&tolerance_pct) {
        return Err(invalid(
            "probation.tolerance_pct",
            tolerance_pct,
            "must be 0..=100 (points of the failure rate)",
        ));
    }
    Ok(ProbationSettings {
        period_ms,
        min_calls,
        tolerance: tolerance_pct / 100.0,
    })
}

/// Refuses text a C caller would read short: C strings end at the first NUL, so a name or a
/// sentence with one inside (JSON `\u0000`) would reach a C log or screen cut, silently.
fn check_text(field: &str, text: &str) -> Result<(), PolicyError> {
    match text.bytes().position(|b| b == 0) {
        Some(at) => Err(invalid(
            field,
            text,
            format!("contains a NUL character (U+0000) at byte {at}; C callers would read the text only up to it"),
        )),
        None => Ok(()),
    }
}

fn check_name(field: &str, name: &str) -> Result<(), PolicyError> {
    check_text(field, name)?;
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            name,
            "must be 1-64 characters of A-Z a-z 0-9 _ - .",
        ))
    }
}

fn compile_components(specs: &[ComponentSpec]) -> Result<Vec<Component>, PolicyError> {
    if specs.len() > MAX_COMPONENTS {
        return Err(invalid(
            "component",
            specs.len(),
            format!("at most {MAX_COMPONENTS} components"),
        ));
    }
    let mut out: Vec<Component> = Vec::with_capacity(specs.len());
    for (i, c) in specs.iter().enumerate() {
        check_name(&format!("component[{i}].name"), &c.name)?;
        if out.iter().any(|o| o.name == c.name) {
            return Err(invalid(
                format!("component[{i}].name"),
                &c.name,
                "declared twice",
            ));
        }
        out.push(Component {
            name: c.name.clone(),
            kind: c.kind,
        });
    }
    Ok(out)
}

fn compile_routes(
    specs: &[RouteSpec],
    components: &[ComponentSpec],
) -> Result<Vec<Route>, PolicyError> {
    if specs.is_empty() {
        return Err(invalid("route", 0, "a policy needs at least one route"));
    }
    if specs.len() > MAX_ROUTES {
        return Err(invalid(
            "route",
            specs.len(),
            format!("at most {MAX_ROUTES} routes"),
        ));
    }
    let mut out: Vec<Route> = Vec::with_capacity(specs.len());
    for (i, r) in specs.iter().enumerate() {
        let field = format!("route[{i}]");
        check_name(&format!("{field}.name"), &r.name)?;
        if out.iter().any(|o| o.name == r.name) {
            return Err(invalid(format!("{field}.name"), &r.name, "declared twice"));
        }
        if out.iter().any(|o| o.id.0 == r.id) {
            return Err(invalid(
                format!("{field}.id"),
                r.id,
                "used by another route",
            ));
        }
        let mut needs = ComponentSet::default();
        for (k, name) in r.needs.iter().enumerate() {
            let Some(c) = components.iter().position(|c| &c.name == name) else {
                return Err(invalid(
                    format!("{field}.needs[{k}]"),
                    name,
                    "no [[component]] of that name",
                ));
            };
            needs.insert(ComponentId(c as u16));
        }
        let media = match (&r.media, r.kind) {
            (Some(m), _) if m.is_empty() => {
                return Err(invalid(
                    format!("{field}.media"),
                    m,
                    "a route must carry some media",
                ));
            }
            (Some(m), RouteKind::Custom) => MediaSet::of(m),
            (Some(m), kind) => {
                let own = kind.default_media();
                if let Some(bad) = m.iter().find(|x| !own.contains(**x)) {
                    return Err(invalid(
                        format!("{field}.media"),
                        bad,
                        format!("a {} route cannot carry it", kind.name()),
                    ));
                }
                MediaSet::of(m)
            }
            (None, RouteKind::Custom) => {
                return Err(invalid(
                    format!("{field}.media"),
                    "none",
                    "a custom route must list its media",
                ));
            }
            (None, kind) => kind.default_media(),
        };
        let requires = match &r.requires {
            None => r.kind.default_requires(),
            Some(names) => {
                let mut caps = Capabilities::NONE;
                for (k, name) in names.iter().enumerate() {
                    let Some(c) = Capabilities::from_name(name) else {
                        return Err(invalid(
                            format!("{field}.requires[{k}]"),
                            name,
                            "not a capability (dual_sim, wifi_calling, sms, rtt, satellite)",
                        ));
                    };
                    caps = caps.union(c);
                }
                caps
            }
        };
        out.push(Route {
            id: RouteId(r.id),
            name: r.name.clone(),
            kind: r.kind,
            needs,
            media,
            requires,
            setup_timeout_ms: seconds(
                &format!("{field}.setup_timeout_s"),
                r.setup_timeout_s,
                0.001,
            )?,
        });
    }
    Ok(out)
}

fn compile_preference(
    field: &str,
    spec: &PreferenceSpec,
    routes: &[Route],
) -> Result<Preference, PolicyError> {
    let mut lists: [SmallVec<[u8; MAX_ROUTES]>; 3] = Default::default();
    for media in Media::ALL {
        let names = match media {
            Media::Voice => &spec.voice,
            Media::Text => &spec.text,
            Media::Rtt => &spec.rtt,
        };
        let list_field = format!("{field}.{}", media.name());
        if names.is_empty() {
            return Err(invalid(list_field, names, "must list at least one route"));
        }
        let list = &mut lists[media as usize - 1];
        for (k, name) in names.iter().enumerate() {
            let Some(idx) = routes.iter().position(|r| &r.name == name) else {
                return Err(invalid(
                    format!("{list_field}[{k}]"),
                    name,
                    "no [[route]] of that name",
                ));
            };
            if list.contains(&(idx as u8)) {
                return Err(invalid(format!("{list_field}[{k}]"), name, "listed twice"));
            }
            list.push(idx as u8);
        }
    }
    // Rule 1 (never empty) must hold structurally: some voice route is usable by any caller.
    let voice = &lists[Media::Voice as usize - 1];
    let unconditional = voice.iter().any(|&i| {
        let r = &routes[i as usize];
        r.requires.is_empty() && !r.kind.needs_text_ready_psap()
    });
    if !unconditional {
        return Err(invalid(
            format!("{field}.voice"),
            &spec.voice,
            "needs a route that every caller can use (no `requires`, not text); otherwise a voice plan could be empty",
        ));
    }
    let mut listed = [RouteSet::default(); 3];
    for (set, list) in listed.iter_mut().zip(&lists) {
        for &index in list {
            set.insert(index as usize);
        }
    }
    Ok(Preference { lists, listed })
}

fn compile_guidance(field: &str, spec: &GuidanceSpec) -> Result<Guidance, PolicyError> {
    if spec.text.trim().is_empty() {
        return Err(invalid(
            format!("{field}.text"),
            &spec.text,
            "must not be empty",
        ));
    }
    check_text(&format!("{field}.text"), &spec.text)?;
    if spec.text.len() > MAX_GUIDANCE_LEN {
        return Err(invalid(
            format!("{field}.text"),
            &spec.text,
            format!("is {} bytes; at most {MAX_GUIDANCE_LEN}", spec.text.len()),
        ));
    }
    if spec.numbers.len() > MAX_GUIDANCE_NUMBERS {
        return Err(invalid(
            format!("{field}.numbers"),
            spec.numbers.len(),
            format!("at most {MAX_GUIDANCE_NUMBERS}"),
        ));
    }
    for (k, n) in spec.numbers.iter().enumerate() {
        if n.len() > MAX_GUIDANCE_NUMBER_LEN {
            return Err(invalid(
                format!("{field}.numbers[{k}]"),
                n,
                format!("is {} bytes; at most {MAX_GUIDANCE_NUMBER_LEN}", n.len()),
            ));
        }
        let ok = !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_digit() || b" +-()".contains(&b));
        if !ok {
            return Err(invalid(
                format!("{field}.numbers[{k}]"),
                n,
                "must be a phone number (digits, + - ( ) and spaces)",
            ));
        }
    }
    Ok(Guidance {
        text: spec.text.clone(),
        numbers: spec.numbers.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_is_valid_and_conventional() {
        let p = Policy::us_default();
        for name in [
            "home_ran",
            "home_core",
            "other_ran",
            "sim2_ran",
            "wifi",
            "tcc",
            "satellite_link",
        ] {
            assert!(p.component_id(name).is_some(), "{name}");
        }
        let home = p.route_by_name("home").unwrap();
        assert_eq!(home.setup_timeout_ms, 15_000);
        assert!(p.budget_ms >= 120_000);
        assert_eq!(p.preference(Media::Voice, PsapId(0))[0], 0);
    }

    #[test]
    fn component_set_iterates_members_lowest_first() {
        let mut set = ComponentSet::default();
        for c in [31, 0, 7] {
            set.insert(ComponentId(c));
        }
        let members: Vec<u16> = set.iter().map(|c| c.0).collect();
        assert_eq!(members, [0, 7, 31]);
        assert_eq!(ComponentSet::default().iter().count(), 0);
    }

    #[test]
    fn json_and_toml_agree() {
        let p = Policy::us_default();
        let json = serde_json::to_string(p.spec()).unwrap();
        let q = Policy::from_json(&json).unwrap();
        assert_eq!(p, q);
    }
}
