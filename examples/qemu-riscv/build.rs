//! Puts the memory layout where riscv-rt's `link.x` finds it and picks the blob to embed
//! (`VAE_BLOB`, default `../models/decoder.bin`); the firmware reads the blob's shapes at
//! compile time with `vae_core::Shape`.
use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::copy(manifest.join("memory.x"), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    println!("cargo:rerun-if-env-changed=VAE_BLOB");
    let blob_path = match env::var_os("VAE_BLOB") {
        Some(path) => PathBuf::from(path),
        None => manifest.join("../models/decoder.bin"),
    };
    println!("cargo:rerun-if-changed={}", blob_path.display());
    if !blob_path.is_file() {
        panic!(
            "cannot read the decoder blob {}: export one with `vae-export` or set VAE_BLOB",
            blob_path.display()
        );
    }
    println!(
        "cargo:rustc-env=VAE_BLOB_PATH={}",
        blob_path.canonicalize().unwrap().display()
    );
    // The ISA from the target name: riscv32imac-... -> RV32IMAC.
    let target = env::var("TARGET").unwrap();
    let isa = target.split('-').next().unwrap_or("riscv32");
    let isa = isa.replace("riscv32", "RV32").to_uppercase();
    println!("cargo:rustc-env=VAE_BOARD=QEMU virt ({isa})");
}
