//! Host decode time per digit, single thread, batch 1: vae-core's int8 decoder on the
//! committed default blob vs burn's f32 decoder with the same (dequantized) weights.
//!
//! `cargo bench -p vae-export --bench decode` (set RAYON_NUM_THREADS=1 for one thread in
//! burn as well; vae-core is single-threaded by construction).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use vae_core::quantize::FloatMlp;
use vae_core::{Decoder, IMAGE_PIXELS};
use vae_export::parity::BurnMlp;

fn default_blob() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/models/decoder.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(c: &mut Criterion) {
    let blob = default_blob();
    let decoder = Decoder::<20, 256>::from_bytes(&blob).expect("default blob");
    let z = Decoder::<20, 256>::sample_latent(7);
    let mut out = [0u8; IMAGE_PIXELS];
    c.bench_function("vae-core int8 decode (z=20, 256-256-784)", |b| {
        b.iter(|| decoder.decode(black_box(&z), &mut out).expect("decode"))
    });

    let burn = BurnMlp::new(
        &FloatMlp::dequantized(decoder.model()),
        &vae_train::backend::device(),
    );
    c.bench_function("burn f32 decode, batch 1 (same weights)", |b| {
        b.iter(|| black_box(burn.forward(black_box(&z))))
    });
}

criterion_group!(benches, decode);
criterion_main!(benches);
