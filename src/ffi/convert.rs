//! C structs and integers to Rust values and back. Every integer that means an enum is checked
//! here; an unknown value is `SOS_ERR_INVALID_ARG` with the field named.

use crate::observation::{ComponentId, Fact, Observation, Outcome, PsapId, SignalLevel, Subject};
use crate::plan::{Attempt, LeftOut, Plan};
use crate::request::{CallRequest, EmergencyService};
use crate::route::Capabilities;

use super::boundary::{bytes, sos_status, Failure};
use super::types::*;

fn not_a(field: &str, value: u32, what: &str) -> Failure {
    Failure::invalid(format!("`{field}` = {value} is not a {what}"))
}

fn flag(field: &str, value: u32) -> Result<bool, Failure> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Failure::invalid(format!(
            "`{field}` = {value} is not 0 or 1"
        ))),
    }
}

/// A request from its C form: enums and flags validated, the dialled string recognised, or
/// (with `SOS_REQUEST_DIALER_EMERGENCY` in `flags`) planned as a generic emergency if it is not.
///
/// # Safety
/// `r.dialled` is NULL or points to `r.dialled_len` readable bytes.
#[inline(always)]
pub(crate) unsafe fn request(r: &sos_call_request, flags: u32) -> Result<CallRequest, Failure> {
    let media =
        sos_media::to_rust(r.media).ok_or_else(|| not_a("request->media", r.media, "sos_media"))?;
    if r.capabilities & !SOS_CAP_ALL != 0 {
        return Err(Failure::invalid(format!(
            "`request->capabilities` = {:#x} has bits no SOS_CAP_* flag defines ({:#x})",
            r.capabilities,
            r.capabilities & !SOS_CAP_ALL
        )));
    }
    if flags & !SOS_REQUEST_ALL != 0 {
        return Err(Failure::invalid(format!(
            "`flags` = {flags:#x} has bits no SOS_REQUEST_* flag defines ({:#x})",
            flags & !SOS_REQUEST_ALL
        )));
    }
    let dialer_says = flags & SOS_REQUEST_DIALER_EMERGENCY != 0;
    let dialled: &[u8] = if r.dialled.is_null() {
        // A dialer that knows the call is an emergency may have no string to give.
        if !(dialer_says && r.dialled_len == 0) {
            return Err(Failure::null("request->dialled"));
        }
        &[]
    } else {
        bytes(r.dialled, r.dialled_len, "request->dialled")?
    };
    // The number exactly as dialled first: the usual case, without parsing.
    let recognised = match EmergencyService::of_number(dialled) {
        Some(service) => Ok(service),
        None => EmergencyService::recognise_bytes(dialled),
    };
    let service = match recognised {
        Ok(service) => Some(service),
        Err(_) if dialer_says => None,
        Err(e) => {
            return Err(Failure::new(
                sos_status::SOS_ERR_NOT_EMERGENCY,
                e.to_string(),
            ))
        }
    };
    Ok(CallRequest {
        psap: PsapId(r.psap),
        ..CallRequest::classified(
            r.call_id,
            service,
            media,
            Capabilities(r.capabilities),
            r.now_ms,
        )
    })
}

/// An observation from its C form; `field` names it in messages (`observation`,
/// `observations[3]`).
pub(crate) fn observation(o: &sos_observation, field: &str) -> Result<Observation, Failure> {
    let subject = match o.subject {
        s if s == sos_subject::Component as u32 => {
            // An id the policy in force does not declare is SOS_ERR_UPDATE whatever its size: a
            // monitor a policy change left behind is an operational fault, not a bad argument.
            let id = u16::try_from(o.id).map_err(|_| {
                Failure::new(
                    sos_status::SOS_ERR_UPDATE,
                    format!(
                        "`{field}.id` = {}: component {} is not declared by the policy in force",
                        o.id, o.id
                    ),
                )
            })?;
            Subject::Component(ComponentId(id))
        }
        s if s == sos_subject::Psap as u32 => {
            // PSAP 0 is never valid (it means "not known"): a bad argument under any policy.
            if o.id == 0 {
                return Err(Failure::invalid(format!(
                    "`{field}.id` = 0: PSAP id 0 means \"not known\" and cannot carry facts"
                )));
            }
            Subject::Psap(PsapId(o.id))
        }
        s => return Err(not_a(&format!("{field}.subject"), s, "sos_subject")),
    };
    let state = |what: &str| format!("{field}.state ({what})");
    let fact = match o.fact {
        f if f == sos_fact::Radio as u32 => Fact::Radio {
            state: sos_radio_state::to_rust(o.state)
                .ok_or_else(|| not_a(&state("radio"), o.state, "sos_radio_state"))?,
            signal: signal(o.signal, field)?,
        },
        f if f == sos_fact::Service as u32 => Fact::Service {
            state: sos_service_state::to_rust(o.state)
                .ok_or_else(|| not_a(&state("service"), o.state, "sos_service_state"))?,
        },
        f if f == sos_fact::Probe as u32 => Fact::Probe {
            ok: flag(&format!("{field}.flag"), o.flag)?,
            rtt_ms: o.rtt_ms,
        },
        f if f == sos_fact::Link as u32 => Fact::Link {
            connected: flag(&format!("{field}.flag"), o.flag)?,
        },
        f if f == sos_fact::E911Address as u32 => Fact::E911Address {
            registered: flag(&format!("{field}.flag"), o.flag)?,
        },
        f if f == sos_fact::Outage as u32 => Fact::Outage {
            active: flag(&format!("{field}.flag"), o.flag)?,
        },
        f if f == sos_fact::Psap as u32 => Fact::Psap {
            state: sos_psap_state::to_rust(o.state)
                .ok_or_else(|| not_a(&state("psap"), o.state, "sos_psap_state"))?,
        },
        f if f == sos_fact::PsapTextReady as u32 => Fact::PsapTextReady {
            ready: flag(&format!("{field}.flag"), o.flag)?,
        },
        f => return Err(not_a(&format!("{field}.fact"), f, "sos_fact")),
    };
    Ok(Observation {
        subject,
        fact,
        at_ms: o.at_ms,
    })
}

/// A signal level: 0..=4 bars or `SOS_SIGNAL_UNKNOWN`, checked here for every value (5 as well
/// as 256), so that one fault has one status, `SOS_ERR_INVALID_ARG`.
fn signal(value: u32, field: &str) -> Result<SignalLevel, Failure> {
    match u8::try_from(value) {
        Ok(level) if level <= SignalLevel::MAX_BARS || level == SignalLevel::UNKNOWN.0 => {
            Ok(SignalLevel(level))
        }
        _ => Err(Failure::invalid(format!(
            "`{field}.signal` = {value} is not a signal level (0..={} bars, or \
             SOS_SIGNAL_UNKNOWN = {})",
            SignalLevel::MAX_BARS,
            SignalLevel::UNKNOWN.0
        ))),
    }
}

/// An outcome from its C arguments. `cause` and `code` count only for `SOS_OUTCOME_REJECTED`.
pub(crate) fn outcome(kind: u32, cause: u32, code: u32) -> Result<Outcome, Failure> {
    match kind {
        k if k == sos_outcome::Connected as u32 => Ok(Outcome::Connected),
        k if k == sos_outcome::TimedOut as u32 => Ok(Outcome::TimedOut),
        k if k == sos_outcome::Rejected as u32 => Ok(Outcome::Rejected {
            cause: sos_reject_cause::to_rust(cause)
                .ok_or_else(|| not_a("cause", cause, "sos_reject_cause"))?,
            code: u16::try_from(code)
                .map_err(|_| Failure::invalid(format!("`code` = {code} is above 65535")))?,
        }),
        k => Err(not_a("outcome", k, "sos_outcome")),
    }
}

/// An attempt in its C form (`struct_size` is set by the writer).
pub(crate) fn attempt(a: &Attempt) -> sos_attempt {
    sos_attempt {
        struct_size: 0,
        route: u32::from(a.route.0),
        kind: sos_route_kind::from_rust(a.kind) as u32,
        media: sos_media::from_rust(a.media) as u32,
        timeout_ms: a.timeout_ms,
        reason: sos_reason::from_rust(a.reason) as u32,
        evidence: sos_evidence::from_rust(a.evidence) as u32,
        blamed: a.blamed.map_or(SOS_NO_COMPONENT, |c| u32::from(c.0)),
        needs_user_action: a.needs_user_action,
    }
}

/// A left-out route in its C form.
pub(crate) fn left_out(l: &LeftOut) -> sos_left_out {
    sos_left_out {
        struct_size: 0,
        route: u32::from(l.route.0),
        reason: sos_left_out_reason::from_rust(l.reason) as u32,
        missing: l.missing.0,
    }
}

/// A plan's summary in its C form.
pub(crate) fn summary(p: &Plan) -> sos_plan_summary {
    sos_plan_summary {
        struct_size: 0,
        service: sos_emergency_service::from_rust(p.request.service) as u32,
        call_id: p.request.call_id,
        epoch: p.epoch,
        policy_version: p.policy_version(),
        made_at_ms: p.made_at_ms,
        psap_state: p
            .psap_state
            .map_or(0, |s| sos_psap_state::from_rust(s) as u32),
        fail_open: p.fail_open,
    }
}
