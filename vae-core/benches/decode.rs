//! Host decode time per digit at batch 1, vae-core only (no burn, builds in seconds):
//! the committed default blob through the accelerated path this CPU selects
//! (AVX-512 VNNI where present) and through `decode_q`.
//!
//! `cargo bench -p vae-core --bench decode`. vae-export's `decode` bench compares with burn.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use vae_core::{Decoder, IMAGE_PIXELS};

fn default_blob() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/models/decoder.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(c: &mut Criterion) {
    let blob = default_blob();
    let decoder = Decoder::<20, 256>::from_bytes(&blob).expect("default blob");
    let z = Decoder::<20, 256>::sample_latent(7);
    let z_q = decoder.quantize_latent(&z).expect("finite latent");
    let mut out = [0u8; IMAGE_PIXELS];
    c.bench_function("int8 decode (z=20, 256-256-784)", |b| {
        b.iter(|| decoder.decode(black_box(&z), &mut out).expect("decode"))
    });
    c.bench_function("int8 decode_q (z=20, 256-256-784)", |b| {
        b.iter(|| {
            decoder
                .decode_q(black_box(&z_q), None, &mut out)
                .expect("decode")
        })
    });
}

criterion_group!(benches, decode);
criterion_main!(benches);
