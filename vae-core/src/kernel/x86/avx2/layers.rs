//! Whole layers on AVX2: the dot products eight rows at a time ([`dot8_rows`]), then the
//! requantization, ReLU and threshold search of those eight rows in vector form.
//!
//! * [`requantize`](crate::kernel::requantize) ([`requantize8`]): the 64-bit products of
//!   `VPMULDQ` (even and odd lanes apart), then `((2p - (p < 0)) >> n + 1) >> 1` as in
//!   the AVX-512 tier (see module `x86`). AVX2 has no 64-bit arithmetic shift, so
//!   `t >> n` is `((t ^ s) >>> n) ^ s` with `s` the sign mask of `t` (`VPCMPGTQ`) and
//!   `>>>` the logical `VPSRLVQ`; counts past 63 give `0 ^ s`, the sign fill that the
//!   scalar clamp to 63 gives. The final halving and the saturation to `i32` work on
//!   32-bit lanes: the low word of `w >> 1` is bits 1..33 of `w`, its high word the
//!   high word of `w` shifted arithmetically by one, and the value fits in `i32`
//!   exactly when that high word is the sign of the low word. Exact whenever `2p` fits
//!   in `i64`, i.e. unless `acc == multiplier == i32::MIN` (a parsed blob's multipliers
//!   are positive).
//! * [`relu_q`](crate::kernel::relu_q) as `clamp(v, 0, 127 - zp) + zp`.
//! * [`sigmoid_pixel`](crate::kernel::sigmoid_pixel): the same eight probes, lane-wise.
//!   The first four levels of the search tree (15 thresholds) sit in two registers
//!   (`VPERMD` by the node index), the last four probes are `VPGATHERDD` loads from the
//!   table, seven blocks in lockstep (independent chains of lookups); a group of seven
//!   blocks below the first threshold is black without a search.

use core::arch::x86_64::*;

use super::dot::{ROWS, dot1, dot8_rows};
use crate::IMAGE_PIXELS;
use crate::format::NUM_THRESHOLDS;
use crate::kernel::x86::rows::Rows;
use crate::kernel::{relu_q, requantize};

/// Eight little-endian `i32` from bytes `32 b .. 32 b + 32` of `s`; `None` past its end.
#[inline]
#[target_feature(enable = "avx2")]
fn load8(s: &[u8], b: usize) -> Option<__m256i> {
    let c = s.get(4 * ROWS * b..)?.first_chunk::<{ 4 * ROWS }>()?;
    // SAFETY: reads exactly the 32 bytes of `c`.
    Some(unsafe { _mm256_loadu_si256(c.as_ptr().cast::<__m256i>()) })
}

/// The per-row parameters of rows `8 b .. 8 b + 8`, one row per lane.
pub(super) struct Params8 {
    /// Bias plus class bias.
    pub(super) add: __m256i,
    /// Multipliers.
    pub(super) m: __m256i,
    /// Shifts, zero-extended.
    pub(super) s: __m256i,
}

/// [`Params8`] of block `b`; `None` when the arrays end before it.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn params8(rows: &Rows<'_>, b: usize) -> Option<Params8> {
    let mut add = load8(rows.bias, b)?;
    if !rows.class_bias.is_empty() {
        add = _mm256_add_epi32(add, load8(rows.class_bias, b)?);
    }
    let shifts = rows.shifts.get(ROWS * b..)?.first_chunk::<ROWS>()?;
    // SAFETY: reads exactly the 8 bytes of `shifts`.
    let s = unsafe { _mm_loadl_epi64(shifts.as_ptr().cast::<__m128i>()) };
    Some(Params8 {
        add,
        m: load8(rows.multipliers, b)?,
        s: _mm256_cvtepu8_epi32(s),
    })
}

/// [`requantize`] of eight lanes, saturated to `i32` (see the module docs).
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn requantize8(acc: __m256i, m: __m256i, s: __m256i) -> __m256i {
    let (even, odd) = rounded_halves(acc, m, s);
    let lo = low_words(even, odd);
    // `w >> 1`'s high words (w's high word >> 1): the value fits in `i32` exactly when
    // they are the sign of the low words.
    let hi = _mm256_srai_epi32::<1>(_mm256_blend_epi32::<0xAA>(
        _mm256_srli_epi64::<32>(even),
        odd,
    ));
    let fits = _mm256_cmpeq_epi32(hi, _mm256_srai_epi32::<31>(lo));
    let saturated = _mm256_xor_si256(_mm256_srai_epi32::<31>(hi), _mm256_set1_epi32(i32::MAX));
    _mm256_blendv_epi8(saturated, lo, fits)
}

/// [`requantize8`] for rows whose values fit in `i32`, unsaturated: exact for every sum
/// when each row's shift is at least 32 (a multiplier below `2^31` makes
/// `|acc * m / 2^s| <= 2^30`).
#[cfg(any(test, feature = "quantize"))]
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn requantize8_fitting(acc: __m256i, m: __m256i, s: __m256i) -> __m256i {
    let (even, odd) = rounded_halves(acc, m, s);
    low_words(even, odd)
}

/// `w = (t >> n) + 1` in 64 bits (`t = 2p - (p < 0)`, `p = acc * m`), for the even
/// lanes (the low words of each pair) and the odd ones.
#[inline]
#[target_feature(enable = "avx2")]
fn rounded_halves(acc: __m256i, m: __m256i, s: __m256i) -> (__m256i, __m256i) {
    let zero = _mm256_setzero_si256();
    let one = _mm256_set1_epi64x(1);
    let half = |acc: __m256i, m: __m256i, s: __m256i| {
        let p = _mm256_mul_epi32(acc, m); // exact: the low words, sign-extended
        let sign = _mm256_cmpgt_epi64(zero, p);
        let t = _mm256_add_epi64(_mm256_add_epi64(p, p), sign); // 2p - (p < 0)
        let shifted = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(t, sign), s), sign);
        _mm256_add_epi64(shifted, one)
    };
    let even = half(acc, m, _mm256_blend_epi32::<0xAA>(s, zero));
    let odd = half(
        _mm256_srli_epi64::<32>(acc),
        _mm256_srli_epi64::<32>(m),
        _mm256_srli_epi64::<32>(s),
    );
    (even, odd)
}

/// The low words of `w >> 1` (bits 1..33 of `w`), lane by lane.
#[inline]
#[target_feature(enable = "avx2")]
fn low_words(even: __m256i, odd: __m256i) -> __m256i {
    _mm256_blend_epi32::<0xAA>(_mm256_srli_epi64::<1>(even), _mm256_slli_epi64::<31>(odd))
}

/// The low bytes of eight `i32` lanes (each in `-128..=127`, or `0..=255` when
/// `UNSIGNED`), in lane order.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn bytes8<const UNSIGNED: bool>(v: __m256i) -> [u8; ROWS] {
    let w = _mm256_packs_epi32(v, v); // i16: lanes 0..4 twice, then 4..8 twice
    let b = if UNSIGNED {
        _mm256_packus_epi16(w, w)
    } else {
        _mm256_packs_epi16(w, w)
    };
    let r = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256::<1>(b));
    let mut out = [0u8; ROWS];
    // SAFETY: writes exactly the 8 bytes of `out`.
    unsafe { _mm_storel_epi64(out.as_mut_ptr().cast::<__m128i>(), r) };
    out
}

/// A hidden layer: `out[j] = relu_q(requantize(dot_j + bias_j + class_bias_j, m_j, n_j),
/// zero_point)`; `rows` is checked against `x.len()` and `out.len()` rows.
#[target_feature(enable = "avx2")]
pub(super) fn hidden_layer(rows: &Rows<'_>, x: &[i8], zero_point: i8, out: &mut [i8]) {
    let n = x.len();
    let zp = i32::from(zero_point);
    let (floor, ceil) = (_mm256_setzero_si256(), _mm256_set1_epi32(127 - zp));
    let zpv = _mm256_set1_epi32(zp);
    let (blocks, _) = out.as_chunks_mut::<ROWS>();
    let whole = blocks.len();
    for (b, dst) in blocks.iter_mut().enumerate() {
        let weights = rows.weights.get(b * ROWS * n..).unwrap_or_default();
        if let (Some(sums), Some(p)) = (dot8_rows(weights, x), params8(rows, b)) {
            let v = requantize8(_mm256_add_epi32(sums, p.add), p.m, p.s);
            let v = _mm256_min_epi32(_mm256_max_epi32(v, floor), ceil);
            *dst = bytes8::<false>(_mm256_add_epi32(v, zpv)).map(|c| c as i8);
        }
    }
    for (j, slot) in out.iter_mut().enumerate().skip(ROWS * whole) {
        if let (Some(w), Some((bias, m, s))) = (rows.row_weights(j), rows.row(j)) {
            *slot = relu_q(requantize(dot1(w, x).wrapping_add(bias), m, s), zero_point);
        }
    }
}

/// Blocks of eight pixels in an image.
pub(super) const PIXEL_BLOCKS: usize = IMAGE_PIXELS / ROWS;

/// The pixel layer: `out[j] = sigmoid_pixel(thresholds, requantize(dot_j + bias_j +
/// class_bias_j, m_j, n_j))`; `rows` is checked against `x.len()` and [`IMAGE_PIXELS`]
/// rows.
#[target_feature(enable = "avx2")]
pub(super) fn pixel_layer(
    rows: &Rows<'_>,
    x: &[i8],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    let n = x.len();
    // All values first, then the searches in lockstep groups (independent chains of
    // lookups, no branch per block).
    let mut values = [_mm256_setzero_si256(); PIXEL_BLOCKS];
    for (b, slot) in values.iter_mut().enumerate() {
        let weights = rows.weights.get(b * ROWS * n..).unwrap_or_default();
        if let (Some(sums), Some(p)) = (dot8_rows(weights, x), params8(rows, b)) {
            *slot = requantize8(_mm256_add_epi32(sums, p.add), p.m, p.s);
        }
    }
    search_pixels(&values, table, out);
}

/// The pixels of the values of every block of an image (`values[b]` for pixels `8 b ..
/// 8 b + 8`): the searches in lockstep groups (independent chains of lookups, no branch
/// per block).
#[target_feature(enable = "avx2")]
pub(super) fn search_pixels(
    values: &[__m256i; PIXEL_BLOCKS],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    let search = Search::new(table);
    let (blocks, _) = out.as_chunks_mut::<ROWS>();
    let (dsts, _) = blocks.as_chunks_mut::<LOCKSTEP>();
    let (groups, _) = values.as_chunks::<LOCKSTEP>();
    for (dst, v) in dsts.iter_mut().zip(groups) {
        // A group whose values are all below the first threshold is black (the top and
        // bottom image rows usually are).
        let black = v.iter().fold(_mm256_set1_epi32(-1), |acc, &v| {
            _mm256_and_si256(acc, _mm256_cmpgt_epi32(search.first, v))
        });
        if _mm256_movemask_epi8(black) == -1 {
            dst.as_flattened_mut().fill(0);
            continue;
        }
        for (d, p) in dst.iter_mut().zip(search.counts(*v)) {
            *d = bytes8::<true>(p);
        }
    }
}

/// Pixel blocks searched in lockstep (98 = 14 x 7; seven blocks are two image rows).
const LOCKSTEP: usize = 7;

// Every pixel block is in a lockstep group.
const _: () = assert!(PIXEL_BLOCKS.is_multiple_of(LOCKSTEP));

// The image is whole blocks of eight pixels (no scalar rest in `pixel_layer`).
const _: () = assert!(PIXEL_BLOCKS * ROWS == IMAGE_PIXELS);

/// The threshold search, eight values at a time: the scalar search's probes, the first
/// four levels from registers, the last four gathered from the table.
pub(super) struct Search<'t> {
    /// The table (255 little-endian `i32`).
    table: &'t [u8; 4 * NUM_THRESHOLDS],
    /// The first threshold in every lane (values below it are black).
    first: __m256i,
    /// Nodes 1..8 of the search tree in lanes 1..8 (lane 0 unused): node `h` at depth
    /// `d` probes threshold `(h - 2^d) 2^(8 - d) + 2^(7 - d) - 1`.
    top: __m256i,
    /// Nodes 8..16 in lanes 0..8.
    level3: __m256i,
}

impl<'t> Search<'t> {
    /// The registers of the first four levels, from `table`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn new(table: &'t [u8; 4 * NUM_THRESHOLDS]) -> Self {
        let (t, _) = table.as_chunks::<4>();
        let at = |i: usize| t.get(i).map_or(i32::MAX, |b| i32::from_le_bytes(*b));
        Search {
            table,
            first: _mm256_set1_epi32(at(0)),
            top: _mm256_setr_epi32(
                0,
                at(127),
                at(63),
                at(191),
                at(31),
                at(95),
                at(159),
                at(223),
            ),
            level3: _mm256_setr_epi32(
                at(15),
                at(47),
                at(79),
                at(111),
                at(143),
                at(175),
                at(207),
                at(239),
            ),
        }
    }

    /// The pixels of each lane of `N` vectors (`sigmoid_pixel`'s, lane by lane, as `i32`),
    /// in lockstep: `N` independent chains of lookups.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn counts<const N: usize>(&self, v: [__m256i; N]) -> [__m256i; N] {
        let one = _mm256_set1_epi32(1);
        // h = 2h + (node <= v), from the root h = 1.
        let step = |h: [__m256i; N], node: [__m256i; N]| -> [__m256i; N] {
            core::array::from_fn(|i| {
                let above = _mm256_cmpgt_epi32(node[i], v[i]);
                _mm256_add_epi32(_mm256_add_epi32(h[i], h[i]), _mm256_add_epi32(one, above))
            })
        };
        let mut h = [one; N];
        for _ in 0..3 {
            h = step(h, h.map(|h| _mm256_permutevar8x32_epi32(self.top, h)));
        }
        // VPERMD reads h mod 8.
        h = step(h, h.map(|h| _mm256_permutevar8x32_epi32(self.level3, h)));
        // Now h = 16 + count / 16; the probes of steps 8, 4, 2, 1 are at count + step - 1.
        let sixteen = _mm256_set1_epi32(16);
        let mut count = h.map(|h| _mm256_slli_epi32::<4>(_mm256_sub_epi32(h, sixteen)));
        let base = self.table.as_ptr().cast::<i32>();
        for step in [8, 4, 2, 1] {
            let inc = _mm256_set1_epi32(step as i32);
            count = core::array::from_fn(|i| {
                // SAFETY: count + step - 1 <= 254 (count only collects the steps above
                // `step`, in multiples of `2 step`): the gathered `i32` lie inside
                // `table` (1020 bytes); unaligned elements are allowed.
                let node =
                    unsafe { _mm256_i32gather_epi32::<4>(base.wrapping_add(step - 1), count[i]) };
                let above = _mm256_cmpgt_epi32(node, v[i]);
                _mm256_add_epi32(count[i], _mm256_andnot_si256(above, inc))
            });
        }
        // Black below the first threshold, as `sigmoid_pixel` answers at once.
        core::array::from_fn(|i| {
            _mm256_andnot_si256(_mm256_cmpgt_epi32(self.first, v[i]), count[i])
        })
    }
}

/// The pixels of eight values through [`Search`] (for the tests).
#[cfg(test)]
#[target_feature(enable = "avx2")]
pub(super) fn search8(table: &[u8; 4 * NUM_THRESHOLDS], v: [i32; ROWS]) -> [u8; ROWS] {
    // SAFETY: reads exactly the 32 bytes of `v`.
    let v = unsafe { _mm256_loadu_si256(v.as_ptr().cast::<__m256i>()) };
    let [c] = Search::new(table).counts([v]);
    bytes8::<true>(c)
}
