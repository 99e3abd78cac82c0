//! Host-side helpers for exporters: the fixed-point multipliers and the pixel thresholds
//! a blob stores.

use super::{MAX_SHIFT, NUM_THRESHOLDS};

/// Fixed-point form `(M, n)` of a positive real factor: `real ~= M / 2^n`.
///
/// `M` is `round(real * 2^n)` with `n` chosen so that `M` is in `[2^30, 2^31)` (relative
/// error `<= 2^-31`), except for factors below `2^-32`, which get `n = MAX_SHIFT` and a
/// smaller `M`. `None` if `real` is not finite and positive, is `>= 2^31 - 0.5`, or rounds
/// to `M = 0`. Host-side helper for exporters: the decoder only reads `(M, n)`.
pub fn quantize_multiplier(real: f64) -> Option<(i32, u8)> {
    if !(real.is_finite() && real > 0.0) {
        return None;
    }
    // real = mantissa * 2^exp, mantissa in [0.5, 1)
    let (mantissa, exp) = libm::frexp(real);
    let mut multiplier = libm::round(mantissa * 2_147_483_648.0) as i64; // in [2^30, 2^31]
    let mut shift = 31 - i64::from(exp);
    if multiplier == 1 << 31 {
        multiplier >>= 1;
        shift -= 1;
    }
    if shift < 0 {
        return None;
    }
    if shift > i64::from(MAX_SHIFT) {
        shift = i64::from(MAX_SHIFT);
        multiplier = libm::round(libm::ldexp(real, i32::from(MAX_SHIFT))) as i64;
    }
    let multiplier = i32::try_from(multiplier).ok().filter(|&m| m > 0)?;
    Some((multiplier, u8::try_from(shift).ok()?))
}

/// The [`Model::pixel_thresholds`] table for a last layer with output scale `logit_scale`:
/// `t_k = ceil(ln(p_k / (1 - p_k)) / logit_scale)` with `p_k = (k - 0.5) / 255`,
/// `k = 1..=255`, saturated to `i32`.
///
/// Then `#{k : v >= t_k} = round(255 * sigmoid(v * logit_scale))` for every integer `v`
/// (ties, which need an exact rational logit, aside). `None` unless `logit_scale` is finite
/// and positive. Host-side helper for exporters (computed in `f64`).
///
/// [`Model::pixel_thresholds`]: super::Model::pixel_thresholds
pub fn pixel_thresholds(logit_scale: f64) -> Option<[i32; NUM_THRESHOLDS]> {
    if !(logit_scale.is_finite() && logit_scale > 0.0) {
        return None;
    }
    let mut table = [0i32; NUM_THRESHOLDS];
    for (k, t) in (1u32..).zip(table.iter_mut()) {
        let p = (f64::from(k) - 0.5) / 255.0;
        let logit = libm::log(p / (1.0 - p));
        // `as` saturates at the i32 bounds.
        *t = libm::ceil(logit / logit_scale) as i32;
    }
    Some(table)
}
