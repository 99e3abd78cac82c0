//! The int4 dense kernel (portable, every target): rows of packed 4-bit codes
//! ([`WeightWidth::Int4`](crate::format::WeightWidth::Int4)) against an `i8` input.
//!
//! Each byte holds the codes of inputs `2k` (low nibble) and `2k + 1` (high nibble),
//! sign-extended to `i8` by [`int4_pair`] and multiplied and summed in `i32` like int8
//! weights: for a validated blob no partial sum overflows, so the result is exactly
//! [`dense_ref`](super::dense_ref)'s over the unpacked codes, whatever the order.

use crate::format::int4_pair;

/// `sink(sum_i W[j][i] * x[i])` for every whole row `j` of `weights`, in row order: each
/// row `ceil(x.len() / 2)` bytes of packed int4 codes. Nothing when `x` is empty; a
/// trailing partial row is ignored. No bias is added.
///
/// On cores with the DSP extension (`cfg(vae_dsp)`) the `SMLAD` kernel of module
/// `packed_int4`; elsewhere [`dense_int4_portable`].
#[inline]
pub(crate) fn dense_int4(weights: &[u8], x: &[i8], sink: impl FnMut(i32)) {
    #[cfg(vae_dsp)]
    super::packed_int4::dense_int4_dsp(weights, x, sink);
    #[cfg(not(vae_dsp))]
    dense_int4_portable(weights, x, sink);
}

/// Bytes of unpacked int8 rows [`dense_int4_with`] hands the int8 kernels at a time (16
/// rows of a 256-input layer), on the stack.
const UNPACK_BYTES: usize = 4096;

/// [`dense_int4`] on the hosts with vector units (x86-64, AArch64): blocks of
/// rows are unpacked to their `i8` codes in a stack buffer, and the int8 kernels run on
/// each block: the SIMD tier `accel`'s, or the portable one-row-at-a-time lanes, which
/// the compiler vectorizes there (about 4x the pairwise int4 loop on x86-64). The sums are
/// the same integers. Elsewhere, and for rows wider than [`UNPACK_BYTES`] inputs,
/// [`dense_int4`]: Cortex-M and RISC-V have no vector unit (the DSP cores have their own
/// int4 kernel), and on wasm32 the page's module stays small (the unpacking and a second
/// instance of the tier's kernel cost 4.5 KB of wasm; int4 blobs are for flash-limited
/// chips).
#[inline]
pub(crate) fn dense_int4_with(
    accel: Option<super::Accel>,
    weights: &[u8],
    x: &[i8],
    mut sink: impl FnMut(i32),
) {
    const VECTOR_UNITS: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    let n = x.len();
    let rows_per_block = UNPACK_BYTES.checked_div(n).unwrap_or(0);
    if !VECTOR_UNITS || rows_per_block == 0 {
        return dense_int4(weights, x, sink);
    }
    let row_bytes = n.div_ceil(2);
    let mut buffer = [0u8; UNPACK_BYTES];
    for block in weights.chunks(rows_per_block * row_bytes) {
        let mut len = 0;
        for (row, out) in block
            .chunks_exact(row_bytes)
            .zip(buffer.chunks_exact_mut(n))
        {
            unpack_row(row, out);
            len += n;
        }
        super::dense_with(accel, buffer.get(..len).unwrap_or(&[]), x, &mut sink);
    }
}

/// One packed row's codes as `i8` bytes: `out[2k]` the low nibble of `row[k]`,
/// `out[2k + 1]` its high nibble (not written past `out`'s end, so an odd width drops the
/// padding nibble).
#[inline]
fn unpack_row(row: &[u8], out: &mut [u8]) {
    let (pairs, last) = out.as_chunks_mut::<2>();
    for (pair, &b) in pairs.iter_mut().zip(row) {
        let (lo, hi) = int4_pair(b);
        *pair = [lo as u8, hi as u8];
    }
    if let (Some(slot), Some(&b)) = (last.first_mut(), row.get(pairs.len())) {
        *slot = int4_pair(b).0 as u8;
    }
}

/// [`dense_int4`] one code pair at a time, on every target.
#[inline]
pub(crate) fn dense_int4_portable(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    if x.is_empty() {
        return;
    }
    let (pairs, tail) = x.as_chunks::<2>();
    for row in weights.chunks_exact(x.len().div_ceil(2)) {
        let (full, last) = row.split_at(pairs.len().min(row.len()));
        let mut acc = 0i32;
        for (&b, &[x0, x1]) in full.iter().zip(pairs) {
            let (lo, hi) = int4_pair(b);
            // |lo * x0 + hi * x1| <= 2 * 8 * 128: no overflow before the wrapping add.
            let pair = i32::from(lo) * i32::from(x0) + i32::from(hi) * i32::from(x1);
            acc = acc.wrapping_add(pair);
        }
        // Odd input count: the last byte's low nibble (its high nibble is padding).
        if let (Some(&b), Some(&xl)) = (last.first(), tail.first()) {
            acc = acc.wrapping_add(i32::from(int4_pair(b).0) * i32::from(xl));
        }
        sink(acc);
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::Rng;
    use crate::kernel::dense_ref;

    /// Packs `codes` (`rows x cols`, each in `-8..=7`) as an int4 layer stores them.
    fn pack(codes: &[i8], cols: usize) -> Vec<u8> {
        codes
            .chunks_exact(cols)
            .flat_map(|row| {
                row.chunks(2).map(|p| {
                    let hi = p.get(1).map_or(0, |&c| c as u8 & 0x0F);
                    (p[0] as u8 & 0x0F) | hi << 4
                })
            })
            .collect()
    }

    fn sums(f: impl FnOnce(&mut dyn FnMut(i32))) -> Vec<i32> {
        let mut out = Vec::new();
        f(&mut |v| out.push(v));
        out
    }

    /// The packed kernel equals the int8 reference on the unpacked codes, for every
    /// length 1..=70 (odd and even; none for an empty input), random codes and inputs, and the extremes.
    #[test]
    fn matches_the_int8_reference_on_unpacked_codes() {
        let mut rng = Rng::new(44);
        assert!(sums(|s| dense_int4(&[0x11; 4], &[], s)).is_empty());
        for cols in 1..=70usize {
            for rows in [1usize, 3, 5] {
                let codes: Vec<i8> = (0..rows * cols)
                    .map(|_| (rng.next_u32() % 16) as i8 - 8)
                    .collect();
                let x: Vec<i8> = (0..cols).map(|_| rng.next_u32() as i8).collect();
                let packed = pack(&codes, cols);
                let bytes: Vec<u8> = codes.iter().map(|&c| c as u8).collect();
                let want = sums(|s| dense_ref(&bytes, &x, s));
                let got = sums(|s| dense_int4(&packed, &x, s));
                assert_eq!(got, want, "{rows} x {cols}");
                // Extremes: every code -8 against -128, every code 7 against 127.
                for (c, v) in [(-8i8, -128i8), (7, 127), (-8, 127)] {
                    let codes = std::vec![c; rows * cols];
                    let x = std::vec![v; cols];
                    let bytes: Vec<u8> = codes.iter().map(|&c| c as u8).collect();
                    let want = sums(|s| dense_ref(&bytes, &x, s));
                    assert_eq!(sums(|s| dense_int4(&pack(&codes, cols), &x, s)), want);
                }
            }
        }
    }

    /// Every tier this CPU has (the portable one too), through the unpacked blocks, equals
    /// the pairwise int4 kernel: widths 1..=70 and the block edges (rows that fill a block exactly,
    /// a partial last block, a width too wide to unpack).
    #[test]
    fn simd_tiers_on_unpacked_blocks_match_the_portable_kernel() {
        let mut rng = Rng::new(46);
        let widths = (1..=70usize).chain([256, 257, 4096, 4097]);
        for cols in widths {
            for rows in [1usize, 15, 16, 17, 33] {
                let bytes = rows * cols.div_ceil(2);
                let w: Vec<u8> = (0..bytes).map(|_| rng.next_u32() as u8).collect();
                let x: Vec<i8> = (0..cols).map(|_| rng.next_u32() as i8).collect();
                let want = sums(|s| dense_int4_portable(&w, &x, s));
                for tier in crate::Tier::available() {
                    let got = sums(|s| dense_int4_with(tier.kernels().flatten(), &w, &x, s));
                    assert_eq!(got, want, "{tier:?}: {rows} x {cols}");
                }
            }
        }
    }

    #[test]
    fn nibbles_sign_extend() {
        assert_eq!(int4_pair(0x00), (0, 0));
        assert_eq!(int4_pair(0x7F), (-1, 7));
        assert_eq!(int4_pair(0x88), (-8, -8));
        assert_eq!(int4_pair(0xF1), (1, -1));
    }
}
