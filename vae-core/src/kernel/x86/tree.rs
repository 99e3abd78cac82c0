//! The pixel layer's threshold search in vector form: the thresholds as an implicit
//! binary tree, searched lane-wise.

use core::arch::x86_64::*;

use super::BLOCK;
use super::requant::load16;
use crate::format::NUM_THRESHOLDS;

/// The thresholds as an implicit binary tree for the lane-wise search. Node `h` (1 to 255)
/// at depth `d` (`2^d <= h < 2^(d+1)`) is the probe of step `d` of the scalar search
/// after `count = (h - 2^d) * 2^(8-d)`: threshold `count + 2^(7-d) - 1`.
pub(super) struct Tree {
    /// The first threshold in every lane (values below it are black).
    pub(super) first: __m512i,
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
    pub(super) fn new(table: &[u8; 4 * NUM_THRESHOLDS]) -> Self {
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
    pub(super) fn search<const N: usize>(&self, v: [__m512i; N]) -> [__m512i; N] {
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
