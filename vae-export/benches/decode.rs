//! Host decode time per digit, single thread, batch 1: vae-core's int8 decoder on the
//! committed default blob (the host tools' engine, `vae_core::host::open`, and the no_std
//! `Decoder` reading the blob in place) vs burn's f32 decoder with the same (dequantized)
//! weights, all on the same 64 prior latents.
//!
//! `cargo bench -p vae-export --bench decode` (set RAYON_NUM_THREADS=1 for one thread in
//! burn as well; vae-core is single-threaded by construction).
//!
//! After criterion's three benchmarks, a paired measurement of the ratio burn / engine:
//! rounds of 512 engine decodes then 64 burn decodes, back to back, and the per-round
//! ratio's median and 10th / 90th percentiles. Criterion times each function over
//! several seconds, one after the other, so the ratio of its medians also carries
//! whatever the machine's speed did in between (on a shared VM: up to 20% within
//! minutes); each round compares the two within about 3 ms. `VAE_BENCH_PAIRED_ROUNDS`
//! sets the number of rounds (default 300, about a second; 0 skips it). Only under
//! `cargo bench`: `cargo test --benches` runs criterion's benchmarks once each, as tests.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::Criterion;
use vae_core::host::HostDecoder;
use vae_core::quantize::FloatMlp;
use vae_core::{Decoder, IMAGE_PIXELS};
use vae_export::parity::BurnMlp;

fn default_blob() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/models/decoder.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What every measurement decodes with: the no_std `Decoder` on the default blob, the
/// host engine on the same blob, burn's f32 decoder with its dequantized weights, and 64
/// draws from the blob's prior, decoded in turn (the int8 engine skips zero activations,
/// so its time depends a little on the latent).
struct Subjects<'b> {
    decoder: Decoder<'b, 20, 256>,
    engine: Box<dyn HostDecoder + 'b>,
    burn: BurnMlp,
    latents: Vec<[f32; 20]>,
}

impl<'b> Subjects<'b> {
    fn new(blob: &'b [u8]) -> Self {
        let decoder = Decoder::<20, 256>::from_bytes(blob).expect("default blob");
        Subjects {
            engine: vae_core::host::open(blob).expect("default blob"),
            burn: BurnMlp::new(
                &FloatMlp::dequantized(decoder.model()),
                &vae_train::backend::device(),
            ),
            latents: (0..64).map(|s| decoder.prior_latent(s)).collect(),
            decoder,
        }
    }
}

fn decode(c: &mut Criterion, subjects: &Subjects<'_>) {
    let Subjects {
        decoder,
        engine,
        burn,
        latents,
    } = subjects;
    let next = |i: &mut usize| {
        *i = (*i + 1) % latents.len();
        &latents[*i]
    };
    let mut out = [0u8; IMAGE_PIXELS];
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

    c.bench_function("burn f32 decode, batch 1 (same weights)", |b| {
        let mut i = 0;
        b.iter(|| black_box(burn.forward(black_box(next(&mut i)))))
    });
}

/// The `p`-quantile (0..=1) of `values`, sorted in place (nearest rank).
fn quantile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let last = values.len().saturating_sub(1);
    values
        .get((p * last as f64).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Rounds of engine decodes then burn decodes, back to back: the ratio burn / engine of
/// each round's time per digit. Prints one `paired:` line.
fn paired_ratio(subjects: &Subjects<'_>, rounds: usize) {
    let Subjects {
        engine,
        burn,
        latents,
        ..
    } = subjects;
    let mut out = [0u8; IMAGE_PIXELS];
    const ENGINE_PASSES: usize = 8;
    let (mut engine_ns, mut burn_ns, mut ratios) = (vec![], vec![], vec![]);
    // Two rounds of warm-up, not counted.
    for round in 0..rounds + 2 {
        // The engine's weights back in the caches after burn's turn (not timed).
        for z in latents.iter() {
            engine.decode(black_box(z), None, &mut out).expect("decode");
        }
        let start = Instant::now();
        for _ in 0..ENGINE_PASSES {
            for z in latents.iter() {
                engine.decode(black_box(z), None, &mut out).expect("decode");
                black_box(&out);
            }
        }
        let e = start.elapsed().as_secs_f64() * 1e9 / (ENGINE_PASSES * latents.len()) as f64;
        let start = Instant::now();
        for z in latents.iter() {
            black_box(burn.forward(black_box(z)));
        }
        let b = start.elapsed().as_secs_f64() * 1e9 / latents.len() as f64;
        if round >= 2 {
            engine_ns.push(e);
            burn_ns.push(b);
            ratios.push(b / e);
        }
    }
    println!(
        "paired: burn / engine per digit: median {:.2}x (p10 {:.2}x, p90 {:.2}x) over {rounds} \
         rounds; engine median {:.0} ns, burn median {:.0} ns",
        quantile(&mut ratios, 0.5),
        quantile(&mut ratios, 0.1),
        quantile(&mut ratios, 0.9),
        quantile(&mut engine_ns, 0.5),
        quantile(&mut burn_ns, 0.5),
    );
}

fn main() {
    let blob = default_blob();
    let subjects = Subjects::new(&blob);
    let mut criterion = Criterion::default().configure_from_args();
    decode(&mut criterion, &subjects);
    criterion.final_summary();
    let rounds = match std::env::var("VAE_BENCH_PAIRED_ROUNDS") {
        Ok(v) => v.parse().unwrap_or_else(|_| {
            panic!("VAE_BENCH_PAIRED_ROUNDS={v:?}: expected a number of rounds (0 skips)")
        }),
        Err(_) => 300,
    };
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion then
    // runs each benchmark once, as a test): no measurement then.
    if rounds > 0 && std::env::args().any(|a| a == "--bench") {
        paired_ratio(&subjects, rounds);
    }
}
