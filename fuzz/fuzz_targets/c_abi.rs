//! A sequence of `extern "C"` calls on one `sos_router`, as a careless or hostile C host would
//! make them: NULL pointers, out-of-range enum integers, short and odd-sized buffers, lying
//! `struct_size` values (never larger than the memory really handed over: that would be the
//! host's undefined behaviour, not the library's), random policy text and random wire bytes.
//!
//! Every exported function is called, the policy-safety ones (rollback, trusted keys, signed
//! policies signed by keys the fuzzer holds) and the `_ex` request flags included.
//!
//! Asserted: no call panics (`SOS_ERR_PANIC`), every status is a known one, an out-param handle
//! is written only on success, and the router still plans a voice call at the end.
#![no_main]

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sosroute::ffi::*;

const POLICY: &str = sosroute::US_HANDSET_TOML;

fn check(status: sos_status) -> sos_status {
    assert_ne!(status, sos_status::SOS_ERR_PANIC, "a call panicked");
    assert!((status as u32) <= sos_status::SOS_ERR_PANIC as u32);
    status
}

/// A small integer that is sometimes a valid enum value and sometimes not.
fn enum_int(u: &mut Unstructured) -> Result<u32> {
    Ok(match u.int_in_range(0..=3)? {
        0 => u.arbitrary()?,
        _ => u.int_in_range(0..=9)?,
    })
}

fn struct_size<T>(u: &mut Unstructured) -> Result<u32> {
    let exact = std::mem::size_of::<T>() as u32;
    Ok(match u.int_in_range(0..=5)? {
        0 => 0,
        1 => u.int_in_range(0..=exact)?,
        _ => exact,
    })
}

fn request(u: &mut Unstructured, dialled: &[u8]) -> Result<sos_call_request> {
    Ok(sos_call_request {
        struct_size: struct_size::<sos_call_request>(u)?,
        media: enum_int(u)?,
        call_id: u.arbitrary()?,
        dialled: if u.ratio(1, 16)? {
            null()
        } else {
            dialled.as_ptr().cast::<c_char>()
        },
        dialled_len: u.int_in_range(0..=dialled.len())?,
        capabilities: if u.arbitrary()? {
            u.arbitrary()?
        } else {
            u.int_in_range(0..=31)?
        },
        psap: u.int_in_range(0..=3)?,
        now_ms: u.int_in_range(0..=1_000_000)?,
    })
}

fn observation(u: &mut Unstructured) -> Result<sos_observation> {
    Ok(sos_observation {
        struct_size: struct_size::<sos_observation>(u)?,
        subject: enum_int(u)?,
        id: u.int_in_range(0..=40)?,
        fact: enum_int(u)?,
        state: enum_int(u)?,
        signal: u.int_in_range(0..=300)?,
        flag: u.int_in_range(0..=2)?,
        rtt_ms: u.arbitrary()?,
        at_ms: u.int_in_range(0..=1_000_000)?,
    })
}

/// A caller buffer of random length (possibly NULL) and the length claimed for it.
fn buffer(u: &mut Unstructured) -> Result<(Vec<c_char>, bool)> {
    let len = u.int_in_range(0..=300)?;
    Ok((vec![0; len], u.ratio(1, 16)?))
}

/// The shipped policy text, sometimes with one byte changed, or arbitrary bytes.
fn policy_text(u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(if u.arbitrary()? {
        let mut t = POLICY.as_bytes().to_vec();
        if u.arbitrary()? {
            let i = u.int_in_range(0..=t.len() - 1)?;
            t[i] = u.arbitrary()?;
        }
        t
    } else {
        u.arbitrary()?
    })
}

/// A key the fuzzer can sign with: one of four, so that signatures by a trusted key happen.
fn secret_key(u: &mut Unstructured) -> Result<sosroute::SecretKey> {
    Ok(sosroute::SecretKey::from_seed(
        &[u.int_in_range(0..=3)?; 32],
    ))
}

/// The audit callback: each line is `len` bytes of JSON followed by a NUL.
unsafe extern "C" fn audit_line(_user: *mut std::ffi::c_void, line: *const c_char, len: usize) {
    // SAFETY: the library hands `len` bytes and a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(line.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0, "an audit line is NUL-terminated");
    serde_json::from_slice::<serde_json::Value>(&bytes[..len]).expect("an audit line is JSON");
}

fn run(u: &mut Unstructured) -> Result<()> {
    let mut router: *mut sos_router = null_mut();
    // SAFETY: valid pointers; on failure (a bad policy text) the plain constructor is used.
    unsafe {
        if u.ratio(1, 4)? {
            let text = policy_text(u)?;
            let s = check(sos_router_new_from_policy(
                text.as_ptr().cast(),
                text.len(),
                enum_int(u)?,
                &mut router,
            ));
            assert_eq!(s == sos_status::SOS_OK, !router.is_null());
        }
        if router.is_null() {
            assert_eq!(sos_router_new(&mut router), sos_status::SOS_OK);
        }
    }
    let mut plans: Vec<*mut sos_plan> = Vec::new();
    let mut calls: Vec<*mut sos_call> = Vec::new();
    let dialled: Vec<u8> = if u.arbitrary()? {
        b"911".to_vec()
    } else {
        u.arbitrary()?
    };

    for _ in 0..u.int_in_range(1..=40)? {
        let r = if u.ratio(1, 32)? {
            null()
        } else {
            router.cast_const()
        };
        let plan = if plans.is_empty() || u.ratio(1, 32)? {
            null_mut()
        } else {
            *u.choose(&plans)?
        };
        let call = if calls.is_empty() || u.ratio(1, 32)? {
            null_mut()
        } else {
            *u.choose(&calls)?
        };
        let (mut buf, null_buf) = buffer(u)?;
        let buf_ptr = if null_buf {
            null_mut()
        } else {
            buf.as_mut_ptr()
        };
        let mut needed = 0usize;
        let mut epoch = 0u64;
        // SAFETY (every call below): each pointer is NULL or valid for what the library reads
        // and writes; buffer lengths never exceed the memory handed over.
        unsafe {
            match u.int_in_range(0..=20)? {
                0 | 1 => {
                    let req = request(u, &dialled)?;
                    let mut out: *mut sos_plan = null_mut();
                    let flags = if u.arbitrary()? { 0 } else { enum_int(u)? };
                    let s = if u.arbitrary()? {
                        sos_router_plan(r, &req, &mut out)
                    } else {
                        sos_router_plan_ex(r, &req, flags, &mut out)
                    };
                    if check(s) == sos_status::SOS_OK {
                        plans.push(out);
                    } else {
                        assert!(out.is_null(), "out-param written on failure");
                    }
                }
                2 => {
                    let req = request(u, &dialled)?;
                    let mut out: *mut sos_call = null_mut();
                    let flags = if u.arbitrary()? { 0 } else { enum_int(u)? };
                    let s = if u.arbitrary()? {
                        sos_router_begin(r, &req, &mut out)
                    } else {
                        sos_router_begin_ex(r, &req, flags, &mut out)
                    };
                    if check(s) == sos_status::SOS_OK {
                        calls.push(out);
                    } else {
                        assert!(out.is_null(), "out-param written on failure");
                    }
                }
                3 => {
                    let mut a: sos_attempt = std::mem::zeroed();
                    a.struct_size = struct_size::<sos_attempt>(u)?;
                    let mut done = 0u32;
                    check(sos_call_next_attempt(
                        call,
                        u.int_in_range(0..=2_000_000)?,
                        &mut a,
                        &mut done,
                    ));
                }
                4 => {
                    check(sos_call_report(
                        call,
                        enum_int(u)?,
                        enum_int(u)?,
                        u.arbitrary()?,
                        u.int_in_range(0..=2_000_000)?,
                    ));
                }
                5 => {
                    let o = observation(u)?;
                    check(sos_router_observe(r, &o, &mut epoch));
                }
                6 => {
                    // A batch whose elements all carry the real struct size (a stride the
                    // memory really has), some of them invalid.
                    let mut batch: Vec<sos_observation> = (0..u.int_in_range(0..=6)?)
                        .map(|_| observation(u))
                        .collect::<Result<_>>()?;
                    for o in &mut batch {
                        o.struct_size = std::mem::size_of::<sos_observation>() as u32;
                    }
                    let ptr = if u.ratio(1, 16)? {
                        null()
                    } else {
                        batch.as_ptr()
                    };
                    check(sos_router_update(r, ptr, batch.len(), &mut epoch));
                }
                7 => {
                    let bytes: Vec<u8> = u.arbitrary()?;
                    check(sos_router_apply_update(
                        r,
                        bytes.as_ptr(),
                        bytes.len(),
                        &mut epoch,
                    ));
                }
                8 => {
                    let text = policy_text(u)?;
                    let mut version = 0u64;
                    check(sos_router_load_policy(
                        r,
                        text.as_ptr().cast(),
                        text.len(),
                        enum_int(u)?,
                        &mut version,
                    ));
                }
                9 => {
                    let i = u.int_in_range(0..=20)?;
                    let mut a: sos_attempt = std::mem::zeroed();
                    a.struct_size = struct_size::<sos_attempt>(u)?;
                    check(sos_plan_attempt(plan, i, &mut a));
                    let mut l: sos_left_out = std::mem::zeroed();
                    l.struct_size = struct_size::<sos_left_out>(u)?;
                    check(sos_plan_left_out(plan, i, &mut l));
                    let mut s: sos_plan_summary = std::mem::zeroed();
                    s.struct_size = struct_size::<sos_plan_summary>(u)?;
                    check(sos_plan_get_summary(plan, &mut s));
                    let mut p: sos_probation_status = std::mem::zeroed();
                    p.struct_size = struct_size::<sos_probation_status>(u)?;
                    check(sos_router_probation_status(r, &mut p));
                }
                10 => {
                    let len = u.int_in_range(0..=buf.len())?;
                    check(sos_plan_explain(plan, buf_ptr, len, &mut needed));
                    check(sos_plan_guidance_text(plan, buf_ptr, len, &mut needed));
                    check(sos_plan_guidance_number(
                        plan,
                        u.int_in_range(0..=3)?,
                        buf_ptr,
                        len,
                        &mut needed,
                    ));
                    check(sos_router_route_name(
                        r,
                        u.int_in_range(0..=8)?,
                        buf_ptr,
                        len,
                        &mut needed,
                    ));
                    check(sos_router_probation_reason(r, buf_ptr, len, &mut needed));
                    check(sos_last_error(buf_ptr, len, &mut needed));
                }
                11 => {
                    let name: Vec<u8> = if u.arbitrary()? {
                        b"home_core".to_vec()
                    } else {
                        u.arbitrary()?
                    };
                    let mut id = 0u32;
                    check(sos_router_component_id(
                        r,
                        name.as_ptr().cast(),
                        name.len(),
                        &mut id,
                    ));
                }
                12 => {
                    check(sos_router_record_outcome(
                        r,
                        u.int_in_range(0..=8)?,
                        enum_int(u)?,
                        enum_int(u)?,
                        u.arbitrary()?,
                        u.int_in_range(0..=1_000_000)?,
                        &mut epoch,
                    ));
                }
                15 => {
                    // The session's getters, in or out of an attempt.
                    let mut delay = 0u64;
                    check(sos_call_delay_ms(call, &mut delay));
                    let mut out: *mut sos_plan = null_mut();
                    let s = sos_call_plan(call, u.int_in_range(0..=2_000_000)?, &mut out);
                    if check(s) == sos_status::SOS_OK {
                        plans.push(out);
                    } else {
                        assert!(out.is_null(), "out-param written on failure");
                    }
                }
                16 => {
                    let len = u.int_in_range(0..=buf.len())?;
                    let mut count = 0usize;
                    check(sos_plan_left_out_count(plan, &mut count));
                    check(sos_plan_guidance_number_count(plan, &mut count));
                    check(sos_plan_route_name(
                        plan,
                        u.int_in_range(0..=8)?,
                        buf_ptr,
                        len,
                        &mut needed,
                    ));
                    check(sos_router_policy_name(r, buf_ptr, len, &mut needed));
                    check(sos_router_policy_hash(r, buf_ptr, len, &mut needed));
                    let mut version = 0u64;
                    check(sos_router_policy_version(r, &mut version));
                    assert!(!sos_status_name(u.arbitrary()?).is_null());
                    assert!(!sos_version().is_null());
                    assert_eq!(sos_abi_version(), SOSROUTE_ABI_VERSION);
                }
                17 => {
                    let mut version = 0u64;
                    check(sos_router_rollback_policy(r, &mut version));
                }
                18 => {
                    // Trusted keys: real ones the fuzzer can sign with, or arbitrary bytes
                    // (not all 32-byte strings are Ed25519 points); none clears them.
                    let count = u.int_in_range(0..=3)?;
                    let mut keys = Vec::with_capacity(32 * count);
                    for _ in 0..count {
                        if u.ratio(3, 4)? {
                            keys.extend_from_slice(&secret_key(u)?.public_key().to_bytes());
                        } else {
                            keys.extend((0..32).map(|_| u.arbitrary::<u8>().unwrap_or(0)));
                        }
                    }
                    let ptr = if count == 0 && u.arbitrary()? {
                        null()
                    } else {
                        keys.as_ptr()
                    };
                    check(sos_router_set_trusted_keys(r, ptr, count));
                }
                19 => {
                    // A signed policy: signed by one of the fuzzer's keys over the text (or over
                    // other bytes), the signature file sometimes damaged.
                    let text = policy_text(u)?;
                    let signed = if u.ratio(3, 4)? {
                        text.clone()
                    } else {
                        policy_text(u)?
                    };
                    let mut signature = secret_key(u)?.sign(&signed).to_file().into_bytes();
                    if u.arbitrary()? {
                        let i = u.int_in_range(0..=signature.len() - 1)?;
                        signature[i] = u.arbitrary()?;
                    }
                    let mut version = 0u64;
                    check(sos_router_load_signed_policy(
                        r,
                        text.as_ptr().cast(),
                        text.len(),
                        enum_int(u)?,
                        signature.as_ptr().cast(),
                        signature.len(),
                        &mut version,
                    ));
                }
                20 => {
                    // The audit trail: attached (a ring of 0 or more slots; every line the
                    // callback sees must be NUL-terminated JSON), drained, counted, detached.
                    match u.int_in_range(0..=3)? {
                        0 => {
                            let callback = if u.ratio(1, 8)? {
                                None
                            } else {
                                Some(audit_line as unsafe extern "C" fn(_, _, _))
                            };
                            check(sos_router_audit_attach(
                                r,
                                callback,
                                null_mut(),
                                u.int_in_range(0..=300)?,
                            ));
                        }
                        1 => {
                            let mut written = 0usize;
                            check(sos_router_audit_drain(r, &mut written));
                        }
                        2 => {
                            let mut dropped = 0u64;
                            check(sos_router_audit_dropped(r, &mut dropped));
                        }
                        _ => {
                            check(sos_router_audit_detach(r));
                        }
                    }
                }
                13 => {
                    if !plans.is_empty() {
                        let i = u.choose_index(plans.len())?;
                        sos_plan_free(plans.swap_remove(i));
                    }
                }
                _ => {
                    if !calls.is_empty() {
                        let i = u.choose_index(calls.len())?;
                        sos_call_free(calls.swap_remove(i));
                    }
                }
            }
        }
    }

    // The router survived whatever was thrown at it: it still plans a voice 911 call.
    let req = sos_call_request {
        struct_size: std::mem::size_of::<sos_call_request>() as u32,
        media: sosroute::Media::Voice as u32,
        call_id: 1,
        dialled: b"911".as_ptr().cast(),
        dialled_len: 3,
        capabilities: 0,
        psap: 0,
        now_ms: 0,
    };
    // SAFETY: valid pointers; every handle is freed exactly once.
    unsafe {
        let mut out: *mut sos_plan = null_mut();
        assert_eq!(sos_router_plan(router, &req, &mut out), sos_status::SOS_OK);
        let mut count = 0usize;
        assert_eq!(sos_plan_attempt_count(out, &mut count), sos_status::SOS_OK);
        assert!(count > 0, "rule 1: a voice plan is never empty");
        sos_plan_free(out);
        plans.into_iter().for_each(|p| sos_plan_free(p));
        calls.into_iter().for_each(|c| sos_call_free(c));
        sos_router_free(router);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
