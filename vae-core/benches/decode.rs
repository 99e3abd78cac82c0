//! Host decode time per digit at batch 1, vae-core only (no burn, builds in seconds):
//! the committed default blob through [`Decoder`] (the no_std API, weights read in the
//! blob's order; AVX-512 VNNI where present) and through the host tools' engine
//! (`host::open`: on AVX-512 VBMI2 + VNNI CPUs, weights repacked to skip zero inputs),
//! and the int4 blob (`decoder-int4.bin`) through [`Decoder`]. `VAE_KERNEL` forces a tier.
//!
//! `cargo bench -p vae-core --bench decode`. vae-export's `decode` bench compares with burn.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use vae_core::{Decoder, IMAGE_PIXELS, Request};

fn committed_blob(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(c: &mut Criterion) {
    let blob = committed_blob("decoder.bin");
    let decoder = Decoder::<20, 256>::from_bytes(&blob).expect("default blob");
    // The time depends a little on the latent (the host engine skips zero activations):
    // each iteration decodes the next of 64 draws from the blob's prior.
    let latents: Vec<[f32; 20]> = (0..64)
        .map(|s| decoder.prior_latent(&Request::new(s)).expect("latent"))
        .collect();
    let next = |i: &mut usize| {
        *i = (*i + 1) % latents.len();
        &latents[*i]
    };
    let mut out = [0u8; IMAGE_PIXELS];
    c.bench_function("Decoder::decode, blob order (z=20, 256-256-784)", |b| {
        let mut i = 0;
        b.iter(|| {
            decoder
                .decode(black_box(next(&mut i)), None, &mut out)
                .expect("decode")
        })
    });
    let int4_blob = committed_blob("decoder-int4.bin");
    let int4 = Decoder::<20, 256>::from_bytes(&int4_blob).expect("int4 blob");
    c.bench_function("Decoder::decode, int4 blob (z=20, 256-256-784)", |b| {
        let mut i = 0;
        b.iter(|| {
            int4.decode(black_box(next(&mut i)), None, &mut out)
                .expect("decode")
        })
    });
    let engine = vae_core::host::open(&blob).expect("default blob");
    c.bench_function("host::open engine decode (z=20, 256-256-784)", |b| {
        let mut i = 0;
        b.iter(|| {
            engine
                .decode(black_box(next(&mut i)), None, &mut out)
                .expect("decode")
        })
    });
}

criterion_group!(benches, decode);
criterion_main!(benches);
