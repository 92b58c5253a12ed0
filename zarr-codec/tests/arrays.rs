//! Arrays written and read through zarrs with the `btune` codec on a
//! filesystem store: every dtype and dimensionality round-trips byte for
//! byte, fixed parameters land in the chunk headers, corrupt chunks give
//! zarrs errors, threads share one array's tuner, and the configuration
//! survives the metadata (unknown keys ignored, invalid values refused).

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use btune_core::{Codec, Filter, SplitMode, blosc2};
use zarrs::array::{Array, ArrayBuilder, ArraySubset, DataType, ElementOwned, data_type};
use zarrs::filesystem::FilesystemStore;
use zarrs_btune::{BtuneCodec, BtuneCodecConfiguration, Typesize};

fn store(dir: &Path) -> Arc<FilesystemStore> {
    Arc::new(FilesystemStore::new(dir).unwrap())
}

fn btune(config: &BtuneCodecConfiguration) -> Arc<BtuneCodec> {
    Arc::new(BtuneCodec::new_with_configuration(config).unwrap())
}

fn tuned(typesize: usize) -> BtuneCodecConfiguration {
    BtuneCodecConfiguration::tuned(Typesize::new(typesize).unwrap())
}

fn fixed(typesize: usize, params: &str) -> BtuneCodecConfiguration {
    BtuneCodecConfiguration::fixed(Typesize::new(typesize).unwrap(), params.parse().unwrap())
}

/// A deterministic pseudo-random sequence (xorshift), for noise.
fn noise(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

/// Writes `data` into a new array at `dir`/a with `config`, reopens it
/// from its metadata (through the plugin registry) and checks every byte.
fn round_trip<T>(
    dir: &Path,
    dtype: DataType,
    fill: T,
    shape: &[u64],
    chunks: &[u64],
    data: &[T],
    config: &BtuneCodecConfiguration,
) where
    T: ElementOwned + Copy + PartialEq + Debug,
    zarrs::array::builder::ArrayBuilderFillValue: From<T>,
{
    let s = store(dir);
    let array = ArrayBuilder::new(shape.to_vec(), chunks.to_vec(), dtype, fill)
        .bytes_to_bytes_codecs(vec![btune(config)])
        .build(s.clone(), "/a")
        .unwrap();
    array.store_metadata().unwrap();
    let all = array.subset_all();
    array.store_array_subset(&all, data.to_vec()).unwrap();
    let reopened = Array::open(s, "/a").unwrap();
    let back: Vec<T> = reopened.retrieve_array_subset(&all).unwrap();
    assert_eq!(back.len(), data.len());
    // Compare bytes, so NaN payloads count too.
    let bytes = |v: &[T]| -> Vec<u8> {
        let n = std::mem::size_of_val(v);
        // SAFETY: T is a plain numeric element type; reading its bytes is sound.
        unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), n) }.to_vec()
    };
    assert!(bytes(&back) == bytes(data), "{shape:?}/{chunks:?} differs");
}

/// Shapes with partial edge chunks in every dimension.
const SHAPES: [(&[u64], &[u64]); 3] = [
    (&[100_003], &[16_384]),
    (&[301, 257], &[64, 100]),
    (&[21, 33, 47], &[8, 16, 20]),
];

fn each_shape(mut f: impl FnMut(&Path, &[u64], &[u64], usize)) {
    for (shape, chunks) in SHAPES {
        let n = shape.iter().product::<u64>() as usize;
        let dir = tempfile::tempdir().unwrap();
        f(dir.path(), shape, chunks, n);
    }
}

#[test]
fn u8_round_trips() {
    each_shape(|dir, shape, chunks, n| {
        let r = noise(n, 1);
        let data: Vec<u8> = (0..n).map(|i| (i / 50) as u8 ^ (r[i] as u8 & 3)).collect();
        round_trip(
            dir,
            data_type::uint8(),
            0u8,
            shape,
            chunks,
            &data,
            &tuned(1),
        );
    });
}

#[test]
fn i16_and_u16_round_trip() {
    each_shape(|dir, shape, chunks, n| {
        let r = noise(n, 2);
        let data: Vec<i16> = (0..n)
            .map(|i| ((i as f64 * 0.01).sin() * 3000.0) as i16 + (r[i] % 7) as i16)
            .collect();
        round_trip(
            dir,
            data_type::int16(),
            -1i16,
            shape,
            chunks,
            &data,
            &tuned(2),
        );
    });
    each_shape(|dir, shape, chunks, n| {
        let data: Vec<u16> = (0..n).map(|i| (i % 4099) as u16).collect();
        round_trip(
            dir,
            data_type::uint16(),
            7u16,
            shape,
            chunks,
            &data,
            &tuned(2),
        );
    });
}

#[test]
fn i32_and_i64_round_trip() {
    each_shape(|dir, shape, chunks, n| {
        let r = noise(n, 3);
        let data: Vec<i32> = (0..n).map(|i| i as i32 * 3 - (r[i] % 5) as i32).collect();
        round_trip(
            dir,
            data_type::int32(),
            0i32,
            shape,
            chunks,
            &data,
            &tuned(4),
        );
    });
    each_shape(|dir, shape, chunks, n| {
        let data: Vec<i64> = (0..n)
            .map(|i| 1_700_000_000_000 + i as i64 * 1000)
            .collect();
        round_trip(
            dir,
            data_type::int64(),
            0i64,
            shape,
            chunks,
            &data,
            &tuned(8),
        );
    });
}

#[test]
fn f32_and_f64_round_trip() {
    each_shape(|dir, shape, chunks, n| {
        let r = noise(n, 4);
        let mut data: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 0.001).cos() + (r[i] % 1000) as f32 * 1e-6)
            .collect();
        data[n / 2] = f32::NAN;
        data[n / 3] = f32::INFINITY;
        round_trip(
            dir,
            data_type::float32(),
            0.0f32,
            shape,
            chunks,
            &data,
            &tuned(4),
        );
    });
    each_shape(|dir, shape, chunks, n| {
        let r = noise(n, 5);
        let data: Vec<f64> = (0..n)
            .map(|i| (i as f64).sqrt() + f64::from_bits(0x3ff0_0000_0000_0000 | (r[i] >> 40)))
            .collect();
        round_trip(
            dir,
            data_type::float64(),
            f64::NAN,
            shape,
            chunks,
            &data,
            &tuned(8),
        );
    });
}

#[test]
fn fixed_parameters_and_tradeoffs_round_trip() {
    each_shape(|dir, shape, chunks, n| {
        let data: Vec<f64> = (0..n).map(|i| (i as f64 * 0.002).sin()).collect();
        let config = fixed(8, "zstd/shuffle-bytedelta/3/never");
        round_trip(
            dir,
            data_type::float64(),
            0.0f64,
            shape,
            chunks,
            &data,
            &config,
        );
    });
    for t in [0.0, 1.0] {
        each_shape(|dir, shape, chunks, n| {
            let data: Vec<u16> = (0..n).map(|i| (i / 3) as u16).collect();
            let config = tuned(2).with_tradeoff(zarrs_btune::Tradeoff::new(t).unwrap());
            round_trip(
                dir,
                data_type::uint16(),
                0u16,
                shape,
                chunks,
                &data,
                &config,
            );
        });
    }
}

/// A 2-D f64 array of 16 chunks of 128 KiB: enough data for the tuner to
/// explore (it waits for 256 KiB).
fn big_array(dir: &Path, config: &BtuneCodecConfiguration) -> (Array<FilesystemStore>, Vec<f64>) {
    let array = ArrayBuilder::new(vec![512, 512], vec![128, 128], data_type::float64(), 0.0f64)
        .bytes_to_bytes_codecs(vec![btune(config)])
        .build(store(dir), "/big")
        .unwrap();
    array.store_metadata().unwrap();
    let r = noise(512 * 512, 9);
    let data = (0..512 * 512)
        .map(|i| {
            let (y, x) = ((i / 512) as f64, (i % 512) as f64);
            (y * 0.03).sin() * (x * 0.02).cos() + (r[i] % 1024) as f64 * 1e-9
        })
        .collect();
    (array, data)
}

/// The array `big_array` made, reopened from its store, holds `data` bit
/// for bit.
fn assert_big_array_reads_back(dir: &Path, data: &[f64]) {
    let array = Array::open(store(dir), "/big").unwrap();
    let back: Vec<f64> = array.retrieve_array_subset(&array.subset_all()).unwrap();
    assert!(
        back.len() == data.len()
            && back
                .iter()
                .zip(data)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

fn codec_of<T: ?Sized>(array: &Array<T>) -> BtuneCodec {
    let chain = array.codecs();
    let b2b = chain.bytes_to_bytes_codecs();
    assert_eq!(b2b.len(), 1);
    b2b[0]
        .as_any()
        .downcast_ref::<BtuneCodec>()
        .expect("the btune codec")
        .clone()
}

#[test]
fn threads_writing_different_chunks_share_the_array_tuner() {
    let dir = tempfile::tempdir().unwrap();
    let (array, data) = big_array(dir.path(), &tuned(8));
    let chunk = |cy: u64, cx: u64| -> Vec<f64> {
        let mut out = Vec::with_capacity(128 * 128);
        for y in cy * 128..(cy + 1) * 128 {
            let row = y as usize * 512 + cx as usize * 128;
            out.extend_from_slice(&data[row..row + 128]);
        }
        out
    };
    // 8 threads, each writing two chunks, on one `Array` and so one codec.
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (array, chunk) = (&array, &chunk);
            s.spawn(move || {
                for k in [2 * t, 2 * t + 1] {
                    let (cy, cx) = (k / 4, k % 4);
                    array.store_chunk(&[cy, cx], chunk(cy, cx)).unwrap();
                }
            });
        }
    });
    let stats = codec_of(&array).tuner().unwrap().stats();
    assert_eq!(stats.chunks, 16, "every chunk went through the one tuner");
    assert!(stats.hards >= 1, "the tuner explored: {stats:?}");
    assert_big_array_reads_back(dir.path(), &data);
}

#[test]
fn zarrs_parallel_writes_round_trip() {
    // zarrs encodes the chunks of one call on its own thread pool.
    let dir = tempfile::tempdir().unwrap();
    let (array, data) = big_array(dir.path(), &tuned(8));
    array
        .store_array_subset(&array.subset_all(), data.clone())
        .unwrap();
    assert_eq!(codec_of(&array).tuner().unwrap().stats().chunks, 16);
    assert_big_array_reads_back(dir.path(), &data);
}

#[test]
fn fixed_parameters_are_in_every_chunk_header() {
    for (params, codec, filter, split) in [
        (
            "zstd/bitshuffle/5/never",
            Codec::Zstd,
            Filter::Bitshuffle,
            SplitMode::Never,
        ),
        (
            "lz4/shuffle/1/always",
            Codec::Lz4,
            Filter::Shuffle,
            SplitMode::Always,
        ),
        (
            "zlib/shuffle-bytedelta/3/never",
            Codec::Zlib,
            Filter::ShuffleBytedelta,
            SplitMode::Never,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (array, data) = big_array(dir.path(), &fixed(8, params));
        array.store_array_subset(&array.subset_all(), data).unwrap();
        assert!(codec_of(&array).tuner().is_none());
        let chunks = ArraySubset::new_with_shape(array.chunk_grid_shape().to_vec());
        for idx in &chunks.indices() {
            let raw = array.retrieve_encoded_chunk(&idx).unwrap().unwrap();
            assert!(!blosc2::is_frame(&raw), "a plain chunk, not a frame");
            let h = blosc2::inspect(&raw).unwrap();
            assert_eq!(
                (h.codec, h.filter, h.split, h.typesize, h.nbytes),
                (Some(codec), Some(filter), split, 8, 128 * 128 * 8),
                "{params} chunk {idx:?}"
            );
        }
    }
}

#[test]
fn tuned_chunks_are_plain_blosc2_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (array, data) = big_array(dir.path(), &tuned(8));
    array
        .store_array_subset(&array.subset_all(), data.clone())
        .unwrap();
    let raw = array.retrieve_encoded_chunk(&[3, 3]).unwrap().unwrap();
    let plain = blosc2::decompress(&raw, 1).unwrap();
    assert_eq!(plain.len(), 128 * 128 * 8);
    assert_eq!(blosc2::inspect(&raw).unwrap().typesize, 8);
}

/// Overwrites chunk (0, 1) of `big`'s stored files with `bytes`.
fn overwrite_chunk(dir: &Path, bytes: &[u8]) {
    let path = dir.join("big/c/0/1");
    assert!(path.is_file(), "chunk file at {}", path.display());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn corrupt_chunks_give_zarrs_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (array, data) = big_array(dir.path(), &tuned(8));
    array.store_array_subset(&array.subset_all(), data).unwrap();
    let good = std::fs::read(dir.path().join("big/c/0/1")).unwrap();
    let other_size = blosc2::compress(&[7u8; 4096], 8, &"lz4/shuffle/1".parse().unwrap()).unwrap();
    let mut flipped = good.clone();
    // A header claiming twice the bytes.
    flipped[4..8].copy_from_slice(&(2 * 128 * 128 * 8u32).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated header", good[..10].to_vec()),
        ("truncated body", good[..good.len() / 2].to_vec()),
        ("garbage", vec![0xa5; 5000]),
        ("another size", other_size),
        ("header size flipped", flipped),
    ];
    // Damage past the header: c-blosc2 keeps no checksum, so this may
    // decode to wrong bytes or fail; either way without a panic.
    let mut body = good.clone();
    for b in &mut body[64..] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    overwrite_chunk(dir.path(), &body);
    let reopened = Array::open(store(dir.path()), "/big").unwrap();
    let _ = reopened.retrieve_chunk::<Vec<f64>>(&[0, 1]);
    for (what, bytes) in cases {
        overwrite_chunk(dir.path(), &bytes);
        let reopened = Array::open(store(dir.path()), "/big").unwrap();
        let r = reopened.retrieve_chunk::<Vec<f64>>(&[0, 1]);
        assert!(r.is_err(), "{what}: read succeeded");
        let whole = reopened.retrieve_array_subset::<Vec<f64>>(&reopened.subset_all());
        assert!(whole.is_err(), "{what}: whole read succeeded");
        // Other chunks still read.
        assert!(reopened.retrieve_chunk::<Vec<f64>>(&[1, 1]).is_ok());
    }
}

fn zarr_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("big/zarr.json")).unwrap()).unwrap()
}

fn btune_entry(meta: &serde_json::Value) -> serde_json::Value {
    meta["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "btune")
        .cloned()
        .expect("a btune codec in the metadata")
}

#[test]
fn configuration_round_trips_through_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let config = tuned(8)
        .with_tradeoff(zarrs_btune::Tradeoff::new(0.25).unwrap())
        .with_perf_mode(btune_core::PerfMode::Decomp)
        .with_params("lz4/shuffle/3".parse().unwrap());
    let _ = big_array(dir.path(), &config);
    let entry = btune_entry(&zarr_json(dir.path()));
    assert_eq!(
        entry["configuration"],
        serde_json::json!({"typesize": 8, "tradeoff": 0.25, "perf_mode": "decomp",
                           "params": "lz4/shuffle/3/never/auto/1t"})
    );
    let reopened = Array::open(store(dir.path()), "/big").unwrap();
    let codec = codec_of(&reopened);
    assert_eq!(codec.configuration_typed(), &config);
    let tuner = codec.tuner().unwrap();
    assert_eq!(tuner.config().tradeoff, 0.25);
    assert_eq!(tuner.config().perf_mode, btune_core::PerfMode::Decomp);
    assert_eq!(tuner.typesize(), 8);
}

fn rewrite_btune_configuration(dir: &Path, configuration: serde_json::Value) {
    let mut meta = zarr_json(dir);
    for c in meta["codecs"].as_array_mut().unwrap() {
        if c["name"] == "btune" {
            c["configuration"] = configuration.clone();
        }
    }
    std::fs::write(dir.join("big/zarr.json"), meta.to_string()).unwrap();
}

#[test]
fn unknown_keys_are_ignored_and_invalid_values_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (array, data) = big_array(dir.path(), &tuned(8));
    array
        .store_array_subset(&array.subset_all(), data.clone())
        .unwrap();
    rewrite_btune_configuration(
        dir.path(),
        serde_json::json!({"typesize": 8, "perf_mode": "Balanced", "cname": "zstd",
                           "written_by": {"zarr-python": "3.1"}}),
    );
    let reopened = Array::open(store(dir.path()), "/big").unwrap();
    let back: Vec<f64> = reopened
        .retrieve_array_subset(&reopened.subset_all())
        .unwrap();
    assert!(
        back.iter()
            .zip(&data)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    for (bad, needle) in [
        (serde_json::json!({"typesize": 0}), "typesize 0"),
        (
            serde_json::json!({"typesize": 8, "tradeoff": 2}),
            "tradeoff 2",
        ),
        (
            serde_json::json!({"typesize": 8, "perf_mode": "x"}),
            "perf_mode",
        ),
        (
            serde_json::json!({"typesize": 8, "tune": false}),
            "needs \"params\"",
        ),
        (serde_json::json!({"params": "zstd/shuffle"}), "params"),
    ] {
        rewrite_btune_configuration(dir.path(), bad.clone());
        let e = Array::open(store(dir.path()), "/big")
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}
