//! Helpers shared by the `train_*` integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vae_train::config::{LrSchedule, ModelConfig, RunConfig, TrainConfig};
use vae_train::data::{self, Mnist};
use vae_train::training::TrainOptions;

/// The 600 / 200 digit fixture.
pub fn fixture() -> Mnist {
    data::load_from_dir(&fixture_dir()).expect("fixture MNIST at tests/fixtures/mnist")
}

/// Folder of the fixture.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

/// A small model that trains in well under a second per epoch on the fixture.
pub fn small_config(mnist: &Mnist, latent_dim: usize, epochs: usize) -> RunConfig {
    RunConfig::new(
        ModelConfig {
            latent_dim,
            encoder_hidden: vec![96],
            decoder_hidden: vec![96],
            conditional: false,
            ..ModelConfig::default()
        },
        TrainConfig {
            epochs,
            batch_size: 32,
            lr: 2e-3,
            lr_schedule: LrSchedule::Constant,
            seed: 7,
            max_train: None,
            max_test: None,
        },
        mnist.checksums.clone(),
        fixture_dir(),
    )
}

/// Quiet options without pictures.
pub fn quiet(out: &Path) -> TrainOptions {
    let mut o = TrainOptions::new(out);
    o.progress = false;
    o.verbose = false;
    o.pictures = false;
    o
}
