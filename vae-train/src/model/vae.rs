//! The MLP variational autoencoder (burn module) and a burn-free view of its decoder.
//!
//! ```text
//! x (784, +10 one-hot if conditional)
//!   -> [Linear + ReLU] per encoder_hidden width -> mu (latent), logvar (latent)
//! z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)
//! z (latent, +10 one-hot if conditional)
//!   -> [Linear + ReLU] per decoder_hidden width -> Linear -> 784 logits
//! ```
//!
//! Pixels go in as `u8 / 255` in `[0, 1]`; the decoder outputs logits, and
//! `sigmoid(logit)` is the Bernoulli mean of each pixel.
//!
//! Besides the tensor API used for training, [`Vae`] has host helpers on plain slices
//! ([`Vae::encode_means`], [`Vae::decode_logits_batch`], [`Vae::sample_prior`]) and
//! [`Vae::decoder_layers`], the decoder's weights as plain `f32` rows for the exporter.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{relu, silu};
use burn::tensor::{Device, Tensor, TensorData};

use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

use super::loss::kl_divergence;
use super::prior::{MixtureF32, MixturePrior};
use super::tensor::{append_condition, pixels_to_unit, sigmoid, tensor2, to_host};
use crate::config::{Activation, ConfigError, ModelConfig};
use crate::rng::{Rng, Stream};

/// Rows per chunk when the host helpers run the model over many inputs.
const HOST_CHUNK: usize = 1024;

/// The MLP VAE. Build it with [`Vae::new`]; load trained weights with
/// [`crate::checkpoint::load_model`].
#[derive(Module, Debug)]
pub struct Vae {
    /// Encoder hidden layers (each followed by ReLU).
    encoder: Vec<Linear>,
    /// Head producing the posterior mean.
    mu: Linear,
    /// Head producing the posterior log-variance.
    logvar: Linear,
    /// Decoder layers; every one but the last is followed by ReLU, the last outputs logits.
    decoder: Vec<Linear>,
    /// The learned mixture prior, or `None` for the fixed `N(0, I)`
    /// ([`ModelConfig::prior_components`]).
    prior: Option<MixturePrior>,
    /// The shape this model was built from.
    #[module(skip)]
    config: ModelConfig,
}

/// What one forward pass produces.
#[derive(Debug, Clone)]
pub struct VaeOutput {
    /// Decoder logits, `[n, 784]`.
    pub logits: Tensor<2>,
    /// Posterior means, `[n, latent]`.
    pub mu: Tensor<2>,
    /// Posterior log-variances, `[n, latent]`.
    pub logvar: Tensor<2>,
    /// The sampled latent codes `mu + exp(logvar / 2) * eps`, `[n, latent]`.
    pub z: Tensor<2>,
}

/// One dense layer as plain data, independent of burn: `y = W x + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseF32 {
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    /// Weights, row-major `[out_dim][in_dim]`: `weight[j * in_dim + i]` multiplies input `i`
    /// for output `j`.
    pub weight: Vec<f32>,
    /// Biases, `out_dim` long.
    pub bias: Vec<f32>,
}

impl DenseF32 {
    /// `W x + b` for one input vector (`x.len() == in_dim`), in `f32` with `f64`
    /// accumulation. A reference for tests and for the exporter's parity checks.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        (0..self.out_dim)
            .map(|j| {
                let row = &self.weight[j * self.in_dim..(j + 1) * self.in_dim];
                let acc: f64 = row
                    .iter()
                    .zip(x)
                    .map(|(&w, &v)| f64::from(w) * f64::from(v))
                    .sum();
                (acc + f64::from(self.bias[j])) as f32
            })
            .collect()
    }
}

/// A `d_in -> d_out` layer with PyTorch's default initialisation: weights and biases
/// uniform in `±1/sqrt(d_in)`, drawn from `rng` (so the same seed gives the same model on
/// every backend).
fn dense(d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f32).sqrt();
    let weight = rng.uniform_f32(d_in * d_out, -bound, bound);
    let bias = rng.uniform_f32(d_out, -bound, bound);
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_in, d_out]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_out]), device)),
    }
}

impl Vae {
    /// A freshly initialised model for `config` on `device` (use an autodiff device to
    /// train). Weights come from `seed` via the crate's own PRNG, so they are identical on
    /// every backend.
    pub fn new(config: &ModelConfig, seed: u64, device: &Device) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = Rng::for_stream(seed, Stream::Init, 0);
        let mut width = config.encoder_input_dim();
        let mut encoder = Vec::with_capacity(config.encoder_hidden.len());
        for &h in &config.encoder_hidden {
            encoder.push(dense(width, h, &mut rng, device));
            width = h;
        }
        let mu = dense(width, config.latent_dim, &mut rng, device);
        let logvar = dense(width, config.latent_dim, &mut rng, device);
        let mut width = config.decoder_input_dim();
        let mut decoder = Vec::with_capacity(config.decoder_hidden.len() + 1);
        for &h in &config.decoder_hidden {
            decoder.push(dense(width, h, &mut rng, device));
            width = h;
        }
        decoder.push(dense(width, IMAGE_PIXELS, &mut rng, device));
        // Drawn last, so a standard-prior model's weights do not depend on the prior.
        let prior = (config.prior_components > 0).then(|| {
            MixturePrior::new(config.prior_components, config.latent_dim, &mut rng, device)
        });
        Ok(Self {
            encoder,
            mu,
            logvar,
            decoder,
            prior,
            config: config.clone(),
        })
    }

    /// The shape this model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Width of `z`.
    pub fn latent_dim(&self) -> usize {
        self.config.latent_dim
    }

    /// Posterior mean and log-variance of `x`, `[n, encoder_input_dim]` (pixels in `[0, 1]`,
    /// then the one-hot label if the model is conditional).
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let mut h = x;
        for layer in &self.encoder {
            h = layer.forward(h);
            h = match self.config.encoder_activation {
                Activation::Relu => relu(h),
                Activation::Silu => silu(h),
            };
        }
        (self.mu.forward(h.clone()), self.logvar.forward(h))
    }

    /// `z = mu + exp(logvar / 2) * eps`, with `eps ~ N(0, I)` given by the caller (so the
    /// noise comes from the run's seeded generator).
    pub fn reparameterize(mu: Tensor<2>, logvar: Tensor<2>, eps: Tensor<2>) -> Tensor<2> {
        mu + logvar.mul_scalar(0.5).exp() * eps
    }

    /// Decoder logits `[n, 784]` of `z`, `[n, decoder_input_dim]` (the latent code, then the
    /// one-hot label if the model is conditional).
    pub fn decode_logits(&self, z: Tensor<2>) -> Tensor<2> {
        let last = self.decoder.len().saturating_sub(1);
        let mut h = z;
        for (i, layer) in self.decoder.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = relu(h);
            }
        }
        h
    }

    /// Full pass: encode `x` (`[n, 784]` pixels in `[0, 1]`), sample `z` with the noise
    /// `eps` (`[n, latent]`), decode. `cond` is the one-hot label `[n, 10]`, used (and
    /// required) only by conditional models; a conditional model given `None` is fed
    /// all-zero labels.
    pub fn forward(&self, x: Tensor<2>, cond: Option<Tensor<2>>, eps: Tensor<2>) -> VaeOutput {
        let cond = self.condition(cond, &x);
        let enc_in = match &cond {
            Some(c) => Tensor::cat(vec![x, c.clone()], 1),
            None => x,
        };
        let (mu, logvar) = self.encode(enc_in);
        let z = Self::reparameterize(mu.clone(), logvar.clone(), eps);
        let dec_in = match cond {
            Some(c) => Tensor::cat(vec![z.clone(), c], 1),
            None => z.clone(),
        };
        VaeOutput {
            logits: self.decode_logits(dec_in),
            mu,
            logvar,
            z,
        }
    }

    /// The KL term of the ELBO per image, `[n]`, for posterior `mu`, `logvar` and the
    /// sample `z = mu + exp(logvar / 2) * eps` drawn with `eps`: analytic against
    /// `N(0, I)`, or the single-sample estimate `ln q(z|x) - ln p(z)` against a mixture
    /// prior (see [`super::prior`]).
    pub fn kl(&self, mu: Tensor<2>, logvar: Tensor<2>, z: Tensor<2>, eps: Tensor<2>) -> Tensor<1> {
        match &self.prior {
            None => kl_divergence(mu, logvar),
            Some(prior) => {
                // ln q(z|x) = -1/2 sum(logvar + eps^2), since (z - mu)^2 / var = eps^2.
                let log_q = (logvar + eps.square())
                    .sum_dim(1)
                    .squeeze_dim::<1>(1)
                    .mul_scalar(-0.5);
                log_q - prior.log_prob(z)
            }
        }
    }

    /// The learned mixture prior as plain data, or `None` for a standard-normal prior.
    pub fn mixture_prior(&self) -> Option<MixtureF32> {
        self.prior.as_ref().map(MixturePrior::to_f32)
    }

    /// `n` latent codes from the model's prior `p(z)` (`N(0, I)` or the learned mixture),
    /// drawn with `seed`, row-major `[n][latent]`.
    pub fn prior_latents(&self, n: usize, seed: u64) -> Vec<f32> {
        match self.mixture_prior() {
            None => prior_latents(n, self.latent_dim(), seed),
            Some(mixture) => mixture.sample(n, &mut Rng::for_stream(seed, Stream::Pictures, 0)),
        }
    }

    /// The condition to append: `None` for unconditional models; for conditional ones the
    /// given one-hot rows or zeros shaped like `x`'s batch.
    fn condition(&self, cond: Option<Tensor<2>>, x: &Tensor<2>) -> Option<Tensor<2>> {
        if !self.config.conditional {
            return None;
        }
        Some(cond.unwrap_or_else(|| {
            let [n, _] = x.dims();
            Tensor::zeros([n, NUM_CLASSES], &x.device())
        }))
    }

    /// The decoder as plain `f32` layers, input side first; the last one outputs the 784
    /// logits. The first layer's `in_dim` is `decoder_input_dim()` (latent, plus 10 for the
    /// one-hot label of a conditional model). ReLU follows every layer but the last.
    pub fn decoder_layers(&self) -> Vec<DenseF32> {
        self.decoder.iter().map(linear_to_dense).collect()
    }

    /// The encoder's hidden layers, then the `mu` head, then the `logvar` head, as plain
    /// layers (for inspection and tests).
    pub fn encoder_layers(&self) -> Vec<DenseF32> {
        self.encoder
            .iter()
            .chain([&self.mu, &self.logvar])
            .map(linear_to_dense)
            .collect()
    }

    /// Posterior means of `images` (`n * 784` bytes, pixels 0..=255; a trailing partial image
    /// is ignored), `n * latent` values, row per image. A conditional model is given
    /// all-zero labels; use [`Vae::encode_means_labeled`] to pass the labels.
    pub fn encode_means(&self, images: &[u8]) -> Vec<f32> {
        self.encode_means_labeled(images, None)
    }

    /// [`Vae::encode_means`] with the labels of the images (used by conditional models,
    /// ignored by unconditional ones; missing labels count as all-zero one-hots).
    pub fn encode_means_labeled(&self, images: &[u8], labels: Option<&[u8]>) -> Vec<f32> {
        let model = self.valid();
        let device = model.device();
        let n = images.len() / IMAGE_PIXELS;
        let mut out = Vec::with_capacity(n * self.latent_dim());
        let mut start = 0;
        while start < n {
            let rows = (n - start).min(HOST_CHUNK);
            let mut x =
                pixels_to_unit(&images[start * IMAGE_PIXELS..(start + rows) * IMAGE_PIXELS]);
            if self.config.conditional {
                x = append_condition(&x, IMAGE_PIXELS, labels_for(labels, start, rows));
            }
            let x = tensor2(x, rows, self.config.encoder_input_dim(), &device);
            let (mu, _) = model.encode(x);
            out.extend(to_host(mu));
            start += rows;
        }
        out
    }

    /// Decoder logits of latent codes `z` (`n * latent` values, row per code; a trailing
    /// partial row is ignored), `n * 784` values. A conditional model is given all-zero
    /// labels; use [`Vae::decode_logits_batch_labeled`] to pass them.
    pub fn decode_logits_batch(&self, z: &[f32]) -> Vec<f32> {
        self.decode_logits_batch_labeled(z, None)
    }

    /// [`Vae::decode_logits_batch`] with a label per code (used by conditional models,
    /// ignored by unconditional ones).
    pub fn decode_logits_batch_labeled(&self, z: &[f32], labels: Option<&[u8]>) -> Vec<f32> {
        let model = self.valid();
        let device = model.device();
        let latent = self.latent_dim();
        let n = z.len() / latent;
        let mut out = Vec::with_capacity(n * IMAGE_PIXELS);
        let mut start = 0;
        while start < n {
            let rows = (n - start).min(HOST_CHUNK);
            let mut zin = z[start * latent..(start + rows) * latent].to_vec();
            if self.config.conditional {
                zin = append_condition(&zin, latent, labels_for(labels, start, rows));
            }
            let zt = tensor2(zin, rows, self.config.decoder_input_dim(), &device);
            out.extend(to_host(model.decode_logits(zt)));
            start += rows;
        }
        out
    }

    /// `n` images decoded from `z ~ p(z)` ([`Vae::prior_latents`]) drawn with `seed`:
    /// pixel means `sigmoid(logits)` in `[0, 1]`, `n * 784` values.
    pub fn sample_prior(&self, n: usize, seed: u64) -> Vec<f32> {
        let z = self.prior_latents(n, seed);
        sigmoid(&self.decode_logits_batch(&z))
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.mu.weight.val().device()
    }
}

/// `n * latent` standard-normal latent codes drawn with `seed` (the `N(0, I)` prior; a
/// model's own prior is [`Vae::prior_latents`]).
pub fn prior_latents(n: usize, latent: usize, seed: u64) -> Vec<f32> {
    Rng::for_stream(seed, Stream::Pictures, 0).normals_f32(n * latent)
}

fn labels_for(labels: Option<&[u8]>, start: usize, rows: usize) -> Vec<u8> {
    // Missing labels (or too few) become 255, which one_hot maps to an all-zero row.
    (start..start + rows)
        .map(|i| labels.and_then(|l| l.get(i)).copied().unwrap_or(u8::MAX))
        .collect()
}

fn linear_to_dense(layer: &Linear) -> DenseF32 {
    let [in_dim, out_dim] = layer.weight.val().dims();
    // burn stores the weight as [in][out]; transpose to [out][in].
    let w = to_host(layer.weight.val());
    let mut weight = vec![0.0; in_dim * out_dim];
    for i in 0..in_dim {
        for j in 0..out_dim {
            weight[j * in_dim + i] = w[i * out_dim + j];
        }
    }
    let bias = match &layer.bias {
        Some(b) => to_host(b.val()),
        None => vec![0.0; out_dim],
    };
    DenseF32 {
        in_dim,
        out_dim,
        weight,
        bias,
    }
}

#[cfg(test)]
mod tests;
