//! `sos_plan`: a finished plan — attempts, routes left out, guidance, explanation.

use std::cell::RefCell;
use std::ffi::c_char;

use crate::plan::Plan;

use super::boundary::{check_buf, check_struct_size, copy_text, sos_status, write_struct, Failure};
use super::convert;
use super::types::{sos_attempt, sos_left_out, sos_plan_summary};

/// A plan: ordered attempts, routes left out with a reason each, last-resort guidance, and a
/// one-paragraph explanation. Made by `sos_router_plan` or `sos_call_plan`, freed with
/// `sos_plan_free`; it never changes.
///
/// A `sos_plan` may be read from many threads at once.
#[allow(non_camel_case_types)]
pub struct sos_plan {
    _private: [u8; 0],
}

/// Freed plans kept per thread, so planning through C in a loop (plan, read, free) neither
/// touches the heap after the first round nor moves a whole plan per decision: the next
/// `sos_router_plan` plans straight into a kept one.
const SPARE_PLANS: usize = 4;

thread_local! {
    // Boxed on purpose: each box is a plan's allocation, handed to C as the handle.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<Plan>>> = const { RefCell::new(Vec::new()) };
}

fn spare() -> Option<Box<Plan>> {
    SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten()
}

pub(crate) fn into_handle(plan: Plan) -> *mut sos_plan {
    let slot = match spare() {
        Some(mut slot) => {
            *slot = plan;
            slot
        }
        None => Box::new(plan),
    };
    Box::into_raw(slot).cast::<sos_plan>()
}

/// `router.plan(request)` as a handle, planned into a kept plan when there is one.
pub(crate) fn plan_handle(router: &crate::Router, request: &crate::CallRequest) -> *mut sos_plan {
    let slot = match spare() {
        Some(mut slot) => {
            router.plan_into(request, &mut slot);
            slot
        }
        None => Box::new(router.plan(request)),
    };
    Box::into_raw(slot).cast::<sos_plan>()
}

/// The Rust plan behind a handle.
///
/// # Safety
/// `p` is a live handle.
unsafe fn plan<'a>(p: *const sos_plan) -> &'a Plan {
    &*p.cast::<Plan>()
}

fn past_end(what: &str, index: usize, count: usize) -> Failure {
    Failure::invalid(format!(
        "`index` = {index} is past the plan's {count} {what}"
    ))
}

/// Frees a plan. NULL is a no-op.
///
/// # Safety
/// `plan` is NULL or a live handle, freed exactly once.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_free(plan: *mut sos_plan) {
    ffi_boundary!(or(()) {
        if plan.is_null() {
            return;
        }
        // Kept whole: the next plan on this thread overwrites it in place.
        let mut slot = Some(Box::from_raw(plan.cast::<Plan>()));
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if s.len() < SPARE_PLANS {
                    s.extend(slot.take());
                }
            }
        });
        // Not kept (cache full, or the thread is exiting): `slot` frees the memory here.
        drop(slot);
    })
}

/// Fills `*summary_out` (set its `struct_size` first): service, call id, state epoch, policy
/// version, time, PSAP state, fail-open.
///
/// # Safety
/// `plan` is NULL or live; `summary_out` is NULL or a writable `sos_plan_summary`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_get_summary(
    plan: *const sos_plan,
    summary_out: *mut sos_plan_summary,
) -> sos_status {
    ffi_boundary!(nonnull(plan, summary_out) {
        check_struct_size(summary_out, "summary_out")?;
        write_struct(summary_out, convert::summary(self::plan(plan)));
        Ok(sos_status::SOS_OK)
    })
}

/// The number of attempts, best first. At least 1 for a voice call planned by `sos_router_plan`.
///
/// # Safety
/// `plan` is NULL or live; `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_attempt_count(
    plan: *const sos_plan,
    count_out: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, count_out) {
        *count_out = self::plan(plan).attempts.len();
        Ok(sos_status::SOS_OK)
    })
}

/// Fills `*attempt_out` (set its `struct_size` first) with attempt `index` (0 is the first to
/// make). `SOS_ERR_INVALID_ARG` past the end.
///
/// # Safety
/// `plan` is NULL or live; `attempt_out` is NULL or a writable `sos_attempt`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_attempt(
    plan: *const sos_plan,
    index: usize,
    attempt_out: *mut sos_attempt,
) -> sos_status {
    ffi_boundary!(nonnull(plan, attempt_out) {
        check_struct_size(attempt_out, "attempt_out")?;
        let attempts = &self::plan(plan).attempts;
        let a = attempts.get(index).ok_or_else(|| past_end("attempts", index, attempts.len()))?;
        write_struct(attempt_out, convert::attempt(a));
        Ok(sos_status::SOS_OK)
    })
}

/// The number of routes left out.
///
/// # Safety
/// `plan` is NULL or live; `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_left_out_count(
    plan: *const sos_plan,
    count_out: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, count_out) {
        *count_out = self::plan(plan).left_out.len();
        Ok(sos_status::SOS_OK)
    })
}

/// Fills `*left_out_out` (set its `struct_size` first) with left-out route `index`, in policy
/// order. `SOS_ERR_INVALID_ARG` past the end.
///
/// # Safety
/// `plan` is NULL or live; `left_out_out` is NULL or a writable `sos_left_out`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_left_out(
    plan: *const sos_plan,
    index: usize,
    left_out_out: *mut sos_left_out,
) -> sos_status {
    ffi_boundary!(nonnull(plan, left_out_out) {
        check_struct_size(left_out_out, "left_out_out")?;
        let left_out = &self::plan(plan).left_out;
        let l = left_out
            .get(index)
            .ok_or_else(|| past_end("left-out routes", index, left_out.len()))?;
        write_struct(left_out_out, convert::left_out(l));
        Ok(sos_status::SOS_OK)
    })
}

/// Copies the plan's explanation (one human-readable paragraph: what will be tried, in what
/// order, why, what was left out, what to tell the caller) into `buf`.
///
/// The buffer contract of every text getter: `*needed` is set to the text's size in bytes
/// including the terminating NUL. If `len` is at least that, the text and a NUL are copied to
/// `buf` and the result is `SOS_OK`; otherwise nothing is written to `buf` and the result is
/// `SOS_ERR_BUFFER_TOO_SMALL` (`buf` NULL with `len` 0 asks for the size only), which leaves
/// the thread's `sos_last_error` as it was. Text is UTF-8.
///
/// # Safety
/// `plan` is NULL or live; `buf` is NULL or writable for `len` bytes; `needed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_explain(
    plan: *const sos_plan,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, needed) {
        copy_text(&self::plan(plan).explain(), buf, len, needed)
    })
}

/// Copies the guidance sentence for the caller (PSAP-specific where the policy has it) into
/// `buf` (see `sos_plan_explain` for the buffer contract).
///
/// # Safety
/// As `sos_plan_explain`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_guidance_text(
    plan: *const sos_plan,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, needed) {
        copy_text(&self::plan(plan).guidance().text, buf, len, needed)
    })
}

/// The number of guidance numbers (ten-digit PSAP numbers and the like) to call instead.
///
/// # Safety
/// `plan` is NULL or live; `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_guidance_number_count(
    plan: *const sos_plan,
    count_out: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, count_out) {
        *count_out = self::plan(plan).guidance().numbers.len();
        Ok(sos_status::SOS_OK)
    })
}

/// Copies guidance number `index` into `buf` (see `sos_plan_explain` for the buffer contract).
/// `SOS_ERR_INVALID_ARG` past the end.
///
/// # Safety
/// As `sos_plan_explain`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_guidance_number(
    plan: *const sos_plan,
    index: usize,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, needed) {
        check_buf(buf, len)?;
        let numbers = &self::plan(plan).guidance().numbers;
        let n = numbers
            .get(index)
            .ok_or_else(|| past_end("guidance numbers", index, numbers.len()))?;
        copy_text(n, buf, len, needed)
    })
}

/// Copies the name of route `route` under the policy the plan was made with into `buf` (see
/// `sos_plan_explain` for the buffer contract). `SOS_ERR_NOT_FOUND` if there is none.
///
/// # Safety
/// As `sos_plan_explain`.
#[no_mangle]
pub unsafe extern "C" fn sos_plan_route_name(
    plan: *const sos_plan,
    route: u32,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(plan, needed) {
        check_buf(buf, len)?;
        let name = super::router::route_name(self::plan(plan).policy(), route)?;
        copy_text(name, buf, len, needed)
    })
}
