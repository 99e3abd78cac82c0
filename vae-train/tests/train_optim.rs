//! The fused Adam matches burn's Adam, and the split (two-thread) step matches the plain one.

mod train_common;

use burn::module::Module;
use train_common::fixture;
use vae_train::backend;
use vae_train::config::ModelConfig;
use vae_train::model::Vae;
use vae_train::rng::Rng;
use vae_train::training::{self, BatchInput, OptimizerKind, StepMode};

fn config() -> ModelConfig {
    ModelConfig {
        latent_dim: 8,
        encoder_hidden: vec![64, 32],
        decoder_hidden: vec![32],
        conditional: false,
        ..ModelConfig::default()
    }
}

fn params(m: &Vae) -> Vec<f32> {
    m.encoder_layers()
        .into_iter()
        .chain(m.decoder_layers())
        .flat_map(|l| l.weight.into_iter().chain(l.bias))
        .collect()
}

fn batches(n: usize, size: usize) -> Vec<BatchInput> {
    let mnist = fixture();
    let mut rng = Rng::new(3);
    (0..n)
        .map(|b| {
            let s = b * size;
            BatchInput::new(
                &mnist.train.images[s * 784..(s + size) * 784],
                &mnist.train.labels[s..s + size],
                false,
                rng.normals_f32(size * 8),
            )
        })
        .collect()
}

fn run(kind: OptimizerKind, mode: StepMode, steps: &[BatchInput]) -> (Vec<f32>, Vec<f32>) {
    let mut model = Vae::new(&config(), 11, &backend::train_device()).unwrap();
    let mut optim = training::optimizer(kind);
    let mut losses = Vec::new();
    for b in steps {
        let (next, loss) = training::train_step(model, &mut optim, b, 1e-3, mode);
        model = next;
        losses.push(loss);
    }
    (params(&model.valid()), losses)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn fused_adam_matches_burn_adam() {
    let steps = batches(6, 32);
    let (burn_p, burn_l) = run(OptimizerKind::Burn, StepMode::Plain, &steps);
    let (fused_p, fused_l) = run(OptimizerKind::Fused, StepMode::Plain, &steps);
    let start = params(&Vae::new(&config(), 11, &backend::device()).unwrap());
    // Six steps of lr 1e-3 move weights by up to ~6e-3; the two must agree far closer.
    let moved = max_abs_diff(&start, &burn_p);
    assert!(moved > 1e-3, "training did not move the weights ({moved})");
    let diff = max_abs_diff(&burn_p, &fused_p);
    assert!(diff < 2e-5, "fused vs burn Adam differ by {diff}");
    for (a, b) in burn_l.iter().zip(&fused_l) {
        assert!((a - b).abs() <= 1e-3 * a.abs(), "{burn_l:?} vs {fused_l:?}");
    }
}

#[test]
fn split_step_matches_plain_step() {
    let steps = batches(4, 33); // odd size: halves of 17 and 16
    let (plain_p, plain_l) = run(OptimizerKind::Fused, StepMode::Plain, &steps);
    let (split_p, split_l) = run(OptimizerKind::Fused, StepMode::Split, &steps);
    let diff = max_abs_diff(&plain_p, &split_p);
    assert!(diff < 2e-5, "split vs plain differ by {diff}");
    for (a, b) in plain_l.iter().zip(&split_l) {
        assert!(
            (a - b).abs() <= 1e-4 * a.abs(),
            "{plain_l:?} vs {split_l:?}"
        );
    }
}

#[test]
fn fused_adam_state_resumes_like_burn_state() {
    // A fused-Adam checkpoint can be continued by burn's Adam and vice versa: same record.
    let steps = batches(4, 32);
    let mut model = Vae::new(&config(), 11, &backend::train_device()).unwrap();
    let mut fused = training::optimizer(OptimizerKind::Fused);
    for b in &steps[..2] {
        model = training::train_step(model, &mut fused, b, 1e-3, StepMode::Plain).0;
    }
    let record = fused.to_record();
    let mut burn_opt = training::optimizer(OptimizerKind::Burn).load_record(record);
    let mut a = model.clone();
    let mut b = model;
    for s in &steps[2..] {
        a = training::train_step(a, &mut fused, s, 1e-3, StepMode::Plain).0;
        b = training::train_step(b, &mut burn_opt, s, 1e-3, StepMode::Plain).0;
    }
    let diff = max_abs_diff(&params(&a.valid()), &params(&b.valid()));
    assert!(diff < 2e-5, "{diff}");
}
