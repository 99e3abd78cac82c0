//! Resuming from a checkpoint gives exactly what an uninterrupted run gives.

mod train_common;

use train_common::{fixture, quiet, small_config};
use vae_train::checkpoint;
use vae_train::metrics::EpochMetrics;
use vae_train::training;
use vae_train::{backend, model::Vae};

/// Metrics without the timing columns.
fn losses(rows: &[EpochMetrics]) -> Vec<(usize, f64, f64, f64, f64)> {
    rows.iter()
        .map(|r| (r.epoch, r.train_loss, r.test_recon, r.test_kl, r.test_loss))
        .collect()
}

fn weights(m: &Vae) -> Vec<Vec<f32>> {
    m.encoder_layers()
        .into_iter()
        .chain(m.decoder_layers())
        .flat_map(|l| [l.weight, l.bias])
        .collect()
}

fn csv_losses(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(training::METRICS_FILE))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn one_plus_one_epochs_equal_two() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    let split = tmp.path().join("split");

    let two = small_config(&mnist, 2, 2);
    let a = training::train(&mnist, &two, &quiet(&straight)).unwrap();

    let one = small_config(&mnist, 2, 1);
    let b1 = training::train(&mnist, &one, &quiet(&split)).unwrap();
    assert_eq!(losses(&b1.metrics), losses(&a.metrics[..1]));
    let state = checkpoint::load_state(&split).unwrap();
    assert_eq!(state.epoch, 1);
    assert_eq!(state.rng.next_epoch, 2);

    let mut opts = quiet(&split);
    opts.resume = true;
    let b = training::train(&mnist, &two, &opts).unwrap();

    assert_eq!(losses(&a.metrics), losses(&b.metrics));
    assert_eq!(csv_losses(&straight), csv_losses(&split));
    assert_eq!(weights(&a.model), weights(&b.model));

    // The checkpoint on disk holds the same weights, loadable on the inference device.
    let (config, loaded) = checkpoint::load_model(&split, &backend::device()).unwrap();
    assert_eq!(config, two);
    assert_eq!(weights(&loaded), weights(&a.model));
    // Only the latest epoch's weight files are kept.
    let files = std::fs::read_dir(split.join(checkpoint::CHECKPOINT_DIR))
        .unwrap()
        .count();
    assert_eq!(files, 2);
}

#[test]
fn resume_refuses_other_data_and_missing_checkpoints() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = quiet(tmp.path());
    opts.resume = true;
    let config = small_config(&mnist, 2, 1);
    let err = training::train(&mnist, &config, &opts).unwrap_err();
    assert!(err.to_string().contains("no checkpoint"), "{err}");

    training::train(&mnist, &config, &quiet(tmp.path())).unwrap();
    let mut other = mnist.clone();
    other.checksums.train_images = "0".repeat(64);
    let err = training::train(&other, &small_config(&other, 2, 2), &opts).unwrap_err();
    assert!(err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn damaged_checkpoint_is_a_clear_error() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    training::train(&mnist, &small_config(&mnist, 2, 1), &quiet(tmp.path())).unwrap();
    let state = checkpoint::load_state(tmp.path()).unwrap();
    std::fs::write(tmp.path().join(&state.model_file), b"not a burnpack").unwrap();
    let err = checkpoint::load_model(tmp.path(), &backend::device()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    std::fs::write(tmp.path().join(checkpoint::CHECKPOINT_FILE), b"{").unwrap();
    let err = checkpoint::load_state(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("checkpoint.json"), "{err}");
}
