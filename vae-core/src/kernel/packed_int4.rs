//! The int4 dense kernel on cores with the DSP extension (Cortex-M4/M7/M33,
//! `cfg(vae_dsp)`): packed int4 weights unpacked in registers and multiplied with
//! `SMLAD`, two rows per pass.
//!
//! A weight word holds 8 codes: byte `k` has code `2k` in its low nibble and `2k + 1` in
//! its high one. `v & 0xF0F0F0F0` leaves each high nibble in the top of its byte, and
//! `(v << 4) & 0xF0F0F0F0` each low nibble, so `SXTB16` (and `SXTB16 .., ROR #8`) of
//! those two words gives every code times 16, sign-extended into 16-bit lanes, with no
//! per-nibble shifts. The inputs are packed once per layer into the matching 16-bit
//! pairs: `(x[8g], x[8g + 4])`, `(x[8g + 2], x[8g + 6])`, `(x[8g + 1], x[8g + 5])`,
//! `(x[8g + 3], x[8g + 7])` for group `g`. Four `SMLAD` then add 16 times the 8 products;
//! the row's sum is the accumulator shifted right by 4, exactly: every term is a
//! multiple of 16, and `|16 * code * x| * in_dim <= 16 * 8 * 128 * 65535 < 2^31`, so
//! nothing wraps for any layer the format can describe (`in_dim` is a `u16`).
//!
//! Per 8 MACs and row: one `LDR`, an `AND` of the shifted word and a `BIC`, four
//! `SXTB16`, four `SMLAD`; the inputs' four words are loaded once for both rows (an `asm!`
//! loop on the DSP cores, module `dsp`). The host tests run the Rust loop, the same
//! arithmetic, with the emulated DSP instructions against the unpacked codes through
//! [`dense_ref`](super::dense_ref).

use super::dense_int4_portable;
use super::packed::{smlad, sxtb16, sxtb16_ror8};
use crate::format::int4_pair;

/// Most inputs [`dense_int4_dsp`] takes: its packed copy of `x` lives on the stack (2
/// bytes per input, 512 bytes as for the int8 kernel); wider layers take the portable
/// loop.
pub(super) const INT4_DSP_MAX_INPUTS: usize = 256;

/// Inputs per weight word.
const GROUP: usize = 8;

/// The nibbles' top bits, one per byte.
const NIBBLE_TOPS: u32 = 0xF0F0_F0F0;

/// One group of eight inputs as the four 16-bit pairs its weight word's lanes meet.
type PackedGroup = [u32; 4];

/// Two inputs in the low and high 16-bit lanes of a word.
#[inline(always)]
fn lanes(lo: i8, hi: i8) -> u32 {
    u32::from(i16::from(lo) as u16) | u32::from(i16::from(hi) as u16) << 16
}

/// `x[8g..8g + 8]` as the pairs for the lanes `SXTB16(low nibbles)`,
/// `SXTB16(low nibbles, ROR #8)`, `SXTB16(high nibbles)`, `SXTB16(high nibbles, ROR #8)`.
#[inline(always)]
fn pack_group(x: &[i8; GROUP]) -> PackedGroup {
    [
        lanes(x[0], x[4]),
        lanes(x[2], x[6]),
        lanes(x[1], x[5]),
        lanes(x[3], x[7]),
    ]
}

/// `acc + 16 * (the 8 codes of weight word v) · (the group's inputs)`.
#[inline(always)]
fn mac8(acc: i32, v: u32, p: &PackedGroup) -> i32 {
    let low = (v << 4) & NIBBLE_TOPS;
    let high = v & NIBBLE_TOPS;
    let acc = smlad(sxtb16(low), p[0], acc);
    let acc = smlad(sxtb16_ror8(low), p[1], acc);
    let acc = smlad(sxtb16(high), p[2], acc);
    smlad(sxtb16_ror8(high), p[3], acc)
}

/// `sum_g mac8(word g of row, packed[g])` over the row's whole weight words.
#[inline(always)]
fn dot1(row: &[u8], packed: &[PackedGroup]) -> i32 {
    let (words, _) = row.as_chunks::<4>();
    words
        .iter()
        .zip(packed)
        .fold(0, |acc, (w, p)| mac8(acc, u32::from_le_bytes(*w), p))
}

/// The inputs past the last whole group, one code at a time (as the portable kernel).
#[inline(always)]
fn tail(row: &[u8], x: &[i8], groups: usize) -> i32 {
    let mut acc = 0i32;
    let rest = x.get(GROUP * groups..).unwrap_or(&[]);
    let bytes = row.get(4 * groups..).unwrap_or(&[]);
    for (&b, xs) in bytes.iter().zip(rest.chunks(2)) {
        let (lo, hi) = int4_pair(b);
        if let Some(&x0) = xs.first() {
            acc = acc.wrapping_add(i32::from(lo) * i32::from(x0));
        }
        if let Some(&x1) = xs.get(1) {
            acc = acc.wrapping_add(i32::from(hi) * i32::from(x1));
        }
    }
    acc
}

/// [`dense_int4`](super::int4::dense_int4) with `SMLAD`: same contract and results as
/// [`dense_int4_portable`], which it calls for layers of fewer than 8 or more than
/// [`INT4_DSP_MAX_INPUTS`] inputs.
#[inline]
pub(super) fn dense_int4_dsp(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    let n = x.len();
    let (groups_x, _) = x.as_chunks::<GROUP>();
    if n > INT4_DSP_MAX_INPUTS || groups_x.is_empty() {
        dense_int4_portable(weights, x, sink);
        return;
    }
    let mut buffer = [[0u32; 4]; INT4_DSP_MAX_INPUTS / GROUP];
    for (p, xs) in buffer.iter_mut().zip(groups_x) {
        *p = pack_group(xs);
    }
    let groups = groups_x.len();
    let packed = buffer.get(..groups).unwrap_or(&[]);
    let row_bytes = n.div_ceil(2);
    let mut pairs = weights.chunks_exact(2 * row_bytes);
    for pair in pairs.by_ref() {
        let (r0, r1) = pair.split_at(row_bytes);
        let (a0, a1) = dot2_asm(pair, row_bytes, packed).unwrap_or_else(|| {
            let ((w0, _), (w1, _)) = (r0.as_chunks::<4>(), r1.as_chunks::<4>());
            let (mut a0, mut a1) = (0i32, 0i32);
            for ((v0, v1), p) in w0.iter().zip(w1).zip(packed) {
                a0 = mac8(a0, u32::from_le_bytes(*v0), p);
                a1 = mac8(a1, u32::from_le_bytes(*v1), p);
            }
            (a0, a1)
        });
        sink((a0 >> 4).wrapping_add(tail(r0, x, groups)));
        sink((a1 >> 4).wrapping_add(tail(r1, x, groups)));
    }
    if let Some(r0) = pairs.remainder().get(..row_bytes) {
        sink((dot1(r0, packed) >> 4).wrapping_add(tail(r0, x, groups)));
    }
}

/// [`dsp::dot2`] on the DSP cores; `None` elsewhere (the host tests run the Rust loop).
#[inline(always)]
fn dot2_asm(pair: &[u8], row_bytes: usize, packed: &[PackedGroup]) -> Option<(i32, i32)> {
    #[cfg(vae_dsp)]
    return dsp::dot2(pair, row_bytes, packed);
    #[cfg(not(vae_dsp))]
    {
        let _ = (pair, row_bytes, packed);
        None
    }
}

/// The two-row loop as one `asm!` block on the DSP cores.
#[cfg(vae_dsp)]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    use super::{NIBBLE_TOPS, PackedGroup};

    /// `16 x` the two rows' sums over the first `8 * packed.len()` inputs (what the Rust
    /// loop of [`dense_int4_dsp`](super::dense_int4_dsp) computes with [`mac8`](super::mac8));
    /// `None` (nothing run) unless `packed` is non-empty, `pair` holds two rows of
    /// `row_bytes` bytes and `4 * packed.len() <= row_bytes`.
    ///
    /// Per group of eight inputs, 26 instructions for 16 MACs (1.63 per MAC): an `LDR` of
    /// each row's weight word, two `LDRD` of the four packed input pairs, per row an `AND`
    /// with the shifted word (low nibbles) and a `BIC` (high nibbles), four `SXTB16` and four
    /// `SMLAD`, then `CMP` and `BNE`. Compiled from Rust the same loop spilled a row pointer
    /// and shuffled registers: 2.40-2.51 instructions per MAC for the whole int4 network on
    /// the Cortex-M4F, depending on the inlining around it. It needs 13 registers: `r7`
    /// (reserved by LLVM) holds the second input pair of each `LDRD` and is pushed and
    /// popped around the loop.
    #[inline(always)]
    pub(super) fn dot2(
        pair: &[u8],
        row_bytes: usize,
        packed: &[PackedGroup],
    ) -> Option<(i32, i32)> {
        let groups = packed.len();
        if groups == 0 || pair.len() != 2 * row_bytes || 4 * groups > row_bytes {
            return None;
        }
        let (mut a0, mut a1) = (0i32, 0i32);
        let row0 = pair.as_ptr();
        let x = packed.as_ptr();
        let x_end = x.wrapping_add(groups);
        // SAFETY: reads only: `x .. x_end` is `packed` (16 bytes a group, two `LDRD` with
        // post-increment until `x == x_end`, at least once since `groups >= 1`; `LDRD`
        // needs 4-byte alignment, which `[u32; 4]` has); in iteration `g` the weight loads
        // read 4 bytes at `row0 + 4g` and `row0 + row_bytes + 4g`, inside the two rows of
        // `pair` (`pair.len() == 2 * row_bytes`, `4g + 3 < 4 * groups <= row_bytes`).
        // Unaligned `LDR` is allowed on these cores. `r7` is pushed and popped around the
        // loop (the stack is restored), every other register written is an operand, and
        // the flags are clobbered (no `preserves_flags`).
        unsafe {
            asm!(
                "push {{r7}}",
                "2:",
                "ldr {v1}, [{row0}, {rb}]",
                "ldr {v0}, [{row0}], #4",
                "ldrd {xa}, r7, [{x}], #8",
                "and {t2}, {mask}, {v1}, lsl #4",
                "sxtb16 {t}, {t2}",
                "smlad {a1}, {t}, {xa}, {a1}",
                "sxtb16 {t2}, {t2}, ror #8",
                "smlad {a1}, {t2}, r7, {a1}",
                "and {t2}, {mask}, {v0}, lsl #4",
                "sxtb16 {t}, {t2}",
                "smlad {a0}, {t}, {xa}, {a0}",
                "sxtb16 {t2}, {t2}, ror #8",
                "smlad {a0}, {t2}, r7, {a0}",
                "ldrd {xa}, r7, [{x}], #8",
                "bic {v1}, {v1}, #0x0F0F0F0F",
                "sxtb16 {t}, {v1}",
                "smlad {a1}, {t}, {xa}, {a1}",
                "sxtb16 {v1}, {v1}, ror #8",
                "smlad {a1}, {v1}, r7, {a1}",
                "bic {v0}, {v0}, #0x0F0F0F0F",
                "sxtb16 {t}, {v0}",
                "smlad {a0}, {t}, {xa}, {a0}",
                "sxtb16 {v0}, {v0}, ror #8",
                "smlad {a0}, {v0}, r7, {a0}",
                "cmp {x}, {x_end}",
                "bne 2b",
                "pop {{r7}}",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                row0 = inout(reg) row0 => _,
                rb = in(reg) row_bytes,
                x = inout(reg) x => _,
                x_end = in(reg) x_end,
                mask = in(reg) NIBBLE_TOPS,
                v0 = out(reg) _,
                v1 = out(reg) _,
                xa = out(reg) _,
                t = out(reg) _,
                t2 = out(reg) _,
            )
        };
        Some((a0, a1))
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::Rng;

    fn sums(f: impl FnOnce(&mut dyn FnMut(i32))) -> Vec<i32> {
        let mut out = Vec::new();
        f(&mut |v| out.push(v));
        out
    }

    /// The reference: the codes unpacked to `i8` rows, then
    /// [`dense_ref`](super::super::dense_ref).
    fn unpacked_sums(w: &[u8], x: &[i8]) -> Vec<i32> {
        let row_bytes = x.len().div_ceil(2);
        let rows: Vec<u8> = w
            .chunks_exact(row_bytes)
            .flat_map(|row| {
                let codes = row.iter().flat_map(|&b| {
                    let (lo, hi) = int4_pair(b);
                    [lo as u8, hi as u8]
                });
                codes.take(x.len()).collect::<Vec<u8>>()
            })
            .collect();
        sums(|s| super::super::dense_ref(&rows, x, s))
    }

    /// Same sums as the codes unpacked, for every width 1..=80 (the group loop, the tail,
    /// odd widths with a padding nibble, fewer than 8 inputs: the portable fallback), rows
    /// 1..=5 (pairs and a last odd row), random bytes and inputs, the extremes, and the
    /// widest layers around the limit.
    #[test]
    fn matches_the_unpacked_codes() {
        let mut rng = Rng::new(45);
        let check = |rows: usize, cols: usize, fill: &mut dyn FnMut() -> (u8, i8)| {
            let bytes = rows * cols.div_ceil(2);
            let (w, x): (Vec<u8>, Vec<i8>) = (0..bytes.max(cols)).map(|_| fill()).unzip();
            let (w, x) = (&w[..bytes], &x[..cols]);
            let want = unpacked_sums(w, x);
            assert_eq!(sums(|s| dense_int4_dsp(w, x, s)), want, "{rows} x {cols}");
        };
        for cols in (1..=80).chain([255, 256, 257]) {
            for rows in 1..=5 {
                check(rows, cols, &mut || {
                    (rng.next_u32() as u8, rng.next_u32() as i8)
                });
                check(rows, cols, &mut || (0x88, -128));
                check(rows, cols, &mut || (0x77, 127));
                check(rows, cols, &mut || (0x88, 127));
            }
        }
    }

    /// The lanes' layout: each weight word's codes meet their own inputs.
    #[test]
    fn one_code_meets_its_input() {
        let x: [i8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
        for k in 0..8 {
            let mut w = [0u8; 4];
            w[k / 2] = if k % 2 == 0 { 0x01 } else { 0x10 };
            assert_eq!(
                sums(|s| dense_int4_dsp(&w, &x, s)),
                [x[k] as i32],
                "code {k}"
            );
        }
    }
}
