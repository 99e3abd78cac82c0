//! The repacked decoder's kernel ([`crate::repacked`]): the sums of 32 rows over the
//! listed pairs of inputs, from weights stored column by column as `i16`.
//!
//! A pass's weights are, input by input, one *column* of [`PASS_ROWS`] `i16` (row `r`'s
//! weight of input `i` at `i * PASS_ROWS + r`), then one column of zeros. A decode lists
//! the inputs whose `u = x + 128` is not zero and pairs them in order (an odd one out
//! with the zero column), so a pass reads two useful columns per pair. A listed pair
//! carries its two inputs `u` (`0 ..= 255`, exact in `i16`), so each product is exact in
//! `i32` and every sum wraps modulo 2^32 like [`dot_ref`](super::dot_ref)'s.
//!
//! A pass ends with each row's bias added and a mask of the rows that are *lit*: those
//! whose sum reaches the row's `lit_from` (below it the row's output is known without
//! requantizing; see [`crate::repacked`]).
//!
//! * Portable: a loop over the 32 rows that compilers vectorise.
//! * wasm32 simd128: the pair's two columns interleaved eight rows at a time
//!   (`i16x8.shuffle`, each row's two weights side by side), then `i32x4.dot_i16x8_s`
//!   against the pair's inputs splatted to every lane (`(u_a, u_b)` as two `i16`), eight
//!   accumulators; the bias and the mask four rows at a time (`i32x4.ge_s`,
//!   `i32x4.bitmask`).

/// Rows per pass.
pub(crate) const PASS_ROWS: usize = 32;

/// `i16` weights of one pass over `inputs` inputs: their columns, then the zero column
/// (index `inputs`, all zero).
pub(crate) const fn pass_len(inputs: usize) -> usize {
    (inputs + 1) * PASS_ROWS
}

/// A listed pair: its two columns, then their two inputs `u` (adjacent, so that the
/// simd128 pass splats them as one `i32`).
pub(crate) type Pair = [u16; 4];

/// The pairs [`list_pairs`] listed, the only way to make one: every column in them is
/// below `columns`, which the simd128 pass checks once against a pass's weights instead
/// of checking each pair.
#[derive(Clone, Copy)]
pub(crate) struct Listed<'l> {
    pairs: &'l [Pair],
    columns: usize,
}

/// The inputs of `x` whose `u = x + 128` is not zero, paired in order into `list`, an odd
/// one out with the zero column (and `u = 0`). `list` must hold `x.len() / 2` rounded up
/// pairs (otherwise the rest is dropped).
pub(crate) fn list_pairs<'l>(x: &[i8], list: &'l mut [Pair]) -> Listed<'l> {
    let flat = list.as_flattened_mut();
    // The `n`-th listed input's column is at `2n - n % 2` in `flat`, its `u` two later.
    let at = |n: usize| n + (n & !1);
    let mut listed = 0usize;
    for (i, &v) in x.iter().enumerate() {
        let u = u16::from(v as u8 ^ 0x80);
        // Written always, kept when not zero: no branch to mispredict.
        if let Some([c, _, s]) = flat.get_mut(at(listed)..).and_then(|f| f.first_chunk_mut()) {
            *c = i as u16;
            *s = u;
        }
        listed += usize::from(u != 0);
    }
    if listed % 2 == 1
        && let Some([c, _, s]) = flat.get_mut(at(listed)..).and_then(|f| f.first_chunk_mut())
    {
        *c = x.len() as u16;
        *s = 0;
    }
    let count = listed.div_ceil(2).min(list.len());
    Listed {
        // Each of these pairs was written above, with columns up to `x.len()` (as `u16`).
        pairs: list.get(..count).unwrap_or_default(),
        columns: x.len() + 1,
    }
}

/// The pass's rows over the listed pairs, plus `bias` (wrapping), into `acc`; returns the
/// mask of lit rows (bit `r`: `acc[r] >= lit_from[r]`), or `None` (and `acc`
/// unspecified) when `weights` holds fewer of the pass's columns ([`PASS_ROWS`] `i16`
/// each) than `listed` reads.
pub(crate) fn pass(
    weights: &[i16],
    listed: Listed<'_>,
    bias: &[i32; PASS_ROWS],
    lit_from: &[i32; PASS_ROWS],
    acc: &mut [i32; PASS_ROWS],
) -> Option<u32> {
    let (weights, _) = weights.as_chunks::<PASS_ROWS>();
    if weights.len() < listed.columns {
        return None;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        Some(simd::pass(weights, listed, bias, lit_from, acc))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        *acc = *bias;
        for &[first, second, a, b] in listed.pairs {
            let (Some(wa), Some(wb)) = (
                weights.get(usize::from(first)),
                weights.get(usize::from(second)),
            ) else {
                continue;
            };
            let (a, b) = (i32::from(a), i32::from(b));
            for ((acc, &w0), &w1) in acc.iter_mut().zip(wa).zip(wb) {
                *acc = acc.wrapping_add(i32::from(w0) * a + i32::from(w1) * b);
            }
        }
        let mut lit = 0;
        for (r, (&a, &from)) in acc.iter().zip(lit_from).enumerate() {
            lit |= u32::from(a >= from) << r;
        }
        Some(lit)
    }
}

/// The wasm32 simd128 pass (the module's `unsafe` operations are 16-byte loads and stores
/// of checked arrays, and the columns of [`Listed`] pairs taken unchecked after one check
/// of their bound per pass: 11% fewer instructions per decode than checking each).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod simd {
    use core::arch::wasm32::{
        i16x8_shuffle, i32x4_add, i32x4_bitmask, i32x4_dot_i16x8, i32x4_ge, i32x4_splat, v128,
        v128_load, v128_store,
    };

    use super::{Listed, PASS_ROWS};

    /// Four rows per vector.
    const VECTORS: usize = PASS_ROWS / 4;

    /// Eight `i16` weights.
    fn load(q: &[i16; 8]) -> v128 {
        // SAFETY: a `[i16; 8]` is 16 readable bytes; `v128.load` accepts any alignment.
        unsafe { v128_load(q.as_ptr().cast::<v128>()) }
    }

    /// Four rows' `i32` parameters.
    fn load4(q: &[i32; 4]) -> v128 {
        // SAFETY: a `[i32; 4]` is 16 readable bytes; `v128.load` accepts any alignment.
        unsafe { v128_load(q.as_ptr().cast::<v128>()) }
    }

    /// Rows `8 k .. 8 k + 8` of two columns, `a` and `b`, multiplied by `both`: rows
    /// `8 k .. 8 k + 4` and `8 k + 4 .. 8 k + 8`.
    #[inline(always)]
    fn eight_rows(a: &[i16; 8], b: &[i16; 8], both: v128) -> (v128, v128) {
        let (a, b) = (load(a), load(b));
        let low = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b);
        let high = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b);
        (i32x4_dot_i16x8(low, both), i32x4_dot_i16x8(high, both))
    }

    /// The simd128 body of [`super::pass`], whose check makes every listed column an
    /// index into `weights`.
    pub(super) fn pass(
        weights: &[[i16; PASS_ROWS]],
        listed: Listed<'_>,
        bias: &[i32; PASS_ROWS],
        lit_from: &[i32; PASS_ROWS],
        acc: &mut [i32; PASS_ROWS],
    ) -> u32 {
        // Eight accumulators by name, the loop body written out: the page builds vae-core
        // for size (no unrolling), and this keeps them in registers all the same.
        let zero = i32x4_splat(0);
        let [
            mut a0,
            mut a1,
            mut a2,
            mut a3,
            mut a4,
            mut a5,
            mut a6,
            mut a7,
        ] = [zero; VECTORS];
        if weights.len() < listed.columns {
            return 0;
        }
        for &[first, second, a, b] in listed.pairs {
            // SAFETY: both columns are below `listed.columns` (`Listed`'s invariant, which
            // `list_pairs`, its only maker, keeps), and that is at most `weights.len()`.
            let (wa, wb) = unsafe {
                (
                    weights.get_unchecked(usize::from(first)),
                    weights.get_unchecked(usize::from(second)),
                )
            };
            let both = i32x4_splat(i32::from(a) | i32::from(b) << 16);
            let (qa, _) = wa.as_chunks::<8>();
            let (qb, _) = wb.as_chunks::<8>();
            let ([p0, p1, p2, p3], [q0, q1, q2, q3]) = (qa, qb) else {
                continue;
            };
            let (s0, s1) = eight_rows(p0, q0, both);
            let (s2, s3) = eight_rows(p1, q1, both);
            let (s4, s5) = eight_rows(p2, q2, both);
            let (s6, s7) = eight_rows(p3, q3, both);
            a0 = i32x4_add(a0, s0);
            a1 = i32x4_add(a1, s1);
            a2 = i32x4_add(a2, s2);
            a3 = i32x4_add(a3, s3);
            a4 = i32x4_add(a4, s4);
            a5 = i32x4_add(a5, s5);
            a6 = i32x4_add(a6, s6);
            a7 = i32x4_add(a7, s7);
        }
        let sums = [a0, a1, a2, a3, a4, a5, a6, a7];
        let mut lit = 0u32;
        let (bias, _) = bias.as_chunks::<4>();
        let (lit_from, _) = lit_from.as_chunks::<4>();
        let (lanes, _) = acc.as_chunks_mut::<4>();
        let params = bias.iter().zip(lit_from);
        for (k, ((dst, v), (bias, from))) in lanes.iter_mut().zip(sums).zip(params).enumerate() {
            let v = i32x4_add(v, load4(bias));
            lit |= u32::from(i32x4_bitmask(i32x4_ge(v, load4(from)))) << (4 * k);
            // SAFETY: `dst` is 16 writable bytes; `v128.store` accepts any alignment.
            unsafe { v128_store(dst.as_mut_ptr().cast::<v128>(), v) };
        }
        lit
    }
}
