//! Host-side quantizer (cargo feature `quantize`, uses `std`): a float MLP decoder plus
//! calibration latents in, the owned arrays of a blob ([`QuantizedMlp`]) out.
//!
//! This is the one implementation of the scheme that [`FORMAT.md`](crate::format)
//! describes; `vae-export` calls it with real calibration data, the tests with random
//! data. The arithmetic:
//!
//! * weights: symmetric int8 per output row, `s_w[j] = max_i |W[j][i]| / 127`, rounded
//!   with GPTQ-style error feedback by default ([`WeightRounding`], module `rounding`):
//!   on the default full-MNIST model the weights' share of the int8 test-loss penalty
//!   fell from +0.029 to +0.003 per digit (whole penalty +0.051 -> +0.027);
//! * biases: `i32` at the accumulator scale `s_in * s_w[j]`; for a conditional model the
//!   one-hot label columns of the first layer are folded into per-class biases;
//! * the latent: symmetric, `s_z = clip(|z|) / 127` over the calibration set, unless
//!   given;
//! * hidden activations (ReLU outputs, `a >= 0`): asymmetric int8 with zero point `-128`,
//!   `s = clip(a) / 255`, so the codes `-128..=127` cover `0..=255` steps: half the step
//!   of a symmetric code (whose negative half a ReLU output never uses). The zero point's
//!   term `128 * sum_i W_q[j][i]` is folded into the next layer's `i32` bias, so the
//!   kernels stay `i8 x i8`;
//! * `clip` ([`Clipping`]): by default the value with the least squared quantization
//!   error over the calibration samples, or a quantile. Measured on the default model
//!   (full MNIST, z = 20), int8 test-loss penalty: symmetric codes and max clip +0.088
//!   (format 1.0, an earlier run); asymmetric codes, max clip +0.070; asymmetric, MSE clip
//!   +0.050 (all with nearest rounding). MSE clipping of the *weights* measured worse
//!   (+0.063), so weights keep the row maximum;
//! * requantization: `acc * s_in * s_w[j] / s_out` as a fixed-point multiplier and shift
//!   ([`format::quantize_multiplier`]);
//! * the last layer's output is a logit at the fixed scale [`LOGIT_SCALE`], turned into a
//!   pixel by [`format::pixel_thresholds`].
//!
//! [`format::quantize_multiplier`]: crate::format::quantize_multiplier
//! [`format::pixel_thresholds`]: crate::format::pixel_thresholds

mod clipping;
mod float;
mod options;
mod owned;
mod rounding;
mod scheme;

pub use clipping::Clipping;
pub use float::{FloatLayer, FloatMlp};
pub use options::{Calibration, QuantizeOptions, WeightRounding};
pub use owned::{OwnedDense, OwnedMixture, QuantizedMlp};
pub use scheme::quantize;

use crate::Error;

/// Output scale of the last layer: logits in units of `2^-12` (±6.3, where pixels
/// saturate, is ±25,800: far inside `i32`, and fine enough that every threshold of
/// `round(255 * sigmoid)` is placed within 0.0003 of its exact logit).
pub const LOGIT_SCALE: f32 = 1.0 / 4096.0;

/// Steps of a symmetric int8 code: `-127..=127`.
const SYMMETRIC_STEPS: f64 = 127.0;
/// Steps of a hidden activation's code: `-128..=127` for the reals `0..=255 * s`.
const HIDDEN_STEPS: f64 = 255.0;
/// The zero point of hidden activations (inputs of every layer but the first).
pub const HIDDEN_ZERO_POINT: i8 = -128;

const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
}
