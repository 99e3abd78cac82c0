//! The VAE loss: Bernoulli reconstruction (binary cross-entropy on logits, summed over the
//! 784 pixels) plus the analytic KL divergence of the diagonal-Gaussian posterior from
//! `N(0, I)`. Both are per image; the training objective is their mean over the batch
//! (the negative ELBO per image).
//!
//! burn's built-in BCE wants integer targets; MNIST pixels `u8 / 255` are continuous in
//! `[0, 1]`, so the loss is written out with the numerically stable form
//! `bce(x, t) = max(x, 0) - x * t + log1p(exp(-|x|))`, which equals
//! `-(t * ln sigmoid(x) + (1 - t) * ln(1 - sigmoid(x)))` without overflow for large `|x|`.

use burn::tensor::Tensor;

/// Per-image loss terms of a batch, each `[n]`.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// Reconstruction term: BCE summed over the 784 pixels.
    pub recon: Tensor<1>,
    /// KL divergence of `N(mu, exp(logvar))` from `N(0, I)`.
    pub kl: Tensor<1>,
}

impl LossTerms {
    /// Per-image negative ELBO, `recon + kl`, `[n]`.
    pub fn total(&self) -> Tensor<1> {
        self.recon.clone() + self.kl.clone()
    }

    /// The training objective: the batch mean of `recon + kl`, shape `[1]`.
    pub fn mean_loss(&self) -> Tensor<1> {
        self.total().mean()
    }
}

/// BCE with logits, summed over the last dimension: `[n, d] x [n, d] -> [n]`.
/// `targets` may be any value in `[0, 1]`.
pub fn bce_with_logits_sum(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let positive = logits.clone().clamp_min(0.0);
    let cross = logits.clone() * targets;
    let soft = logits.abs().neg().exp().log1p();
    (positive - cross + soft).sum_dim(1).squeeze_dim(1)
}

/// Analytic KL divergence from `N(0, I)`, summed over the latent dimension:
/// `-0.5 * sum(1 + logvar - mu^2 - exp(logvar))`, `[n, latent] -> [n]`.
pub fn kl_divergence(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    let inner = logvar.clone().add_scalar(1.0) - mu.square() - logvar.exp();
    inner.sum_dim(1).squeeze_dim(1).mul_scalar(-0.5)
}

/// Both loss terms for a batch: logits and targets `[n, 784]`, `mu` and `logvar`
/// `[n, latent]`.
pub fn vae_loss(
    logits: Tensor<2>,
    targets: Tensor<2>,
    mu: Tensor<2>,
    logvar: Tensor<2>,
) -> LossTerms {
    LossTerms {
        recon: bce_with_logits_sum(logits, targets),
        kl: kl_divergence(mu, logvar),
    }
}

/// Reference BCE with logits for one value, in `f64` (the textbook form, for tests and
/// for host-side checks).
pub fn bce_with_logits_f64(logit: f64, target: f64) -> f64 {
    let p = 1.0 / (1.0 + (-logit).exp());
    -(target * p.ln() + (1.0 - target) * (1.0 - p).ln())
}

/// Reference KL for one latent vector, in `f64`.
pub fn kl_f64(mu: &[f64], logvar: &[f64]) -> f64 {
    -0.5 * mu
        .iter()
        .zip(logvar)
        .map(|(m, lv)| 1.0 + lv - m * m - lv.exp())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend;
    use crate::model::{tensor2, to_host};

    #[test]
    fn bce_matches_the_textbook_formula() {
        let device = backend::device();
        let logits = [-3.0f32, -0.5, 0.0, 0.25, 2.0, 4.5];
        let targets = [0.0f32, 1.0, 0.5, 0.2, 1.0, 0.9];
        let got = to_host(bce_with_logits_sum(
            tensor2(logits.to_vec(), 2, 3, &device),
            tensor2(targets.to_vec(), 2, 3, &device),
        ));
        for row in 0..2 {
            let want: f64 = (0..3)
                .map(|i| {
                    bce_with_logits_f64(
                        f64::from(logits[row * 3 + i]),
                        f64::from(targets[row * 3 + i]),
                    )
                })
                .sum();
            assert!(
                (f64::from(got[row]) - want).abs() < 1e-5,
                "row {row}: {} vs {want}",
                got[row]
            );
        }
        // Hand value: x = 0, any t: ln 2 per pixel.
        let zero = to_host(bce_with_logits_sum(
            tensor2(vec![0.0; 4], 1, 4, &device),
            tensor2(vec![0.3; 4], 1, 4, &device),
        ));
        assert!((f64::from(zero[0]) - 4.0 * 2f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn bce_is_finite_for_huge_logits() {
        let device = backend::device();
        let got = to_host(bce_with_logits_sum(
            tensor2(vec![1000.0, -1000.0], 1, 2, &device),
            tensor2(vec![0.0, 1.0], 1, 2, &device),
        ));
        // max(x,0) - x t + log1p(exp(-|x|)) = 1000 + 1000 exactly.
        assert!((got[0] - 2000.0).abs() < 1e-3, "{got:?}");
    }

    #[test]
    fn kl_matches_hand_values() {
        let device = backend::device();
        // mu = 0, logvar = 0 -> 0.  mu = (1, 2), logvar = (0, ln 2):
        // -0.5 * [(1 + 0 - 1 - 1) + (1 + ln2 - 4 - 2)] = -0.5 * (-1 + ln2 - 5) = 3 - ln2 / 2
        let mu = tensor2(vec![0.0, 0.0, 1.0, 2.0], 2, 2, &device);
        let lv = tensor2(vec![0.0, 0.0, 0.0, 2f32.ln()], 2, 2, &device);
        let got = to_host(kl_divergence(mu, lv));
        assert!(got[0].abs() < 1e-7);
        let want = 3.0 - 2f64.ln() / 2.0;
        assert!((f64::from(got[1]) - want).abs() < 1e-6, "{got:?}");
        assert!((kl_f64(&[1.0, 2.0], &[0.0, 2f64.ln()]) - want).abs() < 1e-12);
    }

    #[test]
    fn vae_loss_mean_is_batch_mean_of_sum() {
        let device = backend::device();
        let logits = vec![0.5, -1.0, 2.0, 0.0];
        let targets = vec![1.0, 0.0, 0.5, 0.25];
        let mu = vec![0.3, -0.2];
        let lv = vec![-0.5, 0.1];
        let terms = vae_loss(
            tensor2(logits.clone(), 2, 2, &device),
            tensor2(targets.clone(), 2, 2, &device),
            tensor2(mu.clone(), 2, 1, &device),
            tensor2(lv.clone(), 2, 1, &device),
        );
        let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        let (l, t, m, v) = (f(&logits), f(&targets), f(&mu), f(&lv));
        let per: Vec<f64> = (0..2)
            .map(|r| {
                bce_with_logits_f64(l[2 * r], t[2 * r])
                    + bce_with_logits_f64(l[2 * r + 1], t[2 * r + 1])
                    + kl_f64(&m[r..r + 1], &v[r..r + 1])
            })
            .collect();
        let want = (per[0] + per[1]) / 2.0;
        let got = to_host(terms.mean_loss());
        assert_eq!(got.len(), 1);
        assert!((f64::from(got[0]) - want).abs() < 1e-5, "{got:?} vs {want}");
    }

    #[test]
    fn gradient_of_bce_is_sigmoid_minus_target() {
        let device = backend::train_device();
        let x = tensor2(vec![-1.0, 0.3, 2.0], 1, 3, &device).require_grad();
        let t = tensor2(vec![0.0, 0.5, 1.0], 1, 3, &device);
        let loss = bce_with_logits_sum(x.clone(), t).sum();
        let grads = loss.backward();
        let g = to_host(x.grad(&grads).expect("x has a gradient"));
        let want = [
            1.0 / (1.0 + 1f64.exp()),
            1.0 / (1.0 + (-0.3f64).exp()) - 0.5,
            1.0 / (1.0 + (-2f64).exp()) - 1.0,
        ];
        for (a, b) in g.iter().zip(want) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{g:?}");
        }
    }
}
