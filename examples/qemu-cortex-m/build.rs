//! Embeds the decoder blob and derives the decoder's const generics from it, so a new
//! blob (`VAE_BLOB=path/to/decoder.bin cargo run --release`) needs no code change.
use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    // The board follows the target: Cortex-M0 -> micro:bit, otherwise MPS2-AN386.
    let target = env::var("TARGET").unwrap();
    let (memory, default_blob, board) = if target.starts_with("thumbv6m") {
        (
            "memory-microbit.x",
            "../models/decoder-small.bin",
            "micro:bit (Cortex-M0)",
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
    let blob = fs::read(&blob_path).unwrap_or_else(|e| {
        panic!(
            "cannot read the decoder blob {}: {e}; export one with `vae-export` or set VAE_BLOB",
            blob_path.display()
        )
    });
    let model = vae_core::format::parse(&blob)
        .unwrap_or_else(|e| panic!("{} is not a valid decoder blob: {e}", blob_path.display()));
    let layers = model.layers.as_slice();
    let hidden = layers[..layers.len() - 1]
        .iter()
        .map(|l| usize::from(l.out_dim))
        .max()
        .unwrap_or(1);
    let macs: usize = layers
        .iter()
        .map(|l| usize::from(l.in_dim) * usize::from(l.out_dim))
        .sum();
    let code = format!(
        "/// Latent dimension of the embedded blob.\npub const LATENT: usize = {};\n\
         /// Widest hidden layer of the embedded blob.\npub const HIDDEN: usize = {hidden};\n\
         /// Multiply-accumulates per decoded digit.\npub const MACS_PER_DIGIT: u32 = {macs};\n\
         /// Whether the blob is class-conditional.\npub const CONDITIONAL: bool = {};\n\
         /// The board this build is for.\npub const BOARD: &str = {board:?};\n\
         /// The decoder blob, in flash.\npub static BLOB: &[u8] = include_bytes!({:?});\n",
        model.latent_dim,
        model.classes().is_some(),
        blob_path.canonicalize().unwrap(),
    );
    fs::write(out.join("model.rs"), code).unwrap();
}
