//! The portable dense loops: one row at a time in vectorizable lanes on targets with
//! vector units, several rows per pass on Cortex-M (with `SMLAD` where the core has the
//! DSP extension, module `packed`; a Thumb-1 loop on the Cortex-M0/M0+, module `thumb1`).

use super::dot_ref;
#[cfg(any(vae_dsp, test))]
use super::packed::{self, PackedPair};

/// [`dense`] without the accelerated kernels: the per-target portable loops.
pub(crate) fn dense_portable(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    let n = x.len();
    if n == 0 {
        return;
    }
    if !cfg!(target_arch = "arm") {
        // Targets with vector units (x86-64, AArch64, wasm): one row at a time in
        // 16 independent lanes, which the compiler vectorizes (about 10x the
        // two-row loop on x86-64). Integer sums are exact in any order.
        // RV32 has no vector unit: eight rows per pass, unrolled (module `riscv`).
        if cfg!(target_arch = "riscv32") {
            super::riscv::dense(weights, x, &mut sink);
        } else {
            for row in weights.chunks_exact(n) {
                sink(dot_wide(row, x));
            }
        }
        return;
    }
    #[cfg(vae_dsp)]
    dense_quads(
        weights,
        x,
        &mut sink,
        packed::dot4,
        packed::dot3,
        packed::dot2,
    );
    #[cfg(vae_thumb1)]
    dense_pairs(weights, x, &mut sink, super::thumb1::dot2);
    #[cfg(not(any(vae_dsp, vae_thumb1)))]
    dense_pairs(weights, x, &mut sink, dot2_portable);
}

/// Rows two at a time with `dot2`, then a last odd row with [`dot_ref`].
#[inline(always)]
#[cfg_attr(vae_dsp, allow(dead_code))]
pub(super) fn dense_pairs(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut pairs = weights.chunks_exact(2 * n);
    for pair in pairs.by_ref() {
        if let Some((r0, r1)) = pair.split_at_checked(n) {
            let (a0, a1) = dot2(r0, r1, x);
            sink(a0);
            sink(a1);
        }
    }
    if let Some(row) = pairs.remainder().chunks_exact(n).next() {
        sink(dot_ref(row, x));
    }
}

/// Rows three at a time with `dot3`, the remaining zero to two rows with
/// [`dense_pairs`] (`dot2`, then [`dot_ref`]).
#[inline(always)]
#[cfg_attr(not(any(vae_dsp, test)), allow(dead_code))]
pub(super) fn dense_triples(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot3: impl Fn([&[u8]; 3], &[i8]) -> [i32; 3],
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut triples = weights.chunks_exact(3 * n);
    for triple in triples.by_ref() {
        let mut rows = triple.chunks_exact(n);
        if let (Some(r0), Some(r1), Some(r2)) = (rows.next(), rows.next(), rows.next()) {
            for acc in dot3([r0, r1, r2], x) {
                sink(acc);
            }
        }
    }
    dense_pairs(triples.remainder(), x, sink, dot2);
}

/// Most inputs [`dense_quads`] takes: its packed copy of `x` lives on the stack (2 bytes
/// per input, 512 bytes here); wider layers take [`dense_triples`].
#[cfg(any(vae_dsp, test))]
pub const QUAD_MAX_INPUTS: usize = 256;

/// Rows four at a time with `dot4` over the first `4 * (n / 4)` inputs (pre-extended once
/// per call into [`PackedPair`]s), the last `n % 4` inputs of each row with [`dot_ref`];
/// the remaining zero to three rows with [`dense_triples`]. Layers of more than
/// [`QUAD_MAX_INPUTS`] or fewer than 4 inputs go to [`dense_triples`] entirely.
///
/// `dot4(quad, n, packed)` gets exactly four rows of `n` bytes (`quad.len() == 4 * n`)
/// and `packed.len() <= n / 4` pairs, `packed` non-empty.
#[inline(always)]
#[cfg(any(vae_dsp, test))]
pub(super) fn dense_quads(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot4: impl Fn(&[u8], usize, &[PackedPair]) -> [i32; 4],
    dot3: impl Fn([&[u8]; 3], &[i8]) -> [i32; 3],
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    let (words, tail_x) = x.as_chunks::<4>();
    if n > QUAD_MAX_INPUTS || words.is_empty() {
        dense_triples(weights, x, sink, dot3, dot2);
        return;
    }
    let mut buffer = [[0u32; 2]; QUAD_MAX_INPUTS / 4];
    for (pair, xs) in buffer.iter_mut().zip(words) {
        *pair = packed::pair(u32::from_le_bytes(xs.map(|b| b as u8)));
    }
    let packed = buffer.get(..words.len()).unwrap_or(&[]);
    let head = 4 * words.len();
    let mut quads = weights.chunks_exact(4 * n);
    for quad in quads.by_ref() {
        let mut acc = dot4(quad, n, packed);
        if !tail_x.is_empty() {
            for (a, row) in acc.iter_mut().zip(quad.chunks_exact(n)) {
                let tail = row.get(head..).unwrap_or(&[]);
                *a = a.wrapping_add(dot_ref(tail, tail_x));
            }
        }
        for a in acc {
            sink(a);
        }
    }
    dense_triples(quads.remainder(), x, sink, dot3, dot2);
}

/// Dot product in [`WIDE_LANES`] independent accumulators (vectorizable).
pub(super) fn dot_wide(w: &[u8], x: &[i8]) -> i32 {
    let (cw, cx) = (w.chunks_exact(WIDE_LANES), x.chunks_exact(WIDE_LANES));
    let tail = dot_ref(cw.remainder(), cx.remainder());
    let mut acc = [0i32; WIDE_LANES];
    for (a, b) in cw.zip(cx) {
        for ((s, &wi), &xi) in acc.iter_mut().zip(a).zip(b) {
            *s = s.wrapping_add(i32::from(wi as i8) * i32::from(xi));
        }
    }
    acc.iter().fold(tail, |s, &v| s.wrapping_add(v))
}

/// Lanes of [`dot_wide`].
const WIDE_LANES: usize = 16;

/// Two dot products sharing the input vector over their common length: sixteen inputs
/// per loop iteration (fully unrolled, so the loop's bookkeeping is paid once per 32
/// multiply-accumulates rather than left to the compiler's unrolling), then four, then
/// one.
#[inline(always)]
#[cfg_attr(any(vae_dsp, vae_thumb1), allow(dead_code))]
pub(super) fn dot2_portable(r0: &[u8], r1: &[u8], x: &[i8]) -> (i32, i32) {
    let mac = |acc: i32, w: u8, x: i8| acc.wrapping_add(i32::from(w as i8) * i32::from(x));
    let n = x.len().min(r0.len()).min(r1.len());
    let (r0, r1, x) = match (r0.get(..n), r1.get(..n), x.get(..n)) {
        (Some(r0), Some(r1), Some(x)) => (r0, r1, x),
        _ => return (0, 0),
    };
    let (mut a0, mut a1) = (0i32, 0i32);
    let ((b0, t0), (b1, t1), (bx, tx)) = (
        r0.as_chunks::<16>(),
        r1.as_chunks::<16>(),
        x.as_chunks::<16>(),
    );
    for ((w0, w1), xs) in b0.iter().zip(b1).zip(bx) {
        for i in 0..16 {
            a0 = mac(a0, w0[i], xs[i]);
            a1 = mac(a1, w1[i], xs[i]);
        }
    }
    let (c0, c1, cx) = (t0.chunks_exact(4), t1.chunks_exact(4), tx.chunks_exact(4));
    let (u0, u1, ux) = (c0.remainder(), c1.remainder(), cx.remainder());
    for ((w0, w1), xs) in c0.zip(c1).zip(cx) {
        if let ([p0, p1, p2, p3], [q0, q1, q2, q3], [x0, x1, x2, x3]) = (w0, w1, xs) {
            a0 = mac(mac(mac(mac(a0, *p0, *x0), *p1, *x1), *p2, *x2), *p3, *x3);
            a1 = mac(mac(mac(mac(a1, *q0, *x0), *q1, *x1), *q2, *x2), *q3, *x3);
        }
    }
    for ((&w0, &w1), &xi) in u0.iter().zip(u1).zip(ux) {
        a0 = mac(a0, w0, xi);
        a1 = mac(a1, w1, xi);
    }
    (a0, a1)
}
