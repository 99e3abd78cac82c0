//! Choosing an activation's clipping value from its calibration samples.

/// How an activation's clipping value (the real value of the largest code) is chosen from
/// its calibration samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clipping {
    /// The `q`-quantile of the magnitudes (`1.0` = the maximum, nothing clipped).
    Quantile(f64),
    /// The value that minimizes the mean squared quantization error (rounding plus
    /// clipping) over the calibration samples, searched on a grid of 1/256 steps between
    /// 25% and 100% of the maximum.
    Mse,
}

impl Default for Clipping {
    /// [`Clipping::Mse`]: the measurement behind it is in the module docs (and README,
    /// "Design decisions").
    fn default() -> Self {
        Clipping::Mse
    }
}

impl Clipping {
    /// The clipping value for `magnitudes` (all `>= 0`) quantized to `0..=steps` codes.
    pub(super) fn clip(self, magnitudes: &mut [f64], steps: f64) -> f64 {
        match self {
            Clipping::Quantile(q) => quantile(magnitudes, q),
            Clipping::Mse => mse_clip(magnitudes, steps),
        }
    }
}

/// Squared quantization error of `values` with clipping value `clip` and `steps` codes.
fn quantization_sse(values: &[f64], clip: f64, steps: f64) -> f64 {
    let scale = clip / steps;
    values
        .iter()
        .map(|&v| {
            let e = v - (v / scale).round().min(steps) * scale;
            e * e
        })
        .sum()
}

/// [`Clipping::Mse`]'s search (ties keep the larger clip).
fn mse_clip(values: &[f64], steps: f64) -> f64 {
    let max = values.iter().fold(0.0f64, |a, &v| a.max(v));
    if !(max > 0.0 && max.is_finite()) {
        return max;
    }
    let mut best = (quantization_sse(values, max, steps), max);
    for k in (64..256).rev() {
        let clip = max * f64::from(k) / 256.0;
        let sse = quantization_sse(values, clip, steps);
        if sse < best.0 {
            best = (sse, clip);
        }
    }
    best.1
}

/// `q`-quantile of `values` (nearest rank; `q >= 1` = the maximum); 0 for no values.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    if q >= 1.0 {
        return values.iter().fold(0.0, |a, &v| a.max(v));
    }
    let rank = ((values.len() - 1) as f64 * q.max(0.0)).round() as usize;
    let (_, v, _) = values.select_nth_unstable_by(rank, f64::total_cmp);
    *v
}

#[cfg(test)]
mod tests;
