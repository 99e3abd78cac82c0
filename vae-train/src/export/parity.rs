//! How far the int8 blob is from the float model it came from.

use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use vae_core::host::Engine;
use vae_core::quantize::FloatMlp;
use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

use super::error::{ExportError, blob_err};
use super::int8::{self, with_condition};
use crate::data::Split;
use crate::model::Vae;
use crate::model::tensor::tensor2;

/// The parity report `vae-export` prints (and `--json` writes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParityReport {
    /// Latents compared pixel by pixel (half prior samples, half encoder means of test
    /// digits).
    pub latents: usize,
    /// Mean |int8 pixel - float pixel| over all pixels, in 0..=255 units; the float
    /// pixel is `round(255 * sigmoid(logit))` of burn's f32 decoder.
    pub mean_abs_pixel_error: f64,
    /// Largest |int8 pixel - float pixel|.
    pub max_abs_pixel_error: u8,
    /// Share of pixels that differ at all.
    pub pixels_differing: f64,
    /// Largest |logit| difference between vae-core's f32 reference path and burn running
    /// the same dequantized weights (checks the reference implementation itself).
    pub reference_max_abs_logit_error: f64,
    /// Test digits the losses below average over.
    pub test_images: usize,
    /// Test loss (negative ELBO, nats per image) of the float model.
    pub f32_test_loss: f64,
    /// The same with the int8 decoder's dequantized logits (same `z` samples).
    pub int8_test_loss: f64,
}

impl ParityReport {
    /// `int8_test_loss - f32_test_loss`.
    pub fn loss_delta(&self) -> f64 {
        self.int8_test_loss - self.f32_test_loss
    }
}

/// `t`'s values on the host; `f` maps each (one pass over the slice, no per-value call).
fn to_host_with<const D: usize, T>(t: Tensor<D>, f: impl Fn(f32) -> T) -> Vec<T> {
    let data = t.into_data();
    match data.as_slice::<f32>() {
        Ok(values) => values.iter().map(|&v| f(v)).collect(),
        // Another float type (not what the backends here give): converted value by value.
        Err(_) => data.iter::<f32>().map(f).collect(),
    }
}

fn to_host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    to_host_with(t, |v| v)
}

/// A float MLP (e.g. a blob's dequantized weights) as burn tensors, built once.
pub struct BurnMlp {
    /// Per layer: `W^T` as `[in, out]` and the bias as `[1, out]`.
    layers: Vec<(Tensor<2>, Tensor<2>)>,
    in_dim: usize,
    device: Device,
}

impl BurnMlp {
    /// Uploads `mlp`'s weights to `device`.
    pub fn new(mlp: &FloatMlp, device: &Device) -> Self {
        let layers = mlp
            .layers
            .iter()
            .map(|layer| {
                let w = Tensor::<2>::from_data(
                    TensorData::new(layer.weights.clone(), [layer.out_dim, layer.in_dim]),
                    device,
                )
                .transpose();
                let b = Tensor::<1>::from_data(
                    TensorData::new(layer.bias.clone(), [layer.out_dim]),
                    device,
                )
                .unsqueeze::<2>();
                (w, b)
            })
            .collect();
        BurnMlp {
            layers,
            in_dim: mlp.layers.first().map_or(0, |l| l.in_dim),
            device: device.clone(),
        }
    }

    /// Logits of `inputs` (`n * in_dim` values, row per input), `n * 784` values.
    pub fn forward(&self, inputs: &[f32]) -> Vec<f32> {
        to_host(self.logits(inputs))
    }

    /// Digits of `inputs` as 8-bit pixels, `n * 784` values: the logits through burn's
    /// `sigmoid`, then `255 p` rounded half up on the host. The same output as vae-core's
    /// decode, so the decode benchmark compares like with like (see `benches/decode.rs`).
    pub fn pixels(&self, inputs: &[f32]) -> Vec<u8> {
        // `p` is in 0..=1: `+ 0.5` then truncation rounds half up, without a call per value.
        to_host_with(sigmoid(self.logits(inputs)), |p| (255.0 * p + 0.5) as u8)
    }

    /// The logits of `inputs`, on the device.
    fn logits(&self, inputs: &[f32]) -> Tensor<2> {
        let n = inputs.len() / self.in_dim.max(1);
        let mut h = tensor2(inputs.to_vec(), n, self.in_dim, &self.device);
        let last = self.layers.len().saturating_sub(1);
        for (k, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(w.clone()) + b.clone();
            if k < last {
                h = relu(h);
            }
        }
        h
    }
}

/// `round(255 * sigmoid(logit))`, the float model's pixel.
fn float_pixel(logit: f32) -> u8 {
    let p = 1.0 / (1.0 + (-f64::from(logit)).exp());
    (255.0 * p).round() as u8
}

/// Compares `decoder` (the blob) with `vae` (the float model it was exported from).
///
/// `latents` latents (half from the prior with `seed`, half encoder means of test
/// digits) are decoded both ways; the test loss uses the first `max_test` test digits
/// with one `z` sample each, shared by both decoders.
pub fn parity(
    vae: &Vae,
    decoder: &Engine<'_>,
    test: &Split,
    latents: usize,
    max_test: usize,
    seed: u64,
) -> Result<ParityReport, ExportError> {
    let device = vae.device();
    let latent = vae.latent_dim();
    let conditional = decoder.model().classes().is_some();
    if latents < 2 || test.is_empty() {
        return Err(ExportError::Usage(
            "parity needs at least 2 latents and a non-empty test set".into(),
        ));
    }

    // Pixel parity on prior samples and encoder means.
    let n_means = (latents / 2).min(test.len());
    let n_prior = latents - n_means;
    let mut z = vae.prior_latents(n_prior, seed);
    let mut labels: Vec<u8> = (0..n_prior).map(|i| (i % NUM_CLASSES) as u8).collect();
    let mean_images = &test.images[..n_means * IMAGE_PIXELS];
    let mean_labels = &test.labels[..n_means];
    z.extend(vae.encode_means_labeled(mean_images, Some(mean_labels)));
    labels.extend_from_slice(mean_labels);
    let label_arg = conditional.then_some(labels.as_slice());
    let float_logits = vae.decode_logits_batch_labeled(&z, label_arg);
    let (mut sum, mut max, mut differing) = (0u64, 0u8, 0usize);
    let mut image = [0u8; IMAGE_PIXELS];
    for (i, (zi, fl)) in z
        .chunks_exact(latent)
        .zip(float_logits.chunks_exact(IMAGE_PIXELS))
        .enumerate()
    {
        let label = conditional.then_some(labels[i]);
        decoder
            .decode(zi, label, &mut image)
            .map_err(blob_err("decoding a parity latent"))?;
        for (&q, &l) in image.iter().zip(fl) {
            let d = q.abs_diff(float_pixel(l));
            sum += u64::from(d);
            max = max.max(d);
            differing += usize::from(d != 0);
        }
    }
    let total_pixels = (z.len() / latent * IMAGE_PIXELS) as f64;

    // The f32 reference path against burn with the same dequantized weights.
    let deq = FloatMlp::dequantized(decoder.model());
    let (inputs, _) = with_condition(&z, latent, label_arg);
    let burn_logits = BurnMlp::new(&deq, &device).forward(&inputs);
    let mut reference_err = 0f64;
    let mut logits = [0f32; IMAGE_PIXELS];
    for (i, (zi, bl)) in z
        .chunks_exact(latent)
        .zip(burn_logits.chunks_exact(IMAGE_PIXELS))
        .enumerate()
    {
        decoder
            .reference_logits(zi, conditional.then_some(labels[i]), &mut logits)
            .map_err(blob_err("running the f32 reference decode"))?;
        for (&a, &b) in logits.iter().zip(bl) {
            reference_err = reference_err.max(f64::from((a - b).abs()));
        }
    }

    // Test loss: one z sample per test digit, the same for both decoders.
    let n_test = max_test.min(test.len());
    let (f32_test_loss, int8_test_loss) = int8::test_losses(
        vae,
        decoder,
        &test.images[..n_test * IMAGE_PIXELS],
        &test.labels[..n_test],
        seed,
    )
    .map_err(blob_err("decoding a test latent"))?;

    Ok(ParityReport {
        latents: z.len() / latent,
        mean_abs_pixel_error: sum as f64 / total_pixels,
        max_abs_pixel_error: max,
        pixels_differing: differing as f64 / total_pixels,
        reference_max_abs_logit_error: reference_err,
        test_images: n_test,
        f32_test_loss,
        int8_test_loss,
    })
}

#[cfg(test)]
mod tests;
