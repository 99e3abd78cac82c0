//! The AVX2 engine's list of a layer's input pairs: which pairs of inputs a decode reads
//! the weights of, and the nibbles that `VPMADDUBSW` multiplies them by.
//!
//! Inputs are taken two by two (`2p`, `2p + 1`) as `u = x + 128` (`0` for the code `-128`,
//! a ReLU layer's zero). A pair whose two `u` are zero adds nothing and is not listed; a
//! pair whose two `u` are below 16 has zero high nibbles and is listed apart ("small"),
//! so its high-nibble products are skipped too. On the default blob's hidden layers
//! about 77% of the pairs are listed, a fifth of them small.

use core::arch::x86_64::*;

/// Inputs per step of [`Pairs::fill`]: one 32-byte register, 16 pairs.
const STEP: usize = 32;

/// The listed pairs of a layer input of up to `2 P` codes.
pub(super) struct Pairs<const P: usize> {
    /// Pair `p`'s high nibbles `(h_2p, h_2p+1)` as bytes, that byte pair twice: a
    /// `VPMADDUBSW` operand once broadcast.
    high: [i32; P],
    /// The low nibbles likewise.
    low: [i32; P],
    /// The pairs with a high nibble that is not zero, in order.
    full: [u16; P],
    /// The pairs whose nibbles are all low (and not all zero), in order.
    small: [u16; P],
    full_len: usize,
    small_len: usize,
}

/// A [`Pairs`]'s lists, as [`Layer::blocks`](super::host_layout) reads them.
#[derive(Clone, Copy)]
pub(super) struct PairView<'a> {
    pub(super) high: &'a [i32],
    pub(super) low: &'a [i32],
    pub(super) full: &'a [u16],
    pub(super) small: &'a [u16],
}

impl<const P: usize> Pairs<P> {
    /// Empty lists.
    pub(super) fn new() -> Self {
        Pairs {
            high: [0; P],
            low: [0; P],
            full: [0; P],
            small: [0; P],
            full_len: 0,
            small_len: 0,
        }
    }

    /// The lists of `x` (the codes past `2 P` are ignored).
    #[target_feature(enable = "avx2")]
    pub(super) fn fill(&mut self, x: &[i8]) -> PairView<'_> {
        let (mut full_len, mut small_len) = (0, 0);
        let flip = _mm256_set1_epi8(-128);
        let nibble = _mm256_set1_epi8(15);
        let zero = _mm256_setzero_si256();
        let (highs, _) = self.high.as_chunks_mut::<{ STEP / 2 }>();
        let (lows, _) = self.low.as_chunks_mut::<{ STEP / 2 }>();
        for (s, (high, low)) in highs.iter_mut().zip(lows).enumerate() {
            let Some(codes) = x.get(STEP * s..) else {
                break;
            };
            if codes.is_empty() {
                break;
            }
            let codes = match codes.first_chunk::<STEP>() {
                // SAFETY: reads exactly the 32 bytes of `c`.
                Some(c) => unsafe { _mm256_loadu_si256(c.as_ptr().cast::<__m256i>()) },
                None => {
                    // Codes past the end are -128 (u = 0): not listed.
                    let mut step = [-128i8; STEP];
                    step[..codes.len()].copy_from_slice(codes);
                    // SAFETY: reads exactly the 32 bytes of `step`.
                    unsafe { _mm256_loadu_si256(step.as_ptr().cast::<__m256i>()) }
                }
            };
            let u = _mm256_xor_si256(codes, flip);
            let h = _mm256_and_si256(_mm256_srli_epi16::<4>(u), nibble);
            let l = _mm256_and_si256(u, nibble);
            // Two mask bits per word (pair); the even ones name the pairs in order.
            let word_zero = |v: __m256i| _mm256_movemask_epi8(_mm256_cmpeq_epi16(v, zero)) as u32;
            let (u_zero, h_zero) = (word_zero(u), word_zero(h));
            let even = 0x5555_5555u32;
            let mut full = !h_zero & even;
            let mut small = h_zero & !u_zero & even;
            // Quadwords reordered so that unpacking each word with itself keeps the pairs
            // in order: words 0..4, 4..8 | 8..12, 12..16.
            let order = |v: __m256i| _mm256_permute4x64_epi64::<0b11_01_10_00>(v);
            let (h, l) = (order(h), order(l));
            // SAFETY (the four stores): each writes 32 bytes inside the 64 of `high` or
            // `low`.
            unsafe {
                let hp = high.as_mut_ptr().cast::<__m256i>();
                let lp = low.as_mut_ptr().cast::<__m256i>();
                _mm256_storeu_si256(hp, _mm256_unpacklo_epi16(h, h));
                _mm256_storeu_si256(hp.add(1), _mm256_unpackhi_epi16(h, h));
                _mm256_storeu_si256(lp, _mm256_unpacklo_epi16(l, l));
                _mm256_storeu_si256(lp.add(1), _mm256_unpackhi_epi16(l, l));
            }
            let base = (STEP / 2 * s) as u16;
            while full != 0 {
                if let Some(slot) = self.full.get_mut(full_len) {
                    *slot = base + (full.trailing_zeros() / 2) as u16;
                }
                full_len += 1;
                full &= full - 1;
            }
            while small != 0 {
                if let Some(slot) = self.small.get_mut(small_len) {
                    *slot = base + (small.trailing_zeros() / 2) as u16;
                }
                small_len += 1;
                small &= small - 1;
            }
        }
        self.full_len = full_len.min(P);
        self.small_len = small_len.min(P);
        PairView {
            high: &self.high,
            low: &self.low,
            full: &self.full[..self.full_len],
            small: &self.small[..self.small_len],
        }
    }
}
