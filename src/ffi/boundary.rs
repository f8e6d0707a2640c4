//! The panic and NULL boundary every export runs inside, the status enum, the per-thread error
//! message, and the few audited helpers that turn C pointers into Rust values.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::text::{cut, MAX_ERROR_LEN};

/// What a call came to. Every export that can fail returns one.
///
/// The values are part of the ABI: they are never renumbered and never reused. On any value other
/// than `SOS_OK`, `SOS_DONE` and `SOS_ERR_BUFFER_TOO_SMALL`, `sos_last_error` gives a message
/// naming the offending argument, at most 1024 bytes long (a longer one is cut on a UTF-8
/// boundary and ends in "… (cut)").
/// cbindgen:rename-all=None
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum sos_status {
    /// Success.
    SOS_OK = 0,
    /// Success, and the call session has nothing more to attempt (see `sos_call_next_attempt`).
    SOS_DONE = 1,
    /// A pointer argument that must not be NULL was NULL.
    SOS_ERR_NULL = 2,
    /// An argument no router could accept, whatever its policy and state: an integer that is
    /// not a value of its enum, a flag other than 0 or 1, a signal level other than 0..=4 or
    /// `SOS_SIGNAL_UNKNOWN` (5 and 256 alike), PSAP id 0 in an observation, a code above 65535,
    /// unknown flag bits, a `struct_size` too small, an index past the end, a length above its
    /// documented limit. A bug in the caller: retrying will not help.
    SOS_ERR_INVALID_ARG = 3,
    /// The dialled string is not an emergency number or `urn:service:sos` URN (a string that is
    /// not UTF-8 included), and the request does not carry `SOS_REQUEST_DIALER_EMERGENCY`.
    SOS_ERR_NOT_EMERGENCY = 4,
    /// A policy text was rejected, for anything in its content: not UTF-8, too large, a syntax
    /// error, a field out of range. The policy in force stays in force.
    SOS_ERR_POLICY = 5,
    /// An observation batch or outcome was rejected against the policy in force: a component
    /// or route id it does not declare (of any size: 65535 and 65536 alike), a fact its subject
    /// cannot have; any refusal of a wire-format batch. The state is as it was; the same update
    /// may be accepted under another policy.
    SOS_ERR_UPDATE = 6,
    /// The caller's buffer is too small; nothing was written to it, and the size needed
    /// (including the terminating NUL) was written to `needed`. This status (a size query with
    /// `NULL, 0` included) leaves `sos_last_error` as it was, so the failure before it can
    /// still be read.
    SOS_ERR_BUFFER_TOO_SMALL = 7,
    /// A call session was used out of order (an attempt still in flight, nothing to report).
    SOS_ERR_SESSION = 8,
    /// No such component or route under the policy in force (a name that is not UTF-8
    /// included: no policy declares one).
    SOS_ERR_NOT_FOUND = 9,
    /// The library panicked; the call had no effect and the handles stay usable.
    SOS_ERR_PANIC = 10,
}

impl sos_status {
    /// Every status, in value order.
    pub const ALL: [sos_status; 11] = [
        sos_status::SOS_OK,
        sos_status::SOS_DONE,
        sos_status::SOS_ERR_NULL,
        sos_status::SOS_ERR_INVALID_ARG,
        sos_status::SOS_ERR_NOT_EMERGENCY,
        sos_status::SOS_ERR_POLICY,
        sos_status::SOS_ERR_UPDATE,
        sos_status::SOS_ERR_BUFFER_TOO_SMALL,
        sos_status::SOS_ERR_SESSION,
        sos_status::SOS_ERR_NOT_FOUND,
        sos_status::SOS_ERR_PANIC,
    ];

    /// The status's name as a NUL-terminated static string.
    pub(crate) fn name_nul(self) -> &'static str {
        match self {
            sos_status::SOS_OK => "SOS_OK\0",
            sos_status::SOS_DONE => "SOS_DONE\0",
            sos_status::SOS_ERR_NULL => "SOS_ERR_NULL\0",
            sos_status::SOS_ERR_INVALID_ARG => "SOS_ERR_INVALID_ARG\0",
            sos_status::SOS_ERR_NOT_EMERGENCY => "SOS_ERR_NOT_EMERGENCY\0",
            sos_status::SOS_ERR_POLICY => "SOS_ERR_POLICY\0",
            sos_status::SOS_ERR_UPDATE => "SOS_ERR_UPDATE\0",
            sos_status::SOS_ERR_BUFFER_TOO_SMALL => "SOS_ERR_BUFFER_TOO_SMALL\0",
            sos_status::SOS_ERR_SESSION => "SOS_ERR_SESSION\0",
            sos_status::SOS_ERR_NOT_FOUND => "SOS_ERR_NOT_FOUND\0",
            sos_status::SOS_ERR_PANIC => "SOS_ERR_PANIC\0",
        }
    }
}

/// Why an export failed: the status for C and the message for `sos_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: sos_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: sos_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> Failure {
        Failure::new(
            sos_status::SOS_ERR_NULL,
            format!("argument `{argument}` is NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(sos_status::SOS_ERR_INVALID_ARG, message)
    }
}

/// What an export body returns: a success status (`SOS_OK`, `SOS_DONE`) or a failure.
pub(crate) type Outcome = Result<sos_status, Failure>;

thread_local! {
    /// The message of the last failure on this thread (errno style: a router is shared by many
    /// threads, so a per-router message would be overwritten by the neighbours).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Stores `message` as the thread's last error, cut to [`MAX_ERROR_LEN`] bytes: messages quote
/// input (a TOML line, a dialled string), and a 10 MB message helps no log and no C buffer.
pub(crate) fn set_last_error(message: &str) {
    let message = cut(message, MAX_ERROR_LEN);
    // `try_with`: during thread teardown the slot may be gone; the status still tells the caller.
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.clear();
            e.push_str(&message);
            // A once-huge message would otherwise keep its capacity for the thread's life.
            e.shrink_to(MAX_ERROR_LEN);
        }
    });
}

pub(crate) fn last_error() -> String {
    LAST_ERROR
        .try_with(|e| e.try_borrow().map(|e| e.clone()).unwrap_or_default())
        .unwrap_or_default()
}

/// Runs an export body: a panic becomes `SOS_ERR_PANIC`, a failure sets the thread's message.
/// Only `ffi_boundary!` calls it.
pub(crate) fn run(body: impl FnOnce() -> Outcome) -> sos_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(failure)) => {
            // A buffer too small is how a caller asks a text getter for the size (`NULL, 0`): it
            // must not replace the failure the caller is about to read with `sos_last_error`.
            if failure.status != sos_status::SOS_ERR_BUFFER_TOO_SMALL {
                set_last_error(&failure.message);
            }
            failure.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            set_last_error(&format!("sosroute panicked: {what}"));
            sos_status::SOS_ERR_PANIC
        }
    }
}

/// Runs an export that returns no status (`_free`, `sos_version`): a panic gives `fallback`.
/// Only `ffi_boundary!` calls it.
pub(crate) fn run_or<T>(body: impl FnOnce() -> T, fallback: T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The one boundary every export runs inside.
///
/// - `ffi_boundary!(nonnull(a, b) { body })`: returns `a` or `b` as `SOS_ERR_NULL` if NULL, then
///   runs `body` (an [`Outcome`]) under `catch_unwind`.
/// - `ffi_boundary!(or(fallback) { body })`: for exports without a status; a panic yields
///   `fallback`.
macro_rules! ffi_boundary {
    (nonnull($($p:ident),*) $body:block) => {
        $crate::ffi::boundary::run(|| {
            $(
                if $p.is_null() {
                    return Err($crate::ffi::boundary::Failure::null(stringify!($p)));
                }
            )*
            $body
        })
    };
    (or($fallback:expr) $body:block) => {
        $crate::ffi::boundary::run_or(|| $body, $fallback)
    };
}

/// Checks the `struct_size` a caller put first in a struct it hands over (or will receive):
/// smaller than this library's struct is an error, larger is a newer caller and fine.
///
/// # Safety
/// `ptr` is non-NULL and points to at least 4 readable bytes.
pub(crate) unsafe fn check_struct_size<T>(ptr: *const T, name: &str) -> Result<(), Failure> {
    let size = std::ptr::read(ptr.cast::<u32>());
    let want = std::mem::size_of::<T>();
    if (size as usize) < want {
        return Err(Failure::invalid(format!(
            "`{name}->struct_size` = {size} is smaller than this library's {want}; \
             set it to sizeof(*{name})"
        )));
    }
    Ok(())
}

/// Reads a struct the caller handed over, after checking its `struct_size`.
///
/// # Safety
/// `ptr` is non-NULL, aligned, and points to a caller struct of at least `struct_size` bytes.
pub(crate) unsafe fn read_struct<T: Copy>(ptr: *const T, name: &str) -> Result<T, Failure> {
    check_struct_size(ptr, name)?;
    Ok(std::ptr::read(ptr))
}

/// Writes `value` to a caller's out-struct whose `struct_size` was checked, keeping the caller's
/// `struct_size`.
///
/// # Safety
/// `out` passed [`check_struct_size`] and is writable for `size_of::<T>()` bytes.
pub(crate) unsafe fn write_struct<T>(out: *mut T, value: T) {
    let size = std::ptr::read(out.cast::<u32>());
    std::ptr::write(out, value);
    std::ptr::write(out.cast::<u32>(), size);
}

/// Borrows `len` bytes at `ptr`; `name` names them in the error.
///
/// # Safety
/// `ptr` is non-NULL and points to `len` readable bytes that stay put during the call.
#[inline(always)]
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "`{name}_len` = {len} is too large"
        )));
    }
    Ok(std::slice::from_raw_parts(ptr.cast::<u8>(), len))
}

/// `bytes` read as UTF-8 text; `name` names them in the error.
pub(crate) fn utf8<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| Failure::invalid(format!("`{name}` is not UTF-8: {e}")))
}

/// Borrows `len` bytes at `ptr` as UTF-8 text.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    utf8(bytes(ptr, len, name)?, name)
}

/// The NULL check of a text getter's buffer, done before anything else is looked at: `buf` may be
/// NULL only with `len` 0 (a size query).
pub(crate) fn check_buf(buf: *mut c_char, len: usize) -> Result<(), Failure> {
    if buf.is_null() && len != 0 {
        return Err(Failure::null("buf"));
    }
    Ok(())
}

/// Copies `value` and a terminating NUL into the caller's buffer, or reports the size needed.
/// `*needed` is set in both cases (the one out-parameter also written on failure).
///
/// # Safety
/// `needed` is non-NULL and writable; `buf` is NULL (then `len` must be 0) or writable for `len`
/// bytes.
pub(crate) unsafe fn copy_text(
    value: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Outcome {
    check_buf(buf, len)?;
    let want = value.len() + 1;
    *needed = want;
    if len < want {
        // No message: this status leaves the thread's last error as it was (see `run`).
        return Err(Failure::new(
            sos_status::SOS_ERR_BUFFER_TOO_SMALL,
            String::new(),
        ));
    }
    std::ptr::copy_nonoverlapping(value.as_ptr(), buf.cast::<u8>(), value.len());
    *buf.add(value.len()) = 0;
    Ok(sos_status::SOS_OK)
}
