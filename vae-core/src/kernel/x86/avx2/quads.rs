//! The VNNI engine's list of a layer's inputs in quads: which inputs a decode reads the
//! weights of, four at a time, and the four `u` that one `VPDPBUSD` multiplies them by.
//!
//! Inputs are taken as `u = x + 128` (`0` for the code `-128`, a ReLU layer's zero). The
//! inputs with `u != 0` are listed in order, four to a quad, the last quad filled up with
//! the all-zero column (`u = 0`). Unlike the AVX2 pairs no input needs splitting:
//! `VPDPBUSD` adds four products of an unsigned byte and a signed one in `i32`, exact for
//! every `u` up to 255.

use core::arch::x86_64::*;

/// Inputs per step of [`Quads::fill`]: two 32-byte registers, one 64-bit mask.
const STEP: usize = 64;

/// The listed quads of a layer input of up to `W` codes, `Q = W / 4 + 1`.
pub(super) struct Quads<const W: usize, const Q: usize> {
    /// Quad `j`'s four columns.
    columns: [[u16; 4]; Q],
    /// Quad `j`'s four `u`, little-endian in an `i32`: the `VPDPBUSD` operand once
    /// broadcast.
    values: [[u8; 4]; Q],
}

/// A [`Quads`]'s quads: `columns[j]` and `values[j]` for each. Every column in it is below
/// `bound` ([`Quads::fill`], its only maker, keeps that), which the pass checks once
/// against its columns instead of checking each quad.
#[derive(Clone, Copy)]
pub(super) struct QuadView<'a> {
    columns: &'a [[u16; 4]],
    values: &'a [[u8; 4]],
    bound: usize,
}

impl<'a> QuadView<'a> {
    /// Quad `j`'s four columns.
    pub(super) fn columns(&self) -> &'a [[u16; 4]] {
        self.columns
    }

    /// Quad `j`'s four `u`.
    pub(super) fn values(&self) -> &'a [[u8; 4]] {
        self.values
    }

    /// A bound on every column of the quads.
    pub(super) fn bound(&self) -> usize {
        self.bound
    }
}

impl<const W: usize, const Q: usize> Quads<W, Q> {
    /// Empty lists.
    pub(super) fn new() -> Self {
        const { assert!(Q == W / 4 + 1 && W.is_multiple_of(STEP) && W <= 1 << 16) };
        Quads {
            columns: [[0; 4]; Q],
            values: [[0; 4]; Q],
        }
    }

    /// The quads of `x` (its codes past `W` are ignored); `zero_column` is the all-zero
    /// column's index.
    #[target_feature(enable = "avx2")]
    pub(super) fn fill(&mut self, x: &[i8], zero_column: usize) -> QuadView<'_> {
        let flip = _mm256_set1_epi8(-128);
        let zero = _mm256_setzero_si256();
        let columns = self.columns.as_flattened_mut();
        let values = self.values.as_flattened_mut();
        let mut listed = 0;
        for (s, codes) in x.chunks(STEP).take(W / STEP).enumerate() {
            let mut step = [-128i8; STEP];
            let codes = match codes.first_chunk::<STEP>() {
                Some(c) => c,
                None => {
                    // Codes past the end are -128 (u = 0): not listed.
                    step[..codes.len()].copy_from_slice(codes);
                    &step
                }
            };
            let mut u = [0u8; STEP];
            let mut mask = 0u64;
            for (half, (c, u)) in codes
                .chunks_exact(32)
                .zip(u.chunks_exact_mut(32))
                .enumerate()
            {
                // SAFETY: reads and writes exactly the 32 bytes of `c` and `u`.
                let v = unsafe {
                    let v = _mm256_xor_si256(_mm256_loadu_si256(c.as_ptr().cast()), flip);
                    _mm256_storeu_si256(u.as_mut_ptr().cast(), v);
                    v
                };
                let listed = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero)) as u32);
                mask |= u64::from(listed) << (32 * half);
            }
            while mask != 0 {
                let j = mask.trailing_zeros() as usize;
                if let (Some(c), Some(v), Some(&u)) =
                    (columns.get_mut(listed), values.get_mut(listed), u.get(j))
                {
                    // `STEP * s + j < W <= 65,536`.
                    (*c, *v) = ((STEP * s + j) as u16, u);
                }
                listed += 1;
                mask &= mask - 1;
            }
        }
        // The last quad filled up with the zero column.
        let count = listed.div_ceil(4).min(Q);
        for k in listed..4 * count {
            if let (Some(c), Some(v)) = (columns.get_mut(k), values.get_mut(k)) {
                (*c, *v) = (zero_column as u16, 0);
            }
        }
        QuadView {
            // Each of these entries was written above: an input below `min(x.len(), W)`,
            // or the zero column.
            columns: &self.columns[..count],
            values: &self.values[..count],
            bound: x.len().min(W).max(zero_column + 1),
        }
    }
}
