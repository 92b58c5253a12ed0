//! Every parameter set of the grid, in both formats, gives back the exact
//! bytes on every dataset of the small corpus; and the tuner's chunks do too.

mod common;

use btune_core::{ChunkFormat, Config, Tuner, blosc2, grid};

/// A piece from the middle of each dataset (whole elements) and an odd-sized
/// tail: full-grid runs over whole datasets would take minutes at zstd 9.
fn pieces(typesize: usize, data: &[u8]) -> Vec<&[u8]> {
    let len = (96 * 1024 / typesize * typesize).min(data.len() / typesize * typesize);
    let start = (data.len() - len) / 2 / typesize * typesize;
    let tail = (data.len() / typesize).min(37) * typesize;
    vec![&data[start..start + len], &data[data.len() - tail..]]
}

#[test]
fn every_grid_point_round_trips_on_every_dataset() {
    let mut checked = 0;
    for (name, typesize, data) in common::corpus() {
        for piece in pieces(typesize, &data) {
            for p in grid::oracle_grid(typesize) {
                let chunk = blosc2::compress(piece, typesize, &p).unwrap();
                assert_eq!(
                    blosc2::decompress(&chunk, 1).unwrap(),
                    piece,
                    "{name} {p} chunk"
                );
                let frame = blosc2::chunk_to_frame(&chunk, typesize).unwrap();
                assert_eq!(
                    blosc2::decompress(&frame, 2).unwrap(),
                    piece,
                    "{name} {p} frame"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 18 * 2 * 100,
        "only {checked} combinations checked"
    );
}

#[test]
fn tuned_chunks_round_trip_on_every_dataset() {
    for (name, typesize, data) in common::corpus() {
        for t in [0.0, 0.5, 1.0] {
            let c = Config {
                tradeoff: t,
                ..Config::default()
            };
            let tuner = Tuner::new(c, typesize).unwrap();
            for chunk in data.chunks(256 * 1024 / typesize * typesize).take(4) {
                let out = tuner.compress(chunk, ChunkFormat::Frame).unwrap();
                assert_eq!(
                    blosc2::decompress(&out.bytes, 1).unwrap(),
                    chunk,
                    "{name} t={t}"
                );
            }
        }
    }
}
