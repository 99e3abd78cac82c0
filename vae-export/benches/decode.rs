//! Host decode time per digit, single thread, batch 1: vae-core's int8 decoder on the
//! committed default blob (the host tools' engine, `vae_core::host::open`, and the no_std
//! `Decoder` reading the blob in place) vs burn's f32 decoder with the same (dequantized)
//! weights, all on the same 64 prior latents.
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
    // Each iteration decodes the next of 64 draws from the blob's prior (the int8 engine
    // skips zero activations, so its time depends a little on the latent).
    let latents: Vec<[f32; 20]> = (0..64).map(|s| decoder.prior_latent(s)).collect();
    let next = |i: &mut usize| {
        *i = (*i + 1) % latents.len();
        &latents[*i]
    };
    let mut out = [0u8; IMAGE_PIXELS];
    let engine = vae_core::host::open(&blob).expect("default blob");
    c.bench_function(
        "vae-core int8 decode, host engine (z=20, 256-256-784)",
        |b| {
            let mut i = 0;
            b.iter(|| {
                engine
                    .decode(black_box(next(&mut i)), None, &mut out)
                    .expect("decode")
            })
        },
    );
    c.bench_function("vae-core int8 Decoder::decode, blob order", |b| {
        let mut i = 0;
        b.iter(|| {
            decoder
                .decode(black_box(next(&mut i)), &mut out)
                .expect("decode")
        })
    });

    let burn = BurnMlp::new(
        &FloatMlp::dequantized(decoder.model()),
        &vae_train::backend::device(),
    );
    c.bench_function("burn f32 decode, batch 1 (same weights)", |b| {
        let mut i = 0;
        b.iter(|| black_box(burn.forward(black_box(next(&mut i)))))
    });
}

criterion_group!(benches, decode);
criterion_main!(benches);
