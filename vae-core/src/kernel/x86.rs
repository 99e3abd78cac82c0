//! x86-64 AVX-512 VNNI kernels: whole layers, 16 rows at a time (the crate's second
//! `unsafe` exception, next to `kernel::dsp`).
//!
//! Selected when the CPU has AVX-512 F, BW and VNNI: statically when the crate is compiled
//! with those target features (e.g. `RUSTFLAGS=-Ctarget-cpu=native`), otherwise at run
//! time with `std::is_x86_feature_detected!` (cargo feature `std`); without either the
//! decoder runs the portable kernels. [`Vnni`] is the proof that the features are there:
//! it is only made by [`Vnni::detect`], and its methods are the only way into the
//! `#[target_feature]` functions.
//!
//! The results are the integers of the portable path, bit for bit:
//!
//! * Dot products: `VPDPBUSD` multiplies *unsigned* by signed bytes, so the weights go in
//!   as `w ^ 0x80 = w + 128` (unsigned) against the signed inputs `x`, and
//!   `sum w x = sum (w + 128) x - 128 sum x`; the last term is one number per layer,
//!   added with the bias. Every sum is exact modulo 2^32 and the true value fits in `i32`
//!   (`format::parse` checks that), so the order of the additions does not matter. 16
//!   rows run together (16 accumulators, each 64 bytes of one row per instruction, inputs
//!   past a multiple of 64 through a masked load that reads only the row's bytes; rows of
//!   at most 32 bytes two to a register), then a transpose-and-add tree turns the 16
//!   vectors into one vector of 16 sums.
//! * [`requantize`](super::requantize): the 64-bit product of `VPMULDQ` (even and odd
//!   lanes apart), `((2p - (p < 0)) >> n + 1) >> 1` with a per-lane `VPSRAVQ`, which is
//!   the scalar formula `((p - (p < 0)) >> (n - 1) + 1) >> 1` for `n >= 1` (`2p - 1` is
//!   odd, so it floors like `2p - 2`) and gives `p` for `n = 0`; shifts past 63 fill with
//!   the sign, as the clamp to 63 does. Exact whenever `2p` fits in `i64`, i.e. unless
//!   `acc == multiplier == i32::MIN` (a parsed blob's multipliers are positive).
//! * [`relu_q`](super::relu_q) as `clamp(v, 0, 127 - zp) + zp`, the clamp in 64 bits.
//! * [`sigmoid_pixel`](super::sigmoid_pixel): the same 8-step binary search, lane-wise,
//!   over the thresholds rearranged once per image into an implicit binary tree (node
//!   `h`, children `2h` and `2h + 1`): the first four levels in one register (`VPERMD`),
//!   the next ones in 1, 2, 4 and 8 registers (`VPERMT2D` and selects). The host
//!   engine (`host_layout`) replaces it with a lookup fitted once per blob
//!   (`pixel_lut`): 32 pixels per register, about 20 instructions instead of 64 per 16.
//!
//! Measured on Zen 5 (the default blob, 271 KB of weights in L2, one core): the weights
//! stream at about one 64-byte load per cycle; what is left is kept off that stream's
//! back. Compares into mask registers cost about 9 cycles from compare to use, so the
//! search has none; long dependency chains inside the dot-product loop held it back, so
//! the last layer computes all 49 blocks' sums first and requantizes and searches
//! afterwards, seven searches in lockstep.
//!
//! Safety: every pointer read or written is inside a slice whose length is checked in
//! safe code first (the unsafe blocks say which); masked loads touch only the selected
//! bytes (masked-off bytes are neither read nor faulted on), also when the address they
//! are given lies before the slice.

use core::arch::x86_64::*;

use crate::IMAGE_PIXELS;
use crate::format::Dense;

use super::{relu_q, requantize};
use crate::format::NUM_THRESHOLDS;

#[cfg(any(test, feature = "quantize"))]
pub(crate) mod host_layout;
#[cfg(any(test, feature = "quantize"))]
mod pixel_lut;

/// Proof that the CPU runs AVX-512 F, BW and VNNI: made only by [`Vnni::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vnni(());

/// Rows per block.
const BLOCK: usize = 16;

/// Accumulator of row `r`: the reduction tree leaves the sum of accumulator `i` in lane
/// `bit_reverse4(i)`, so row `r` goes to accumulator `bit_reverse4(r)` and ends up in
/// lane `r`.
const ACC_OF_ROW: [usize; BLOCK] = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];

/// Blocks of 16 pixels in an image.
const PIXEL_BLOCKS: usize = IMAGE_PIXELS / BLOCK;

/// Pixel blocks searched in lockstep (49 = 7 x 7).
const LOCKSTEP: usize = 7;

/// Blocks of a hidden layer whose dot products are computed before their epilogues.
const HIDDEN_GROUP: usize = 16;

impl Vnni {
    /// `Some` when this CPU has AVX-512 F, BW and VNNI.
    ///
    /// Compiled with those target features it is a constant; otherwise, with the `std`
    /// feature, `std`'s cached CPUID answer (a few loads); without `std`, `None`.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vnni"
        ))]
        {
            Some(Vnni(()))
        }
        #[cfg(all(
            not(all(
                target_feature = "avx512f",
                target_feature = "avx512bw",
                target_feature = "avx512vnni"
            )),
            any(feature = "std", test)
        ))]
        {
            let yes = std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vnni");
            yes.then_some(Vnni(()))
        }
        #[cfg(not(any(
            all(
                target_feature = "avx512f",
                target_feature = "avx512bw",
                target_feature = "avx512vnni"
            ),
            feature = "std",
            test
        )))]
        {
            None
        }
    }

    /// [`dense`](super::dense) on this CPU: `sink(dot(row_j, x))` for every whole row, in
    /// order; nothing for an empty `x`.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        if x.is_empty() {
            return;
        }
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { dense_layer(weights, x, sink) };
    }

    /// A hidden layer: `out[j] = relu_q(requantize(dot_j + bias_j + class_bias_j, m_j,
    /// n_j), zero_point)` for `j < out.len()`. `false` (and `out` untouched) unless the
    /// layer's arrays hold `out.len()` rows of `x.len()` inputs and `class_bias` is empty
    /// or holds `out.len()` values.
    pub(crate) fn hidden(
        self,
        layer: &Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        zero_point: i8,
        out: &mut [i8],
    ) -> bool {
        let Some(rows) = Rows::new(layer, x.len(), class_bias, out.len()) else {
            return false;
        };
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { hidden_layer(&rows, x, zero_point, out) };
        true
    }

    /// The last layer to pixels: `out[j] = sigmoid_pixel(thresholds, requantize(dot_j +
    /// bias_j + class_bias_j, m_j, n_j))`. `false` (and `out` untouched) unless the shapes
    /// fit as for [`hidden`](Self::hidden) and `thresholds` is a full table.
    pub(crate) fn pixels(
        self,
        layer: &Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        thresholds: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let Some(rows) = Rows::new(layer, x.len(), class_bias, IMAGE_PIXELS) else {
            return false;
        };
        let Some(table) = thresholds.first_chunk::<{ 4 * NUM_THRESHOLDS }>() else {
            return false;
        };
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { pixel_layer(&rows, x, table, out) };
        true
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn dense_layer(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    let n = x.len();
    let correction = correction(x);
    let blocks = weights.len() / n / BLOCK;
    for_each_block(weights, x, blocks, |_, sums| {
        let sums = _mm512_add_epi32(sums, _mm512_set1_epi32(correction));
        let mut out = [0i32; BLOCK];
        // SAFETY: `out` is 64 bytes.
        unsafe { _mm512_storeu_epi32(out.as_mut_ptr(), sums) };
        out.iter().for_each(|&s| sink(s));
    });
    let rest = weights.get(BLOCK * blocks * n..).unwrap_or_default();
    for row in rest.chunks_exact(n) {
        sink(dot1(row, x).wrapping_add(correction));
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn hidden_layer(rows: &Rows<'_>, x: &[i8], zero_point: i8, out: &mut [i8]) {
    let correction = correction(x);
    let (blocks, _) = out.as_chunks_mut::<BLOCK>();
    // Up to HIDDEN_GROUP blocks' dot products, then their epilogues (as in the pixel
    // layer: measured faster than the epilogue inside the dot-product loop).
    for (g, group) in blocks.chunks_mut(HIDDEN_GROUP).enumerate() {
        let start = HIDDEN_GROUP * g;
        let weights = rows
            .weights
            .get(start * BLOCK * x.len()..)
            .unwrap_or_default();
        let mut values = [_mm512_setzero_si512(); HIDDEN_GROUP];
        for_each_block(weights, x, group.len(), |b, sums| {
            if let Some(v) = values.get_mut(b) {
                *v = sums;
            }
        });
        for (k, (dst, &sums)) in group.iter_mut().zip(&values).enumerate() {
            if let Some(p) = rows.block_params(start + k) {
                let sums = _mm512_add_epi32(sums, _mm512_set1_epi32(correction));
                *dst = hidden_codes(&p, sums, zero_point);
            }
        }
    }
    hidden_rest(rows, x, zero_point, out);
}

/// The codes of one hidden block, `relu_q(requantize(sums + bias + class bias))`, from
/// its exact dot products `sums`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn hidden_codes(p: &BlockParams<'_>, sums: __m512i, zero_point: i8) -> [i8; BLOCK] {
    let zp = i32::from(zero_point);
    // relu_q: clamp(v + zp, zp, 127) == clamp(v, 0, 127 - zp) + zp.
    let v = clamp_merge(
        requantize16(p.add_bias(sums), p.multipliers, p.shifts),
        0,
        i64::from(127 - zp),
    );
    let codes = _mm512_cvtepi32_epi8(_mm512_add_epi32(v, _mm512_set1_epi32(zp)));
    let mut out = [0i8; BLOCK];
    // SAFETY: writes exactly the 16 bytes of `out`.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), codes) };
    out
}

/// The rows of a hidden layer past its last whole block of 16, one at a time.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn hidden_rest(rows: &Rows<'_>, x: &[i8], zero_point: i8, out: &mut [i8]) {
    let first = out.len() / BLOCK * BLOCK;
    if first == out.len() {
        return;
    }
    let correction = correction(x);
    for (j, slot) in out.iter_mut().enumerate().skip(first) {
        if let (Some(w), Some((bias, m, s))) = (rows.row_weights(j), rows.row(j)) {
            let acc = dot1(w, x).wrapping_add(correction).wrapping_add(bias);
            *slot = relu_q(requantize(acc, m, s), zero_point);
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn pixel_layer(
    rows: &Rows<'_>,
    x: &[i8],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    // All dot products first, then the requantization, then the searches (see the
    // module docs).
    let mut values = [_mm512_setzero_si512(); PIXEL_BLOCKS];
    pixel_sums(rows, x, 0, &mut values);
    store_pixels(rows, &mut values, table, out);
}

/// `values[b]` = the exact dot products of the pixel layer's block `b` (`rows`, input
/// `x`), for the blocks from `first` on, in the blob's order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn pixel_sums(rows: &Rows<'_>, x: &[i8], first: usize, values: &mut [__m512i; PIXEL_BLOCKS]) {
    let Some(weights) = rows.weights.get(first * BLOCK * x.len()..) else {
        return;
    };
    let correction = _mm512_set1_epi32(correction(x));
    for_each_block(weights, x, PIXEL_BLOCKS.saturating_sub(first), |k, sums| {
        if let Some(slot) = values.get_mut(first + k) {
            *slot = _mm512_add_epi32(sums, correction);
        }
    });
}

/// The pixel layer after its dot products: `values[b]` holds block `b`'s exact dot
/// products; requantizes them all, then searches the thresholds seven blocks at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store_pixels(
    rows: &Rows<'_>,
    values: &mut [__m512i; PIXEL_BLOCKS],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    for (b, slot) in values.iter_mut().enumerate() {
        if let Some(p) = rows.block_params(b) {
            *slot = pixel_values(&p, *slot, FULL_RANGE);
        }
    }
    search_pixels(values, &Tree::new(table), out);
}

/// The values of one pixel block, `requantize(sums + bias + class bias)` clamped to
/// `lo ..= hi` (a range inside `i32`), from its exact dot products `sums`. The pixels are
/// the same whenever `lo` is below the first threshold (all lower values are black) and
/// `hi` is at or above the last (all higher values are white); `i32`'s range always is.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn pixel_values(p: &BlockParams<'_>, sums: __m512i, (lo, hi): (i64, i64)) -> __m512i {
    clamp_merge(
        requantize16(p.add_bias(sums), p.multipliers, p.shifts),
        lo,
        hi,
    )
}

/// The clamp of [`pixel_values`] that any threshold table allows.
const FULL_RANGE: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

/// The pixels of the requantized `values`: the threshold search, seven blocks at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn search_pixels(values: &[__m512i; PIXEL_BLOCKS], tree: &Tree, out: &mut [u8; IMAGE_PIXELS]) {
    // A group of seven blocks (four image rows) whose values are all below the first
    // threshold is black, without a search: the top and bottom groups usually are.
    let first = tree.first;
    let mut lit = 0u64;
    for (b, v) in values.iter().enumerate() {
        lit |= u64::from(_mm512_cmpge_epi32_mask(*v, first) != 0) << b;
    }
    let (blocks, _) = out.as_chunks_mut::<BLOCK>();
    let (dsts, _) = blocks.as_chunks_mut::<LOCKSTEP>();
    let (groups, _) = values.as_chunks::<LOCKSTEP>();
    for (g, (dst, &v)) in dsts.iter_mut().zip(groups).enumerate() {
        if (lit >> (LOCKSTEP * g)) & ((1 << LOCKSTEP) - 1) == 0 {
            dst.as_flattened_mut().fill(0);
            continue;
        }
        for (d, p) in dst.iter_mut().zip(tree.search(v)) {
            // `p` = 256 + count: the low byte is the pixel. SAFETY: writes exactly the
            // 16 bytes of `d`.
            unsafe { _mm_storeu_si128(d.as_mut_ptr().cast::<__m128i>(), _mm512_cvtepi32_epi8(p)) };
        }
    }
}

/// `-128 * sum x` (wrapping): what `sum (w + 128) x` has on top of `sum w x`.
fn correction(x: &[i8]) -> i32 {
    let sum = x.iter().fold(0i32, |s, &v| s.wrapping_add(i32::from(v)));
    sum.wrapping_mul(-128)
}

/// A layer's arrays, checked once against its shapes.
struct Rows<'l> {
    n: usize,
    weights: &'l [u8],
    bias: &'l [u8],
    class_bias: &'l [u8],
    multipliers: &'l [u8],
    shifts: &'l [u8],
}

/// One block's per-row parameters, as the blob's bytes.
struct BlockParams<'l> {
    bias: &'l [u8; 4 * BLOCK],
    class_bias: Option<&'l [u8; 4 * BLOCK]>,
    multipliers: &'l [u8; 4 * BLOCK],
    shifts: &'l [u8; BLOCK],
}

impl BlockParams<'_> {
    /// `acc` plus the bias and the class bias.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn add_bias(&self, acc: __m512i) -> __m512i {
        let acc = _mm512_add_epi32(acc, load16(self.bias));
        match self.class_bias {
            Some(class_bias) => _mm512_add_epi32(acc, load16(class_bias)),
            None => acc,
        }
    }
}

impl<'l> Rows<'l> {
    /// `None` unless `layer` holds `rows` rows of `n >= 1` inputs and `class_bias` is
    /// empty or holds `rows` values.
    fn new(layer: &Dense<'l>, n: usize, class_bias: &'l [u8], rows: usize) -> Option<Self> {
        let fits = n >= 1
            && layer.weights.len() >= rows.checked_mul(n)?
            && layer.bias.len() >= 4 * rows
            && layer.multipliers.len() >= 4 * rows
            && layer.shifts.len() >= rows
            && (class_bias.is_empty() || class_bias.len() >= 4 * rows);
        fits.then_some(Rows {
            n,
            weights: layer.weights,
            bias: layer.bias,
            class_bias,
            multipliers: layer.multipliers,
            shifts: layer.shifts,
        })
    }

    /// The parameters of rows `16 b .. 16 b + 16`.
    #[inline(always)]
    fn block_params(&self, b: usize) -> Option<BlockParams<'l>> {
        let at4 = |s: &'l [u8]| s.get(4 * BLOCK * b..)?.first_chunk::<{ 4 * BLOCK }>();
        Some(BlockParams {
            bias: at4(self.bias)?,
            class_bias: if self.class_bias.is_empty() {
                None
            } else {
                Some(at4(self.class_bias)?)
            },
            multipliers: at4(self.multipliers)?,
            shifts: self.shifts.get(BLOCK * b..)?.first_chunk::<BLOCK>()?,
        })
    }

    fn row_weights(&self, j: usize) -> Option<&'l [u8]> {
        self.weights.get(j * self.n..(j + 1) * self.n)
    }

    /// Row `j`'s bias (class bias included), multiplier and shift.
    fn row(&self, j: usize) -> Option<(i32, i32, u8)> {
        let le = |s: &[u8]| {
            s.get(4 * j..)?
                .first_chunk::<4>()
                .map(|b| i32::from_le_bytes(*b))
        };
        let extra = if self.class_bias.is_empty() {
            0
        } else {
            le(self.class_bias)?
        };
        Some((
            le(self.bias)?.wrapping_add(extra),
            le(self.multipliers)?,
            *self.shifts.get(j)?,
        ))
    }
}

/// `f(b, sums)` for the first `blocks` blocks of 16 rows of `weights` (rows of
/// `x.len() >= 1` bytes), where lane `r` of `sums` is `sum_i (w[16 b + r][i] + 128) x[i]`;
/// stops early if `weights` is too short.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn for_each_block(weights: &[u8], x: &[i8], blocks: usize, f: impl FnMut(usize, __m512i)) {
    if x.len() <= 32 {
        blocks_paired(weights, x, blocks, f);
    } else {
        blocks_wide(weights, x, blocks, f);
    }
}

/// [`for_each_block`] for rows of more than 32 bytes: per 64-byte chunk of `x`, that
/// chunk of each of the 16 rows.
///
/// (Measured on Zen 5 against reading each row whole with `x` held in registers,
/// unrolled per width: this order was faster, as was zeroing the accumulators per block
/// against carrying them over and taking differences.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn blocks_wide(weights: &[u8], x: &[i8], blocks: usize, mut f: impl FnMut(usize, __m512i)) {
    let n = x.len();
    let k80 = _mm512_set1_epi8(-128);
    let xp = x.as_ptr();
    let (full, tail) = (n / 64, n % 64);
    // The last `tail` bytes of a row; zeros elsewhere, where `x` is 0, so `w + 128` adds 0.
    let m: __mmask64 = (1u64 << tail) - 1;
    for b in 0..blocks {
        let Some(block) = weights.get(b * BLOCK * n..(b + 1) * BLOCK * n) else {
            return;
        };
        let w = block.as_ptr().cast::<i8>();
        let mut acc = [_mm512_setzero_si512(); BLOCK];
        for c in 0..full {
            // SAFETY: `64 c + 64 <= n`: bytes `64 c .. 64 c + 64` of `x` and of every row
            // `r < 16` (at `r n` in `block`, whose length is `16 n`).
            let xc = unsafe { _mm512_loadu_epi8(xp.add(64 * c)) };
            for (r, &a) in ACC_OF_ROW.iter().enumerate() {
                // SAFETY: see above.
                let wv = unsafe { _mm512_loadu_epi8(w.add(r * n + 64 * c)) };
                acc[a] = _mm512_dpbusd_epi32(acc[a], _mm512_xor_si512(wv, k80), xc);
            }
        }
        if tail != 0 {
            // SAFETY: masked loads read only bytes `64 full .. n` of `x` and of each row.
            let xc = unsafe { _mm512_maskz_loadu_epi8(m, xp.add(64 * full)) };
            for (r, &a) in ACC_OF_ROW.iter().enumerate() {
                // SAFETY: see above.
                let wv = unsafe { _mm512_maskz_loadu_epi8(m, w.add(r * n + 64 * full)) };
                acc[a] = _mm512_dpbusd_epi32(acc[a], _mm512_xor_si512(wv, k80), xc);
            }
        }
        f(b, reduce16(acc));
    }
}

/// [`for_each_block`] for rows of 1 to 32 bytes: two rows per register (row `r` in bytes
/// `0..32`, row `r + 8` in bytes `32..64`, each padded with zeros), so a block takes 8
/// accumulators, already in the layout of the reduction's second level.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn blocks_paired(weights: &[u8], x: &[i8], blocks: usize, mut f: impl FnMut(usize, __m512i)) {
    let n = x.len();
    if n == 0 || n > 32 {
        return;
    }
    let k80 = _mm512_set1_epi8(-128);
    let lo: __mmask64 = (1u64 << n) - 1;
    let hi: __mmask64 = lo << 32;
    let xp = x.as_ptr();
    // SAFETY: both masked loads read only bytes `0 .. n` of `x` (the second one into
    // bytes `32 .. 32 + n` of the register, from an address 32 bytes before `x`).
    let x2 =
        unsafe { _mm512_mask_loadu_epi8(_mm512_maskz_loadu_epi8(lo, xp), hi, xp.wrapping_sub(32)) };
    for b in 0..blocks {
        let Some(block) = weights.get(b * BLOCK * n..(b + 1) * BLOCK * n) else {
            return;
        };
        let w = block.as_ptr().cast::<i8>();
        let acc: [__m512i; BLOCK / 2] = core::array::from_fn(|k| {
            // Accumulator `2k` of `reduce16`'s first level in the low half, `2k + 1`
            // (row + 8) in the high half.
            let r = ACC_OF_ROW[2 * k];
            // SAFETY: bytes `0 .. n` of rows `r` and `r + 8 < 16` of `block` (16 rows of
            // `n` bytes); the second load, like `x2`'s, from 32 bytes before its row.
            let wv = unsafe {
                _mm512_mask_loadu_epi8(
                    _mm512_maskz_loadu_epi8(lo, w.wrapping_add(r * n)),
                    hi,
                    w.wrapping_add((r + 8) * n).wrapping_sub(32),
                )
            };
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wv, k80), x2)
        });
        f(b, reduce_halves(acc));
    }
}

/// Horizontal sums of 16 vectors: lane `bit_reverse4(i)` of the result is the sum of the
/// lanes of `v[i]`. Four levels of "fold two vectors into one" (a shuffle, a blend and an
/// addition each): 256-bit halves here, then [`reduce_halves`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn reduce16(v: [__m512i; BLOCK]) -> __m512i {
    // Lanes 0..8 hold partial sums of `a`, 8..16 of `b`.
    let fold256 = |a: __m512i, b: __m512i| {
        let t = _mm512_shuffle_i64x2::<0x4E>(a, b); // a.2 a.3 b.0 b.1
        let u = _mm512_mask_blend_epi32(0xFF00, a, b); // a.0 a.1 b.2 b.3
        _mm512_add_epi32(t, u)
    };
    let [
        v0,
        v1,
        v2,
        v3,
        v4,
        v5,
        v6,
        v7,
        v8,
        v9,
        v10,
        v11,
        v12,
        v13,
        v14,
        v15,
    ] = v;
    reduce_halves([
        fold256(v0, v1),
        fold256(v2, v3),
        fold256(v4, v5),
        fold256(v6, v7),
        fold256(v8, v9),
        fold256(v10, v11),
        fold256(v12, v13),
        fold256(v14, v15),
    ])
}

/// The last three levels of [`reduce16`]: `a[k]` holds partial sums of vector `2k` in
/// lanes `0..8` and of `2k + 1` in lanes `8..16`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn reduce_halves(a: [__m512i; BLOCK / 2]) -> __m512i {
    // 128-bit blocks: [A0 A1 B0 B1], [C0 C1 D0 D1] -> [A C B D].
    let idx128 = _mm512_setr_epi64(2, 3, 8, 9, 6, 7, 12, 13);
    let fold128 = |a: __m512i, b: __m512i| {
        let t = _mm512_permutex2var_epi64(a, idx128, b); // a.1 b.0 a.3 b.2
        let u = _mm512_mask_blend_epi32(0xF0F0, a, b); // a.0 b.1 a.2 b.3
        _mm512_add_epi32(t, u)
    };
    // 64-bit halves of each block: [a0 a1 a2 a3], [c0 c1 c2 c3] -> [a a c c].
    let fold64 = |a: __m512i, b: __m512i| {
        let t = _mm512_alignr_epi8::<8>(b, a); // a2 a3 c0 c1
        let u = _mm512_mask_blend_epi32(0xCCCC, a, b); // a0 a1 c2 c3
        _mm512_add_epi32(t, u)
    };
    // Dwords: [a a' c c'], [e e' g g'] -> [a e c g].
    let fold32 = |a: __m512i, b: __m512i| {
        let t = _mm512_shuffle_epi32::<0xB1>(_mm512_mask_blend_epi32(0x5555, a, b));
        let u = _mm512_mask_blend_epi32(0xAAAA, a, b);
        _mm512_add_epi32(t, u)
    };
    let b = [
        fold128(a[0], a[1]),
        fold128(a[2], a[3]),
        fold128(a[4], a[5]),
        fold128(a[6], a[7]),
    ];
    let c = [fold64(b[0], b[1]), fold64(b[2], b[3])];
    fold32(c[0], c[1])
}

/// `sum_i (w[i] + 128) x[i]` of one row (`w.len() == x.len()`, else 0).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn dot1(w: &[u8], x: &[i8]) -> i32 {
    let n = x.len();
    if w.len() != n {
        return 0;
    }
    let k80 = _mm512_set1_epi8(-128);
    let (wp, xp) = (w.as_ptr().cast::<i8>(), x.as_ptr());
    let mut acc = _mm512_setzero_si512();
    let full = n / 64;
    for c in 0..full {
        // SAFETY: `64 c + 64 <= n`, the length of both slices.
        let (wv, xc) = unsafe {
            (
                _mm512_loadu_epi8(wp.add(64 * c)),
                _mm512_loadu_epi8(xp.add(64 * c)),
            )
        };
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(wv, k80), xc);
    }
    let tail = n % 64;
    if tail != 0 {
        let m: __mmask64 = (1u64 << tail) - 1;
        // SAFETY: masked loads read only bytes `64 full .. n` of both slices.
        let (wv, xc) = unsafe {
            (
                _mm512_maskz_loadu_epi8(m, wp.add(64 * full)),
                _mm512_maskz_loadu_epi8(m, xp.add(64 * full)),
            )
        };
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(wv, k80), xc);
    }
    _mm512_reduce_add_epi32(acc)
}

/// 16 little-endian `i32` from 64 bytes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load16(bytes: &[u8; 4 * BLOCK]) -> __m512i {
    // SAFETY: reads exactly the 64 bytes of `bytes`. (`_mm512_loadu_si512` needs only
    // AVX-512 F, so it inlines here; `_mm512_loadu_epi8` needs BW and became a call.)
    unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

/// [`requantize`] of 16 lanes before saturation: the even lanes' results in the 8 `i64`
/// of the first vector, the odd lanes' in the second.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn requantize16(acc: __m512i, multipliers: &[u8; 4 * BLOCK], shifts: &[u8; BLOCK]) -> [__m512i; 2] {
    let m = load16(multipliers);
    // SAFETY: reads exactly the 16 bytes of `shifts`.
    let s = _mm512_cvtepu8_epi32(unsafe { _mm_loadu_si128(shifts.as_ptr().cast::<__m128i>()) });
    let one = _mm512_set1_epi64(1);
    let half = |acc: __m512i, m: __m512i, s: __m512i| {
        let p = _mm512_mul_epi32(acc, m); // exact: the low dwords, sign-extended
        let t = _mm512_add_epi64(_mm512_add_epi64(p, p), _mm512_srai_epi64::<63>(p));
        _mm512_srai_epi64::<1>(_mm512_add_epi64(_mm512_srav_epi64(t, s), one))
    };
    let even = half(acc, m, _mm512_maskz_mov_epi32(0x5555, s));
    let odd = half(
        _mm512_srli_epi64::<32>(acc),
        _mm512_srli_epi64::<32>(m),
        _mm512_srli_epi64::<32>(s),
    );
    [even, odd]
}

/// Clamps both halves of [`requantize16`] to `lo..=hi` and puts the lanes back in order.
#[inline]
#[target_feature(enable = "avx512f")]
fn clamp_merge(v: [__m512i; 2], lo: i64, hi: i64) -> __m512i {
    let (lo, hi) = (_mm512_set1_epi64(lo), _mm512_set1_epi64(hi));
    let clamp = |x: __m512i| _mm512_min_epi64(_mm512_max_epi64(x, lo), hi);
    let [even, odd] = v;
    _mm512_mask_blend_epi32(0xAAAA, clamp(even), _mm512_slli_epi64::<32>(clamp(odd)))
}

/// The thresholds as an implicit binary tree for the lane-wise search. Node `h` (1 to 255)
/// at depth `d` (`2^d <= h < 2^(d+1)`) is the probe of step `d` of the scalar search
/// after `count = (h - 2^d) * 2^(8-d)`: threshold `count + 2^(7-d) - 1`.
pub(crate) struct Tree {
    /// The first threshold in every lane (values below it are black).
    first: __m512i,
    /// Nodes 1..16 (lane `h`; lane 0 unused).
    top: __m512i,
    /// Nodes 16..32.
    d4: __m512i,
    /// Nodes 32..64.
    d5: [__m512i; 2],
    /// Nodes 64..128.
    d6: [__m512i; 4],
    /// Nodes 128..256.
    d7: [__m512i; 8],
}

impl Tree {
    /// Built with 31 permutes from the 255 thresholds (`table`: little-endian `i32`)
    /// plus a 256th of `i32::MAX`, which no probe reads.
    #[target_feature(enable = "avx512f")]
    fn new(table: &[u8; 4 * NUM_THRESHOLDS]) -> Self {
        let (chunks, last) = table.as_chunks::<{ 4 * BLOCK }>();
        let mut r = [_mm512_set1_epi32(i32::MAX); BLOCK];
        for (v, c) in r.iter_mut().zip(chunks) {
            *v = load16(c);
        }
        // The last 15 thresholds, then i32::MAX.
        let mut tail = [0u8; 4 * BLOCK];
        for (d, s) in tail.iter_mut().zip(last) {
            *d = *s;
        }
        tail[4 * NUM_THRESHOLDS % (4 * BLOCK)..].copy_from_slice(&i32::MAX.to_le_bytes());
        r[BLOCK - 1] = load16(&tail);
        let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        let e = |a: __m512i, b: __m512i| _mm512_permutex2var_epi32(a, evens, b);
        let o = |a: __m512i, b: __m512i| _mm512_permutex2var_epi32(a, odds, b);
        // d7[m][i] = t[32m + 2i]; o1[m][i] = t[32m + 1 + 2i].
        let d7: [__m512i; 8] = core::array::from_fn(|m| e(r[2 * m], r[2 * m + 1]));
        let o1: [__m512i; 8] = core::array::from_fn(|m| o(r[2 * m], r[2 * m + 1]));
        // d6[q][i] = t[64q + 1 + 4i]; o2[q][i] = t[64q + 3 + 4i].
        let d6: [__m512i; 4] = core::array::from_fn(|q| e(o1[2 * q], o1[2 * q + 1]));
        let o2: [__m512i; 4] = core::array::from_fn(|q| o(o1[2 * q], o1[2 * q + 1]));
        // d5[r][i] = t[128r + 3 + 8i]; o3[r][i] = t[128r + 7 + 8i].
        let d5: [__m512i; 2] = core::array::from_fn(|q| e(o2[2 * q], o2[2 * q + 1]));
        let o3: [__m512i; 2] = core::array::from_fn(|q| o(o2[2 * q], o2[2 * q + 1]));
        // d4[i] = t[16i + 7]; s[i] = t[16i + 15].
        let d4 = e(o3[0], o3[1]);
        let s = o(o3[0], o3[1]);
        // Node 1: t[127]; 2, 3: t[63], t[191]; 4..8: t[31 + 64k]; 8..16: t[15 + 32k].
        let top = _mm512_permutexvar_epi32(
            _mm512_setr_epi32(0, 7, 3, 11, 1, 5, 9, 13, 0, 2, 4, 6, 8, 10, 12, 14),
            s,
        );
        Tree {
            first: _mm512_permutexvar_epi32(_mm512_setzero_si512(), r[0]),
            top,
            d4,
            d5,
            d6,
            d7,
        }
    }

    /// `256 +` the pixel of each lane of `v` (the number of thresholds `<= v`), for `N`
    /// vectors in lockstep, so that the core works on `N` independent chains of lookups.
    ///
    /// No mask registers: `v < node` is the sign bit of `(v & !node) | (!(v ^ node) &
    /// (v - node))`, exact for all `i32` (the first term decides when the signs differ and
    /// `v - node` could overflow), one subtraction and one `VPTERNLOGD`; each step is
    /// `h = 2h + 1 - (v < node)`, and a choice between two lookups by a bit of `h` is a
    /// `VPTERNLOGD` on that bit spread over the lane.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn search<const N: usize>(&self, v: [__m512i; N]) -> [__m512i; N] {
        let one = _mm512_set1_epi32(1);
        let step = |h: [__m512i; N], node: [__m512i; N]| -> [__m512i; N] {
            core::array::from_fn(|i| {
                let diff = _mm512_sub_epi32(v[i], node[i]);
                let below = _mm512_ternarylogic_epi32::<0xB2>(v[i], node[i], diff);
                let next = _mm512_add_epi32(_mm512_add_epi32(h[i], h[i]), one);
                _mm512_sub_epi32(next, _mm512_srli_epi32::<31>(below))
            })
        };
        // `spread` all ones: `b`, else `a`.
        let pick = |spread: __m512i, a: __m512i, b: __m512i| {
            _mm512_ternarylogic_epi32::<0xAC>(spread, a, b)
        };
        let p2 = |a: __m512i, h: __m512i, b: __m512i| _mm512_permutex2var_epi32(a, h, b);
        let mut h = [one; N];
        for _ in 0..4 {
            h = step(h, h.map(|h| _mm512_permutexvar_epi32(h, self.top)));
        }
        h = step(h, h.map(|h| _mm512_permutexvar_epi32(h, self.d4)));
        h = step(h, h.map(|h| p2(self.d5[0], h, self.d5[1])));
        // Nodes 64..128: bit 5 of `h` picks the pair of tables.
        let d6 = &self.d6;
        h = step(
            h,
            h.map(|h| {
                let bit5 = _mm512_srai_epi32::<31>(_mm512_slli_epi32::<26>(h));
                pick(bit5, p2(d6[0], h, d6[1]), p2(d6[2], h, d6[3]))
            }),
        );
        // Nodes 128..256: bits 5 and 6.
        let d7 = &self.d7;
        step(
            h,
            h.map(|h| {
                let bit5 = _mm512_srai_epi32::<31>(_mm512_slli_epi32::<26>(h));
                let bit6 = _mm512_srai_epi32::<31>(_mm512_slli_epi32::<25>(h));
                let lo = pick(bit5, p2(d7[0], h, d7[1]), p2(d7[2], h, d7[3]));
                let hi = pick(bit5, p2(d7[4], h, d7[5]), p2(d7[6], h, d7[7]));
                pick(bit6, lo, hi)
            }),
        )
    }
}

// Every pixel block is in a lockstep group.
const _: () =
    assert!(PIXEL_BLOCKS * BLOCK == IMAGE_PIXELS && PIXEL_BLOCKS.is_multiple_of(LOCKSTEP));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;
    use crate::kernel::{dense_portable, dense_ref, sigmoid_pixel};
    use std::vec::Vec;

    fn vnni_or_skip(test: &str) -> Option<Vnni> {
        let v = Vnni::detect();
        if v.is_none() {
            std::eprintln!("{test}: no AVX-512 VNNI on this CPU; skipped");
        }
        v
    }

    fn lanes(v: __m512i) -> [i32; BLOCK] {
        let mut out = [0i32; BLOCK];
        // SAFETY: `out` is 64 bytes; `_mm512_storeu_epi32` needs only AVX-512 F, which
        // the callers checked.
        unsafe { _mm512_storeu_epi32(out.as_mut_ptr(), v) };
        out
    }

    fn bytes_of(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// The vector requantization (and its saturation) against `requantize`, at the edges
    /// and at random: every multiplier but `i32::MIN` (blobs have positive ones), shifts
    /// past 63 too.
    #[test]
    fn requantize16_matches_scalar() {
        if vnni_or_skip("requantize16_matches_scalar").is_none() {
            return;
        }
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -65537,
            -2,
            -1,
            0,
            1,
            2,
            65535,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mut rng = Rng::new(11);
        let check = |acc: [i32; BLOCK], m: [i32; BLOCK], s: [u8; BLOCK]| {
            let (mb, accb) = (bytes_of(&m), bytes_of(&acc));
            let (mb, accb) = (mb.first_chunk().unwrap(), accb.first_chunk().unwrap());
            // SAFETY: the CPU has the features (checked above).
            let got = unsafe {
                lanes(clamp_merge(
                    requantize16(load16(accb), mb, &s),
                    i64::from(i32::MIN),
                    i64::from(i32::MAX),
                ))
            };
            for j in 0..BLOCK {
                assert_eq!(
                    got[j],
                    requantize(acc[j], m[j], s[j]),
                    "{} {} {}",
                    acc[j],
                    m[j],
                    s[j]
                );
            }
        };
        for &a in &edges {
            for &m in edges.iter().filter(|&&m| m != i32::MIN) {
                for s0 in (0..=80u8).step_by(BLOCK) {
                    check(
                        [a; BLOCK],
                        [m; BLOCK],
                        core::array::from_fn(|j| s0 + j as u8),
                    );
                }
            }
        }
        for _ in 0..20_000 {
            let acc = core::array::from_fn(|_| rng.next_u32() as i32 >> (rng.next_u32() % 32));
            let m = core::array::from_fn(|_| {
                (rng.next_u32() as i32 >> (rng.next_u32() % 32)).max(i32::MIN + 1)
            });
            let s = core::array::from_fn(|_| (rng.next_u32() % 70) as u8);
            check(acc, m, s);
        }
    }

    /// The lane-wise search against `sigmoid_pixel`: random tables with repeats and the
    /// `i32` extremes, probes at, just below and just above every threshold.
    #[test]
    fn tree_search_matches_sigmoid_pixel() {
        if vnni_or_skip("tree_search_matches_sigmoid_pixel").is_none() {
            return;
        }
        let mut rng = Rng::new(12);
        for case in 0..60 {
            let mut t: Vec<i32> = (0..NUM_THRESHOLDS)
                .map(|_| (rng.next_u32() as i32) >> (rng.next_u32() % 32))
                .collect();
            if case % 3 == 0 {
                t[0] = i32::MIN;
                t[NUM_THRESHOLDS - 1] = i32::MAX;
            }
            t.sort_unstable();
            if case % 2 == 0 {
                t[7] = t[6];
                t[200] = t[199];
                t[201] = t[199];
            }
            let table_bytes = bytes_of(&t);
            let table: &[u8; 4 * NUM_THRESHOLDS] = table_bytes.as_slice().try_into().unwrap();
            let mut probes: Vec<i32> = t
                .iter()
                .flat_map(|&v| [v, v.saturating_sub(1), v.saturating_add(1)])
                .collect();
            probes.extend([i32::MIN, i32::MAX, 0, -1, 1]);
            probes.resize(probes.len().next_multiple_of(BLOCK * LOCKSTEP), 0);
            for group in probes.chunks_exact(BLOCK * LOCKSTEP) {
                let v: [__m512i; LOCKSTEP] = core::array::from_fn(|k| {
                    let b = bytes_of(&group[BLOCK * k..BLOCK * (k + 1)]);
                    // SAFETY: the CPU has the features (checked above).
                    unsafe { load16(b.as_slice().try_into().unwrap()) }
                });
                // SAFETY: as above.
                let found = unsafe { Tree::new(table).search(v) };
                for (k, f) in found.iter().enumerate() {
                    let f = lanes(*f);
                    for j in 0..BLOCK {
                        let value = group[BLOCK * k + j];
                        assert_eq!(
                            f[j] - 256,
                            i32::from(sigmoid_pixel(table, value)),
                            "{value}"
                        );
                    }
                }
            }
        }
    }

    /// `Vnni::dense` against `dense_ref` and the portable loops: row counts around
    /// multiples of 16, widths around 32 and multiples of 64, the largest products.
    #[test]
    fn dense_matches_reference() {
        let Some(vnni) = vnni_or_skip("dense_matches_reference") else {
            return;
        };
        let mut rng = Rng::new(13);
        for rows in [0, 1, 15, 16, 17, 33, 48] {
            for n in [
                1, 2, 20, 31, 32, 33, 63, 64, 65, 100, 128, 255, 256, 257, 600,
            ] {
                let extra = (rng.next_u32() as usize) % n;
                let w: Vec<u8> = (0..rows * n + extra)
                    .map(|_| rng.next_u32() as u8)
                    .collect();
                let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
                let (mut fast, mut portable, mut slow) = (Vec::new(), Vec::new(), Vec::new());
                vnni.dense(&w, &x, &mut |a| fast.push(a));
                dense_portable(&w, &x, |a| portable.push(a));
                dense_ref(&w, &x, |a| slow.push(a));
                assert_eq!(fast, slow, "rows {rows} n {n}");
                assert_eq!(portable, slow, "rows {rows} n {n}");
            }
        }
        for n in [20, 32, 256, 1000] {
            let w = std::vec![0x80u8; 17 * n];
            let x = std::vec![-128i8; n];
            let mut out = Vec::new();
            vnni.dense(&w, &x, &mut |a| out.push(a));
            assert_eq!(out, std::vec![16384 * n as i32; 17], "n {n}");
        }
    }
}
