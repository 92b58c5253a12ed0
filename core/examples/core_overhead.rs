//! Benchmark: a fixed parameter set compressed through the core
//! (`btune_core::blosc2::compress_into`) against c-blosc2's own context API
//! called directly (`blosc2_create_cctx` once, `blosc2_compress_ctx` per
//! chunk), on the same chunks, interleaved run by run so that machine noise
//! hits both alike. Prints per-dataset and total time ratios (core / raw).
//!
//! ```sh
//! cargo run --release -p btune-core --example core_overhead -- target/corpus/manifest.json
//! ```

use std::ffi::c_void;
use std::time::Instant;

use blosc2_rs_sys as sys;
use btune_core::{Params, blosc2};

const CHUNK: usize = 1 << 20;
const ROUNDS: usize = 7;
const PARAMS: [&str; 3] = [
    "lz4/shuffle/5/always",
    "zstd/shuffle-bytedelta/1/never",
    "blosclz/bitshuffle/9/never",
];

fn raw_cparams(p: &Params, typesize: usize) -> sys::blosc2_cparams {
    let (filters, filters_meta) = p.filter.slots(typesize);
    sys::blosc2_cparams {
        compcode: p.codec.code(),
        compcode_meta: 0,
        clevel: p.clevel.get(),
        use_dict: 0,
        typesize: typesize as i32,
        nthreads: 1,
        blocksize: 0,
        splitmode: p.split.code(),
        schunk: std::ptr::null_mut(),
        filters,
        filters_meta,
        prefilter: None,
        preparams: std::ptr::null_mut(),
        tuner_params: std::ptr::null_mut(),
        tuner_id: 0,
        instr_codec: false,
        codec_params: std::ptr::null_mut(),
        filter_params: [std::ptr::null_mut(); 6],
    }
}

fn main() {
    let manifest = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/corpus/manifest.json".to_owned());
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let m: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    let dir = std::path::Path::new(&manifest).parent().unwrap().to_owned();
    let (mut core_total, mut raw_total) = (0.0, 0.0);
    println!(
        "{:<20} {:<34} {:>10} {:>10} {:>8}",
        "dataset", "params", "core ms", "raw ms", "ratio"
    );
    for d in m["datasets"].as_array().unwrap() {
        let typesize = d["typesize"].as_u64().unwrap() as usize;
        let data = std::fs::read(dir.join(d["file"].as_str().unwrap())).unwrap();
        let chunks: Vec<&[u8]> = data.chunks(CHUNK / typesize * typesize).collect();
        for text in PARAMS {
            let p: Params = text.parse().unwrap();
            // SAFETY: a fully initialised cparams; the context is freed below.
            let ctx = unsafe { sys::blosc2_create_cctx(raw_cparams(&p, typesize)) };
            assert!(!ctx.is_null());
            let mut out = Vec::with_capacity(CHUNK + blosc2::MAX_OVERHEAD);
            let mut raw_out = vec![0u8; CHUNK + blosc2::MAX_OVERHEAD];
            let (mut core_best, mut raw_best) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..ROUNDS {
                let t = Instant::now();
                for c in &chunks {
                    blosc2::compress_into(c, typesize, &p, &mut out).unwrap();
                }
                core_best = core_best.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                for c in &chunks {
                    // SAFETY: src and dest are valid for the sizes given.
                    let n = unsafe {
                        sys::blosc2_compress_ctx(
                            ctx,
                            c.as_ptr().cast::<c_void>(),
                            c.len() as i32,
                            raw_out.as_mut_ptr().cast::<c_void>(),
                            raw_out.len() as i32,
                        )
                    };
                    assert!(n > 0);
                }
                raw_best = raw_best.min(t.elapsed().as_secs_f64());
            }
            // SAFETY: created above, freed once.
            unsafe { sys::blosc2_free_ctx(ctx) };
            core_total += core_best;
            raw_total += raw_best;
            println!(
                "{:<20} {:<34} {:>10.3} {:>10.3} {:>8.3}",
                d["name"].as_str().unwrap(),
                text,
                core_best * 1e3,
                raw_best * 1e3,
                core_best / raw_best
            );
        }
    }
    println!(
        "total: core {:.1} ms, raw c-blosc2 {:.1} ms, core/raw = {:.3}",
        core_total * 1e3,
        raw_total * 1e3,
        core_total / raw_total
    );
}
