//! Routes: the ways an emergency call can go, the media they carry, and what a caller needs to
//! use them.

use serde::{Deserialize, Serialize};

/// Most routes one policy may declare. Plans keep their attempts in fixed tables of this size,
/// so a decision never allocates.
pub const MAX_ROUTES: usize = 16;

/// Stable small identifier of a route, chosen in the policy (`[[route]] id = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RouteId(pub u16);

/// What kind of way out a route is. Explicit values: C sees them and they are never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum RouteKind {
    /// IMS (VoLTE / VoNR) or circuit-switched on the home network.
    HomeCellular = 1,
    /// The device's other SIM and its network.
    CrossSim = 2,
    /// Any other network, in limited service / emergency camping ("SOS only").
    OtherNetwork = 3,
    /// IMS emergency over Wi-Fi through the ePDG.
    WifiCalling = 4,
    /// Text-to-911 through the text control centre (TCC), by SMS.
    Text = 5,
    /// Satellite SOS messaging.
    Satellite = 6,
    /// Anything else, e.g. a PSAP's outbound trunk; its media come from the policy.
    Custom = 7,
}

impl RouteKind {
    /// All kinds, in value order.
    pub const ALL: [RouteKind; 7] = [
        RouteKind::HomeCellular,
        RouteKind::CrossSim,
        RouteKind::OtherNetwork,
        RouteKind::WifiCalling,
        RouteKind::Text,
        RouteKind::Satellite,
        RouteKind::Custom,
    ];

    /// The snake_case name used in policy and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::HomeCellular => "home_cellular",
            RouteKind::CrossSim => "cross_sim",
            RouteKind::OtherNetwork => "other_network",
            RouteKind::WifiCalling => "wifi_calling",
            RouteKind::Text => "text",
            RouteKind::Satellite => "satellite",
            RouteKind::Custom => "custom",
        }
    }

    /// Media the kind carries. `Custom` carries what its policy entry says instead.
    pub fn default_media(self) -> MediaSet {
        match self {
            RouteKind::HomeCellular
            | RouteKind::CrossSim
            | RouteKind::OtherNetwork
            | RouteKind::WifiCalling => MediaSet::of(&[Media::Voice, Media::Rtt]),
            RouteKind::Text | RouteKind::Satellite => MediaSet::of(&[Media::Text]),
            RouteKind::Custom => MediaSet::EMPTY,
        }
    }

    /// Caller capabilities the kind needs before it may be attempted at all.
    pub fn default_requires(self) -> Capabilities {
        match self {
            RouteKind::HomeCellular | RouteKind::OtherNetwork | RouteKind::Custom => {
                Capabilities::NONE
            }
            RouteKind::CrossSim => Capabilities::DUAL_SIM,
            RouteKind::WifiCalling => Capabilities::WIFI_CALLING,
            RouteKind::Text => Capabilities::SMS,
            RouteKind::Satellite => Capabilities::SATELLITE,
        }
    }

    /// Whether an attempt needs the caller to do something beyond waiting (aim the phone at the
    /// sky, type a message).
    pub fn needs_user_action(self) -> bool {
        matches!(self, RouteKind::Satellite)
    }

    /// Whether the PSAP must be known to accept text before this kind is offered.
    pub fn needs_text_ready_psap(self) -> bool {
        matches!(self, RouteKind::Text)
    }
}

/// How the caller and the PSAP talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum Media {
    /// Speech.
    Voice = 1,
    /// Text messages (SMS text-to-911, satellite messaging).
    Text = 2,
    /// Real-time text over an IMS call.
    Rtt = 3,
}

impl Media {
    /// All media, in value order.
    pub const ALL: [Media; 3] = [Media::Voice, Media::Text, Media::Rtt];

    /// The snake_case name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            Media::Voice => "voice",
            Media::Text => "text",
            Media::Rtt => "rtt",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u32)
    }
}

/// A small set of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MediaSet(u8);

impl MediaSet {
    /// No media.
    pub const EMPTY: MediaSet = MediaSet(0);

    /// The set holding `media`.
    pub fn of(media: &[Media]) -> MediaSet {
        MediaSet(media.iter().fold(0, |acc, m| acc | m.bit()))
    }

    /// Whether `m` is in the set.
    pub fn contains(self, m: Media) -> bool {
        self.0 & m.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What the caller's device and situation allow, as bit flags. The values are part of the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capabilities(pub u32);

impl Capabilities {
    /// Nothing beyond the home network.
    pub const NONE: Capabilities = Capabilities(0);
    /// A second SIM with its own network.
    pub const DUAL_SIM: Capabilities = Capabilities(1 << 0);
    /// Wi-Fi calling switched on (the link itself is observed state, not a capability).
    pub const WIFI_CALLING: Capabilities = Capabilities(1 << 1);
    /// Can send SMS.
    pub const SMS: Capabilities = Capabilities(1 << 2);
    /// Can do real-time text in a call.
    pub const RTT: Capabilities = Capabilities(1 << 3);
    /// Has satellite SOS messaging.
    pub const SATELLITE: Capabilities = Capabilities(1 << 4);
    /// Every flag this version knows.
    pub const ALL: Capabilities = Capabilities(0b1_1111);

    /// Named flags, for parsing and for explanations.
    pub const NAMED: [(&'static str, Capabilities); 5] = [
        ("dual_sim", Capabilities::DUAL_SIM),
        ("wifi_calling", Capabilities::WIFI_CALLING),
        ("sms", Capabilities::SMS),
        ("rtt", Capabilities::RTT),
        ("satellite", Capabilities::SATELLITE),
    ];

    /// Whether every flag of `other` is set here.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of `self` missing from `have`.
    pub fn missing_from(self, have: Capabilities) -> Capabilities {
        Capabilities(self.0 & !have.0)
    }

    /// Both sets of flags.
    pub fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flag called `name` (`dual_sim`, `wifi_calling`, `sms`, `rtt`, `satellite`).
    pub fn from_name(name: &str) -> Option<Capabilities> {
        Capabilities::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    /// The name of the lowest flag set, for explanations.
    pub fn first_name(self) -> &'static str {
        Capabilities::NAMED
            .iter()
            .find(|(_, c)| self.0 & c.0 != 0)
            .map_or("none", |(n, _)| n)
    }
}

/// A set of routes by their index in the policy; fits [`MAX_ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouteSet(u32);

impl RouteSet {
    /// No route.
    pub const EMPTY: RouteSet = RouteSet(0);

    /// Every route.
    pub const ALL: RouteSet = RouteSet(u32::MAX);

    /// The first `n` routes (`n` at most 32).
    pub fn first(n: usize) -> RouteSet {
        RouteSet(u32::MAX.checked_shr(32 - n as u32).unwrap_or(0))
    }

    /// The set whose bit `i` says whether the route at index `i` is in it.
    pub fn from_bits(bits: u32) -> RouteSet {
        RouteSet(bits)
    }

    /// Bit `i` says whether the route at index `i` is in the set.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether the route at `index` is in the set.
    pub fn contains(self, index: usize) -> bool {
        index < 32 && self.0 & (1 << index) != 0
    }

    /// Adds the route at `index`.
    pub fn insert(&mut self, index: usize) {
        debug_assert!(index < 32, "route index fits a RouteSet");
        self.0 |= 1 << (index & 31);
    }

    /// Adds the route at `index` if `member`, else removes it.
    pub fn set(&mut self, index: usize, member: bool) {
        debug_assert!(index < 32, "route index fits a RouteSet");
        let bit = 1 << (index & 31);
        if member {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.0 = 0;
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The routes in either set.
    pub fn union(self, other: RouteSet) -> RouteSet {
        RouteSet(self.0 | other.0)
    }

    /// The routes of `self` not in `other`.
    pub fn minus(self, other: RouteSet) -> RouteSet {
        RouteSet(self.0 & !other.0)
    }

    /// The indices in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        set_bits(self.0)
    }
}

/// The positions of the set bits of `mask`, lowest first. Visits only the set bits: the planner
/// walks sets of routes, components and ranks on every decision, and testing all 32 positions
/// once cost a third of a decision's instructions.
pub(crate) fn set_bits(mask: u32) -> impl Iterator<Item = usize> {
    let mut rest = mask;
    std::iter::from_fn(move || {
        if rest == 0 {
            return None;
        }
        let lowest = rest.trailing_zeros();
        rest &= rest - 1;
        Some(lowest as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_by_name_round_trip() {
        for (name, cap) in Capabilities::NAMED {
            assert_eq!(Capabilities::from_name(name), Some(cap));
            assert_eq!(cap.first_name(), name);
        }
        assert_eq!(Capabilities::from_name("teleport"), None);
        assert!(Capabilities::ALL.contains(Capabilities::SATELLITE));
    }

    #[test]
    fn media_sets() {
        let s = RouteKind::HomeCellular.default_media();
        assert!(s.contains(Media::Voice) && s.contains(Media::Rtt) && !s.contains(Media::Text));
        assert!(RouteKind::Custom.default_media().is_empty());
    }
}
