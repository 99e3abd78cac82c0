//! The repacked decoder's kernel ([`crate::repacked`]): the sums of 32 rows over the
//! listed pairs of inputs, from weights stored as `i16` pairs.
//!
//! A pass's weights are, pair by pair, [`PASS_ROWS`] rows of two `i16` each: row `r`'s
//! weights of inputs `2p` and `2p + 1` at `2 r` and `2 r + 1`. A listed pair carries its
//! two inputs `u` (`0 ..= 255`, exact in `i16`), so each product is exact in `i32` and
//! every sum wraps modulo 2^32 like [`dot_ref`](super::dot_ref)'s.
//!
//! A pass ends with each row's bias added and a mask of the rows that are *lit*: those
//! whose sum reaches the row's `lit_from` (below it the row's output is known without
//! requantizing; see [`crate::repacked`]).
//!
//! * Portable: a loop over the 32 rows that compilers vectorise.
//! * wasm32 simd128: `i32x4.dot_i16x8_s` of four rows' weight pairs against the pair's
//!   inputs splatted to every lane (`(u_2p, u_2p+1)` as two `i16`), eight accumulators;
//!   the bias and the mask four rows at a time (`i32x4.ge_s`, `i32x4.bitmask`).

/// Rows per pass.
pub(crate) const PASS_ROWS: usize = 32;

/// `i16` weights of one pair in a pass.
pub(crate) const PAIR_WEIGHTS: usize = 2 * PASS_ROWS;

/// A listed pair: its index and its two inputs as two `i16` in one `i32` (`u_2p |
/// u_2p+1 << 16`, what the simd128 pass splats).
#[derive(Clone, Copy, Default)]
pub(crate) struct Listed {
    pub(crate) pair: u16,
    pub(crate) both: i32,
}

/// The pairs of `x` whose `u = x + 128` are not both zero, into `list`; how many.
/// `list` must hold `x.len() / 2` rounded up (otherwise the rest is dropped).
pub(crate) fn list_pairs(x: &[i8], list: &mut [Listed]) -> usize {
    let u = |v: i8| v as u8 ^ 0x80;
    let mut len = 0;
    let (pairs, rest) = x.as_chunks::<2>();
    let tail = rest.first().map(|&v| [v, -128]);
    for (p, &[a, b]) in pairs.iter().chain(tail.as_ref()).enumerate() {
        let both = i32::from(u(a)) | i32::from(u(b)) << 16;
        // Written always, kept when not zero: no branch to mispredict.
        if let Some(slot) = list.get_mut(len) {
            *slot = Listed {
                pair: p as u16,
                both,
            };
        }
        len += usize::from(both != 0);
    }
    len.min(list.len())
}

/// The pass's rows over the listed pairs, plus `bias` (wrapping), into `acc`; returns the
/// mask of lit rows (bit `r`: `acc[r] >= lit_from[r]`). `weights` holds the pass's pairs
/// ([`PAIR_WEIGHTS`] each).
pub(crate) fn pass(
    weights: &[i16],
    list: &[Listed],
    bias: &[i32; PASS_ROWS],
    lit_from: &[i32; PASS_ROWS],
    acc: &mut [i32; PASS_ROWS],
) -> u32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd::pass(weights, list, bias, lit_from, acc)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        *acc = *bias;
        let (pairs, _) = weights.as_chunks::<PAIR_WEIGHTS>();
        for listed in list {
            let Some(w) = pairs.get(usize::from(listed.pair)) else {
                continue;
            };
            let (a, b) = (listed.both & 0xFFFF, listed.both >> 16);
            let (rows, _) = w.as_chunks::<2>();
            for (acc, &[w0, w1]) in acc.iter_mut().zip(rows) {
                *acc = acc.wrapping_add(i32::from(w0) * a + i32::from(w1) * b);
            }
        }
        let mut lit = 0;
        for (r, (&a, &from)) in acc.iter().zip(lit_from).enumerate() {
            lit |= u32::from(a >= from) << r;
        }
        lit
    }
}

/// The wasm32 simd128 pass (the module's `unsafe` operations are 16-byte loads and stores
/// of checked arrays).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod simd {
    use core::arch::wasm32::{
        i32x4_add, i32x4_bitmask, i32x4_dot_i16x8, i32x4_ge, i32x4_splat, v128, v128_load,
        v128_store,
    };

    use super::{Listed, PAIR_WEIGHTS, PASS_ROWS};

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

    pub(super) fn pass(
        weights: &[i16],
        list: &[Listed],
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
        let (pairs, _) = weights.as_chunks::<PAIR_WEIGHTS>();
        for listed in list {
            let Some(w) = pairs.get(usize::from(listed.pair)) else {
                continue;
            };
            let both = i32x4_splat(listed.both);
            let (quads, _) = w.as_chunks::<8>();
            let [q0, q1, q2, q3, q4, q5, q6, q7] = quads else {
                continue;
            };
            a0 = i32x4_add(a0, i32x4_dot_i16x8(load(q0), both));
            a1 = i32x4_add(a1, i32x4_dot_i16x8(load(q1), both));
            a2 = i32x4_add(a2, i32x4_dot_i16x8(load(q2), both));
            a3 = i32x4_add(a3, i32x4_dot_i16x8(load(q3), both));
            a4 = i32x4_add(a4, i32x4_dot_i16x8(load(q4), both));
            a5 = i32x4_add(a5, i32x4_dot_i16x8(load(q5), both));
            a6 = i32x4_add(a6, i32x4_dot_i16x8(load(q6), both));
            a7 = i32x4_add(a7, i32x4_dot_i16x8(load(q7), both));
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
