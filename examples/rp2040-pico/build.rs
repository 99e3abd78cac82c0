//! Puts the chip's `memory.x` on the linker's path and picks the decoder blob to embed, so a new
//! blob (`VAE_BLOB=path/to/decoder.bin cargo build --release`) needs no code change: the
//! firmware reads its shapes at compile time with `vae_core::Shape`.
use std::{env, fs, path::PathBuf, process::exit};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    // cortex-m-rt's link.x includes `memory.x`: the Pico's (RP2040, with boot2) or the
    // Pico 2's (RP2350, with the boot ROM's IMAGE_DEF block).
    let memory = if env::var_os("CARGO_FEATURE_RP2350").is_some() {
        "memory-rp2350.x"
    } else {
        "memory-rp2040.x"
    };
    // (Neither file is called memory.x: the linker would find one in this folder, its
    // working directory, before the copy in OUT_DIR.)
    fs::copy(manifest.join(memory), out.join("memory.x")).expect("copy the memory layout");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={memory}");

    println!("cargo:rerun-if-env-changed=VAE_BLOB");
    let blob_path = env::var_os("VAE_BLOB")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../models/decoder.bin"));
    println!("cargo:rerun-if-changed={}", blob_path.display());
    if !blob_path.is_file() {
        eprintln!(
            "error: cannot read the decoder blob {}: export one with `vae-export` or set VAE_BLOB",
            blob_path.display()
        );
        exit(1);
    }
    // src/model.rs embeds it and reads its shapes at compile time (`vae_core::Shape`).
    let path = blob_path.canonicalize().expect("the blob exists");
    println!("cargo:rustc-env=VAE_BLOB_PATH={}", path.display());
}
