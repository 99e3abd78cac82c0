//! Puts `memory.x` on the linker's path and picks the decoder blob to embed, so a new
//! blob (`VAE_BLOB=path/to/decoder.bin cargo build --release`) needs no code change: the
//! firmware reads its shapes at compile time with `vae_core::Shape`.
use std::{env, fs, path::PathBuf, process::exit};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    fs::copy(manifest.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

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
