//! What the quantizer takes besides the float model: calibration inputs and settings.

use std::string::String;

use std::vec::Vec;

use super::Clipping;
use crate::format::WeightWidth;

/// Calibration inputs: latents the decoder will see in use (encoder means of real
/// digits, prior samples), flattened `n * latent_dim`, with their labels for a
/// conditional model (empty otherwise).
#[derive(Clone, Copy, Debug)]
pub struct Calibration<'a> {
    /// `n * latent_dim` values.
    pub latents: &'a [f32],
    /// `n` labels (conditional models), or empty.
    pub labels: &'a [u8],
}

/// Quantizer settings (default: MSE clipping, calibrated latent scale, no metadata).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuantizeOptions {
    /// How each activation's range (the value mapped to the largest code) is chosen.
    pub clipping: Clipping,
    /// Latent scale; `None` = calibrate it like an activation.
    pub latent_scale: Option<f32>,
    /// Metadata stored in the blob.
    pub seed: Option<u64>,
    /// Metadata: the float model's test loss per sample.
    pub test_loss: Option<f32>,
    /// Metadata: a short note (producer, run name).
    pub note: String,
    /// How weights are rounded to their grid.
    pub weight_rounding: WeightRounding,
    /// Each layer's weight width, first layer first; layers past the end of the list are
    /// int8 (so the default, empty, is an all-int8 model).
    pub weight_widths: Vec<WeightWidth>,
}

/// How a layer's weights are rounded to their codes (the grid, `s_w[j] = max_i |W[j][i]| /
/// max_code` per row with [`WeightWidth::max_code`], is the same either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightRounding {
    /// Each weight to its nearest code.
    Nearest,
    /// GPTQ-style error feedback (the default): column by column, the rounding error is
    /// spread over the columns not yet rounded, weighted by the calibration inputs'
    /// second moments, so that the layer's outputs on real inputs move least.
    #[default]
    ErrorFeedback,
}
