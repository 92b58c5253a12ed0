//! Benchmark: what one inference costs as the tuner pays it: a model
//! directory's network on one input row, each run right after compressing
//! a 1 MiB chunk (smooth float64s) with the given parameters, which is what
//! evicts the runtime's code and data from the caches between two chunks.
//! `none` runs the inferences back to back (tract's and the tuner's runs
//! alternate, so each follows the other).
//! Prints the minimum and median microseconds per inference, per
//! performance mode the directory holds: in tract
//! ([`Model::run_in_tract`]) and as the tuner runs it ([`Model::run`]: the
//! plain forward pass where the network is a stack of dense layers).
//!
//! ```sh
//! cargo run --release -p btune-core --example inference_cost -- models_sample zstd/none/9/never
//! ```
//!
//! Arguments: DIR [BETWEEN: none or codec/filter/clevel/split (default
//! lz4/shuffle/1/never)] [REPS (default 300)].

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use btune_core::model::Model;
use btune_core::{Params, PerfMode, blosc2};

fn run(args: &[String]) -> Result<(), String> {
    let [dir, rest @ ..] = args else {
        return Err("usage: inference_cost DIR [BETWEEN] [REPS]".into());
    };
    let between = rest.first().map_or("lz4/shuffle/1/never", String::as_str);
    let between: Option<Params> = match between {
        "none" => None,
        p => Some(p.parse().map_err(|e| format!("parameters {p:?}: {e}"))?),
    };
    let reps: usize = match rest.get(1) {
        Some(s) => s.parse().map_err(|e| format!("reps {s:?}: {e}"))?,
        None => 300,
    };
    #[allow(clippy::cast_precision_loss)]
    let chunk: Vec<u8> = (0..131_072)
        .flat_map(|i| ((i as f64 * 1e-3).sin() * 1e3).round().to_le_bytes())
        .collect();
    let mut out = Vec::with_capacity(chunk.len() + blosc2::MAX_OVERHEAD);
    for mode in PerfMode::ALL {
        let model = match Model::load(Path::new(dir), mode) {
            Ok(m) => m,
            Err(e) => {
                println!("{mode}: not loaded ({e})");
                continue;
            }
        };
        #[allow(clippy::cast_precision_loss)]
        let input: Vec<f32> = (0..=model.meta().features.len())
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let (mut tract, mut tuner) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
        for _ in 0..reps.max(1) {
            for (times, on_tract) in [(&mut tract, true), (&mut tuner, false)] {
                if let Some(p) = &between {
                    blosc2::compress_into(&chunk, 8, p, &mut out).map_err(|e| e.to_string())?;
                }
                let x = std::hint::black_box(&input);
                let t = Instant::now();
                std::hint::black_box(if on_tract {
                    model.run_in_tract(x)?
                } else {
                    model.run(x)?
                });
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        let (t_min, t_med) = min_median(&mut tract);
        let (r_min, r_med) = min_median(&mut tuner);
        println!(
            "{mode}: {} categories; tract {t_min:.1} us min, {t_med:.1} us median; \
             as the tuner runs it ({}) {r_min:.1} us min, {r_med:.1} us median",
            model.categories().len(),
            if model.runs_plain() { "plain" } else { "tract" },
        );
    }
    Ok(())
}

fn min_median(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inference_cost: {e}");
            ExitCode::FAILURE
        }
    }
}
