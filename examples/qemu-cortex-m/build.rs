//! Picks the board's memory layout and the blob to embed from the target (or `VAE_BLOB`),
//! so a new blob (`VAE_BLOB=path/to/decoder.bin cargo run --release`) needs no code
//! change: the firmware reads the blob's shapes at compile time with `vae_core::Shape`.
use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    // The board follows the target: Cortex-M0 -> micro:bit, ARMv8-M Mainline ->
    // MPS2-AN505 (Cortex-M33), otherwise MPS2-AN386.
    let target = env::var("TARGET").unwrap();
    let (memory, default_blob, board) = if target.starts_with("thumbv6m") {
        (
            "memory-microbit.x",
            "../models/decoder-small.bin",
            "micro:bit (Cortex-M0)",
        )
    } else if target.starts_with("thumbv8m.main") {
        (
            "memory-mps2-an505.x",
            "../models/decoder.bin",
            "MPS2-AN505 (Cortex-M33)",
        )
    } else {
        (
            "memory-mps2-an386.x",
            "../models/decoder.bin",
            "MPS2-AN386 (Cortex-M4F)",
        )
    };
    fs::copy(manifest.join(memory), out.join("memory.x")).unwrap();
    // cortex-m-rt's `device` feature includes a `device.x`; src/vectors.rs names no
    // handler of its own, so it is empty.
    fs::write(out.join("device.x"), "/* no device interrupts: see src/vectors.rs */\n").unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={memory}");

    println!("cargo:rerun-if-env-changed=VAE_BLOB");
    let blob_path = match env::var_os("VAE_BLOB") {
        Some(path) => PathBuf::from(path),
        None => manifest.join(default_blob),
    };
    println!("cargo:rerun-if-changed={}", blob_path.display());
    if !blob_path.is_file() {
        panic!(
            "cannot read the decoder blob {}: export one with `vae-export` or set VAE_BLOB",
            blob_path.display()
        );
    }
    // The firmware embeds it with `include_bytes!(env!("VAE_BLOB_PATH"))` and reads its
    // shapes at compile time (`vae_core::Shape::of`).
    println!(
        "cargo:rustc-env=VAE_BLOB_PATH={}",
        blob_path.canonicalize().unwrap().display()
    );
    println!("cargo:rustc-env=VAE_BOARD={board}");
}
