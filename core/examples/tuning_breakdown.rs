//! Where a tuner's work goes: one tuner over a raw file of elements, cut
//! into chunks, printing each chunk's readapt, parameters, tuning time and
//! compression time, then the totals and the readapt counts. For looking at
//! one dataset closely; `btune bench` gives the figures. With
//! `RUST_LOG=btune_core=debug` the tuner's own log shows every trial.
//!
//! ```sh
//! cargo run --release -p btune-core --example tuning_breakdown -- \
//!     target/corpus-0.25/smooth_field_f64.bin 8 0.5
//! ```
//!
//! Arguments: FILE TYPESIZE TRADEOFF [CHUNK_BYTES (default 1048576)].

use std::process::ExitCode;

use btune_core::{ChunkFormat, Config, Tuner};

fn run(args: &[String]) -> Result<(), String> {
    let [file, typesize, tradeoff, rest @ ..] = args else {
        return Err("usage: tuning_breakdown FILE TYPESIZE TRADEOFF [CHUNK_BYTES]".into());
    };
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let typesize: usize = typesize
        .parse()
        .map_err(|e| format!("typesize {typesize:?}: {e}"))?;
    let tradeoff: f64 = tradeoff
        .parse()
        .map_err(|e| format!("tradeoff {tradeoff:?}: {e}"))?;
    let chunk_bytes: usize = match rest.first() {
        Some(s) => s.parse().map_err(|e| format!("chunk bytes {s:?}: {e}"))?,
        None => 1 << 20,
    };
    let chunk_bytes = (chunk_bytes / typesize.max(1)).max(1) * typesize.max(1);
    let config = Config {
        tradeoff,
        ..Config::default()
    };
    let tuner = Tuner::new(config, typesize).map_err(|e| e.to_string())?;
    let (mut tuning, mut compress) = (0.0, 0.0);
    for (i, chunk) in data.chunks(chunk_bytes).enumerate() {
        let c = tuner
            .compress(chunk, ChunkFormat::Chunk)
            .map_err(|e| format!("chunk {i}: {e}"))?;
        tuning += c.tuning_time;
        compress += c.compress_time;
        println!(
            "{i:4} {:<10} {:<40} tuning {:8.0} us  compress {:8.0} us",
            format!("{:?}", c.readapt),
            c.params.to_string(),
            c.tuning_time * 1e6,
            c.compress_time * 1e6
        );
    }
    let s = tuner.stats();
    println!(
        "total: tuning {:.0} us, compressing {:.0} us ({:.1}%); {} HARD, {} SOFT, {} changes, {} trials",
        tuning * 1e6,
        compress * 1e6,
        100.0 * tuning / compress.max(1e-12),
        s.hards,
        s.softs,
        s.changes,
        s.trials
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tuning_breakdown: {e}");
            ExitCode::FAILURE
        }
    }
}
