//! Emergency call requests and the recognition of emergency numbers and service URNs.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::observation::PsapId;
use crate::route::{Capabilities, Media};

/// The emergency service asked for. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
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

/// A dialled string that is not an emergency number or service URN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// Not an emergency number or `urn:service:sos` URN. Holds the dialled string, cut to
    /// [`MAX_ERROR_LEN`](crate::text::MAX_ERROR_LEN) bytes; the message quotes at most 512 bytes
    /// of it.
    #[error("dialled {} is not an emergency number (911, 112, 999, 000, 110, 119, 08) or an urn:service:sos URN", crate::text::quoted(.0, 512))]
    NotEmergency(String),
}

impl EmergencyService {
    /// Recognises an emergency number or a service URN.
    ///
    /// Numbers may be surrounded by spaces and carry a `tel:` prefix. URNs are matched without
    /// regard to case (RFC 8141). A sub-service of `urn:service:sos` that RFC 5031 does not
    /// register (`urn:service:sos.lifeguard`) still means an emergency: RFC 5031 asks that an
    /// unknown sub-service be treated as its parent, and refusing it could cost a life.
    ///
    /// ```
    /// use sosroute::EmergencyService;
    /// assert_eq!(EmergencyService::recognise("911"), Ok(EmergencyService::Sos));
    /// assert_eq!(EmergencyService::recognise("URN:Service:sos.police"), Ok(EmergencyService::Police));
    /// assert!(EmergencyService::recognise("411").is_err());
    /// ```
    pub fn recognise(dialled: &str) -> Result<EmergencyService, RequestError> {
        if let Some(service) = EmergencyService::of_number(dialled.as_bytes()) {
            return Ok(service);
        }
        let s = dialled.trim();
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
        let digits = strip_prefix_ignore_case(s, "tel:").unwrap_or(s);
        EmergencyService::of_number(digits.as_bytes()).ok_or_else(not_emergency)
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
        })
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
