//! The plugin as HDF5 users get it: the system libhdf5 (1.10 on Debian)
//! loads the built `libbtune_hdf5.so` from a plugin directory holding only
//! it, and the plugin finds HDF5's functions in the process's global
//! namespace.

mod common;

use std::ffi::CString;

use btune_core::{Codec, Filter, blosc2};
use btune_hdf5::values::{Stored, TAIL_MAGIC};
use common::{File, Ty, create, lock, temp_file, walk};
use hdf5_metno_sys::h5pl;

fn load_plugin() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // HDF5 tries every file in a plugin directory: give it ours alone.
        let dir = temp_file("plugin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(common::built_plugin(), dir.join("libbtune_hdf5.so")).unwrap();
        let c = CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: valid C string; HDF5 copies it.
        assert!(unsafe { h5pl::H5PLprepend(c.as_ptr()) } >= 0);
    });
}

/// (type, dataset shape, chunk shape) for ranks 1 to 4, with edge chunks.
const CASES: [(Ty, &[u64], &[u64]); 4] = [
    (Ty::F64, &[100_000], &[16_384]),
    (Ty::I32, &[300, 500], &[64, 128]),
    (Ty::U16, &[40, 50, 60], &[16, 25, 60]),
    (Ty::U8, &[8, 20, 30, 40], &[4, 10, 30, 40]),
];

#[test]
fn system_hdf5_loads_the_plugin_and_every_rank_round_trips() {
    let _g = lock();
    load_plugin();
    let path = temp_file("ranks.h5");
    let file = File::create(&path);
    for (i, (ty, shape, chunk)) in CASES.into_iter().enumerate() {
        let n: u64 = shape.iter().product();
        let data = walk(ty, n as usize, i as u64);
        let ds = create(&file, &format!("d{i}"), ty, shape, None, chunk, &[]).unwrap();
        ds.write(&vec![0; shape.len()], shape, &data).unwrap();
        assert_eq!(ds.read_all().unwrap(), data, "rank {}", shape.len());
        let stored = ds.storage_size();
        assert!(
            stored < data.len() as u64 * 3 / 4,
            "rank {}: {stored} stored bytes for {} raw: not compressed",
            shape.len(),
            data.len()
        );
        let values = ds.filter_values();
        let s = Stored::parse(&values).unwrap();
        let chunk_items: u64 = chunk.iter().product();
        assert_eq!(
            values[..4],
            [
                1,
                0,
                ty.size() as u32,
                (chunk_items * ty.size() as u64) as u32
            ]
        );
        assert_eq!(
            s.dims(),
            chunk.iter().map(|&d| d as u32).collect::<Vec<_>>()
        );
        let tail = s.tail.expect("our tail after the dims");
        assert!(tail.tune && tail.whole_chunks);
        assert_eq!(values[8 + s.shape.len()], TAIL_MAGIC);
        // Chunks are one-chunk frames; b2nd metadata from rank 2 up.
        let raw = ds.read_raw_chunk(&vec![0; shape.len()]);
        assert!(blosc2::is_frame(&raw));
        assert_eq!(
            blosc2::decompressed_len(&raw).unwrap(),
            (chunk_items * ty.size() as u64) as usize
        );
    }
}

#[test]
fn hdf5plugin_style_values_fix_the_parameters() {
    let _g = lock();
    load_plugin();
    let file = File::create(&temp_file("fixed.h5"));
    // hdf5plugin.Blosc2(cname="zstd", clevel=3, filters=Blosc2.BITSHUFFLE)
    let data = walk(Ty::F64, 50_000, 3);
    let ds = create(
        &file,
        "fixed",
        Ty::F64,
        &[50_000],
        None,
        &[10_000],
        &[0, 0, 0, 0, 3, 2, 5],
    )
    .unwrap();
    ds.write(&[0], &[50_000], &data).unwrap();
    assert_eq!(ds.read_all().unwrap(), data);
    let values = ds.filter_values();
    assert_eq!(values[4..7], [3, 2, 5]);
    assert!(!Stored::parse(&values).unwrap().tail.unwrap().tune);
    for c in 0..5u64 {
        let chunk = blosc2::frame_chunk_bytes(&ds.read_raw_chunk(&[c * 10_000])).unwrap();
        let info = blosc2::inspect(&chunk).unwrap();
        assert_eq!(
            (info.codec, info.filter),
            (Some(Codec::Zstd), Some(Filter::Bitshuffle))
        );
    }
}

#[test]
fn option_values_set_tradeoff_and_perf_mode_per_dataset() {
    let _g = lock();
    load_plugin();
    let file = File::create(&temp_file("options.h5"));
    let ds = create(
        &file,
        "o",
        Ty::I32,
        &[64, 64],
        None,
        &[32, 64],
        &[TAIL_MAGIC, 250_000, 1],
    )
    .unwrap();
    let data = walk(Ty::I32, 64 * 64, 5);
    ds.write(&[0, 0], &[64, 64], &data).unwrap();
    assert_eq!(ds.read_all().unwrap(), data);
    let tail = Stored::parse(&ds.filter_values()).unwrap().tail.unwrap();
    assert_eq!(tail.options.tradeoff, Some(0.25));
    assert_eq!(tail.options.perf_mode, Some(btune_core::PerfMode::Decomp));
    // Out-of-range options are refused when the dataset is created.
    let err = create(
        &file,
        "bad",
        Ty::I32,
        &[64],
        None,
        &[32],
        &[TAIL_MAGIC, 3_000_000],
    )
    .err()
    .unwrap();
    assert!(err.contains("tradeoff"), "{err}");
}
