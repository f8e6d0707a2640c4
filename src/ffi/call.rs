//! `sos_call`: one emergency call in progress, attempt by attempt.

use crate::router::{CallSession, Next};

use super::boundary::{check_struct_size, sos_status, write_struct, Failure};
use super::convert;
use super::plan::sos_plan;
use super::types::{sos_attempt, sos_done};

/// One emergency call in progress: `sos_call_next_attempt`, make the attempt,
/// `sos_call_report`, ... until `SOS_DONE`. Each next attempt is planned on the latest state,
/// skipping routes that already failed in this call. Made by `sos_router_begin`, freed with
/// `sos_call_free`; using it after it is freed is undefined behaviour.
///
/// A `sos_call` belongs to one thread at a time.
#[allow(non_camel_case_types)]
pub struct sos_call {
    _private: [u8; 0],
}

pub(crate) fn into_handle(call: CallSession) -> *mut sos_call {
    Box::into_raw(Box::new(call)).cast::<sos_call>()
}

/// Frees a call session. NULL is a no-op.
///
/// # Safety
/// `call` is NULL or a live handle, freed exactly once.
#[no_mangle]
pub unsafe extern "C" fn sos_call_free(call: *mut sos_call) {
    ffi_boundary!(or(()) {
        if !call.is_null() {
            drop(Box::from_raw(call.cast::<CallSession>()));
        }
    })
}

/// The next attempt to make, at `now_ms`. Returns `SOS_OK` and fills `*attempt_out` (set its
/// `struct_size` first), or `SOS_DONE` and sets `*done_out` to a `sos_done` saying why there is
/// nothing more to attempt. `SOS_ERR_SESSION` while the previous attempt is unreported.
///
/// # Safety
/// `call` is NULL or live and used by no other thread; `attempt_out` is NULL or a writable
/// `sos_attempt`; `done_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_call_next_attempt(
    call: *mut sos_call,
    now_ms: u64,
    attempt_out: *mut sos_attempt,
    done_out: *mut u32,
) -> sos_status {
    ffi_boundary!(nonnull(call, attempt_out, done_out) {
        // Checked before the session moves on, so a bad argument costs the call nothing.
        check_struct_size(attempt_out, "attempt_out")?;
        let call = &mut *call.cast::<CallSession>();
        match call.next_attempt(now_ms) {
            Ok(Next::Attempt(a)) => {
                write_struct(attempt_out, convert::attempt(&a));
                Ok(sos_status::SOS_OK)
            }
            Ok(Next::Done(done)) => {
                *done_out = sos_done::from_rust(done) as u32;
                Ok(sos_status::SOS_DONE)
            }
            Err(e) => Err(Failure::new(sos_status::SOS_ERR_SESSION, e.to_string())),
        }
    })
}

/// How long after `sos_call_next_attempt` returned it the attempt in flight is to be dialled, in
/// milliseconds: a redial's backoff when a whole walk of the route list failed faster than the
/// policy's `redial_backoff_s`, 0 otherwise. Dial when that time has passed, and report the
/// outcome with the `now_ms` it ended at. `SOS_ERR_SESSION` if no attempt is in flight.
///
/// # Safety
/// `call` is NULL or live and used by no other thread; `delay_ms_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_call_delay_ms(
    call: *const sos_call,
    delay_ms_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(call, delay_ms_out) {
        let call = &*call.cast::<CallSession>();
        let attempt = call
            .in_flight()
            .ok_or_else(|| Failure::new(sos_status::SOS_ERR_SESSION, "no attempt is in flight"))?;
        *delay_ms_out = attempt.delay_ms;
        Ok(sos_status::SOS_OK)
    })
}

/// Reports how the attempt in flight ended, at `now_ms`. `outcome` is a `sos_outcome`; `cause`
/// (a `sos_reject_cause`) and `code` (SIP status or 3GPP cause, 0..=65535) count only for
/// `SOS_OUTCOME_REJECTED`. The outcome also feeds the router's breakers, so other calls learn from
/// it. `SOS_ERR_SESSION` if no attempt is in flight.
///
/// # Safety
/// `call` is NULL or live and used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sos_call_report(
    call: *mut sos_call,
    outcome: u32,
    cause: u32,
    code: u32,
    now_ms: u64,
) -> sos_status {
    ffi_boundary!(nonnull(call) {
        let outcome = convert::outcome(outcome, cause, code)?;
        let call = &mut *call.cast::<CallSession>();
        call.report(outcome, now_ms)
            .map_err(|e| Failure::new(sos_status::SOS_ERR_SESSION, e.to_string()))?;
        Ok(sos_status::SOS_OK)
    })
}

/// The plan the session would follow from `now_ms`: the latest state, minus what already failed
/// in this call. Free it with `sos_plan_free`.
///
/// # Safety
/// `call` is NULL or live and used by no other thread; `plan_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_call_plan(
    call: *const sos_call,
    now_ms: u64,
    plan_out: *mut *mut sos_plan,
) -> sos_status {
    ffi_boundary!(nonnull(call, plan_out) {
        let call = &*call.cast::<CallSession>();
        *plan_out = super::plan::into_handle(call.plan(now_ms));
        Ok(sos_status::SOS_OK)
    })
}
