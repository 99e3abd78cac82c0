//! The two-row dot product for Arm cores without the DSP extension (Cortex-M0/M0+,
//! `thumbv6m`, `cfg(vae_thumb1)`) as a Thumb-1 `asm!` loop.
//!
//! Per input the loop loads the input once and each row's weight (`LDRSB` with a
//! register offset, the only form Thumb-1 has), multiplies (`MULS`) and adds into
//! accumulators kept in high registers (`ADD` reaches them), then advances the offset:
//! 8 instructions per two multiply-accumulates, 34 per iteration of four inputs
//! (4.25 per MAC). Compiled from Rust, the same loop costs 9.33 instructions per MAC on
//! the Cortex-M0 (QEMU `-icount`, default blob): with eight low registers LLVM computes
//! one row entirely, spilling the inputs and offsets to the stack, then reloads them for
//! the other.

use super::dot_ref;

/// `(dot(r0, x), dot(r1, x))` over the common length, wrapping `i32` sums: the first
/// `4 * (n / 4)` inputs in the `asm!` loop, the last few (at most three) through
/// [`dot_ref`].
#[inline(always)]
pub(super) fn dot2(r0: &[u8], r1: &[u8], x: &[i8]) -> (i32, i32) {
    let n = x.len().min(r0.len()).min(r1.len());
    let head = n & !3;
    let (mut a0, mut a1): (i32, i32) = (0, 0);
    if head > 0 {
        // SAFETY: the loop reads bytes `k` for `k` in `0..head` (four per iteration,
        // `head` a non-zero multiple of 4) of `x`, `r0` and `r1`, each at least
        // `n >= head` bytes long; it writes only its register operands, the declared
        // clobbers and the flags (no memory, no stack).
        unsafe {
            core::arch::asm!(
                // Thumb-1 `asm!` operands are low registers only: the bound and the
                // two accumulators live in high registers, moved in and out here.
                "mov r12, {t}",
                "movs {t}, #0",
                "mov r8, {t}",
                "mov r10, {t}",
                "2:",
                // Four inputs per iteration.
                ".rept 4",
                "ldrsb {xv}, [{px}, {k}]",
                "ldrsb {t}, [{p0}, {k}]",
                "muls {t}, {xv}, {t}",
                "add r8, {t}",
                "ldrsb {t}, [{p1}, {k}]",
                "muls {t}, {xv}, {t}",
                "add r10, {t}",
                "adds {k}, #1",
                ".endr",
                "cmp {k}, r12",
                "blo 2b",
                "mov {xv}, r8",
                "mov {t}, r10",
                px = in(reg) x.as_ptr(),
                p0 = in(reg) r0.as_ptr(),
                p1 = in(reg) r1.as_ptr(),
                k = inout(reg) 0usize => _,
                xv = out(reg) a0,
                t = inout(reg) head => a1,
                out("r8") _,
                out("r10") _,
                out("r12") _,
                options(nostack, readonly, pure),
            );
        }
    }
    let tail = (r0.get(head..n), r1.get(head..n), x.get(head..n));
    if let (Some(t0), Some(t1), Some(tx)) = tail {
        (
            a0.wrapping_add(dot_ref(t0, tx)),
            a1.wrapping_add(dot_ref(t1, tx)),
        )
    } else {
        (a0, a1)
    }
}
