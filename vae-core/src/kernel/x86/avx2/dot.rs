//! AVX2 dot products: eight rows per pass, 16 inputs per step, every product exact.
//!
//! Each step sign-extends 16 input bytes and 16 weight bytes of a row to `i16`
//! (`VPMOVSXBW`) and multiplies them with `VPMADDWD`, which adds adjacent products into
//! `i32` lanes: `|w x| <= 2^14`, so a pair sum (at most 2^15) is exact, unlike
//! `VPMADDUBSW`'s saturating `i16` sums. The accumulators add modulo 2^32, as the
//! portable kernels do; a parsed blob's true sums fit in `i32`, so the order of the
//! additions does not matter. Inputs past a multiple of 16 go through
//! [`dot_ref`](crate::kernel::dot_ref).

use core::arch::x86_64::*;

use crate::kernel::dot_ref;

/// Rows per pass.
pub(super) const ROWS: usize = 8;

/// 16 bytes at `p` sign-extended to 16 `i16`.
///
/// # Safety
/// `p .. p + 16` must be readable.
#[inline(always)]
unsafe fn widen16(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees the 16 bytes; the load is unaligned.
    unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(p.cast::<__m128i>())) }
}

/// The eight lanes' sums of each of eight accumulators: lane `r` of the result is the
/// sum of `acc[r]`'s lanes (modulo 2^32).
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn reduce8(acc: &[__m256i; ROWS]) -> __m256i {
    let h01 = _mm256_hadd_epi32(acc[0], acc[1]);
    let h23 = _mm256_hadd_epi32(acc[2], acc[3]);
    let h45 = _mm256_hadd_epi32(acc[4], acc[5]);
    let h67 = _mm256_hadd_epi32(acc[6], acc[7]);
    // Lane r (r < 4) of the 128-bit halves: rows 0..4's partial sums; high half likewise.
    let h0123 = _mm256_hadd_epi32(h01, h23);
    let h4567 = _mm256_hadd_epi32(h45, h67);
    let lo = _mm256_permute2x128_si256::<0x20>(h0123, h4567);
    let hi = _mm256_permute2x128_si256::<0x31>(h0123, h4567);
    _mm256_add_epi32(lo, hi)
}

/// Horizontal sum of eight `i32` lanes (modulo 2^32).
#[inline]
#[target_feature(enable = "avx2")]
fn reduce1(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// The dot products of rows `0..8` of `block` with `x` (`block.len() >= 8 * x.len()`,
/// checked), lane `r` for row `r`; `None` when `block` is too short.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn dot8_rows(block: &[u8], x: &[i8]) -> Option<__m256i> {
    let n = x.len();
    let rows = block.get(..ROWS.checked_mul(n)?)?;
    let steps = n / 16;
    let mut acc = [_mm256_setzero_si256(); ROWS];
    let (w, xp) = (rows.as_ptr(), x.as_ptr().cast::<u8>());
    for s in 0..steps {
        let i = 16 * s;
        // SAFETY: i + 16 <= n: the 16 bytes of x from i are inside `x`.
        let xv = unsafe { widen16(xp.add(i)) };
        for (r, a) in acc.iter_mut().enumerate() {
            // SAFETY: r * n + i + 16 <= 8 n = rows.len(): inside `rows`.
            let wv = unsafe { widen16(w.add(r * n + i)) };
            *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv));
        }
    }
    let mut sums = reduce8(&acc);
    let head = 16 * steps;
    if head < n {
        let tail_x = x.get(head..).unwrap_or_default();
        let mut tails = [0i32; ROWS];
        for (r, t) in tails.iter_mut().enumerate() {
            let row = rows.get(r * n + head..(r + 1) * n).unwrap_or_default();
            *t = dot_ref(row, tail_x);
        }
        // SAFETY: reads exactly the 32 bytes of `tails`.
        let tv = unsafe { _mm256_loadu_si256(tails.as_ptr().cast::<__m256i>()) };
        sums = _mm256_add_epi32(sums, tv);
    }
    Some(sums)
}

/// One row's dot product with `x` over their common length.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn dot1(row: &[u8], x: &[i8]) -> i32 {
    let n = row.len().min(x.len());
    let steps = n / 16;
    let mut acc = _mm256_setzero_si256();
    let (w, xp) = (row.as_ptr(), x.as_ptr().cast::<u8>());
    for s in 0..steps {
        let i = 16 * s;
        // SAFETY: i + 16 <= n <= both lengths.
        let (wv, xv) = unsafe { (widen16(w.add(i)), widen16(xp.add(i))) };
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(wv, xv));
    }
    let head = 16 * steps;
    reduce1(acc).wrapping_add(dot_ref(
        row.get(head..n).unwrap_or_default(),
        x.get(head..n).unwrap_or_default(),
    ))
}

/// `sink(dot(row_j, x))` for every whole row of `weights`, in order; eight rows per pass,
/// then the leftover rows one at a time. `x` must be non-empty.
#[target_feature(enable = "avx2")]
pub(super) fn dense_layer(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    let n = x.len();
    let mut blocks = weights.chunks_exact(ROWS * n);
    for block in blocks.by_ref() {
        if let Some(sums) = dot8_rows(block, x) {
            let mut lanes = [0i32; ROWS];
            // SAFETY: writes exactly the 32 bytes of `lanes`.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), sums) };
            for v in lanes {
                sink(v);
            }
        }
    }
    for row in blocks.remainder().chunks_exact(n) {
        sink(dot1(row, x));
    }
}
