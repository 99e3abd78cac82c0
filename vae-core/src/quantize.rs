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

use std::string::String;
use std::vec::Vec;

mod rounding;

use crate::format::{self, Dense, Layers, Metadata, Model, ModelKind, Prior};
use crate::{Error, IMAGE_PIXELS};

/// Output scale of the last layer: logits in units of `2^-12` (±6.3, where pixels
/// saturate, is ±25,800: far inside `i32`, and fine enough that every threshold of
/// `round(255 * sigmoid)` is placed within 0.0003 of its exact logit).
pub const LOGIT_SCALE: f32 = 1.0 / 4096.0;

/// One float dense layer, `y = W x + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Number of inputs.
    pub in_dim: usize,
    /// Number of outputs.
    pub out_dim: usize,
    /// `out_dim * in_dim` weights, row-major `[out][in]`.
    pub weights: Vec<f32>,
    /// `out_dim` biases.
    pub bias: Vec<f32>,
}

/// A float MLP decoder: `[z, one_hot(label)] -> ReLU layers -> 784 logits`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatMlp {
    /// Latent dimension.
    pub latent_dim: usize,
    /// `Some(classes)` for a conditional model: the first layer then has
    /// `latent_dim + classes` inputs, the one-hot label after `z`.
    pub classes: Option<u8>,
    /// The layers; the last has `IMAGE_PIXELS` outputs.
    pub layers: Vec<FloatLayer>,
}

impl FloatMlp {
    /// Checks the shapes: layers chain, the first takes `latent_dim (+ classes)` inputs,
    /// the last gives 784, every array has its length, everything is finite.
    pub fn validate(&self) -> Result<(), Error> {
        let first_in = self.latent_dim + self.classes.map_or(0, usize::from);
        let mut expected_in = first_in;
        if self.layers.is_empty() || self.layers.len() > format::MAX_LAYERS {
            return Err(malformed("a decoder needs 1 to MAX_LAYERS layers"));
        }
        for layer in &self.layers {
            if layer.in_dim != expected_in
                || layer.weights.len() != layer.in_dim * layer.out_dim
                || layer.bias.len() != layer.out_dim
                || layer.out_dim == 0
                || layer.out_dim > usize::from(u16::MAX)
            {
                return Err(malformed("float layer shapes do not chain"));
            }
            if !layer
                .weights
                .iter()
                .chain(&layer.bias)
                .all(|v| v.is_finite())
            {
                return Err(malformed("float weights contain NaN or infinity"));
            }
            expected_in = layer.out_dim;
        }
        if expected_in != IMAGE_PIXELS {
            return Err(malformed("the last layer must have 784 outputs"));
        }
        Ok(())
    }

    /// Activations after every layer (post-ReLU for hidden layers, logits last), in
    /// `f64`. `label` is used (one-hot) only by a conditional model.
    pub fn activations(&self, z: &[f32], label: Option<u8>) -> Vec<Vec<f64>> {
        let mut x: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        if let Some(classes) = self.classes {
            let label = usize::from(label.unwrap_or(0));
            x.extend((0..usize::from(classes)).map(|c| if c == label { 1.0 } else { 0.0 }));
        }
        let mut all = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let relu = k + 1 < self.layers.len();
            let y: Vec<f64> = layer
                .weights
                .chunks_exact(layer.in_dim)
                .zip(&layer.bias)
                .map(|(row, &b)| {
                    let v = row
                        .iter()
                        .zip(&x)
                        .fold(f64::from(b), |acc, (&w, &xi)| acc + f64::from(w) * xi);
                    if relu { v.max(0.0) } else { v }
                })
                .collect();
            all.push(y.clone());
            x = y;
        }
        all
    }

    /// The logits of `z` (and `label` for a conditional model), in `f64`.
    pub fn forward(&self, z: &[f32], label: Option<u8>) -> Vec<f64> {
        self.activations(z, label).pop().unwrap_or_default()
    }

    /// The float MLP that a (validated) [`Model`] dequantizes to: `W = W_q * s_w[j]`,
    /// `b = b_q * s_in * s_w[j]`, one-hot columns `class_bias[c][j] * s_in * s_w[j]`.
    /// What [`Decoder::decode_reference_f32`](crate::Decoder::decode_reference_f32)
    /// computes.
    pub fn dequantized(model: &Model<'_>) -> Self {
        let le_f32 = |b: &[u8]| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let le_i32 = |b: &[u8]| -> Vec<i32> {
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let classes = model.classes();
        let n_classes = classes.map_or(0, usize::from);
        let class_bias = match model.kind {
            ModelKind::Conditional { class_bias, .. } => le_i32(class_bias),
            ModelKind::Unconditional => Vec::new(),
        };
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let (rows, cols) = (usize::from(l.out_dim), usize::from(l.in_dim));
                let extra = if k == 0 { n_classes } else { 0 };
                let s_w = le_f32(l.weight_scales);
                let mut bias = le_i32(l.bias)
                    .into_iter()
                    .map(i64::from)
                    .collect::<Vec<_>>();
                let mut weights = Vec::with_capacity(rows * (cols + extra));
                for (j, w_row) in l.weights.chunks_exact(cols.max(1)).enumerate().take(rows) {
                    // Unfold the zero point's term from the stored bias.
                    bias[j] += l.zero_point_term(w_row);
                    let acc_scale = l.input_scale * s_w[j];
                    weights.extend(w_row.iter().map(|&w| f32::from(w as i8) * s_w[j]));
                    if extra > 0 {
                        weights.extend(
                            (0..n_classes).map(|c| class_bias[c * rows + j] as f32 * acc_scale),
                        );
                    }
                }
                FloatLayer {
                    in_dim: cols + extra,
                    out_dim: rows,
                    weights,
                    bias: (0..rows)
                        .map(|j| bias[j] as f32 * (l.input_scale * s_w[j]))
                        .collect(),
                }
            })
            .collect();
        FloatMlp {
            latent_dim: usize::from(model.latent_dim),
            classes,
            layers,
        }
    }
}

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
    /// How weights are rounded to their int8 grid.
    pub weight_rounding: WeightRounding,
}

/// How a layer's weights are rounded to int8 (the grid, `s_w[j] = max_i |W[j][i]| / 127`
/// per row, is the same either way).
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

/// Owned arrays of one [`Dense`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedDense {
    /// See [`Dense::in_dim`].
    pub in_dim: u16,
    /// See [`Dense::out_dim`].
    pub out_dim: u16,
    /// See [`Dense::input_scale`].
    pub input_scale: f32,
    /// See [`Dense::input_zero_point`].
    pub input_zero_point: i8,
    /// See [`Dense::output_scale`].
    pub output_scale: f32,
    /// See [`Dense::weights`].
    pub weights: Vec<u8>,
    /// See [`Dense::weight_scales`].
    pub weight_scales: Vec<u8>,
    /// See [`Dense::bias`].
    pub bias: Vec<u8>,
    /// See [`Dense::multipliers`].
    pub multipliers: Vec<u8>,
    /// See [`Dense::shifts`].
    pub shifts: Vec<u8>,
}

impl OwnedDense {
    /// The borrowed view.
    pub fn as_dense(&self) -> Dense<'_> {
        Dense {
            in_dim: self.in_dim,
            out_dim: self.out_dim,
            input_scale: self.input_scale,
            input_zero_point: self.input_zero_point,
            output_scale: self.output_scale,
            weights: &self.weights,
            weight_scales: &self.weight_scales,
            bias: &self.bias,
            multipliers: &self.multipliers,
            shifts: &self.shifts,
        }
    }
}

/// The owned arrays of a [`Model`], produced by [`quantize`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedMlp {
    /// See [`Model::latent_dim`].
    pub latent_dim: u16,
    /// `Some(classes)` for a conditional model.
    pub classes: Option<u8>,
    /// See [`ModelKind::Conditional`]; empty if unconditional.
    pub class_bias: Vec<u8>,
    /// The layers.
    pub layers: Vec<OwnedDense>,
    /// See [`Model::pixel_thresholds`].
    pub pixel_thresholds: Vec<u8>,
    /// See [`Metadata::seed`].
    pub seed: Option<u64>,
    /// See [`Metadata::test_loss`].
    pub test_loss: Option<f32>,
    /// See [`Metadata::note`].
    pub note: String,
    /// See [`Model::prior`]; `None` is [`Prior::Standard`]. [`quantize`] leaves it `None`:
    /// set it with [`OwnedMixture::new`] for a model trained with a mixture prior.
    pub prior: Option<OwnedMixture>,
}

/// The owned arrays of a [`Prior::Mixture`].
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedMixture {
    /// Number of components.
    pub components: u16,
    /// See [`Prior::Mixture`]: `u32` LE upper ends of the components' intervals.
    pub cumulative: Vec<u8>,
    /// `f32` LE means, `[component][latent]`.
    pub means: Vec<u8>,
    /// `f32` LE standard deviations, `[component][latent]`.
    pub stds: Vec<u8>,
}

impl OwnedMixture {
    /// A mixture over a `latent_dim`-wide latent from its weights (non-negative, not all
    /// zero; normalised here), means and standard deviations (row-major
    /// `[component][latent]`). The weights become `u32` interval ends: component `k` gets
    /// `round(2^32 * (w_0 + ... + w_k) / sum w)`, the last one `2^32 - 1`, so every
    /// component's probability is within `2^-32` of its weight.
    ///
    /// [`Error::Malformed`] for mismatched lengths, bad weights, or any value
    /// [`Prior::validate`] rejects.
    pub fn new(
        latent_dim: usize,
        weights: &[f32],
        means: &[f32],
        stds: &[f32],
    ) -> Result<Self, Error> {
        let k = weights.len();
        if means.len() != k * latent_dim || stds.len() != k * latent_dim {
            return Err(malformed(
                "prior means/stds are not components x latent_dim",
            ));
        }
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        if weights.iter().any(|&w| !(w >= 0.0 && w.is_finite())) || total <= 0.0 {
            return Err(malformed(
                "prior weights are negative, non-finite or all zero",
            ));
        }
        let components = u16::try_from(k).map_err(|_| malformed("too many prior components"))?;
        let mut running = 0f64;
        let mut cumulative = Vec::with_capacity(4 * k);
        for (i, &w) in weights.iter().enumerate() {
            running += f64::from(w);
            let end = if i + 1 == k {
                u32::MAX
            } else {
                (running / total * 4_294_967_296.0)
                    .round()
                    .min(f64::from(u32::MAX)) as u32
            };
            cumulative.extend(end.to_le_bytes());
        }
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mixture = Self {
            components,
            cumulative,
            means: bytes(means),
            stds: bytes(stds),
        };
        let latent = u16::try_from(latent_dim).map_err(|_| malformed("latent over 65535"))?;
        mixture.as_prior().validate(latent)?;
        Ok(mixture)
    }

    /// The borrowed [`Prior::Mixture`] view.
    pub fn as_prior(&self) -> Prior<'_> {
        Prior::Mixture {
            components: self.components,
            cumulative: &self.cumulative,
            means: &self.means,
            stds: &self.stds,
        }
    }
}

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
    fn clip(self, magnitudes: &mut [f64], steps: f64) -> f64 {
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

const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
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

/// The scale that maps `max_abs` to 127 (1.0 for an all-zero activation).
/// The scale that maps `max_abs` to `steps` (1.0 for a degenerate range).
fn scale_for(max_abs: f64, steps: f64) -> f32 {
    if max_abs > 0.0 && max_abs.is_finite() {
        (max_abs / steps) as f32
    } else {
        1.0
    }
}

/// Steps of a symmetric int8 code: `-127..=127`.
const SYMMETRIC_STEPS: f64 = 127.0;
/// Steps of a hidden activation's code: `-128..=127` for the reals `0..=255 * s`.
const HIDDEN_STEPS: f64 = 255.0;
/// The zero point of hidden activations (inputs of every layer but the first).
pub const HIDDEN_ZERO_POINT: i8 = -128;

/// Quantizes `mlp` per the format, calibrating activation scales on `calibration`.
///
/// Errors: [`Error::Malformed`] for inconsistent shapes, non-finite weights, an empty
/// or ragged calibration set, or labels missing for a conditional model;
/// [`Error::InvalidScale`] if a requantization factor cannot be represented.
pub fn quantize(
    mlp: &FloatMlp,
    calibration: Calibration<'_>,
    options: &QuantizeOptions,
) -> Result<QuantizedMlp, Error> {
    mlp.validate()?;
    let latent_dim = mlp.latent_dim;
    let n = calibration.latents.len() / latent_dim.max(1);
    if n == 0 || calibration.latents.len() != n * latent_dim {
        return Err(malformed(
            "calibration latents must be a non-empty n * latent_dim",
        ));
    }
    if mlp.classes.is_some() && calibration.labels.len() != n {
        return Err(malformed(
            "a conditional model needs one calibration label per latent",
        ));
    }

    // |activation| samples per layer (index 0 = the latent).
    let n_layers = mlp.layers.len();
    let mut samples: Vec<Vec<f64>> = std::vec![Vec::new(); n_layers + 1];
    // Each layer's float inputs (the latent for layer 0), for error-feedback rounding.
    let feedback = options.weight_rounding == WeightRounding::ErrorFeedback;
    let mut inputs: Vec<Vec<Vec<f64>>> = std::vec![Vec::new(); n_layers];
    for (i, z) in calibration.latents.chunks_exact(latent_dim).enumerate() {
        samples[0].extend(z.iter().map(|&v| f64::from(v).abs()));
        let label = calibration.labels.get(i).copied();
        let acts = mlp.activations(z, label);
        if feedback {
            inputs[0].push(z.iter().map(|&v| f64::from(v)).collect());
            for (k, act) in acts.iter().take(n_layers - 1).enumerate() {
                inputs[k + 1].push(act.clone());
            }
        }
        for (k, act) in acts.into_iter().enumerate() {
            samples[k + 1].extend(act.into_iter().map(f64::abs));
        }
    }
    let latent_scale = match options.latent_scale {
        Some(s) if s.is_finite() && s > 0.0 => s,
        Some(_) => return Err(Error::InvalidScale { layer: 0 }),
        None => scale_for(
            options.clipping.clip(&mut samples[0], SYMMETRIC_STEPS),
            SYMMETRIC_STEPS,
        ),
    };

    let n_classes = mlp.classes.map_or(0, usize::from);
    let mut class_bias_rows: Vec<i32> = Vec::new(); // [row][class]
    let mut layers = Vec::with_capacity(n_layers);
    let mut input_scale = latent_scale;
    for (k, layer) in mlp.layers.iter().enumerate() {
        let output_scale = if k + 1 == n_layers {
            LOGIT_SCALE
        } else {
            scale_for(
                options.clipping.clip(&mut samples[k + 1], HIDDEN_STEPS),
                HIDDEN_STEPS,
            )
        };
        let input_zero_point = if k == 0 { 0 } else { HIDDEN_ZERO_POINT };
        let extra = if k == 0 { n_classes } else { 0 };
        let cols = layer.in_dim - extra;
        let dim = |v: usize| u16::try_from(v).map_err(|_| malformed("width over 65535"));
        let mut q = OwnedDense {
            in_dim: dim(cols)?,
            out_dim: dim(layer.out_dim)?,
            input_scale,
            input_zero_point,
            output_scale,
            weights: Vec::with_capacity(cols * layer.out_dim),
            weight_scales: Vec::with_capacity(4 * layer.out_dim),
            bias: Vec::with_capacity(4 * layer.out_dim),
            multipliers: Vec::with_capacity(4 * layer.out_dim),
            shifts: Vec::with_capacity(layer.out_dim),
        };
        let w_cols: Vec<f32> = layer
            .weights
            .chunks_exact(layer.in_dim)
            .flat_map(|row| &row[..cols])
            .copied()
            .collect();
        let row_scales: Vec<f32> = w_cols
            .chunks_exact(cols)
            .map(|w_row| {
                let max = w_row.iter().fold(0f32, |a, &w| a.max(w.abs()));
                scale_for(f64::from(max), SYMMETRIC_STEPS)
            })
            .collect();
        let codes: Vec<i8> = if feedback {
            let h = rounding::second_moment(&inputs[k], cols);
            rounding::round_with_feedback(&w_cols, layer.out_dim, cols, &row_scales, &h)
        } else {
            w_cols
                .chunks_exact(cols)
                .zip(&row_scales)
                .flat_map(|(w_row, &s_w)| {
                    w_row
                        .iter()
                        .map(move |&w| (w / s_w).round().clamp(-127.0, 127.0) as i8)
                })
                .collect()
        };
        let rows = layer
            .weights
            .chunks_exact(layer.in_dim)
            .zip(&layer.bias)
            .zip(codes.chunks_exact(cols).zip(&row_scales));
        for ((row, &bias), (w_q, &s_w)) in rows {
            let class_cols = &row[cols..];
            q.weights.extend(w_q.iter().map(|&w| w as u8));
            let weight_sum: i32 = w_q.iter().map(|&w| i32::from(w)).sum();
            let acc_scale = f64::from(input_scale) * f64::from(s_w);
            // Biases beyond ±2^30 accumulator units would be a broken model; clamp.
            let to_acc = |v: f32| (f64::from(v) / acc_scale).round().clamp(-1e9, 1e9) as i32;
            q.weight_scales.extend(s_w.to_le_bytes());
            let folded = to_acc(bias) - i32::from(input_zero_point) * weight_sum;
            q.bias.extend(folded.to_le_bytes());
            let (m, shift) = format::quantize_multiplier(acc_scale / f64::from(output_scale))
                .ok_or(Error::InvalidScale { layer: k })?;
            q.multipliers.extend(m.to_le_bytes());
            q.shifts.push(shift);
            if k == 0 {
                // One-hot label columns: their weight *is* the extra bias of that class.
                class_bias_rows.extend(class_cols.iter().map(|&w| to_acc(w)));
            }
        }
        layers.push(q);
        input_scale = output_scale;
    }
    let rows0 = mlp.layers[0].out_dim;
    let class_bias = (0..n_classes)
        .flat_map(|c| (0..rows0).map(move |j| (j, c)))
        .flat_map(|(j, c)| class_bias_rows[j * n_classes + c].to_le_bytes())
        .collect();
    let thresholds =
        format::pixel_thresholds(f64::from(LOGIT_SCALE)).ok_or(Error::InvalidScale {
            layer: n_layers - 1,
        })?;
    Ok(QuantizedMlp {
        latent_dim: u16::try_from(latent_dim).map_err(|_| malformed("latent over 65535"))?,
        classes: mlp.classes,
        class_bias,
        layers,
        pixel_thresholds: thresholds.iter().flat_map(|t| t.to_le_bytes()).collect(),
        seed: options.seed,
        test_loss: options.test_loss,
        note: options.note.clone(),
        prior: None,
    })
}

impl QuantizedMlp {
    /// The borrowed [`Model`] view.
    pub fn model(&self) -> Model<'_> {
        let mut layers = Layers::new();
        for l in &self.layers {
            // `quantize` produces at most MAX_LAYERS layers.
            let _ = layers.push(l.as_dense());
        }
        Model {
            kind: match self.classes {
                None => ModelKind::Unconditional,
                Some(classes) => ModelKind::Conditional {
                    classes,
                    class_bias: &self.class_bias,
                },
            },
            latent_dim: self.latent_dim,
            layers,
            pixel_thresholds: &self.pixel_thresholds,
            metadata: Metadata {
                seed: self.seed,
                test_loss: self.test_loss,
                note: &self.note,
            },
            prior: self
                .prior
                .as_ref()
                .map_or(Prior::Standard, OwnedMixture::as_prior),
        }
    }

    /// The encoded, validated blob ([`format::encode`]).
    pub fn to_blob(&self) -> Result<Vec<u8>, Error> {
        let model = self.model();
        let mut blob = std::vec![0u8; format::encoded_len(&model)?];
        let len = format::encode(&model, &mut blob)?;
        blob.truncate(len);
        Ok(blob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_clip_keeps_the_maximum_of_uniform_values() {
        // Evenly spread values: clipping only adds error.
        let values: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 100.0).collect();
        assert_eq!(mse_clip(&values, 255.0), 10.0);
    }

    #[test]
    fn mse_clip_cuts_a_lone_outlier() {
        // A bulk in [0, 1) and one value at 50: spending the codes on the bulk wins.
        let mut values: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 10_000.0).collect();
        values.push(50.0);
        let clip = mse_clip(&values, 127.0);
        assert!((50.0 * 64.0 / 256.0..50.0).contains(&clip), "clip {clip}");
        let sse = |c: f64| quantization_sse(&values, c, 127.0);
        assert!(sse(clip) < sse(50.0));
        // It is the best point of its grid.
        for k in 64..=256 {
            assert!(sse(clip) <= sse(50.0 * f64::from(k) / 256.0));
        }
    }

    #[test]
    fn clip_rules() {
        let mut values = std::vec![0.5, 3.0, 1.0, 2.0, 0.0];
        assert_eq!(Clipping::Quantile(1.0).clip(&mut values, 127.0), 3.0);
        assert_eq!(Clipping::Quantile(0.5).clip(&mut values, 127.0), 1.0);
        assert_eq!(Clipping::Mse.clip(&mut [], 127.0), 0.0);
        assert_eq!(Clipping::Mse.clip(&mut [0.0, 0.0], 127.0), 0.0);
        assert_eq!(Clipping::default(), Clipping::Mse);
    }
}
