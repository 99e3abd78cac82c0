//! A decoder whose weights are repacked once, into buffers the caller provides, as `i16`
//! columns, so that each decode reads only the weights of the inputs that are not zero.
//!
//! A hidden layer's input is a ReLU output, and about half of it is exactly zero; the
//! blob stores weights row by row, so [`DecoderCore`] reads every weight of every row.
//! [`RepackedDecoder`] stores each layer pass by pass (32 rows), input by input: one
//! column of the 32 rows' weights as `i16`, then a column of zeros. Each decode lists the
//! inputs that are not zero and pairs them in order (an odd one out with the zero
//! column); a pass interleaves each pair's two columns so that each multiply takes a
//! row's two weights, exact in `i32` (wasm32 simd128's `i32x4.dot_i16x8_s`). Pairs formed
//! per decode read a third fewer weights than fixed pairs of neighbouring inputs, of which
//! three quarters have an input that is not zero on the default blob.
//!
//! Most rows need no requantization either: a hidden row whose requantized value would be
//! 0 or less is the ReLU's zero, a last-layer row below the first pixel threshold is a
//! black pixel. Requantization is non-decreasing in the sum (for the non-negative
//! multipliers the exporter writes), so each row has a *lit-from* sum, found once at
//! repacking, below which its output is that dark value: a pass compares its 32 sums with
//! them at once and requantizes only the lit rows (about half the hidden rows and a
//! third of the pixels on the default blob). A row with a negative multiplier, or a last
//! layer whose thresholds have no range, is always requantized.
//!
//! Built for wasm32 with relaxed SIMD (`-C target-feature=+simd128,+relaxed-simd`), the
//! weights are `i8` columns instead, two per `i16` of the same buffer (half of
//! [`weights_len`](RepackedDecoder::weights_len)), and a pass takes four listed inputs a
//! step (the private module `kernel::quads` says how, and why the bytes are the same).
//!
//! The wasm32 simd128 build requantizes a hidden layer's rows in `f64` instead, all 32 of
//! a pass in vectors (two rows each) and without the lit mask, where that is exact: for
//! shifts from 32 up to 44 with a ReLU's range of 256 values (the private module
//! `kernel::requant_f64` says why and when).
//!
//! It costs twice the blob's weights in RAM (once with relaxed SIMD;
//! [`weights_len`](RepackedDecoder::weights_len) `i16`, rows padded to 32, one zero
//! column per pass), six `i32` parameters per row
//! (padded likewise), and optionally a table of every logit's pixel
//! ([`with_pixel_table`](RepackedDecoder::with_pixel_table), 52 KB for the default blob)
//! instead of the 8-step threshold search: for hosts and the browser page, not for
//! microcontrollers.
//! The bytes are [`DecoderCore`]'s, for any blob (int8 or int4 weights): the sums are the
//! same integers (exact modulo 2^32), then the same requantization, ReLU and pixel
//! search; the tests compare them.

use crate::bytes::le_i32_at;
use crate::format::MAX_LAYERS;
use crate::kernel::columns::{List, PASS_ROWS, pass, pass_len, put_weight};
use crate::kernel::{fill_pixel_table, pixel_range, requant_f64, requantize, sigmoid_pixel};
use crate::{DecoderCore, Error, IMAGE_PIXELS};

/// The widest layer input a [`RepackedDecoder`] takes.
pub const MAX_INPUTS: usize = crate::kernel::pairs::MAX_INPUTS;

/// Where one layer lives in the buffers.
#[derive(Clone, Copy, Default)]
struct Layer {
    inputs: usize,
    rows: usize,
    /// Passes of [`PASS_ROWS`] rows, `rows / 32` rounded up.
    passes: usize,
    /// Its first weight, and its first pass's parameters (counted in passes).
    weights_at: usize,
    params_at: usize,
    /// The smallest and the largest shift of its rows (see `kernel::requant_f64`; read by
    /// the wasm32 simd128 build).
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    shifts: (u8, u8),
}

impl Layer {
    /// `i16` weights the layer takes.
    const fn weights_len(&self) -> usize {
        self.passes * pass_len(self.inputs)
    }
}

/// A [`DecoderCore`] with its weights repacked in columns (see the module docs).
pub struct RepackedDecoder<'a, 'w> {
    core: DecoderCore<'a>,
    layers: [Layer; MAX_LAYERS],
    weights: &'w [i16],
    /// Per pass, [`FIELDS`] arrays of one value per row: [`BIAS`], [`LIT_FROM`],
    /// [`MULTIPLIER`], [`SHIFT`], then [`SCALE`] over two.
    params: &'w [[i32; PASS_ROWS]],
    /// The pixel of every value of the thresholds' range, from its first value.
    pixels: Option<(i32, i32, &'w [u8])>,
}

/// `i32` parameters per row, each field in an array of a pass's rows:
const FIELDS: usize = 6;
/// the blob's bias minus `128 sum_i w_i` (wrapping: the sums run over `u = x + 128`);
const BIAS: usize = 0;
/// the smallest sum (bias included) whose output is not the row's dark value (see the
/// module docs); `i32::MAX` for padding rows;
const LIT_FROM: usize = 1;
/// the requantization multiplier;
const MULTIPLIER: usize = 2;
/// its shift;
const SHIFT: usize = 3;
/// and, over this field and the next, the row's scale `multiplier * 2^-shift` as `f64`
/// (exact), row `r`'s bits as words `2r` (low) and `2r + 1` (high).
const SCALE: usize = 4;

/// A pass's parameters past the bias and lit-from sums.
struct Scales<'p> {
    multiplier: &'p [i32; PASS_ROWS],
    shift: &'p [i32; PASS_ROWS],
    /// [`SCALE`]'s words (read by the wasm32 simd128 build).
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    scale: &'p [i32; 2 * PASS_ROWS],
}

/// [`requantize`]`(acc, multiplier, shift)` clamped to `low..=high` (within `i32`), for
/// what a parsed blob holds: `multiplier > 0` and `shift <= 63`
/// ([`MAX_SHIFT`](crate::format::MAX_SHIFT)).
///
/// Without branches: `((2p - (p < 0)) >> shift + 1) >> 1` is the scalar formula for
/// `shift >= 1` (`2p - 1` is odd, so it floors like `2p - 2`) and `p` for `shift == 0`;
/// `2p` fits in `i64` because `|p| < 2^62` for a positive multiplier. Clamping the
/// unsaturated value to a range inside `i32` is clamping the saturated one.
#[inline(always)]
fn requantize_clamped(acc: i32, multiplier: i32, shift: i32, low: i32, high: i32) -> i32 {
    let product = i64::from(acc) * i64::from(multiplier);
    let doubled = (product << 1) - i64::from(product < 0);
    let scaled = ((doubled >> (shift & 63)) + 1) >> 1;
    scaled.clamp(i64::from(low), i64::from(high)) as i32
}

/// The smallest `i32` sum whose requantized value is at least `k`: below it, a row's
/// output is its dark value. `i32::MIN` (every row lit) without a `k` or for a negative
/// multiplier, where the value is not non-decreasing in the sum; `i32::MAX` (only
/// `i32::MAX` lit, and then requantized) when no sum reaches `k`.
fn lit_from(multiplier: i32, shift: u8, k: Option<i32>) -> i32 {
    let Some(k) = k.filter(|_| multiplier >= 0) else {
        return i32::MIN;
    };
    // The first sum in low..=high + 1 with a value >= k (high + 1: none).
    let (mut low, mut high) = (i64::from(i32::MIN), i64::from(i32::MAX) + 1);
    while low < high {
        let mid = low + (high - low) / 2;
        if requantize(mid as i32, multiplier, shift) >= k {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low.min(i64::from(i32::MAX)) as i32
}

impl<'a, 'w> RepackedDecoder<'a, 'w> {
    /// The layers' places in the buffers, and the two buffers' lengths.
    fn plan(core: &DecoderCore<'_>) -> Result<([Layer; MAX_LAYERS], usize, usize), Error> {
        let mut layers = [Layer::default(); MAX_LAYERS];
        let (mut weights, mut params) = (0, 0);
        for (slot, dense) in layers.iter_mut().zip(core.model().layers.iter()) {
            let (inputs, rows) = (usize::from(dense.in_dim), usize::from(dense.out_dim));
            if inputs > MAX_INPUTS {
                return Err(Error::DimsMismatch {
                    what: "inputs of a layer (at most repacked::MAX_INPUTS)",
                    expected: MAX_INPUTS,
                    found: inputs,
                });
            }
            *slot = Layer {
                inputs,
                rows,
                passes: rows.div_ceil(PASS_ROWS),
                weights_at: weights,
                params_at: params,
                shifts: (
                    dense.shifts.iter().copied().min().unwrap_or(0),
                    dense.shifts.iter().copied().max().unwrap_or(0),
                ),
            };
            weights += slot.weights_len();
            params += slot.passes;
        }
        Ok((layers, weights, FIELDS * PASS_ROWS * params))
    }

    /// `i16` elements of the weights buffer [`new`](Self::new) needs for `core`'s model
    /// (0 for a model with a layer wider than [`MAX_INPUTS`], which it refuses).
    pub fn weights_len(core: &DecoderCore<'_>) -> usize {
        Self::plan(core).map_or(0, |(_, weights, _)| weights)
    }

    /// `i32` elements of the parameter buffer [`new`](Self::new) needs: six per row, rows
    /// padded to 32 per layer.
    pub fn params_len(core: &DecoderCore<'_>) -> usize {
        Self::plan(core).map_or(0, |(_, _, params)| params)
    }

    /// Bytes of the table [`with_pixel_table`](Self::with_pixel_table) takes for `core`'s
    /// thresholds (their range plus one; 51,600 for the default blob), or 0 for a table
    /// the search must handle.
    pub fn pixel_table_len(core: &DecoderCore<'_>) -> usize {
        pixel_range(core.model().pixel_thresholds).map_or(0, |(low, high)| {
            usize::try_from(i64::from(high) - i64::from(low) + 1).unwrap_or(0)
        })
    }

    /// Repacks `core`'s weights into `weights` and `params` (at least
    /// [`weights_len`](Self::weights_len) and [`params_len`](Self::params_len) elements):
    /// [`Error::BufferTooSmall`] for a short buffer, [`Error::DimsMismatch`] for a layer
    /// wider than [`MAX_INPUTS`].
    pub fn new(
        core: DecoderCore<'a>,
        weights: &'w mut [i16],
        params: &'w mut [i32],
    ) -> Result<Self, Error> {
        let (layers, weights_len, params_len) = Self::plan(&core)?;
        let too_small =
            |needed: usize, available: usize| Error::BufferTooSmall { needed, available };
        let available = weights.len();
        let weights = weights
            .get_mut(..weights_len)
            .ok_or(too_small(weights_len, available))?;
        let available = params.len();
        let (params, _) = params
            .get_mut(..params_len)
            .ok_or(too_small(params_len, available))?
            .as_chunks_mut::<PASS_ROWS>();
        weights.fill(0);
        for (k, field) in params.iter_mut().enumerate() {
            let padding = if k % FIELDS == LIT_FROM { i32::MAX } else { 0 };
            field.fill(padding);
        }
        let model = core.model();
        // The lowest lit value of the last layer: its first threshold, where the
        // thresholds decide pixels by it alone (sorted, full).
        let first_threshold = pixel_range(model.pixel_thresholds).map(|(low, _)| low + 1);
        for (k, (layer, dense)) in layers.iter().zip(model.layers.iter()).enumerate() {
            let pass_len = pass_len(layer.inputs);
            let lit_value = if k + 1 == model.layers.len() {
                first_threshold
            } else {
                Some(1) // ReLU: values of 0 and below give the zero point
            };
            for (row, w_row) in dense.weight_rows().enumerate().take(layer.rows) {
                let pass = layer.weights_at + row / PASS_ROWS * pass_len;
                let pass = weights.get_mut(pass..pass + pass_len).unwrap_or_default();
                let mut sum = 0i32;
                for (i, code) in dense.codes(w_row).enumerate() {
                    put_weight(pass, i, row, code);
                    sum = sum.wrapping_add(i32::from(code));
                }
                let blob = le_i32_at(dense.bias, row).unwrap_or(0);
                let multiplier = le_i32_at(dense.multipliers, row).unwrap_or(0);
                let shift = dense.shifts.get(row).copied().unwrap_or(0);
                let fields = (layer.params_at + row / PASS_ROWS) * FIELDS;
                let scale = requant_f64::scale(multiplier, shift).to_bits();
                let r = row % PASS_ROWS;
                for (field, at, value) in [
                    (BIAS, r, blob.wrapping_sub(sum.wrapping_mul(128))),
                    (LIT_FROM, r, lit_from(multiplier, shift, lit_value)),
                    (MULTIPLIER, r, multiplier),
                    (SHIFT, r, i32::from(shift)),
                    (SCALE, 2 * r, scale as u32 as i32),
                    (SCALE, 2 * r + 1, (scale >> 32) as u32 as i32),
                ] {
                    let words = params
                        .get_mut(fields + field..)
                        .map(|f| f.as_flattened_mut());
                    if let Some(slot) = words.and_then(|w| w.get_mut(at)) {
                        *slot = value;
                    }
                }
            }
        }
        Ok(RepackedDecoder {
            core,
            layers,
            weights,
            params,
            pixels: None,
        })
    }

    /// The decoder with the pixels of the last layer looked up in `table` (filled here;
    /// at least [`pixel_table_len`](Self::pixel_table_len) bytes) instead of searched:
    /// the same pixels. Unchanged when the table is too short or the thresholds have no
    /// finite range.
    pub fn with_pixel_table(mut self, table: &'w mut [u8]) -> Self {
        if let Some((low, high)) = fill_pixel_table(self.core.model().pixel_thresholds, table) {
            let len = usize::try_from(i64::from(high) - i64::from(low) + 1).unwrap_or(0);
            let table: &'w [u8] = table;
            self.pixels = table.get(..len).map(|t| (low, high, t));
        }
        self
    }

    /// Whether the pixels come from the table of
    /// [`with_pixel_table`](Self::with_pixel_table).
    pub fn has_pixel_table(&self) -> bool {
        self.pixels.is_some()
    }

    /// The decoder underneath.
    pub fn core(&self) -> &DecoderCore<'a> {
        &self.core
    }

    /// [`DecoderCore::decode_quantized`]: the same checks, errors and bytes.
    pub fn decode_quantized(
        &self,
        z_q: &[i8],
        digit: Option<u8>,
        scratch: &mut [i8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let core = &self.core;
        let mut class_bias = core.class_bias(digit)?;
        core.check_latent(z_q.len())?;
        let (mut src, mut dst) = core.split_scratch(scratch)?;
        let model = core.model();
        let inconsistent = Error::Malformed {
            what: "layer shapes inconsistent with the repacked weights",
        };
        let (_, hidden) = model.layers.split_last().ok_or(inconsistent)?;
        // The listed inputs' columns and `u`.
        let mut list = List::new();
        let mut width = None; // None: the input is z_q
        for (k, layer) in self.layers.iter().take(hidden.len()).enumerate() {
            let zero_point = model
                .layers
                .get(k + 1)
                .map_or(0, |next| next.input_zero_point);
            let x = match width {
                None => z_q,
                Some(n) => src.get(..n).ok_or(inconsistent)?,
            };
            let y = dst.get_mut(..layer.rows).ok_or(inconsistent)?;
            // `relu_q`: the value clamped to `0..=127 - zp`, plus `zp`.
            let ceiling = 127 - i32::from(zero_point);
            // The wasm32 simd128 build writes every row's byte from the pass's sums in
            // `f64` where that is exact (the dark ones clamp to the zero point); otherwise
            // the dark rows keep the zero point and the lit ones are requantized.
            let all_rows = cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
                && requant_f64::relu_is_exact(layer.shifts, ceiling);
            if !all_rows {
                y.fill(zero_point);
            }
            self.layer(
                layer,
                x,
                class_bias,
                &mut list,
                |first, acc, lit, scales| {
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    if all_rows {
                        if let Some(rows) = y.get_mut(first..) {
                            let scale = scales.scale;
                            crate::kernel::pairs::relu_bytes(acc, scale, zero_point, rows);
                        }
                        return;
                    }
                    lit_rows(acc, lit, &scales, (0, ceiling), |r, value| {
                        if let Some(slot) = y.get_mut(first + r) {
                            *slot = (value + i32::from(zero_point)) as i8;
                        }
                    })
                },
            )?;
            class_bias = &[];
            width = Some(layer.rows);
            core::mem::swap(&mut src, &mut dst);
        }
        let x = match width {
            None => z_q,
            Some(n) => src.get(..n).ok_or(inconsistent)?,
        };
        let layer = self.layers.get(hidden.len()).ok_or(inconsistent)?;
        let thresholds = model.pixel_thresholds;
        out.fill(0); // the dark rows' pixel; `layer` writes the lit ones
        match self.pixels {
            Some((low, high, table)) => self.layer(
                layer,
                x,
                class_bias,
                &mut list,
                |first, acc, lit, scales| {
                    lit_rows(acc, lit, &scales, (low, high), |r, v| {
                        let at = v.wrapping_sub(low) as u32 as usize;
                        if let (Some(slot), Some(&pixel)) = (out.get_mut(first + r), table.get(at))
                        {
                            *slot = pixel;
                        }
                    })
                },
            ),
            None => {
                let whole = (i32::MIN, i32::MAX);
                self.layer(
                    layer,
                    x,
                    class_bias,
                    &mut list,
                    |first, acc, lit, scales| {
                        lit_rows(acc, lit, &scales, whole, |r, value| {
                            if let Some(slot) = out.get_mut(first + r) {
                                *slot = sigmoid_pixel(thresholds, value);
                            }
                        })
                    },
                )
            }
        }
    }

    /// `per_pass(first, sums, lit, scales)` for every pass of one layer over input `x`:
    /// its first row, its rows' sums (bias included), the mask of its lit rows and its
    /// requantization parameters.
    fn layer(
        &self,
        layer: &Layer,
        x: &[i8],
        class_bias: &[u8],
        list: &mut List,
        mut per_pass: impl FnMut(usize, &[i32; PASS_ROWS], u32, Scales<'_>),
    ) -> Result<(), Error> {
        let inconsistent = Error::Malformed {
            what: "layer shapes inconsistent with the repacked weights",
        };
        if x.len() != layer.inputs {
            return Err(inconsistent);
        }
        let listed = list.fill(x);
        let pass_len = pass_len(layer.inputs);
        let (class, _) = class_bias.as_chunks::<4>();
        let mut acc = [0i32; PASS_ROWS];
        for p in 0..layer.passes {
            let at = (layer.params_at + p) * FIELDS;
            let fields = self.params.get(at..at + FIELDS).ok_or(inconsistent)?;
            let [bias, lit_from, multiplier, shift, scale @ ..] =
                <&[_; FIELDS]>::try_from(fields).map_err(|_| inconsistent)?;
            let scale = <&[i32; 2 * PASS_ROWS]>::try_from(scale.as_flattened())
                .map_err(|_| inconsistent)?;
            let first = p * PASS_ROWS;
            let with_class: [i32; PASS_ROWS];
            let bias = if class.is_empty() {
                bias
            } else {
                // Layer 0 of a conditional model: its class bias row (`rows` values).
                with_class = core::array::from_fn(|r| {
                    let extra = class.get(first + r).map_or(0, |&b| i32::from_le_bytes(b));
                    bias[r].wrapping_add(extra)
                });
                &with_class
            };
            let at = layer.weights_at + p * pass_len;
            let weights = self.weights.get(at..at + pass_len).unwrap_or_default();
            let lit = pass(weights, listed, bias, lit_from, &mut acc).ok_or(inconsistent)?;
            let scales = Scales {
                multiplier,
                shift,
                scale,
            };
            per_pass(first, &acc, lit, scales);
        }
        Ok(())
    }
}

/// `f(r, value)` for every lit row `r` of a pass (bit `r` of `lit`): its requantized sum
/// clamped to `low..=high`.
#[inline(always)]
fn lit_rows(
    acc: &[i32; PASS_ROWS],
    mut lit: u32,
    scales: &Scales<'_>,
    (low, high): (i32, i32),
    mut f: impl FnMut(usize, i32),
) {
    while lit != 0 {
        let r = lit.trailing_zeros() as usize % PASS_ROWS;
        lit &= lit - 1;
        let (multiplier, shift) = (scales.multiplier[r], scales.shift[r]);
        f(r, requantize_clamped(acc[r], multiplier, shift, low, high));
    }
}

#[cfg(test)]
mod tests;
