//! Host decode time per digit, single thread, batch 1: vae-core's int8 decoder on the
//! committed default blob (the host tools' engine, `vae_core::host::open`, and the no_std
//! `Decoder` reading the blob in place) vs burn's f32 decoder with the same (dequantized)
//! weights, all on the same 64 prior latents.
//!
//! `cargo bench -p vae-export --bench decode` (set RAYON_NUM_THREADS=1 for one thread in
//! burn as well; vae-core is single-threaded by construction).
//!
//! vae-core's decode turns a latent into the digit's 784 8-bit pixels, its logits'
//! sigmoid included (the lookup). Burn is timed two ways: to the same pixels (its logits
//! through burn's `sigmoid`, then `round(255 p)`, [`BurnMlp::pixels`]), the like-for-like
//! comparison and the one the goal of 10x is read against; and to the logits only
//! ([`BurnMlp::forward`], the three matrix products), a lower bound on what burn needs
//! for a digit, reported beside it.
//!
//! After criterion's benchmarks, a paired measurement of the ratios burn / engine: rounds
//! of 512 engine decodes, then 64 burn decodes to pixels and 64 to logits, back to back,
//! and each ratio's median and 10th / 90th percentiles over the rounds. Criterion times
//! each function over several seconds, one after the other, so the ratio of its medians
//! also carries whatever the machine's speed did in between (on a shared VM: up to 20%
//! within minutes); each round compares them within a few milliseconds.
//! `VAE_BENCH_PAIRED_ROUNDS` sets the number of rounds (default 300, about two seconds; 0
//! skips it). Only under `cargo bench`: `cargo test --benches` runs criterion's
//! benchmarks once each, as tests.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::Criterion;
use vae_core::host::Engine;
use vae_core::quantize::FloatMlp;
use vae_core::{Decoder, DecoderCore, IMAGE_PIXELS, Request, Tier};
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
    engine: Engine<'b>,
    /// The host engine once per kernel tier this CPU runs (portable included), each
    /// forced with [`Engine::with_tier`].
    tiers: Vec<Engine<'b>>,
    burn: BurnMlp,
    latents: Vec<[f32; 20]>,
}

impl<'b> Subjects<'b> {
    fn new(blob: &'b [u8]) -> Self {
        let decoder = Decoder::<20, 256>::from_bytes(blob).expect("default blob");
        Subjects {
            engine: vae_core::host::open(blob).expect("default blob"),
            tiers: Tier::available()
                .map(|t| Engine::with_tier(DecoderCore::from_bytes(blob).expect("default blob"), t))
                .collect(),
            burn: BurnMlp::new(
                &FloatMlp::dequantized(decoder.model()),
                &vae_train::backend::device(),
            ),
            latents: (0..64)
                .map(|s| decoder.prior_latent(&Request::new(s)).expect("latent"))
                .collect(),
            decoder,
        }
    }
}

fn decode(c: &mut Criterion, subjects: &Subjects<'_>) {
    let Subjects {
        decoder,
        engine,
        tiers,
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
    for tiered in tiers {
        let name = format!("vae-core int8 decode, {} tier", tiered.tier().name());
        c.bench_function(&name, |b| {
            let mut i = 0;
            b.iter(|| {
                tiered
                    .decode(black_box(next(&mut i)), None, &mut out)
                    .expect("decode")
            })
        });
    }
    c.bench_function("vae-core int8 Decoder::decode, blob order", |b| {
        let mut i = 0;
        b.iter(|| {
            decoder
                .decode(black_box(next(&mut i)), None, &mut out)
                .expect("decode")
        })
    });

    c.bench_function("burn f32 decode to pixels, batch 1 (same weights)", |b| {
        let mut i = 0;
        b.iter(|| black_box(burn.pixels(black_box(next(&mut i)))))
    });
    c.bench_function("burn f32 logits only, batch 1 (same weights)", |b| {
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

/// Median and 10th / 90th percentiles of `ratios`, as the `paired` lines print them.
fn spread(ratios: &mut [f64]) -> String {
    format!(
        "median {:.2}x (p10 {:.2}x, p90 {:.2}x)",
        quantile(ratios, 0.5),
        quantile(ratios, 0.1),
        quantile(ratios, 0.9)
    )
}

/// Rounds of engine decodes, then burn's decodes to pixels and to logits, back to back:
/// each round's ratios burn / engine of the time per digit. Prints two `paired` lines.
fn paired_ratio(subjects: &Subjects<'_>, rounds: usize) {
    let Subjects {
        engine,
        tiers,
        burn,
        latents,
        ..
    } = subjects;
    const ENGINE_PASSES: usize = 8;
    // Time per digit of `decode` on every latent, `passes` times over.
    let time = |passes: usize, decode: &mut dyn FnMut(&[f32; 20])| {
        let start = Instant::now();
        for _ in 0..passes {
            for z in latents {
                decode(black_box(z));
            }
        }
        start.elapsed().as_secs_f64() * 1e9 / (passes * latents.len()) as f64
    };
    let mut out = [0u8; IMAGE_PIXELS];
    let mut engine_decode = |z: &[f32; 20]| {
        engine.decode(z, None, &mut out).expect("decode");
        black_box(&out);
    };
    // Per counted round: engine, burn to pixels, burn to logits (ns per digit).
    let mut times = Vec::with_capacity(rounds);
    // Per counted round: each forced tier's engine (ns per digit), in `tiers`' order.
    let mut tier_times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); tiers.len()];
    let mut tier_out = [0u8; IMAGE_PIXELS];
    // Two rounds of warm-up, not counted.
    for round in 0..rounds + 2 {
        // The engine's weights back in the caches after burn's turn (not timed).
        time(1, &mut engine_decode);
        let engine_ns = time(ENGINE_PASSES, &mut engine_decode);
        let pixels_ns = time(1, &mut |z| drop(black_box(burn.pixels(z))));
        let logits_ns = time(1, &mut |z| drop(black_box(burn.forward(z))));
        if round >= 2 {
            times.push([engine_ns, pixels_ns, logits_ns]);
        }
        for (tiered, column) in tiers.iter().zip(&mut tier_times) {
            let mut decode = |z: &[f32; 20]| {
                tiered.decode(z, None, &mut tier_out).expect("decode");
                black_box(&tier_out);
            };
            time(1, &mut decode);
            let ns = time(ENGINE_PASSES, &mut decode);
            if round >= 2 {
                column.push(ns);
            }
        }
    }
    let column = |k: usize| times.iter().map(|t| t[k]).collect::<Vec<f64>>();
    let ratio = |k: usize| times.iter().map(|t| t[k] / t[0]).collect::<Vec<f64>>();
    let engine = quantile(&mut column(0), 0.5);
    for (k, label) in [
        (1, "paired: burn to pixels / engine per digit"),
        (2, "paired, burn to logits only: burn / engine per digit"),
    ] {
        println!(
            "{label}: {} over {rounds} rounds; engine median {engine:.0} ns, burn median \
             {:.0} ns",
            spread(&mut ratio(k)),
            quantile(&mut column(k), 0.5),
        );
    }
    // Each tier against burn to pixels from the same round (the tier's turn comes right
    // after burn's, within the round).
    for (tiered, tier_ns) in tiers.iter().zip(&tier_times) {
        let mut ratios: Vec<f64> = times.iter().zip(tier_ns).map(|(t, n)| t[1] / n).collect();
        println!(
            "paired: burn to pixels / {} tier per digit: {} over {rounds} rounds; tier \
             median {:.0} ns",
            tiered.tier().name(),
            spread(&mut ratios),
            quantile(&mut tier_ns.clone(), 0.5),
        );
    }
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
