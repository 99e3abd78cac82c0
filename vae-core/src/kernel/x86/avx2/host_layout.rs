//! The host engine's layout for the AVX2 tier: each layer's weights repacked once column
//! by column, so that a decode reads only the weights of the inputs that are not zero,
//! two inputs at a time, and needs no horizontal sums.
//!
//! The blob-order AVX2 kernel (module `dot`) reads every weight of every row and adds
//! eight rows' vectors across lanes at the end. A hidden layer's input is a ReLU output,
//! and about half of it is exactly zero (51% of the default blob's hidden activations
//! are not). Here input `i`'s weights are one column (32 rows per 32-byte line), and per
//! layer and decode:
//!
//! 1. The input codes become `u = x + 128` (`0` exactly for the code `-128`, a ReLU
//!    layer's zero); `sum_i w_i x_i = sum_i w_i u_i - 128 sum_i w_i`, the last term a
//!    per-row constant folded into a copy of the bias when packing.
//! 2. The inputs with `u != 0` are listed and paired in order (module `pairs`): the ones
//!    with a high nibble first, then the small ones (`u < 16`) with each other, an odd
//!    one out with an all-zero column.
//! 3. Per pair and line of 32 rows: the two columns' lines interleaved byte by byte
//!    (`VPUNPCKLBW` / `VPUNPCKHBW`: each row's two weights side by side), then
//!    `VPMADDUBSW` by the broadcast nibble pairs of `u = 16 h + l` (unsigned `0..16`
//!    times signed weights, exact) adds each row's two products in `i16`; [`RUN`] pairs
//!    add up in `i16` (at most `8 * 2 * 15 * 128 = 30,720`), then `VPMADDWD` by `(1, 16)`
//!    widens the low and high sums of each row into its `i32` sum. Small pairs skip the
//!    high products. The packing puts each row where the two interleavings leave it in
//!    order, eight rows per `i32` vector ([`position`]).
//! 4. A pass keeps [`MAX_PASS`] lines' accumulators (64 rows) in registers over all
//!    listed pairs; then the blob-order tier's epilogue (requantize, then ReLU) runs on
//!    them. The pixel layer's values are clamped to the thresholds' range and looked up
//!    in a table of every value's pixel (the blob's thresholds span at most 65,535
//!    values; other tables take the blob-order tier's search).
//!
//! On CPUs with `VPDPBUSD` on YMM registers (tier `AvxVnni`, module `vnni`) the same
//! layout, its rows in that module's order, takes the listed inputs four at a time
//! (module `quads`) and needs neither nibbles nor `i16` runs: 12 shuffles and
//! multiply-adds per four inputs and 32 rows where the pairs take about 20.
//!
//! The sums are the blob-order kernels' integers (exact modulo 2^32, their true value
//! fits `i32`), so the bytes are identical; the tests compare them.

use core::arch::x86_64::*;
use std::vec::Vec;

use super::Avx2;
use super::dot::ROWS;
use super::layers::{PIXEL_BLOCKS, bytes8, requantize8, requantize8_fitting, search_pixels};
use super::line::{LINE, Line, assert_line_permutation};
use super::pairs::{PairView, Pairs};
use super::quads::Quads;
use super::vnni::{self, Vnni256};
use crate::IMAGE_PIXELS;
use crate::bytes::le_i32_at;
use crate::format::{Dense, Model, NUM_THRESHOLDS, WeightWidth};
use crate::kernel::x86::host_layout::MAX_INPUTS;
use crate::kernel::x86::pixel_lut::Counts;
use crate::kernel::x86::rows::Rows;
use crate::kernel::x86::walk::{PackedShape, walk};

/// Lines one pass keeps in registers: with the pairs, 8 `i16` accumulators, the two
/// broadcast nibble pairs, two lines and their interleavings; with the quads, 8 `i32`
/// accumulators, the broadcast `u`, two lines and four interleavings.
const MAX_PASS: usize = 2;

/// Pairs summed in `i16` before the sums are widened: a nibble pair's products add up to
/// at most `2 * 15 * 128 = 3840` in magnitude, eight of them to 30,720 < 32,768.
const RUN: usize = 8;

/// Where row `r` (`0..32`) of a line is stored: the byte interleaving `U` (low, high) and
/// then the word interleaving `V` of the widening leave byte `pos` in lane `m` of
/// vector `2 U + V`; this puts row `8 (2 U + V) + m` there, so that vector `k` of a line
/// holds its rows `8 k .. 8 k + 8` in order.
const fn position(r: usize) -> usize {
    let (vector, m) = (r / ROWS, r % ROWS);
    let (u, v) = (vector / 2, vector % 2);
    // Word lane of the byte interleaving's result that the widening puts in lane m.
    let j = if m < 4 { m } else { m + 4 } + 4 * v;
    // Byte of the line that the byte interleaving puts in word lane j.
    let half = if j < 8 { j } else { j + 8 };
    half + 8 * u
}

/// One pass: lines `first .. first + lines`, stored column by column from `data[start]`.
struct Pass {
    first: usize,
    lines: usize,
    start: usize,
}

/// One layer in column order.
struct Layer {
    inputs: usize,
    rows: usize,
    passes: Vec<Pass>,
    /// Pass by pass, column by column (the inputs, then one all-zero column for an odd
    /// input out), the pass's lines in order.
    data: Vec<Line>,
    /// Each block's requantization parameters, read with one bounds check per block.
    params: Vec<BlockParams>,
    /// Whether every row's shift is at least 32, so that its values fit in `i32` without
    /// saturating ([`requantize8_fitting`]).
    fits_i32: bool,
}

/// One block's per-row parameters: the bias (the blob's minus `128 sum_i w[r][i]`,
/// wrapping: what the sums over `u = x + 128` have on top of the sums over `x`), the
/// multipliers and the shifts (widened to `i32`), eight rows each.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct BlockParams {
    bias: [i32; ROWS],
    multipliers: [i32; ROWS],
    shifts: [i32; ROWS],
}

impl BlockParams {
    /// `sums` plus the bias (and `class_bias`'s eight values, or none), then
    /// [`requantize8`], or [`requantize8_fitting`] where the layer `fits_i32`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn requantize(
        &self,
        sums: __m256i,
        class_bias: Option<&[u8; 4 * ROWS]>,
        fits_i32: bool,
    ) -> __m256i {
        let load = |v: &[i32; ROWS]| {
            // SAFETY: a 32-byte aligned `[i32; 8]` (the struct's alignment, each field
            // 32 bytes).
            unsafe { _mm256_load_si256(v.as_ptr().cast::<__m256i>()) }
        };
        let mut acc = _mm256_add_epi32(sums, load(&self.bias));
        if let Some(class_bias) = class_bias {
            // SAFETY: reads exactly the 32 bytes of `class_bias`.
            let extra = unsafe { _mm256_loadu_si256(class_bias.as_ptr().cast::<__m256i>()) };
            acc = _mm256_add_epi32(acc, extra);
        }
        let (m, s) = (load(&self.multipliers), load(&self.shifts));
        if fits_i32 {
            requantize8_fitting(acc, m, s)
        } else {
            requantize8(acc, m, s)
        }
    }
}

impl PackedShape for Layer {
    fn inputs(&self) -> usize {
        self.inputs
    }
    fn rows(&self) -> usize {
        self.rows
    }
}

impl Layer {
    /// The column layout of `dense`, each line's rows stored at `position(r)`; `None`
    /// for int4 weights, more than [`MAX_INPUTS`] inputs, a row count that is not a
    /// multiple of eight, or arrays that disagree with the shapes.
    fn new(dense: &Dense<'_>, position: fn(usize) -> usize) -> Option<Self> {
        let (inputs, rows) = (usize::from(dense.in_dim), usize::from(dense.out_dim));
        let fits = dense.weight_width == WeightWidth::Int8
            && (1..=MAX_INPUTS).contains(&inputs)
            && rows > 0
            && rows.is_multiple_of(ROWS)
            && dense.weights.len() == inputs * rows
            && dense.bias.len() >= 4 * rows
            && dense.multipliers.len() >= 4 * rows
            && dense.shifts.len() >= rows;
        if !fits {
            return None;
        }
        // Rows past the layer's (up to a whole line) and the zero column are 0.
        let weight = |r: usize, i: usize| -> i8 {
            if r < rows && i < inputs {
                dense.weights[r * inputs + i] as i8
            } else {
                0
            }
        };
        let lines = rows.div_ceil(LINE);
        let count = lines.div_ceil(MAX_PASS);
        let mut passes = Vec::with_capacity(count);
        let mut data = Vec::with_capacity((inputs + 1) * lines);
        let mut first = 0;
        for k in 0..count {
            // Passes as even as possible: the first `lines % count` take one more.
            let size = lines / count + usize::from(k < lines % count);
            passes.push(Pass {
                first,
                lines: size,
                start: data.len(),
            });
            for i in 0..=inputs {
                for line in first..first + size {
                    let mut out = Line([0; LINE]);
                    for r in 0..LINE {
                        out.0[position(r)] = weight(LINE * line + r, i);
                    }
                    data.push(out);
                }
            }
            first += size;
        }
        // Every row's bias, multiplier and shift is there (checked above).
        let le = |bytes: &[u8], r: usize| le_i32_at(bytes, r).unwrap_or(0);
        let params = (0..rows / ROWS)
            .map(|b| {
                let row = |j: usize| ROWS * b + j;
                BlockParams {
                    bias: core::array::from_fn(|j| {
                        let r = row(j);
                        let sum =
                            (0..inputs).fold(0i32, |s, i| s.wrapping_add(i32::from(weight(r, i))));
                        le(dense.bias, r).wrapping_sub(sum.wrapping_mul(128))
                    }),
                    multipliers: core::array::from_fn(|j| le(dense.multipliers, row(j))),
                    shifts: core::array::from_fn(|j| i32::from(dense.shifts[row(j)])),
                }
            })
            .collect();
        Some(Layer {
            inputs,
            rows,
            passes,
            data,
            params,
            fits_i32: dense.shifts[..rows].iter().all(|&s| s >= 32),
        })
    }

    /// Each pass's data (its lines column by column), lines and first line.
    fn passes(&self) -> impl Iterator<Item = (&[Line], usize, usize)> {
        let columns = self.inputs + 1;
        self.passes.iter().map_while(move |pass| {
            let data = self
                .data
                .get(pass.start..pass.start + pass.lines * columns)?;
            Some((data, pass.lines, pass.first))
        })
    }

    /// `f(b, sums)` for every block `b` of eight rows (and the padding blocks of the last
    /// line), `sums` lane `j` being row `8 b + j`'s sum over the listed pairs (`pairs` of
    /// this layer's input; the layer in [`position`] order).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn blocks(&self, pairs: PairView<'_>, mut f: impl FnMut(usize, __m256i)) {
        for (data, lines, first) in self.passes() {
            match lines {
                1 => pass_sums::<1>(data, pairs, first, &mut f),
                2 => pass_sums::<2>(data, pairs, first, &mut f),
                _ => {}
            }
        }
    }
}

/// A decode's scratch for one kind of products: it lists a layer input's non-zero codes
/// and sums the layer's columns of them.
trait Products {
    /// `f(b, sums)` for every block `b` of eight rows of `layer` (padding blocks of the
    /// last line included), `sums` lane `j` being row `8 b + j`'s sum of `w u` over the
    /// inputs of `x` (`u = x + 128`, wrapping).
    ///
    /// # Safety
    /// The CPU must run AVX2.
    unsafe fn sums(&mut self, layer: &Layer, x: &[i8], f: impl FnMut(usize, __m256i));
}

impl<const W: usize, const P: usize> Products for Pairs<W, P> {
    #[inline]
    unsafe fn sums(&mut self, layer: &Layer, x: &[i8], f: impl FnMut(usize, __m256i)) {
        // SAFETY: the caller's CPU runs AVX2.
        unsafe { layer.blocks(self.fill(x, layer.inputs), f) }
    }
}

/// The quads of a layer input and the proof that the CPU runs their products.
struct QuadSums<const W: usize, const Q: usize> {
    quads: Quads<W, Q>,
    vnni: Vnni256,
}

impl<const W: usize, const Q: usize> Products for QuadSums<W, Q> {
    #[inline]
    unsafe fn sums(&mut self, layer: &Layer, x: &[i8], mut f: impl FnMut(usize, __m256i)) {
        // SAFETY: the caller's CPU runs AVX2 (and `vnni` proves the rest).
        let quads = unsafe { self.quads.fill(x, layer.inputs) };
        for (data, lines, first) in layer.passes() {
            match lines {
                1 => self.vnni.pass::<1>(data, quads, first, &mut f),
                2 => self.vnni.pass::<2>(data, quads, first, &mut f),
                _ => {}
            }
        }
    }
}

// `MAX_PASS` is the largest pass `Layer::blocks` runs; a line is four blocks.
const _: () = assert!(MAX_PASS == 2 && LINE == 4 * ROWS);

assert_line_permutation!(position);

/// `f(b, sums)` for the `4 K` blocks of the pass's `K` lines from line `first`, summed
/// over the listed pairs: `data` holds the pass's lines column by column (`K` per
/// column). See the module docs for the arithmetic.
#[inline]
#[target_feature(enable = "avx2")]
fn pass_sums<const K: usize>(
    data: &[Line],
    pairs: PairView<'_>,
    first: usize,
    f: &mut impl FnMut(usize, __m256i),
) {
    let zero = _mm256_setzero_si256();
    let weights = _mm256_set1_epi32(0x0010_0001);
    // Vector `2 U + V` of line `k` at `wide[k][2 U + V]`.
    let mut wide = [[zero; 4]; K];
    let (columns, _) = data.as_chunks::<K>();
    if columns.len() < pairs.bound() {
        return;
    }
    // One run of at most `RUN` pairs added to `wide`; without `with_high`, the high
    // nibbles are zero and their products skipped.
    let mut run_sums = |run: core::ops::Range<usize>, with_high: bool| {
        // Line k's byte interleaving U at [k][U].
        let (mut high, mut low) = ([[zero; 2]; K], [[zero; 2]; K]);
        let (Some(pair_columns), Some(highs), Some(lows)) = (
            pairs.columns().get(run.clone()),
            pairs.high().get(run.clone()),
            pairs.low().get(run),
        ) else {
            return;
        };
        for ((&[first, second], &h), &l) in pair_columns.iter().zip(highs).zip(lows) {
            // SAFETY: both columns are below `pairs.bound()` (`PairView`'s invariant, which
            // `Pairs::fill`, its only maker, keeps), and that is at most `columns.len()`
            // (checked above).
            let (a, b) = unsafe {
                (
                    columns.get_unchecked(usize::from(first)),
                    columns.get_unchecked(usize::from(second)),
                )
            };
            let (h, l) = (_mm256_set1_epi32(h), _mm256_set1_epi32(l));
            for (k, (a, b)) in a.iter().zip(b).enumerate() {
                // SAFETY (both loads): exactly the 32 bytes of a 32-byte aligned `Line`.
                let (a, b) = unsafe {
                    (
                        _mm256_load_si256(a.0.as_ptr().cast::<__m256i>()),
                        _mm256_load_si256(b.0.as_ptr().cast::<__m256i>()),
                    )
                };
                let both = [_mm256_unpacklo_epi8(a, b), _mm256_unpackhi_epi8(a, b)];
                for (u, w) in both.into_iter().enumerate() {
                    if with_high {
                        high[k][u] = _mm256_add_epi16(high[k][u], _mm256_maddubs_epi16(h, w));
                    }
                    low[k][u] = _mm256_add_epi16(low[k][u], _mm256_maddubs_epi16(l, w));
                }
            }
        }
        for ((sums, high), low) in wide.iter_mut().zip(high).zip(low) {
            for u in 0..2 {
                let (hi, lo) = (high[u], low[u]);
                let first = _mm256_madd_epi16(_mm256_unpacklo_epi16(lo, hi), weights);
                let second = _mm256_madd_epi16(_mm256_unpackhi_epi16(lo, hi), weights);
                sums[2 * u] = _mm256_add_epi32(sums[2 * u], first);
                sums[2 * u + 1] = _mm256_add_epi32(sums[2 * u + 1], second);
            }
        }
    };
    let (count, full) = (pairs.columns().len(), pairs.full());
    for start in (0..full).step_by(RUN) {
        run_sums(start..(start + RUN).min(full), true);
    }
    for start in (full..count).step_by(RUN) {
        run_sums(start..(start + RUN).min(count), false);
    }
    for (k, sums) in wide.into_iter().enumerate() {
        for (v, s) in sums.into_iter().enumerate() {
            f(4 * (first + k) + v, s);
        }
    }
}

/// Block `b`'s eight class-bias values: `Some(None)` without a class bias (`class_bias`
/// empty), `None` when it ends before the block.
fn class_block(class_bias: &[u8], b: usize) -> Option<Option<&[u8; 4 * ROWS]>> {
    if class_bias.is_empty() {
        return Some(None);
    }
    class_bias.get(4 * ROWS * b..)?.first_chunk().map(Some)
}

/// The direct pixel table of a threshold table: `pixels[v - low]` for `v` clamped to
/// `low ..= high`.
struct PixelTable {
    low: i32,
    high: i32,
    /// The `high - low + 1` pixels, then [`GATHER_PAD`] zeros: a 4-byte gather at any
    /// pixel's offset stays inside.
    pixels: Vec<u8>,
}

/// Bytes past the last pixel that a gather of a word at its offset reads.
const GATHER_PAD: usize = core::mem::size_of::<i32>() - 1;

impl PixelTable {
    /// The table of `counts`, padded for the gathers.
    fn new(counts: Counts) -> Self {
        let mut pixels = counts.counts;
        pixels.extend_from_slice(&[0; GATHER_PAD]);
        PixelTable {
            low: counts.low,
            high: counts.high,
            pixels,
        }
    }

    /// The pixels of an image's values (`values[b]` for pixels `8 b .. 8 b + 8`): eight
    /// offsets clamped into the table, one `VPGATHERDD` of the words there, their low
    /// bytes kept. No branch depends on the image. `false` (and `out` unwritten) for a
    /// table shorter than its range, which [`PixelTable::new`] never makes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pixels(&self, values: &[__m256i; PIXEL_BLOCKS], out: &mut [u8; IMAGE_PIXELS]) -> bool {
        let (low, high) = (_mm256_set1_epi32(self.low), _mm256_set1_epi32(self.high));
        // The table's length is checked here once: every clamped offset is below
        // `high - low + 1`, and a gather reads `GATHER_PAD` bytes past it.
        let Ok(span) = usize::try_from(i64::from(self.high) - i64::from(self.low) + 1) else {
            return false;
        };
        if self.pixels.len() < span + GATHER_PAD {
            return false;
        }
        let base = self.pixels.as_ptr().cast::<i32>();
        // The low byte of each lane to bytes 0..4 of each 128-bit half.
        let low_bytes = _mm256_setr_epi8(
            0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, //
            0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        );
        let (blocks, _) = out.as_chunks_mut::<ROWS>();
        for (dst, &v) in blocks.iter_mut().zip(values) {
            let w = _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(v, low), high), low);
            // SAFETY: each lane reads the 4 bytes at `base + w`, `0 <= w < span`, inside
            // the `span + GATHER_PAD` bytes of `pixels` (checked above).
            let words = unsafe { _mm256_i32gather_epi32::<1>(base, w) };
            let b = _mm256_shuffle_epi8(words, low_bytes);
            let eight =
                _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256::<1>(b));
            // SAFETY: writes exactly the 8 bytes of `dst`.
            unsafe { _mm_storel_epi64(dst.as_mut_ptr().cast::<__m128i>(), eight) };
        }
        true
    }
}

/// Every layer of a model in column order, and its pixel table.
pub(crate) struct Avx2Layout {
    avx2: Avx2,
    /// The quads' `VPDPBUSD` (the layout in [`vnni::position`] order), or `None` for the
    /// nibble pairs ([`position`] order).
    vnni: Option<Vnni256>,
    layers: Vec<Layer>,
    widest: usize,
    table: Option<PixelTable>,
    /// Where the thresholds the table was made from live (the engine's blob).
    thresholds_at: usize,
}

impl Avx2Layout {
    /// The layout of `model` for the nibble pairs; `None` without AVX2 or when a layer
    /// does not fit (see `Layer::new`).
    pub(crate) fn new(model: &Model<'_>) -> Option<Self> {
        Self::build(model, None)
    }

    /// The layout of `model` for the quads on 256-bit `VPDPBUSD`; `None` when the CPU
    /// lacks it (see [`Vnni256::detect`]) or a layer does not fit.
    pub(crate) fn with_vnni(model: &Model<'_>) -> Option<Self> {
        Self::build(model, Some(Vnni256::detect()?))
    }

    fn build(model: &Model<'_>, vnni: Option<Vnni256>) -> Option<Self> {
        let avx2 = Avx2::detect()?;
        let (last, _) = model.layers.split_last()?;
        if usize::from(last.out_dim) != IMAGE_PIXELS {
            return None;
        }
        let order = match vnni {
            Some(_) => vnni::position,
            None => position,
        };
        let layers = model
            .layers
            .iter()
            .map(|dense| Layer::new(dense, order))
            .collect::<Option<Vec<_>>>()?;
        // Padding rows to a whole line can blow a layer of few rows up four times: past
        // this bound the blob is decoded in place instead.
        let blob_bytes: usize = model.layers.iter().map(|l| l.weights.len()).sum();
        let packed_bytes: usize = layers.iter().map(|l| LINE * l.data.len()).sum();
        if packed_bytes > 4 * blob_bytes + (1 << 20) {
            return None;
        }
        let widest = layers.iter().map(|l| l.inputs).max()?;
        let thresholds = model
            .pixel_thresholds
            .first_chunk::<{ 4 * NUM_THRESHOLDS }>()?;
        let table = Counts::new(thresholds).map(PixelTable::new);
        Some(Avx2Layout {
            avx2,
            vnni,
            layers,
            widest,
            table,
            thresholds_at: thresholds.as_ptr() as usize,
        })
    }

    /// Whether the pixels come from the direct table rather than the search.
    #[cfg(test)]
    pub(crate) fn has_pixel_table(&self) -> bool {
        self.table.is_some()
    }

    /// The integer decode of `z_q` into `out`, with `model` the blob this layout was made
    /// from and `class_bias` as for the blob-order kernels. `false` (and `out` unspecified)
    /// when `model` does not match the layout; the caller then decodes the usual way.
    pub(crate) fn pixels(
        &self,
        model: &Model<'_>,
        z_q: &[i8],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let _ = self.avx2;
        // SAFETY (each call): `avx2` proves the CPU runs AVX2.
        unsafe {
            match (self.widest, self.vnni) {
                (..=256, None) => {
                    self.forward::<256, _>(Pairs::<256, 129>::new, model, z_q, class_bias, out)
                }
                (257..=1024, None) => {
                    self.forward::<1024, _>(Pairs::<1024, 513>::new, model, z_q, class_bias, out)
                }
                (_, None) => self.forward::<MAX_INPUTS, _>(
                    Pairs::<MAX_INPUTS, { MAX_INPUTS / 2 + 1 }>::new,
                    model,
                    z_q,
                    class_bias,
                    out,
                ),
                (..=256, Some(vnni)) => self.forward::<256, _>(
                    || QuadSums {
                        quads: Quads::<256, 65>::new(),
                        vnni,
                    },
                    model,
                    z_q,
                    class_bias,
                    out,
                ),
                (257..=1024, Some(vnni)) => self.forward::<1024, _>(
                    || QuadSums {
                        quads: Quads::<1024, 257>::new(),
                        vnni,
                    },
                    model,
                    z_q,
                    class_bias,
                    out,
                ),
                (_, Some(vnni)) => self.forward::<MAX_INPUTS, _>(
                    || QuadSums {
                        quads: Quads::<MAX_INPUTS, { MAX_INPUTS / 4 + 1 }>::new(),
                        vnni,
                    },
                    model,
                    z_q,
                    class_bias,
                    out,
                ),
            }
        }
    }

    /// The decode with buffers for inputs up to `W` wide, `products` making the scratch
    /// of the layout's products for that width (here, not moved in: it is kilobytes).
    #[target_feature(enable = "avx2")]
    fn forward<const W: usize, S: Products>(
        &self,
        products: impl FnOnce() -> S,
        model: &Model<'_>,
        z_q: &[i8],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let Some(thresholds) = model
            .pixel_thresholds
            .first_chunk::<{ 4 * NUM_THRESHOLDS }>()
        else {
            return false;
        };
        let hidden = |products: &mut S,
                      layer: &Layer,
                      rows: &Rows<'_>,
                      x: &[i8],
                      zero_point: i8,
                      y: &mut [i8]| {
            let zp = i32::from(zero_point);
            let (floor, ceil) = (_mm256_setzero_si256(), _mm256_set1_epi32(127 - zp));
            let zpv = _mm256_set1_epi32(zp);
            let (blocks, _) = y.as_chunks_mut::<ROWS>();
            // SAFETY: this function runs only where the CPU runs AVX2.
            unsafe {
                products.sums(layer, x, |b, sums| {
                    let params = layer.params.get(b).zip(class_block(rows.class_bias, b));
                    if let (Some((p, class)), Some(dst)) = (params, blocks.get_mut(b)) {
                        let v = p.requantize(sums, class, layer.fits_i32);
                        let v = _mm256_min_epi32(_mm256_max_epi32(v, floor), ceil);
                        *dst = bytes8::<false>(_mm256_add_epi32(v, zpv)).map(|c| c as i8);
                    }
                })
            };
        };
        let last = |products: &mut S, layer: &Layer, rows: &Rows<'_>, x: &[i8]| {
            let mut values = [_mm256_setzero_si256(); PIXEL_BLOCKS];
            // SAFETY: this function runs only where the CPU runs AVX2.
            unsafe {
                products.sums(layer, x, |b, sums| {
                    let params = layer.params.get(b).zip(class_block(rows.class_bias, b));
                    if let (Some((p, class)), Some(slot)) = (params, values.get_mut(b)) {
                        *slot = p.requantize(sums, class, layer.fits_i32);
                    }
                })
            };
            // The table was made from the engine's own thresholds; others are searched.
            let own = thresholds.as_ptr() as usize == self.thresholds_at;
            match self.table.as_ref().filter(|_| own) {
                Some(table) => table.pixels(&values, out),
                None => {
                    search_pixels(&values, thresholds, out);
                    true
                }
            }
        };
        let mut products = products();
        walk::<W, Layer, S>(
            model,
            &self.layers,
            z_q,
            class_bias,
            &mut products,
            hidden,
            last,
        )
    }
}
