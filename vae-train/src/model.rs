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

use crate::config::{Activation, ConfigError, ModelConfig};
use crate::data::{IMAGE_PIXELS, NUM_CLASSES};
use crate::loss::kl_divergence;
use crate::prior::{MixtureF32, MixturePrior};
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

/// Reads a float tensor back to host memory.
pub(crate) fn to_host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    // Reading a CPU tensor of `f32` fails only on a backend bug; there is no input to blame.
    tensor
        .try_into_vec_as::<f32>()
        .unwrap_or_else(|e| panic!("reading a tensor back from the CPU backend failed: {e}"))
}

/// `[rows, cols]` tensor from host `f32` data.
pub fn tensor2(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// Pixels `u8` (0..=255) to model inputs in `[0, 1]`.
pub fn pixels_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// One-hot rows (10 wide) for `labels`; a label outside `0..10` gives an all-zero row.
pub fn one_hot(labels: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; labels.len() * NUM_CLASSES];
    for (row, &l) in out.chunks_exact_mut(NUM_CLASSES).zip(labels) {
        if let Some(v) = row.get_mut(usize::from(l)) {
            *v = 1.0;
        }
    }
    out
}

/// `sigmoid` of each logit, computed in `f64`.
pub fn sigmoid(logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .map(|&x| (1.0 / (1.0 + (-f64::from(x)).exp())) as f32)
        .collect()
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
    /// prior (see [`crate::prior`]).
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

/// Appends each label's one-hot row to the `width`-wide rows of `rows`.
pub(crate) fn append_condition(rows: &[f32], width: usize, labels: Vec<u8>) -> Vec<f32> {
    let hot = one_hot(&labels);
    let mut out = Vec::with_capacity(rows.len() + hot.len());
    for (row, h) in rows.chunks_exact(width).zip(hot.chunks_exact(NUM_CLASSES)) {
        out.extend_from_slice(row);
        out.extend_from_slice(h);
    }
    out
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
mod tests {
    use super::*;
    use crate::backend;

    fn tiny(conditional: bool) -> ModelConfig {
        ModelConfig {
            latent_dim: 3,
            encoder_hidden: vec![16, 8],
            decoder_hidden: vec![8],
            conditional,
            ..ModelConfig::default()
        }
    }

    fn relu_v(v: Vec<f32>) -> Vec<f32> {
        v.into_iter().map(|x| x.max(0.0)).collect()
    }

    #[test]
    fn same_seed_same_weights_and_shapes() {
        let device = backend::device();
        let a = Vae::new(&tiny(false), 5, &device).unwrap();
        let b = Vae::new(&tiny(false), 5, &device).unwrap();
        let c = Vae::new(&tiny(false), 6, &device).unwrap();
        assert_eq!(a.decoder_layers(), b.decoder_layers());
        assert_ne!(a.decoder_layers(), c.decoder_layers());
        let dims: Vec<_> = a
            .decoder_layers()
            .iter()
            .map(|l| (l.in_dim, l.out_dim))
            .collect();
        assert_eq!(dims, vec![(3, 8), (8, 784)]);
        let enc: Vec<_> = a
            .encoder_layers()
            .iter()
            .map(|l| (l.in_dim, l.out_dim))
            .collect();
        assert_eq!(enc, vec![(784, 16), (16, 8), (8, 3), (8, 3)]);
        let bound = 1.0 / (784f32).sqrt();
        assert!(
            a.encoder_layers()[0]
                .weight
                .iter()
                .all(|w| w.abs() <= bound)
        );
    }

    #[test]
    fn host_helpers_match_a_plain_reference() {
        let device = backend::device();
        let vae = Vae::new(&tiny(false), 1, &device).unwrap();
        let images: Vec<u8> = (0..2 * 784).map(|i| (i * 37 % 256) as u8).collect();
        let means = vae.encode_means(&images);
        assert_eq!(means.len(), 2 * 3);
        let enc = vae.encoder_layers();
        for n in 0..2 {
            let x = pixels_to_unit(&images[n * 784..(n + 1) * 784]);
            let act = |v: Vec<f32>| -> Vec<f32> {
                v.into_iter()
                    .map(|x| vae.config().encoder_activation.apply(x))
                    .collect()
            };
            let h = act(enc[0].apply(&x));
            let h = act(enc[1].apply(&h));
            let mu = enc[2].apply(&h);
            for (a, b) in mu.iter().zip(&means[n * 3..(n + 1) * 3]) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
        let z = [0.5f32, -1.0, 2.0];
        let logits = vae.decode_logits_batch(&z);
        let dec = vae.decoder_layers();
        let expect = dec[1].apply(&relu_v(dec[0].apply(&z)));
        assert_eq!(logits.len(), 784);
        for (a, b) in logits.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // A trailing partial row is ignored.
        assert_eq!(vae.decode_logits_batch(&[0.0; 4]).len(), 784);
        let samples = vae.sample_prior(5, 9);
        assert_eq!(samples.len(), 5 * 784);
        assert!(samples.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(samples, vae.sample_prior(5, 9));
    }

    #[test]
    fn conditional_model_uses_the_label() {
        let device = backend::device();
        let vae = Vae::new(&tiny(true), 1, &device).unwrap();
        assert_eq!(vae.decoder_layers()[0].in_dim, 3 + 10);
        assert_eq!(vae.encoder_layers()[0].in_dim, 784 + 10);
        let z = [0.1f32, 0.2, 0.3];
        let a = vae.decode_logits_batch_labeled(&z, Some(&[3]));
        let b = vae.decode_logits_batch_labeled(&z, Some(&[7]));
        assert_ne!(a, b);
        let dec = vae.decoder_layers();
        let mut input = z.to_vec();
        input.extend(one_hot(&[7]));
        let expect = dec[1].apply(&relu_v(dec[0].apply(&input)));
        for (x, y) in b.iter().zip(&expect) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    #[test]
    fn forward_shapes_and_reparameterization() {
        let device = backend::device();
        let vae = Vae::new(&tiny(false), 2, &device).unwrap();
        let x = tensor2(vec![0.5; 4 * 784], 4, 784, &device);
        let eps = tensor2(vec![0.0; 4 * 3], 4, 3, &device);
        let out = vae.forward(x, None, eps);
        assert_eq!(out.logits.dims(), [4, 784]);
        assert_eq!(out.mu.dims(), [4, 3]);
        // With eps = 0, z = mu, so the logits equal decode(mu).
        let direct = vae.decode_logits(out.mu.clone());
        let (a, b) = (to_host(out.logits), to_host(direct));
        assert_eq!(a, b);
        let z = Vae::reparameterize(
            tensor2(vec![1.0, 2.0], 1, 2, &device),
            tensor2(vec![0.0, 2.0f32.ln() * 2.0], 1, 2, &device),
            tensor2(vec![0.5, -1.0], 1, 2, &device),
        );
        let z = to_host(z);
        assert!(
            (z[0] - 1.5).abs() < 1e-6 && (z[1] - 0.0).abs() < 1e-5,
            "{z:?}"
        );
    }

    #[test]
    fn kl_is_analytic_for_n01_and_a_log_ratio_for_a_mixture() {
        let device = backend::device();
        let (n, l) = (6, 3);
        let mut rng = Rng::for_stream(4, Stream::Pictures, 0);
        let mu = rng.normals_f32(n * l);
        let lv = rng.uniform_f32(n * l, -1.0, 0.5);
        let eps = rng.normals_f32(n * l);
        let t = |v: &[f32]| tensor2(v.to_vec(), n, l, &device);
        let z = to_host(Vae::reparameterize(t(&mu), t(&lv), t(&eps)));
        let f64s = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        let with_prior = |k| ModelConfig {
            prior_components: k,
            ..tiny(false)
        };

        let standard = Vae::new(&with_prior(0), 1, &device).unwrap();
        assert!(standard.mixture_prior().is_none());
        let kl = to_host(standard.kl(t(&mu), t(&lv), t(&z), t(&eps)));
        for (i, &k) in kl.iter().enumerate() {
            let r = i * l..(i + 1) * l;
            let want = crate::loss::kl_f64(&f64s(&mu[r.clone()]), &f64s(&lv[r]));
            assert!((f64::from(k) - want).abs() < 1e-4, "{k} vs {want}");
        }

        let mixture = Vae::new(&with_prior(4), 1, &device).unwrap();
        let m = mixture.mixture_prior().expect("a mixture prior");
        assert_eq!((m.components(), m.latent_dim), (4, l));
        // Same decoder weights as the standard model: the prior is drawn last.
        assert_eq!(mixture.decoder_layers(), standard.decoder_layers());
        let kl = to_host(mixture.kl(t(&mu), t(&lv), t(&z), t(&eps)));
        for (i, &k) in kl.iter().enumerate() {
            let log_q: f64 = (0..l)
                .map(|j| -0.5 * (f64::from(lv[i * l + j]) + f64::from(eps[i * l + j]).powi(2)))
                .sum();
            let log_p = crate::prior::tests::log_prob_f64(&m, &z[i * l..(i + 1) * l]);
            let want = log_q - log_p;
            assert!((f64::from(k) - want).abs() < 1e-3, "{k} vs {want}");
        }
        // Prior samples come from the mixture (a fresh one: unit variances around means
        // drawn from N(0, I)), deterministically.
        assert_eq!(mixture.prior_latents(8, 3), mixture.prior_latents(8, 3));
        assert_ne!(mixture.prior_latents(8, 3), standard.prior_latents(8, 3));
    }

    #[test]
    fn helpers_one_hot_and_sigmoid() {
        let h = one_hot(&[0, 9, 200]);
        assert_eq!(h[0], 1.0);
        assert_eq!(h[19], 1.0);
        assert!(h[20..].iter().all(|&v| v == 0.0));
        assert_eq!(h.iter().sum::<f32>(), 2.0);
        let s = sigmoid(&[0.0, 100.0, -100.0]);
        assert_eq!(s[0], 0.5);
        assert!(s[1] > 0.999 && s[2] < 0.001);
    }
}
