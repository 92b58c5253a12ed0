//! Which c-blosc2 called the tuner, and its version (one of the two modules
//! with `unsafe`, with `ctx`).
//!
//! The caller is the first stack frame outside this library (`backtrace` +
//! `dladdr`): the object holding `blosc2_create_cctx`, a shared `libblosc2`
//! or a Python extension (`blosc2_ext*.so`) that links c-blosc2 statically
//! with hidden symbols. Its version comes from `blosc2_get_version_string`
//! when the object exports it, else from the version string the compiler
//! placed before the version date in its read-only data
//! (`"X.Y.Z\0$Date:: ..."`). Two c-blosc2 copies can live in one process, so
//! the answer is per calling object (cached by its load address).

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;

use libc::RTLD_NOLOAD;
use libloading::os::unix::{Library, RTLD_LAZY};
use parking_lot::Mutex;

use crate::layout::version_strings;

unsafe extern "C" {
    /// glibc's `backtrace` (execinfo.h).
    fn backtrace(buffer: *mut *mut c_void, size: c_int) -> c_int;
}

/// The object containing `addr`: its load address and path.
fn object_of(addr: usize) -> Option<(usize, Vec<u8>)> {
    // SAFETY: Dl_info is plain data; dladdr only fills it.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr accepts any address and reports failure with 0.
    if unsafe { libc::dladdr(addr as *const c_void, &raw mut info) } == 0
        || info.dli_fbase.is_null()
    {
        return None;
    }
    let path = if info.dli_fname.is_null() {
        Vec::new()
    } else {
        // SAFETY: dladdr returns a NUL-terminated path owned by the loader.
        unsafe { CStr::from_ptr(info.dli_fname) }
            .to_bytes()
            .to_vec()
    };
    Some((info.dli_fbase as usize, path))
}

/// The calling c-blosc2 object: the first frame outside this library.
/// Returns its load address, path and an address inside it.
fn caller() -> Option<(usize, Vec<u8>, usize)> {
    let own = object_of(caller as fn() -> _ as usize)?.0;
    let mut frames = [std::ptr::null_mut::<c_void>(); 64];
    // SAFETY: the buffer holds 64 entries.
    let n = unsafe { backtrace(frames.as_mut_ptr(), 64) };
    let n = usize::try_from(n).unwrap_or(0).min(frames.len());
    frames[..n].iter().find_map(|&ip| {
        // A return address may point just past its call: look one byte back.
        let ip = (ip as usize).checked_sub(1)?;
        let (base, path) = object_of(ip)?;
        (base != own).then_some((base, path, ip))
    })
}

/// The version of the c-blosc2 that called the tuner, with the path of its
/// object, or why it cannot be told.
pub(crate) fn host_version() -> Result<(String, String), String> {
    static CACHE: Mutex<Option<HashMap<usize, Result<String, String>>>> = Mutex::new(None);
    let (base, path, ip) = caller().ok_or("cannot locate the c-blosc2 library that called it")?;
    let shown = String::from_utf8_lossy(&path).into_owned();
    let mut cache = CACHE.lock();
    let cache = cache.get_or_insert_with(HashMap::new);
    let version = cache
        .entry(base)
        .or_insert_with(|| version_of(base, &path, ip))
        .clone();
    version.map(|v| (v, shown))
}

fn version_of(base: usize, path: &[u8], ip: usize) -> Result<String, String> {
    if let Some(v) = exported_version(base, path) {
        return Ok(v);
    }
    let found = scan_readonly(ip);
    match found.as_slice() {
        [v] => Ok(v.clone()),
        [] => Err(format!(
            "no c-blosc2 version found in {}",
            String::from_utf8_lossy(path)
        )),
        many => Err(format!(
            "several c-blosc2 versions ({}) found in {}",
            many.join(", "),
            String::from_utf8_lossy(path)
        )),
    }
}

/// `blosc2_get_version_string()` of the object at `base`, if it exports it.
fn exported_version(base: usize, path: &[u8]) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let os = std::ffi::OsStr::from_bytes(path);
    // SAFETY: RTLD_NOLOAD only takes a reference to an object already loaded
    // and initialised; nothing new runs.
    let lib = unsafe { Library::open(Some(os), RTLD_LAZY | RTLD_NOLOAD) }.ok()?;
    // SAFETY: c-blosc2 declares `const char *blosc2_get_version_string(void)`.
    let f = unsafe {
        lib.get::<unsafe extern "C" fn() -> *const c_char>(b"blosc2_get_version_string\0")
    }
    .ok()
    .map(|s| *s)?;
    // dlsym also searches dependencies: take it only from the caller itself.
    if object_of(f as usize)?.0 != base {
        return None;
    }
    // SAFETY: the function returns a static NUL-terminated string.
    let s = unsafe { f() };
    if s.is_null() {
        return None;
    }
    // SAFETY: as above.
    Some(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// The version strings in the read-only loaded segments of the object that
/// contains `ip`.
fn scan_readonly(ip: usize) -> Vec<String> {
    struct Search {
        ip: usize,
        segments: Vec<(usize, usize)>,
    }
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info with dlpi_phnum
        // program headers; data is our Search.
        unsafe {
            let search = &mut *data.cast::<Search>();
            let info = &*info;
            if info.dlpi_phdr.is_null() {
                return 0;
            }
            let phdrs = std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
            let base = info.dlpi_addr as usize;
            let loads = phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD);
            let contains = loads.clone().any(|p| {
                let start = base + p.p_vaddr as usize;
                (start..start + p.p_memsz as usize).contains(&search.ip)
            });
            if !contains {
                return 0;
            }
            search.segments = loads
                .filter(|p| p.p_flags & libc::PF_R != 0 && p.p_flags & libc::PF_W == 0)
                .map(|p| {
                    (
                        base + p.p_vaddr as usize,
                        p.p_filesz.min(p.p_memsz) as usize,
                    )
                })
                .collect();
            1
        }
    }
    let mut search = Search {
        ip,
        segments: Vec::new(),
    };
    // SAFETY: the callback only reads the program headers.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut search).cast()) };
    let mut found: Vec<String> = Vec::new();
    for (start, len) in search.segments {
        // SAFETY: a readable PT_LOAD segment of a loaded object is mapped
        // for its file size, and read-only segments never change.
        let mem = unsafe { std::slice::from_raw_parts(start as *const u8, len) };
        for v in version_strings(mem) {
            if !found.contains(&v) {
                found.push(v);
            }
        }
    }
    found
}
