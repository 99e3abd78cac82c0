//! The pixel layer on AVX-512 VNNI: all dot products, then the requantization, then the
//! threshold searches ([`Tree`]), seven blocks in lockstep.

use core::arch::x86_64::*;

use super::dot::{correction, for_each_block};
use super::requant::{clamp_merge, requantize16};
use super::rows::{BlockParams, Rows};
use super::tree::Tree;
use super::{BLOCK, LOCKSTEP, PIXEL_BLOCKS};
use crate::IMAGE_PIXELS;
use crate::format::NUM_THRESHOLDS;

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn pixel_layer(
    rows: &Rows<'_>,
    x: &[i8],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    // All dot products first, then the requantization, then the searches (see the
    // module docs).
    let mut values = [_mm512_setzero_si512(); PIXEL_BLOCKS];
    pixel_sums(rows, x, 0, &mut values);
    store_pixels(rows, &mut values, table, out);
}

/// `values[b]` = the exact dot products of the pixel layer's block `b` (`rows`, input
/// `x`), for the blocks from `first` on, in the blob's order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn pixel_sums(
    rows: &Rows<'_>,
    x: &[i8],
    first: usize,
    values: &mut [__m512i; PIXEL_BLOCKS],
) {
    let Some(weights) = rows.weights.get(first * BLOCK * x.len()..) else {
        return;
    };
    let correction = _mm512_set1_epi32(correction(x));
    for_each_block(weights, x, PIXEL_BLOCKS.saturating_sub(first), |k, sums| {
        if let Some(slot) = values.get_mut(first + k) {
            *slot = _mm512_add_epi32(sums, correction);
        }
    });
}

/// The pixel layer after its dot products: `values[b]` holds block `b`'s exact dot
/// products; requantizes them all, then searches the thresholds seven blocks at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn store_pixels(
    rows: &Rows<'_>,
    values: &mut [__m512i; PIXEL_BLOCKS],
    table: &[u8; 4 * NUM_THRESHOLDS],
    out: &mut [u8; IMAGE_PIXELS],
) {
    for (b, slot) in values.iter_mut().enumerate() {
        if let Some(p) = rows.block_params(b) {
            *slot = pixel_values(&p, *slot, FULL_RANGE);
        }
    }
    search_pixels(values, &Tree::new(table), out);
}

/// The values of one pixel block, `requantize(sums + bias + class bias)` clamped to
/// `lo ..= hi` (a range inside `i32`), from its exact dot products `sums`. The pixels are
/// the same whenever `lo` is below the first threshold (all lower values are black) and
/// `hi` is at or above the last (all higher values are white); `i32`'s range always is.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn pixel_values(p: &BlockParams<'_>, sums: __m512i, (lo, hi): (i64, i64)) -> __m512i {
    clamp_merge(
        requantize16(p.add_bias(sums), p.multipliers, p.shifts),
        lo,
        hi,
    )
}

/// The clamp of [`pixel_values`] that any threshold table allows.
pub(super) const FULL_RANGE: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

/// The pixels of the requantized `values`: the threshold search, seven blocks at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn search_pixels(
    values: &[__m512i; PIXEL_BLOCKS],
    tree: &Tree,
    out: &mut [u8; IMAGE_PIXELS],
) {
    // A group of seven blocks (four image rows) whose values are all below the first
    // threshold is black, without a search: the top and bottom groups usually are.
    let first = tree.first;
    let mut lit = 0u64;
    for (b, v) in values.iter().enumerate() {
        lit |= u64::from(_mm512_cmpge_epi32_mask(*v, first) != 0) << b;
    }
    let (blocks, _) = out.as_chunks_mut::<BLOCK>();
    let (dsts, _) = blocks.as_chunks_mut::<LOCKSTEP>();
    let (groups, _) = values.as_chunks::<LOCKSTEP>();
    for (g, (dst, &v)) in dsts.iter_mut().zip(groups).enumerate() {
        if (lit >> (LOCKSTEP * g)) & ((1 << LOCKSTEP) - 1) == 0 {
            dst.as_flattened_mut().fill(0);
            continue;
        }
        for (d, p) in dst.iter_mut().zip(tree.search(v)) {
            // `p` = 256 + count: the low byte is the pixel. SAFETY: writes exactly the
            // 16 bytes of `d`.
            unsafe { _mm_storeu_si128(d.as_mut_ptr().cast::<__m128i>(), _mm512_cvtepi32_epi8(p)) };
        }
    }
}
