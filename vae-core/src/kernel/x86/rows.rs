//! A layer's arrays as the AVX-512 VNNI kernels read them: checked once against the
//! layer's shapes ([`Rows`]), then cut into blocks of 16 rows ([`BlockParams`]).

use core::arch::x86_64::*;

use super::BLOCK;
use super::requant::load16;
use crate::format::Dense;

/// A layer's arrays, checked once against its shapes.
pub(super) struct Rows<'l> {
    pub(super) n: usize,
    pub(super) weights: &'l [u8],
    pub(super) bias: &'l [u8],
    pub(super) class_bias: &'l [u8],
    pub(super) multipliers: &'l [u8],
    pub(super) shifts: &'l [u8],
}

/// One block's per-row parameters, as the blob's bytes.
pub(super) struct BlockParams<'l> {
    pub(super) bias: &'l [u8; 4 * BLOCK],
    pub(super) class_bias: Option<&'l [u8; 4 * BLOCK]>,
    pub(super) multipliers: &'l [u8; 4 * BLOCK],
    pub(super) shifts: &'l [u8; BLOCK],
}

impl BlockParams<'_> {
    /// `acc` plus the bias and the class bias.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn add_bias(&self, acc: __m512i) -> __m512i {
        let acc = _mm512_add_epi32(acc, load16(self.bias));
        match self.class_bias {
            Some(class_bias) => _mm512_add_epi32(acc, load16(class_bias)),
            None => acc,
        }
    }
}

impl<'l> Rows<'l> {
    /// `None` unless `layer` holds `rows` rows of `n >= 1` inputs and `class_bias` is
    /// empty or holds `rows` values.
    pub(super) fn new(
        layer: &Dense<'l>,
        n: usize,
        class_bias: &'l [u8],
        rows: usize,
    ) -> Option<Self> {
        let fits = n >= 1
            && layer.weights.len() >= rows.checked_mul(n)?
            && layer.bias.len() >= 4 * rows
            && layer.multipliers.len() >= 4 * rows
            && layer.shifts.len() >= rows
            && (class_bias.is_empty() || class_bias.len() >= 4 * rows);
        fits.then_some(Rows {
            n,
            weights: layer.weights,
            bias: layer.bias,
            class_bias,
            multipliers: layer.multipliers,
            shifts: layer.shifts,
        })
    }

    /// The parameters of rows `16 b .. 16 b + 16`.
    #[inline(always)]
    pub(super) fn block_params(&self, b: usize) -> Option<BlockParams<'l>> {
        let at4 = |s: &'l [u8]| s.get(4 * BLOCK * b..)?.first_chunk::<{ 4 * BLOCK }>();
        Some(BlockParams {
            bias: at4(self.bias)?,
            class_bias: if self.class_bias.is_empty() {
                None
            } else {
                Some(at4(self.class_bias)?)
            },
            multipliers: at4(self.multipliers)?,
            shifts: self.shifts.get(BLOCK * b..)?.first_chunk::<BLOCK>()?,
        })
    }

    pub(super) fn row_weights(&self, j: usize) -> Option<&'l [u8]> {
        self.weights.get(j * self.n..(j + 1) * self.n)
    }

    /// Row `j`'s bias (class bias included), multiplier and shift.
    pub(super) fn row(&self, j: usize) -> Option<(i32, i32, u8)> {
        let le = |s: &[u8]| {
            s.get(4 * j..)?
                .first_chunk::<4>()
                .map(|b| i32::from_le_bytes(*b))
        };
        let extra = if self.class_bias.is_empty() {
            0
        } else {
            le(self.class_bias)?
        };
        Some((
            le(self.bias)?.wrapping_add(extra),
            le(self.multipliers)?,
            *self.shifts.get(j)?,
        ))
    }
}
