//! The prior `p(z)` of the VAE: the fixed standard normal `N(0, I)`, or a learned mixture
//! of `K` diagonal Gaussians trained jointly with the encoder and decoder.
//!
//! ```text
//! p(z) = sum_k pi_k N(z; m_k, diag(exp(v_k))),   pi = softmax(logits)
//! ```
//!
//! With the standard prior the KL term of the ELBO is analytic
//! ([`kl_divergence`](super::loss::kl_divergence)). With a mixture it has no closed form and
//! is estimated with the same reparameterised sample `z = mu + sigma * eps` that feeds the
//! decoder: `KL ~= ln q(z|x) - ln p(z)`, an unbiased single-sample estimate (the usual one
//! for learned priors, e.g. the VampPrior paper). Both log-densities leave out the same
//! `-latent/2 ln(2 pi)` constant, which cancels.
//!
//! Why a mixture: a VAE trained against `N(0, I)` leaves "holes" — regions the prior
//! samples often but no training digit encodes to — and decodes them into blurred
//! in-between shapes. On full MNIST (z = 20, seed 1) only 68% of `N(0, I)` samples were
//! classified with confidence >= 0.9 against 96% for reconstructions of test digits; a
//! 100-component diagonal mixture fitted *after* training to the encoder means already
//! reached 86%. Training the mixture as the model's own prior makes that the distribution
//! `vae-export` stores in the blob and `vae-core` samples on the chip.

use burn::module::{Module, Param};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::tensor::to_host;
use crate::rng::Rng;

/// A learned mixture of diagonal Gaussians over `z` (a burn module, trained with the VAE).
#[derive(Module, Debug)]
pub struct MixturePrior {
    /// Component means `m_k`, `[K, latent]`.
    means: Param<Tensor<2>>,
    /// Component log-variances `v_k`, `[K, latent]`.
    logvars: Param<Tensor<2>>,
    /// Unnormalised log mixture weights, `[K]`.
    logits: Param<Tensor<1>>,
}

/// A mixture prior as plain data, independent of burn (for sampling on the host and for
/// the exporter).
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureF32 {
    /// Width of `z`.
    pub latent_dim: usize,
    /// Mixture weights `pi_k` (non-negative, summing to 1), `K` long.
    pub weights: Vec<f32>,
    /// Means, row-major `[K][latent]`.
    pub means: Vec<f32>,
    /// Standard deviations `exp(v / 2)`, row-major `[K][latent]`.
    pub stds: Vec<f32>,
}

impl MixturePrior {
    /// `components` Gaussians over a `latent`-wide `z`: means drawn from `N(0, I)` with
    /// `rng`, unit variances, equal weights.
    pub fn new(components: usize, latent: usize, rng: &mut Rng, device: &Device) -> Self {
        let means = rng.normals_f32(components * latent);
        Self {
            means: Param::from_data(TensorData::new(means, [components, latent]), device),
            logvars: Param::from_data(
                TensorData::new(vec![0.0f32; components * latent], [components, latent]),
                device,
            ),
            logits: Param::from_data(
                TensorData::new(vec![0.0f32; components], [components]),
                device,
            ),
        }
    }

    /// Number of components `K`.
    pub fn components(&self) -> usize {
        self.logits.val().dims()[0]
    }

    /// `ln p(z)` of each row of `z` (`[n, latent] -> [n]`), without the `-latent/2 ln(2 pi)`
    /// constant. A log-sum-exp over the components, shifted by their maximum.
    pub fn log_prob(&self, z: Tensor<2>) -> Tensor<1> {
        let means = self.means.val().unsqueeze_dim::<3>(0); // [1, K, L]
        let logvars = self.logvars.val();
        let inv_var = logvars.clone().neg().exp().unsqueeze_dim::<3>(0); // [1, K, L]
        let log_weights = log_softmax(self.logits.val(), 0).unsqueeze_dim::<2>(0); // [1, K]
        let log_det = logvars.sum_dim(1).squeeze_dim::<1>(1).unsqueeze_dim::<2>(0); // [1, K]
        let diff = z.unsqueeze_dim::<3>(1) - means; // [n, K, L]
        let mahalanobis = (diff.square() * inv_var).sum_dim(2).squeeze_dim::<2>(2); // [n, K]
        let per_component = log_weights - (mahalanobis + log_det).mul_scalar(0.5);
        let max = per_component.clone().max_dim(1).detach(); // [n, 1]
        let sum = (per_component - max.clone()).exp().sum_dim(1); // [n, 1]
        (sum.log() + max).squeeze_dim::<1>(1)
    }

    /// The mixture's parameters read back to the host.
    pub fn to_f32(&self) -> MixtureF32 {
        let [_, latent_dim] = self.means.val().dims();
        let logits = to_host(self.logits.val());
        let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f64> = logits.iter().map(|&l| f64::from(l - top).exp()).collect();
        let total: f64 = exps.iter().sum();
        MixtureF32 {
            latent_dim,
            weights: exps.iter().map(|&e| (e / total) as f32).collect(),
            means: to_host(self.means.val()),
            stds: to_host(self.logvars.val())
                .iter()
                .map(|&v| (0.5 * v).exp())
                .collect(),
        }
    }
}

impl MixtureF32 {
    /// Number of components.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// `n` latent codes drawn from the mixture with `rng`: a component by its weight, then
    /// `m_k + s_k * eps`. Row-major `[n][latent]`.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        let latent = self.latent_dim;
        let mut z = Vec::with_capacity(n * latent);
        for _ in 0..n {
            let k = self.pick(rng.next_f64());
            let eps = rng.normals_f32(latent);
            let rows = self.means[k * latent..(k + 1) * latent]
                .iter()
                .zip(&self.stds[k * latent..(k + 1) * latent]);
            z.extend(rows.zip(eps).map(|((&m, &s), e)| m + s * e));
        }
        z
    }

    /// The component whose cumulative-weight interval holds `u` in `[0, 1)` (the last one
    /// for rounding leftovers).
    fn pick(&self, u: f64) -> usize {
        let mut acc = 0.0f64;
        for (k, &w) in self.weights.iter().enumerate() {
            acc += f64::from(w);
            if u < acc {
                return k;
            }
        }
        self.weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
pub(crate) mod tests;
