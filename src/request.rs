//! Emergency call requests and the recognition of emergency numbers and service URNs.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::observation::PsapId;
use crate::route::{Capabilities, Media};

/// The emergency service asked for. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum EmergencyService {
    /// Any emergency service (`911`, `112`, `urn:service:sos`).
    Sos = 1,
    /// `urn:service:sos.ambulance`.
    Ambulance = 2,
    /// `urn:service:sos.animal-control`.
    AnimalControl = 3,
    /// `urn:service:sos.fire`; also `119`.
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
    /// `urn:service:sos.police`; also `110`.
    Police = 10,
}

/// Emergency numbers this library recognises, with the service each means.
const NUMBERS: [(&str, EmergencyService); 7] = [
    ("911", EmergencyService::Sos),
    ("112", EmergencyService::Sos),
    ("999", EmergencyService::Sos),
    ("000", EmergencyService::Sos),
    ("08", EmergencyService::Sos),
    ("110", EmergencyService::Police),
    ("119", EmergencyService::Fire),
];

/// The sub-services of `urn:service:sos` registered by RFC 5031.
const SUB_SERVICES: [(&str, EmergencyService); 9] = [
    ("ambulance", EmergencyService::Ambulance),
    ("animal-control", EmergencyService::AnimalControl),
    ("fire", EmergencyService::Fire),
    ("gas", EmergencyService::Gas),
    ("marine", EmergencyService::Marine),
    ("mountain", EmergencyService::Mountain),
    ("physician", EmergencyService::Physician),
    ("poison", EmergencyService::Poison),
    ("police", EmergencyService::Police),
];

/// Longest dialled string examined, in bytes: a longer one is not an emergency number or URN
/// this library recognises (it may still be planned as one, see
/// [`CallRequest::dialer_emergency`]).
pub const MAX_DIALLED_LEN: usize = 256;

/// A dialled string that is not an emergency number or service URN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Longer than [`MAX_DIALLED_LEN`]: not examined.
    #[error("dialled string is {len} bytes; strings over {max} bytes (MAX_DIALLED_LEN) are not examined as emergency numbers")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// [`MAX_DIALLED_LEN`].
        max: usize,
    },
    /// Not an emergency number or `urn:service:sos` URN. Holds the dialled string, cut to
    /// [`MAX_ERROR_LEN`](crate::MAX_ERROR_LEN) bytes; the message quotes at most 512 bytes
    /// of it.
    #[error("dialled {} is not an emergency number (911, 112, 999, 000, 110, 119, 08) or an urn:service:sos URN", crate::text::quoted(.0, 512))]
    NotEmergency(String),
}

/// Zero of each run of ten decimal digits (Unicode category Nd) a dialled number may be written
/// in: a keyboard or an input method in these scripts types these, not ASCII, and `٩١١` is 911.
const DIGIT_ZEROS: [u32; 20] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x07C0, // NKo
    0x0966, // Devanagari
    0x09E6, // Bengali
    0x0A66, // Gurmukhi
    0x0AE6, // Gujarati
    0x0B66, // Oriya
    0x0BE6, // Tamil
    0x0C66, // Telugu
    0x0CE6, // Kannada
    0x0D66, // Malayalam
    0x0E50, // Thai
    0x0ED0, // Lao
    0x0F20, // Tibetan
    0x1040, // Myanmar
    0x17E0, // Khmer
    0x1810, // Mongolian
    0xFF10, // full-width (CJK input methods)
    0x0030, // ASCII
];

/// The ASCII digit of a decimal digit of any script in [`DIGIT_ZEROS`].
fn ascii_digit(c: char) -> Option<char> {
    let c = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&c))
        .map(|&zero| char::from(b'0' + (c - zero) as u8))
}

/// Characters a dialer or a copy-paste adds around (or, for format characters, inside) a number
/// without meaning anything: white space, and the invisible format characters — zero-width
/// space and joiners, word joiner, byte-order mark, soft hyphen, and the bidirectional marks,
/// embeddings and isolates Android and iOS wrap phone numbers in for right-to-left languages.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn is_ignorable_edge(c: char) -> bool {
    c == '\0' || c.is_whitespace() || c.is_control() || is_format(c)
}

impl EmergencyService {
    /// Recognises an emergency number or a service URN.
    ///
    /// What is normalised first, and nothing else:
    /// - at both ends, NUL characters (a C terminator counted in the length), white space,
    ///   control characters and format characters (zero-width space and joiners, word joiner,
    ///   byte-order mark, soft hyphen, bidirectional marks, embeddings and isolates);
    /// - in a number, format characters anywhere, and decimal digits of other scripts (full-width
    ///   `９１１`, Arabic-Indic `٩١١`, Persian, Devanagari, Bengali, Thai, ... : Unicode Nd) read
    ///   as ASCII digits;
    /// - a `tel:` prefix, in any case.
    ///
    /// URNs are matched without regard to case (RFC 8141). A sub-service of `urn:service:sos`
    /// that RFC 5031 does not register (`urn:service:sos.lifeguard`) still means an emergency:
    /// RFC 5031 asks that an unknown sub-service be treated as its parent, and refusing it could
    /// cost a life. Strings longer than [`MAX_DIALLED_LEN`] bytes are not examined.
    ///
    /// ```
    /// use sosroute::EmergencyService;
    /// assert_eq!(EmergencyService::recognise("911"), Ok(EmergencyService::Sos));
    /// assert_eq!(EmergencyService::recognise("911\0"), Ok(EmergencyService::Sos));
    /// assert_eq!(EmergencyService::recognise("９１１"), Ok(EmergencyService::Sos));
    /// assert_eq!(EmergencyService::recognise("\u{200B}٩١١"), Ok(EmergencyService::Sos));
    /// assert_eq!(EmergencyService::recognise("URN:Service:sos.police"), Ok(EmergencyService::Police));
    /// assert!(EmergencyService::recognise("411").is_err());
    /// ```
    pub fn recognise(dialled: &str) -> Result<EmergencyService, RequestError> {
        if let Some(service) = EmergencyService::of_number(dialled.as_bytes()) {
            return Ok(service);
        }
        if dialled.len() > MAX_DIALLED_LEN {
            return Err(RequestError::TooLong {
                len: dialled.len(),
                max: MAX_DIALLED_LEN,
            });
        }
        let s = dialled.trim_matches(is_ignorable_edge);
        let not_emergency = || {
            RequestError::NotEmergency(
                crate::text::cut(dialled, crate::text::MAX_ERROR_LEN).into_owned(),
            )
        };
        if let Some(rest) = strip_prefix_ignore_case(s, "urn:service:") {
            let Some(sub) = strip_prefix_ignore_case(rest, "sos") else {
                return Err(not_emergency());
            };
            if sub.is_empty() {
                return Ok(EmergencyService::Sos);
            }
            let sub = sub.strip_prefix('.').ok_or_else(not_emergency)?;
            if sub.is_empty()
                || !sub
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(not_emergency());
            }
            let top = sub.split('.').next().unwrap_or(sub);
            return Ok(SUB_SERVICES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(top))
                .map_or(EmergencyService::Sos, |(_, svc)| *svc));
        }
        let number = strip_prefix_ignore_case(s, "tel:").unwrap_or(s);
        // Every emergency number is a few ASCII digits: anything else in it means "not one".
        let mut digits = [0u8; 8];
        let mut n = 0;
        for c in number.chars().filter(|&c| !is_format(c)) {
            let d = ascii_digit(c).ok_or_else(not_emergency)?;
            *digits.get_mut(n).ok_or_else(not_emergency)? = d as u8;
            n += 1;
        }
        EmergencyService::of_number(&digits[..n]).ok_or_else(not_emergency)
    }

    /// [`EmergencyService::recognise`] on bytes as a C caller passes them: bytes that are not
    /// UTF-8 are not an emergency number.
    #[cfg(any(feature = "capi", test))]
    pub(crate) fn recognise_bytes(dialled: &[u8]) -> Result<EmergencyService, RequestError> {
        if let Some(service) = EmergencyService::of_number(dialled) {
            return Ok(service);
        }
        match std::str::from_utf8(dialled) {
            Ok(text) => EmergencyService::recognise(text),
            Err(_) if dialled.len() > MAX_DIALLED_LEN => Err(RequestError::TooLong {
                len: dialled.len(),
                max: MAX_DIALLED_LEN,
            }),
            // Quoted with U+FFFD where the bytes are not UTF-8, which shows where.
            Err(_) => Err(RequestError::NotEmergency(
                String::from_utf8_lossy(dialled).into_owned(),
            )),
        }
    }

    /// The service of an emergency number exactly as dialled (no spaces, no `tel:`): the usual
    /// case, looked up before anything is trimmed or parsed, and on raw bytes so that the C ABI
    /// can look it up before it checks the bytes are UTF-8 (it does so on every decision).
    pub(crate) fn of_number(dialled: &[u8]) -> Option<EmergencyService> {
        NUMBERS
            .iter()
            .find(|(n, _)| n.as_bytes() == dialled)
            .map(|&(_, service)| service)
    }

    /// The service URN (RFC 5031) for this service.
    pub fn urn(self) -> &'static str {
        match self {
            EmergencyService::Sos => "urn:service:sos",
            EmergencyService::Ambulance => "urn:service:sos.ambulance",
            EmergencyService::AnimalControl => "urn:service:sos.animal-control",
            EmergencyService::Fire => "urn:service:sos.fire",
            EmergencyService::Gas => "urn:service:sos.gas",
            EmergencyService::Marine => "urn:service:sos.marine",
            EmergencyService::Mountain => "urn:service:sos.mountain",
            EmergencyService::Physician => "urn:service:sos.physician",
            EmergencyService::Poison => "urn:service:sos.poison",
            EmergencyService::Police => "urn:service:sos.police",
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One emergency call to route. `Copy`, with no heap data, so deciding never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    /// Caller-chosen id of the call, carried into plans and audit records.
    pub call_id: u64,
    /// The service asked for.
    pub service: EmergencyService,
    /// How the caller wants to talk.
    pub media: Media,
    /// What the caller's device allows.
    pub caller: Capabilities,
    /// The PSAP (jurisdiction) serving the caller; `PsapId(0)` when not known.
    pub psap: PsapId,
    /// When the call starts (caller's monotonic milliseconds).
    pub now_ms: u64,
    /// The dialled string was not recognised, and `service` is [`EmergencyService::Sos`] because
    /// the dialer classified the call as an emergency ([`CallRequest::dialer_emergency`]). The
    /// plan's explanation says so.
    #[serde(default)]
    pub classified_by_dialer: bool,
}

impl CallRequest {
    /// A request for `dialled` (a number or service URN), failing if it is not an emergency.
    ///
    /// ```
    /// use sosroute::{CallRequest, Capabilities, Media};
    /// let req = CallRequest::new(7, "911", Media::Voice, Capabilities::SMS, 0).unwrap();
    /// assert_eq!(req.call_id, 7);
    /// assert!(CallRequest::new(8, "5551234", Media::Voice, Capabilities::NONE, 0).is_err());
    /// ```
    pub fn new(
        call_id: u64,
        dialled: &str,
        media: Media,
        caller: Capabilities,
        now_ms: u64,
    ) -> Result<CallRequest, RequestError> {
        Ok(CallRequest {
            call_id,
            service: EmergencyService::recognise(dialled)?,
            media,
            caller,
            psap: PsapId(0),
            now_ms,
            classified_by_dialer: false,
        })
    }

    /// A request for a call the dialer already classified as an emergency (its own emergency
    /// number list, the SIM's, the network's): never fails. The service is the one `dialled`
    /// names if this library recognises it; otherwise a generic emergency
    /// ([`EmergencyService::Sos`], `urn:service:sos`) with
    /// [`classified_by_dialer`](CallRequest::classified_by_dialer) set, so that this library is
    /// never the reason an emergency call is not attempted.
    ///
    /// ```
    /// use sosroute::{CallRequest, Capabilities, EmergencyService, Media};
    /// // An emergency number of a country this library does not list:
    /// let req = CallRequest::dialer_emergency(7, "1122", Media::Voice, Capabilities::NONE, 0);
    /// assert_eq!(req.service, EmergencyService::Sos);
    /// assert!(req.classified_by_dialer);
    /// let fire = CallRequest::dialer_emergency(8, "urn:service:sos.fire", Media::Voice, Capabilities::NONE, 0);
    /// assert_eq!(fire.service, EmergencyService::Fire);
    /// assert!(!fire.classified_by_dialer);
    /// ```
    pub fn dialer_emergency(
        call_id: u64,
        dialled: &str,
        media: Media,
        caller: Capabilities,
        now_ms: u64,
    ) -> CallRequest {
        CallRequest::classified(
            call_id,
            EmergencyService::recognise(dialled).ok(),
            media,
            caller,
            now_ms,
        )
    }

    /// A request whose service the library recognised (`Some`) or, failing that, the dialer
    /// classified as an emergency (`None`).
    pub(crate) fn classified(
        call_id: u64,
        recognised: Option<EmergencyService>,
        media: Media,
        caller: Capabilities,
        now_ms: u64,
    ) -> CallRequest {
        CallRequest {
            call_id,
            service: recognised.unwrap_or(EmergencyService::Sos),
            media,
            caller,
            psap: PsapId(0),
            now_ms,
            classified_by_dialer: recognised.is_none(),
        }
    }

    /// The same request, served by `psap`.
    pub fn with_psap(self, psap: PsapId) -> CallRequest {
        CallRequest { psap, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_recognised() {
        for n in ["911", "112", "999", "000", "08", " 911 ", "tel:112"] {
            assert_eq!(
                EmergencyService::recognise(n),
                Ok(EmergencyService::Sos),
                "{n}"
            );
        }
        assert_eq!(
            EmergencyService::recognise("110"),
            Ok(EmergencyService::Police)
        );
        assert_eq!(
            EmergencyService::recognise("119"),
            Ok(EmergencyService::Fire)
        );
    }

    #[test]
    fn urns_are_recognised() {
        assert_eq!(
            EmergencyService::recognise("urn:service:sos"),
            Ok(EmergencyService::Sos)
        );
        for (sub, svc) in SUB_SERVICES {
            let urn = format!("urn:service:sos.{sub}");
            assert_eq!(EmergencyService::recognise(&urn), Ok(svc));
            assert_eq!(svc.urn(), urn);
        }
        assert_eq!(
            EmergencyService::recognise("URN:SERVICE:SOS.FIRE"),
            Ok(EmergencyService::Fire)
        );
        // Unregistered sub-service: treated as its parent (RFC 5031).
        assert_eq!(
            EmergencyService::recognise("urn:service:sos.lifeguard"),
            Ok(EmergencyService::Sos)
        );
    }

    #[test]
    fn dialled_strings_are_normalised_as_documented() {
        for n in [
            "911\0",
            "911\0\0",
            "\u{200B}911",
            "911\u{200B}",
            "\u{FEFF}911",
            "\u{202A}911\u{202C}",
            "\u{2066}911\u{2069}",
            "\u{200E}911",
            "\t911\r\n",
            "\u{3000}911",
            "\u{00A0}911\u{00A0}",
            "９１１",
            "٩١١",
            "۹۱۱",
            "९११",
            "๙๑๑",
            "9\u{200B}1\u{200D}1",
            "tel:９１１",
            "TEL:911",
            "\u{200B}tel:911\0",
        ] {
            assert_eq!(
                EmergencyService::recognise(n),
                Ok(EmergencyService::Sos),
                "{n:?}"
            );
        }
        assert_eq!(
            EmergencyService::recognise("１１０"),
            Ok(EmergencyService::Police)
        );
        assert_eq!(
            EmergencyService::recognise("urn:service:sos.fire\0"),
            Ok(EmergencyService::Fire)
        );
        // Not normalised: a digit inside the number, interior spaces, NUL inside, other digits.
        for n in [
            "9 11",
            "91\u{0}1",
            "9١١١",
            "٤١١",
            "911\u{200B}1",
            "\u{1D7E1}11",
        ] {
            assert!(EmergencyService::recognise(n).is_err(), "{n:?}");
        }
        let long = "9".repeat(MAX_DIALLED_LEN + 1);
        assert_eq!(
            EmergencyService::recognise(&long),
            Err(RequestError::TooLong {
                len: MAX_DIALLED_LEN + 1,
                max: MAX_DIALLED_LEN
            })
        );
        assert!(EmergencyService::recognise_bytes(b"911\0").is_ok());
        assert!(EmergencyService::recognise_bytes(b"9\xff11").is_err());
    }

    #[test]
    fn non_emergencies_are_errors() {
        for s in [
            "",
            "411",
            "9111",
            "91",
            "5551234",
            "urn:service:counseling",
            "urn:service:sosx",
            "urn:service:sos.",
            "urn:service:sos.po lice",
            "urn:service:",
            "tel:",
            "911x",
        ] {
            let err = EmergencyService::recognise(s).unwrap_err();
            assert!(err.to_string().contains(&format!("{s:?}")), "{err}");
        }
    }
}
