//! The classifier trained on the small MNIST fixture (600 train / 200 test digits).

use std::fs;
use std::path::{Path, PathBuf};

use vae_train::classifier::{
    self, Classifier, ClassifierError, META_FILE, Origin, TrainConfig, WEIGHTS_FILE,
};
use vae_train::data::{self, Mnist};

fn fixture() -> Mnist {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist");
    data::load_from_dir(&dir).expect("fixture MNIST at tests/fixtures/mnist")
}

/// Enough passes over 600 images to learn them; still well under a second of training.
fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 15,
        batch_size: 32,
        ..TrainConfig::new(seed)
    }
}

fn cache_files_exist(dir: &Path) -> bool {
    dir.join(WEIGHTS_FILE).is_file() && dir.join(META_FILE).is_file()
}

#[test]
fn trains_caches_and_reloads_identically() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");

    let trained = classifier::load_or_train_with(&dir, &mnist, &config(1)).unwrap();
    assert_eq!(trained.origin(), Origin::Trained);
    assert!(cache_files_exist(&dir));
    let accuracy = trained.accuracy(&mnist.test).unwrap();
    eprintln!("fixture test accuracy {accuracy:.3}");
    // Chance is 10%; a working classifier is far above it even on 600 training digits.
    assert!(accuracy > 0.7, "fixture test accuracy {accuracy}");
    assert_eq!(trained.info().test_accuracy, Some(accuracy));
    assert_eq!(trained.info().train_len, 600);
    assert_eq!(trained.info().weights_sha256.len(), 64);

    let loaded = classifier::load_or_train_with(&dir, &mnist, &config(1)).unwrap();
    assert_eq!(loaded.origin(), Origin::Loaded);
    assert_eq!(loaded.info(), trained.info());
    let a = trained.predict_proba(&mnist.test.images).unwrap();
    let b = loaded.predict_proba(&mnist.test.images).unwrap();
    assert_eq!(a.len(), mnist.test.len());
    assert_eq!(a, b, "reloaded weights must give identical probabilities");

    // Real digits scored with their labels as the requested digits: agreement is accuracy.
    let score = loaded
        .score(&mnist.test.images, Some(&mnist.test.labels))
        .unwrap();
    assert_eq!(score.count, mnist.test.len());
    assert_eq!(score.agreement, Some(accuracy));
    assert_eq!(
        score.per_class_counts.iter().sum::<usize>(),
        mnist.test.len()
    );
    assert!(score.inception_score > 1.0 && score.inception_score <= 10.0 + 1e-9);
    assert!(score.class_entropy > 0.0 && score.class_entropy <= std::f64::consts::LN_10 + 1e-9);
    assert!((0.0..=1.0).contains(&score.confident_share));
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let mnist = fixture();
    let a = Classifier::train(&mnist, &config(7)).unwrap();
    let b = Classifier::train(&mnist, &config(7)).unwrap();
    let c = Classifier::train(&mnist, &config(8)).unwrap();
    let pa = a.predict_proba(&mnist.test.images).unwrap();
    assert_eq!(pa, b.predict_proba(&mnist.test.images).unwrap());
    assert_ne!(pa, c.predict_proba(&mnist.test.images).unwrap());
}

#[test]
fn stale_or_damaged_cache_is_retrained() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = classifier::load_or_train_with(dir, &mnist, &config(3)).unwrap();
    assert_eq!(first.origin(), Origin::Trained);

    // Other options: retrained.
    let other = classifier::load_or_train_with(dir, &mnist, &config(4)).unwrap();
    assert_eq!(other.origin(), Origin::Trained);

    // Other data (one training digit fewer): retrained.
    let mut smaller = mnist.clone();
    smaller.train.truncate(599);
    let retrained = classifier::load_or_train_with(dir, &smaller, &config(4)).unwrap();
    assert_eq!(retrained.origin(), Origin::Trained);
    assert_eq!(retrained.info().train_len, 599);
    // ... and that cache is now the one that reloads.
    let again = classifier::load_or_train_with(dir, &smaller, &config(4)).unwrap();
    assert_eq!(again.origin(), Origin::Loaded);

    // Damaged weights: retrained, no error.
    let mut weights = fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    let mid = weights.len() / 2;
    weights[mid] ^= 0xff;
    fs::write(dir.join(WEIGHTS_FILE), &weights).unwrap();
    let repaired = classifier::load_or_train_with(dir, &smaller, &config(4)).unwrap();
    assert_eq!(repaired.origin(), Origin::Trained);

    // Garbage metadata: retrained, no error.
    fs::write(dir.join(META_FILE), b"{not json").unwrap();
    let repaired = classifier::load_or_train_with(dir, &smaller, &config(4)).unwrap();
    assert_eq!(repaired.origin(), Origin::Trained);
    assert_eq!(
        classifier::load_or_train_with(dir, &smaller, &config(4))
            .unwrap()
            .origin(),
        Origin::Loaded
    );
    // No temporary files left behind.
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mnist = fixture();
    let mut bad = config(1);
    bad.epochs = 0;
    assert!(matches!(
        Classifier::train(&mnist, &bad),
        Err(ClassifierError::InvalidConfig(_))
    ));
    bad = config(1);
    bad.dropout = 1.0;
    assert!(matches!(
        Classifier::train(&mnist, &bad),
        Err(ClassifierError::InvalidConfig(_))
    ));

    let mut empty = mnist.clone();
    empty.train.truncate(0);
    assert!(matches!(
        Classifier::train(&empty, &config(1)),
        Err(ClassifierError::BadTrainingSet { .. })
    ));
    let mut bad_label = mnist.clone();
    bad_label.train.labels[5] = 10;
    assert!(matches!(
        Classifier::train(&bad_label, &config(1)),
        Err(ClassifierError::InvalidDigit {
            index: 5,
            value: 10
        })
    ));

    let clf = Classifier::train(
        &mnist,
        &TrainConfig {
            epochs: 1,
            ..config(1)
        },
    )
    .unwrap();
    assert!(matches!(
        clf.score(&[0; 783], None),
        Err(ClassifierError::ImageBufferLength(783))
    ));
    assert!(matches!(
        clf.score(&[], None),
        Err(ClassifierError::NoImages)
    ));
    assert!(matches!(
        clf.score(&[0; 784 * 2], Some(&[1])),
        Err(ClassifierError::RequestedLength {
            images: 2,
            requested: 1
        })
    ));
    assert!(matches!(
        clf.score(&[0; 784], Some(&[11])),
        Err(ClassifierError::InvalidDigit {
            index: 0,
            value: 11
        })
    ));
    assert!(matches!(
        clf.predict_proba(&[0; 785]),
        Err(ClassifierError::ImageBufferLength(785))
    ));
}
