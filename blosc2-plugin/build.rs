//! c-blosc2 opens the plugin as `libblosc2_btune.so`: give it that SONAME.
//! Also (re)writes the C header `include/blosc2_btune.h` from `src/capi.rs`
//! with cbindgen, only when its text changes.

use std::path::PathBuf;

/// The initializer of `BTUNE_CONFIG_DEFAULTS`; a unit test in `capi.rs`
/// checks it against `BtuneConfig::defaults()`.
const DEFAULTS_MACRO: &str = "#define BTUNE_CONFIG_DEFAULTS \\\n  { BTUNE_CONFIG_MAGIC, BTUNE_COMP, 0.5f, 0.0, { 3, 2, 1, BTUNE_REPEAT_SOFT }, 0, NULL }";

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libblosc2_btune.so");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/capi.rs");

    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    config.trailer = Some(format!(
        "/** A btune_config holding the tuner's defaults. */\n{DEFAULTS_MACRO}\n\n#endif /* BLOSC2_BTUNE_H */\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/capi.rs"))
        .generate()
        .expect("cbindgen parses src/capi.rs");
    let mut text = Vec::new();
    bindings.write(&mut text);
    let path = dir.join("include/blosc2_btune.h");
    if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
        std::fs::create_dir_all(dir.join("include")).expect("include/ can be created");
        std::fs::write(&path, text).expect("include/blosc2_btune.h can be written");
    }
}
