//! The Cortex-M4/M7/M33 hot path: packed 16-bit multiply-accumulates (`SMLAD`).
//!
//! Four int8 weights (or inputs) are loaded as one word; `SXTB16` sign-extends bytes 0
//! and 2 (and, rotated by 8, bytes 1 and 3) into two 16-bit lanes; `SMLAD` multiplies
//! both lanes and adds both products to the accumulator. The sums are the same integers
//! as [`dot_ref`](super::dot_ref) (the blob's validation rules out overflow), so results
//! stay bit-exact; CI checks this under QEMU against the host's golden images, and the
//! host tests run the same loops with [`emulated`] instructions.
//!
//! The decoder runs [`dot4`] (four rows over an `x` sign-extended once per layer: 1.44
//! instructions per MAC in the loop, an `asm!` loop on the M4, because LLVM spills an
//! accumulator when the same loop is written in Rust) and keeps [`dot3`] (1.67 per MAC)
//! and [`dot2`] (2.0) for leftover rows and layers wider than
//! [`QUAD_MAX_INPUTS`](super::portable::QUAD_MAX_INPUTS). README's results table gives
//! the whole network's instructions per MAC, measured under QEMU in CI.

/// `x` sign-extended into packed 16-bit pairs, one `[bytes 0 and 2, bytes 1 and 3]` per
/// four inputs (what `SXTB16` and `SXTB16 .., ROR #8` make of the little-endian word).
pub(super) type PackedPair = [u32; 2];

#[cfg(vae_dsp)]
pub(super) use dsp::{smlad, sxtb16, sxtb16_ror8};
#[cfg(not(vae_dsp))]
pub(super) use emulated::{smlad, sxtb16, sxtb16_ror8};

/// Four int8 as a little-endian word (0 for a chunk that is not 4 bytes long).
#[inline(always)]
fn word(b: &[u8]) -> u32 {
    <[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes)
}

/// Four int8 inputs as a little-endian word, split into the packed pairs
/// (bytes 0 and 2, bytes 1 and 3).
#[inline(always)]
fn x_pairs(xs: &[i8]) -> (u32, u32) {
    let xw = <[i8; 4]>::try_from(xs).map_or(0, |v| u32::from_le_bytes(v.map(|b| b as u8)));
    (sxtb16(xw), sxtb16_ror8(xw))
}

/// `acc + w · x` for four weights in `w` and the packed input pairs.
#[inline(always)]
fn mac4(acc: i32, w: &[u8], (x02, x13): (u32, u32)) -> i32 {
    let w = word(w);
    smlad(sxtb16_ror8(w), x13, smlad(sxtb16(w), x02, acc))
}

#[inline(always)]
fn mac1(acc: i32, w: u8, x: i8) -> i32 {
    acc.wrapping_add(i32::from(w as i8) * i32::from(x))
}

/// The packed pairs of four int8 inputs (a little-endian word): `[SXTB16(x),
/// SXTB16(x, ROR #8)]`.
#[inline(always)]
pub(super) fn pair(xw: u32) -> PackedPair {
    [sxtb16(xw), sxtb16_ror8(xw)]
}

/// Four dot products over the first `4 * packed.len()` inputs: `quad` holds four rows
/// of `n` bytes, `packed` the inputs as [`pair`]s.
///
/// On the Cortex-M4 this is [`dsp::dot4`](dsp::dot4), an `asm!` loop; here
/// (and as its fallback should its bounds check fail, which [`dense_quads`](super::portable::dense_quads)
/// rules out) the same loop in Rust: per pair, per row in the order 1, 0, 3, 2, one
/// weight word, two `SXTB16` and two `SMLAD`, so the host tests run the loop's
/// arithmetic with the [`emulated`](emulated) instructions.
#[inline(always)]
pub(super) fn dot4(quad: &[u8], n: usize, packed: &[PackedPair]) -> [i32; 4] {
    #[cfg(vae_dsp)]
    if let Some(acc) = dsp::dot4(quad, n, packed) {
        return acc;
    }
    let mut acc = [0i32; 4];
    for (i, &[x02, x13]) in packed.iter().enumerate() {
        for r in [1, 0, 3, 2] {
            let at = r * n + 4 * i;
            if let (Some(a), Some(w)) = (acc.get_mut(r), quad.get(at..at + 4)) {
                *a = mac4(*a, w, (x02, x13));
            }
        }
    }
    acc
}

/// Two dot products sharing the input vector, four inputs per iteration.
#[inline(always)]
pub(super) fn dot2(r0: &[u8], r1: &[u8], x: &[i8]) -> (i32, i32) {
    let (mut a0, mut a1) = (0i32, 0i32);
    let (c0, c1) = (r0.chunks_exact(4), r1.chunks_exact(4));
    let cx = x.chunks_exact(4);
    let (t0, t1, tx) = (c0.remainder(), c1.remainder(), cx.remainder());
    for ((w0, w1), xs) in c0.zip(c1).zip(cx) {
        let xp = x_pairs(xs);
        a0 = mac4(a0, w0, xp);
        a1 = mac4(a1, w1, xp);
    }
    for ((&w0, &w1), &xi) in t0.iter().zip(t1).zip(tx) {
        a0 = mac1(a0, w0, xi);
        a1 = mac1(a1, w1, xi);
    }
    (a0, a1)
}

/// Three dot products sharing the input vector: per four inputs, one load and two
/// `SXTB16` for `x`, then per row one load, two `SXTB16` and two `SMLAD`.
///
/// Why three rows: the loop then needs 12 registers (3 accumulators, 2 packed input
/// pairs, 2 temporaries, 4 pointers, a counter), and the M4 has 13 free ones (`r7`
/// is the frame pointer). Four rows need 14, and LLVM spills accumulators to the
/// stack (measured: slower than two rows); so does unrolling to eight inputs.
#[inline(always)]
pub(super) fn dot3(rows: [&[u8]; 3], x: &[i8]) -> [i32; 3] {
    let [r0, r1, r2] = rows;
    let (mut a0, mut a1, mut a2) = (0i32, 0i32, 0i32);
    let (c0, c1, c2) = (r0.chunks_exact(4), r1.chunks_exact(4), r2.chunks_exact(4));
    let cx = x.chunks_exact(4);
    let (t0, t1, t2) = (c0.remainder(), c1.remainder(), c2.remainder());
    let tx = cx.remainder();
    for (((w0, w1), w2), xs) in c0.zip(c1).zip(c2).zip(cx) {
        let xp = x_pairs(xs);
        a0 = mac4(a0, w0, xp);
        a1 = mac4(a1, w1, xp);
        a2 = mac4(a2, w2, xp);
    }
    for (((&w0, &w1), &w2), &xi) in t0.iter().zip(t1).zip(t2).zip(tx) {
        a0 = mac1(a0, w0, xi);
        a1 = mac1(a1, w1, xi);
        a2 = mac1(a2, w2, xi);
    }
    [a0, a1, a2]
}

/// Bit-exact software models of the three DSP instructions, so that the host tests run
/// [`packed`]'s loops exactly as the Cortex-M4 does.
#[cfg(all(test, not(vae_dsp)))]
pub(super) mod emulated {
    /// Sign-extends bytes 0 and 2 into the two 16-bit lanes.
    pub(in crate::kernel) fn sxtb16(v: u32) -> u32 {
        let lane = |b: u32| u32::from((b as u8 as i8 as i16) as u16);
        lane(v) | lane(v >> 16) << 16
    }

    /// `sxtb16` of `v` rotated right by 8: bytes 1 and 3.
    pub(in crate::kernel) fn sxtb16_ror8(v: u32) -> u32 {
        sxtb16(v.rotate_right(8))
    }

    /// `acc + lo(a) * lo(b) + hi(a) * hi(b)` on signed 16-bit lanes, wrapping.
    pub(in crate::kernel) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let lo = |v: u32| i32::from(v as u16 as i16);
        let hi = |v: u32| i32::from((v >> 16) as u16 as i16);
        acc.wrapping_add(lo(a) * lo(b)).wrapping_add(hi(a) * hi(b))
    }
}

/// The DSP instructions as one-instruction `asm!` blocks (stable Rust has no DSP
/// intrinsics) and the four-row loop [`dot4`](dsp::dot4).
#[cfg(vae_dsp)]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    #[inline(always)]
    pub(in crate::kernel) fn sxtb16(v: u32) -> u32 {
        let r;
        // SAFETY: a register-only instruction.
        unsafe {
            asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
        };
        r
    }

    #[inline(always)]
    pub(in crate::kernel) fn sxtb16_ror8(v: u32) -> u32 {
        let r;
        // SAFETY: a register-only instruction.
        unsafe {
            asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
        };
        r
    }

    /// [`packed::dot4`](super::dot4) as one `asm!` loop: four rows, four inputs
    /// per iteration; `None` (nothing run) unless `packed` is non-empty, `quad` holds four
    /// rows of `n` bytes and `4 * packed.len() <= n`.
    ///
    /// Per iteration 23 instructions for 16 MACs (1.44 per MAC): one `LDRD` for the two
    /// packed input pairs, per row one `LDR` (post-incremented pointer, or the same
    /// pointer plus `n` for the odd rows), two `SXTB16` and two `SMLAD`, then `CMP` and
    /// `BNE`. It needs 13 registers and `asm!` operands can only get 12 on Thumb (`r0`-`r5`,
    /// `r8`-`r12`, `lr`: `r6` and `r7` are reserved by LLVM), so it saves and restores
    /// `r7` itself. The Rust version of three rows ([`packed::dot3`](super::dot3),
    /// 20 instructions per 12 MACs with `x` extended in the loop) could not go further:
    /// with four rows LLVM spilled accumulators. Measured
    /// under QEMU `-icount` on the default blob: the network went from 608,622 to
    /// 523,592 instructions (2.24 to 1.92 per MAC), the whole digit from 623,153 to
    /// 538,163.
    #[inline(always)]
    pub(super) fn dot4(quad: &[u8], n: usize, packed: &[super::PackedPair]) -> Option<[i32; 4]> {
        let pairs = packed.len();
        // The bounds the loop relies on, checked in safe code: at least one iteration,
        // four whole rows, and every row long enough for `4 * pairs` bytes.
        if pairs == 0 || quad.len() != 4 * n || 4 * pairs > n {
            return None;
        }
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        let row0 = quad.as_ptr();
        let row2 = row0.wrapping_add(2 * n);
        let x = packed.as_ptr();
        let x_end = x.wrapping_add(pairs);
        // SAFETY: reads only: `x .. x_end` is `packed` (8 bytes a pair, `ldrd` with
        // post-increment until `x == x_end`, at least once since `pairs >= 1`); in
        // iteration `i` (0-based) the weight loads read 4 bytes at `row0 + 4i`,
        // `row0 + n + 4i`, `row2 + 4i`, `row2 + n + 4i`, i.e. rows 0..4 of `quad`
        // (`quad.len() == 4n`, `row2 = row0 + 2n`) at offsets `4i + 3 < 4 * pairs <= n`:
        // in bounds. Unaligned `LDR` is allowed on the M4 (and the blob is read as bytes
        // elsewhere); `LDRD` needs 4-byte alignment, which `[u32; 2]` has. `r7` is pushed
        // and popped around the loop (the stack is restored), every other register
        // written is an operand, and the flags are clobbered (no `preserves_flags`).
        unsafe {
            asm!(
                "push {{r7}}",
                "2:",
                "ldrd {xa}, r7, [{x}], #8",
                "ldr {w}, [{row0}, {n}]",
                "sxtb16 {t}, {w}",
                "smlad {a1}, {t}, {xa}, {a1}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a1}, {w}, r7, {a1}",
                "ldr {w}, [{row0}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a0}, {t}, {xa}, {a0}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a0}, {w}, r7, {a0}",
                "ldr {w}, [{row2}, {n}]",
                "sxtb16 {t}, {w}",
                "smlad {a3}, {t}, {xa}, {a3}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a3}, {w}, r7, {a3}",
                "ldr {w}, [{row2}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a2}, {t}, {xa}, {a2}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a2}, {w}, r7, {a2}",
                "cmp {x}, {x_end}",
                "bne 2b",
                "pop {{r7}}",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                row0 = inout(reg) row0 => _,
                row2 = inout(reg) row2 => _,
                x = inout(reg) x => _,
                x_end = in(reg) x_end,
                n = in(reg) n,
                xa = out(reg) _,
                w = out(reg) _,
                t = out(reg) _,
            )
        };
        Some([a0, a1, a2, a3])
    }

    #[inline(always)]
    pub(in crate::kernel) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let r;
        // SAFETY: a register-only instruction (it may set the sticky Q flag, which
        // nothing reads).
        unsafe {
            asm!("smlad {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack))
        };
        r
    }
}
