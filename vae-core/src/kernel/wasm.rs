//! wasm32 simd128 dense kernel: four rows per pass, 16 inputs per step.
//!
//! simd128 is a compile-time target feature on wasm (`-C target-feature=+simd128`; there
//! is no run-time detection: a module using it does not validate on an engine without
//! it), so [`Simd128::new`] is unconditional.
//!
//! The results are [`dense_ref`](super::dense_ref)'s integers, bit for bit:
//!
//! * 16 bytes of the input and of each row are loaded as `i8x16` and sign-extended to two
//!   `i16x8` halves (`i16x8.extend_low/high_i8x16_s`). `i32x4.dot_i16x8_s` multiplies the
//!   `i16` lanes into exact 32-bit products and adds adjacent pairs in 32 bits, so nothing
//!   is ever summed in 16 bits (the trap of byte multiply-add instructions, whose pair
//!   sums saturate: `-128 * -128 * 2 = 32768`). The widened input is shared by the four
//!   rows of a pass.
//! * The four rows' accumulators are reduced together by two rounds of shuffles and
//!   adds, then each row's last `n % 16` inputs are added with
//!   [`dot_ref`](super::dot_ref). Every addition wraps modulo 2^32 like `dot_ref`'s and
//!   every product is exact, so the sums agree with `dot_ref` for any inputs, in any order
//!   of the additions (and a parsed blob never wraps at all).
//! * Rows left over after the last pass of four go one at a time through the same step.
//!
//! The whole-layer entry points ([`Simd128::hidden`], [`Simd128::pixels`]) are not taken:
//! the decoder runs those layers' rows through [`Simd128::dense`] and the portable
//! requantization, ReLU and threshold search.
//!
//! Safety: the only `unsafe` operation is the 16-byte load of a `[u8; 16]` / `[i8; 16]`
//! block of a checked slice (`v128.load` has no alignment requirement).

use core::arch::wasm32::{
    i16x8_extend_high_i8x16, i16x8_extend_low_i8x16, i32x4_add, i32x4_dot_i16x8,
    i32x4_extract_lane, i32x4_shuffle, i32x4_splat, v128, v128_load,
};

use super::dot_ref;
use crate::IMAGE_PIXELS;
use crate::format::Dense;

/// Proof that the CPU runs these kernels: made by [`Simd128::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Simd128(());

impl Simd128 {
    /// The kernels: simd128 is a compile-time target feature on wasm, so always there.
    #[inline]
    pub(crate) const fn new() -> Self {
        Simd128(())
    }

    /// [`dense`](crate::kernel::dense_ref)'s values: `sink(dot(row_j, x))` for every
    /// whole row, in order.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        let n = x.len();
        if n == 0 {
            return;
        }
        let (xb, x_tail) = x.as_chunks::<16>();
        let head = 16 * xb.len();
        let tail = |row: &[u8]| dot_ref(row.get(head..).unwrap_or(&[]), x_tail);
        let mut quads = weights.chunks_exact(4 * n);
        for quad in quads.by_ref() {
            let mut rows = quad.chunks_exact(n);
            if let (Some(r0), Some(r1), Some(r2), Some(r3)) =
                (rows.next(), rows.next(), rows.next(), rows.next())
            {
                let acc = dot4([r0, r1, r2, r3], xb);
                for (a, row) in acc.into_iter().zip([r0, r1, r2, r3]) {
                    sink(a.wrapping_add(tail(row)));
                }
            }
        }
        for row in quads.remainder().chunks_exact(n) {
            sink(dot1(row, xb).wrapping_add(tail(row)));
        }
    }

    /// A whole hidden layer; `false`: not taken (the rows go through [`Self::dense`]).
    pub(crate) fn hidden(self, _: &Dense<'_>, _: &[i8], _: &[u8], _: i8, _: &mut [i8]) -> bool {
        false
    }

    /// The whole last layer to pixels; `false`: not taken (the rows go through
    /// [`Self::dense`]).
    pub(crate) fn pixels(
        self,
        _: &Dense<'_>,
        _: &[i8],
        _: &[u8],
        _: &[u8],
        _: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        false
    }
}

/// 16 bytes as a vector.
#[inline(always)]
fn load<T>(block: &[T; 16]) -> v128 {
    const { assert!(size_of::<T>() == 1) };
    // SAFETY: `block` is 16 readable bytes (one-byte elements, checked above);
    // `v128.load` accepts any alignment.
    unsafe { v128_load(block.as_ptr().cast::<v128>()) }
}

/// `acc + sum of w[i] * x[i]` over 16 bytes, the input already widened to `(lo, hi)`.
#[inline(always)]
fn step(acc: v128, w: &[u8; 16], (lo, hi): (v128, v128)) -> v128 {
    let w = load(w);
    let d = i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), lo),
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), hi),
    );
    i32x4_add(acc, d)
}

/// The input block sign-extended to two `i16x8`.
#[inline(always)]
fn widen(x: &[i8; 16]) -> (v128, v128) {
    let x = load(x);
    (i16x8_extend_low_i8x16(x), i16x8_extend_high_i8x16(x))
}

/// Dot products of four rows with the first `16 * xb.len()` inputs.
#[inline(always)]
fn dot4(rows: [&[u8]; 4], xb: &[[i8; 16]]) -> [i32; 4] {
    let [b0, b1, b2, b3] = rows.map(|r| r.as_chunks::<16>().0);
    let mut acc = [i32x4_splat(0); 4];
    for ((((w0, w1), w2), w3), xs) in b0.iter().zip(b1).zip(b2).zip(b3).zip(xb) {
        let x = widen(xs);
        acc[0] = step(acc[0], w0, x);
        acc[1] = step(acc[1], w1, x);
        acc[2] = step(acc[2], w2, x);
        acc[3] = step(acc[3], w3, x);
    }
    // [a0 + a2 lanes interleaved with a1's], then the four rows' totals in lanes 0-3.
    let [a0, a1, a2, a3] = acc;
    let t0 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a0, a1),
        i32x4_shuffle::<2, 6, 3, 7>(a0, a1),
    );
    let t1 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a2, a3),
        i32x4_shuffle::<2, 6, 3, 7>(a2, a3),
    );
    let s = i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(t0, t1),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t1),
    );
    [
        i32x4_extract_lane::<0>(s),
        i32x4_extract_lane::<1>(s),
        i32x4_extract_lane::<2>(s),
        i32x4_extract_lane::<3>(s),
    ]
}

/// Dot product of one row with the first `16 * xb.len()` inputs.
#[inline(always)]
fn dot1(row: &[u8], xb: &[[i8; 16]]) -> i32 {
    let mut acc = i32x4_splat(0);
    for (w, xs) in row.as_chunks::<16>().0.iter().zip(xb) {
        acc = step(acc, w, widen(xs));
    }
    i32x4_extract_lane::<0>(acc)
        .wrapping_add(i32x4_extract_lane::<1>(acc))
        .wrapping_add(i32x4_extract_lane::<2>(acc))
        .wrapping_add(i32x4_extract_lane::<3>(acc))
}
