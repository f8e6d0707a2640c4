//! The audit trail through the C ABI: a callback with a user pointer as the sink, an explicit
//! drain on a thread the host chooses, and the count of dropped records.

use std::ffi::{c_char, c_void};

use crate::audit::{AuditError, AuditSink};

use super::boundary::{sos_status, Failure};
use super::router::{router, sos_router};

/// Receives one audit record: `line` is `len` bytes of JSON (one object, no line break),
/// followed by a NUL not counted in `len`. It is valid only during the call. Called only from
/// `sos_router_audit_drain`, on the thread that calls it, with the `user` pointer given to
/// `sos_router_audit_attach`; it may block (write a file, a socket) and must not call back into
/// the same router's audit functions.
#[allow(non_camel_case_types)]
pub type sos_audit_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, line: *const c_char, len: usize)>;

/// A C callback as a sink.
struct CallbackSink {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    user: *mut c_void,
    /// The line with its NUL.
    buffer: Vec<u8>,
}

// SAFETY: the header tells the host that the callback runs on whichever thread calls
// `sos_router_audit_drain`, with its `user` pointer: moving the pointer between threads is what
// it agreed to; Rust never dereferences it.
unsafe impl Send for CallbackSink {}

impl AuditSink for CallbackSink {
    fn write(&mut self, line: &[u8]) {
        self.buffer.clear();
        self.buffer.extend_from_slice(line);
        self.buffer.push(0);
        // SAFETY: the callback and `user` are the host's, called as the header describes with a
        // NUL-terminated buffer that outlives the call.
        unsafe { (self.callback)(self.user, self.buffer.as_ptr().cast(), line.len()) }
    }
}

/// Starts the audit trail of `router`: from now on every policy change, update batch, decision,
/// attempt and outcome is queued as a record for `callback`, in a ring of `capacity` records
/// (1 to 65536; 1024 is a good start) allocated now. The first attach fixes the ring's size. The
/// first record is a checkpoint of the state and policy in force.
///
/// Records reach `callback` only inside `sos_router_audit_drain`, which the host calls from a
/// thread of its own: deciding never waits on the callback, never allocates for it, and never
/// serialises. When the ring is full, records are dropped and counted
/// (`sos_router_audit_dropped`). Replaces a callback attached before (the old one is not called
/// again). `SOS_ERR_INVALID_ARG` for a capacity out of range or different from the ring's;
/// nothing changes then.
///
/// # Safety
/// `router` is NULL or live; `callback` is NULL or a function as `sos_audit_fn` describes;
/// `user` is whatever `callback` expects, valid until the callback is replaced, detached or the
/// router freed.
#[no_mangle]
pub unsafe extern "C" fn sos_router_audit_attach(
    router: *const sos_router,
    callback: sos_audit_fn,
    user: *mut c_void,
    capacity: usize,
) -> sos_status {
    ffi_boundary!(nonnull(router) {
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let sink = CallbackSink {
            callback,
            user,
            buffer: Vec::new(),
        };
        self::router(router)
            .attach_audit(Box::new(sink), capacity)
            .map_err(|e: AuditError| Failure::invalid(e.to_string()))?;
        Ok(sos_status::SOS_OK)
    })
}

/// Stops the audit trail: the callback is not called again and its `user` pointer may be
/// freed once this returns. Records still queued are not delivered: drain first. A router with
/// no callback is left as it is.
///
/// # Safety
/// `router` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn sos_router_audit_detach(router: *const sos_router) -> sos_status {
    ffi_boundary!(nonnull(router) {
        drop(self::router(router).detach_audit());
        Ok(sos_status::SOS_OK)
    })
}

/// Hands every queued audit record to the callback, one call per record, on the calling
/// thread; `*written_out` (may be NULL) is how many. Records queued while it runs wait for the
/// next drain. Call it as often as the log should be fresh (a few times a second is plenty for a
/// handset; a PSAP with a ring of 1024 and a busy hour, more often). After dropped records it
/// delivers a `dropped` record, and, if a state record was among them, a new checkpoint, so
/// `sosroute audit replay` knows what it cannot re-derive. Drains of one router are serialised.
///
/// # Safety
/// `router` is NULL or live; `written_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_audit_drain(
    router: *const sos_router,
    written_out: *mut usize,
) -> sos_status {
    ffi_boundary!(nonnull(router) {
        let written = self::router(router).drain_audit();
        if !written_out.is_null() {
            *written_out = written;
        }
        Ok(sos_status::SOS_OK)
    })
}

/// How many audit records were dropped since the router was created because the ring was full
/// (drains did not keep up).
///
/// # Safety
/// `router` is NULL or live; `dropped_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_router_audit_dropped(
    router: *const sos_router,
    dropped_out: *mut u64,
) -> sos_status {
    ffi_boundary!(nonnull(router, dropped_out) {
        *dropped_out = self::router(router).audit_dropped();
        Ok(sos_status::SOS_OK)
    })
}
