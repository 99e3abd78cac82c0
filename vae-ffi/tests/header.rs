//! `include/vae.h` is what cbindgen generates from `src/lib.rs` with `cbindgen.toml`:
//! this test regenerates it and fails on any difference (the header is committed so that
//! C users need no Rust tooling). `VAE_FFI_BLESS=1 cargo test -p vae-ffi --test header`
//! rewrites it.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("vae-ffi/cbindgen.toml reads");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = crate_dir.join("include/vae.h");
    if std::env::var_os("VAE_FFI_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("include/vae.h writes");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != generated {
        let committed = String::from_utf8_lossy(&committed);
        let generated = String::from_utf8_lossy(&generated);
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "vae-ffi/include/vae.h is out of date (first difference at line {}: committed {:?}, \
             generated {:?}); run `VAE_FFI_BLESS=1 cargo test -p vae-ffi --test header` and \
             commit the header",
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first),
        );
    }
}
