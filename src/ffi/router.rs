//! `sos_router`: the shared router — policy, live state, plans and call sessions.

use std::ffi::c_char;

use smallvec::SmallVec;

use crate::policy::Policy;
use crate::route::RouteId;
use crate::router::Router;

use super::boundary::{
    check_buf, check_struct_size, copy_text, read_struct, sos_status, text, write_struct, Failure,
};
use super::call::sos_call;
use super::convert;
use super::plan::sos_plan;
use super::types::{
    sos_call_request, sos_observation, sos_policy_format, sos_probation_state,
    sos_probation_status, SOS_MAX_BATCH, SOS_MAX_POLICY_LEN,
};

/// The router: the policy in force, the live reachability state, and the breakers every call
/// learns from. Create with `sos_router_new`, free with `sos_router_free`.
///
/// A `sos_router` may be used from many threads at once.
#[allow(non_camel_case_types)]
pub struct sos_router {
    _private: [u8; 0],
}

/// The Rust router behind a handle.
///
/// # Safety
/// `p` is a live handle from `sos_router_new*`.
pub(crate) unsafe fn router<'a>(p: *const sos_router) -> &'a Router {
    &*p.cast::<Router>()
}

fn into_handle(router: Router) -> *mut sos_router {
    Box::into_raw(Box::new(router)).cast::<sos_router>()
}

fn policy_failure(e: crate::policy::PolicyError) -> Failure {
    Failure::new(sos_status::SOS_ERR_POLICY, e.to_string())
}

fn update_failure(e: crate::state::UpdateError) -> Failure {
    Failure::new(sos_status::SOS_ERR_UPDATE, e.to_string())
}

unsafe fn policy_text<'a>(
    text_ptr: *const c_char,
    len: usize,
    format: u32,
) -> Result<(&'a str, crate::policy::PolicyFormat), Failure> {
    let format = sos_policy_format::to_rust(format).ok_or_else(|| {
        Failure::invalid(format!("`format` = {format} is not a sos_policy_format"))
    })?;
    // Before the UTF-8 check: a 100 MB text is refused without reading it.
    if len > SOS_MAX_POLICY_LEN {
        return Err(policy_failure(crate::policy::PolicyError::TooLarge {
            len,
            max: SOS_MAX_POLICY_LEN,
        }));
    }
    let text = text(text_ptr, len, "text")
        .map_err(|f| Failure::new(sos_status::SOS_ERR_POLICY, f.message))?;
    Ok((text, format))
}

/// Writes `value` to an optional out-parameter.
unsafe fn put_optional(out: *mut u64, value: u64) {
    if !out.is_null() {
        *out = value;
    }
}

/// Creates a router with the shipped default policy (a US handset) and no observations.
///
/// # Safety
/// `router_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_new(router_out: *mut *mut sos_router) -> sos_status {
    ffi_boundary!(nonnull(router_out) {
        *router_out = into_handle(Router::new(Policy::us_default()));
        Ok(sos_status::SOS_OK)
    })
}

/// Creates a router with the policy in `text` (`text_len` bytes of TOML or JSON, per `format`, a
/// `sos_policy_format`). On `SOS_ERR_POLICY`, `sos_last_error` names the field at fault.
///
/// # Safety
/// `text` is NULL or points to `text_len` readable bytes; `router_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_new_from_policy(
    text: *const c_char,
    text_len: usize,
    format: u32,
    router_out: *mut *mut sos_router,
) -> sos_status {
    ffi_boundary!(nonnull(text, router_out) {
        let (text, format) = policy_text(text, text_len, format)?;
        let policy = Policy::parse(text, format).map_err(policy_failure)?;
        *router_out = into_handle(Router::new(policy));
        Ok(sos_status::SOS_OK)
    })
}

/// Frees a router. NULL is a no-op. Call sessions and plans made from it stay valid and must
/// still be freed; the router must not be used afterwards.
///
/// # Safety
/// `router` is NULL or a live handle from `sos_router_new*`, freed exactly once.
#[no_mangle]
pub unsafe extern "C" fn sos_router_free(router: *mut sos_router) {
    ffi_boundary!(or(()) {
        if !router.is_null() {
            drop(Box::from_raw(router.cast::<Router>()));
        }
    })
}

/// Parses, validates and installs a policy (`text_len` bytes of TOML or JSON, per `format`; at
/// most `SOS_MAX_POLICY_LEN` bytes and `SOS_MAX_JURISDICTIONS` jurisdictions).
/// On `SOS_ERR_POLICY` the policy in force stays in force and `sos_last_error` names the field at
/// fault. On success `*version_out` (may be NULL) is the new policy version.
///
/// # Safety
/// `router` is NULL or live; `text` is NULL or points to `text_len` readable bytes;
/// `version_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_load_policy(
    router: *const sos_router,
    text: *const c_char,
    text_len: usize,
    format: u32,
    version_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, text) {
        let (text, format) = policy_text(text, text_len, format)?;
        let version = self::router(router).load_policy(text, format).map_err(policy_failure)?;
        put_optional(version_out, version);
        Ok(sos_status::SOS_OK)
    })
}

/// The version of the policy in force (1 for the policy the router was created with).
///
/// # Safety
/// `router` is NULL or live; `version_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_policy_version(
    router: *const sos_router,
    version_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, version_out) {
        *version_out = self::router(router).policy().version();
        Ok(sos_status::SOS_OK)
    })
}

/// Copies the name of the policy in force into `buf` (see `sos_plan_explain` for the buffer
/// contract).
///
/// # Safety
/// `router` is NULL or live; `buf` is NULL or writable for `len` bytes; `needed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_policy_name(
    router: *const sos_router,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(router, needed) {
        copy_text(self::router(router).policy().name(), buf, len, needed)
    })
}

/// The id, under the policy in force, of the component called `name` (`name_len` bytes, e.g.
/// `home_core`), for `sos_observation.id`. `SOS_ERR_NOT_FOUND` if the policy has none (a name
/// that is not UTF-8 included).
///
/// # Safety
/// `router` is NULL or live; `name` is NULL or points to `name_len` readable bytes; `id_out` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_component_id(
    router: *const sos_router,
    name: *const c_char,
    name_len: usize,
    id_out: *mut u32,
) -> sos_status {
    ffi_boundary!(nonnull(router, name, id_out) {
        // Not UTF-8 is one more name the policy does not declare: the same status as any other.
        let name = text(name, name_len, "name")
            .map_err(|f| Failure::new(sos_status::SOS_ERR_NOT_FOUND, f.message))?;
        let id = self::router(router).component_id(name).ok_or_else(|| {
            Failure::new(
                sos_status::SOS_ERR_NOT_FOUND,
                format!("the policy in force declares no component {name:?}"),
            )
        })?;
        *id_out = u32::from(id.0);
        Ok(sos_status::SOS_OK)
    })
}

/// Copies the name of the route with id `route` under the policy in force into `buf` (see
/// `sos_plan_explain` for the buffer contract). `SOS_ERR_NOT_FOUND` if there is none.
///
/// # Safety
/// `router` is NULL or live; `buf` is NULL or writable for `len` bytes; `needed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_route_name(
    router: *const sos_router,
    route: u32,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(router, needed) {
        check_buf(buf, len)?;
        let policy = self::router(router).policy();
        let name = route_name(&policy, route)?;
        copy_text(name, buf, len, needed)
    })
}

/// The name of route `route` in `policy`, or `SOS_ERR_NOT_FOUND`.
pub(crate) fn route_name(policy: &Policy, route: u32) -> Result<&str, Failure> {
    u16::try_from(route)
        .ok()
        .and_then(|id| policy.route(RouteId(id)))
        .map(|r| r.name.as_str())
        .ok_or_else(|| {
            Failure::new(
                sos_status::SOS_ERR_NOT_FOUND,
                format!("policy {} declares no route with id {route}", policy.name()),
            )
        })
}

/// Applies one observation. On `SOS_ERR_INVALID_ARG` (a value no policy accepts) or
/// `SOS_ERR_UPDATE` (refused by the policy in force) nothing changes. On success `*epoch_out`
/// (may be NULL) is the new state epoch.
///
/// # Safety
/// `router` is NULL or live; `observation` is NULL or points to a `sos_observation` of
/// `struct_size` bytes; `epoch_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_observe(
    router: *const sos_router,
    observation: *const sos_observation,
    epoch_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, observation) {
        let o = read_struct(observation, "observation")?;
        let o = convert::observation(&o, "observation")?;
        let epoch = self::router(router).observe(o).map_err(update_failure)?;
        put_optional(epoch_out, epoch);
        Ok(sos_status::SOS_OK)
    })
}

/// Applies `count` observations (at most `SOS_MAX_BATCH`) as one batch, atomically: if any is
/// invalid none is applied and `sos_last_error` names it. The array's stride is the first element's `struct_size`, which
/// every element must repeat (so a caller built against a newer header still works). On success
/// `*epoch_out` (may be NULL) is the new state epoch.
///
/// # Safety
/// `router` is NULL or live; `observations` is NULL or points to `count` elements;
/// `epoch_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_update(
    router: *const sos_router,
    observations: *const sos_observation,
    count: usize,
    epoch_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, observations) {
        let batch = observation_batch(observations, count)?;
        let epoch = self::router(router).update(&batch).map_err(update_failure)?;
        put_optional(epoch_out, epoch);
        Ok(sos_status::SOS_OK)
    })
}

unsafe fn observation_batch(
    observations: *const sos_observation,
    count: usize,
) -> Result<SmallVec<[crate::Observation; 16]>, Failure> {
    let mut batch = SmallVec::new();
    if count == 0 {
        return Ok(batch);
    }
    if count > SOS_MAX_BATCH {
        return Err(Failure::invalid(format!(
            "`count` = {count} is above SOS_MAX_BATCH ({SOS_MAX_BATCH}); split the batch"
        )));
    }
    check_struct_size(observations, "observations")?;
    let stride = std::ptr::read(observations.cast::<u32>()) as usize;
    if stride % std::mem::align_of::<sos_observation>() != 0 {
        return Err(Failure::invalid(format!(
            "`observations[0].struct_size` = {stride} is not a multiple of the struct's alignment"
        )));
    }
    // A match rather than `map_or(true, ..)`: clippy asks for `is_none_or` (Rust 1.82) under a
    // newer rust-version, and this reads the same under both.
    match count.checked_mul(stride) {
        Some(bytes) if bytes <= isize::MAX as usize => {}
        _ => return Err(Failure::invalid(format!("`count` = {count} is too large"))),
    }
    let base = observations.cast::<u8>();
    for i in 0..count {
        let field = format!("observations[{i}]");
        let element = base.add(i * stride).cast::<sos_observation>();
        let size = std::ptr::read(element.cast::<u32>()) as usize;
        if size != stride {
            return Err(Failure::invalid(format!(
                "`{field}.struct_size` = {size} differs from observations[0]'s {stride}"
            )));
        }
        batch.push(convert::observation(&std::ptr::read(element), &field)?);
    }
    Ok(batch)
}

/// Applies a batch of updates in the binary wire format of WIRE.md (observations and attempt
/// outcomes from another process: a modem daemon, a trunk monitor, a fleet outage feed),
/// atomically. A malformed or invalid batch changes nothing and returns `SOS_ERR_UPDATE`;
/// `sos_last_error` names the record and the reason. On success `*epoch_out` (may be NULL) is the
/// new state epoch.
///
/// # Safety
/// `router` is NULL or live; `bytes` is NULL or points to `len` readable bytes; `epoch_out` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_apply_update(
    router: *const sos_router,
    bytes: *const u8,
    len: usize,
    epoch_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, bytes) {
        if len > isize::MAX as usize {
            return Err(Failure::invalid(format!("`len` = {len} is too large")));
        }
        let input = std::slice::from_raw_parts(bytes, len);
        let epoch = crate::wire::apply(self::router(router), input)
            .map_err(|e| Failure::new(sos_status::SOS_ERR_UPDATE, e.to_string()))?;
        put_optional(epoch_out, epoch);
        Ok(sos_status::SOS_OK)
    })
}

/// Records how an attempt on route `route` ended when it was made outside a `sos_call` (another
/// process, a fleet feed). `outcome` is a `sos_outcome`; `cause` (a `sos_reject_cause`) and
/// `code` (the network's SIP status or 3GPP cause, 0..=65535) count only for
/// `SOS_OUTCOME_REJECTED`. On success `*epoch_out` (may be NULL) is the new state epoch.
///
/// # Safety
/// `router` is NULL or live; `epoch_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_record_outcome(
    router: *const sos_router,
    route: u32,
    outcome: u32,
    cause: u32,
    code: u32,
    at_ms: u64,
    epoch_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router) {
        let outcome = convert::outcome(outcome, cause, code)?;
        let route = u16::try_from(route).map_err(|_| {
            Failure::new(
                sos_status::SOS_ERR_UPDATE,
                format!("route id {route} is not declared by the policy in force"),
            )
        })?;
        let epoch = self::router(router)
            .record_outcome(RouteId(route), outcome, at_ms)
            .map_err(update_failure)?;
        put_optional(epoch_out, epoch);
        Ok(sos_status::SOS_OK)
    })
}

/// Plans a call on the latest state: `sos_router_plan_ex` with no flags. The plan is the
/// caller's: free it with `sos_plan_free`.
///
/// `SOS_ERR_NOT_EMERGENCY` if `request->dialled` is not an emergency number or service URN
/// (after the normalisation `sos_call_request.dialled` describes; not UTF-8 included);
/// `SOS_ERR_INVALID_ARG` for a `struct_size` too small, a `media` that is not a `sos_media`, or
/// capability bits no `SOS_CAP_*` defines.
///
/// # Safety
/// `router` is NULL or live; `request` is NULL or points to a `sos_call_request` of
/// `struct_size` bytes whose `dialled` points to `dialled_len` readable bytes; `plan_out` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_plan(
    router: *const sos_router,
    request: *const sos_call_request,
    plan_out: *mut *mut sos_plan,
) -> sos_status {
    sos_router_plan_ex(router, request, 0, plan_out)
}

/// Plans a call on the latest state, with `SOS_REQUEST_*` `flags`: with
/// `SOS_REQUEST_DIALER_EMERGENCY` (the dialer already classified the call as an emergency) a
/// dialled string the library does not recognise is planned as a generic emergency
/// (`urn:service:sos`) instead of failing with `SOS_ERR_NOT_EMERGENCY`, and the plan's
/// explanation says so. Unknown flag bits are `SOS_ERR_INVALID_ARG`. Otherwise as
/// `sos_router_plan`.
///
/// # Safety
/// As `sos_router_plan`; with `SOS_REQUEST_DIALER_EMERGENCY`, `request->dialled` may be NULL
/// if `dialled_len` is 0.
#[no_mangle]
pub unsafe extern "C" fn sos_router_plan_ex(
    router: *const sos_router,
    request: *const sos_call_request,
    flags: u32,
    plan_out: *mut *mut sos_plan,
) -> sos_status {
    ffi_boundary!(nonnull(router, request, plan_out) {
        let request = convert::request(&read_struct(request, "request")?, flags)?;
        *plan_out = super::plan::plan_handle(self::router(router), &request);
        Ok(sos_status::SOS_OK)
    })
}

/// Starts a call session for `request`: then `sos_call_next_attempt` / `sos_call_report` until
/// `SOS_DONE`. Free it with `sos_call_free`. The request is checked as by `sos_router_plan`;
/// `sos_router_begin_ex` with no flags.
///
/// # Safety
/// As `sos_router_plan`, with `call_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_begin(
    router: *const sos_router,
    request: *const sos_call_request,
    call_out: *mut *mut sos_call,
) -> sos_status {
    sos_router_begin_ex(router, request, 0, call_out)
}

/// Starts a call session for `request` with `SOS_REQUEST_*` `flags`, as `sos_router_plan_ex`
/// plans: with `SOS_REQUEST_DIALER_EMERGENCY` an unrecognised dialled string is a generic
/// emergency.
///
/// # Safety
/// As `sos_router_plan_ex`, with `call_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_begin_ex(
    router: *const sos_router,
    request: *const sos_call_request,
    flags: u32,
    call_out: *mut *mut sos_call,
) -> sos_status {
    ffi_boundary!(nonnull(router, request, call_out) {
        let request = convert::request(&read_struct(request, "request")?, flags)?;
        let call = self::router(router).begin(request);
        *call_out = super::call::into_handle(call);
        Ok(sos_status::SOS_OK)
    })
}

/// Copies the hash of the policy in force into `buf`: 64 lowercase hex digits of the SHA-256 of
/// its canonical form, the same for the TOML and the JSON of one policy and kept across a
/// rollback (see `sos_plan_explain` for the buffer contract; 65 bytes always suffice).
///
/// # Safety
/// `router` is NULL or live; `buf` is NULL or writable for `len` bytes; `needed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_policy_hash(
    router: *const sos_router,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(router, needed) {
        check_buf(buf, len)?;
        let hash = self::router(router).policy().hash().to_string();
        copy_text(&hash, buf, len, needed)
    })
}

/// Puts back the policy in force before the current one (the same policy, so the same hash)
/// under a new version, carrying the state over as `sos_router_load_policy` does. Repeated, it
/// steps further back. `SOS_ERR_NOT_FOUND` if there is no earlier policy; nothing changes then.
/// On success `*version_out` (may be NULL) is the new policy version.
///
/// # Safety
/// `router` is NULL or live; `version_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_rollback_policy(
    router: *const sos_router,
    version_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router) {
        let version = self::router(router)
            .rollback_policy()
            .map_err(|e| Failure::new(sos_status::SOS_ERR_NOT_FOUND, e.to_string()))?;
        put_optional(version_out, version);
        Ok(sos_status::SOS_OK)
    })
}

/// Sets the Ed25519 public keys policy texts must be signed with: `count` keys of 32 raw bytes
/// each, back to back at `keys` (which may be NULL when `count` is 0). With any key set,
/// `sos_router_load_policy` refuses unsigned policies and `sos_router_load_signed_policy`
/// accepts those signed by one of these keys; `count` 0 allows unsigned policies again. On
/// `SOS_ERR_INVALID_ARG` (a key that is not an Ed25519 public key, named by its index) the keys
/// in force stay.
///
/// # Safety
/// `router` is NULL or live; `keys` is NULL or points to `32 * count` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sos_router_set_trusted_keys(
    router: *const sos_router,
    keys: *const u8,
    count: usize,
) -> sos_status {
    ffi_boundary!(nonnull(router) {
        if count == 0 {
            self::router(router).set_trusted_keys(&[]);
            return Ok(sos_status::SOS_OK);
        }
        if keys.is_null() {
            return Err(Failure::null("keys"));
        }
        let len = count
            .checked_mul(32)
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| Failure::invalid(format!("`count` = {count} is too large")))?;
        let raw = std::slice::from_raw_parts(keys, len);
        let mut parsed = Vec::with_capacity(count);
        for (i, chunk) in raw.chunks_exact(32).enumerate() {
            let bytes: &[u8; 32] = chunk.try_into().expect("chunks of 32 bytes");
            let key = crate::signing::PublicKey::from_bytes(bytes).map_err(|_| {
                Failure::invalid(format!("`keys[{i}]` is not an Ed25519 public key"))
            })?;
            parsed.push(key);
        }
        self::router(router).set_trusted_keys(&parsed);
        Ok(sos_status::SOS_OK)
    })
}

/// Parses, validates and installs a signed policy: `text_len` bytes of TOML or JSON (per
/// `format`) and `signature_len` bytes of its signature file (`sosroute sign-policy`; format in
/// the README: a `sosroute-policy-signature-v1` line, `key <hex>`, `sig <hex>`). The signature
/// must be by one of the router's trusted keys over exactly those `text_len` bytes. On
/// `SOS_ERR_POLICY` the policy in force stays in force and `sos_last_error` says why: no trusted
/// keys, an unknown key, a bad signature, a malformed signature file, or the policy field at
/// fault. On success `*version_out` (may be NULL) is the new policy version.
///
/// # Safety
/// `router` is NULL or live; `text` is NULL or points to `text_len` readable bytes; `signature`
/// is NULL or points to `signature_len` readable bytes; `version_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_load_signed_policy(
    router: *const sos_router,
    text: *const c_char,
    text_len: usize,
    format: u32,
    signature: *const c_char,
    signature_len: usize,
    version_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, text, signature) {
        let (text, format) = policy_text(text, text_len, format)?;
        let signature = self::text(signature, signature_len, "signature")
            .map_err(|f| Failure::new(sos_status::SOS_ERR_POLICY, f.message))?;
        let signature = crate::signing::PolicySignature::from_file(signature)
            .map_err(|e| policy_failure(e.into()))?;
        let version = self::router(router)
            .load_signed_policy(text, format, &signature)
            .map_err(policy_failure)?;
        put_optional(version_out, version);
        Ok(sos_status::SOS_OK)
    })
}

/// Fills `*status_out` (set its `struct_size` first) with where the router's latest policy
/// change stands: on probation, kept, or rolled back by the router itself because calls failed
/// measurably worse under it (see `sos_probation_status` for the signal). Read the reason with
/// `sos_router_probation_reason`.
///
/// # Safety
/// `router` is NULL or live; `status_out` is NULL or a writable `sos_probation_status`.
#[no_mangle]
pub unsafe extern "C" fn sos_router_probation_status(
    router: *const sos_router,
    status_out: *mut sos_probation_status,
) -> sos_status {
    ffi_boundary!(nonnull(router, status_out) {
        check_struct_size(status_out, "status_out")?;
        let s = self::router(router).probation();
        write_struct(
            status_out,
            sos_probation_status {
                struct_size: 0,
                state: sos_probation_state::from_rust(s.state) as u32,
                candidate_version: s.candidate_version,
                predecessor_version: s.predecessor_version,
                restored_version: s.restored_version,
                since_ms: s.since_ms,
                until_ms: s.until_ms,
                decided_ms: s.decided_ms,
                judged_calls: s.judged.attempts,
                judged_failed: s.judged.failed,
                agreed_attempts: s.agreed.attempts,
                agreed_failed: s.agreed.failed,
                washed: s.washed,
                baseline_attempts: s.baseline.attempts,
                baseline_failed: s.baseline.failed,
            },
        );
        Ok(sos_status::SOS_OK)
    })
}

/// Copies why the router's latest policy change was decided (kept, rolled back, superseded)
/// into `buf`, one sentence; empty while it is on probation or with no change (see
/// `sos_plan_explain` for the buffer contract).
///
/// # Safety
/// `router` is NULL or live; `buf` is NULL or writable for `len` bytes; `needed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_probation_reason(
    router: *const sos_router,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(router, needed) {
        copy_text(&self::router(router).probation().reason, buf, len, needed)
    })
}
