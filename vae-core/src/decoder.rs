//! [`Decoder`]: a parsed, validated blob that turns latent vectors into 28x28 images.

use crate::IMAGE_PIXELS;
use crate::error::Error;
use crate::format::{self, Dense, Metadata, Model, ModelKind, Prior};
use crate::kernel::{self, Accel, le_f32, le_i32};
use crate::rng::Rng;

/// The int8 decoder of one blob, with its shapes fixed at compile time.
///
/// * `LATENT`: the blob's latent dimension (checked by [`from_bytes`](Self::from_bytes)).
/// * `HIDDEN`: at least the widest hidden layer (every layer but the last). The scratch
///   activations are two `[i8; HIDDEN]` arrays on the stack inside each decode call, so
///   `decode(&self)` needs no mutable state and a `Decoder` can be shared (it is `Sync`).
///
/// All blob checks happen in [`from_bytes`](Self::from_bytes); afterwards the decode
/// methods only fail on bad *inputs* (non-finite latent, wrong or missing digit). No
/// method panics, whatever the blob or input.
///
/// Integer path (what [`decode`](Self::decode) runs, bit-identical on every target):
/// `z_q = quantize(z)`, then per layer `acc = bias + W_q x_q`, hidden layers
/// `x_q = relu_q(requantize(acc), next_layer.input_zero_point)`, last layer `pixel = sigmoid_pixel(requantize(acc))`.
/// See [`kernel`] and `FORMAT.md`.
///
/// Stack use per call: `2 * HIDDEN` bytes for the integer path, `8 * HIDDEN` for
/// [`decode_reference_f32`](Self::decode_reference_f32), plus `LATENT` bytes and small
/// change; the AVX-512 kernels of an x86-64 host add about 5 KB (a block's sums per 16
/// rows of a layer, the threshold tree).
#[derive(Clone, Debug, PartialEq)]
pub struct Decoder<'a, const LATENT: usize, const HIDDEN: usize> {
    model: Model<'a>,
}

/// [`Error::InvalidTemperature`] unless `temperature` is finite and `>= 0`.
fn check_temperature(temperature: f32) -> Result<(), Error> {
    if temperature.is_finite() && temperature >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidTemperature)
    }
}

/// Unreachable for a validated model; returned instead of panicking.
const INCONSISTENT: Error = Error::Malformed {
    what: "layer shapes inconsistent with the Decoder's buffers",
};

/// Per-row parameters of a layer, with the class bias (if any) folded into `bias`.
struct RowParams {
    bias: i32,
    multiplier: i32,
    shift: u8,
    weight_scale: f32,
}

/// The rows of `layer` in order. `class_bias` is the chosen class's row (`out_dim` `i32`
/// LE) for the first layer of a conditional model, empty otherwise (adds 0).
fn rows<'l>(layer: Dense<'l>, class_bias: &'l [u8]) -> impl Iterator<Item = RowParams> + 'l {
    let extra = class_bias
        .chunks_exact(4)
        .map(le_i32)
        .chain(core::iter::repeat(0));
    layer
        .bias
        .chunks_exact(4)
        .zip(extra)
        .zip(layer.multipliers.chunks_exact(4))
        .zip(layer.shifts)
        .zip(layer.weight_scales.chunks_exact(4))
        .map(|((((bias, extra), multiplier), &shift), scale)| RowParams {
            bias: le_i32(bias).wrapping_add(extra),
            multiplier: le_i32(multiplier),
            shift,
            weight_scale: le_f32(scale),
        })
}

/// The per-row parameters of a layer by row index, for the integer path: the same values
/// as [`rows`], read with a few loads and bounds checks instead of a five-way zipped
/// iterator whose state the (out-of-line) dense sink reloads and stores for every row;
/// on the Cortex-M4 that bookkeeping was about 50 instructions a row.
struct RowTable<'l> {
    bias: &'l [[u8; 4]],
    class_bias: &'l [[u8; 4]],
    multipliers: &'l [[u8; 4]],
    shifts: &'l [u8],
    weight_scales: &'l [[u8; 4]],
}

impl<'l> RowTable<'l> {
    /// `class_bias` as in [`rows`]: the chosen class's row, or empty (adds 0).
    fn new(layer: Dense<'l>, class_bias: &'l [u8]) -> Self {
        RowTable {
            bias: layer.bias.as_chunks().0,
            class_bias: class_bias.as_chunks().0,
            multipliers: layer.multipliers.as_chunks().0,
            shifts: layer.shifts,
            weight_scales: layer.weight_scales.as_chunks().0,
        }
    }

    /// Row `j`'s parameters; `None` past the end of the layer.
    #[inline(always)]
    fn get(&self, j: usize) -> Option<RowParams> {
        let extra = self.class_bias.get(j).map_or(0, |&b| i32::from_le_bytes(b));
        Some(RowParams {
            bias: i32::from_le_bytes(*self.bias.get(j)?).wrapping_add(extra),
            multiplier: i32::from_le_bytes(*self.multipliers.get(j)?),
            shift: *self.shifts.get(j)?,
            // NaN past the end (as `le_f32`), so that callers that do not read it pay nothing.
            weight_scale: self
                .weight_scales
                .get(j)
                .map_or(f32::NAN, |&b| f32::from_le_bytes(b)),
        })
    }
}

/// Float dense layer with dequantized weights and bias; optional ReLU.
fn dense_f32(layer: Dense<'_>, x: &[f32], class_bias: &[u8], out: &mut [f32], relu: bool) {
    let cols = usize::from(layer.in_dim);
    if cols == 0 {
        return;
    }
    let weight_rows = layer.weights.chunks_exact(cols);
    for (w_row, (row, y)) in weight_rows.zip(rows(layer, class_bias).zip(out)) {
        // The stored bias holds `-input_zero_point * sum_i W_q[j][i]`: take it out again.
        let bias = i64::from(row.bias) + layer.zero_point_term(w_row);
        let mut acc = bias as f32 * (layer.input_scale * row.weight_scale);
        for (&w, &xi) in w_row.iter().zip(x) {
            acc += (f32::from(w as i8) * row.weight_scale) * xi;
        }
        *y = if relu { acc.max(0.0) } else { acc };
    }
}

impl<'a, const LATENT: usize, const HIDDEN: usize> Decoder<'a, LATENT, HIDDEN> {
    /// Parses and validates a blob ([`format::parse`]) and checks that its shapes fit
    /// `LATENT` and `HIDDEN` ([`Error::DimsMismatch`]). Borrows the blob: no copy.
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self, Error> {
        Self::with_shapes_checked(format::parse(blob)?)
    }

    /// Like [`from_bytes`](Self::from_bytes) for a [`Model`] built in memory (e.g. by an
    /// exporter, before writing it): validates it, then checks the shapes.
    pub fn from_model(model: Model<'a>) -> Result<Self, Error> {
        model.validate()?;
        Self::with_shapes_checked(model)
    }

    fn with_shapes_checked(model: Model<'a>) -> Result<Self, Error> {
        let latent = usize::from(model.latent_dim);
        if latent != LATENT {
            return Err(Error::DimsMismatch {
                what: "latent dimension (LATENT)",
                expected: LATENT,
                found: latent,
            });
        }
        let hidden = model.layers.split_last().map_or(&[][..], |(_, h)| h);
        let widest = hidden.iter().map(|l| usize::from(l.out_dim)).max();
        if let Some(widest) = widest.filter(|&w| w > HIDDEN) {
            return Err(Error::DimsMismatch {
                what: "widest hidden layer (HIDDEN)",
                expected: HIDDEN,
                found: widest,
            });
        }
        Ok(Decoder { model })
    }

    /// The validated model (borrowing the blob).
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Length of the latent vector (`LATENT`).
    pub const fn latent_dim(&self) -> usize {
        LATENT
    }

    /// Latent quantization scale: `z_q = clamp(round(z / scale), -127, 127)`.
    pub fn latent_scale(&self) -> f32 {
        self.model.latent_scale()
    }

    /// Whether decoding needs a digit ([`decode_digit`](Self::decode_digit)).
    pub fn is_conditional(&self) -> bool {
        self.model.classes().is_some()
    }

    /// Number of classes of a conditional model; `None` if unconditional.
    pub fn classes(&self) -> Option<u8> {
        self.model.classes()
    }

    /// Number of dense layers.
    pub fn num_layers(&self) -> usize {
        self.model.layers.len()
    }

    /// Provenance stored in the blob.
    pub fn metadata(&self) -> &Metadata<'a> {
        &self.model.metadata
    }

    /// `LATENT` standard normal samples from [`Rng::new(seed)`](Rng::new), in order: the
    /// latent [`generate`](Self::generate) uses for a blob with the standard prior
    /// ([`prior_latent`](Self::prior_latent) covers both kinds of prior).
    pub fn sample_latent(seed: u64) -> [f32; LATENT] {
        let mut z = [0f32; LATENT];
        Rng::new(seed).fill_gaussian(&mut z);
        z
    }

    /// [`sample_latent`](Self::sample_latent) scaled by `temperature` (one `f32`
    /// multiplication per value, so bit-identical on every target): `z ~ N(0, t² I)`.
    ///
    /// [`Error::InvalidTemperature`] unless finite and `>= 0`.
    pub fn sample_latent_with_temperature(
        seed: u64,
        temperature: f32,
    ) -> Result<[f32; LATENT], Error> {
        check_temperature(temperature)?;
        Ok(Self::sample_latent(seed).map(|v| v * temperature))
    }

    /// The latent [`generate`](Self::generate) decodes for `seed`: a draw from the blob's
    /// prior ([`Model::prior`]).
    ///
    /// * [`Prior::Standard`]: exactly [`sample_latent(seed)`](Self::sample_latent).
    /// * [`Prior::Mixture`]: the first `u32` of [`Rng::new(seed)`](Rng::new) picks the
    ///   component `k` (the first with `r < cumulative[k]`, else the last), then
    ///   `z[i] = means[k][i] + stds[k][i] * g[i]` with the following `LATENT` Gaussians.
    ///
    /// Plain `f32` arithmetic: bit-identical on every target.
    pub fn prior_latent(&self, seed: u64) -> [f32; LATENT] {
        self.prior_latent_scaled(seed, 1.0)
    }

    /// [`prior_latent`](Self::prior_latent) with the spread around the prior's centre
    /// scaled by `temperature`: `z ~ N(0, t² I)` for a standard prior, `means[k] + t *
    /// stds[k] * g` for a mixture (the component weights are unchanged). `1.0` gives
    /// exactly `prior_latent`'s latent.
    ///
    /// Temperatures below 1 draw from the cores of the prior, where the decoder has seen
    /// the most training codes: cleaner, less varied digits (README measures the
    /// trade-off). [`Error::InvalidTemperature`] unless finite and `>= 0`.
    pub fn prior_latent_with_temperature(
        &self,
        seed: u64,
        temperature: f32,
    ) -> Result<[f32; LATENT], Error> {
        check_temperature(temperature)?;
        Ok(self.prior_latent_scaled(seed, temperature))
    }

    fn prior_latent_scaled(&self, seed: u64, temperature: f32) -> [f32; LATENT] {
        let Prior::Mixture {
            cumulative,
            means,
            stds,
            ..
        } = self.model.prior
        else {
            return Self::sample_latent(seed).map(|v| v * temperature);
        };
        let mut rng = Rng::new(seed);
        let r = rng.next_u32();
        let (bounds, _) = cumulative.as_chunks::<4>();
        let last = bounds.len().saturating_sub(1);
        let k = bounds
            .iter()
            .position(|b| r < u32::from_le_bytes(*b))
            .unwrap_or(last);
        let mut z = [0f32; LATENT];
        rng.fill_gaussian(&mut z);
        // A validated mixture has components * LATENT values; `skip` and `zip` stop
        // early rather than panic on anything else.
        let row = |values: &'a [u8]| values.chunks_exact(4).skip(k * LATENT).map(le_f32);
        for ((v, m), sd) in z.iter_mut().zip(row(means)).zip(row(stds)) {
            *v = m + (temperature * sd) * *v;
        }
        z
    }

    /// Quantizes a latent vector with the blob's scale ([`kernel::quantize_i8`]);
    /// [`Error::NonFiniteLatent`] for the first NaN or infinite value.
    pub fn quantize_latent(&self, z: &[f32; LATENT]) -> Result<[i8; LATENT], Error> {
        let scale = self.model.latent_scale();
        let mut z_q = [0i8; LATENT];
        for (index, (q, &v)) in z_q.iter_mut().zip(z).enumerate() {
            if !v.is_finite() {
                return Err(Error::NonFiniteLatent { index });
            }
            *q = kernel::quantize_i8(v, scale);
        }
        Ok(z_q)
    }

    /// Decodes a latent vector into a 28x28 image (row-major, 0 = black, 255 = white) with
    /// an unconditional model ([`Error::MissingDigit`] for a conditional one).
    pub fn decode(&self, z: &[f32; LATENT], out: &mut [u8; IMAGE_PIXELS]) -> Result<(), Error> {
        self.decode_label(None, z, out)
    }

    /// Decodes a latent vector into an image of `digit` with a conditional model
    /// ([`Error::NotConditional`], [`Error::InvalidDigit`] otherwise).
    pub fn decode_digit(
        &self,
        digit: u8,
        z: &[f32; LATENT],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.decode_label(Some(digit), z, out)
    }

    fn decode_label(
        &self,
        label: Option<u8>,
        z: &[f32; LATENT],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let class_bias = self.class_bias(label)?;
        let z_q = self.quantize_latent(z)?;
        self.pixels(&z_q, class_bias, out)
    }

    /// Decodes an already quantized latent; `label` must be `Some(digit)` exactly when the
    /// model is conditional. The integer path: bit-identical on every target.
    pub fn decode_q(
        &self,
        z_q: &[i8; LATENT],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let class_bias = self.class_bias(label)?;
        self.pixels(z_q, class_bias, out)
    }

    /// A random image: `decode(&self.prior_latent(seed), out)`.
    pub fn generate(&self, seed: u64, out: &mut [u8; IMAGE_PIXELS]) -> Result<(), Error> {
        self.decode(&self.prior_latent(seed), out)
    }

    /// A random image of `digit`: `decode_digit(digit, &self.prior_latent(seed), out)`.
    /// The same seed gives the same latent (the same "style") for every digit.
    pub fn generate_digit(
        &self,
        digit: u8,
        seed: u64,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.decode_digit(digit, &self.prior_latent(seed), out)
    }

    /// [`generate`](Self::generate) with the latent of
    /// [`prior_latent_with_temperature`](Self::prior_latent_with_temperature); `1.0` gives
    /// exactly `generate`'s image.
    pub fn generate_with_temperature(
        &self,
        seed: u64,
        temperature: f32,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        // Label errors (a conditional model needs a digit) first, as for every other call.
        self.class_bias(None)?;
        self.decode(&self.prior_latent_with_temperature(seed, temperature)?, out)
    }

    /// [`generate_digit`](Self::generate_digit) with the latent of
    /// [`prior_latent_with_temperature`](Self::prior_latent_with_temperature); `1.0` gives
    /// exactly `generate_digit`'s image.
    pub fn generate_digit_with_temperature(
        &self,
        digit: u8,
        seed: u64,
        temperature: f32,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        // Label errors first, as for every other call.
        self.class_bias(Some(digit))?;
        self.decode_digit(
            digit,
            &self.prior_latent_with_temperature(seed, temperature)?,
            out,
        )
    }

    /// The integer path up to the last layer's `i32` accumulators, dequantized to logits:
    /// `logit[j] = acc[j] as f32 * (input_scale * weight_scale[j])` of the last layer.
    ///
    /// `sigmoid` of these is what [`decode_q`](Self::decode_q) turns into pixels, before
    /// the last requantization; an exporter evaluates the int8 model's loss with it.
    pub fn decode_logits_q(
        &self,
        z_q: &[i8; LATENT],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let class_bias = self.class_bias(label)?;
        self.logits_with(kernel::accel(), z_q, class_bias, logits)
    }

    /// [`decode_logits_q`](Self::decode_logits_q) with the accelerated kernels `accel`
    /// (`None`: the portable ones).
    fn logits_with(
        &self,
        accel: Option<Accel>,
        z_q: &[i8; LATENT],
        class_bias: &[u8],
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let input_scale = self.model.layers.last().map_or(f32::NAN, |l| l.input_scale);
        self.forward_q(accel, z_q, class_bias, |last, x, class_bias| {
            let params = RowTable::new(*last, class_bias);
            let mut slots = logits.iter_mut();
            let mut j = 0;
            kernel::dense_with(accel, last.weights, x, |dot| {
                if let (Some(row), Some(slot)) = (params.get(j), slots.next()) {
                    let acc = dot.wrapping_add(row.bias);
                    *slot = acc as f32 * (input_scale * row.weight_scale);
                }
                j += 1;
            });
        })
    }

    /// Float reference: the same network with dequantized weights and biases, computed in
    /// `f32` with activations *not* quantized (`z` is used as is). Returns logits.
    ///
    /// Per layer and row `j`, accumulating over `i` in order, then ReLU except on the last
    /// layer:
    ///
    /// ```text
    /// y[j] = (bias[j] + class_bias[c][j]) as f32 * (input_scale * weight_scale[j])
    ///      + sum_i (W_q[j][i] as f32 * weight_scale[j]) * x[i]
    /// ```
    ///
    /// It matches a float framework (burn) to about `1e-4` only when that framework is
    /// loaded with these same dequantized weights and biases (not the original float ones);
    /// its distance to [`decode_logits_q`](Self::decode_logits_q) measures the cost of
    /// quantizing activations.
    pub fn decode_reference_f32(
        &self,
        z: &[f32; LATENT],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let mut class_bias = self.class_bias(label)?;
        if let Some(index) = z.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteLatent { index });
        }
        let (last, hidden) = self.model.layers.split_last().ok_or(INCONSISTENT)?;
        let mut buf_a = [0f32; HIDDEN];
        let mut buf_b = [0f32; HIDDEN];
        let (mut src, mut dst) = (&mut buf_a, &mut buf_b);
        let mut src_len = None; // None: the input is z
        for layer in hidden {
            let x: &[f32] = match src_len {
                None => z.as_slice(),
                Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
            };
            let width = usize::from(layer.out_dim);
            let y = dst.get_mut(..width).ok_or(INCONSISTENT)?;
            dense_f32(*layer, x, class_bias, y, true);
            class_bias = &[];
            src_len = Some(width);
            core::mem::swap(&mut src, &mut dst);
        }
        let x: &[f32] = match src_len {
            None => z.as_slice(),
            Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
        };
        dense_f32(*last, x, class_bias, logits, false);
        Ok(())
    }

    /// The class-bias row for `label`, checking `label` against the model kind.
    pub(crate) fn class_bias(&self, label: Option<u8>) -> Result<&'a [u8], Error> {
        match (self.model.kind, label) {
            (ModelKind::Unconditional, None) => Ok(&[]),
            (ModelKind::Unconditional, Some(_)) => Err(Error::NotConditional),
            (ModelKind::Conditional { .. }, None) => Err(Error::MissingDigit),
            (
                ModelKind::Conditional {
                    classes,
                    class_bias,
                },
                Some(digit),
            ) => {
                if digit >= classes {
                    return Err(Error::InvalidDigit(digit));
                }
                let width = self
                    .model
                    .layers
                    .first()
                    .map_or(0, |l| usize::from(l.out_dim) * 4);
                let start = usize::from(digit) * width;
                class_bias.get(start..start + width).ok_or(INCONSISTENT)
            }
        }
    }

    /// Integer path to pixels.
    fn pixels(
        &self,
        z_q: &[i8; LATENT],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.pixels_with(kernel::accel(), z_q, class_bias, out)
    }

    /// [`pixels`](Self::pixels) with the accelerated kernels `accel` (`None`: the
    /// portable ones; the tests compare both).
    fn pixels_with(
        &self,
        accel: Option<Accel>,
        z_q: &[i8; LATENT],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let thresholds = self.model.pixel_thresholds;
        self.forward_q(accel, z_q, class_bias, |last, x, class_bias| {
            if accel.is_some_and(|a| a.pixels(last, x, class_bias, thresholds, out)) {
                return;
            }
            let params = RowTable::new(*last, class_bias);
            let mut slots = out.iter_mut();
            let mut j = 0;
            kernel::dense_with(accel, last.weights, x, |dot| {
                if let (Some(row), Some(slot)) = (params.get(j), slots.next()) {
                    let value =
                        kernel::requantize(dot.wrapping_add(row.bias), row.multiplier, row.shift);
                    *slot = kernel::sigmoid_pixel(thresholds, value);
                }
                j += 1;
            });
        })
    }

    /// Runs the hidden layers in int8, then `last(last_layer, its_input, class_bias)`
    /// (`class_bias` is the chosen class's row when the last layer is also the first).
    fn forward_q<R>(
        &self,
        accel: Option<Accel>,
        z_q: &[i8; LATENT],
        mut class_bias: &[u8],
        last: impl FnOnce(&Dense<'a>, &[i8], &[u8]) -> R,
    ) -> Result<R, Error> {
        let (last_layer, hidden) = self.model.layers.split_last().ok_or(INCONSISTENT)?;
        let mut buf_a = [0i8; HIDDEN];
        let mut buf_b = [0i8; HIDDEN];
        let (mut src, mut dst) = (&mut buf_a, &mut buf_b);
        let mut src_len = None; // None: the input is z_q
        for (k, layer) in hidden.iter().enumerate() {
            // The code of a real 0 in this layer's output, i.e. in the next layer's input.
            let zero_point = self
                .model
                .layers
                .get(k + 1)
                .map_or(0, |next| next.input_zero_point);
            let x: &[i8] = match src_len {
                None => z_q.as_slice(),
                Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
            };
            let width = usize::from(layer.out_dim);
            let y = dst.get_mut(..width).ok_or(INCONSISTENT)?;
            if !accel.is_some_and(|a| a.hidden(layer, x, class_bias, zero_point, y)) {
                let params = RowTable::new(*layer, class_bias);
                let mut j = 0;
                kernel::dense_with(accel, layer.weights, x, |dot| {
                    if let (Some(row), Some(slot)) = (params.get(j), y.get_mut(j)) {
                        let acc = dot.wrapping_add(row.bias);
                        *slot = kernel::relu_q(
                            kernel::requantize(acc, row.multiplier, row.shift),
                            zero_point,
                        );
                    }
                    j += 1;
                });
            }
            class_bias = &[];
            src_len = Some(width);
            core::mem::swap(&mut src, &mut dst);
        }
        let x: &[i8] = match src_len {
            None => z_q.as_slice(),
            Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
        };
        Ok(last(last_layer, x, class_bias))
    }
}

#[cfg(test)]
mod tests;
