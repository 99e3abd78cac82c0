//! The VAE loss: Bernoulli reconstruction (binary cross-entropy on logits, summed over the
//! 784 pixels) plus the analytic KL divergence of the diagonal-Gaussian posterior from
//! `N(0, I)`. Both are per image; the training objective is their mean over the batch
//! (the negative ELBO per image).
//!
//! burn's built-in BCE wants integer targets; MNIST pixels `u8 / 255` are continuous in
//! `[0, 1]`, so the loss is written out with the numerically stable form
//! `bce(x, t) = max(x, 0) - x * t + log1p(exp(-|x|))`, which equals
//! `-(t * ln sigmoid(x) + (1 - t) * ln(1 - sigmoid(x)))` without overflow for large `|x|`
//! (see [`bce_with_logits_sum`] for how it is evaluated).

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

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
///
/// Computed as `-(log_sigmoid(-x) + x t)`, which is the same function as
/// `max(x, 0) - x t + log1p(exp(-|x|))` (`softplus(x) = -log_sigmoid(-x)`), with burn's
/// fused, numerically stable `log_sigmoid`: four element-wise passes instead of eight,
/// forward and backward.
pub fn bce_with_logits_sum(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let neg_softplus = log_sigmoid(logits.clone().neg());
    (neg_softplus + logits * targets)
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .neg()
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

/// `exp(x)` for `x <= 0` in `f32`, branch-free so loops over it vectorise: Cody–Waite range
/// reduction `x = k ln 2 + r`, `|r| <= ln 2 / 2`, and a degree-7 Taylor polynomial for `e^r`
/// (relative error below 1e-7). Arguments below -87 give 0 (the true value is < 2e-38).
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.0);
    // Truncation of a non-positive value rounds up: k = round(x / ln 2) (ties away).
    let k = (x * std::f32::consts::LOG2_E - 0.5) as i32;
    let kf = k as f32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^k for k in -126..=0 (k >= -126 because x >= -87).
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// `ln(1 + e)` for `e` in `[0, 1]`, branch-free: `2 atanh(s)` with `s = e / (2 + e)` in
/// `[0, 1/3]`, by its odd series up to `s^17` (relative error below 2e-8, and exact in the
/// limit `e -> 0`, unlike `ln(1 + e)`).
#[inline(always)]
pub fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0
                    + s2 * (1.0 / 9.0
                        + s2 * (1.0 / 11.0
                            + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0 + s2 * (1.0 / 17.0))))))));
    2.0 * s * series
}

/// BCE with logits on host data, for the training objective.
///
/// For `rows` rows of `logits` and `targets` (same length, a multiple of `rows`), returns
/// each row's BCE summed over its columns and writes `d bce / d logit = sigmoid(x) - t` into
/// `grad` (same length). One `exp` and one `ln_1p` per element, both branch-free
/// ([`exp_nonpositive`], [`ln_1p_unit`]), so the loop vectorises; this replaces the
/// element-wise tensor passes of [`bce_with_logits_sum`] and their backward passes, which
/// call scalar `libm` functions and cost about a fifth of a training step.
pub fn bce_with_logits_host(
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    grad: &mut [f32],
) -> Vec<f32> {
    let cols = logits.len().checked_div(rows).unwrap_or(0);
    if cols == 0 {
        return vec![0.0; rows];
    }
    logits
        .chunks_exact(cols)
        .zip(targets.chunks_exact(cols))
        .zip(grad.chunks_exact_mut(cols))
        .map(|((x, t), g)| bce_row(x, t, g))
        .collect()
}

/// Lanes processed together by [`bce_row`].
const LANES: usize = 16;

/// One element: `(softplus(x) - x t, sigmoid(x) - t)`, branch-free.
#[inline(always)]
fn bce_element(x: f32, t: f32) -> (f32, f32) {
    let e = exp_nonpositive(-x.abs());
    let softplus = x.max(0.0) + ln_1p_unit(e);
    let inv = 1.0 / (1.0 + e);
    let sigmoid = if x >= 0.0 { inv } else { e * inv };
    (softplus - x * t, sigmoid - t)
}

#[inline(always)]
fn bce_row_generic(x: &[f32], t: &[f32], g: &mut [f32]) -> f32 {
    // Fixed-width blocks with one partial sum per lane so the compiler vectorises.
    let mut acc = [0.0f32; LANES];
    let mut xs = x.chunks_exact(LANES);
    let mut ts = t.chunks_exact(LANES);
    let mut gs = g.chunks_exact_mut(LANES);
    for ((xb, tb), gb) in (&mut xs).zip(&mut ts).zip(&mut gs) {
        for l in 0..LANES {
            let (loss, grad) = bce_element(xb[l], tb[l]);
            gb[l] = grad;
            acc[l] += loss;
        }
    }
    let mut tail = 0.0f32;
    for ((&x, &t), g) in xs
        .remainder()
        .iter()
        .zip(ts.remainder())
        .zip(gs.into_remainder())
    {
        let (loss, grad) = bce_element(x, t);
        *g = grad;
        tail += loss;
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn bce_row_avx512(x: &[f32], t: &[f32], g: &mut [f32]) -> f32 {
    bce_row_generic(x, t, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn bce_row_avx2(x: &[f32], t: &[f32], g: &mut [f32]) -> f32 {
    bce_row_generic(x, t, g)
}

/// One row's BCE sum (gradient into `g`), with the widest vector instructions the CPU has
/// (detected at run time). All variants do the same IEEE operations in the same order, so
/// they give identical results.
fn bce_row(x: &[f32], t: &[f32], g: &mut [f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { bce_row_avx512(x, t, g) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { bce_row_avx2(x, t, g) };
        }
    }
    bce_row_generic(x, t, g)
}

/// The reconstruction term of a batch for training: a `[1]` tensor whose gradient with
/// respect to `logits` is that of the summed BCE, and the per-image BCE values.
///
/// The tensor is the "surrogate" `sum(logits * G)` with the constant
/// `G = sigmoid(logits) - targets` computed on the host ([`bce_with_logits_host`]); its value
/// is not the loss (use the returned per-image sums), but its gradient, `G`, is exactly the
/// gradient of `sum(bce(logits, targets))`. Backward costs one multiplication.
pub fn recon_for_training(logits: Tensor<2>, targets: &[f32]) -> (Tensor<1>, Vec<f32>) {
    let [rows, cols] = logits.dims();
    let device = logits.device();
    let host = super::tensor::to_host(logits.clone().detach());
    let mut grad = vec![0.0f32; host.len()];
    let per_image = bce_with_logits_host(&host, targets, rows, &mut grad);
    // A plain tensor: a constant for autodiff.
    let g = super::tensor::tensor2(grad, rows, cols, &device);
    ((logits * g).sum(), per_image)
}

/// Per-image KL values read back to the host.
pub fn kl_values(kl: Tensor<1>) -> Vec<f32> {
    super::tensor::to_host(kl.detach())
}

/// Reference BCE with logits for one value, in `f64` (the overflow-free form, for tests and
/// for host-side checks).
pub fn bce_with_logits_f64(logit: f64, target: f64) -> f64 {
    // max(x, 0) - x t + ln(1 + e^-|x|): the same value as -(t ln p + (1-t) ln(1-p)),
    // without overflow or ln(0) for large |logit|.
    logit.max(0.0) - logit * target + (-logit.abs()).exp().ln_1p()
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
mod tests;
