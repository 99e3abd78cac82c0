//! What the CLI tests share: the MNIST fixture and a tiny training run.

use std::path::{Path, PathBuf};

use clap::Parser;

/// The small MNIST subset the repository carries.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

/// Trains a tiny model (z = 2, 16-wide layers, one epoch, no pictures) on the MNIST folder
/// `data` into `run`, with `extra` flags appended.
pub fn train_tiny_run(data: &Path, run: &Path, extra: &[&str]) {
    let mut args = vec![
        "vae-train",
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--latent-dim",
        "2",
        "--encoder-hidden",
        "16",
        "--decoder-hidden",
        "16",
        "--no-pictures",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let cli = vae_train::cli::Cli::try_parse_from(args).expect("valid vae-train flags");
    vae_train::cli::run(cli).expect("tiny training run");
}
