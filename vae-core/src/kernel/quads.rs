//! The repacked decoder's kernel for wasm32 with relaxed SIMD
//! (`-C target-feature=+simd128,+relaxed-simd`): the same sums as [`super::pairs`], from
//! `i8` columns, four inputs at a time.
//!
//! A pass's weights are, input by input, one column of [`PASS_ROWS`] `i8` weights (two per
//! `i16` element of the caller's buffer, in little-endian order, so a column is 32 bytes),
//! then the zero column. A decode lists each input whose `u = x + 128` is not zero as
//! entries of at most [`MAX_U`]: `u` itself below 128, else `127` and the rest (`u = 255`:
//! 127, 127 and 1); the entries are taken four at a time, the last group filled with the
//! zero column. The list holds each entry's column as its byte offset in a pass, which the
//! pass adds to the pass's address as it is, after one check per pass of the list's bound
//! (as in [`super::pairs`]).
//!
//! Per four entries and eight rows, the four columns' bytes are interleaved row by row
//! (two rounds of unpacking) and multiplied by the four `u` with
//! `i16x8.relaxed_dot_i8x16_i7x16_s`, then `i32x4.dot_i16x8_s` against ones adds each
//! row's two halves in `i32`. The relaxed instruction is deterministic here: every `u` is
//! a 7-bit value (the operand whose top bit the proposal leaves open is never set), and
//! each pair of products is at most `2 * 128 * 127 = 32512` in size, so no engine's
//! 16-bit sum saturates or wraps. Every sum is then exact in `i32` modulo 2^32, like
//! [`super::pairs`]'s and [`dot_ref`](super::dot_ref)'s: the same bytes.
//!
//! Against the `i16` pairs (8 shuffles, 8 `i32x4.dot_i16x8_s` and 8 additions per two
//! inputs and pass) this is 16 shuffles, 8 + 8 multiplies and 8 additions per four, and
//! half the weight bytes; on the hidden layers of the default blob about 99% of the
//! listed inputs are below 128, so few take two entries.

use core::arch::wasm32::{
    i8x16_bitmask, i8x16_ne, i8x16_shuffle, i8x16_splat, i8x16_swizzle, i16x8_add,
    i16x8_relaxed_dot_i8x16_i7x16, i16x8_shuffle, i16x8_splat, i32x4_add, i32x4_dot_i16x8,
    i32x4_splat, i64x2, u8x16_min, u8x16_splat, u16x8, u16x8_extend_low_u8x16, v128, v128_load,
    v128_store32_lane, v128_store64_lane, v128_xor,
};

pub(crate) use super::pairs::{MAX_INPUTS, PASS_ROWS};

/// The largest `u` of an entry: the 7-bit operand of the relaxed dot product.
pub(crate) const MAX_U: u8 = 127;

/// Entries taken at a time.
pub(crate) const GROUP: usize = 4;

/// `i16` elements of one column (two weights each).
const COLUMN_LEN: usize = PASS_ROWS / 2;

/// Bytes of one column.
const COLUMN_BYTES: usize = PASS_ROWS;

/// Entries a [`List`] holds: at most three per input (`u = 255`), and the filling.
const CAPACITY: usize = 3 * MAX_INPUTS + GROUP;

// The list holds whole groups, and every column's byte offset (the zero column's
// included) fits its `u16`.
const _: () = assert!(CAPACITY.is_multiple_of(GROUP));
const _: () = assert!(MAX_INPUTS * COLUMN_BYTES <= u16::MAX as usize);

/// `i16` elements of one pass over `inputs` inputs: their columns, then the zero column
/// (index `inputs`, all zero).
pub(crate) const fn pass_len(inputs: usize) -> usize {
    (inputs + 1) * COLUMN_LEN
}

/// Stores weight `code` of `input` for row `row` of a pass into the pass's weights
/// (dropped when outside them): byte `row % 2` of element `row / 2` of the column.
pub(crate) fn put_weight(pass: &mut [i16], input: usize, row: usize, code: i8) {
    let row = row % PASS_ROWS;
    if let Some(slot) = pass.get_mut(input * COLUMN_LEN + row / 2) {
        let mut bytes = slot.to_le_bytes();
        bytes[row % 2] = code as u8;
        *slot = i16::from_le_bytes(bytes);
    }
}

/// The buffers a decode lists a layer's inputs into, for layers up to [`MAX_INPUTS`] wide.
pub(crate) struct List {
    /// Each entry's column as its byte offset in a pass (`column * 32`, at most 32,768):
    /// the pass adds it to the pass's address as it is.
    offsets: [u16; CAPACITY],
    us: [u8; CAPACITY],
}

/// The entries [`List::fill`] listed, the only way to make one: group `j`'s four columns
/// (byte offsets) `offsets[j]` and their `u` in `us[j]`. Every column in them is below
/// `bound`, which [`pass`] checks once against a pass's weights instead of checking each
/// group.
#[derive(Clone, Copy)]
pub(crate) struct Listed<'l> {
    offsets: &'l [[u16; GROUP]],
    us: &'l [[u8; GROUP]],
    bound: usize,
}

impl Listed<'_> {
    /// The entries in order, `(column, u)`, the filling included.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        let columns = self
            .offsets
            .as_flattened()
            .iter()
            .map(|&c| c / COLUMN_BYTES as u16);
        columns.zip(self.us.as_flattened().iter().map(|&u| u16::from(u)))
    }
}

/// Per mask `m` of four inputs (bit `j`: input `j` listed), the swizzle that moves the
/// listed inputs' `u` (the low bytes of words `0..4`) to bytes `0..4` and their columns
/// (words `4..8`) to the front of bytes `8..16`, in order.
const COMPRESS: [[u8; 16]; 16] = {
    let mut table = [[0x80u8; 16]; 16]; // 0x80: a zero byte, past what is kept
    let mut m = 0;
    while m < 16 {
        let (mut j, mut rank) = (0, 0);
        while j < 4 {
            if m & (1 << j) != 0 {
                let from = 2 * j as u8;
                table[m][rank] = from;
                table[m][8 + 2 * rank] = 8 + from;
                table[m][9 + 2 * rank] = 9 + from;
                rank += 1;
            }
            j += 1;
        }
        m += 1;
    }
    table
};

impl List {
    /// Empty buffers.
    pub(crate) const fn new() -> Self {
        List {
            offsets: [0; CAPACITY],
            us: [0; CAPACITY],
        }
    }

    /// Lists `x`'s inputs (see the module docs). For `x` wider than [`MAX_INPUTS`] the
    /// listing is empty and its bound unreachable, so [`pass`] refuses it.
    pub(crate) fn fill(&mut self, x: &[i8]) -> Listed<'_> {
        let zero_column = x.len();
        let mut listed = 0;
        if x.len() <= MAX_INPUTS {
            listed = self.list(x);
        }
        // Whole groups: the last one filled with the zero column (`CAPACITY` is whole
        // groups, so a full list ends the loop too).
        while listed % GROUP != 0 && listed < CAPACITY {
            self.push(&mut listed, zero_column, 0);
        }
        let groups = listed / GROUP;
        let (offsets, _) = self.offsets.as_chunks::<GROUP>();
        let (us, _) = self.us.as_chunks::<GROUP>();
        Listed {
            offsets: offsets.get(..groups).unwrap_or_default(),
            us: us.get(..groups).unwrap_or_default(),
            bound: if x.len() <= MAX_INPUTS {
                zero_column + 1
            } else {
                usize::MAX
            },
        }
    }

    /// One entry at `*listed` (dropped when the buffers are full).
    fn push(&mut self, listed: &mut usize, column: usize, u: u8) {
        if let (Some(c), Some(s)) = (self.offsets.get_mut(*listed), self.us.get_mut(*listed)) {
            *c = (column * COLUMN_BYTES) as u16;
            *s = u;
            *listed += 1;
        }
    }

    /// The entries of input `column`, whose `u` is at least 128, past the first.
    fn push_rest(&mut self, listed: &mut usize, column: usize, u: u8) {
        let mut rest = u - MAX_U;
        while rest > 0 {
            let part = rest.min(MAX_U);
            self.push(listed, column, part);
            rest -= part;
        }
    }

    /// The entries of `x` (at most [`MAX_INPUTS`] inputs), eight inputs a step: the first
    /// entry of each listed input (`min(u, 127)`) as in [`super::pairs`]'s listing, with
    /// no branch on the data; after each 64 inputs, the rest of the few of 128 and more,
    /// from a bit mask gathered on the way. Returns the count.
    fn list(&mut self, x: &[i8]) -> usize {
        let flip = i8x16_splat(-128);
        let most = u8x16_splat(MAX_U);
        let mut index = u16x8(0, 32, 64, 96, 128, 160, 192, 224);
        let mut listed = 0usize;
        // The last few inputs padded with zeros (the code -128) to a whole step.
        let (steps, rest) = x.as_chunks::<8>();
        let mut last = [-128i8; 8];
        let tail = last.get_mut(..rest.len()).unwrap_or_default();
        tail.copy_from_slice(rest.get(..tail.len()).unwrap_or_default());
        let count = steps.len() + usize::from(!rest.is_empty());
        // 64 inputs at a time: then the rest of those of 128 and more.
        for first in (0..count).step_by(8) {
            // Bit `j`: input `8 first + j` is 128 or more (its code is not negative).
            let mut large = 0u64;
            for (j, s) in (first..count.min(first + 8)).enumerate() {
                let step = steps.get(s).unwrap_or(&last);
                let codes = i64x2(i64::from_le_bytes(step.map(|c| c as u8)), 0);
                let u = u16x8_extend_low_u8x16(u8x16_min(v128_xor(codes, flip), most));
                // Lanes 8.. hold 0, not -128: kept out of the mask.
                let mask = (i8x16_bitmask(i8x16_ne(codes, flip)) & 0xff) as usize;
                large |= u64::from(!i8x16_bitmask(codes) & 0xff) << (8 * j);
                let low = i16x8_shuffle::<0, 1, 2, 3, 8, 9, 10, 11>(u, index);
                let high = i16x8_shuffle::<4, 5, 6, 7, 12, 13, 14, 15>(u, index);
                listed = self.keep(low, mask & 15, listed);
                listed = self.keep(high, mask >> 4, listed);
                index = i16x8_add(index, i16x8_splat(256));
            }
            while large != 0 {
                let i = 8 * first + large.trailing_zeros() as usize;
                large &= large - 1;
                if let Some(&v) = x.get(i) {
                    self.push_rest(&mut listed, i, v as u8 ^ 0x80);
                }
            }
        }
        listed
    }

    /// Four inputs' `u` (words `0..4` of `words`) and columns (words `4..8`), of which the
    /// mask `m` lists some: those stored from entry `listed` on (four entries written,
    /// the listed ones first); returns the new count.
    #[inline(always)]
    fn keep(&mut self, words: v128, m: usize, listed: usize) -> usize {
        let order = &COMPRESS[m & 15];
        // SAFETY: an `[u8; 16]` is 16 readable bytes; any alignment will do.
        let order = unsafe { v128_load(order.as_ptr().cast::<v128>()) };
        let packed = i8x16_swizzle(words, order);
        let columns = self
            .offsets
            .get_mut(listed..)
            .and_then(|c| c.first_chunk_mut::<4>());
        let us = self
            .us
            .get_mut(listed..)
            .and_then(|u| u.first_chunk_mut::<4>());
        if let (Some(c), Some(s)) = (columns, us) {
            // SAFETY: the stores write the 8 bytes of a `[u16; 4]` and the 4 of a `[u8; 4]`.
            unsafe {
                v128_store32_lane::<0>(packed, s.as_mut_ptr().cast::<u32>());
                v128_store64_lane::<1>(packed, c.as_mut_ptr().cast::<u64>());
            }
        }
        listed + m.count_ones() as usize
    }
}

/// Sixteen rows of four columns (their weights at `columns`) against their four `u` in
/// every 32-bit lane: four vectors of four rows' sums.
///
/// # Safety
///
/// Each pointer must be valid for reading 16 bytes.
#[inline(always)]
unsafe fn sixteen_rows(columns: [*const u8; GROUP], us: v128, ones: v128) -> [v128; 4] {
    // Each by name: an array `map` is a loop through the stack at the page's opt-level.
    let [a, b, c, d] = columns;
    // SAFETY: (each load) 16 readable bytes, as the caller promises; `v128.load` accepts
    // any alignment.
    let load = |p: *const u8| unsafe { v128_load(p.cast::<v128>()) };
    let (a, b, c, d) = (load(a), load(b), load(c), load(d));
    let ab_low = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
    let ab_high =
        i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b);
    let cd_low = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(c, d);
    let cd_high =
        i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(c, d);
    let rows = |quads: v128| i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(quads, us), ones);
    [
        rows(i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(ab_low, cd_low)),
        rows(i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(ab_low, cd_low)),
        rows(i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(ab_high, cd_high)),
        rows(i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(
            ab_high, cd_high,
        )),
    ]
}

/// The pass's rows over the listed entries, plus `bias` (wrapping), into `acc`; returns the
/// mask of lit rows (bit `r`: `acc[r] >= lit_from[r]`), or `None` (and `acc` unspecified)
/// when `weights` holds fewer of the pass's columns than `listed` reads.
pub(crate) fn pass(
    weights: &[i16],
    listed: Listed<'_>,
    bias: &[i32; PASS_ROWS],
    lit_from: &[i32; PASS_ROWS],
    acc: &mut [i32; PASS_ROWS],
) -> Option<u32> {
    let (weights, _) = weights.as_chunks::<COLUMN_LEN>();
    if weights.len() < listed.bound {
        return None;
    }
    // Eight accumulators by name, as in `pairs`' pass.
    let zero = i32x4_splat(0);
    // Ones from a value the engine cannot see as a constant: V8 (Chromium 148) otherwise
    // rebuilds the constant vector before every multiply that uses it (three more
    // instructions each) instead of keeping it in a register.
    let ones = i16x8_splat(core::hint::black_box(1));
    let [
        mut a0,
        mut a1,
        mut a2,
        mut a3,
        mut a4,
        mut a5,
        mut a6,
        mut a7,
    ] = [zero; 8];
    let base = weights.as_ptr().cast::<u8>();
    for (offsets, &us) in listed.offsets.iter().zip(listed.us) {
        let &[a, b, c, d] = offsets;
        // SAFETY: every offset is 32 times a column below `listed.bound` (`Listed`'s
        // invariant, which `List::fill`, its only maker, keeps), and that bound is at most
        // `weights.len()`: each column's 32 bytes are inside `weights`, so are both halves.
        let at = |o: u16| unsafe { base.add(usize::from(o)) };
        let (a, b, c, d) = (at(a), at(b), at(c), at(d));
        let us = i32x4_splat(i32::from_le_bytes(us));
        // SAFETY: the columns' first 16 bytes (above).
        let [s0, s1, s2, s3] = unsafe { sixteen_rows([a, b, c, d], us, ones) };
        a0 = i32x4_add(a0, s0);
        a1 = i32x4_add(a1, s1);
        a2 = i32x4_add(a2, s2);
        a3 = i32x4_add(a3, s3);
        // SAFETY: the columns' last 16 bytes (above).
        let [s4, s5, s6, s7] =
            unsafe { sixteen_rows([a.add(16), b.add(16), c.add(16), d.add(16)], us, ones) };
        a4 = i32x4_add(a4, s4);
        a5 = i32x4_add(a5, s5);
        a6 = i32x4_add(a6, s6);
        a7 = i32x4_add(a7, s7);
    }
    Some(super::pairs::finish(
        [a0, a1, a2, a3, a4, a5, a6, a7],
        bias,
        lit_from,
        acc,
    ))
}
