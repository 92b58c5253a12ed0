//! The C entry points HDF5 calls. Each one runs inside [`guard`]: errors and
//! panics become a message on HDF5's error stack and the failure value HDF5
//! expects, so nothing unwinds into C.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use btune_core::blosc2::MAX_CHUNK_BYTES;

use crate::error::FilterError;
use crate::filter;
use crate::h5api::{self, H5E_DEFAULT, H5T_ARRAY, H5Z_FLAG_REVERSE, Hid};
use crate::registry;
use crate::values::{FILTER_ID, Nominal, Request, Stored, Tail};

/// HDF5's `H5Z_class2_t`.
#[repr(C)]
pub(crate) struct FilterClass {
    version: c_int,
    id: c_int,
    encoder_present: c_uint,
    decoder_present: c_uint,
    name: *const c_char,
    can_apply: Option<unsafe extern "C" fn(Hid, Hid, Hid) -> c_int>,
    set_local: Option<unsafe extern "C" fn(Hid, Hid, Hid) -> c_int>,
    filter: Option<
        unsafe extern "C" fn(
            c_uint,
            usize,
            *const c_uint,
            usize,
            *mut usize,
            *mut *mut c_void,
        ) -> usize,
    >,
}

// SAFETY: immutable data and function pointers only.
unsafe impl Sync for FilterClass {}

/// The class HDF5 registers: encoder and decoder present.
pub(crate) static FILTER_CLASS: FilterClass = FilterClass {
    version: 1, // H5Z_CLASS_T_VERS
    id: FILTER_ID,
    encoder_present: 1,
    decoder_present: 1,
    name: c"blosc2".as_ptr(),
    can_apply: Some(can_apply),
    set_local: Some(set_local),
    filter: Some(filter_fn),
};

/// Runs `f`, turning an error or a panic into `failure` plus a message on
/// HDF5's error stack.
fn guard<T>(func: &'static CStr, failure: T, f: impl FnOnce() -> Result<T, FilterError>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            push_error(func, &e.to_string());
            failure
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            push_error(
                func,
                &format!("btune blosc2 filter: internal error: {what}"),
            );
            failure
        }
    }
}

/// Pushes `message` onto the thread's HDF5 error stack (or stderr if HDF5
/// cannot be reached).
pub(crate) fn push_error(func: &CStr, message: &str) {
    let msg = CString::new(message.replace('\0', " ")).unwrap_or_default();
    match h5api::api() {
        Ok(api) => {
            let (cls, major, minor) = api.error_ids();
            // SAFETY: valid C strings; "%s" consumes exactly one string.
            unsafe {
                (api.epush2)(
                    H5E_DEFAULT,
                    c"btune-hdf5".as_ptr(),
                    func.as_ptr(),
                    line!(),
                    cls,
                    major,
                    minor,
                    c"%s".as_ptr(),
                    msg.as_ptr(),
                );
            }
        }
        Err(why) => eprintln!("{message} ({why})"),
    }
}

/// The dataset's chunk dimensions, type size (base type of arrays) and chunk
/// size in bytes.
fn dataset_shape(dcpl: Hid, type_id: Hid) -> Result<(Vec<u64>, usize, u64), FilterError> {
    let api = h5api::api().map_err(FilterError::Hdf5)?;
    let mut dims = [0u64; 32];
    // SAFETY: dims holds H5S_MAX_RANK (32) entries.
    let ndim = unsafe { (api.pget_chunk)(dcpl, 32, dims.as_mut_ptr()) };
    if ndim <= 0 {
        return Err(FilterError::Dataset("the dataset is not chunked".into()));
    }
    let dims = dims[..ndim as usize].to_vec();
    // SAFETY: type_id is the dataset's type, valid during the callback.
    let full = unsafe { (api.tget_size)(type_id) };
    if full == 0 {
        return Err(FilterError::Dataset("its datatype has size 0".into()));
    }
    // SAFETY: as above; the super type is closed after use.
    let base = unsafe {
        if (api.tget_class)(type_id) == H5T_ARRAY {
            let sup = (api.tget_super)(type_id);
            let size = if sup < 0 { full } else { (api.tget_size)(sup) };
            if sup >= 0 {
                (api.tclose)(sup);
            }
            size
        } else {
            full
        }
    };
    let bytes = dims
        .iter()
        .try_fold(full as u64, |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= MAX_CHUNK_BYTES as u64)
        .ok_or_else(|| {
            FilterError::Dataset(format!(
                "chunks of {dims:?} items of {full} bytes exceed Blosc2's limit of {MAX_CHUNK_BYTES} bytes per chunk"
            ))
        })?;
    Ok((dims, base, bytes))
}

unsafe extern "C" fn can_apply(dcpl: Hid, type_id: Hid, _space: Hid) -> c_int {
    guard(c"btune_blosc2_can_apply", -1, || {
        dataset_shape(dcpl, type_id)?;
        Ok(1)
    })
}

/// Our filter's current values in `dcpl` and its flags.
fn current_values(dcpl: Hid) -> Result<(c_uint, Vec<u32>), FilterError> {
    let api = h5api::api().map_err(FilterError::Hdf5)?;
    let mut cap = 32usize;
    loop {
        let mut values = vec![0 as c_uint; cap];
        let (mut flags, mut n, mut config) = (0 as c_uint, cap, 0 as c_uint);
        // SAFETY: values holds n entries; no name is requested.
        let rc = unsafe {
            (api.pget_filter_by_id2)(
                dcpl,
                FILTER_ID,
                &raw mut flags,
                &raw mut n,
                values.as_mut_ptr(),
                0,
                std::ptr::null_mut(),
                &raw mut config,
            )
        };
        if rc < 0 {
            return Err(FilterError::Hdf5("cannot read the filter's values".into()));
        }
        if n <= cap {
            values.truncate(n);
            return Ok((flags, values));
        }
        cap = n;
    }
}

/// Whether our filter comes first in the pipeline (so it sees whole chunks).
fn first_in_pipeline(dcpl: Hid) -> bool {
    let Ok(api) = h5api::api() else { return false };
    // SAFETY: index 0 exists when nfilters > 0; no values or name requested.
    unsafe {
        if (api.pget_nfilters)(dcpl) <= 0 {
            return false;
        }
        let (mut flags, mut n, mut config) = (0 as c_uint, 0usize, 0 as c_uint);
        (api.pget_filter2)(
            dcpl,
            0,
            &raw mut flags,
            &raw mut n,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &raw mut config,
        ) == FILTER_ID
    }
}

unsafe extern "C" fn set_local(dcpl: Hid, type_id: Hid, _space: Hid) -> c_int {
    guard(c"btune_blosc2_set_local", -1, || {
        let api = h5api::api().map_err(FilterError::Hdf5)?;
        let (dims, typesize, chunk_bytes) = dataset_shape(dcpl, type_id)?;
        let (flags, given) = current_values(dcpl)?;
        let dims32: Vec<u32> = dims
            .iter()
            .map(|&d| u32::try_from(d).unwrap_or(u32::MAX))
            .collect();
        let core_ts = if (1..=255).contains(&typesize) {
            typesize
        } else {
            1
        };
        let dataset = registry::new_dataset_id();
        let request = Request::parse(&given)?;
        let (nominal, tune, options) = match request {
            Request::Fixed(n) => {
                n.params(core_ts, chunk_bytes as usize)?;
                (n, false, Default::default())
            }
            Request::Tune(options) => {
                let tuner = registry::tuner(registry::DatasetKey::Id(dataset), options, core_ts)?;
                let nominal = if dims.len() <= btune_core::b2nd::MAX_DIM {
                    filter::nominal_for(&tuner)
                } else {
                    // Without a tail, zeros record "tune".
                    Nominal {
                        blocksize: 0,
                        clevel: 0,
                        shuffle: 0,
                        compcode: 0,
                    }
                };
                (nominal, true, options)
            }
        };
        let tail = Tail {
            dataset,
            tune,
            whole_chunks: first_in_pipeline(dcpl),
            row_view: false,
            options,
        };
        let stored = Stored::build(
            u32::try_from(typesize).unwrap_or(u32::MAX),
            chunk_bytes as u32,
            &dims32,
            nominal,
            Some(tail),
        );
        let values = stored.to_values();
        // SAFETY: values holds values.len() entries.
        let rc =
            unsafe { (api.pmodify_filter)(dcpl, FILTER_ID, flags, values.len(), values.as_ptr()) };
        if rc < 0 {
            return Err(FilterError::Hdf5("cannot store the filter's values".into()));
        }
        Ok(1)
    })
}

/// The filter: HDF5 hands over `*buf` (malloc'd, `nbytes` of data); on
/// success it gets back a malloc'd buffer holding the result, `*buf_size`
/// set to the result's size (HDF5 >= 2.2 checks it), and that size as the
/// return value. On failure it returns 0 and `*buf` is untouched.
unsafe extern "C" fn filter_fn(
    flags: c_uint,
    cd_nelmts: usize,
    cd_values: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
) -> usize {
    guard(c"btune_blosc2_filter", 0, || {
        // SAFETY: *buf is read only after buf is checked non-null.
        if buf.is_null() || buf_size.is_null() || unsafe { (*buf).is_null() } {
            return Err(FilterError::Hdf5("null buffer".into()));
        }
        let values: &[u32] = if cd_nelmts == 0 || cd_values.is_null() {
            &[]
        } else {
            // SAFETY: HDF5 passes cd_nelmts values.
            unsafe { std::slice::from_raw_parts(cd_values, cd_nelmts) }
        };
        // SAFETY: *buf holds at least nbytes of data.
        let input = unsafe { std::slice::from_raw_parts((*buf).cast::<u8>(), nbytes) };
        let out = if flags & H5Z_FLAG_REVERSE != 0 {
            filter::decode(values, input, Malloced::new)?
        } else {
            let bytes = filter::encode(values, input)?;
            let mut out = Malloced::new(bytes.len())?;
            out.as_mut().copy_from_slice(&bytes);
            out
        };
        let len = out.1;
        // SAFETY: HDF5 owns *buf (malloc'd) and hands it over on success.
        unsafe {
            libc::free(*buf);
            *buf = out.release();
            *buf_size = len;
        }
        Ok(len)
    })
}

/// A buffer from the C allocator (HDF5 frees it with free()), of a
/// length, freed unless released to HDF5.
struct Malloced(*mut c_void, usize);

impl Malloced {
    fn new(len: usize) -> Result<Malloced, FilterError> {
        // SAFETY: plain allocation; at least 1 byte so NULL means failure.
        // Zeroed (calloc): the bytes are handed out as a &mut [u8], which
        // must not see uninitialised memory.
        let p = unsafe { libc::calloc(len.max(1), 1) };
        if p.is_null() {
            return Err(FilterError::Dataset(format!("cannot allocate {len} bytes")));
        }
        Ok(Malloced(p, len))
    }

    fn release(self) -> *mut c_void {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl AsMut<[u8]> for Malloced {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: the allocation holds self.1 bytes, owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.0.cast::<u8>(), self.1) }
    }
}

impl Drop for Malloced {
    fn drop(&mut self) {
        // SAFETY: allocated by malloc, not yet handed over.
        unsafe { libc::free(self.0) };
    }
}

/// Registers the filter with the HDF5 library loaded in this process (for
/// programs that link HDF5 and want the filter without a plugin path).
///
/// # Errors
/// [`FilterError::Hdf5`] if no libhdf5 is loaded or registration fails.
pub fn register() -> Result<(), FilterError> {
    let api = h5api::api().map_err(FilterError::Hdf5)?;
    // SAFETY: the class is a static with the H5Z_class2_t layout.
    let rc = unsafe { (api.zregister)((&raw const FILTER_CLASS).cast()) };
    if rc < 0 {
        return Err(FilterError::Hdf5("H5Zregister failed".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_failure_value_not_an_unwind() {
        // No libhdf5 in this process: the message goes to stderr instead.
        let r = guard(c"test", -1, || -> Result<i32, FilterError> {
            panic!("boom")
        });
        assert_eq!(r, -1);
        let r = guard(c"test", 0usize, || Err(FilterError::Values("bad".into())));
        assert_eq!(r, 0);
        assert_eq!(guard(c"test", 0usize, || Ok(7)), 7);
    }

    #[test]
    fn the_filter_refuses_null_buffers_without_touching_them() {
        // SAFETY: null pointers are what is being tested; nothing is read.
        let n = unsafe {
            filter_fn(
                0,
                0,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(n, 0);
    }
}
