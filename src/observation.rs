//! What monitors report about the world, and what attempts came to.
//!
//! Every observation carries the time it was made (`at_ms`, the caller's monotonic clock). Past the
//! policy's TTL for its kind a fact reads as unknown; it never silently stays "up".

use serde::{Deserialize, Serialize};

/// Index of a component in the policy in force (`Policy::component_id("home_core")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComponentId(pub u16);

/// A PSAP, by its numeric registry id (the FCC PSAP registry id in the US). 0 means "not known".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PsapId(pub u32);

/// Radio / registration state of a network as the modem sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum RadioState {
    /// Registered, full service.
    InService = 1,
    /// Camped for emergency calls only ("SOS only").
    LimitedService = 2,
    /// Nothing to attach to.
    NoService = 3,
    /// The modem does not know.
    Unknown = 4,
}

/// Health of a service component (IMS core, ePDG, TCC, satellite link, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum ServiceState {
    /// Registered / healthy.
    Up = 1,
    /// Known down.
    Down = 2,
    /// Not known.
    Unknown = 3,
}

/// PSAP state in the NENA i3 vocabulary (NENA-STA-010, "ServiceState").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum PsapState {
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

/// Signal strength in the usual 0..=4 bars; [`SignalLevel::UNKNOWN`] when not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SignalLevel(pub u8);

impl SignalLevel {
    /// No level reported.
    pub const UNKNOWN: SignalLevel = SignalLevel(u8::MAX);
    /// The strongest level.
    pub const MAX_BARS: u8 = 4;
}

/// One observed fact. Which facts a component accepts depends on its kind (see
/// [`Fact::fits_radio`]); facts about a PSAP go to [`Subject::Psap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fact")]
#[non_exhaustive]
pub enum Fact {
    /// Radio / registration state and signal level of a radio component.
    Radio {
        /// Registration state.
        state: RadioState,
        /// Signal level.
        signal: SignalLevel,
    },
    /// Registration / health state of a service component (e.g. IMS registration).
    Service {
        /// The state.
        state: ServiceState,
    },
    /// Result of an active probe of a service component.
    Probe {
        /// Whether the probe was answered.
        ok: bool,
        /// Round-trip time of an answered probe.
        rtt_ms: u32,
    },
    /// Whether a link (the Wi-Fi association behind Wi-Fi calling) is up.
    Link {
        /// Link up.
        connected: bool,
    },
    /// Whether an E911 (dispatchable) address is registered for the link.
    E911Address {
        /// Address registered.
        registered: bool,
    },
    /// An outage notice from the operator of a component (carrier advisory).
    Outage {
        /// Notice in force.
        active: bool,
    },
    /// State of a PSAP.
    Psap {
        /// The state.
        state: PsapState,
    },
    /// Whether a PSAP accepts text-to-911.
    PsapTextReady {
        /// Text accepted.
        ready: bool,
    },
}

/// Which TTL of the policy governs a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactClass {
    /// Radio / registration (`ttl.radio_s`).
    Radio,
    /// Core health, probes (`ttl.service_s`).
    Service,
    /// Link facts (`ttl.link_s`).
    Link,
    /// Advisories and PSAP facts (`ttl.advisory_s`).
    Advisory,
}

/// The kind of a [`Fact`], numbered as in the wire format (`wire::fact`) and the C ABI
/// (`sos_fact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum FactKind {
    /// [`Fact::Radio`].
    Radio = 1,
    /// [`Fact::Service`].
    Service = 2,
    /// [`Fact::Probe`].
    Probe = 3,
    /// [`Fact::Link`].
    Link = 4,
    /// [`Fact::E911Address`].
    E911Address = 5,
    /// [`Fact::Outage`].
    Outage = 6,
    /// [`Fact::Psap`].
    Psap = 7,
    /// [`Fact::PsapTextReady`].
    PsapTextReady = 8,
}

/// Who may carry a fact of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    RadioComponent,
    ServiceComponent,
    AnyComponent,
    Psap,
}

/// What the library knows of a fact kind: the one table, by `FactKind as usize - 1`.
struct KindInfo {
    name: &'static str,
    class: FactClass,
    carrier: Carrier,
    /// Its slot in a component's (or a PSAP's) table of latest facts.
    slot: usize,
}

const KINDS: [KindInfo; 8] = {
    use Carrier::*;
    const fn k(name: &'static str, class: FactClass, carrier: Carrier, slot: usize) -> KindInfo {
        KindInfo {
            name,
            class,
            carrier,
            slot,
        }
    }
    [
        k("radio", FactClass::Radio, RadioComponent, 0),
        k("service", FactClass::Service, ServiceComponent, 1),
        k("probe", FactClass::Service, ServiceComponent, 2),
        k("link", FactClass::Link, ServiceComponent, 3),
        k("e911_address", FactClass::Link, ServiceComponent, 4),
        k("outage", FactClass::Advisory, AnyComponent, 5),
        k("psap", FactClass::Advisory, Psap, 0),
        k("psap_text_ready", FactClass::Advisory, Psap, 1),
    ]
};

impl FactKind {
    /// Every kind, in number order.
    pub const ALL: [FactKind; 8] = [
        FactKind::Radio,
        FactKind::Service,
        FactKind::Probe,
        FactKind::Link,
        FactKind::E911Address,
        FactKind::Outage,
        FactKind::Psap,
        FactKind::PsapTextReady,
    ];

    /// The kind numbered `n` (wire format and C ABI), if any.
    pub fn from_number(n: u32) -> Option<FactKind> {
        FactKind::ALL.into_iter().find(|&k| k as u32 == n)
    }

    fn info(self) -> &'static KindInfo {
        &KINDS[self as usize - 1]
    }

    /// Its name in records and errors.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The TTL class of its facts.
    pub fn class(self) -> FactClass {
        self.info().class
    }

    /// Its slot in a component's (or, for PSAP facts, a PSAP's) table of latest facts; component
    /// slots are below [`FactKind::COMPONENT_SLOTS`].
    pub(crate) fn slot(self) -> usize {
        self.info().slot
    }

    /// Slots a component keeps, one per kind of component fact.
    pub(crate) const COMPONENT_SLOTS: usize = 6;
}

impl Fact {
    /// Its kind.
    pub fn kind(&self) -> FactKind {
        match self {
            Fact::Radio { .. } => FactKind::Radio,
            Fact::Service { .. } => FactKind::Service,
            Fact::Probe { .. } => FactKind::Probe,
            Fact::Link { .. } => FactKind::Link,
            Fact::E911Address { .. } => FactKind::E911Address,
            Fact::Outage { .. } => FactKind::Outage,
            Fact::Psap { .. } => FactKind::Psap,
            Fact::PsapTextReady { .. } => FactKind::PsapTextReady,
        }
    }

    /// The TTL class of the fact.
    pub fn class(&self) -> FactClass {
        self.kind().class()
    }

    /// Whether the fact is about a PSAP rather than a component.
    pub fn is_psap_fact(&self) -> bool {
        self.kind().info().carrier == Carrier::Psap
    }

    /// Whether a component of kind radio (`true`) or service (`false`) accepts the fact.
    pub fn fits_radio(&self, radio: bool) -> bool {
        match self.kind().info().carrier {
            Carrier::RadioComponent => radio,
            Carrier::ServiceComponent => !radio,
            Carrier::AnyComponent => true,
            Carrier::Psap => false,
        }
    }

    /// The fact's name in records and errors.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// What an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A component of the policy in force.
    Component(ComponentId),
    /// A PSAP.
    Psap(PsapId),
}

/// One time-stamped observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// What it is about.
    pub subject: Subject,
    /// What was seen.
    pub fact: Fact,
    /// When it was seen (caller's monotonic milliseconds).
    pub at_ms: u64,
}

impl Observation {
    /// An observation about a component.
    pub fn component(component: ComponentId, fact: Fact, at_ms: u64) -> Observation {
        Observation {
            subject: Subject::Component(component),
            fact,
            at_ms,
        }
    }

    /// An observation about a PSAP.
    pub fn psap(psap: PsapId, fact: Fact, at_ms: u64) -> Observation {
        Observation {
            subject: Subject::Psap(psap),
            fact,
            at_ms,
        }
    }
}

/// Why the network refused an attempt. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum RejectCause {
    /// No signal: nothing to attach to. Counts against the route's radio components.
    NoSignal = 1,
    /// Congestion / overload (SIP 503, 3GPP cause 34 / 42). Counts against its service components.
    Congestion = 2,
    /// Service unavailable or network failure. Counts against its service components.
    ServiceUnavailable = 3,
    /// Not allowed for this caller (barred, no SIM, SIP 403): refused for this caller, not failing
    /// for everyone, so it feeds no breaker shared with other calls.
    NotAllowed = 4,
    /// Anything else. Counts against the route only.
    Other = 5,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum Outcome {
    /// The call reached the PSAP.
    Connected,
    /// The network refused the attempt.
    Rejected {
        /// Why.
        cause: RejectCause,
        /// The network's own code (SIP status or 3GPP cause), for the audit record; 0 if none.
        code: u16,
    },
    /// No answer before the attempt's setup timeout.
    TimedOut,
}

impl Outcome {
    /// Whether the attempt connected.
    pub fn is_connected(&self) -> bool {
        matches!(self, Outcome::Connected)
    }
}
