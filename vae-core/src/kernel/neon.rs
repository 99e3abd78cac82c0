//! AArch64 NEON dense kernels: four rows per pass, 16 inputs per instruction group, with
//! `SDOT` where the CPU has the dot-product extension.
//!
//! NEON (Advanced SIMD) is part of the AArch64 baseline, so [`Neon::detect`] always
//! answers `Some`; what it detects is the dot-product extension (`FEAT_DotProd`): at
//! compile time when the crate is built with `target_feature = "dotprod"` (e.g.
//! `-C target-cpu=neoverse-n1`), otherwise at run time with
//! `std::arch::is_aarch64_feature_detected!` (cargo feature `std`); without either the
//! plain NEON loop runs.
//!
//! The results are [`dense_ref`](super::dense_ref)'s integers, bit for bit:
//!
//! * Plain NEON: `SMULL`/`SMULL2` multiply 8 + 8 signed byte pairs into `i16` lanes. One
//!   product is always exact in `i16` (it lies in `[-16256, 16384]`), but the sum of two
//!   is not (`-128 * -128 * 2 = 32768`), so the products are never added in 16 bits:
//!   `SADALP` adds each adjacent pair of `i16` products, widened to 32 bits, into the `i32`
//!   accumulator lanes.
//! * Dot-product extension: `SDOT` adds four exact byte products into each `i32` lane.
//!   `vdotq_s32` is unstable in Rust 1.95, so the instruction is written with `asm!` in a
//!   function compiled with `#[target_feature(enable = "dotprod")]`.
//! * The lanes are summed with `ADDV`, then the row's last `n % 16` inputs are added with
//!   [`dot_ref`](super::dot_ref). Every addition wraps modulo 2^32 like `dot_ref`'s and
//!   every product is exact, so the sums agree with `dot_ref` for any inputs, whatever
//!   the order of the additions (and a parsed blob never wraps at all).
//!
//! The whole-layer entry points ([`Neon::hidden`], [`Neon::pixels`]) are not taken: the
//! decoder runs those layers' rows through [`Neon::dense`] and the portable epilogue.
//!
//! Safety: the `unsafe` operations are 16-byte loads from `[u8; 16]` / `[i8; 16]` blocks
//! of checked slices, register-only NEON intrinsics (Rust marks them `unsafe` outside
//! `#[target_feature(enable = "neon")]` functions even though every aarch64 target has
//! NEON), and the calls into the `dotprod` functions, made only when the extension was
//! detected.

use core::arch::aarch64::{
    int8x16_t, int32x4_t, vaddvq_s32, vdupq_n_s32, vget_low_s8, vld1q_s8, vmull_high_s8, vmull_s8,
    vpadalq_s16,
};
use core::arch::asm;

use super::dot_ref;
use crate::IMAGE_PIXELS;
use crate::format::Dense;

/// Proof that the CPU runs these kernels, and whether it has the dot-product extension:
/// made only by [`Neon::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Neon {
    /// `SDOT` is available (`FEAT_DotProd`).
    dotprod: bool,
}

/// Rows per pass.
const ROWS: usize = 4;

/// Inputs per vector.
const LANES: usize = 16;

impl Neon {
    /// Always `Some` (NEON is baseline on AArch64), with the dot-product extension when
    /// the crate is compiled with it or, with the `std` feature, the CPU reports it.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        Some(Neon {
            dotprod: dotprod_detected(),
        })
    }

    /// Whether [`dense`](Self::dense) uses `SDOT`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn has_dotprod(self) -> bool {
        self.dotprod
    }

    /// The same kernels without `SDOT` (the plain NEON loop), e.g. to test or time that
    /// path on a CPU that has the extension.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn without_dotprod(self) -> Self {
        Neon { dotprod: false }
    }

    /// [`dense`](crate::kernel::dense_ref)'s values: `sink(dot(row_j, x))` for every
    /// whole row, in order; nothing for an empty `x`.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        if x.is_empty() {
            return;
        }
        if self.dotprod {
            // SAFETY: `dotprod` is true only when the CPU has the dot-product extension
            // (`dotprod_detected`, or `without_dotprod`, which only clears it).
            unsafe { dense_sdot(weights, x, sink) }
        } else {
            dense_rows::<false>(weights, x, sink);
        }
    }

    /// A whole hidden layer; `false`: not taken (the decoder runs the rows through
    /// [`dense`](Self::dense)).
    pub(crate) fn hidden(self, _: &Dense<'_>, _: &[i8], _: &[u8], _: i8, _: &mut [i8]) -> bool {
        false
    }

    /// The whole last layer to pixels; `false`: not taken (the decoder runs the rows
    /// through [`dense`](Self::dense)).
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

/// Whether the dot-product extension is there: a constant when compiled in, `std`'s
/// cached answer with the `std` feature (or in tests), otherwise `false`.
#[inline]
fn dotprod_detected() -> bool {
    #[cfg(target_feature = "dotprod")]
    {
        true
    }
    #[cfg(all(not(target_feature = "dotprod"), any(feature = "std", test)))]
    {
        std::arch::is_aarch64_feature_detected!("dotprod")
    }
    #[cfg(not(any(target_feature = "dotprod", feature = "std", test)))]
    {
        false
    }
}

/// [`dense_rows`] with `SDOT`.
///
/// # Safety
/// The CPU must have the dot-product extension.
#[target_feature(enable = "dotprod")]
unsafe fn dense_sdot(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    dense_rows::<true>(weights, x, sink);
}

/// `sink(dot(row_j, x))` for every whole row, four rows per pass, then one at a time;
/// `x` is not empty. `DOT`: multiply-accumulate with `SDOT` (only inside [`dense_sdot`]).
#[inline(always)]
fn dense_rows<const DOT: bool>(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    let n = x.len();
    let (x_blocks, x_tail) = x.as_chunks::<LANES>();
    let mut quads = weights.chunks_exact(ROWS * n);
    for quad in quads.by_ref() {
        let mut rows = quad.chunks_exact(n);
        if let (Some(r0), Some(r1), Some(r2), Some(r3)) =
            (rows.next(), rows.next(), rows.next(), rows.next())
        {
            for acc in dot_rows::<DOT, ROWS>([r0, r1, r2, r3], x_blocks, x_tail) {
                sink(acc);
            }
        }
    }
    for row in quads.remainder().chunks_exact(n) {
        let [acc] = dot_rows::<DOT, 1>([row], x_blocks, x_tail);
        sink(acc);
    }
}

/// The dot products of `R` rows with `x` (given as its 16-byte blocks and its tail).
/// Every row must hold `16 * x_blocks.len() + x_tail.len()` bytes; a shorter one gives
/// zeros.
#[inline(always)]
fn dot_rows<const DOT: bool, const R: usize>(
    rows: [&[u8]; R],
    x_blocks: &[[i8; LANES]],
    x_tail: &[i8],
) -> [i32; R] {
    let head = LANES * x_blocks.len();
    let mut blocks: [&[[u8; LANES]]; R] = [&[]; R];
    let mut tails: [&[u8]; R] = [&[]; R];
    for ((row, b), t) in rows.iter().zip(&mut blocks).zip(&mut tails) {
        let Some((row_blocks, row_tail)) = row
            .split_at_checked(head)
            .map(|(h, t)| (h.as_chunks::<LANES>().0, t))
        else {
            return [0; R];
        };
        (*b, *t) = (row_blocks, row_tail);
    }
    // SAFETY (this and the other bare NEON intrinsics): NEON is part of the AArch64
    // baseline, enabled for every aarch64 target; these touch registers only.
    let mut acc = [unsafe { vdupq_n_s32(0) }; R];
    for (k, xs) in x_blocks.iter().enumerate() {
        // SAFETY: `xs` is 16 readable bytes.
        let xv = unsafe { vld1q_s8(xs.as_ptr()) };
        for (a, b) in acc.iter_mut().zip(&blocks) {
            if let Some(ws) = b.get(k) {
                // SAFETY: `ws` is 16 readable bytes (read as `i8`, the same bits).
                let wv = unsafe { vld1q_s8(ws.as_ptr().cast::<i8>()) };
                *a = if DOT {
                    // SAFETY: `DOT` is true only in `dense_sdot`, called only when the
                    // CPU has the dot-product extension.
                    unsafe { sdot(*a, wv, xv) }
                } else {
                    widening_mac(*a, wv, xv)
                };
            }
        }
    }
    core::array::from_fn(|r| {
        let tail = tails.get(r).map_or(0, |t| dot_ref(t, x_tail));
        // SAFETY: NEON is baseline (see above).
        let sum = acc.get(r).map_or(0, |&a| unsafe { vaddvq_s32(a) });
        sum.wrapping_add(tail)
    })
}

/// `acc + (pairwise sums of w * x)`: each `i32` lane gains four byte products, summed in
/// 32 bits (`SMULL`, `SMULL2`, two `SADALP`); exact (see the module docs).
#[inline(always)]
fn widening_mac(acc: int32x4_t, w: int8x16_t, x: int8x16_t) -> int32x4_t {
    // SAFETY: NEON is part of the AArch64 baseline; register-only intrinsics.
    unsafe {
        let lo = vmull_s8(vget_low_s8(w), vget_low_s8(x));
        let hi = vmull_high_s8(w, x);
        vpadalq_s16(vpadalq_s16(acc, lo), hi)
    }
}

/// `SDOT acc.4s, w.16b, x.16b`: each `i32` lane gains the sum of its four byte products.
///
/// # Safety
/// The CPU must have the dot-product extension.
#[inline]
#[target_feature(enable = "dotprod")]
unsafe fn sdot(mut acc: int32x4_t, w: int8x16_t, x: int8x16_t) -> int32x4_t {
    // SAFETY: a register-only instruction (no memory, no stack, no flags); the caller
    // guarantees the CPU implements it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {w:v}.16b, {x:v}.16b",
            acc = inout(vreg) acc,
            w = in(vreg) w,
            x = in(vreg) x,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

#[cfg(test)]
mod tests;
