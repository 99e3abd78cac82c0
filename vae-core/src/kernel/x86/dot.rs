//! The dot products of the AVX-512 VNNI kernels: 16 rows at a time with `VPDPBUSD`,
//! reduced to one vector of 16 sums; the plain dense layer on top of them.

use core::arch::x86_64::*;

use super::{ACC_OF_ROW, BLOCK};

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn dense_layer(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
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

/// `-128 * sum x` (wrapping): what `sum (w + 128) x` has on top of `sum w x`.
pub(super) fn correction(x: &[i8]) -> i32 {
    let sum = x.iter().fold(0i32, |s, &v| s.wrapping_add(i32::from(v)));
    sum.wrapping_mul(-128)
}

/// `f(b, sums)` for the first `blocks` blocks of 16 rows of `weights` (rows of
/// `x.len() >= 1` bytes), where lane `r` of `sums` is `sum_i (w[16 b + r][i] + 128) x[i]`;
/// stops early if `weights` is too short.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn for_each_block(
    weights: &[u8],
    x: &[i8],
    blocks: usize,
    f: impl FnMut(usize, __m512i),
) {
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
pub(super) fn blocks_wide(
    weights: &[u8],
    x: &[i8],
    blocks: usize,
    mut f: impl FnMut(usize, __m512i),
) {
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
pub(super) fn blocks_paired(
    weights: &[u8],
    x: &[i8],
    blocks: usize,
    mut f: impl FnMut(usize, __m512i),
) {
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
pub(super) fn reduce16(v: [__m512i; BLOCK]) -> __m512i {
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
pub(super) fn reduce_halves(a: [__m512i; BLOCK / 2]) -> __m512i {
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
pub(super) fn dot1(w: &[u8], x: &[i8]) -> i32 {
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
