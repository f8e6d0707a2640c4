//! The stable C ABI: `include/sosroute.h` is generated from this module by cbindgen.
//!
//! House rules (rustls-ffi is the model): opaque handles with `_new` / `_free` pairs (NULL is a
//! no-op to free); every export returns a [`sos_status`] and runs inside one `ffi_boundary!`
//! (`catch_unwind` and NULL checks), so a panic becomes `SOS_ERR_PANIC` and never unwinds into C;
//! out-parameters are written only on success (the one exception is the `needed` size of a text
//! getter, also written with `SOS_ERR_BUFFER_TOO_SMALL`); integers that mean an enum are
//! validated, never transmuted; every struct that crosses starts with `struct_size`.
//!
//! Errors: a failing call returns its status, and [`sos_last_error`] gives the calling thread the
//! message of its last failure (errno style, because a router is shared by many threads).
//!
//! This module and the crate's core never meet halfway: nothing outside `ffi` knows it exists.

#[macro_use]
mod boundary;
mod audit;
mod call;
mod convert;
mod plan;
mod router;
mod types;

use std::ffi::c_char;

pub use audit::*;
pub use boundary::sos_status;
pub use call::*;
pub use plan::*;
pub use router::*;
pub use types::*;

/// Major version of the library; a change means the ABI broke.
pub const SOSROUTE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library: additions only.
pub const SOSROUTE_VERSION_MINOR: u32 = 1;
/// Patch version of the library: fixes only.
pub const SOSROUTE_VERSION_PATCH: u32 = 0;
/// Version of the C ABI this header describes: raised on any change a C caller compiled against
/// an older header could notice. Compare with `sos_abi_version()` at start-up.
///
/// 2: one status per kind of fault (see `sos_status`): a signal level off the scale and PSAP 0
/// are `SOS_ERR_INVALID_ARG` at any value, an undeclared component id `SOS_ERR_UPDATE` at any
/// value, a dialled string or component name that is not UTF-8 `SOS_ERR_NOT_EMERGENCY` /
/// `SOS_ERR_NOT_FOUND`; `SOS_ERR_BUFFER_TOO_SMALL` leaves `sos_last_error` as it was.
pub const SOSROUTE_ABI_VERSION: u32 = 2;

/// The library version, `MAJOR.MINOR.PATCH`, as a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn sos_version() -> *const c_char {
    ffi_boundary!(or(std::ptr::null()) {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast::<c_char>()
    })
}

/// The ABI version of the library actually linked; equal to `SOSROUTE_ABI_VERSION` of the header
/// it was built with.
#[no_mangle]
pub extern "C" fn sos_abi_version() -> u32 {
    ffi_boundary!(or(SOSROUTE_ABI_VERSION) { SOSROUTE_ABI_VERSION })
}

/// The name of a status (`"SOS_ERR_NULL"`) as a static NUL-terminated string;
/// `"SOS_UNKNOWN_STATUS"` for a value that is none.
#[no_mangle]
pub extern "C" fn sos_status_name(status: u32) -> *const c_char {
    ffi_boundary!(or(std::ptr::null()) {
        sos_status::ALL
            .iter()
            .find(|s| **s as u32 == status)
            .map_or("SOS_UNKNOWN_STATUS\0", |s| s.name_nul())
            .as_ptr()
            .cast::<c_char>()
    })
}

/// Copies the message of the calling thread's last failure into `buf` (see `sos_plan_explain`
/// for the buffer contract): the argument or field at fault and why. Empty before any failure.
/// It is not cleared by later successes, nor replaced by `SOS_ERR_BUFFER_TOO_SMALL` from any
/// text getter (so a size query never loses the error being logged), and this call does not
/// change it. At most 1024 bytes plus the NUL: a longer message is cut on a UTF-8 boundary and
/// ends in "… (cut)".
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `needed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sos_last_error(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> sos_status {
    // The `or` form: the failure path of the `nonnull` form would overwrite the message read.
    ffi_boundary!(or(sos_status::SOS_ERR_PANIC) {
        if needed.is_null() {
            return sos_status::SOS_ERR_NULL;
        }
        let message = boundary::last_error();
        match boundary::copy_text(&message, buf, len, needed) {
            Ok(s) => s,
            Err(f) => f.status,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo_toml() {
        let v = |s: &str| s.parse::<u32>().expect("Cargo versions are numbers");
        assert_eq!(SOSROUTE_VERSION_MAJOR, v(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(SOSROUTE_VERSION_MINOR, v(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(SOSROUTE_VERSION_PATCH, v(env!("CARGO_PKG_VERSION_PATCH")));
        // SAFETY: sos_version returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(sos_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(sos_abi_version(), SOSROUTE_ABI_VERSION);
    }

    #[test]
    fn status_values_are_stable() {
        for (i, s) in sos_status::ALL.iter().enumerate() {
            assert_eq!(*s as u32, i as u32);
            // SAFETY: static NUL-terminated strings.
            let name = unsafe { std::ffi::CStr::from_ptr(sos_status_name(i as u32)) };
            assert_eq!(name.to_str().unwrap(), format!("{s:?}"));
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(sos_status_name(999)) };
        assert_eq!(unknown.to_str().unwrap(), "SOS_UNKNOWN_STATUS");
    }

    fn last_error() -> String {
        let mut buf = [0 as c_char; 512];
        let mut needed = 0usize;
        // SAFETY: buf and needed are valid for the call.
        let s = unsafe { sos_last_error(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(s, sos_status::SOS_OK);
        // SAFETY: sos_last_error wrote a NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// A panic inside an export becomes `SOS_ERR_PANIC`, never unwinds, and leaves the router
    /// usable (its locks do not poison).
    #[test]
    fn a_panic_becomes_a_status_and_the_router_stays_usable() {
        let mut r: *mut sos_router = std::ptr::null_mut();
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { sos_router_new(&mut r) }, sos_status::SOS_OK);
        let router_ptr = r;
        let status = ffi_boundary!(nonnull(router_ptr) {
            // SAFETY: a live handle.
            let router = unsafe { router::router(router_ptr) };
            // Panic while holding the router's internals (a policy reference) mid-call.
            let _policy = router.policy();
            panic!("deliberate test panic");
        });
        assert_eq!(status, sos_status::SOS_ERR_PANIC);
        assert!(last_error().contains("deliberate test panic"));
        let mut version = 0;
        // SAFETY: a live handle and a valid out-pointer.
        assert_eq!(
            unsafe { sos_router_policy_version(r, &mut version) },
            sos_status::SOS_OK
        );
        assert_eq!(version, 1);
        let mut name = [0 as c_char; 64];
        let mut needed = 0;
        // SAFETY: as above.
        assert_eq!(
            unsafe { sos_router_route_name(r, 1, name.as_mut_ptr(), name.len(), &mut needed) },
            sos_status::SOS_OK
        );
        // SAFETY: a live handle, freed once.
        unsafe { sos_router_free(r) };
    }

    #[test]
    fn null_arguments_are_named() {
        // SAFETY: NULL is what is being tested.
        let s = unsafe { sos_router_new(std::ptr::null_mut()) };
        assert_eq!(s, sos_status::SOS_ERR_NULL);
        assert_eq!(last_error(), "argument `router_out` is NULL");
    }
}
