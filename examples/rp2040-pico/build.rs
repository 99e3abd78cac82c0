//! Puts `memory.x` on the linker's path, embeds the decoder blob and derives the
//! decoder's const generics from it, so a new blob
//! (`VAE_BLOB=path/to/decoder.bin cargo build --release`) needs no code change.
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
    let fail = |msg: String| -> ! {
        eprintln!("error: {msg}");
        exit(1)
    };
    let blob = fs::read(&blob_path).unwrap_or_else(|e| {
        fail(format!(
            "cannot read the decoder blob {}: {e}; export one with `vae-export` or set VAE_BLOB",
            blob_path.display()
        ))
    });
    let model = vae_core::format::parse(&blob).unwrap_or_else(|e| {
        fail(format!(
            "{} is not a valid decoder blob: {e}",
            blob_path.display()
        ))
    });
    let layers = model.layers.as_slice();
    let hidden_layers = &layers[..layers.len().saturating_sub(1)];
    let hidden = hidden_layers
        .iter()
        .map(|l| usize::from(l.out_dim))
        .max()
        .unwrap_or(1);
    let path = blob_path.canonicalize().expect("the blob was just read");
    let code = format!(
        "/// Latent dimension of the embedded blob.\npub const LATENT: usize = {};\n\
         /// Widest hidden layer of the embedded blob.\npub const HIDDEN: usize = {hidden};\n\
         /// The decoder blob, in flash.\npub static BLOB: &[u8] = include_bytes!({path:?});\n",
        model.latent_dim,
    );
    fs::write(out.join("model.rs"), code).expect("write model.rs");
}
