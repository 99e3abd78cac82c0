//! The RV32 dense loop, for cores without SIMD (`riscv32imc`/`imac`): each
//! multiply-accumulate is a sign-extending byte load (`lb`), a `mul` and an `add`, so the
//! loop saves everything around them. [`ROWS`] rows per pass share each input byte (one
//! `lb` of `x` per [`ROWS`] MACs), and [`UNROLL`] inputs per loop iteration pay the nine
//! pointer increments and the branch once per `ROWS * UNROLL` MACs:
//! `3 + 1/8 + 10/128 = 3.20` instructions per MAC in the loop.
//!
//! On RV32 the loop is an `asm!` block ([`head_dots`]): compiled from Rust, LLVM's
//! scheduler hoists all the loads of an unrolled iteration above the multiplies and
//! spills (a whole digit took 4.8 instructions per MAC that way under QEMU, 3.95 with
//! this loop). On other targets (the host tests) the same
//! blocks run in Rust. Integer sums are exact in any order (wrapping `i32`), so the
//! results are those of [`dense_ref`](super::dense_ref) bit for bit: the tests below
//! check the blocking on the host, and CI's RISC-V firmware checks the `asm!` loop's
//! golden bytes under QEMU.

use super::dot_ref;

/// Rows per pass: eight accumulators and eight row pointers (with the input pointer, its
/// end, the input byte and one temporary: 20 of RV32's 26 registers free for `asm!`).
const ROWS: usize = 8;
/// Inputs per loop iteration (fully unrolled: the byte offsets are immediates).
const UNROLL: usize = 16;

/// [`dense_ref`](super::dense_ref)'s contract: `sink(dot(row, x))` for each full row of
/// `weights`, in row order. [`ROWS`] rows per pass: the first `UNROLL * (n / UNROLL)`
/// inputs with [`head_dots`], the rest (none for the decoder's 256-wide layers) with
/// [`dot_ref`]; the last `rows % ROWS` rows with [`dot_ref`].
pub(super) fn dense(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let head = UNROLL * (n / UNROLL);
    let x_tail = x.get(head..).unwrap_or(&[]);
    let mut blocks = weights.chunks_exact(ROWS * n);
    for block in blocks.by_ref() {
        let mut acc = head_dots(block, x, head);
        if !x_tail.is_empty() {
            for (a, row) in acc.iter_mut().zip(block.chunks_exact(n)) {
                *a = a.wrapping_add(dot_ref(row.get(head..).unwrap_or(&[]), x_tail));
            }
        }
        for a in acc {
            sink(a);
        }
    }
    for row in blocks.remainder().chunks_exact(n) {
        sink(dot_ref(row, x));
    }
}

/// The dot products of the first `head` inputs (a multiple of [`UNROLL`], at most
/// `x.len()`) with the [`ROWS`] rows of `block` (`ROWS * x.len()` bytes, row `r` at
/// `r * x.len()`): the `asm!` loop. Zeros when `head` is 0; [`dot_ref`] on arguments
/// outside that contract (which [`dense`] never passes).
#[cfg(target_arch = "riscv32")]
#[inline(always)]
#[allow(unsafe_code)]
fn head_dots(block: &[u8], x: &[i8], head: usize) -> [i32; ROWS] {
    let n = x.len();
    if head == 0 {
        return [0; ROWS];
    }
    if !head.is_multiple_of(UNROLL) || head > n || block.len() < ROWS * n {
        let mut rows = block.chunks_exact(n.max(1));
        return [(); ROWS].map(|()| {
            let row = rows.next().unwrap_or(&[]);
            dot_ref(row.get(..head).unwrap_or(row), x.get(..head).unwrap_or(x))
        });
    }
    let row = |r: usize| block.as_ptr().wrapping_add(r * n);
    let mut a = [0i32; ROWS];
    // SAFETY: `head` is a non-zero multiple of 16, so the loop runs `head / 16` times and
    // reads bytes [0, head) of `x` and of each row: in bounds, as `head <= n = x.len()`
    // and row `r` is bytes [r * n, (r + 1) * n) of `block`, which holds `ROWS * n`. The loop only reads memory (`readonly`), keeps to
    // the named registers (the pointers and the two temporaries are outputs the compiler
    // treats as clobbered) and touches no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            ".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
            "lb {x}, \\i({xp})",
            "lb {t}, \\i({p0})",
            "mul {t}, {t}, {x}",
            "add {a0}, {a0}, {t}",
            "lb {t}, \\i({p1})",
            "mul {t}, {t}, {x}",
            "add {a1}, {a1}, {t}",
            "lb {t}, \\i({p2})",
            "mul {t}, {t}, {x}",
            "add {a2}, {a2}, {t}",
            "lb {t}, \\i({p3})",
            "mul {t}, {t}, {x}",
            "add {a3}, {a3}, {t}",
            "lb {t}, \\i({p4})",
            "mul {t}, {t}, {x}",
            "add {a4}, {a4}, {t}",
            "lb {t}, \\i({p5})",
            "mul {t}, {t}, {x}",
            "add {a5}, {a5}, {t}",
            "lb {t}, \\i({p6})",
            "mul {t}, {t}, {x}",
            "add {a6}, {a6}, {t}",
            "lb {t}, \\i({p7})",
            "mul {t}, {t}, {x}",
            "add {a7}, {a7}, {t}",
            ".endr",
            "addi {xp}, {xp}, 16",
            "addi {p0}, {p0}, 16",
            "addi {p1}, {p1}, 16",
            "addi {p2}, {p2}, 16",
            "addi {p3}, {p3}, 16",
            "addi {p4}, {p4}, 16",
            "addi {p5}, {p5}, 16",
            "addi {p6}, {p6}, 16",
            "addi {p7}, {p7}, 16",
            "bne {xp}, {end}, 2b",
            xp = inout(reg) x.as_ptr() => _,
            end = in(reg) x.as_ptr().wrapping_add(head),
            p0 = inout(reg) row(0) => _,
            p1 = inout(reg) row(1) => _,
            p2 = inout(reg) row(2) => _,
            p3 = inout(reg) row(3) => _,
            p4 = inout(reg) row(4) => _,
            p5 = inout(reg) row(5) => _,
            p6 = inout(reg) row(6) => _,
            p7 = inout(reg) row(7) => _,
            a0 = inout(reg) a[0],
            a1 = inout(reg) a[1],
            a2 = inout(reg) a[2],
            a3 = inout(reg) a[3],
            a4 = inout(reg) a[4],
            a5 = inout(reg) a[5],
            a6 = inout(reg) a[6],
            a7 = inout(reg) a[7],
            x = out(reg) _,
            t = out(reg) _,
            options(nostack, readonly),
        );
    }
    a
}

/// [`head_dots`] in Rust, for the targets that compile this module only for its tests:
/// the same blocks of [`UNROLL`] inputs.
#[cfg(not(target_arch = "riscv32"))]
fn head_dots(block: &[u8], x: &[i8], head: usize) -> [i32; ROWS] {
    let (xs, _) = x.get(..head).unwrap_or(&[]).as_chunks::<UNROLL>();
    let mut acc = [0i32; ROWS];
    for (a, row) in acc.iter_mut().zip(block.chunks_exact(x.len().max(1))) {
        for (k, xv) in xs.iter().enumerate() {
            let w = row.get(k * UNROLL..(k + 1) * UNROLL).unwrap_or(&[]);
            for (&w, &xi) in w.iter().zip(xv) {
                *a = a.wrapping_add(i32::from(w as i8) * i32::from(xi));
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::super::dense_ref;
    use super::*;
    use crate::Rng;
    use std::vec::Vec;

    /// Random shapes around the block sizes (rows not a multiple of [`ROWS`], inputs
    /// below, at and past multiples of [`UNROLL`], a trailing partial row), extreme
    /// values included.
    #[test]
    fn dense_matches_reference() {
        let mut rng = Rng::new(7);
        for case in 0..3000 {
            let rows = (rng.next_u32() % 20) as usize;
            let n = (rng.next_u32() % 70) as usize + 1;
            let extra = if case % 5 == 0 {
                (rng.next_u32() as usize) % n
            } else {
                0
            };
            let extreme = case % 9 == 0;
            let weights: Vec<u8> = (0..rows * n + extra)
                .map(|_| if extreme { 0x80 } else { rng.next_u32() as u8 })
                .collect();
            let x: Vec<i8> = (0..n)
                .map(|_| if extreme { -128 } else { rng.next_u32() as i8 })
                .collect();
            let mut want = Vec::new();
            dense_ref(&weights, &x, |v| want.push(v));
            let mut got = Vec::new();
            dense(&weights, &x, &mut |v| got.push(v));
            assert_eq!(got, want, "rows {rows}, n {n}, extra {extra}");
            assert_eq!(got.len(), rows);
        }
    }

    /// The decoder's layer shapes (20 and 256 inputs): whole blocks and a 4-input tail.
    #[test]
    fn decoder_shapes_match_reference() {
        let mut rng = Rng::new(11);
        for (rows, n) in [(256, 20), (256, 256), (784, 256), (6, 16), (13, 32)] {
            let weights: Vec<u8> = (0..rows * n).map(|_| rng.next_u32() as u8).collect();
            let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let mut want = Vec::new();
            dense_ref(&weights, &x, |v| want.push(v));
            let mut got = Vec::new();
            dense(&weights, &x, &mut |v| got.push(v));
            assert_eq!(got, want, "rows {rows}, n {n}");
        }
    }

    #[test]
    fn empty_input_produces_nothing() {
        let mut got = Vec::new();
        dense(&[1, 2, 3], &[], &mut |v| got.push(v));
        assert!(got.is_empty());
    }
}
