//! The host engine's layout for the AVX2 tier: each layer's weights repacked once as
//! `i16` pairs of inputs, so that a decode skips the pairs whose inputs are both zero and
//! needs no horizontal sums.
//!
//! The blob-order AVX2 kernel (module `dot`) sign-extends every weight byte on each
//! decode (`VPMOVSXBW`) and adds eight rows' vectors across lanes at the end. Here the
//! weights are `i16` already, two inputs' weights of one row side by side, eight rows per
//! 32-byte block, so that one `VPMADDWD` against the broadcast pair of inputs adds 16
//! products into eight rows' accumulators. Per layer and decode:
//!
//! 1. The input codes become `u = x + 128` (`0 ..= 255`, exact in `i16`; `0` exactly for
//!    the code `-128`, a ReLU layer's zero). `sum_i w_i x_i = sum_i w_i u_i - 128 sum_i
//!    w_i`; the last term is a per-row constant folded into a copy of the bias when
//!    packing. `|w u| <= 128 * 255`, so a `VPMADDWD` pair sum (at most 65,280) is exact.
//! 2. The pairs `(u_2p, u_2p+1)` that are not both zero are listed (about three quarters
//!    of a hidden layer's pairs on the default blob: half its inputs are zero).
//! 3. A pass keeps up to [`MAX_PASS`] blocks' accumulators (96 rows) in registers over all
//!    listed pairs, reading each pair's blocks of the pass as one contiguous run; then
//!    the blob-order tier's epilogue (requantize, then ReLU) runs on them. The pixel
//!    layer's values are clamped to the thresholds' range and looked up in a table of
//!    every value's pixel (the blob's thresholds span at most 65,535 values; other tables
//!    take the blob-order tier's search).
//!
//! The weights take twice the blob's bytes (540 KB for the default blob, inside the L2
//! of the CPUs this tier is for, except the oldest ones, which read them from L3). The
//! sums are the blob-order kernels' integers (exact modulo 2^32, their true value fits
//! `i32`), so the bytes are identical; the tests compare them.

use core::arch::x86_64::*;
use std::vec::Vec;

use super::Avx2;
use super::dot::ROWS;
use super::layers::{PIXEL_BLOCKS, bytes8, params8, requantize8, search_pixels};
use super::pairs::{PairView, Pairs};
use crate::IMAGE_PIXELS;
use crate::format::{Dense, Model, NUM_THRESHOLDS, WeightWidth};
use crate::kernel::x86::host_layout::MAX_INPUTS;
use crate::kernel::x86::pixel_lut::Counts;
use crate::kernel::x86::rows::Rows;

/// Rows per group: one register of 16 `i16` sums.
const GROUP: usize = 16;

/// Groups one pass keeps in registers: 12 `i16` accumulators, the two broadcast nibble
/// pairs and the weights take 15 of the 16 `ymm` registers.
const MAX_PASS: usize = 6;

/// Pairs summed in `i16` before the sums are widened: a nibble pair's products add up to
/// at most `2 * 15 * 128 = 3840` in magnitude, eight of them to 30,720 < 32,768.
const RUN: usize = 8;

/// Where row `r` of a group sits in its block: `VPUNPCKLWD` / `VPUNPCKHWD` take word
/// positions `0..4, 8..12` / `4..8, 12..16`, so these positions give rows `0..8` and
/// `8..16` in order.
const POSITION: [usize; GROUP] = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15];

/// Rows `16 g .. 16 g + 16` of two inputs `2p, 2p + 1`: bytes `2 POSITION[j]` and `2
/// POSITION[j] + 1` are `w[16 g + j][2p]` and `w[16 g + j][2p + 1]` (`0` past an odd input
/// count).
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Block([i8; 2 * GROUP]);

/// One pass: groups `first .. first + groups`, stored pair by pair from `data[start]`.
struct Pass {
    first: usize,
    groups: usize,
    start: usize,
}

/// One layer in pair order.
struct Layer {
    inputs: usize,
    rows: usize,
    /// Pairs of inputs, `inputs / 2` rounded up.
    pairs: usize,
    passes: Vec<Pass>,
    /// Pass by pass, pair by pair, the pass's groups in order.
    data: Vec<Block>,
    /// The blob's bias minus `128 sum_i w[r][i]` (wrapping), little-endian `i32` per row:
    /// what the sums over `u = x + 128` have on top of the sums over `x`.
    bias: Vec<u8>,
}

impl Layer {
    /// The pair layout of `dense`; `None` for int4 weights, more than [`MAX_INPUTS`]
    /// inputs, a row count that is not a multiple of 16, or arrays that disagree with
    /// the shapes.
    fn new(dense: &Dense<'_>) -> Option<Self> {
        let (inputs, rows) = (usize::from(dense.in_dim), usize::from(dense.out_dim));
        let fits = dense.weight_width == WeightWidth::Int8
            && (1..=MAX_INPUTS).contains(&inputs)
            && rows > 0
            && rows.is_multiple_of(GROUP)
            && dense.weights.len() == inputs * rows
            && dense.bias.len() >= 4 * rows;
        if !fits {
            return None;
        }
        let weight = |r: usize, i: usize| -> i8 {
            if i < inputs {
                dense.weights[r * inputs + i] as i8
            } else {
                0
            }
        };
        let pairs = inputs.div_ceil(2);
        let groups = rows / GROUP;
        let count = groups.div_ceil(MAX_PASS);
        let mut passes = Vec::with_capacity(count);
        let mut data = Vec::with_capacity(pairs * groups);
        let mut first = 0;
        for k in 0..count {
            // Passes as even as possible: the first `groups % count` take one more.
            let size = groups / count + usize::from(k < groups % count);
            passes.push(Pass {
                first,
                groups: size,
                start: data.len(),
            });
            for p in 0..pairs {
                for g in first..first + size {
                    let mut block = Block([0; 2 * GROUP]);
                    for (j, &at) in POSITION.iter().enumerate() {
                        block.0[2 * at] = weight(GROUP * g + j, 2 * p);
                        block.0[2 * at + 1] = weight(GROUP * g + j, 2 * p + 1);
                    }
                    data.push(block);
                }
            }
            first += size;
        }
        let bias = (0..rows)
            .flat_map(|r| {
                let blob = i32::from_le_bytes(dense.bias[4 * r..4 * r + 4].try_into().unwrap());
                let sum = (0..inputs).fold(0i32, |s, i| s.wrapping_add(i32::from(weight(r, i))));
                blob.wrapping_sub(sum.wrapping_mul(128)).to_le_bytes()
            })
            .collect();
        Some(Layer {
            inputs,
            rows,
            pairs,
            passes,
            data,
            bias,
        })
    }

    /// `f(b, sums)` for every block `b` of rows, `sums` lane `j` being row `8 b + j`'s sum
    /// over the listed pairs (`pairs` of this layer's input).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn blocks(&self, pairs: PairView<'_>, mut f: impl FnMut(usize, __m256i)) {
        for pass in &self.passes {
            let Some(data) = self
                .data
                .get(pass.start..pass.start + pass.groups * self.pairs)
            else {
                return;
            };
            macro_rules! run {
                ($($k:literal)*) => {
                    match pass.groups {
                        $($k => pass_sums::<$k>(data, pairs, pass.first, &mut f),)*
                        _ => {}
                    }
                };
            }
            run!(1 2 3 4 5 6);
        }
    }
}

// `MAX_PASS` is the largest pass `Layer::blocks` dispatches; a group is two blocks.
const _: () = assert!(MAX_PASS == 6 && GROUP == 2 * ROWS);

/// `f(b, sums)` for the `2 K` blocks of the pass's `K` groups from group `first`, each
/// group's rows `0..8` and `8..16`, summed over the listed pairs: `data` holds the pass's
/// blocks pair by pair (`K` per pair).
///
/// `u = 16 h + l` with nibbles `h, l` in `0..16`: `VPMADDUBSW` multiplies the broadcast
/// nibble pairs (unsigned) by the weight pairs (signed) exactly, [`RUN`] pairs add up in
/// `i16`, and then `VPMADDWD` by `(1, 16)` widens `l`'s and `h`'s sums of each row into
/// its `i32` sum. Small pairs (high nibbles zero) skip the high products.
#[inline]
#[target_feature(enable = "avx2")]
fn pass_sums<const K: usize>(
    data: &[Block],
    pairs: PairView<'_>,
    first: usize,
    f: &mut impl FnMut(usize, __m256i),
) {
    let zero = _mm256_setzero_si256();
    let weights = _mm256_set1_epi32(0x0010_0001);
    let mut wide = [[zero; 2]; K];
    let (blocks, _) = data.as_chunks::<K>();
    // One run of at most `RUN` pairs added to `wide`; without `high`, the high nibbles
    // are zero and their products skipped.
    let mut run_sums = |list: &[u16], run: core::ops::Range<usize>, with_high: bool| {
        let (mut high, mut low) = ([zero; K], [zero; K]);
        for i in run {
            let Some(&p) = list.get(i) else {
                continue;
            };
            let p = usize::from(p);
            let (Some(blocks), Some(&h), Some(&l)) =
                (blocks.get(p), pairs.high.get(p), pairs.low.get(p))
            else {
                continue;
            };
            let (h, l) = (_mm256_set1_epi32(h), _mm256_set1_epi32(l));
            for ((hi, lo), block) in high.iter_mut().zip(&mut low).zip(blocks) {
                // SAFETY: reads exactly the 32 bytes of `block`, which is 32-byte aligned.
                let w = unsafe { _mm256_load_si256(block.0.as_ptr().cast::<__m256i>()) };
                if with_high {
                    *hi = _mm256_add_epi16(*hi, _mm256_maddubs_epi16(h, w));
                }
                *lo = _mm256_add_epi16(*lo, _mm256_maddubs_epi16(l, w));
            }
        }
        for ((sums, hi), lo) in wide.iter_mut().zip(high).zip(low) {
            let first = _mm256_madd_epi16(_mm256_unpacklo_epi16(lo, hi), weights);
            let second = _mm256_madd_epi16(_mm256_unpackhi_epi16(lo, hi), weights);
            sums[0] = _mm256_add_epi32(sums[0], first);
            sums[1] = _mm256_add_epi32(sums[1], second);
        }
    };
    for start in (0..pairs.full.len()).step_by(RUN) {
        run_sums(pairs.full, start..(start + RUN).min(pairs.full.len()), true);
    }
    for start in (0..pairs.small.len()).step_by(RUN) {
        run_sums(
            pairs.small,
            start..(start + RUN).min(pairs.small.len()),
            false,
        );
    }
    for (g, [a, b]) in wide.into_iter().enumerate() {
        f(2 * (first + g), a);
        f(2 * (first + g) + 1, b);
    }
}

/// The direct pixel table of a threshold table: `pixels[v - low]` for `v` clamped to
/// `low ..= high`.
struct PixelTable {
    low: i32,
    high: i32,
    pixels: Vec<u8>,
}

impl PixelTable {
    /// The pixels of an image's values (`values[b]` for pixels `8 b .. 8 b + 8`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pixels(&self, values: &[__m256i; PIXEL_BLOCKS], out: &mut [u8; IMAGE_PIXELS]) {
        let (low, high) = (_mm256_set1_epi32(self.low), _mm256_set1_epi32(self.high));
        let mut offsets = [0i32; IMAGE_PIXELS];
        let (blocks, _) = offsets.as_chunks_mut::<ROWS>();
        for (dst, &v) in blocks.iter_mut().zip(values) {
            let w = _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(v, low), high), low);
            // SAFETY: writes exactly the 32 bytes of `dst`.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast::<__m256i>(), w) };
        }
        for (pixel, &w) in out.iter_mut().zip(&offsets) {
            *pixel = self.pixels.get(w as usize).copied().unwrap_or(0);
        }
    }
}

/// Every layer of a model in pair order, and its pixel table.
pub(crate) struct Avx2Layout {
    avx2: Avx2,
    layers: Vec<Layer>,
    widest: usize,
    table: Option<PixelTable>,
    /// Where the thresholds the table was made from live (the engine's blob).
    thresholds_at: usize,
}

impl Avx2Layout {
    /// The layout of `model`; `None` without AVX2 or when a layer does not fit (see
    /// `Layer::new`).
    pub(crate) fn new(model: &Model<'_>) -> Option<Self> {
        let avx2 = Avx2::detect()?;
        let (last, _) = model.layers.split_last()?;
        if usize::from(last.out_dim) != IMAGE_PIXELS {
            return None;
        }
        let layers = model
            .layers
            .iter()
            .map(Layer::new)
            .collect::<Option<Vec<_>>>()?;
        let widest = layers.iter().map(|l| l.inputs).max()?;
        let thresholds = model
            .pixel_thresholds
            .first_chunk::<{ 4 * NUM_THRESHOLDS }>()?;
        let table = Counts::new(thresholds).map(|c| PixelTable {
            low: c.low,
            high: c.high,
            pixels: c.counts.iter().map(|&n| n.min(255) as u8).collect(),
        });
        Some(Avx2Layout {
            avx2,
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
        match self.widest {
            ..=256 => unsafe { self.forward::<256, 128>(model, z_q, class_bias, out) },
            257..=1024 => unsafe { self.forward::<1024, 512>(model, z_q, class_bias, out) },
            _ => unsafe {
                self.forward::<MAX_INPUTS, { MAX_INPUTS / 2 }>(model, z_q, class_bias, out)
            },
        }
    }

    /// The decode with buffers for inputs up to `W` wide, `P = W / 2` pairs.
    #[target_feature(enable = "avx2")]
    fn forward<const W: usize, const P: usize>(
        &self,
        model: &Model<'_>,
        z_q: &[i8],
        mut class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let Some((last_dense, hidden)) = model.layers.split_last() else {
            return false;
        };
        let Some((last, packed_hidden)) = self.layers.split_last() else {
            return false;
        };
        if hidden.len() != packed_hidden.len() {
            return false;
        }
        let mut buffers = [[0i8; W]; 2];
        let mut pairs = Pairs::<P>::new();
        let [a, b] = &mut buffers;
        let (mut src, mut dst) = (a, b);
        let mut width = z_q.len();
        if let Some(x) = src.get_mut(..width) {
            x.copy_from_slice(z_q);
        } else {
            return false;
        }
        for (k, (dense, layer)) in hidden.iter().zip(packed_hidden).enumerate() {
            let zero_point = model
                .layers
                .get(k + 1)
                .map_or(0, |next| next.input_zero_point);
            let (Some(x), Some(y)) = (src.get(..width), dst.get_mut(..layer.rows)) else {
                return false;
            };
            let Some(rows) = Rows::new(dense, width, class_bias, layer.rows) else {
                return false;
            };
            if layer.inputs != width {
                return false;
            }
            let rows = Rows {
                bias: &layer.bias,
                ..rows
            };
            let zp = i32::from(zero_point);
            let (floor, ceil) = (_mm256_setzero_si256(), _mm256_set1_epi32(127 - zp));
            let zpv = _mm256_set1_epi32(zp);
            let (blocks, _) = y.as_chunks_mut::<ROWS>();
            layer.blocks(pairs.fill(x), |b, sums| {
                if let (Some(p), Some(dst)) = (params8(&rows, b), blocks.get_mut(b)) {
                    let v = requantize8(_mm256_add_epi32(sums, p.add), p.m, p.s);
                    let v = _mm256_min_epi32(_mm256_max_epi32(v, floor), ceil);
                    *dst = bytes8::<false>(_mm256_add_epi32(v, zpv)).map(|c| c as i8);
                }
            });
            class_bias = &[];
            width = layer.rows;
            core::mem::swap(&mut src, &mut dst);
        }
        let Some(x) = src.get(..width) else {
            return false;
        };
        let (Some(rows), Some(thresholds)) = (
            Rows::new(last_dense, width, class_bias, IMAGE_PIXELS),
            model
                .pixel_thresholds
                .first_chunk::<{ 4 * NUM_THRESHOLDS }>(),
        ) else {
            return false;
        };
        if last.inputs != width || last.rows != IMAGE_PIXELS {
            return false;
        }
        let rows = Rows {
            bias: &last.bias,
            ..rows
        };
        let mut values = [_mm256_setzero_si256(); PIXEL_BLOCKS];
        last.blocks(pairs.fill(x), |b, sums| {
            if let (Some(p), Some(slot)) = (params8(&rows, b), values.get_mut(b)) {
                *slot = requantize8(_mm256_add_epi32(sums, p.add), p.m, p.s);
            }
        });
        // The table was made from the engine's own thresholds; others are searched.
        let own = thresholds.as_ptr() as usize == self.thresholds_at;
        match self.table.as_ref().filter(|_| own) {
            Some(table) => table.pixels(&values, out),
            None => search_pixels(&values, thresholds, out),
        }
        true
    }
}
