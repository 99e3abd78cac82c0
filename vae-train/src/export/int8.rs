//! A model's int8 decoder and its test loss: the quantization every export does.
//!
//! Training measures [`test_losses`] every epoch (the `test_loss_int8` column of
//! `metrics.csv`); the export ([`super::export`]) uses the same functions for the blob it
//! writes and for its parity report, so the last epoch's `test_loss_int8` is the exported
//! blob's test loss.

use vae_core::host::Engine;
use vae_core::quantize::{
    Calibration, FloatLayer, FloatMlp, OwnedMixture, QuantizeOptions, QuantizedMlp, quantize,
};
use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

use crate::model::Vae;
use crate::model::loss::bce_with_logits_f64;
use crate::model::tensor::{append_condition, pixels_to_unit, tensor2, to_host};
use crate::rng::{Rng, Stream};

/// Training digits (and as many prior samples) the activation scales are calibrated on.
pub const DEFAULT_CALIBRATION: usize = 2000;

/// Above this many estimated floating-point operations ([`quantization_cost`]), training
/// skips its per-epoch int8 check (about 20 s of the quantizer's scalar `f64` work):
/// the check would cost more than it tells. `vae-export` still measures the blob once.
pub const MAX_EPOCH_CHECK_COST: f64 = 2e10;

/// Roughly the floating-point operations of quantizing `model`'s decoder with
/// [`DEFAULT_CALIBRATION`] digits and prior samples: error-feedback rounding forms each
/// layer's `in x in` second-moment matrix over the calibration set and inverts it, so a
/// layer `in` wide costs about `in^2 * (calibration + in)`. It grows with the square of
/// the latent and hidden widths: 6e8 for the default model, 1.4e11 for `--latent-dim 4096`.
pub fn quantization_cost(model: &crate::config::ModelConfig) -> f64 {
    let n = (2 * DEFAULT_CALIBRATION) as f64;
    std::iter::once(model.latent_dim)
        .chain(model.decoder_hidden.iter().copied())
        .map(|w| {
            let w = w as f64;
            w * w * (n + w)
        })
        .sum()
}

/// The float decoder of `vae` as the quantizer's input.
pub fn float_decoder(vae: &Vae) -> FloatMlp {
    FloatMlp {
        latent_dim: vae.latent_dim(),
        classes: vae.config().conditional.then_some(NUM_CLASSES as u8),
        layers: vae
            .decoder_layers()
            .into_iter()
            .map(|l| FloatLayer {
                in_dim: l.in_dim,
                out_dim: l.out_dim,
                weights: l.weight,
                bias: l.bias,
            })
            .collect(),
    }
}

/// Quantizes `vae`'s decoder, calibrated on the encoder means of the first `calibration`
/// digits of `train_images` / `train_labels` and on as many samples of the model's prior
/// (whose labels cycle 0-9), with `options`' clipping and weight widths (its seed and note
/// are replaced by `seed` and `note`, which go into the blob's metadata). A model with a learned
/// mixture prior gets it stored in the blob ([`OwnedMixture`]), so that `generate` on the
/// chip draws from it.
pub fn quantize_decoder(
    vae: &Vae,
    train_images: &[u8],
    train_labels: &[u8],
    calibration: usize,
    options: QuantizeOptions,
    seed: u64,
    note: String,
) -> Result<QuantizedMlp, vae_core::Error> {
    let n = calibration
        .min(train_labels.len())
        .min(train_images.len() / IMAGE_PIXELS);
    let images = &train_images[..n * IMAGE_PIXELS];
    let mut labels = train_labels[..n].to_vec();
    let mut latents = vae.encode_means_labeled(images, Some(&labels));
    latents.extend(vae.prior_latents(calibration, seed ^ 0xCA11));
    labels.extend((0..calibration).map(|i| (i % NUM_CLASSES) as u8));
    let options = QuantizeOptions {
        seed: Some(seed),
        note,
        ..options
    };
    let conditional = vae.config().conditional;
    let mut quantized = quantize(
        &float_decoder(vae),
        Calibration {
            latents: &latents,
            labels: if conditional { &labels } else { &[] },
        },
        &options,
    )?;
    if let Some(m) = vae.mixture_prior() {
        quantized.prior = Some(OwnedMixture::new(
            m.latent_dim,
            &m.weights,
            &m.means,
            &m.stds,
        )?);
    }
    Ok(quantized)
}

/// `z` rows with the one-hot `labels` appended to each (conditional models), and the
/// resulting row width.
pub fn with_condition(z: &[f32], latent: usize, labels: Option<&[u8]>) -> (Vec<f32>, usize) {
    match labels {
        None => (z.to_vec(), latent),
        Some(labels) => (
            append_condition(z, latent, labels.to_vec()),
            latent + NUM_CLASSES,
        ),
    }
}

/// Test losses (per image, negative ELBO) of the float decoder and of `decoder` (the int8
/// blob of `vae`), with the same encoder and the same `z` sample per test digit, drawn
/// as [`evaluate`](crate::training::evaluate) draws them for `seed`. Returns `(f32, int8)`.
pub fn test_losses(
    vae: &Vae,
    decoder: &Engine<'_>,
    images: &[u8],
    labels: &[u8],
    seed: u64,
) -> Result<(f64, f64), vae_core::Error> {
    let device = vae.device();
    let latent = vae.latent_dim();
    let conditional = decoder.model().classes().is_some();
    let n = labels.len().min(images.len() / IMAGE_PIXELS);
    if n == 0 {
        return Ok((f64::NAN, f64::NAN));
    }
    let labels = &labels[..n];
    let x = pixels_to_unit(&images[..n * IMAGE_PIXELS]);
    let (enc_in, enc_dim) = with_condition(&x, IMAGE_PIXELS, conditional.then_some(labels));
    let (mu, logvar) = vae.encode(tensor2(enc_in, n, enc_dim, &device));
    let (mu, logvar) = (to_host(mu), to_host(logvar));
    let eps = Rng::for_stream(seed, Stream::EvalNoise, 0).normals_f32(n * latent);
    let z: Vec<f32> = mu
        .iter()
        .zip(&logvar)
        .zip(&eps)
        .map(|((&m, &lv), &e)| m + (0.5 * lv).exp() * e)
        .collect();
    let kl = kl_values_of(vae, &mu, &logvar, &z, &eps);
    let float_logits = vae.decode_logits_batch_labeled(&z, conditional.then_some(labels));
    let (mut f32_loss, mut int8_loss) = (0f64, 0f64);
    let mut logits = [0f32; IMAGE_PIXELS];
    let rows = z
        .chunks_exact(latent)
        .zip(&kl)
        .zip(x.chunks_exact(IMAGE_PIXELS))
        .zip(float_logits.chunks_exact(IMAGE_PIXELS))
        .zip(labels);
    for ((((zi, &kl), target), fl), &label) in rows {
        let kl = f64::from(kl);
        decoder.logits(zi, conditional.then_some(label), &mut logits)?;
        for ((&t, &a), &b) in target.iter().zip(fl).zip(&logits) {
            f32_loss += bce_with_logits_f64(f64::from(a), f64::from(t));
            int8_loss += bce_with_logits_f64(f64::from(b), f64::from(t));
        }
        f32_loss += kl;
        int8_loss += kl;
    }
    Ok((f32_loss / n as f64, int8_loss / n as f64))
}

/// Rows per tensor pass of [`kl_values_of`] (a mixture prior's pass holds
/// `rows x components x latent` values).
const KL_CHUNK: usize = 1000;

/// The model's per-image KL term ([`Vae::kl`]) for host-side `mu`, `logvar`, `z` and
/// `eps` rows, as training computes it.
fn kl_values_of(vae: &Vae, mu: &[f32], logvar: &[f32], z: &[f32], eps: &[f32]) -> Vec<f32> {
    let device = vae.device();
    let latent = vae.latent_dim();
    let step = KL_CHUNK * latent;
    let chunks = mu
        .chunks(step)
        .zip(logvar.chunks(step))
        .zip(z.chunks(step).zip(eps.chunks(step)));
    let mut out = Vec::with_capacity(mu.len() / latent.max(1));
    for ((m, lv), (zc, e)) in chunks {
        let rows = m.len() / latent;
        let t = |v: &[f32]| tensor2(v.to_vec(), rows, latent, &device);
        out.extend(to_host(vae.kl(t(m), t(lv), t(zc), t(e))));
    }
    out
}
