//! Writes a 2-D float32 array with the `btune` codec to a filesystem store
//! in a temporary directory, reopens it from its metadata (zarrs finds the
//! codec because this program links `zarrs_btune`), reads it back, and shows
//! the metadata and the parameters the chunks got.
//!
//! ```sh
//! cargo run --release -p zarrs-btune --example write_read
//! ```
//!
//! `cargo test` runs it too (`test = true` in Cargo.toml).

use std::error::Error;
use std::sync::Arc;

use zarrs::array::{Array, ArrayBuilder, data_type};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;
use zarrs_btune::{BtuneCodec, BtuneCodecConfiguration, Tradeoff, Typesize};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(FilesystemStore::new(dir.path())?);
    GroupBuilder::new()
        .build(store.clone(), "/")?
        .store_metadata()?;

    // A smooth field with some noise, 1024 x 1024 float32 (4 MiB) in
    // 256 x 256 chunks (256 KiB each).
    let (ny, nx) = (1024u64, 1024u64);
    let data: Vec<f32> = (0..ny * nx)
        .map(|i| {
            let (y, x) = ((i / nx) as f32, (i % nx) as f32);
            (y * 0.01).sin() * (x * 0.013).cos() * 100.0 + ((i * 2_654_435_761) % 97) as f32 * 1e-3
        })
        .collect();

    let config = BtuneCodecConfiguration::tuned(Typesize::new(4).ok_or("typesize")?)
        .with_tradeoff(Tradeoff::new(0.5).ok_or("tradeoff")?);
    let array = ArrayBuilder::new(vec![ny, nx], vec![256, 256], data_type::float32(), 0.0f32)
        .bytes_to_bytes_codecs(vec![Arc::new(BtuneCodec::new_with_configuration(&config)?)])
        .dimension_names(["y", "x"].into())
        .build(store.clone(), "/field")?;
    array.store_metadata()?;
    array.store_array_subset(&array.subset_all(), data.clone())?;
    println!("metadata:\n{}", array.metadata().to_string_pretty());

    // A reader that knows only the path: the codec comes from the registry.
    let reopened = Array::open(store, "/field")?;
    let back: Vec<f32> = reopened.retrieve_array_subset(&reopened.subset_all())?;
    assert!(
        back.iter()
            .zip(&data)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the array reads back exactly"
    );

    let mut stored = 0u64;
    for cy in 0..ny / 256 {
        for cx in 0..nx / 256 {
            let raw = reopened
                .retrieve_encoded_chunk(&[cy, cx])?
                .ok_or("chunk missing")?;
            stored += raw.len() as u64;
            let h = btune_core::blosc2::inspect(&raw)?;
            // The header cannot tell lz4 from lz4hc, nor record the level.
            let codec = h.codec.map_or("other", |c| c.name());
            let filter = h.filter.map_or("other", |f| f.name());
            println!(
                "chunk ({cy}, {cx}): {codec}/{filter}/split {}/blocksize {}  {} -> {} bytes",
                h.split, h.blocksize, h.nbytes, h.cbytes
            );
        }
    }
    let logical = ny * nx * 4;
    println!(
        "{logical} bytes -> {stored} bytes stored (ratio {:.2}); read back exactly",
        logical as f64 / stored as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn example_runs() {
        super::main().unwrap();
    }
}
