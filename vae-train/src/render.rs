//! The pictures of a trained model, written next to its checkpoint.
//!
//! | file                 | content                                                        |
//! |----------------------|----------------------------------------------------------------|
//! | `reconstructions.png`| 16 test digits (rows of 8) above their reconstructions         |
//! | `samples.png`        | 8 × 8 decodings of `z` drawn from the model's prior `p(z)`     |
//! | `interpolation.png`  | 8 rows: straight latent paths between two real test digits    |
//! | `manifold.png`       | only for `latent_dim == 2`: 20 × 20 decodings on a prior-quantile grid |
//! | `latent_scatter.png` | only for `latent_dim == 2`: test-set means coloured by label   |
//! | `loss.png`           | loss curves from the metrics (also redrawn every epoch)        |
//!
//! The prior of `samples.png` is the model's own: the learned mixture (the default of an
//! unconditional run), or `N(0, I)` with `--prior-components 0` (and by default for a
//! conditional run).
//!
//! Reconstructions and interpolation end points use the posterior *mean* of each digit
//! (no noise), so the pictures of a checkpoint are reproducible. Pixels shown are the
//! Bernoulli means `sigmoid(logits)`.

use std::path::{Path, PathBuf};

use burn::module::Module;

use vae_core::IMAGE_PIXELS;

use crate::data::Split;
use crate::metrics::EpochMetrics;
use crate::model::Vae;
use crate::model::tensor::sigmoid;
use crate::pictures::{self, PictureError};

/// File names of the pictures.
pub const RECONSTRUCTIONS_PNG: &str = "reconstructions.png";
/// Prior samples.
pub const SAMPLES_PNG: &str = "samples.png";
/// Latent interpolations.
pub const INTERPOLATION_PNG: &str = "interpolation.png";
/// 2-D manifold (latent_dim 2 only).
pub const MANIFOLD_PNG: &str = "manifold.png";
/// 2-D latent scatter (latent_dim 2 only).
pub const LATENT_SCATTER_PNG: &str = "latent_scatter.png";
/// Loss curves.
pub const LOSS_PNG: &str = "loss.png";

/// Columns of the reconstruction picture.
const RECON_COLS: usize = 8;
/// Digits shown in the reconstruction picture.
const RECON_COUNT: usize = 16;
/// Side of the prior-sample grid.
const SAMPLE_SIDE: usize = 8;
/// Rows (pairs of digits) of the interpolation picture.
const INTERP_ROWS: usize = 8;
/// Images per interpolation row, end points included.
const INTERP_STEPS: usize = 10;
/// Side of the manifold grid.
const MANIFOLD_SIDE: usize = 20;
/// Pixel size of the scatter plot.
const SCATTER_SIZE: u32 = 900;

/// Splits `n * 784` values into images.
fn images(values: &[f32]) -> Vec<&[f32]> {
    values.chunks_exact(IMAGE_PIXELS).collect()
}

/// Labels for a conditional model's synthetic inputs (`None` for unconditional ones).
fn synthetic_labels(model: &Vae, n: usize) -> Option<Vec<u8>> {
    model
        .config()
        .conditional
        .then(|| (0..n).map(|i| (i % 10) as u8).collect())
}

/// Redraws `loss.png` from the metrics rows.
pub fn write_loss_plot(run_dir: &Path, rows: &[EpochMetrics]) -> Result<PathBuf, PictureError> {
    let path = run_dir.join(LOSS_PNG);
    pictures::save_png(&pictures::loss_plot(rows)?, &path)?;
    Ok(path)
}

/// Writes every picture of `model` into `run_dir` (loss curves too when `metrics` is not
/// empty); `test` provides the real digits; `seed` picks the prior samples and digit
/// pairs. Returns the files written.
pub fn write_all(
    run_dir: &Path,
    model: &Vae,
    test: &Split,
    metrics: &[EpochMetrics],
    seed: u64,
) -> Result<Vec<PathBuf>, PictureError> {
    let model = &model.valid();
    let mut written = Vec::new();
    let mut save = |img: image::RgbImage, name: &str| -> Result<(), PictureError> {
        let path = run_dir.join(name);
        pictures::save_png(&img, &path)?;
        written.push(path);
        Ok(())
    };
    let n_test = test.len();
    if n_test == 0 {
        return Err(PictureError::Empty {
            what: "test digits",
        });
    }
    let latent = model.latent_dim();

    // Reconstructions of the first test digits, through the posterior means.
    let count = RECON_COUNT.min(n_test);
    let originals = &test.images[..count * IMAGE_PIXELS];
    let labels = &test.labels[..count];
    let means = model.encode_means_labeled(originals, Some(labels));
    let recon = sigmoid(&model.decode_logits_batch_labeled(&means, Some(labels)));
    let orig_imgs: Vec<&[u8]> = originals.chunks_exact(IMAGE_PIXELS).collect();
    save(
        pictures::reconstructions(&orig_imgs, &images(&recon), RECON_COLS)?,
        RECONSTRUCTIONS_PNG,
    )?;

    // Samples from the model's prior.
    let n = SAMPLE_SIDE * SAMPLE_SIDE;
    let z = model.prior_latents(n, seed);
    let labels = synthetic_labels(model, n);
    let samples = sigmoid(&model.decode_logits_batch_labeled(&z, labels.as_deref()));
    save(
        pictures::samples(&images(&samples), SAMPLE_SIDE)?,
        SAMPLES_PNG,
    )?;

    // Interpolations between pairs of test digits with different labels.
    let pairs = interpolation_pairs(test, INTERP_ROWS);
    let ends: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let mut end_pixels = Vec::with_capacity(ends.len() * IMAGE_PIXELS);
    for &i in &ends {
        end_pixels.extend_from_slice(test.image(i));
    }
    let end_labels: Vec<u8> = ends.iter().map(|&i| test.labels[i]).collect();
    let end_means = model.encode_means_labeled(&end_pixels, Some(&end_labels));
    let mut path_z = Vec::with_capacity(pairs.len() * INTERP_STEPS * latent);
    let mut path_labels = Vec::with_capacity(pairs.len() * INTERP_STEPS);
    for (p, _) in pairs.iter().enumerate() {
        let a = &end_means[(2 * p) * latent..(2 * p + 1) * latent];
        let b = &end_means[(2 * p + 1) * latent..(2 * p + 2) * latent];
        for s in 0..INTERP_STEPS {
            let t = s as f32 / (INTERP_STEPS - 1) as f32;
            path_z.extend(a.iter().zip(b).map(|(x, y)| x + t * (y - x)));
            path_labels.push(end_labels[2 * p]);
        }
    }
    let path_imgs = sigmoid(&model.decode_logits_batch_labeled(&path_z, Some(&path_labels)));
    let rows: Vec<Vec<&[f32]>> = images(&path_imgs)
        .chunks(INTERP_STEPS)
        .map(<[&[f32]]>::to_vec)
        .collect();
    save(pictures::interpolation(&rows)?, INTERPOLATION_PNG)?;

    if latent == 2 {
        let grid = manifold_grid(model);
        let z: Vec<f32> = grid.iter().flatten().copied().collect();
        let labels = synthetic_labels(model, grid.len());
        let imgs = sigmoid(&model.decode_logits_batch_labeled(&z, labels.as_deref()));
        let n = MANIFOLD_SIDE;
        let z1: Vec<f64> = grid.iter().take(n).map(|p| f64::from(p[0])).collect();
        let z2: Vec<f64> = (0..n).rev().map(|r| f64::from(grid[r * n][1])).collect();
        save(
            pictures::manifold_with_axes(&images(&imgs), n, &z1, &z2)?,
            MANIFOLD_PNG,
        )?;

        let means = model.encode_means_labeled(&test.images, Some(&test.labels));
        let points: Vec<[f32; 2]> = means.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
        save(
            pictures::latent_scatter(&points, &test.labels[..points.len()], SCATTER_SIZE)?,
            LATENT_SCATTER_PNG,
        )?;
    }

    if !metrics.is_empty() {
        written.push(write_loss_plot(run_dir, metrics)?);
    }
    Ok(written)
}

/// `rows` pairs of test-digit indices `(a, b)` with different labels where possible:
/// row `r` goes from a digit of label `r % 10` to one of label `(r + 3) % 10`, taken in
/// order of appearance, so the choice depends only on the test set.
fn interpolation_pairs(test: &Split, rows: usize) -> Vec<(usize, usize)> {
    let n = test.len();
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); 10];
    for (i, &l) in test.labels.iter().enumerate().take(n) {
        if let Some(v) = by_label.get_mut(usize::from(l)) {
            v.push(i);
        }
    }
    let pick = |label: usize, k: usize| -> Option<usize> {
        let v = &by_label[label % 10];
        (!v.is_empty()).then(|| v[k % v.len()])
    };
    (0..rows)
        .map(|r| {
            let a = pick(r, r / 10);
            let b = pick(r + 3, r / 10 + 1);
            match (a, b) {
                (Some(a), Some(b)) if a != b => (a, b),
                // Too few distinct labels: fall back to spaced indices.
                _ => ((2 * r) % n, (2 * r + 1) % n),
            }
        })
        .collect()
}

/// Prior samples behind a mixture prior's manifold grid (its marginal quantiles).
const MANIFOLD_PRIOR_SAMPLES: usize = 20_000;

/// The manifold grid at the prior's marginal quantiles: Φ⁻¹ for N(0, I), empirical
/// quantiles of prior samples for a learned mixture (whose marginals have no closed-form
/// inverse).
fn manifold_grid(model: &Vae) -> Vec<[f32; 2]> {
    if model.config().prior_components == 0 {
        return pictures::manifold_latents(MANIFOLD_SIDE);
    }
    let z = model.prior_latents(MANIFOLD_PRIOR_SAMPLES, 0x3A71);
    let mut axes: [Vec<f32>; 2] = [0, 1].map(|a| z.iter().skip(a).step_by(2).copied().collect());
    axes.iter_mut().for_each(|v| v.sort_by(f32::total_cmp));
    pictures::manifold_latents_with(MANIFOLD_SIDE, |a, p| {
        let v = &axes[a];
        let i = ((p * v.len() as f64) as usize).min(v.len().saturating_sub(1));
        v.get(i).map_or(0.0, |&x| f64::from(x))
    })
}
