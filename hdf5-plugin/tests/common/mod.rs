//! A small wrapper over the system libhdf5 (hdf5-metno-sys) for the plugin's
//! tests: create, write and read chunked datasets, read filter values and
//! the error stack. The serial libhdf5 is not thread-safe, so every test
//! takes [`lock`].

#![allow(
    dead_code,
    unreachable_pub,
    clippy::missing_panics_doc,
    clippy::missing_errors_doc
)]

use std::ffi::{CStr, CString, c_uint, c_void};
use std::path::{Path, PathBuf};

use hdf5_metno_sys::{h5, h5d, h5e, h5f, h5p, h5s, h5t};
use parking_lot::{Mutex, MutexGuard};

pub use hdf5_metno_sys::h5i::hid_t;

static HDF5: Mutex<()> = Mutex::new(());

/// Serialises HDF5 use; silences HDF5's automatic error printing.
pub fn lock() -> MutexGuard<'static, ()> {
    let g = HDF5.lock();
    // SAFETY: plain library calls under the lock.
    unsafe {
        h5::H5open();
        h5e::H5Eset_auto2(h5e::H5E_DEFAULT, None, std::ptr::null_mut());
    }
    g
}

/// A fresh temporary path.
pub fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("btune-h5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The plugin `cargo test` built beside the test executable
/// (`target/<profile>/deps/`; cargo only copies it up a directory on
/// `cargo build`, so that copy may be stale).
pub fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let so = exe.parent().unwrap().join("libbtune_hdf5.so");
    assert!(so.is_file(), "{} not built", so.display());
    so
}

/// Element types used by the tests.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    F64,
    I32,
    U16,
    U8,
}

impl Ty {
    pub fn native(self) -> hid_t {
        match self {
            Ty::F64 => *h5t::H5T_NATIVE_DOUBLE,
            Ty::I32 => *h5t::H5T_NATIVE_INT,
            Ty::U16 => *h5t::H5T_NATIVE_USHORT,
            Ty::U8 => *h5t::H5T_NATIVE_UCHAR,
        }
    }
    pub fn size(self) -> usize {
        match self {
            Ty::F64 => 8,
            Ty::I32 => 4,
            Ty::U16 => 2,
            Ty::U8 => 1,
        }
    }
}

pub struct File(pub hid_t);

impl File {
    pub fn create(path: &Path) -> File {
        let p = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: valid C string; default property lists.
        let id = unsafe {
            h5f::H5Fcreate(
                p.as_ptr(),
                h5f::H5F_ACC_TRUNC,
                h5p::H5P_DEFAULT,
                h5p::H5P_DEFAULT,
            )
        };
        assert!(id >= 0, "H5Fcreate {}", path.display());
        File(id)
    }
    pub fn open_rw(path: &Path) -> File {
        let p = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: valid C string.
        let id = unsafe { h5f::H5Fopen(p.as_ptr(), h5f::H5F_ACC_RDWR, h5p::H5P_DEFAULT) };
        assert!(id >= 0);
        File(id)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: id from H5Fcreate/H5Fopen.
        unsafe { h5f::H5Fclose(self.0) };
    }
}

pub struct Dataset {
    pub id: hid_t,
    pub ty: Ty,
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: id from H5Dcreate2/H5Dopen2.
        unsafe { h5d::H5Dclose(self.id) };
    }
}

/// Creates a dataset with filter 32026 (mandatory) and `cd_values`; `None`
/// with the HDF5 error messages if HDF5 refuses.
pub fn create(
    file: &File,
    name: &str,
    ty: Ty,
    shape: &[u64],
    max: Option<&[u64]>,
    chunk: &[u64],
    cd_values: &[u32],
) -> Result<Dataset, String> {
    let n = CString::new(name).unwrap();
    // SAFETY: arrays hold shape.len() entries; ids are closed below.
    unsafe {
        let space = h5s::H5Screate_simple(
            shape.len() as i32,
            shape.as_ptr(),
            max.map_or(std::ptr::null(), <[u64]>::as_ptr),
        );
        let dcpl = h5p::H5Pcreate(*h5p::H5P_CLS_DATASET_CREATE);
        h5p::H5Pset_chunk(dcpl, chunk.len() as i32, chunk.as_ptr());
        let rc = h5p::H5Pset_filter(dcpl, 32026, 0, cd_values.len(), cd_values.as_ptr());
        let id = if rc < 0 {
            -1
        } else {
            h5d::H5Dcreate2(
                file.0,
                n.as_ptr(),
                ty.native(),
                space,
                h5p::H5P_DEFAULT,
                dcpl,
                h5p::H5P_DEFAULT,
            )
        };
        // Read the stack first: every successful API call clears it.
        let errors = if id < 0 { error_stack() } else { String::new() };
        h5p::H5Pclose(dcpl);
        h5s::H5Sclose(space);
        if id < 0 {
            Err(errors)
        } else {
            Ok(Dataset { id, ty })
        }
    }
}

pub fn open(file: &File, name: &str, ty: Ty) -> Dataset {
    let n = CString::new(name).unwrap();
    // SAFETY: valid ids and C string.
    let id = unsafe { h5d::H5Dopen2(file.0, n.as_ptr(), h5p::H5P_DEFAULT) };
    assert!(id >= 0);
    Dataset { id, ty }
}

impl Dataset {
    /// Writes `data` to the hyperslab at `start` of `count`.
    pub fn write(&self, start: &[u64], count: &[u64], data: &[u8]) -> Result<(), String> {
        assert_eq!(
            data.len() as u64,
            count.iter().product::<u64>() * self.ty.size() as u64
        );
        // SAFETY: the memory space matches data's size.
        unsafe {
            let file_space = h5d::H5Dget_space(self.id);
            h5s::H5Sselect_hyperslab(
                file_space,
                h5s::H5S_seloper_t::H5S_SELECT_SET,
                start.as_ptr(),
                std::ptr::null(),
                count.as_ptr(),
                std::ptr::null(),
            );
            let mem = h5s::H5Screate_simple(count.len() as i32, count.as_ptr(), std::ptr::null());
            let rc = h5d::H5Dwrite(
                self.id,
                self.ty.native(),
                mem,
                file_space,
                h5p::H5P_DEFAULT,
                data.as_ptr().cast(),
            );
            let errors = if rc < 0 { error_stack() } else { String::new() };
            h5s::H5Sclose(mem);
            h5s::H5Sclose(file_space);
            if rc < 0 { Err(errors) } else { Ok(()) }
        }
    }

    /// Reads the whole dataset.
    pub fn read_all(&self) -> Result<Vec<u8>, String> {
        let n = self.shape().iter().product::<u64>() as usize * self.ty.size();
        let mut out = vec![0u8; n];
        // SAFETY: out holds the whole dataset.
        let rc = unsafe {
            h5d::H5Dread(
                self.id,
                self.ty.native(),
                h5s::H5S_ALL,
                h5s::H5S_ALL,
                h5p::H5P_DEFAULT,
                out.as_mut_ptr().cast(),
            )
        };
        if rc < 0 { Err(error_stack()) } else { Ok(out) }
    }

    pub fn shape(&self) -> Vec<u64> {
        // SAFETY: valid dataset; dims holds 32 entries.
        unsafe {
            let space = h5d::H5Dget_space(self.id);
            let mut dims = [0u64; 32];
            let n = h5s::H5Sget_simple_extent_dims(space, dims.as_mut_ptr(), std::ptr::null_mut());
            h5s::H5Sclose(space);
            dims[..n as usize].to_vec()
        }
    }

    pub fn extend(&self, shape: &[u64]) {
        // SAFETY: shape has the dataset's rank.
        assert!(unsafe { h5d::H5Dset_extent(self.id, shape.as_ptr()) } >= 0);
    }

    pub fn storage_size(&self) -> u64 {
        // SAFETY: valid dataset.
        unsafe { h5d::H5Dget_storage_size(self.id) }
    }

    /// The stored filter values of filter 32026.
    pub fn filter_values(&self) -> Vec<u32> {
        // SAFETY: values holds n entries.
        unsafe {
            let dcpl = h5d::H5Dget_create_plist(self.id);
            let mut values = vec![0 as c_uint; 64];
            let (mut flags, mut n, mut cfg) = (0, 64usize, 0);
            let rc = h5p::H5Pget_filter_by_id2(
                dcpl,
                32026,
                &mut flags,
                &mut n,
                values.as_mut_ptr(),
                0,
                std::ptr::null_mut(),
                &mut cfg,
            );
            h5p::H5Pclose(dcpl);
            assert!(rc >= 0);
            values.truncate(n);
            values
        }
    }

    /// Replaces the stored bytes of the chunk at `offset` (bypassing filters).
    pub fn write_raw_chunk(&self, offset: &[u64], bytes: &[u8]) {
        // SAFETY: bytes is valid for its length.
        let rc = unsafe {
            h5d::H5Dwrite_chunk(
                self.id,
                h5p::H5P_DEFAULT,
                0,
                offset.as_ptr(),
                bytes.len(),
                bytes.as_ptr().cast(),
            )
        };
        assert!(rc >= 0);
    }

    /// The stored bytes of the chunk at `offset`.
    pub fn read_raw_chunk(&self, offset: &[u64]) -> Vec<u8> {
        // SAFETY: the buffer is sized from H5Dget_chunk_storage_size.
        unsafe {
            let (mut size, mut mask0, mut addr) = (0u64, 0u32, 0u64);
            assert!(
                h5d::H5Dget_chunk_info_by_coord(
                    self.id,
                    offset.as_ptr(),
                    &mut mask0,
                    &mut addr,
                    &mut size
                ) >= 0
            );
            let mut buf = vec![0u8; size as usize];
            let mut mask = 0u32;
            assert!(
                h5d::H5Dread_chunk(
                    self.id,
                    h5p::H5P_DEFAULT,
                    offset.as_ptr(),
                    &mut mask,
                    buf.as_mut_ptr().cast::<c_void>()
                ) >= 0
            );
            buf
        }
    }
}

/// The messages on the thread's HDF5 error stack, innermost first; clears it.
pub fn error_stack() -> String {
    unsafe extern "C" fn walk(_n: c_uint, err: *const h5e::H5E_error2_t, data: *mut c_void) -> i32 {
        // SAFETY: HDF5 passes a valid record; data is our String.
        unsafe {
            let out = &mut *data.cast::<String>();
            let desc = (*err).desc;
            if !desc.is_null() {
                out.push_str(&CStr::from_ptr(desc).to_string_lossy());
                out.push('\n');
            }
        }
        0
    }
    let mut out = String::new();
    // SAFETY: the callback only reads records.
    unsafe {
        h5e::H5Ewalk2(
            h5e::H5E_DEFAULT,
            h5e::H5E_direction_t::H5E_WALK_UPWARD,
            Some(walk),
            (&raw mut out).cast(),
        );
        h5e::H5Eclear2(h5e::H5E_DEFAULT);
    }
    out
}

/// Compressible test data: a seeded random walk of `n` items of `ty`.
pub fn walk(ty: Ty, n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut level = 0i64;
    let mut out = Vec::with_capacity(n * ty.size());
    for _ in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        level += ((x >> 33) % 7) as i64 - 3;
        match ty {
            Ty::F64 => out.extend((level as f64 * 0.01).to_le_bytes()),
            Ty::I32 => out.extend((level as i32).to_le_bytes()),
            Ty::U16 => out.extend((level as u16).to_le_bytes()),
            Ty::U8 => out.push(level as u8),
        }
    }
    out
}
