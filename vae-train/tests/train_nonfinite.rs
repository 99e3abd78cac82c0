//! A diverging run stops with an error naming the epoch and batch, and leaves the last good
//! checkpoint in place.

mod train_common;

use train_common::{fixture, quiet, small_config};
use vae_train::checkpoint;
use vae_train::training::{self, TrainError};

#[test]
fn absurd_learning_rate_is_reported_and_the_checkpoint_kept() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let good = small_config(&mnist, 4, 1);
    training::train(&mnist, &good, &quiet(tmp.path())).unwrap();
    let before = std::fs::read(tmp.path().join(checkpoint::CHECKPOINT_FILE)).unwrap();

    let mut wild = small_config(&mnist, 4, 3);
    wild.train.lr = 1e9;
    let mut opts = quiet(tmp.path());
    opts.resume = true;
    let err = training::train(&mnist, &wild, &opts).unwrap_err();
    match &err {
        TrainError::NonFinite {
            epoch,
            batch,
            value,
            last_good,
            ..
        } => {
            assert_eq!(*epoch, 2);
            assert!(
                *batch >= 2,
                "the first step cannot diverge yet: batch {batch}"
            );
            assert!(!value.is_finite());
            assert_eq!(*last_good, Some(1));
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("epoch 2") && msg.contains("--lr"), "{msg}");
    // The checkpoint of epoch 1 is untouched and still loads.
    let after = std::fs::read(tmp.path().join(checkpoint::CHECKPOINT_FILE)).unwrap();
    assert_eq!(before, after);
    let state = checkpoint::load_state(tmp.path()).unwrap();
    assert_eq!(state.epoch, 1);
    checkpoint::load_model(tmp.path(), &vae_train::backend::device()).unwrap();
}

#[test]
fn divergence_in_the_first_epoch_says_no_checkpoint() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let mut wild = small_config(&mnist, 4, 1);
    wild.train.lr = 1e9;
    let err = training::train(&mnist, &wild, &quiet(tmp.path())).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFinite {
                epoch: 1,
                last_good: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no checkpoint"));
    assert!(!checkpoint::exists(tmp.path()));
}
