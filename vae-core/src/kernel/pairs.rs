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
//!   `i32x4.bitmask`). The listing takes eight inputs a step: a mask of the listed ones,
//!   then per four inputs one `i8x16.swizzle` (from a 16-entry table) moves the listed
//!   ones' `u` and columns to the front, stored as they are, the count advanced by the
//!   mask's bits; no branch depends on the data.

/// Rows per pass.
pub(crate) const PASS_ROWS: usize = 32;

/// The widest layer input the repacked decoder takes (re-exported as
/// [`repacked::MAX_INPUTS`](crate::repacked::MAX_INPUTS)): what a [`List`] holds.
pub(crate) const MAX_INPUTS: usize = 1024;

/// The largest `u` of a listed entry (each input takes one).
#[cfg(test)]
pub(crate) const MAX_U: u8 = u8::MAX;

/// Entries taken at a time: a pair.
#[cfg(test)]
pub(crate) const GROUP: usize = 2;

/// `i16` weights of one pass over `inputs` inputs: their columns, then the zero column
/// (index `inputs`, all zero).
pub(crate) const fn pass_len(inputs: usize) -> usize {
    (inputs + 1) * PASS_ROWS
}

/// Stores weight `code` of `input` for row `row` of a pass into the pass's weights
/// (dropped when outside them).
pub(crate) fn put_weight(pass: &mut [i16], input: usize, row: usize, code: i8) {
    if let Some(slot) = pass.get_mut(input * PASS_ROWS + row % PASS_ROWS) {
        *slot = i16::from(code);
    }
}

/// The buffers a decode lists a layer's inputs into, for layers up to [`MAX_INPUTS`] wide.
pub(crate) struct List {
    columns: [u16; MAX_INPUTS + 1],
    us: [u16; MAX_INPUTS + 1],
}

impl List {
    /// Empty buffers.
    pub(crate) const fn new() -> Self {
        List {
            columns: [0; MAX_INPUTS + 1],
            us: [0; MAX_INPUTS + 1],
        }
    }

    /// [`list_pairs`] of `x` into these buffers.
    pub(crate) fn fill(&mut self, x: &[i8]) -> Listed<'_> {
        list_pairs(x, &mut self.columns, &mut self.us)
    }
}

/// The pairs [`list_pairs`] listed, the only way to make one: pair `j`'s two columns
/// `columns[j]` and their inputs `u` in `us[j]` (adjacent, so that the simd128 pass
/// splats both with one load). Every column in them is below `bound`, which the simd128
/// pass checks once against a pass's weights instead of checking each pair.
#[derive(Clone, Copy)]
pub(crate) struct Listed<'l> {
    columns: &'l [[u16; 2]],
    us: &'l [[u16; 2]],
    bound: usize,
}

impl Listed<'_> {
    /// The listed inputs in order, `(column, u)`, the zero column's entry included.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        let columns = self.columns.as_flattened();
        columns
            .iter()
            .copied()
            .zip(self.us.as_flattened().iter().copied())
    }
}

/// The inputs of `x` whose `u = x + 128` is not zero, paired in order: their columns into
/// `columns`, their `u` into `us`, an odd one out paired with the zero column (index
/// `x.len()`, `u = 0`). Both buffers must hold `x.len() + 1` entries (otherwise what does
/// not fit is dropped).
pub(crate) fn list_pairs<'l>(x: &[i8], columns: &'l mut [u16], us: &'l mut [u16]) -> Listed<'l> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let listed = if columns.len() > x.len() && us.len() > x.len() {
        simd::list(x, columns, us)
    } else {
        list_one_by_one(x, 0, 0, columns, us)
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let listed = list_one_by_one(x, 0, 0, columns, us);
    let mut listed = listed.min(columns.len()).min(us.len());
    if listed % 2 == 1
        && let (Some(c), Some(u)) = (columns.get_mut(listed), us.get_mut(listed))
    {
        *c = x.len() as u16;
        *u = 0;
        listed += 1;
    }
    // Whole pairs only: a buffer too short for the odd one out drops it.
    let pairs = listed / 2;
    let (columns, _) = columns.as_chunks::<2>();
    let (us, _) = us.as_chunks::<2>();
    Listed {
        // Each of these entries was written above, with columns up to `x.len()`.
        columns: columns.get(..pairs).unwrap_or_default(),
        us: us.get(..pairs).unwrap_or_default(),
        bound: x.len() + 1,
    }
}

/// The listing of [`list_pairs`] one input at a time, `x` being the inputs from column
/// `first` on and `listed` the count so far; returns the new count.
fn list_one_by_one(
    x: &[i8],
    first: usize,
    mut listed: usize,
    columns: &mut [u16],
    us: &mut [u16],
) -> usize {
    for (i, &v) in x.iter().enumerate() {
        let u = u16::from(v as u8 ^ 0x80);
        // Written always, kept when not zero: no branch to mispredict.
        if let (Some(c), Some(s)) = (columns.get_mut(listed), us.get_mut(listed)) {
            *c = (first + i) as u16;
            *s = u;
        }
        listed += usize::from(u != 0);
    }
    listed
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
    if weights.len() < listed.bound {
        return None;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        Some(simd::pass(weights, listed, bias, lit_from, acc))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        *acc = *bias;
        for (&[first, second], &[a, b]) in listed.columns.iter().zip(listed.us) {
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

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub(crate) use simd::finish;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) use simd::relu_bytes;

/// The wasm32 simd128 kernels: the pass, the listing and the hidden layers' ReLU bytes
/// (the module's `unsafe` operations are 16-byte loads and stores and 8-byte lane stores
/// of checked arrays, and the columns of [`Listed`] pairs taken unchecked after one check
/// of their bound per pass: 11% fewer instructions per decode than checking each).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod simd {
    use core::arch::wasm32::{
        f64x2_add, f64x2_convert_low_i32x4, f64x2_floor, f64x2_mul, f64x2_splat, i8x16_add,
        i8x16_bitmask, i8x16_ne, i8x16_splat, i8x16_swizzle, i16x8_add, i16x8_narrow_i32x4,
        i16x8_shuffle, i16x8_splat, i32x4_add, i32x4_bitmask, i32x4_dot_i16x8, i32x4_ge,
        i32x4_shuffle, i32x4_splat, i64x2, u8x16_min, u8x16_narrow_i16x8, u8x16_splat, u16x8,
        u16x8_extend_low_u8x16, v128, v128_load, v128_store, v128_store64_lane, v128_xor,
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

    /// Per mask `m` of four inputs (bit `j`: input `j` listed), the swizzle that moves the
    /// listed inputs' words, in order, to the front of each half of a vector holding the
    /// four `u` in words `0..4` and the four columns in words `4..8`.
    const COMPRESS: [[u8; 16]; 16] = {
        let mut table = [[0x80u8; 16]; 16]; // 0x80: a zero byte, past what is kept
        let mut m = 0;
        while m < 16 {
            let (mut j, mut rank) = (0, 0);
            while j < 4 {
                if m & (1 << j) != 0 {
                    let (to, from) = (2 * rank, 2 * j as u8);
                    table[m][to] = from;
                    table[m][to + 1] = from + 1;
                    table[m][8 + to] = 8 + from;
                    table[m][9 + to] = 9 + from;
                    rank += 1;
                }
                j += 1;
            }
            m += 1;
        }
        table
    };

    /// The listing of [`super::list_pairs`] for buffers longer than `x`, eight inputs a
    /// step: which are listed (`i8x16.ne` against the code -128, `i8x16.bitmask`), then
    /// each half's listed `u` and columns swizzled to the front and stored at once, the
    /// count advanced by the half's listed inputs. No branch depends on the data.
    pub(super) fn list(x: &[i8], columns: &mut [u16], us: &mut [u16]) -> usize {
        let flip = i8x16_splat(-128);
        let mut index = u16x8(0, 1, 2, 3, 4, 5, 6, 7);
        let mut listed = 0usize;
        let (steps, rest) = x.as_chunks::<8>();
        for step in steps {
            let codes = i64x2(i64::from_le_bytes(step.map(|c| c as u8)), 0);
            let u = u16x8_extend_low_u8x16(v128_xor(codes, flip));
            // Lanes 8.. hold 0, not -128: kept out of the mask.
            let mask = (i8x16_bitmask(i8x16_ne(codes, flip)) & 0xff) as usize;
            let low = i16x8_shuffle::<0, 1, 2, 3, 8, 9, 10, 11>(u, index);
            let high = i16x8_shuffle::<4, 5, 6, 7, 12, 13, 14, 15>(u, index);
            listed = keep(low, mask & 15, listed, columns, us);
            listed = keep(high, mask >> 4, listed, columns, us);
            index = i16x8_add(index, i16x8_splat(8));
        }
        super::list_one_by_one(rest, x.len() - rest.len(), listed, columns, us)
    }

    /// Four inputs' `u` (words `0..4` of `words`) and columns (words `4..8`), of which the
    /// mask `m` lists some: those stored from entry `listed` on (four entries written,
    /// the listed ones first); returns the new count.
    #[inline(always)]
    fn keep(words: v128, m: usize, listed: usize, columns: &mut [u16], us: &mut [u16]) -> usize {
        let order = &COMPRESS[m & 15];
        // SAFETY: an `[u8; 16]` is 16 readable bytes; any alignment will do.
        let order = unsafe { v128_load(order.as_ptr().cast::<v128>()) };
        let packed = i8x16_swizzle(words, order);
        let four = |b: &mut [u16]| -> Option<*mut u64> {
            Some(
                b.get_mut(listed..)?
                    .first_chunk_mut::<4>()?
                    .as_mut_ptr()
                    .cast(),
            )
        };
        if let (Some(c), Some(s)) = (four(columns), four(us)) {
            // SAFETY: each store writes the 8 bytes of a `[u16; 4]`.
            unsafe {
                v128_store64_lane::<0>(packed, s);
                v128_store64_lane::<1>(packed, c);
            }
        }
        listed + m.count_ones() as usize
    }

    /// The ReLU bytes of a pass's 32 sums into `out` (its first 32 bytes, or all of a
    /// shorter one): `clamp(floor(acc * scale + 0.5), 0, 127 - zp) + zp`, with `scale` the
    /// rows' `f64` scales as pairs of words (`requant_f64::relu_is_exact` says when this
    /// is the integer requantization exactly). Two rows per `f64x2`; the floors read as
    /// `i32` from the low words of `t + 1.5 * 2^52`, clamped to `0..=255` by the
    /// saturating narrows to bytes, then to the ceiling.
    pub(crate) fn relu_bytes(
        acc: &[i32; PASS_ROWS],
        scale: &[i32; 2 * PASS_ROWS],
        zero_point: i8,
        out: &mut [i8],
    ) {
        let half = f64x2_splat(0.5);
        // The ceiling 127 - zp is at most 255: a byte.
        let ceiling = u8x16_splat((127 - i32::from(zero_point)) as u8);
        let magic = f64x2_splat(6_755_399_441_055_744.0); // 1.5 * 2^52
        let (sums, _) = acc.as_chunks::<4>();
        let (scales, _) = scale.as_chunks::<4>();
        let two_rows = |sums: v128, scale: &[i32; 4]| {
            let x = f64x2_mul(f64x2_convert_low_i32x4(sums), load4(scale));
            f64x2_add(f64x2_floor(f64x2_add(x, half)), magic)
        };
        let values: [v128; VECTORS] = core::array::from_fn(|k| {
            let sums = load4(&sums[k]);
            let first = two_rows(sums, &scales[2 * k]);
            let second = two_rows(i32x4_shuffle::<2, 3, 2, 3>(sums, sums), &scales[2 * k + 1]);
            i32x4_shuffle::<0, 2, 4, 6>(first, second)
        });
        let words = |a: usize| i16x8_narrow_i32x4(values[a], values[a + 1]);
        let zp = i8x16_splat(zero_point);
        let relu = |a: usize, b: usize| u8x16_min(u8x16_narrow_i16x8(words(a), words(b)), ceiling);
        let bytes = [i8x16_add(relu(0, 2), zp), i8x16_add(relu(4, 6), zp)];
        let store = |dst: &mut [i8; PASS_ROWS]| {
            // SAFETY (both stores): 16 bytes inside the 32 of `dst`.
            unsafe {
                let at = dst.as_mut_ptr().cast::<v128>();
                v128_store(at, bytes[0]);
                v128_store(at.add(1), bytes[1]);
            }
        };
        match out.first_chunk_mut::<PASS_ROWS>() {
            Some(whole) => store(whole),
            None => {
                let mut all = [0i8; PASS_ROWS];
                store(&mut all);
                let n = out.len();
                out.copy_from_slice(&all[..n]);
            }
        }
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
        if weights.len() < listed.bound {
            return 0;
        }
        for (&[first, second], &[a, b]) in listed.columns.iter().zip(listed.us) {
            // SAFETY: both columns are below `listed.bound` (`Listed`'s invariant, which
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
        finish([a0, a1, a2, a3, a4, a5, a6, a7], bias, lit_from, acc)
    }

    /// The end of a pass: the 32 `sums` (four rows per vector, in order) plus `bias` into
    /// `acc`; returns the mask of lit rows (`acc[r] >= lit_from[r]`).
    pub(crate) fn finish(
        sums: [v128; VECTORS],
        bias: &[i32; PASS_ROWS],
        lit_from: &[i32; PASS_ROWS],
        acc: &mut [i32; PASS_ROWS],
    ) -> u32 {
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
