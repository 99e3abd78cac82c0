//! The hidden layers on AVX-512 VNNI: dot products, then requantization and ReLU, 16
//! rows at a time.

use core::arch::x86_64::*;

use super::dot::{correction, dot1, for_each_block};
use super::requant::{clamp_merge, requantize16};
use super::rows::{BlockParams, Rows};
use super::{BLOCK, HIDDEN_GROUP};
use crate::kernel::{relu_q, requantize};

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn hidden_layer(rows: &Rows<'_>, x: &[i8], zero_point: i8, out: &mut [i8]) {
    let correction = correction(x);
    let (blocks, _) = out.as_chunks_mut::<BLOCK>();
    // Up to HIDDEN_GROUP blocks' dot products, then their epilogues (as in the pixel
    // layer: measured faster than the epilogue inside the dot-product loop).
    for (g, group) in blocks.chunks_mut(HIDDEN_GROUP).enumerate() {
        let start = HIDDEN_GROUP * g;
        let weights = rows
            .weights
            .get(start * BLOCK * x.len()..)
            .unwrap_or_default();
        let mut values = [_mm512_setzero_si512(); HIDDEN_GROUP];
        for_each_block(weights, x, group.len(), |b, sums| {
            if let Some(v) = values.get_mut(b) {
                *v = sums;
            }
        });
        for (k, (dst, &sums)) in group.iter_mut().zip(&values).enumerate() {
            if let Some(p) = rows.block_params(start + k) {
                let sums = _mm512_add_epi32(sums, _mm512_set1_epi32(correction));
                *dst = hidden_codes(&p, sums, zero_point);
            }
        }
    }
    hidden_rest(rows, x, zero_point, out);
}

/// The codes of one hidden block, `relu_q(requantize(sums + bias + class bias))`, from
/// its exact dot products `sums`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn hidden_codes(p: &BlockParams<'_>, sums: __m512i, zero_point: i8) -> [i8; BLOCK] {
    let zp = i32::from(zero_point);
    // relu_q: clamp(v + zp, zp, 127) == clamp(v, 0, 127 - zp) + zp.
    let v = clamp_merge(
        requantize16(p.add_bias(sums), p.multipliers, p.shifts),
        0,
        i64::from(127 - zp),
    );
    let codes = _mm512_cvtepi32_epi8(_mm512_add_epi32(v, _mm512_set1_epi32(zp)));
    let mut out = [0i8; BLOCK];
    // SAFETY: writes exactly the 16 bytes of `out`.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), codes) };
    out
}

/// The rows of a hidden layer past its last whole block of 16, one at a time.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn hidden_rest(rows: &Rows<'_>, x: &[i8], zero_point: i8, out: &mut [i8]) {
    let first = out.len() / BLOCK * BLOCK;
    if first == out.len() {
        return;
    }
    let correction = correction(x);
    for (j, slot) in out.iter_mut().enumerate().skip(first) {
        if let (Some(w), Some((bias, m, s))) = (rows.row_weights(j), rows.row(j)) {
            let acc = dot1(w, x).wrapping_add(correction).wrapping_add(bias);
            *slot = relu_q(requantize(acc, m, s), zero_point);
        }
    }
}
