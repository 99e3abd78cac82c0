//! The RV32 dense loop, for cores without SIMD (`riscv32imc`/`imac`): each
//! multiply-accumulate is a sign-extending byte load (`lb`), a `mul` and an `add`, so the
//! loop saves everything around them. [`ROWS`] rows per pass share each input byte (one
//! `lb` of `x` per [`ROWS`] MACs), and [`UNROLL`] inputs per loop iteration pay the five
//! pointer increments and the branch once per `ROWS * UNROLL` MACs:
//! `3 + 1/4 + 6/64 = 3.34` instructions per MAC in the loop.
//!
//! On RV32 the loop is an `asm!` block ([`head_dots`]): compiled from Rust, LLVM's
//! scheduler hoists all the loads of an unrolled iteration above the multiplies and
//! spills (4.8 instructions per MAC measured). On other targets (the host tests) the same
//! blocks run in Rust. Integer sums are exact in any order (wrapping `i32`), so the
//! results are those of [`dense_ref`](super::dense_ref) bit for bit: the tests below
//! check the blocking on the host, and CI's RISC-V firmware checks the `asm!` loop's
//! golden bytes under QEMU.

use super::dot_ref;

/// Rows per pass: four accumulators and four row pointers (with the input pointer, its
/// end, the input byte and one temporary: 12 registers, no spills).
const ROWS: usize = 4;
/// Inputs per loop iteration (fully unrolled: the byte offsets are immediates).
const UNROLL: usize = 16;

/// [`dense_ref`](super::dense_ref)'s contract: `sink(dot(row, x))` for each full row of
/// `weights`, in row order. [`ROWS`] rows per pass with [`dot_rows`], the last
/// `rows % ROWS` with [`dot_ref`].
pub(super) fn dense(weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut blocks = weights.chunks_exact(ROWS * n);
    for block in blocks.by_ref() {
        if let (Some(r0), Some(r1), Some(r2), Some(r3)) = (
            block.get(..n),
            block.get(n..2 * n),
            block.get(2 * n..3 * n),
            block.get(3 * n..4 * n),
        ) {
            for acc in dot_rows([r0, r1, r2, r3], x) {
                sink(acc);
            }
        }
    }
    for row in blocks.remainder().chunks_exact(n) {
        sink(dot_ref(row, x));
    }
}

/// Four dot products with the same `x` (each row exactly `x.len()` bytes, as [`dense`]
/// passes them; other rows go through [`dot_ref`]): the first `UNROLL * (n / UNROLL)`
/// inputs with [`head_dots`], the rest with [`dot_ref`].
#[inline(always)]
fn dot_rows(rows: [&[u8]; ROWS], x: &[i8]) -> [i32; ROWS] {
    if rows.iter().any(|r| r.len() != x.len()) {
        return rows.map(|r| dot_ref(r, x));
    }
    let head = UNROLL * (x.len() / UNROLL);
    let mut acc = [0i32; ROWS];
    if head > 0 {
        acc = head_dots(rows, x, head);
    }
    let x_tail = x.get(head..).unwrap_or(&[]);
    for (a, row) in acc.iter_mut().zip(rows) {
        *a = a.wrapping_add(dot_ref(row.get(head..).unwrap_or(&[]), x_tail));
    }
    acc
}

/// The dot products of the first `head` inputs (a non-zero multiple of [`UNROLL`], at
/// most `x.len()`; every row at least `head` bytes): the `asm!` loop.
#[cfg(target_arch = "riscv32")]
#[inline(always)]
#[allow(unsafe_code)]
fn head_dots(rows: [&[u8]; ROWS], x: &[i8], head: usize) -> [i32; ROWS] {
    debug_assert!(head > 0 && head % UNROLL == 0 && head <= x.len());
    debug_assert!(rows.iter().all(|r| r.len() >= head));
    let [r0, r1, r2, r3] = rows;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    // SAFETY: `head` is a non-zero multiple of 16, so the loop runs `head / 16` times and
    // reads bytes [0, head) of `x` and of each row, all in bounds (`dot_rows` checks the
    // row lengths, `head <= x.len()`). The loop only reads memory (`readonly`), keeps to
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
            ".endr",
            "addi {xp}, {xp}, 16",
            "addi {p0}, {p0}, 16",
            "addi {p1}, {p1}, 16",
            "addi {p2}, {p2}, 16",
            "addi {p3}, {p3}, 16",
            "bne {xp}, {end}, 2b",
            xp = inout(reg) x.as_ptr() => _,
            end = in(reg) x.as_ptr().wrapping_add(head),
            p0 = inout(reg) r0.as_ptr() => _,
            p1 = inout(reg) r1.as_ptr() => _,
            p2 = inout(reg) r2.as_ptr() => _,
            p3 = inout(reg) r3.as_ptr() => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            x = out(reg) _,
            t = out(reg) _,
            options(nostack, readonly),
        );
    }
    [a0, a1, a2, a3]
}

/// [`head_dots`] in Rust, for the targets that compile this module only for its tests:
/// the same blocks of [`UNROLL`] inputs.
#[cfg(not(target_arch = "riscv32"))]
fn head_dots(rows: [&[u8]; ROWS], x: &[i8], head: usize) -> [i32; ROWS] {
    let (xs, _) = x.get(..head).unwrap_or(&[]).as_chunks::<UNROLL>();
    let mut acc = [0i32; ROWS];
    for (k, xv) in xs.iter().enumerate() {
        for (a, row) in acc.iter_mut().zip(rows) {
            let block = row.get(k * UNROLL..(k + 1) * UNROLL).unwrap_or(&[]);
            for (&w, &xi) in block.iter().zip(xv) {
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
            let rows = (rng.next_u32() % 11) as usize;
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
        for (rows, n) in [(256, 20), (256, 256), (784, 256), (6, 16)] {
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
