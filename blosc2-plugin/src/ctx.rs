//! Reads and writes of the host's private `blosc2_context` (one of the two
//! modules with `unsafe`, with `host`). Offsets come from [`Layout`]; nothing
//! is written before the layout has been detected and cross-checked.

use std::collections::HashSet;
use std::ffi::c_void;
use std::ptr;

use parking_lot::Mutex;

use crate::capi::{BTUNE_CONFIG_MAGIC, BtuneConfig};
use crate::layout::{Layout, Offsets, SNAPSHOT_BYTES};
use crate::state::State;

/// The tuner states alive in this process (addresses of leaked boxes): a
/// pointer read from a context is used only if it is one of them.
static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

/// The configuration a C program passed as `cparams.tuner_params`
/// (`None` for NULL, as python-blosc2 always passes).
///
/// # Safety
/// `p` must be NULL or point to a `btune_config` (or at least 4 readable
/// bytes: anything without [`BTUNE_CONFIG_MAGIC`] is refused unread).
///
/// # Errors
/// A message if `p` is not a `btune_config` or holds invalid values.
pub(crate) unsafe fn user_config(p: *const c_void) -> Result<Option<btune_core::Config>, String> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller guarantees 4 readable bytes.
    let magic = unsafe { ptr::read_unaligned(p.cast::<u32>()) };
    if magic != BTUNE_CONFIG_MAGIC {
        return Err(
            "cparams.tuner_params is not a btune_config made from BTUNE_CONFIG_DEFAULTS (blosc2_btune.h)"
                .into(),
        );
    }
    // SAFETY: the magic says it is a btune_config.
    let c = unsafe { ptr::read_unaligned(p.cast::<BtuneConfig>()) };
    let models_dir = if c.models_dir.is_null() {
        None
    } else {
        // SAFETY: a non-NULL models_dir is a NUL-terminated path.
        let s = unsafe { std::ffi::CStr::from_ptr(c.models_dir) };
        Some(std::path::PathBuf::from(
            std::ffi::OsStr::new(&*s.to_string_lossy()).to_owned(),
        ))
    };
    c.to_config(models_dir).map(Some)
}

/// What `next_cparams` writes into a context for the current chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) compcode: i32,
    pub(crate) clevel: i32,
    pub(crate) filters: [u8; 6],
    pub(crate) filters_meta: [u8; 6],
    pub(crate) filter_flags: u8,
    pub(crate) splitmode: i32,
    pub(crate) blocksize: i32,
    pub(crate) new_nthreads: i16,
}

/// A host's compression context.
pub(crate) struct RawCtx(*mut u8);

impl RawCtx {
    /// Wraps a context pointer; `None` if it is null.
    ///
    /// # Safety
    /// `ctx` must be null or point to a live `blosc2_context` of a supported
    /// c-blosc2 (at least [`SNAPSHOT_BYTES`] long), which the calling host
    /// does not use concurrently during this call.
    pub(crate) unsafe fn new(ctx: *mut c_void) -> Option<RawCtx> {
        (!ctx.is_null()).then(|| RawCtx(ctx.cast()))
    }

    fn read<T: Copy>(&self, off: usize) -> T {
        debug_assert!(off + size_of::<T>() <= SNAPSHOT_BYTES);
        // SAFETY: `new`'s contract: off + size_of::<T>() stays within the
        // context (every offset used is below SNAPSHOT_BYTES).
        unsafe { ptr::read_unaligned(self.0.add(off).cast::<T>()) }
    }

    fn write<T: Copy>(&self, off: usize, value: T) {
        debug_assert!(off + size_of::<T>() <= SNAPSHOT_BYTES);
        // SAFETY: as in `read`; the host does not touch the context while
        // it runs the tuner.
        unsafe { ptr::write_unaligned(self.0.add(off).cast::<T>(), value) }
    }

    /// A copy of the context's first [`SNAPSHOT_BYTES`] bytes.
    pub(crate) fn snapshot(&self) -> Vec<u8> {
        // SAFETY: `new`'s contract: the context is at least that long.
        unsafe { std::slice::from_raw_parts(self.0, SNAPSHOT_BYTES) }.to_vec()
    }

    pub(crate) fn typesize(&self, o: &Offsets) -> i32 {
        self.read(o.typesize)
    }

    pub(crate) fn blocksize(&self, o: &Offsets) -> i32 {
        self.read(o.blocksize)
    }

    pub(crate) fn nthreads(&self, o: &Offsets) -> i16 {
        self.read(o.nthreads)
    }

    /// The uncompressed size of the current chunk.
    pub(crate) fn sourcesize(&self, o: &Offsets) -> i32 {
        self.read(o.sourcesize)
    }

    /// The compressed size after compression (set before `update`).
    pub(crate) fn destsize(&self, o: &Offsets) -> i32 {
        self.read(o.destsize)
    }

    /// The current chunk's bytes; `None` when the host gives no source
    /// (special chunks call the tuner with `src == NULL`).
    pub(crate) fn chunk(&self, o: &Offsets) -> Option<&[u8]> {
        let src: *const u8 = self.read(o.src);
        let len = usize::try_from(self.sourcesize(o)).ok()?;
        if src.is_null() || len == 0 {
            return None;
        }
        // SAFETY: c-blosc2 sets src/sourcesize to the caller's input buffer
        // for the compression that runs the tuner; it outlives this call.
        Some(unsafe { std::slice::from_raw_parts(src, len) })
    }

    /// Writes the parameters for the current chunk.
    pub(crate) fn write_params(&self, layout: Layout, w: &Written) {
        let o = layout.offsets();
        self.write(o.compcode, w.compcode);
        self.write(o.compcode_meta, 0u8);
        self.write(o.clevel, w.clevel);
        self.write(o.filters, w.filters);
        self.write(o.filters_meta, w.filters_meta);
        self.write(o.filter_flags, w.filter_flags);
        self.write(o.splitmode, w.splitmode);
        self.write(o.blocksize, w.blocksize);
        if let Some(h) = o.header_blocksize {
            self.write(h, w.blocksize);
        }
        self.write(o.new_nthreads, w.new_nthreads.max(1));
    }

    /// Stores `state` in the context's `tuner_params` and registers it.
    pub(crate) fn attach(&self, state: Box<State>) {
        let layout = state.layout;
        let p = Box::into_raw(state);
        LIVE.lock()
            .get_or_insert_with(HashSet::new)
            .insert(p as usize);
        self.write(layout.offsets().tuner_params, p.cast::<c_void>());
    }

    /// The state stored by `attach`, found under the layout it was made for.
    pub(crate) fn state(&self) -> Option<&State> {
        let live = LIVE.lock();
        let live = live.as_ref()?;
        Layout::ALL.into_iter().find_map(|layout| {
            let p: *const State = self.read(layout.offsets().tuner_params);
            if !live.contains(&(p as usize)) {
                return None;
            }
            // SAFETY: p is a live box made by `attach`, freed only by
            // `detach` (the host's free, after its last use of the context).
            let s = unsafe { &*p };
            (s.layout == layout).then_some(s)
        })
    }

    /// Takes the state back (the host is freeing the context).
    pub(crate) fn detach(&self) -> Option<Box<State>> {
        let p = ptr::from_ref(self.state()?).cast_mut();
        let mut live = LIVE.lock();
        let set = live.as_mut()?;
        if !set.remove(&(p as usize)) {
            return None;
        }
        drop(live);
        // SAFETY: p came from Box::into_raw in `attach` and was just
        // unregistered, so it is turned back into a box exactly once.
        let state = unsafe { Box::from_raw(p) };
        self.write(
            state.layout.offsets().tuner_params,
            ptr::null_mut::<c_void>(),
        );
        Some(state)
    }
}
