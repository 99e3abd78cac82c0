//! Training throughput of one Adam step for the classic PyTorch-example shape
//! (784-400-20, 20-400-784, batch 128), with each step variant and Adam implementation.
//!
//! Run: `cargo bench -p vae-train --bench train_step`. Criterion reports elements/s =
//! images per second. Uses synthetic pixels, so no MNIST files are needed.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vae_train::backend;
use vae_train::config::ModelConfig;
use vae_train::model::Vae;
use vae_train::rng::Rng;
use vae_train::training::{self, BatchInput, OptimizerKind, StepMode, Stepper};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 128;

fn classic() -> ModelConfig {
    ModelConfig {
        latent_dim: 20,
        encoder_hidden: vec![400],
        decoder_hidden: vec![400],
        conditional: false,
        // The PyTorch example's activation, for a like-for-like comparison.
        encoder_activation: vae_train::config::Activation::Relu,
        // ... and its N(0, I) prior.
        prior_components: 0,
    }
}

fn batches(n: usize) -> Vec<BatchInput> {
    let mut rng = Rng::new(1);
    (0..n)
        .map(|_| {
            let pixels: Vec<u8> = (0..BATCH * 784)
                .map(|_| {
                    if rng.next_f64() < 0.8 {
                        0
                    } else {
                        rng.below(256) as u8
                    }
                })
                .collect();
            let labels: Vec<u8> = (0..BATCH).map(|i| (i % 10) as u8).collect();
            BatchInput::new(&pixels, &labels, false, rng.normals_f32(BATCH * 20))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = batches(8);
    let mut group = c.benchmark_group(format!("train_step_{}", backend::BACKEND_NAME));
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, kind, mode) in [
        ("plain_burn_adam", OptimizerKind::Burn, StepMode::Plain),
        ("plain_fused_adam", OptimizerKind::Fused, StepMode::Plain),
        ("split_fused_adam", OptimizerKind::Fused, StepMode::Split),
    ] {
        let mut model =
            Some(Vae::new(&classic(), 1, &backend::train_device()).expect("valid config"));
        let mut optim = training::optimizer(kind);
        let mut stepper = Stepper::new(mode);
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let m = model.take().expect("model is put back after each step");
                let (next, loss) = stepper.step(m, &mut optim, &data[i % data.len()], 1e-3);
                model = Some(next);
                i += 1;
                loss
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
