//! A short training run on the fixture learns: the loss falls far below an untrained
//! model's, and keeps falling from epoch to epoch.

mod train_common;

use train_common::{fixture, quiet, small_config};
use vae_train::backend;
use vae_train::model::Vae;
use vae_train::training::{self, METRICS_FILE};

#[test]
fn three_epochs_reduce_the_test_loss() {
    let mnist = fixture();
    let config = small_config(&mnist, 20, 3);
    let untrained = Vae::new(&config.model, config.train.seed, &backend::device()).unwrap();
    let (r0, k0) = training::evaluate(&untrained, &mnist.test.images, &mnist.test.labels, 7);
    // An untrained decoder outputs logits near 0: about 784 * ln 2 = 543 nats per image.
    assert!(
        (480.0..600.0).contains(&(r0 + k0)),
        "untrained loss {}",
        r0 + k0
    );

    let tmp = tempfile::tempdir().unwrap();
    let report = training::train(&mnist, &config, &quiet(tmp.path())).unwrap();
    let m = &report.metrics;
    assert_eq!(m.len(), 3);
    assert_eq!(m.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2, 3]);
    for r in m {
        assert!((r.test_loss - (r.test_recon + r.test_kl)).abs() < 1e-9);
        assert!(r.test_kl > 0.0 && r.seconds > 0.0 && r.samples_per_s > 0.0);
    }
    let (first, last) = (m[0].test_loss, m[2].test_loss);
    assert!(last < first - 10.0, "epoch 1 {first}, epoch 3 {last}");
    assert!(
        last < r0 + k0 - 200.0,
        "untrained {}, epoch 3 {last}",
        r0 + k0
    );
    assert!(m[2].train_loss < m[0].train_loss);

    // metrics.csv holds the same rows.
    let text = std::fs::read_to_string(tmp.path().join(METRICS_FILE)).unwrap();
    let rows = vae_train::metrics::parse_metrics_csv(&text).unwrap();
    assert_eq!(&rows, m);

    // The returned model is the trained one: its evaluation matches the last row.
    let (r, k) = training::evaluate(&report.model, &mnist.test.images, &mnist.test.labels, 7);
    assert!(((r + k) - last).abs() < 1e-3, "{} vs {last}", r + k);
}

#[test]
fn max_train_and_max_test_limit_the_data() {
    let mnist = fixture();
    let mut config = small_config(&mnist, 4, 1);
    config.train.max_train = Some(64);
    config.train.max_test = Some(10);
    let tmp = tempfile::tempdir().unwrap();
    let report = training::train(&mnist, &config, &quiet(tmp.path())).unwrap();
    let (r, k) = training::evaluate(
        &report.model,
        &mnist.test.images[..10 * 784],
        &mnist.test.labels[..10],
        7,
    );
    assert!(((r + k) - report.metrics[0].test_loss).abs() < 1e-3);
    let (r_all, k_all) =
        training::evaluate(&report.model, &mnist.test.images, &mnist.test.labels, 7);
    assert!(((r_all + k_all) - report.metrics[0].test_loss).abs() > 1e-3);
}
