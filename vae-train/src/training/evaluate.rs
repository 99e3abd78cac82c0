//! The test-set measurements taken after every epoch: the ELBO terms, and the test loss of
//! the decoder quantized as the export quantizes it.

use burn::module::Module;

use super::batch::{Batch, View};
use crate::export::int8;
use crate::model::Vae;
use crate::rng::{Rng, Stream};

/// Images per chunk when evaluating on the test set.
const EVAL_CHUNK: usize = 1000;

/// Test-set evaluation: mean per-image (recon, kl) with the fixed evaluation noise.
pub fn evaluate(model: &Vae, images: &[u8], labels: &[u8], seed: u64) -> (f64, f64) {
    let model = model.valid();
    let device = model.device();
    let view = View { images, labels };
    let n = view.len();
    let latent = model.latent_dim();
    let conditional = model.config().conditional;
    let mut noise = Rng::for_stream(seed, Stream::EvalNoise, 0);
    let (mut recon, mut kl) = (0.0f64, 0.0f64);
    let mut start = 0;
    while start < n {
        let rows = (n - start).min(EVAL_CHUNK);
        let idx: Vec<usize> = (start..start + rows).collect();
        let batch = Batch::gather(&view, &idx, conditional, noise.normals_f32(rows * latent));
        let (r, k) = batch.loss_values(&model, &device);
        recon += r.iter().map(|&v| f64::from(v)).sum::<f64>();
        kl += k.iter().map(|&v| f64::from(v)).sum::<f64>();
        start += rows;
    }
    let n = n.max(1) as f64;
    (recon / n, kl / n)
}

/// The test loss of `model`'s decoder quantized as `vae-export` quantizes it (calibrated on
/// the first training digits), or `None` (with a warning) if it cannot be quantized: a
/// measurement must not stop a training run.
pub(super) fn int8_test_loss(
    model: &Vae,
    train: &View<'_>,
    test: &View<'_>,
    seed: u64,
) -> Option<f64> {
    let measured = int8::quantize_decoder(
        model,
        train.images,
        train.labels,
        int8::DEFAULT_CALIBRATION,
        vae_core::quantize::QuantizeOptions::default(),
        seed,
        String::new(),
    )
    .and_then(|q| q.to_blob())
    .and_then(|blob| {
        let decoder = vae_core::host::open(&blob)?;
        int8::test_losses(model, &decoder, test.images, test.labels, seed)
    });
    match measured {
        Ok((_, int8)) => Some(int8),
        Err(e) => {
            eprintln!("warning: the int8 test loss could not be measured this epoch: {e}");
            None
        }
    }
}
