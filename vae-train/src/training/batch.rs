//! Batches as host data, and the gradient of one.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

use crate::data::Split;
use crate::model::Vae;
use crate::model::loss::{bce_with_logits_host, kl_values, recon_for_training};
use crate::model::tensor::{one_hot, tensor2, to_host};

/// The first `max` images of a split (all when `None`), without copying.
pub(super) struct View<'a> {
    pub(super) images: &'a [u8],
    pub(super) labels: &'a [u8],
}

impl<'a> View<'a> {
    pub(super) fn new(split: &'a Split, max: Option<usize>) -> Self {
        let n = max.map_or(split.len(), |m| m.min(split.len()));
        Self {
            images: &split.images[..n * IMAGE_PIXELS],
            labels: &split.labels[..n],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.labels.len()
    }

    pub(super) fn to_split(&self) -> Split {
        Split {
            images: self.images.to_vec(),
            labels: self.labels.to_vec(),
        }
    }
}

/// One batch as host data.
pub(super) struct Batch {
    pub(super) rows: usize,
    pixels: Vec<f32>,
    cond: Option<Vec<f32>>,
    eps: Vec<f32>,
}

impl Batch {
    pub(super) fn gather(view: &View, idx: &[usize], conditional: bool, eps: Vec<f32>) -> Self {
        let mut pixels = Vec::with_capacity(idx.len() * IMAGE_PIXELS);
        for &i in idx {
            pixels.extend(
                view.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
                    .iter()
                    .map(|&p| f32::from(p) / 255.0),
            );
        }
        let cond = conditional.then(|| {
            let labels: Vec<u8> = idx.iter().map(|&i| view.labels[i]).collect();
            one_hot(&labels)
        });
        Self {
            rows: idx.len(),
            pixels,
            cond,
            eps,
        }
    }

    /// Rows `start..start + rows` of this batch.
    pub(super) fn part(&self, start: usize, rows: usize, latent: usize) -> Batch {
        Batch {
            rows,
            pixels: self.pixels[start * IMAGE_PIXELS..(start + rows) * IMAGE_PIXELS].to_vec(),
            cond: self
                .cond
                .as_ref()
                .map(|c| c[start * NUM_CLASSES..(start + rows) * NUM_CLASSES].to_vec()),
            eps: self.eps[start * latent..(start + rows) * latent].to_vec(),
        }
    }

    /// Forward pass: the decoder logits and the per-image KL terms.
    fn forward(&self, model: &Vae, device: &Device) -> (Tensor<2>, Tensor<1>) {
        let latent = model.latent_dim();
        let x = tensor2(self.pixels.clone(), self.rows, IMAGE_PIXELS, device);
        let cond = self
            .cond
            .as_ref()
            .map(|c| tensor2(c.clone(), self.rows, NUM_CLASSES, device));
        let eps = tensor2(self.eps.clone(), self.rows, latent, device);
        let out = model.forward(x, cond, eps.clone());
        let kl = model.kl(out.mu, out.logvar, out.z, eps);
        (out.logits, kl)
    }

    /// Per-image reconstruction and KL values (no gradient).
    pub(super) fn loss_values(&self, model: &Vae, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let (logits, kl) = self.forward(model, device);
        let logits = to_host(logits);
        let mut grad = vec![0.0; logits.len()];
        let recon = bce_with_logits_host(&logits, &self.pixels, self.rows, &mut grad);
        (recon, kl_values(kl))
    }
}

/// Gradient of the batch's summed loss divided by `denom`, and the summed loss.
pub(super) fn gradients(
    model: &Vae,
    batch: &Batch,
    denom: f32,
    device: &Device,
) -> (GradientsParams, f32) {
    let (logits, kl) = batch.forward(model, device);
    let kl_host = kl_values(kl.clone());
    // A tensor whose gradient is that of the summed BCE (see `recon_for_training`).
    let (recon, recon_host) = recon_for_training(logits, &batch.pixels);
    let value = recon_host
        .iter()
        .chain(&kl_host)
        .map(|&v| f64::from(v))
        .sum::<f64>() as f32;
    let grads = (recon + kl.sum()).div_scalar(denom).backward();
    (GradientsParams::from_grads(grads, model), value)
}

/// A batch prepared for [`Stepper::step`].
pub struct BatchInput(pub(super) Batch);

impl BatchInput {
    /// A batch of `images` (`n * 784` bytes) with labels and noise `eps` (`n * latent`).
    pub fn new(images: &[u8], labels: &[u8], conditional: bool, eps: Vec<f32>) -> Self {
        let view = View { images, labels };
        let idx: Vec<usize> = (0..labels.len()).collect();
        Self(Batch::gather(&view, &idx, conditional, eps))
    }
}
