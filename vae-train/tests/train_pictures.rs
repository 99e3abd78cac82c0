//! The pictures of a run: written after training with the right sizes, and regenerated
//! identically from the checkpoint.

mod train_common;

use std::path::Path;

use train_common::{fixture, quiet, small_config};
use vae_train::pictures;
use vae_train::render;
use vae_train::training;

fn dims(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

fn expected_dims(img: &image::RgbImage) -> (u32, u32) {
    (img.width(), img.height())
}

#[test]
fn latent_2_run_writes_every_picture_and_regenerates_them() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = quiet(tmp.path());
    opts.pictures = true;
    let report = training::train(&mnist, &small_config(&mnist, 2, 1), &opts).unwrap();
    let names: Vec<_> = report
        .pictures
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in [
        render::RECONSTRUCTIONS_PNG,
        render::SAMPLES_PNG,
        render::INTERPOLATION_PNG,
        render::MANIFOLD_PNG,
        render::LATENT_SCATTER_PNG,
        render::LOSS_PNG,
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }

    // Sizes match what the picture functions make for inputs of the same shape.
    let blank = vec![0.0f32; 784];
    let d = |name: &str| dims(&tmp.path().join(name));
    assert_eq!(
        d(render::SAMPLES_PNG),
        expected_dims(&pictures::samples(&vec![blank.clone(); 64], 8).unwrap())
    );
    assert_eq!(
        d(render::RECONSTRUCTIONS_PNG),
        expected_dims(
            &pictures::reconstructions(&vec![blank.clone(); 16], &vec![blank.clone(); 16], 8)
                .unwrap()
        )
    );
    let rows = vec![vec![blank.clone(); 10]; 8];
    assert_eq!(
        d(render::INTERPOLATION_PNG),
        expected_dims(&pictures::interpolation(&rows).unwrap())
    );
    assert_eq!(
        d(render::MANIFOLD_PNG),
        expected_dims(&pictures::manifold(&vec![blank.clone(); 400], 20).unwrap())
    );
    assert_eq!(d(render::LATENT_SCATTER_PNG), (900, 900));

    // Regenerating from the checkpoint gives the same files.
    let before: Vec<Vec<u8>> = report
        .pictures
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    for p in &report.pictures {
        std::fs::remove_file(p).unwrap();
    }
    let again = training::regenerate_pictures(tmp.path(), &mnist).unwrap();
    assert_eq!(again, report.pictures);
    let after: Vec<Vec<u8>> = again.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(before == after, "regenerated pictures differ");
}

#[test]
fn latent_20_run_skips_the_2d_pictures() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = quiet(tmp.path());
    opts.pictures = true;
    let report = training::train(&mnist, &small_config(&mnist, 20, 1), &opts).unwrap();
    assert_eq!(report.pictures.len(), 4, "{:?}", report.pictures);
    assert!(!tmp.path().join(render::MANIFOLD_PNG).exists());
    assert!(!tmp.path().join(render::LATENT_SCATTER_PNG).exists());
    // loss.png is redrawn every epoch, pictures or not.
    assert!(tmp.path().join(render::LOSS_PNG).is_file());
}
