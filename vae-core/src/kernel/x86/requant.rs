//! The fixed-point requantization of 16 lanes at once, and the loads it starts from.

use core::arch::x86_64::*;

use super::BLOCK;

/// 16 little-endian `i32` from 64 bytes.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn load16(bytes: &[u8; 4 * BLOCK]) -> __m512i {
    // SAFETY: reads exactly the 64 bytes of `bytes`. (`_mm512_loadu_si512` needs only
    // AVX-512 F, so it inlines here; `_mm512_loadu_epi8` needs BW and became a call.)
    unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

/// [`requantize`] of 16 lanes before saturation: the even lanes' results in the 8 `i64`
/// of the first vector, the odd lanes' in the second.
///
/// [`requantize`]: crate::kernel::requantize
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn requantize16(
    acc: __m512i,
    multipliers: &[u8; 4 * BLOCK],
    shifts: &[u8; BLOCK],
) -> [__m512i; 2] {
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
pub(super) fn clamp_merge(v: [__m512i; 2], lo: i64, hi: i64) -> __m512i {
    let (lo, hi) = (_mm512_set1_epi64(lo), _mm512_set1_epi64(hi));
    let clamp = |x: __m512i| _mm512_min_epi64(_mm512_max_epi64(x, lo), hi);
    let [even, odd] = v;
    _mm512_mask_blend_epi32(0xAAAA, clamp(even), _mm512_slli_epi64::<32>(clamp(odd)))
}
