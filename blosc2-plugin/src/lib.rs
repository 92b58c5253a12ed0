//! `libblosc2_btune.so`: btune-rs as c-blosc2's tuner 32 (`BLOSC_BTUNE`), a
//! drop-in for BTune's plugin.
//!
//! c-blosc2 loads it when a context asks for tuner 32 (python-blosc2:
//! `CParams(tuner=blosc2.Tuner.BTUNE)`, or `BTUNE_TRADEOFF` in the
//! environment with a super-chunk; C: `cparams.tuner_id = BLOSC_BTUNE`),
//! finds the five functions named by [`info`], and calls them around every
//! chunk it compresses. Each compression context gets its own
//! [`btune_core::Tuner`], configured from the `BTUNE_*` environment
//! (`BTUNE_TRADEOFF`, `BTUNE_PERF_MODE`, `BTUNE_TRACE`, ...).
//!
//! c-blosc2 offers tuners no setter: the plugin writes the chosen parameters
//! into the host's private context, whose layout depends on its version.
//! The plugin finds the calling c-blosc2, reads its version, and cross-checks
//! the context with a fingerprint ([`layout`](crate)); with an unsupported
//! version or an unexpected context, `init` prints one line on stderr and
//! fails, so context creation fails instead of corrupting memory.
//!
//! Every entry point runs inside one guard: errors and panics become -1
//! and a line on stderr, never an unwind into C.

pub mod capi;
mod ctx;
mod host;
mod layout;
mod state;

use std::ffi::{CStr, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ctx::RawCtx;
use state::State;

/// c-blosc2's `tuner_info`: the names of the five tuner functions.
#[repr(C)]
pub struct TunerInfo {
    /// `int init(void *tuner_params, blosc2_context *cctx, blosc2_context *dctx)`.
    pub init: *const c_char,
    /// `int next_blocksize(blosc2_context *ctx)`.
    pub next_blocksize: *const c_char,
    /// `int next_cparams(blosc2_context *ctx)`.
    pub next_cparams: *const c_char,
    /// `int update(blosc2_context *ctx, double ctime)`.
    pub update: *const c_char,
    /// `int free(blosc2_context *ctx)`.
    pub free: *const c_char,
}

// SAFETY: pointers to immutable static strings only.
unsafe impl Sync for TunerInfo {}

/// The symbol c-blosc2 looks up (`dlsym(lib, "info")`).
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static info: TunerInfo = TunerInfo {
    init: c"blosc2_btune_init".as_ptr(),
    next_blocksize: c"blosc2_btune_next_blocksize".as_ptr(),
    next_cparams: c"blosc2_btune_next_cparams".as_ptr(),
    update: c"blosc2_btune_update".as_ptr(),
    free: c"blosc2_btune_free".as_ptr(),
};

/// Runs `f`; an error or a panic becomes -1 and one line on stderr.
fn guard(func: &'static CStr, f: impl FnOnce() -> Result<c_int, String>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            eprintln!("blosc2_btune: {}: {e}", func.to_string_lossy());
            -1
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!(
                "blosc2_btune: {}: internal error: {what}",
                func.to_string_lossy()
            );
            -1
        }
    }
}

/// Creates the tuner of a new compression context.
///
/// # Safety
/// `cctx` must be null or a compression context being created by a
/// c-blosc2 host (which is what c-blosc2 passes); `tuner_params` NULL or a
/// `btune_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blosc2_btune_init(
    tuner_params: *mut c_void,
    cctx: *mut c_void,
    _dctx: *mut c_void,
) -> c_int {
    guard(c"init", || {
        // SAFETY: forwarded from this function's contract.
        let ctx = unsafe { RawCtx::new(cctx) }.ok_or("no compression context")?;
        let (version, object) = host::host_version().map_err(|e| refusal(&e))?;
        let layout = layout::detect(&version, &ctx.snapshot())
            .map_err(|e| refusal(&format!("{e} ({object})")))?;
        // SAFETY: c-blosc2 passes the caller's cparams.tuner_params: NULL
        // or, for C programs using blosc2_btune.h, a btune_config.
        let base = unsafe { ctx::user_config(tuner_params) }?.unwrap_or_default();
        let state = State::new(&ctx, layout, capi::with_env(base))?;
        ctx.attach(Box::new(state));
        Ok(0)
    })
}

fn refusal(why: &str) -> String {
    format!("refusing to tune: {why}; supported: {}", layout::SUPPORTED)
}

/// Called by c-blosc2 only for contexts without tuner state; leaves the
/// blocksize to c-blosc2.
///
/// # Safety
/// As [`blosc2_btune_init`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blosc2_btune_next_blocksize(_ctx: *mut c_void) -> c_int {
    guard(c"next_blocksize", || Ok(0))
}

/// Writes the parameters of the chunk about to be compressed.
///
/// # Safety
/// `ctx` must be null or a compression context that
/// [`blosc2_btune_init`] accepted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blosc2_btune_next_cparams(ctx: *mut c_void) -> c_int {
    guard(c"next_cparams", || {
        // SAFETY: forwarded from this function's contract.
        let ctx = unsafe { RawCtx::new(ctx) }.ok_or("no compression context")?;
        let state = ctx.state().ok_or("the context has no btune state")?;
        state.next_cparams(&ctx);
        Ok(0)
    })
}

/// Learns from the chunk just compressed in `ctime` seconds.
///
/// # Safety
/// As [`blosc2_btune_next_cparams`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blosc2_btune_update(ctx: *mut c_void, ctime: f64) -> c_int {
    guard(c"update", || {
        // SAFETY: forwarded from this function's contract.
        let ctx = unsafe { RawCtx::new(ctx) }.ok_or("no compression context")?;
        let state = ctx.state().ok_or("the context has no btune state")?;
        state.update(&ctx, ctime);
        Ok(0)
    })
}

/// Frees the tuner of a context.
///
/// # Safety
/// As [`blosc2_btune_next_cparams`]; the host does not use the state after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn blosc2_btune_free(ctx: *mut c_void) -> c_int {
    guard(c"free", || {
        // SAFETY: forwarded from this function's contract.
        let ctx = unsafe { RawCtx::new(ctx) }.ok_or("no compression context")?;
        drop(ctx.detach());
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_names_the_exported_functions() {
        // SAFETY: the fields point to static C strings.
        let names: Vec<&str> = unsafe {
            [
                info.init,
                info.next_blocksize,
                info.next_cparams,
                info.update,
                info.free,
            ]
            .map(|p| CStr::from_ptr(p).to_str().unwrap())
            .to_vec()
        };
        assert_eq!(
            names,
            [
                "blosc2_btune_init",
                "blosc2_btune_next_blocksize",
                "blosc2_btune_next_cparams",
                "blosc2_btune_update",
                "blosc2_btune_free"
            ]
        );
    }

    #[test]
    fn null_contexts_and_panics_give_minus_one() {
        // SAFETY: null pointers are refused before any access.
        unsafe {
            assert_eq!(
                blosc2_btune_init(
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut()
                ),
                -1
            );
            assert_eq!(blosc2_btune_next_cparams(std::ptr::null_mut()), -1);
            assert_eq!(blosc2_btune_update(std::ptr::null_mut(), 0.1), -1);
            assert_eq!(blosc2_btune_free(std::ptr::null_mut()), -1);
        }
        assert_eq!(guard(c"test", || panic!("boom")), -1);
    }

    #[test]
    fn init_refuses_a_context_from_a_host_that_is_not_c_blosc2() {
        // The test binary links btune-core's c-blosc2 with hidden symbols and
        // no version date next to its version string, or an unexpected
        // one: whichever way, a forged context from this "host" must be
        // refused without being written to.
        let mut forged = layout::tests::forged_context(layout::Layout::B);
        let before = forged.clone();
        // SAFETY: the buffer is a context-sized allocation.
        let rc = unsafe {
            blosc2_btune_init(
                std::ptr::null_mut(),
                forged.as_mut_ptr().cast(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, -1);
        assert_eq!(forged, before);
    }
}
