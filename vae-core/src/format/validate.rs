//! The checks of a [`Model`] and its parts: everything a decoder relies on, run by
//! [`parse`](super::parse) and [`encode`](super::encode).

use crate::IMAGE_PIXELS;
use crate::bytes::{le_f16, le_f32, le_i32, le_i32_at};
use crate::error::Error;

use super::schema::{Dense, Model, ModelKind, Prior, WeightWidth};
use super::{MAX_PRIOR_COMPONENTS, MAX_SHIFT, NUM_THRESHOLDS};

impl Prior<'_> {
    /// Checks a mixture's shape and values for a `latent_dim`-wide latent (a standard
    /// prior always passes): [`Error::Malformed`] naming the broken rule.
    pub fn validate(&self, latent_dim: u16) -> Result<(), Error> {
        let (components, cumulative, means, stds, width, read): (
            _,
            _,
            _,
            _,
            usize,
            fn(&[u8]) -> f32,
        ) = match *self {
            Prior::Standard => return Ok(()),
            Prior::Mixture {
                components,
                cumulative,
                means,
                stds,
            } => (components, cumulative, means, stds, 4, le_f32),
            Prior::MixtureF16 {
                components,
                cumulative,
                means,
                stds,
            } => (components, cumulative, means, stds, 2, le_f16),
        };
        let k = usize::from(components);
        if k == 0 || k > MAX_PRIOR_COMPONENTS {
            return Err(malformed("the prior's component count is 0 or over 1024"));
        }
        if cumulative.len() != 4 * k {
            return Err(malformed(
                "the prior's cumulative length is not 4 * components",
            ));
        }
        let values = width * k * usize::from(latent_dim);
        if means.len() != values || stds.len() != values {
            return Err(malformed(if width == 4 {
                "the prior's means or stds length is not 4 * components * latent_dim"
            } else {
                "the f16 prior's means or stds length is not 2 * components * latent_dim"
            }));
        }
        let bounds = cumulative.chunks_exact(4).map(le_i32).map(|v| v as u32);
        if bounds.clone().zip(bounds.skip(1)).any(|(a, b)| a > b) {
            return Err(malformed("the prior's cumulative weights decrease"));
        }
        if means.chunks_exact(width).map(read).any(|m| !m.is_finite()) {
            return Err(malformed("a prior mean is NaN or infinite"));
        }
        if !stds.chunks_exact(width).map(read).all(positive_finite) {
            return Err(malformed(
                "a prior standard deviation is zero, negative, NaN or infinite",
            ));
        }
        Ok(())
    }
}

impl Model<'_> {
    /// Checks everything a decoder relies on; [`parse`] and [`encode`] call it.
    ///
    /// * at least one layer; `latent_dim`, every `in_dim`, `out_dim` >= 1; the first
    ///   `in_dim == latent_dim`, each `in_dim` equals the previous `out_dim`, the last
    ///   `out_dim == IMAGE_PIXELS` ([`Error::Malformed`]);
    /// * every byte array has exactly its documented length ([`Error::Malformed`]);
    /// * scales finite and `> 0`, multipliers `> 0`, shifts `<= MAX_SHIFT`
    ///   ([`Error::InvalidScale`]); each `input_scale` equals the previous `output_scale`
    ///   bit for bit; the first layer's `input_zero_point` is 0 ([`Error::Malformed`]);
    /// * no accumulator can leave the `i32` range: per row,
    ///   `|bias| + max_c |class_bias[c]| + 128 * sum_i |W_q[j][i]| <= i32::MAX`
    ///   ([`Error::Malformed`]);
    /// * a conditional model has `classes >= 1`; `pixel_thresholds` has
    ///   [`NUM_THRESHOLDS`] non-decreasing entries ([`Error::Malformed`]);
    /// * the prior passes [`Prior::validate`] ([`Error::Malformed`]).
    ///
    /// [`parse`]: super::parse
    /// [`encode`]: super::encode
    pub fn validate(&self) -> Result<(), Error> {
        if self.latent_dim == 0 {
            return Err(malformed("latent_dim is 0"));
        }
        let Some(last) = self.layers.last() else {
            return Err(malformed("the model has no layers"));
        };
        if usize::from(last.out_dim) != IMAGE_PIXELS {
            return Err(malformed(
                "the last layer's out_dim is not 784 (IMAGE_PIXELS)",
            ));
        }
        let class_bias = match self.kind {
            ModelKind::Unconditional => None,
            ModelKind::Conditional {
                classes,
                class_bias,
            } => {
                if classes == 0 {
                    return Err(malformed("a conditional model has 0 classes"));
                }
                let rows = self.layers.first().map_or(0, |l| usize::from(l.out_dim));
                if class_bias.len() != usize::from(classes) * rows * 4 {
                    return Err(malformed(
                        "class_bias length is not 4 * classes * layers[0].out_dim",
                    ));
                }
                Some(class_bias)
            }
        };
        let mut prev: Option<&Dense<'_>> = None;
        for (k, layer) in self.layers.iter().enumerate() {
            match prev {
                None if layer.in_dim != self.latent_dim => {
                    return Err(malformed("the first layer's in_dim is not latent_dim"));
                }
                None if layer.input_zero_point != 0 => {
                    return Err(malformed(
                        "the first layer's input_zero_point is not 0 (the latent is symmetric)",
                    ));
                }
                Some(p) if layer.in_dim != p.out_dim => {
                    return Err(malformed(
                        "a layer's in_dim is not the previous layer's out_dim",
                    ));
                }
                _ => {}
            }
            layer.validate(k)?;
            if let Some(p) = prev
                && p.output_scale.to_bits() != layer.input_scale.to_bits()
            {
                return Err(malformed(
                    "a layer's input_scale is not the previous layer's output_scale",
                ));
            }
            layer.check_accumulators(if k == 0 { class_bias } else { None })?;
            prev = Some(layer);
        }
        if self.pixel_thresholds.len() != NUM_THRESHOLDS * 4 {
            return Err(malformed("pixel_thresholds is not 255 i32 values"));
        }
        let mut previous = i32::MIN;
        for t in self.pixel_thresholds.chunks_exact(4).map(le_i32) {
            if t < previous {
                return Err(malformed("pixel_thresholds are not sorted"));
            }
            previous = t;
        }
        self.prior.validate(self.latent_dim)
    }
}

impl Dense<'_> {
    /// Lengths and scales of one layer (`k` = its index, for error reports).
    fn validate(&self, k: usize) -> Result<(), Error> {
        let (rows, cols) = (usize::from(self.out_dim), usize::from(self.in_dim));
        if rows == 0 || cols == 0 {
            return Err(malformed("a layer has in_dim or out_dim 0"));
        }
        if Some(self.weights.len()) != rows.checked_mul(self.row_bytes()) {
            return Err(malformed(match self.weight_width {
                WeightWidth::Int8 => "a layer's weights length is not out_dim * in_dim",
                WeightWidth::Int4 => {
                    "an int4 layer's weights length is not out_dim * ceil(in_dim / 2)"
                }
            }));
        }
        if self.weight_width == WeightWidth::Int4
            && !cols.is_multiple_of(2)
            && self
                .weight_rows()
                .any(|row| row.last().is_some_and(|&b| b >> 4 != 0))
        {
            return Err(malformed(
                "an int4 layer with odd in_dim has a nonzero padding nibble",
            ));
        }
        for (len, expected, what) in [
            (
                self.weight_scales.len(),
                rows * 4,
                "a layer's weight_scales length is not 4 * out_dim",
            ),
            (
                self.bias.len(),
                rows * 4,
                "a layer's bias length is not 4 * out_dim",
            ),
            (
                self.multipliers.len(),
                rows * 4,
                "a layer's multipliers length is not 4 * out_dim",
            ),
            (
                self.shifts.len(),
                rows,
                "a layer's shifts length is not out_dim",
            ),
        ] {
            if len != expected {
                return Err(malformed(what));
            }
        }
        let scales_ok = positive_finite(self.input_scale)
            && positive_finite(self.output_scale)
            && self
                .weight_scales
                .chunks_exact(4)
                .all(|c| positive_finite(le_f32(c)))
            && self.multipliers.chunks_exact(4).all(|c| le_i32(c) > 0)
            && self.shifts.iter().all(|&n| n <= MAX_SHIFT);
        if scales_ok {
            Ok(())
        } else {
            Err(Error::InvalidScale { layer: k })
        }
    }

    /// Rejects a layer whose accumulators could leave the `i32` range for some input in
    /// `-128..=127` (lengths already checked).
    fn check_accumulators(&self, class_bias: Option<&[u8]>) -> Result<(), Error> {
        let class_rows = usize::from(self.out_dim) * 4;
        let rows = self.weight_rows().zip(self.bias.chunks_exact(4));
        for (j, (row, bias)) in rows.enumerate() {
            let weight_sum: i64 = self.codes(row).map(|w| i64::from(w.unsigned_abs())).sum();
            let class_max = class_bias.map_or(0, |cb| {
                cb.chunks_exact(class_rows)
                    .map(|class_row| i64::from(le_i32_at(class_row, j).unwrap_or(0)).abs())
                    .max()
                    .unwrap_or(0)
            });
            let bound = i64::from(le_i32(bias)).abs() + class_max + 128 * weight_sum;
            if bound > i64::from(i32::MAX) {
                return Err(malformed(
                    "a layer's accumulator could overflow i32 (bias or weights too large)",
                ));
            }
        }
        Ok(())
    }
}

pub(super) const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
}

fn positive_finite(x: f32) -> bool {
    x.is_finite() && x > 0.0
}
