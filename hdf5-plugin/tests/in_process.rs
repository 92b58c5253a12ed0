//! The filter registered in this process (`btune_hdf5::register`, as the
//! CLI does), so its tuner registry is observable: per-dataset tuners,
//! errors on HDF5's error stack, and calls from many threads.

mod common;

use std::ffi::{c_uint, c_void};

use btune_core::{ChunkFormat, Clevel, Codec, Filter, Params, SplitMode, blosc2};
use btune_hdf5::registry;
use common::{File, Ty, create, lock, open, temp_file, walk};

fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: H5open initialises the library before registration.
    ONCE.call_once(|| {
        unsafe { hdf5_metno_sys::h5::H5open() };
        btune_hdf5::register().unwrap();
    });
}

#[test]
fn interleaved_datasets_get_their_own_tuners_and_reopening_keeps_them() {
    let _g = lock();
    register();
    let path = temp_file("interleaved.h5");
    let before = registry::tuner_count();
    let (chunk, n) = (32_768u64, 8u64);
    let smooth = walk(Ty::F64, (chunk * n) as usize, 1);
    let other = walk(Ty::F64, (chunk * n) as usize, 2);
    {
        let file = File::create(&path);
        let a = create(
            &file,
            "a",
            Ty::F64,
            &[chunk * 4],
            Some(&[u64::MAX]),
            &[chunk],
            &[],
        )
        .unwrap();
        let b = create(
            &file,
            "b",
            Ty::F64,
            &[chunk * 4],
            Some(&[u64::MAX]),
            &[chunk],
            &[],
        )
        .unwrap();
        assert_eq!(registry::tuner_count(), before + 2, "one tuner per dataset");
        let (va, vb) = (a.filter_values(), b.filter_values());
        assert_eq!(va[..10], vb[..10], "same dtype and chunk shape");
        assert_ne!(va, vb, "but different dataset ids");
        let bytes = (chunk * 8) as usize;
        for c in 0..4u64 {
            let r = c as usize * bytes..(c as usize + 1) * bytes;
            a.write(&[c * chunk], &[chunk], &smooth[r.clone()]).unwrap();
            b.write(&[c * chunk], &[chunk], &other[r]).unwrap();
        }
    }
    {
        // Reopened for appending in the same process: same tuners, no new ones.
        let file = File::open_rw(&path);
        for (name, data) in [("a", &smooth), ("b", &other)] {
            let d = open(&file, name, Ty::F64);
            d.extend(&[chunk * n]);
            let bytes = (chunk * 8) as usize;
            for c in 4..n {
                let r = c as usize * bytes..(c as usize + 1) * bytes;
                d.write(&[c * chunk], &[chunk], &data[r]).unwrap();
            }
            assert_eq!(&d.read_all().unwrap(), data);
        }
        assert_eq!(registry::tuner_count(), before + 2);
    }
}

/// Writes one good dataset and returns (file, stored bytes of chunk 0).
fn good_dataset(name: &str) -> (File, Vec<u8>) {
    let file = File::create(&temp_file(name));
    let ds = create(&file, "d", Ty::I32, &[40_000], None, &[10_000], &[]).unwrap();
    ds.write(&[0], &[40_000], &walk(Ty::I32, 40_000, 9))
        .unwrap();
    let raw = ds.read_raw_chunk(&[0]);
    drop(ds);
    (file, raw)
}

#[test]
fn corrupt_truncated_and_wrong_size_chunks_are_hdf5_errors() {
    let _g = lock();
    register();
    let lz4 = Params::new(
        Codec::Lz4,
        Filter::Shuffle,
        Clevel::new(5).unwrap(),
        SplitMode::Never,
    );
    let small = blosc2::chunk_to_frame(
        &blosc2::compress(&walk(Ty::I32, 5_000, 1), 4, &lz4).unwrap(),
        4,
    )
    .unwrap();
    let (file, raw) = good_dataset("errors.h5");
    let mut flipped = raw.clone();
    let mid = flipped.len() / 2;
    flipped[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("garbage", vec![7u8; 300], "Blosc2"),
        ("truncated", raw[..raw.len() / 2].to_vec(), "Blosc2"),
        ("flipped", flipped, "Blosc2"),
        ("wrong size", small, "bytes"),
    ];
    for (what, bytes, expect) in cases {
        let ds = open(&file, "d", Ty::I32);
        ds.write_raw_chunk(&[0], &bytes);
        let err = ds
            .read_all()
            .err()
            .unwrap_or_else(|| panic!("{what}: read succeeded"));
        assert!(
            err.contains("btune blosc2 filter") && err.contains(expect),
            "{what}: {err}"
        );
    }
}

#[test]
fn datasets_the_filter_cannot_handle_are_refused_at_creation() {
    let _g = lock();
    register();
    let file = File::create(&temp_file("refused.h5"));
    let cases: [(&str, u64, &[u32], &str); 3] = [
        // 2^28 doubles = 2 GiB per chunk, above Blosc2's limit.
        ("huge", 1 << 28, &[], "exceed Blosc2's limit"),
        // clevel 0 (stored uncompressed) is a setting we do not write.
        ("c0", 10, &[0, 0, 0, 0, 0, 1, 1], "clevel 0"),
        // Snappy (code 3) is not in this c-blosc2.
        ("snappy", 10, &[0, 0, 0, 0, 5, 1, 3], "codec code 3"),
    ];
    for (name, chunk, values, expect) in cases {
        let err = create(
            &file,
            name,
            Ty::F64,
            &[chunk.max(100)],
            None,
            &[chunk],
            values,
        )
        .err()
        .unwrap_or_else(|| panic!("{name}: dataset created"));
        assert!(err.contains(expect), "{name}: {err}");
    }
}

/// `H5Z_class2_t`, to call the filter function as HDF5 would.
#[repr(C)]
struct FilterClass {
    version: i32,
    id: i32,
    encoder_present: c_uint,
    decoder_present: c_uint,
    name: *const i8,
    can_apply: *const c_void,
    set_local: *const c_void,
    filter: unsafe extern "C" fn(
        c_uint,
        usize,
        *const c_uint,
        usize,
        *mut usize,
        *mut *mut c_void,
    ) -> usize,
}

// SAFETY: the class is HDF5's static, immutable registration record.
unsafe impl Sync for FilterClass {}

/// Runs the filter on a malloc'd copy of `input`, as HDF5 does.
fn run_filter(class: &FilterClass, reverse: bool, values: &[u32], input: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the buffer is malloc'd like HDF5's; the filter frees or keeps it.
    unsafe {
        let mut buf = libc::malloc(input.len().max(1));
        std::ptr::copy_nonoverlapping(input.as_ptr(), buf.cast::<u8>(), input.len());
        let mut size = input.len();
        let flags = if reverse { 0x0100 } else { 0 };
        let n = (class.filter)(
            flags,
            values.len(),
            values.as_ptr(),
            input.len(),
            &mut size,
            &mut buf,
        );
        let out = (n > 0).then(|| std::slice::from_raw_parts(buf.cast::<u8>(), n).to_vec());
        if n > 0 {
            assert_eq!(size, n, "*buf_size must be the output size");
        }
        libc::free(buf);
        out
    }
}

#[test]
fn many_threads_write_one_dataset_and_others_at_once() {
    let _g = lock();
    register();
    // SAFETY: the exported function returns the static class.
    let class = unsafe { &*btune_hdf5::H5PLget_plugin_info().cast::<FilterClass>() };
    // Stored values of two 2-D datasets (as set_local writes them).
    let values = |id: u32| -> Vec<u32> {
        vec![
            1,
            0,
            8,
            256 * 128 * 8,
            7,
            2,
            1,
            2,
            256,
            128,
            btune_hdf5::values::TAIL_MAGIC,
            1,
            id,
            0,
            3,
            u32::MAX,
            u32::MAX,
        ]
    };
    let before = registry::tuner_count();
    std::thread::scope(|s| {
        for t in 0..8u32 {
            let class = &class;
            let values = values(1000 + t % 2);
            s.spawn(move || {
                for k in 0..6u64 {
                    let data = walk(Ty::F64, 256 * 128, u64::from(t) * 100 + k);
                    let enc = run_filter(class, false, &values, &data).expect("encode");
                    assert!(blosc2::is_frame(&enc));
                    let dec = run_filter(class, true, &values, &enc).expect("decode");
                    assert_eq!(dec, data, "thread {t} chunk {k}");
                }
            });
        }
    });
    assert_eq!(
        registry::tuner_count(),
        before + 2,
        "threads of one dataset share its tuner"
    );
    // A chunk of the wrong size for the dataset fails cleanly on any thread.
    assert!(run_filter(class, false, &values(1000), &[0u8; 100]).is_none());
    let _ = common::error_stack();
    // The core's own b2nd frame of the same shape decodes through the filter.
    let data = walk(Ty::F64, 256 * 128, 77);
    let shape = btune_core::ChunkShape::new(&[256, 128]).unwrap();
    let tuner = btune_core::Tuner::new(btune_core::Config::default(), 8).unwrap();
    let frame = tuner
        .compress(&data, ChunkFormat::B2ndFrame(shape))
        .unwrap()
        .bytes;
    assert_eq!(
        run_filter(class, true, &values(1000), &frame).unwrap(),
        data
    );
}
