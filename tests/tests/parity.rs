//! Train a small model on the fixture with vae-train, export it with vae-export, and
//! check the int8 blob against burn's f32 decoder.

use vae_export::{ExportOptions, export};
use vae_tests::fixture_dir;
use vae_train::config::{LrSchedule, ModelConfig, RunConfig, TrainConfig};
use vae_train::data;
use vae_train::training::{TrainOptions, train};

/// Largest single-pixel difference allowed between the int8 decoder and
/// `round(255 * sigmoid(f32 logit))`. Int8 activations put a few pixels on steep parts
/// of the sigmoid a handful of levels away; the mean is the real check.
const MAX_PIXEL_ERROR: u8 = 32;

/// Components of the learned prior of the test models.
const PRIOR_COMPONENTS: usize = 6;

fn trained_run(conditional: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mnist = data::load_from_dir(&fixture_dir()).unwrap();
    let config = RunConfig::new(
        ModelConfig {
            latent_dim: 8,
            encoder_hidden: vec![128],
            decoder_hidden: vec![64, 64],
            conditional,
            prior_components: PRIOR_COMPONENTS,
            ..ModelConfig::default()
        },
        TrainConfig {
            epochs: 3,
            batch_size: 32,
            lr: 2e-3,
            lr_schedule: LrSchedule::Cosine,
            seed: 5,
            max_train: None,
            max_test: None,
        },
        mnist.checksums.clone(),
        fixture_dir(),
    );
    let mut opts = TrainOptions::new(dir.path());
    opts.progress = false;
    opts.verbose = false;
    opts.pictures = false;
    train(&mnist, &config, &opts).unwrap();
    dir
}

fn check_parity(conditional: bool) {
    let run = trained_run(conditional);
    let mut options = ExportOptions::new(run.path());
    options.data_dir = Some(fixture_dir());
    options.calibration = 600;
    options.parity_latents = 300;
    let exported = export(&options).unwrap();
    let r = &exported.report;
    assert!(r.latents >= 256, "{r:?}");
    assert!(r.mean_abs_pixel_error <= 2.0, "mean pixel error {r:?}");
    assert!(
        r.max_abs_pixel_error <= MAX_PIXEL_ERROR,
        "max pixel error {r:?}"
    );
    assert!(
        r.reference_max_abs_logit_error <= 1e-4,
        "reference vs burn {r:?}"
    );
    assert!(r.loss_delta().abs() <= 0.5, "int8 vs f32 test loss {r:?}");
    // The blob on disk is the one reported, and it carries the measured loss.
    let on_disk = std::fs::read(&options.out).unwrap();
    assert_eq!(on_disk, exported.blob);
    let model = vae_core::format::parse(&on_disk).unwrap();
    assert_eq!(model.metadata.test_loss, Some(r.int8_test_loss as f32));
    assert_eq!(model.classes().is_some(), conditional);
    check_prior(run.path(), &model);
}

/// The blob carries the trained mixture prior, value for value, and its decoder samples
/// from it.
fn check_prior(run: &std::path::Path, model: &vae_core::format::Model<'_>) {
    use vae_core::format::Prior;
    let device = vae_train::backend::device();
    let (_, vae) = vae_train::checkpoint::load_model(run, &device).unwrap();
    let trained = vae.mixture_prior().expect("trained with a mixture prior");
    let Prior::Mixture {
        components,
        means,
        stds,
        ..
    } = model.prior
    else {
        panic!("the blob has no mixture prior: {:?}", model.prior);
    };
    assert_eq!(usize::from(components), PRIOR_COMPONENTS);
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    assert_eq!(f32s(means), trained.means);
    assert_eq!(f32s(stds), trained.stds);
    // Every prior latent sits near one of the component means (within 6 sd per value).
    let decoder = vae_core::Decoder::<8, 64>::from_model(model.clone()).unwrap();
    for seed in 0..200 {
        let z = decoder.prior_latent(&vae_core::Request::new(seed)).unwrap();
        let near = (0..PRIOR_COMPONENTS).any(|k| {
            (0..8).all(|i| (z[i] - trained.means[k * 8 + i]).abs() <= 6.0 * trained.stds[k * 8 + i])
        });
        assert!(near, "seed {seed}: {z:?} is far from every component");
    }
}

#[test]
fn int8_blob_matches_burn_f32_decoder() {
    check_parity(false);
}

#[test]
fn conditional_int8_blob_matches_burn_f32_decoder() {
    check_parity(true);
}
