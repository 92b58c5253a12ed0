//! Borrowing the bytes of a Python object (`bytes`, `bytearray`,
//! `memoryview`, a NumPy array: anything with a C-contiguous buffer) without
//! copying them. The extension's only `unsafe` code.

use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;

use crate::error::Error;

/// A Python object's buffer, held for as long as its bytes are read.
pub(crate) struct Input(PyUntypedBuffer);

impl Input {
    /// The buffer of `obj`.
    ///
    /// # Errors
    /// [`Error::Input`] if `obj` has no buffer or a non-contiguous one.
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> Result<Input, Error> {
        let buf = PyUntypedBuffer::get(obj).map_err(|e| {
            Error::Input(format!(
                "expected bytes or an object with a contiguous buffer: {e}"
            ))
        })?;
        if !buf.is_c_contiguous() {
            return Err(Error::Input("the buffer is not C-contiguous".into()));
        }
        Ok(Input(buf))
    }

    /// The bytes. They stay valid while `self` lives; like every C extension
    /// that releases the GIL, we read them while other threads may run, so a
    /// buffer that another thread mutates meanwhile gives unspecified bytes
    /// (never unsafety for `bytes`, which is immutable).
    pub(crate) fn bytes(&self) -> &[u8] {
        let len = self.0.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: the buffer export keeps `len_bytes()` bytes at `buf_ptr()`
        // alive and in place until it is released (when `self.0` drops), and
        // they are contiguous (checked in `new`).
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr().cast::<u8>(), len) }
    }
}
