//! The HDF5 functions the filter calls, resolved at run time.
//!
//! The plugin links no libhdf5: inside h5py the library is a private copy
//! loaded without global symbols, elsewhere it is the system's. Symbols are
//! looked up in the global namespace first, then in whichever loaded
//! `libhdf5*` object has them (found with `dl_iterate_phdr`, opened with
//! `RTLD_NOLOAD` so no second copy is ever loaded).

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libc::RTLD_NOLOAD;
use libloading::os::unix::{Library, RTLD_LAZY};

/// HDF5's `hid_t` (64-bit since 1.10).
pub(crate) type Hid = i64;
/// HDF5's `herr_t`.
pub(crate) type Herr = c_int;

/// `H5E_DEFAULT`: the thread's default error stack.
pub(crate) const H5E_DEFAULT: Hid = 0;
/// `H5T_ARRAY` in `H5T_class_t`.
pub(crate) const H5T_ARRAY: c_int = 10;
/// `H5Z_FLAG_REVERSE`: the filter is decompressing.
pub(crate) const H5Z_FLAG_REVERSE: c_uint = 0x0100;

type GetFilter = unsafe extern "C" fn(
    Hid,
    c_uint,
    *mut c_uint,
    *mut usize,
    *mut c_uint,
    usize,
    *mut c_char,
    *mut c_uint,
) -> c_int;
type GetFilterById = unsafe extern "C" fn(
    Hid,
    c_int,
    *mut c_uint,
    *mut usize,
    *mut c_uint,
    usize,
    *mut c_char,
    *mut c_uint,
) -> Herr;
type Epush2 = unsafe extern "C" fn(
    Hid,
    *const c_char,
    *const c_char,
    c_uint,
    Hid,
    Hid,
    Hid,
    *const c_char,
    ...
) -> Herr;

/// The resolved functions and error-class ids.
pub(crate) struct H5Api {
    pub(crate) pget_chunk: unsafe extern "C" fn(Hid, c_int, *mut u64) -> c_int,
    pub(crate) pget_nfilters: unsafe extern "C" fn(Hid) -> c_int,
    pub(crate) pget_filter2: GetFilter,
    pub(crate) pget_filter_by_id2: GetFilterById,
    pub(crate) pmodify_filter:
        unsafe extern "C" fn(Hid, c_int, c_uint, usize, *const c_uint) -> Herr,
    pub(crate) tget_size: unsafe extern "C" fn(Hid) -> usize,
    pub(crate) tget_class: unsafe extern "C" fn(Hid) -> c_int,
    pub(crate) tget_super: unsafe extern "C" fn(Hid) -> Hid,
    pub(crate) tclose: unsafe extern "C" fn(Hid) -> Herr,
    pub(crate) zregister: unsafe extern "C" fn(*const c_void) -> Herr,
    pub(crate) epush2: Epush2,
    err_cls: *const Hid,
    maj_pline: *const Hid,
    min_callback: *const Hid,
    /// Keeps the library's handle (a reference count, never a new copy).
    _lib: Library,
}

// SAFETY: the table holds function pointers and addresses of HDF5's global
// id variables; HDF5 serialises its own state.
unsafe impl Send for H5Api {}
// SAFETY: as above; the table is never mutated after creation.
unsafe impl Sync for H5Api {}

impl H5Api {
    /// HDF5's error class, major (pipeline) and minor (callback) ids.
    pub(crate) fn error_ids(&self) -> (Hid, Hid, Hid) {
        // SAFETY: the addresses are HDF5's global id variables, valid while
        // the library is loaded (the handle keeps it loaded).
        unsafe { (*self.err_cls, *self.maj_pline, *self.min_callback) }
    }
}

/// The table, resolved once.
///
/// # Errors
/// A message naming the symbol that no loaded libhdf5 provides.
pub(crate) fn api() -> Result<&'static H5Api, String> {
    static API: OnceLock<Result<H5Api, String>> = OnceLock::new();
    API.get_or_init(resolve).as_ref().map_err(Clone::clone)
}

fn resolve() -> Result<H5Api, String> {
    let this = Library::this();
    // SAFETY: only the symbol's presence is checked here.
    let global = unsafe { this.get::<*const c_void>(b"H5Pget_chunk\0") }.is_ok();
    let lib = if global {
        this
    } else {
        let path =
            loaded_libhdf5().ok_or("no libhdf5 with H5Pget_chunk is loaded in this process")?;
        // SAFETY: RTLD_NOLOAD only takes another reference to a library
        // that is already loaded and initialised.
        unsafe { Library::open(Some(&path), RTLD_LAZY | RTLD_NOLOAD) }
            .map_err(|e| format!("cannot reopen {}: {e}", path.to_string_lossy()))?
    };
    // SAFETY (all lookups): the types match the HDF5 1.10-2.x prototypes.
    unsafe {
        Ok(H5Api {
            pget_chunk: sym(&lib, "H5Pget_chunk")?,
            pget_nfilters: sym(&lib, "H5Pget_nfilters")?,
            pget_filter2: sym(&lib, "H5Pget_filter2")?,
            pget_filter_by_id2: sym(&lib, "H5Pget_filter_by_id2")?,
            pmodify_filter: sym(&lib, "H5Pmodify_filter")?,
            tget_size: sym(&lib, "H5Tget_size")?,
            tget_class: sym(&lib, "H5Tget_class")?,
            tget_super: sym(&lib, "H5Tget_super")?,
            tclose: sym(&lib, "H5Tclose")?,
            zregister: sym(&lib, "H5Zregister")?,
            epush2: sym(&lib, "H5Epush2")?,
            err_cls: sym(&lib, "H5E_ERR_CLS_g")?,
            maj_pline: sym(&lib, "H5E_PLINE_g")?,
            min_callback: sym(&lib, "H5E_CALLBACK_g")?,
            _lib: lib,
        })
    }
}

/// Looks `name` up in `lib`.
///
/// # Safety
/// `T` must be the symbol's real type (a function pointer or a pointer to
/// the variable).
unsafe fn sym<T: Copy>(lib: &Library, name: &str) -> Result<T, String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: forwarded to the caller.
    unsafe { lib.get::<T>(c.as_bytes_with_nul()) }
        .map(|s| *s)
        .map_err(|e| format!("libhdf5 lacks {name}: {e}"))
}

/// The path of a loaded shared object named `libhdf5*` (not the high-level
/// `_hl` library) that exports `H5Pget_chunk`.
fn loaded_libhdf5() -> Option<OsString> {
    let mut paths: Vec<CString> = Vec::new();
    unsafe extern "C" fn collect(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info; data is our Vec.
        unsafe {
            let paths = &mut *data.cast::<Vec<CString>>();
            let name = (*info).dlpi_name;
            if !name.is_null() {
                paths.push(CStr::from_ptr(name).to_owned());
            }
        }
        0
    }
    // SAFETY: the callback only reads the entries and pushes copies.
    unsafe { libc::dl_iterate_phdr(Some(collect), (&raw mut paths).cast()) };
    paths
        .into_iter()
        .map(|p| OsString::from_vec(p.into_bytes()))
        .find(|p| {
            let bytes = p.as_encoded_bytes();
            let file = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
            file.starts_with(b"libhdf5")
                && !file.windows(3).any(|w| w == b"_hl")
                // SAFETY: RTLD_NOLOAD never loads anything new; only the
                // symbol's presence is checked.
                && unsafe { Library::open(Some(p), RTLD_LAZY | RTLD_NOLOAD) }
                    .is_ok_and(|l| unsafe { l.get::<*const c_void>(b"H5Pget_chunk\0") }.is_ok())
        })
}
