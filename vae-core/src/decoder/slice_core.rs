//! [`DecoderCore`]: the decode itself, over slices, with its scratch memory given by the
//! caller. [`Decoder`](crate::Decoder) wraps it with compile-time shapes and stack
//! buffers; host tools (module `host`) wrap it with heap buffers for any blob.

use crate::IMAGE_PIXELS;
use crate::bytes::{le_f16, le_f32, le_i32};
use crate::error::Error;
use crate::format::{self, Dense, Model, ModelKind, Prior, WeightWidth};
use crate::kernel::{self, Accel};
use crate::request::Request;
use crate::rng::Rng;
use crate::shape::{self, Shape};

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
///
/// `CLASS`: whether the layer adds a class-bias row (layer 0 of a conditional model).
/// Every other layer reads no class bias at all, instead of a bounds-checked load per
/// row (about 4 instructions a row on the Cortex-M4).
struct RowTable<'l, const CLASS: bool> {
    bias: &'l [[u8; 4]],
    class_bias: &'l [[u8; 4]],
    multipliers: &'l [[u8; 4]],
    shifts: &'l [u8],
    weight_scales: &'l [[u8; 4]],
}

impl<'l, const CLASS: bool> RowTable<'l, CLASS> {
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
        let extra = if CLASS {
            self.class_bias.get(j).map_or(0, |&b| i32::from_le_bytes(b))
        } else {
            0
        };
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

/// Runs the dense kernel over `layer` and calls `row_out(j, row j's parameters, dot)` for
/// every row, with the class-bias row `class_bias` (empty: none) folded into the bias.
/// Layers without a class bias take a copy of the loop that reads none.
#[inline(always)]
fn for_each_row(
    accel: Option<Accel>,
    layer: &Dense<'_>,
    x: &[i8],
    class_bias: &[u8],
    mut row_out: impl FnMut(usize, RowParams, i32),
) {
    if class_bias.is_empty() {
        rows_with(accel, layer, x, &mut row_out);
    } else {
        // Only layer 0 of a conditional model: one row at a time with the reference dot
        // product, so that the target's dense kernels are compiled once, for the
        // layers without a class bias (the bulk of the work).
        let params = RowTable::<true>::new(*layer, class_bias);
        let mut j = 0;
        let sink = |dot| {
            if let Some(row) = params.get(j) {
                row_out(j, row, dot);
            }
            j += 1;
        };
        match layer.weight_width {
            WeightWidth::Int8 => kernel::dense_ref(layer.weights, x, sink),
            WeightWidth::Int4 => kernel::dense_int4_portable(layer.weights, x, sink),
        }
    }
}

/// [`for_each_row`] for a layer without a class bias, through the target's dense kernels.
#[inline(always)]
fn rows_with(
    accel: Option<Accel>,
    layer: &Dense<'_>,
    x: &[i8],
    row_out: &mut impl FnMut(usize, RowParams, i32),
) {
    let params = RowTable::<false>::new(*layer, &[]);
    let mut j = 0;
    if layer.weight_width == WeightWidth::Int4 {
        kernel::dense_int4_with(accel, layer.weights, x, |dot| {
            if let Some(row) = params.get(j) {
                row_out(j, row, dot);
            }
            j += 1;
        });
        return;
    }
    kernel::dense_with(
        accel,
        layer.weights,
        x,
        #[inline(always)]
        |dot| {
            if let Some(row) = params.get(j) {
                row_out(j, row, dot);
            }
            j += 1;
        },
    );
}

/// Float dense layer with dequantized weights and bias; optional ReLU.
fn dense_f32(layer: Dense<'_>, x: &[f32], class_bias: &[u8], out: &mut [f32], relu: bool) {
    if layer.in_dim == 0 {
        return;
    }
    for (w_row, (row, y)) in layer.weight_rows().zip(rows(layer, class_bias).zip(out)) {
        // The stored bias holds `-input_zero_point * sum_i W_q[j][i]`: take it out again.
        let bias = i64::from(row.bias) + layer.zero_point_term(w_row);
        let mut acc = bias as f32 * (layer.input_scale * row.weight_scale);
        for (w, &xi) in layer.codes(w_row).zip(x) {
            acc += (f32::from(w) * row.weight_scale) * xi;
        }
        *y = if relu { acc.max(0.0) } else { acc };
    }
}

/// A parsed, validated blob and the integer decode, with shapes known at run time.
///
/// Every method takes its inputs and outputs as slices and checks their lengths
/// ([`Error::DimsMismatch`] for a latent of the wrong length, [`Error::BufferTooSmall`]
/// for scratch smaller than [`scratch_len`](Self::scratch_len)). The integer path is the
/// same code whatever wraps it, so every wrapper produces the same bytes.
///
/// Errors are reported in one order by every call: the digit (against the model kind),
/// then slice lengths, then the temperature, then the latent's values.
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderCore<'a> {
    model: Model<'a>,
    shape: Shape,
}

impl<'a> DecoderCore<'a> {
    /// Parses and validates a blob ([`format::parse`]). Borrows the blob: no copy.
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self, Error> {
        Ok(Self::validated(format::parse(blob)?))
    }

    /// Like [`from_bytes`](Self::from_bytes) for a [`Model`] built in memory (e.g. by an
    /// exporter, before writing it): validates it first.
    pub fn from_model(model: Model<'a>) -> Result<Self, Error> {
        model.validate()?;
        Ok(Self::validated(model))
    }

    fn validated(model: Model<'a>) -> Self {
        let latent = usize::from(model.latent_dim);
        let hidden = model.layers.split_last().map_or(&[][..], |(_, h)| h);
        let hidden = hidden
            .iter()
            .map(|l| usize::from(l.out_dim))
            .max()
            .unwrap_or(0);
        let shape = Shape {
            latent,
            hidden,
            layers: model.layers.len(),
            classes: model.classes().map_or(0, usize::from),
            macs: model
                .layers
                .iter()
                .map(|l| usize::from(l.in_dim) * usize::from(l.out_dim))
                .sum(),
            stack_bytes: shape::stack_bytes(latent, hidden),
        };
        DecoderCore { model, shape }
    }

    /// The validated model (borrowing the blob): layers, prior, metadata.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// The blob's sizes: latent, widest hidden layer, classes, stack of a decode.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Elements of scratch a decode needs: two activation buffers as wide as the widest
    /// hidden layer.
    pub fn scratch_len(&self) -> usize {
        2 * self.shape.hidden
    }

    /// The latent that [`generate`](crate::Decoder::generate) decodes for `request`, into
    /// `z` (`latent` values): a draw from the blob's prior ([`Model::prior`]) with its
    /// spread scaled by the request's temperature.
    ///
    /// * [`Prior::Standard`]: `z[i] = t * g[i]` with `g` the first Gaussians of
    ///   [`Rng::new(seed)`](Rng::new).
    /// * [`Prior::Mixture`]: the first `u32` of [`Rng::new(seed)`](Rng::new) picks the
    ///   component `k` (the first with `r < cumulative[k]`, else the last), then
    ///   `z[i] = means[k][i] + (t * stds[k][i]) * g[i]` with the following Gaussians.
    /// * [`Prior::MixtureF16`]: the same, with each `f16` read as the `f32` of its value.
    ///
    /// Plain `f32` arithmetic without fused operations: bit-identical on every target.
    /// The latent does not depend on the request's digit (the same seed gives the same
    /// "style" for every digit), only its default temperature does; the digit is checked
    /// by the decode.
    pub fn prior_latent(&self, request: &Request, z: &mut [f32]) -> Result<(), Error> {
        self.check_latent(z.len())?;
        let temperature = request.checked_temperature()?;
        let mut rng = Rng::new(request.seed);
        let (cumulative, means, stds, width, read): (_, _, _, usize, fn(&[u8]) -> f32) =
            match self.model.prior {
                Prior::Mixture {
                    cumulative,
                    means,
                    stds,
                    ..
                } => (cumulative, means, stds, 4, le_f32),
                Prior::MixtureF16 {
                    cumulative,
                    means,
                    stds,
                    ..
                } => (cumulative, means, stds, 2, le_f16),
                Prior::Standard => {
                    rng.fill_gaussian(z);
                    for v in z.iter_mut() {
                        *v *= temperature;
                    }
                    return Ok(());
                }
            };
        let r = rng.next_u32();
        let (bounds, _) = cumulative.as_chunks::<4>();
        let last = bounds.len().saturating_sub(1);
        let k = bounds
            .iter()
            .position(|b| r < u32::from_le_bytes(*b))
            .unwrap_or(last);
        rng.fill_gaussian(z);
        // A validated mixture has components * latent values; `skip` and `zip` stop
        // early rather than panic on anything else.
        let latent = self.shape.latent;
        let row = |values: &'a [u8]| values.chunks_exact(width).skip(k * latent).map(read);
        for ((v, m), sd) in z.iter_mut().zip(row(means)).zip(row(stds)) {
            *v = m + (temperature * sd) * *v;
        }
        Ok(())
    }

    /// Quantizes a latent with the blob's scale, `clamp(round_half_away(z / s), -127,
    /// 127)` (`FORMAT.md`, "Latent"), into `z_q`;
    /// [`Error::NonFiniteLatent`] for the first NaN or infinite value.
    pub fn quantize_latent(&self, z: &[f32], z_q: &mut [i8]) -> Result<(), Error> {
        self.check_latent(z.len())?;
        self.check_latent(z_q.len())?;
        let scale = self.model.latent_scale();
        for (index, (q, &v)) in z_q.iter_mut().zip(z).enumerate() {
            if !v.is_finite() {
                return Err(Error::NonFiniteLatent { index });
            }
            *q = kernel::quantize_i8(v, scale);
        }
        Ok(())
    }

    /// Decodes a quantized latent into a 28x28 image (row-major, 0 = black, 255 =
    /// white): the integer path, bit-identical on every target. `digit` must be
    /// `Some` exactly when the model is conditional.
    #[inline]
    pub fn decode_quantized(
        &self,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.pixels_with(kernel::accel(), z_q, digit, scratch, out)
    }

    /// [`decode_quantized`](Self::decode_quantized) on the kernels of `tier` (the same
    /// bytes on every tier): for benchmarks and tests, and for `no_std` hosts that choose
    /// a tier themselves. A tier this CPU lacks runs the next slower one it has
    /// ([`Tier`](crate::Tier)'s order; [`Tier::is_available`](crate::Tier::is_available)
    /// says which).
    pub fn decode_quantized_on(
        &self,
        tier: crate::Tier,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.pixels_with(tier.at_most().kernels().flatten(), z_q, digit, scratch, out)
    }

    /// [`logits`](Self::logits) on the kernels of `tier` (as for
    /// [`decode_quantized_on`](Self::decode_quantized_on)).
    pub fn logits_on(
        &self,
        tier: crate::Tier,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.logits_with(
            tier.at_most().kernels().flatten(),
            z_q,
            digit,
            scratch,
            logits,
        )
    }

    /// The integer path up to the last layer's `i32` accumulators, dequantized to
    /// logits: `logit[j] = acc[j] as f32 * (input_scale * weight_scale[j])` of the last
    /// layer. `sigmoid` of these is what [`decode_quantized`](Self::decode_quantized)
    /// turns into pixels (before the last requantization); an exporter evaluates the
    /// int8 model's loss with it.
    pub fn logits(
        &self,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.logits_with(kernel::accel(), z_q, digit, scratch, logits)
    }

    /// [`logits`](Self::logits) with the accelerated kernels `accel` (`None`: the
    /// portable ones; the tests compare both).
    pub(crate) fn logits_with(
        &self,
        accel: Option<Accel>,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let class_bias = self.class_bias(digit)?;
        let input_scale = self.model.layers.last().map_or(f32::NAN, |l| l.input_scale);
        self.forward_q(accel, z_q, class_bias, scratch, |last, x, class_bias| {
            for_each_row(
                accel,
                last,
                x,
                class_bias,
                #[inline(always)]
                |j, row, dot| {
                    if let Some(slot) = logits.get_mut(j) {
                        let acc = dot.wrapping_add(row.bias);
                        *slot = acc as f32 * (input_scale * row.weight_scale);
                    }
                },
            );
        })
    }

    /// Float reference: the same network with dequantized weights and biases, computed in
    /// `f32` with activations *not* quantized (`z` is used as is). Returns logits.
    /// `scratch` needs [`scratch_len`](Self::scratch_len) values.
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
    /// its distance to [`logits`](Self::logits) measures the cost of quantizing
    /// activations.
    pub fn reference_logits(
        &self,
        z: &[f32],
        digit: Option<u8>,
        scratch: &mut [f32],
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let mut class_bias = self.class_bias(digit)?;
        self.check_latent(z.len())?;
        let (mut src, mut dst) = self.split_scratch(scratch)?;
        if let Some(index) = z.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteLatent { index });
        }
        let (last, hidden) = self.model.layers.split_last().ok_or(INCONSISTENT)?;
        let mut src_len = None; // None: the input is z
        for layer in hidden {
            let x: &[f32] = match src_len {
                None => z,
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
            None => z,
            Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
        };
        dense_f32(*last, x, class_bias, logits, false);
        Ok(())
    }

    /// The class-bias row for `digit`, checking `digit` against the model kind.
    pub(crate) fn class_bias(&self, digit: Option<u8>) -> Result<&'a [u8], Error> {
        match (self.model.kind, digit) {
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

    /// [`Error::DimsMismatch`] unless `len` is the blob's latent length.
    #[inline(always)]
    pub(crate) fn check_latent(&self, len: usize) -> Result<(), Error> {
        if len == self.shape.latent {
            Ok(())
        } else {
            Err(Error::DimsMismatch {
                what: "latent values",
                expected: self.shape.latent,
                found: len,
            })
        }
    }

    /// The two activation buffers in `scratch`.
    #[inline(always)]
    pub(crate) fn split_scratch<'s, T>(
        &self,
        scratch: &'s mut [T],
    ) -> Result<(&'s mut [T], &'s mut [T]), Error> {
        let hidden = self.shape.hidden;
        let available = scratch.len();
        match scratch.get_mut(..2 * hidden) {
            Some(both) => Ok(both.split_at_mut(hidden)),
            None => Err(Error::BufferTooSmall {
                needed: 2 * hidden,
                available,
            }),
        }
    }

    /// [`decode_quantized`](Self::decode_quantized) with the accelerated kernels `accel`
    /// (`None`: the portable ones; the tests compare both).
    pub(crate) fn pixels_with(
        &self,
        accel: Option<Accel>,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let class_bias = self.class_bias(digit)?;
        let thresholds = self.model.pixel_thresholds;
        self.forward_q(accel, z_q, class_bias, scratch, |last, x, class_bias| {
            if accel.is_some_and(|a| a.pixels(last, x, class_bias, thresholds, out)) {
                return;
            }
            for_each_row(
                accel,
                last,
                x,
                class_bias,
                #[inline(always)]
                |j, row, dot| {
                    if let Some(slot) = out.get_mut(j) {
                        let value = kernel::requantize(
                            dot.wrapping_add(row.bias),
                            row.multiplier,
                            row.shift,
                        );
                        *slot = kernel::sigmoid_pixel(thresholds, value);
                    }
                },
            );
        })
    }

    /// Runs the hidden layers in int8, then `last(last_layer, its_input, class_bias)`
    /// (`class_bias` is the chosen class's row when the last layer is also the first).
    /// Not inlined: one copy of the layer loop per kind of last layer, which the
    /// Cortex-M4 runs in fewer instructions than copies inlined into each caller.
    #[inline(never)]
    fn forward_q<R>(
        &self,
        accel: Option<Accel>,
        z_q: &[i8],
        mut class_bias: &[u8],
        scratch: &mut [i8],
        last: impl FnOnce(&Dense<'a>, &[i8], &[u8]) -> R,
    ) -> Result<R, Error> {
        self.check_latent(z_q.len())?;
        let (mut src, mut dst) = self.split_scratch(scratch)?;
        let (last_layer, hidden) = self.model.layers.split_last().ok_or(INCONSISTENT)?;
        let mut src_len = None; // None: the input is z_q
        for (k, layer) in hidden.iter().enumerate() {
            // The code of a real 0 in this layer's output, i.e. in the next layer's input.
            let zero_point = self
                .model
                .layers
                .get(k + 1)
                .map_or(0, |next| next.input_zero_point);
            let x: &[i8] = match src_len {
                None => z_q,
                Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
            };
            let width = usize::from(layer.out_dim);
            let y = dst.get_mut(..width).ok_or(INCONSISTENT)?;
            if !accel.is_some_and(|a| a.hidden(layer, x, class_bias, zero_point, y)) {
                for_each_row(
                    accel,
                    layer,
                    x,
                    class_bias,
                    #[inline(always)]
                    |j, row, dot| {
                        if let Some(slot) = y.get_mut(j) {
                            let acc = dot.wrapping_add(row.bias);
                            *slot = kernel::relu_q(
                                kernel::requantize(acc, row.multiplier, row.shift),
                                zero_point,
                            );
                        }
                    },
                );
            }
            class_bias = &[];
            src_len = Some(width);
            core::mem::swap(&mut src, &mut dst);
        }
        let x: &[i8] = match src_len {
            None => z_q,
            Some(n) => src.get(..n).ok_or(INCONSISTENT)?,
        };
        Ok(last(last_layer, x, class_bias))
    }
}
