//! The HDF5 C API (system libhdf5 through `hdf5-metno-sys`) behind safe
//! wrappers: the only module of the CLI with `unsafe`.
//!
//! Every identifier is owned by a value that releases it on drop. HDF5's
//! automatic error printing is off; a failed call becomes an error holding
//! the messages of HDF5's error stack (the btune filter pushes its own there).
//!
//! Calls that changed between HDF5 versions go through forms that exist in
//! 1.10.5 to 1.14 (`H5Lget_info1`, `H5Dread_chunk1`, `H5Dvlen_reclaim`).

#![allow(deprecated)] // H5Lget_info1 and H5Dvlen_reclaim: deprecated in 1.12, kept for 1.10.

use std::ffi::{CStr, CString, c_char, c_uint, c_void};
use std::fmt::Display;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use hdf5_metno_sys::h5::{H5_INDEX_CRT_ORDER, H5_INDEX_NAME, H5_ITER_INC, H5_index_t, H5open};
use hdf5_metno_sys::h5::{HADDR_UNDEF, haddr_t, herr_t, hsize_t};
use hdf5_metno_sys::h5a::{
    H5A_info_t, H5Acreate2, H5Aget_create_plist, H5Aget_space, H5Aget_type, H5Aiterate2, H5Aopen,
    H5Aread, H5Awrite,
};
use hdf5_metno_sys::h5d::{
    H5D_layout_t, H5Dcreate2, H5Dflush, H5Dget_chunk_info_by_coord, H5Dget_create_plist,
    H5Dget_space, H5Dget_storage_size, H5Dget_type, H5Dopen2, H5Dread, H5Dread_chunk1,
    H5Dvlen_reclaim, H5Dwrite,
};
use hdf5_metno_sys::h5e::{
    H5E_DEFAULT, H5E_WALK_UPWARD, H5E_error2_t, H5Eclear2, H5Eset_auto2, H5Ewalk2,
};
use hdf5_metno_sys::h5f::{
    H5F_ACC_RDONLY, H5F_ACC_TRUNC, H5Fclose, H5Fcreate, H5Fget_create_plist, H5Fopen,
};
use hdf5_metno_sys::h5g::{H5G_info_t, H5Gcreate2, H5Gget_create_plist, H5Gget_info, H5Gopen2};
use hdf5_metno_sys::h5i::{H5I_DATASET, H5I_DATATYPE, H5I_GROUP, H5Idec_ref, H5Iget_type, hid_t};
use hdf5_metno_sys::h5l::{
    H5L_TYPE_EXTERNAL, H5L_TYPE_HARD, H5L_TYPE_SOFT, H5L_info1_t, H5Lcreate_external,
    H5Lcreate_soft, H5Ldelete, H5Lget_info1, H5Lget_name_by_idx, H5Lget_val, H5Lunpack_elink_val,
};
use hdf5_metno_sys::h5o::{H5O_COPY_WITHOUT_ATTR_FLAG, H5Ocopy, H5Oopen};
use hdf5_metno_sys::h5p::{
    H5P_CLS_LINK_CREATE, H5P_CLS_OBJECT_COPY, H5P_CRT_ORDER_TRACKED, H5P_DEFAULT, H5Pcreate,
    H5Pget_chunk, H5Pget_external_count, H5Pget_filter2, H5Pget_layout, H5Pget_link_creation_order,
    H5Pget_nfilters, H5Premove_filter, H5Pset_char_encoding, H5Pset_chunk, H5Pset_copy_object,
    H5Pset_filter,
};
use hdf5_metno_sys::h5s::{
    H5S_SELECT_SET, H5Screate_simple, H5Sget_simple_extent_dims, H5Sget_simple_extent_ndims,
    H5Sget_simple_extent_npoints, H5Sselect_hyperslab,
};
use hdf5_metno_sys::h5t::{
    H5T_ARRAY, H5T_BITFIELD, H5T_COMPOUND, H5T_CSET_ASCII, H5T_CSET_UTF8, H5T_ENUM, H5T_FLOAT,
    H5T_INTEGER, H5T_OPAQUE, H5T_REFERENCE, H5T_SGN_NONE, H5T_STRING, H5T_TIME, H5T_VLEN, H5Tcopy,
    H5Tdetect_class, H5Tget_class, H5Tget_member_type, H5Tget_nmembers, H5Tget_sign, H5Tget_size,
    H5Tget_super, H5Tis_variable_str,
};
use hdf5_metno_sys::h5z::{H5Z_FILTER_ALL, H5Z_FLAG_MANDATORY, H5Zfilter_avail};

/// HDF5's limit on a dataspace's rank.
const MAX_RANK: usize = 32;

/// Starts the library once: error printing off, the btune filter
/// (id 32026) registered in this process.
///
/// # Errors
/// If HDF5 does not start or the filter cannot be registered.
pub(crate) fn init() -> Result<()> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        // SAFETY: plain library calls without pointers; a null callback turns
        // automatic error printing off for the default stack.
        let rc = unsafe {
            if H5open() < 0 {
                return Err("the HDF5 library did not start".to_owned());
            }
            H5Eset_auto2(H5E_DEFAULT, None, std::ptr::null_mut())
        };
        if rc < 0 {
            return Err("cannot silence HDF5's error printing".to_owned());
        }
        btune_hdf5::register().map_err(|e| e.to_string())
    })
    .clone()
    .map_err(|e| anyhow!("HDF5 setup: {e}"))
}

/// The messages on HDF5's error stack (innermost first), then clears it.
fn stack_messages() -> String {
    unsafe extern "C" fn collect(
        _n: c_uint,
        err: *const H5E_error2_t,
        data: *mut c_void,
    ) -> herr_t {
        // SAFETY: HDF5 passes a valid record; data is our Vec.
        unsafe {
            let out = &mut *data.cast::<Vec<String>>();
            let desc = (*err).desc;
            if !desc.is_null() {
                let d = CStr::from_ptr(desc)
                    .to_string_lossy()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !d.is_empty() && !out.contains(&d) {
                    out.push(d);
                }
            }
        }
        0
    }
    let mut messages: Vec<String> = Vec::new();
    // SAFETY: the callback only reads each record and pushes copies.
    unsafe {
        H5Ewalk2(
            H5E_DEFAULT,
            H5E_WALK_UPWARD,
            Some(collect),
            (&raw mut messages).cast(),
        );
        H5Eclear2(H5E_DEFAULT);
    }
    if messages.is_empty() {
        "no details from HDF5".to_owned()
    } else {
        messages.join("; ")
    }
}

fn failure(what: impl Display) -> anyhow::Error {
    anyhow!("{what}: {}", stack_messages())
}

fn check(rc: herr_t, what: impl Display) -> Result<()> {
    if rc < 0 { Err(failure(what)) } else { Ok(()) }
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).with_context(|| format!("name {s:?} contains a NUL byte"))
}

/// An HDF5 identifier, released on drop.
struct Id(hid_t);

impl Id {
    fn new(id: hid_t, what: impl Display) -> Result<Id> {
        if id < 0 {
            Err(failure(what))
        } else {
            Ok(Id(id))
        }
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        // SAFETY: the id was valid when made and is released only here.
        unsafe { H5Idec_ref(self.0) };
    }
}

/// A link creation property list with the name's character set.
fn link_plist(utf8: bool) -> Result<Id> {
    // SAFETY: init() ran H5open, so the class id global is set.
    let lcpl = Id::new(unsafe { H5Pcreate(*H5P_CLS_LINK_CREATE) }, "H5Pcreate")?;
    let cset = if utf8 { H5T_CSET_UTF8 } else { H5T_CSET_ASCII };
    // SAFETY: lcpl is a link creation list.
    check(
        unsafe { H5Pset_char_encoding(lcpl.0, cset) },
        "H5Pset_char_encoding",
    )?;
    Ok(lcpl)
}

/// An open HDF5 file.
pub(crate) struct File(Id);

impl File {
    /// Opens `path` read-only.
    ///
    /// # Errors
    /// If it is not an HDF5 file HDF5 can open.
    pub(crate) fn open(path: &Path) -> Result<File> {
        let p = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: p is a valid C string.
        let id = unsafe { H5Fopen(p.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT) };
        Ok(File(Id::new(
            id,
            format!("cannot open {}", path.display()),
        )?))
    }

    /// Creates (or truncates) `path` with the creation properties of `like`
    /// (user block, sizes, the root group's link order).
    ///
    /// # Errors
    /// If the file cannot be created.
    pub(crate) fn create_like(path: &Path, like: &File) -> Result<File> {
        let p = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: like is an open file; p a valid C string. The result is
        // checked before fcpl is released (any HDF5 call clears the error
        // stack).
        let id = unsafe {
            let fcpl = Id::new(H5Fget_create_plist(like.0.0), "H5Fget_create_plist")?;
            Id::new(
                H5Fcreate(p.as_ptr(), H5F_ACC_TRUNC, fcpl.0, H5P_DEFAULT),
                format!("cannot create {}", path.display()),
            )?
        };
        Ok(File(id))
    }

    /// The root group.
    ///
    /// # Errors
    /// If HDF5 cannot open it.
    pub(crate) fn root(&self) -> Result<Group> {
        // SAFETY: the file is open; "/" is a valid C string.
        let id = unsafe { H5Gopen2(self.0.0, c"/".as_ptr(), H5P_DEFAULT) };
        Ok(Group(Id::new(id, "cannot open the root group")?))
    }

    /// Closes the file, reporting a failure to flush it.
    ///
    /// # Errors
    /// If HDF5 fails to write the file out.
    pub(crate) fn close(self) -> Result<()> {
        let id = self.0.0;
        std::mem::forget(self);
        // SAFETY: id is an open file, closed once (drop was skipped).
        check(unsafe { H5Fclose(id) }, "cannot close the file")
    }
}

/// What a link in a group leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// A group (hard link).
    Group,
    /// A dataset (hard link).
    Dataset,
    /// A committed datatype (hard link).
    NamedType,
    /// A soft link to this path.
    Soft(String),
    /// An external link.
    External {
        /// The other file.
        file: String,
        /// The object's path in it.
        object: String,
    },
    /// Anything else (user-defined links, other objects).
    Other(String),
}

/// One link of a group.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    /// The link name.
    pub(crate) name: String,
    /// Whether the name is recorded as UTF-8.
    pub(crate) utf8: bool,
    /// What it leads to.
    pub(crate) kind: LinkKind,
}

/// An open group.
pub(crate) struct Group(Id);

impl Group {
    /// The group's links, in creation order if the group tracks it, else by
    /// name.
    ///
    /// # Errors
    /// If HDF5 cannot list or classify them.
    pub(crate) fn members(&self) -> Result<Vec<Member>> {
        let mut info = H5G_info_t::default();
        // SAFETY: info is a valid out pointer.
        check(
            unsafe { H5Gget_info(self.0.0, &raw mut info) },
            "H5Gget_info",
        )?;
        let index = if self.tracks_link_order()? {
            H5_INDEX_CRT_ORDER
        } else {
            H5_INDEX_NAME
        };
        (0..info.nlinks)
            .map(|i| {
                let name = self.link_name(index, i)?;
                self.member(name)
            })
            .collect()
    }

    fn tracks_link_order(&self) -> Result<bool> {
        // SAFETY: the group is open; flags is a valid out pointer.
        unsafe {
            let gcpl = Id::new(H5Gget_create_plist(self.0.0), "H5Gget_create_plist")?;
            let mut flags: c_uint = 0;
            check(
                H5Pget_link_creation_order(gcpl.0, &raw mut flags),
                "H5Pget_link_creation_order",
            )?;
            Ok(flags & H5P_CRT_ORDER_TRACKED != 0)
        }
    }

    fn link_name(&self, index: H5_index_t, i: hsize_t) -> Result<String> {
        let dot = c".".as_ptr();
        // SAFETY: a null buffer asks for the length; then buf holds len + 1.
        unsafe {
            let len = H5Lget_name_by_idx(
                self.0.0,
                dot,
                index,
                H5_ITER_INC,
                i,
                std::ptr::null_mut(),
                0,
                H5P_DEFAULT,
            );
            if len < 0 {
                return Err(failure("H5Lget_name_by_idx"));
            }
            let mut buf = vec![0u8; len as usize + 1];
            let rc = H5Lget_name_by_idx(
                self.0.0,
                dot,
                index,
                H5_ITER_INC,
                i,
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
                H5P_DEFAULT,
            );
            if rc < 0 {
                return Err(failure("H5Lget_name_by_idx"));
            }
            buf.truncate(len as usize);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
    }

    fn member(&self, name: String) -> Result<Member> {
        let c = cstring(&name)?;
        let mut info = H5L_info1_t::default();
        // SAFETY: c is a valid C string, info a valid out pointer.
        check(
            unsafe { H5Lget_info1(self.0.0, c.as_ptr(), &raw mut info, H5P_DEFAULT) },
            format!("cannot read link {name}"),
        )?;
        let utf8 = info.cset == H5T_CSET_UTF8;
        let kind = match info.type_ {
            H5L_TYPE_HARD => {
                // SAFETY: c names a hard link of this group.
                let obj = Id::new(
                    unsafe { H5Oopen(self.0.0, c.as_ptr(), H5P_DEFAULT) },
                    format!("cannot open {name}"),
                )?;
                // SAFETY: obj is open.
                match unsafe { H5Iget_type(obj.0) } {
                    H5I_GROUP => LinkKind::Group,
                    H5I_DATASET => LinkKind::Dataset,
                    H5I_DATATYPE => LinkKind::NamedType,
                    other => LinkKind::Other(format!("object of type {other:?}")),
                }
            }
            H5L_TYPE_SOFT => {
                // SAFETY: val_size is the active union field for soft links.
                let size = unsafe { *info.u.val_size() };
                let val = self.link_value(&c, size)?;
                let end = val.iter().position(|&b| b == 0).unwrap_or(val.len());
                LinkKind::Soft(String::from_utf8_lossy(&val[..end]).into_owned())
            }
            H5L_TYPE_EXTERNAL => {
                // SAFETY: val_size is the active union field for external links.
                let size = unsafe { *info.u.val_size() };
                let val = self.link_value(&c, size)?;
                let (mut flags, mut file, mut object): (c_uint, *const c_char, *const c_char) =
                    (0, std::ptr::null(), std::ptr::null());
                // SAFETY: val holds the link value; the out pointers point
                // into val, which outlives their use below.
                unsafe {
                    check(
                        H5Lunpack_elink_val(
                            val.as_ptr().cast(),
                            val.len(),
                            &raw mut flags,
                            &raw mut file,
                            &raw mut object,
                        ),
                        format!("cannot read external link {name}"),
                    )?;
                    LinkKind::External {
                        file: CStr::from_ptr(file).to_string_lossy().into_owned(),
                        object: CStr::from_ptr(object).to_string_lossy().into_owned(),
                    }
                }
            }
            other => LinkKind::Other(format!("link of type {other:?}")),
        };
        Ok(Member { name, utf8, kind })
    }

    fn link_value(&self, name: &CStr, size: usize) -> Result<Vec<u8>> {
        let mut val = vec![0u8; size.max(1)];
        // SAFETY: val holds val.len() bytes.
        check(
            unsafe {
                H5Lget_val(
                    self.0.0,
                    name.as_ptr(),
                    val.as_mut_ptr().cast(),
                    val.len(),
                    H5P_DEFAULT,
                )
            },
            "H5Lget_val",
        )?;
        Ok(val)
    }

    /// Opens the group at `path` (relative to this group, or absolute).
    ///
    /// # Errors
    /// If there is no such group.
    pub(crate) fn group(&self, path: &str) -> Result<Group> {
        let c = cstring(path)?;
        // SAFETY: c is a valid C string.
        let id = unsafe { H5Gopen2(self.0.0, c.as_ptr(), H5P_DEFAULT) };
        Ok(Group(Id::new(id, format!("cannot open group {path}"))?))
    }

    /// Opens the dataset at `path`.
    ///
    /// # Errors
    /// If there is no such dataset.
    pub(crate) fn dataset(&self, path: &str) -> Result<Dataset> {
        let c = cstring(path)?;
        // SAFETY: c is a valid C string.
        let id = unsafe { H5Dopen2(self.0.0, c.as_ptr(), H5P_DEFAULT) };
        Ok(Dataset(Id::new(id, format!("cannot open dataset {path}"))?))
    }

    /// Creates the group `path` with the creation properties of `like`.
    ///
    /// # Errors
    /// If HDF5 cannot create it.
    pub(crate) fn create_group_like(&self, path: &str, like: &Group, utf8: bool) -> Result<Group> {
        let c = cstring(path)?;
        let lcpl = link_plist(utf8)?;
        // SAFETY: like is open; c is a valid C string. Checked before gcpl
        // is released.
        let id = unsafe {
            let gcpl = Id::new(H5Gget_create_plist(like.0.0), "H5Gget_create_plist")?;
            Id::new(
                H5Gcreate2(self.0.0, c.as_ptr(), lcpl.0, gcpl.0, H5P_DEFAULT),
                format!("cannot create group {path}"),
            )?
        };
        Ok(Group(id))
    }

    /// Copies the object at `path` as it is (data, layout, filters) to the
    /// same path under `dst`, with `H5Ocopy`, then its attributes as
    /// [`Group::copy_attributes`] does; returns the notes of that.
    ///
    /// # Errors
    /// If HDF5 cannot copy it.
    pub(crate) fn copy_object(&self, path: &str, dst: &Group, utf8: bool) -> Result<Vec<String>> {
        let c = cstring(path)?;
        let lcpl = link_plist(utf8)?;
        // SAFETY: both groups are open; c is a valid C string; init() ran
        // H5open, so the class id global is set.
        unsafe {
            let ocpypl = Id::new(H5Pcreate(*H5P_CLS_OBJECT_COPY), "H5Pcreate")?;
            check(
                H5Pset_copy_object(ocpypl.0, H5O_COPY_WITHOUT_ATTR_FLAG),
                "H5Pset_copy_object",
            )?;
            check(
                H5Ocopy(self.0.0, c.as_ptr(), dst.0.0, c.as_ptr(), ocpypl.0, lcpl.0),
                format!("cannot copy {path}"),
            )?;
            let from = Id::new(
                H5Oopen(self.0.0, c.as_ptr(), H5P_DEFAULT),
                format!("cannot open {path}"),
            )?;
            let to = Id::new(
                H5Oopen(dst.0.0, c.as_ptr(), H5P_DEFAULT),
                format!("cannot open the copy of {path}"),
            )?;
            copy_attributes(from.0, to.0)
        }
    }

    /// Creates a soft link `path` to `target`.
    ///
    /// # Errors
    /// If HDF5 cannot create it.
    pub(crate) fn soft_link(&self, path: &str, target: &str, utf8: bool) -> Result<()> {
        let (c, t) = (cstring(path)?, cstring(target)?);
        let lcpl = link_plist(utf8)?;
        // SAFETY: valid C strings.
        check(
            unsafe { H5Lcreate_soft(t.as_ptr(), self.0.0, c.as_ptr(), lcpl.0, H5P_DEFAULT) },
            format!("cannot create soft link {path}"),
        )
    }

    /// Creates an external link `path` to `object` in `file`.
    ///
    /// # Errors
    /// If HDF5 cannot create it.
    pub(crate) fn external_link(
        &self,
        path: &str,
        file: &str,
        object: &str,
        utf8: bool,
    ) -> Result<()> {
        let (c, f, o) = (cstring(path)?, cstring(file)?, cstring(object)?);
        let lcpl = link_plist(utf8)?;
        // SAFETY: valid C strings.
        check(
            unsafe {
                H5Lcreate_external(
                    f.as_ptr(),
                    o.as_ptr(),
                    self.0.0,
                    c.as_ptr(),
                    lcpl.0,
                    H5P_DEFAULT,
                )
            },
            format!("cannot create external link {path}"),
        )
    }

    /// Removes the link `path`.
    ///
    /// # Errors
    /// If HDF5 cannot remove it.
    pub(crate) fn unlink(&self, path: &str) -> Result<()> {
        let c = cstring(path)?;
        // SAFETY: c is a valid C string.
        check(
            unsafe { H5Ldelete(self.0.0, c.as_ptr(), H5P_DEFAULT) },
            format!("cannot remove {path}"),
        )
    }

    /// Copies this group's attributes to `dst`; returns a note per attribute
    /// left out.
    ///
    /// # Errors
    /// If an attribute cannot be read or written.
    pub(crate) fn copy_attributes(&self, dst: &Group) -> Result<Vec<String>> {
        copy_attributes(self.0.0, dst.0.0)
    }
}

/// How a dataset's data is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// In the object header.
    Compact,
    /// One block.
    Contiguous,
    /// Chunks, possibly filtered.
    Chunked,
    /// Mapped from other datasets.
    Virtual,
}

impl Layout {
    /// The lower-case name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Layout::Compact => "compact",
            Layout::Contiguous => "contiguous",
            Layout::Chunked => "chunked",
            Layout::Virtual => "virtual",
        }
    }
}

/// One filter of a dataset's pipeline.
#[derive(Clone, Debug)]
pub(crate) struct FilterInfo {
    /// The filter id.
    pub(crate) id: i32,
    /// The name recorded in the file.
    pub(crate) name: String,
    /// Its auxiliary values as stored.
    pub(crate) values: Vec<u32>,
    /// Whether this process can run it (builtin, registered or loadable).
    pub(crate) available: bool,
}

/// What a dataset is.
#[derive(Clone, Debug)]
pub(crate) struct DatasetInfo {
    /// Current extent.
    pub(crate) dims: Vec<u64>,
    /// Bytes per element (in memory, for variable-length types).
    pub(crate) type_size: usize,
    /// A short description of the type, e.g. `float64`.
    pub(crate) type_name: String,
    /// The type holds object or region references.
    pub(crate) references: bool,
    /// The type has variable-length parts (no filter applies).
    pub(crate) variable_length: bool,
    /// Storage layout.
    pub(crate) layout: Layout,
    /// Chunk shape, for chunked datasets.
    pub(crate) chunk: Option<Vec<u64>>,
    /// The filter pipeline in order of application when writing.
    pub(crate) filters: Vec<FilterInfo>,
    /// Data held in external raw files.
    pub(crate) external: bool,
}

impl DatasetInfo {
    /// Number of elements.
    pub(crate) fn npoints(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Logical size in bytes.
    pub(crate) fn logical_bytes(&self) -> u64 {
        self.npoints() * self.type_size as u64
    }
}

/// An open dataset.
pub(crate) struct Dataset(Id);

/// A buffer aligned for any HDF5 memory type.
fn aligned_buffer(bytes: usize) -> Vec<u128> {
    vec![0u128; bytes.div_ceil(16).max(1)]
}

impl Dataset {
    /// Shape, type, layout and filters.
    ///
    /// # Errors
    /// If HDF5 cannot describe the dataset.
    pub(crate) fn info(&self) -> Result<DatasetInfo> {
        let id = self.0.0;
        // SAFETY: the dataset is open; every out pointer and buffer is sized
        // as the call expects.
        unsafe {
            let space = Id::new(H5Dget_space(id), "H5Dget_space")?;
            let dims = space_dims(&space)?;
            let dtype = Id::new(H5Dget_type(id), "H5Dget_type")?;
            let type_size = H5Tget_size(dtype.0);
            let references = H5Tdetect_class(dtype.0, H5T_REFERENCE) > 0;
            let variable_length = has_variable_length(dtype.0);
            let type_name = type_name(dtype.0);
            let dcpl = Id::new(H5Dget_create_plist(id), "H5Dget_create_plist")?;
            let layout = match H5Pget_layout(dcpl.0) {
                H5D_layout_t::H5D_COMPACT => Layout::Compact,
                H5D_layout_t::H5D_CONTIGUOUS => Layout::Contiguous,
                H5D_layout_t::H5D_CHUNKED => Layout::Chunked,
                H5D_layout_t::H5D_VIRTUAL => Layout::Virtual,
                _ => bail!("unknown storage layout: {}", stack_messages()),
            };
            let chunk = if layout == Layout::Chunked {
                let mut c = [0 as hsize_t; MAX_RANK];
                let n = H5Pget_chunk(dcpl.0, MAX_RANK as i32, c.as_mut_ptr());
                if n < 0 {
                    return Err(failure("H5Pget_chunk"));
                }
                Some(c[..n as usize].to_vec())
            } else {
                None
            };
            let nfilters = H5Pget_nfilters(dcpl.0);
            if nfilters < 0 {
                return Err(failure("H5Pget_nfilters"));
            }
            let filters = (0..nfilters as c_uint)
                .map(|i| filter_info(dcpl.0, i))
                .collect::<Result<Vec<_>>>()?;
            let external = H5Pget_external_count(dcpl.0) > 0;
            Ok(DatasetInfo {
                dims,
                type_size,
                type_name,
                references,
                variable_length,
                layout,
                chunk,
                filters,
                external,
            })
        }
    }

    /// Bytes the dataset's data occupies in the file.
    pub(crate) fn storage_size(&self) -> u64 {
        // SAFETY: the dataset is open.
        unsafe { H5Dget_storage_size(self.0.0) }
    }

    /// Writes cached chunks out (through the filters).
    ///
    /// # Errors
    /// If a chunk fails to compress or write.
    pub(crate) fn flush(&self) -> Result<()> {
        // SAFETY: the dataset is open.
        check(
            unsafe { H5Dflush(self.0.0) },
            "cannot write the dataset out",
        )
    }

    /// Creates dataset `path` under `dst` with `like`'s type, extent and
    /// creation properties (fill value, attribute order), chunks of `chunk`
    /// and `filter_id` with `values` as its only, mandatory, filter.
    ///
    /// # Errors
    /// If HDF5 or the filter refuses the dataset.
    pub(crate) fn create_filtered(
        dst: &Group,
        path: &str,
        utf8: bool,
        like: &Dataset,
        chunk: &[u64],
        filter_id: i32,
        values: &[u32],
    ) -> Result<Dataset> {
        let c = cstring(path)?;
        let lcpl = link_plist(utf8)?;
        let src = like.0.0;
        // SAFETY: src is open; chunk and values are read for their lengths.
        let id = unsafe {
            let dtype = Id::new(H5Dget_type(src), "H5Dget_type")?;
            // A transient copy: a committed type belongs to the input file.
            let dtype = Id::new(H5Tcopy(dtype.0), "H5Tcopy")?;
            let space = Id::new(H5Dget_space(src), "H5Dget_space")?;
            let dcpl = Id::new(H5Dget_create_plist(src), "H5Dget_create_plist")?;
            if H5Pget_nfilters(dcpl.0) > 0 {
                check(H5Premove_filter(dcpl.0, H5Z_FILTER_ALL), "H5Premove_filter")?;
            }
            check(
                H5Pset_chunk(dcpl.0, chunk.len() as i32, chunk.as_ptr()),
                format!("cannot set chunks {chunk:?}"),
            )?;
            check(
                H5Pset_filter(
                    dcpl.0,
                    filter_id,
                    H5Z_FLAG_MANDATORY,
                    values.len(),
                    if values.is_empty() {
                        std::ptr::null()
                    } else {
                        values.as_ptr()
                    },
                ),
                format!("cannot set filter {filter_id}"),
            )?;
            // Checked before the lists are released (any HDF5 call clears
            // the error stack).
            Id::new(
                H5Dcreate2(
                    dst.0.0,
                    c.as_ptr(),
                    dtype.0,
                    space.0,
                    lcpl.0,
                    dcpl.0,
                    H5P_DEFAULT,
                ),
                format!("cannot create {path}"),
            )?
        };
        Ok(Dataset(id))
    }

    /// Copies this dataset's attributes to `dst`; returns a note per
    /// attribute left out.
    ///
    /// # Errors
    /// If an attribute cannot be read or written.
    pub(crate) fn copy_attributes(&self, dst: &Dataset) -> Result<Vec<String>> {
        copy_attributes(self.0.0, dst.0.0)
    }

    /// The stored size and filter mask of the chunk at element `offset`
    /// (`None` if it was never written).
    ///
    /// # Errors
    /// If HDF5 cannot look the chunk up.
    pub(crate) fn chunk_at(&self, offset: &[u64]) -> Result<Option<(u64, u32)>> {
        let (mut mask, mut addr, mut size): (c_uint, haddr_t, hsize_t) = (0, 0, 0);
        // SAFETY: offset holds the dataset's rank entries; out pointers valid.
        check(
            unsafe {
                H5Dget_chunk_info_by_coord(
                    self.0.0,
                    offset.as_ptr(),
                    &raw mut mask,
                    &raw mut addr,
                    &raw mut size,
                )
            },
            format!("cannot look up the chunk at {offset:?}"),
        )?;
        Ok((addr != HADDR_UNDEF && size > 0).then_some((size, mask)))
    }

    /// The stored bytes of the chunk at `offset`, `size` bytes long (from
    /// [`Dataset::chunk_at`]), as the filters left them.
    ///
    /// # Errors
    /// If HDF5 cannot read it.
    pub(crate) fn read_raw_chunk(&self, offset: &[u64], size: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(size).context("chunk too large")?;
        let mut buf = vec![0u8; len];
        let mut mask: u32 = 0;
        // SAFETY: buf holds the chunk's stored size, which HDF5 writes.
        check(
            unsafe {
                H5Dread_chunk1(
                    self.0.0,
                    H5P_DEFAULT,
                    offset.as_ptr(),
                    &raw mut mask,
                    buf.as_mut_ptr().cast(),
                )
            },
            format!("cannot read the stored chunk at {offset:?}"),
        )?;
        Ok(buf)
    }
}

/// Copies blocks of elements between two datasets of the same fixed-size
/// type and extent, through a reused buffer.
pub(crate) struct BlockCopier<'a> {
    src: &'a Dataset,
    dst: &'a Dataset,
    memtype: Id,
    type_size: usize,
    buf: Vec<u128>,
}

impl<'a> BlockCopier<'a> {
    /// A copier from `src` to `dst`.
    ///
    /// # Errors
    /// If `src`'s type has variable-length parts (whose memory HDF5 would
    /// allocate), or HDF5 cannot describe it.
    pub(crate) fn new(src: &'a Dataset, dst: &'a Dataset) -> Result<BlockCopier<'a>> {
        // SAFETY: src is open.
        unsafe {
            let memtype = Id::new(H5Dget_type(src.0.0), "H5Dget_type")?;
            if has_variable_length(memtype.0) {
                bail!("variable-length types are not copied in blocks");
            }
            let type_size = H5Tget_size(memtype.0);
            Ok(BlockCopier {
                src,
                dst,
                memtype,
                type_size,
                buf: Vec::new(),
            })
        }
    }

    /// Copies the block of `count` elements at `start`.
    ///
    /// # Errors
    /// If reading (e.g. an unavailable filter) or writing (e.g. the filter
    /// fails) fails.
    pub(crate) fn copy(&mut self, start: &[u64], count: &[u64]) -> Result<()> {
        let n: u64 = count.iter().product();
        if n == 0 {
            return Ok(());
        }
        let bytes = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(self.type_size))
            .context("block too large for memory")?;
        if self.buf.len() * 16 < bytes {
            self.buf = aligned_buffer(bytes);
        }
        let rank = count.len() as i32;
        let buf = self.buf.as_mut_ptr().cast::<c_void>();
        // SAFETY: start and count hold the datasets' rank entries; buf holds
        // count's elements of memtype, a fixed-size type.
        unsafe {
            let mem = Id::new(
                H5Screate_simple(rank, count.as_ptr(), std::ptr::null()),
                "H5Screate_simple",
            )?;
            let fin = Id::new(H5Dget_space(self.src.0.0), "H5Dget_space")?;
            select(&fin, start, count)?;
            check(
                H5Dread(self.src.0.0, self.memtype.0, mem.0, fin.0, H5P_DEFAULT, buf),
                format!("cannot read {count:?} elements at {start:?}"),
            )?;
            let fout = Id::new(H5Dget_space(self.dst.0.0), "H5Dget_space")?;
            select(&fout, start, count)?;
            check(
                H5Dwrite(
                    self.dst.0.0,
                    self.memtype.0,
                    mem.0,
                    fout.0,
                    H5P_DEFAULT,
                    buf,
                ),
                format!("cannot write {count:?} elements at {start:?}"),
            )
        }
    }
}

/// Selects the block at `start` of `count` elements.
fn select(space: &Id, start: &[u64], count: &[u64]) -> Result<()> {
    // SAFETY: start and count hold the space's rank entries.
    check(
        unsafe {
            H5Sselect_hyperslab(
                space.0,
                H5S_SELECT_SET,
                start.as_ptr(),
                std::ptr::null(),
                count.as_ptr(),
                std::ptr::null(),
            )
        },
        "H5Sselect_hyperslab",
    )
}

fn space_dims(space: &Id) -> Result<Vec<u64>> {
    // SAFETY: dims holds MAX_RANK entries, the most a space has.
    unsafe {
        let rank = H5Sget_simple_extent_ndims(space.0);
        if rank < 0 {
            return Err(failure("H5Sget_simple_extent_ndims"));
        }
        let mut dims = [0 as hsize_t; MAX_RANK];
        if rank > 0
            && H5Sget_simple_extent_dims(space.0, dims.as_mut_ptr(), std::ptr::null_mut()) < 0
        {
            return Err(failure("H5Sget_simple_extent_dims"));
        }
        Ok(dims[..rank as usize].to_vec())
    }
}

/// Filter `index` of `dcpl`.
///
/// # Safety
/// `dcpl` must be an open dataset creation property list with more than
/// `index` filters.
unsafe fn filter_info(dcpl: hid_t, index: c_uint) -> Result<FilterInfo> {
    let mut cap = 32usize;
    loop {
        let mut values = vec![0 as c_uint; cap];
        let mut name = [0 as c_char; 256];
        let (mut flags, mut n, mut config) = (0 as c_uint, cap, 0 as c_uint);
        // SAFETY: values holds n entries, name 256 bytes.
        let id = unsafe {
            H5Pget_filter2(
                dcpl,
                index,
                &raw mut flags,
                &raw mut n,
                values.as_mut_ptr(),
                name.len(),
                name.as_mut_ptr(),
                &raw mut config,
            )
        };
        if id < 0 {
            return Err(failure(format!("cannot read filter {index}")));
        }
        if n > cap {
            cap = n;
            continue;
        }
        values.truncate(n);
        // SAFETY: HDF5 NUL-terminates the name within the buffer.
        let name = unsafe { CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: a plain query; it may load a plugin.
        let available = unsafe { H5Zfilter_avail(id) } > 0;
        // filter_avail leaves nothing on the stack when it says no.
        // SAFETY: clearing the default stack is always allowed.
        unsafe { H5Eclear2(H5E_DEFAULT) };
        return Ok(FilterInfo {
            id,
            name,
            values,
            available,
        });
    }
}

/// Whether values of type `t` have variable-length parts (sequences or
/// strings, at any depth), which filters cannot be applied to.
///
/// # Safety
/// `t` must be an open datatype.
unsafe fn has_variable_length(t: hid_t) -> bool {
    // SAFETY: forwarded to the caller; member and base types are released.
    unsafe {
        match H5Tget_class(t) {
            H5T_VLEN => true,
            H5T_STRING => H5Tis_variable_str(t) > 0,
            H5T_COMPOUND => (0..H5Tget_nmembers(t).max(0) as c_uint).any(|i| {
                Id::new(H5Tget_member_type(t, i), "H5Tget_member_type")
                    .is_ok_and(|m| has_variable_length(m.0))
            }),
            H5T_ARRAY => {
                Id::new(H5Tget_super(t), "H5Tget_super").is_ok_and(|b| has_variable_length(b.0))
            }
            _ => false,
        }
    }
}

/// A short description of a datatype.
///
/// # Safety
/// `t` must be an open datatype.
unsafe fn type_name(t: hid_t) -> String {
    // SAFETY: forwarded to the caller.
    unsafe {
        let size = H5Tget_size(t);
        let bits = size * 8;
        match H5Tget_class(t) {
            H5T_INTEGER if H5Tget_sign(t) == H5T_SGN_NONE => format!("uint{bits}"),
            H5T_INTEGER => format!("int{bits}"),
            H5T_FLOAT => format!("float{bits}"),
            H5T_STRING if H5Tis_variable_str(t) > 0 => "vlen string".to_owned(),
            H5T_STRING => format!("string[{size}]"),
            H5T_COMPOUND => format!("compound[{size} B]"),
            H5T_ENUM => format!("enum{bits}"),
            H5T_ARRAY => format!("array[{size} B]"),
            H5T_VLEN => "vlen".to_owned(),
            H5T_REFERENCE => "reference".to_owned(),
            H5T_OPAQUE => format!("opaque[{size} B]"),
            H5T_BITFIELD => format!("bitfield{bits}"),
            H5T_TIME => "time".to_owned(),
            _ => format!("other[{size} B]"),
        }
    }
}

/// The names of `obj`'s attributes, in creation order if tracked.
fn attribute_names(obj: hid_t) -> Result<Vec<CString>> {
    unsafe extern "C" fn collect(
        _loc: hid_t,
        name: *const c_char,
        _info: *const H5A_info_t,
        data: *mut c_void,
    ) -> herr_t {
        // SAFETY: HDF5 passes a valid name; data is our Vec.
        unsafe {
            (*data.cast::<Vec<CString>>()).push(CStr::from_ptr(name).to_owned());
        }
        0
    }
    for index in [H5_INDEX_CRT_ORDER, H5_INDEX_NAME] {
        let mut names: Vec<CString> = Vec::new();
        let mut idx: hsize_t = 0;
        // SAFETY: the callback only pushes copies of the names.
        let rc = unsafe {
            H5Aiterate2(
                obj,
                index,
                H5_ITER_INC,
                &raw mut idx,
                Some(collect),
                (&raw mut names).cast(),
            )
        };
        if rc >= 0 {
            return Ok(names);
        }
        // Creation order is not tracked: fall back to names.
        // SAFETY: clearing the default stack is always allowed.
        unsafe { H5Eclear2(H5E_DEFAULT) };
    }
    Err(failure("cannot list attributes"))
}

/// Copies every attribute of `src` to `dst` (exact bytes, variable-length
/// values included); attributes holding references (which point into the
/// source file) are left out with a note.
fn copy_attributes(src: hid_t, dst: hid_t) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for name in attribute_names(src)? {
        let shown = name.to_string_lossy().into_owned();
        // SAFETY: src is open; name is a valid C string; the buffer holds
        // npoints elements of the attribute's (memory) type; variable-length
        // memory HDF5 allocates on reading is reclaimed once after writing.
        unsafe {
            let attr = Id::new(
                H5Aopen(src, name.as_ptr(), H5P_DEFAULT),
                format!("cannot open attribute {shown}"),
            )?;
            let dtype = Id::new(H5Aget_type(attr.0), "H5Aget_type")?;
            if H5Tdetect_class(dtype.0, H5T_REFERENCE) > 0 {
                notes.push(format!(
                    "attribute {shown} left out: it holds references into the input file"
                ));
                continue;
            }
            let space = Id::new(H5Aget_space(attr.0), "H5Aget_space")?;
            let acpl = Id::new(H5Aget_create_plist(attr.0), "H5Aget_create_plist")?;
            let npoints = usize::try_from(H5Sget_simple_extent_npoints(space.0)).unwrap_or(0);
            let mut buf = aligned_buffer(npoints * H5Tget_size(dtype.0));
            let p = buf.as_mut_ptr().cast::<c_void>();
            if npoints > 0 {
                check(
                    H5Aread(attr.0, dtype.0, p),
                    format!("cannot read attribute {shown}"),
                )?;
            }
            let written = Id::new(
                H5Acreate2(dst, name.as_ptr(), dtype.0, space.0, acpl.0, H5P_DEFAULT),
                format!("cannot create attribute {shown}"),
            )
            .and_then(|out| {
                if npoints > 0 {
                    check(
                        H5Awrite(out.0, dtype.0, p),
                        format!("cannot write attribute {shown}"),
                    )
                } else {
                    Ok(())
                }
            });
            if npoints > 0 && has_variable_length(dtype.0) {
                H5Dvlen_reclaim(dtype.0, space.0, H5P_DEFAULT, p);
            }
            written?;
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_hdf5_messages() {
        init().unwrap();
        let Err(e) = File::open(Path::new("/nonexistent/file.h5")) else {
            panic!("opened a missing file")
        };
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/file.h5"), "{msg}");
        assert!(msg.contains(':'), "{msg}");
    }
}
