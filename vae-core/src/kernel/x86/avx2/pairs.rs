//! The AVX2 engine's list of a layer's input pairs: which inputs a decode reads the
//! weights of, two at a time, and the nibbles that `VPMADDUBSW` multiplies them by.
//!
//! Inputs are taken as `u = x + 128` (`0` for the code `-128`, a ReLU layer's zero). The
//! inputs with `u != 0` are paired in order: first those with a high nibble (`u >= 16`),
//! then the small ones with each other, so that a pair of small inputs skips the
//! high-nibble products; an odd input out is paired with the all-zero column. On the
//! default blob's hidden layers about half the inputs are listed, a quarter of them small.

use core::arch::x86_64::*;

/// Inputs per step of [`Pairs::fill`]: one 32-byte register.
const STEP: usize = 32;

/// Steps of the widest input.
const MAX_STEPS: usize = crate::kernel::x86::host_layout::MAX_INPUTS / STEP;

/// Pairs per step of the nibble computation: 32 bytes.
const PAIR_STEP: usize = 16;

/// The listed pairs of a layer input of up to `W` codes, `P = W / 2 + 1`.
pub(super) struct Pairs<const W: usize, const P: usize> {
    /// The input's `u`.
    u: [u8; W],
    /// Pair `j`'s two columns.
    columns: [[u16; 2]; P],
    /// Pair `j`'s two `u`.
    bytes: [[u8; 2]; P],
    /// Pair `j`'s high nibbles `(h_first, h_second)` as bytes, that byte pair twice: a
    /// `VPMADDUBSW` operand once broadcast.
    high: [i32; P],
    /// The low nibbles likewise.
    low: [i32; P],
}

/// A [`Pairs`]'s pairs: `columns[j]`, `high[j]` and `low[j]` for each, the first `full`
/// of them with a high nibble, the others small. Every column in it is below `bound`
/// ([`Pairs::fill`], its only maker, keeps that), which the pass checks once against its
/// columns instead of checking each pair.
#[derive(Clone, Copy)]
pub(super) struct PairView<'a> {
    columns: &'a [[u16; 2]],
    high: &'a [i32],
    low: &'a [i32],
    full: usize,
    bound: usize,
}

impl<'a> PairView<'a> {
    /// Pair `j`'s two columns.
    pub(super) fn columns(&self) -> &'a [[u16; 2]] {
        self.columns
    }

    /// Pair `j`'s high nibbles as a `VPMADDUBSW` operand word.
    pub(super) fn high(&self) -> &'a [i32] {
        self.high
    }

    /// Pair `j`'s low nibbles likewise.
    pub(super) fn low(&self) -> &'a [i32] {
        self.low
    }

    /// How many pairs (the first ones) have a high nibble.
    pub(super) fn full(&self) -> usize {
        self.full
    }

    /// A bound on every column of the pairs.
    pub(super) fn bound(&self) -> usize {
        self.bound
    }
}

impl<const W: usize, const P: usize> Pairs<W, P> {
    /// Empty lists.
    pub(super) fn new() -> Self {
        Pairs {
            u: [0; W],
            columns: [[0; 2]; P],
            bytes: [[0; 2]; P],
            high: [0; P],
            low: [0; P],
        }
    }

    /// The pairs of `x` (its codes past `W` are ignored); `zero_column` is the all-zero
    /// column's index.
    #[target_feature(enable = "avx2")]
    pub(super) fn fill(&mut self, x: &[i8], zero_column: usize) -> PairView<'_> {
        let flip = _mm256_set1_epi8(-128);
        let high_bits = _mm256_set1_epi8(-16);
        let zero = _mm256_setzero_si256();
        // Per step of 32 inputs: which have a high nibble, which are small.
        let mut big = [0u32; MAX_STEPS];
        let mut small = [0u32; MAX_STEPS];
        let mut steps = 0usize;
        let (us, _) = self.u.as_chunks_mut::<STEP>();
        let masks = big.iter_mut().zip(&mut small);
        for ((codes, us), (big, small)) in x.chunks(STEP).zip(us).zip(masks) {
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
            // SAFETY: writes exactly the 32 bytes of `us`.
            unsafe { _mm256_storeu_si256(us.as_mut_ptr().cast::<__m256i>(), u) };
            let is_zero = |v: __m256i| _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero)) as u32;
            let (u_zero, h_zero) = (is_zero(u), is_zero(_mm256_and_si256(u, high_bits)));
            *big = !h_zero;
            *small = h_zero & !u_zero;
            steps += 1;
        }
        // The listed inputs and their `u`: those with a high nibble, then the small ones.
        let columns = self.columns.as_flattened_mut();
        let bytes = self.bytes.as_flattened_mut();
        let mut listed = 0;
        let mut big_len = 0;
        for (k, masks) in [&big, &small].into_iter().enumerate() {
            // Two steps' masks a word: the loop below ends once per word, mispredicted
            // most times (its count of listed inputs varies), so fewer words cost less.
            let (pairs, _) = masks.as_chunks::<2>();
            for (s, &[first, second]) in pairs.iter().enumerate().take(steps.div_ceil(2)) {
                let mut mask = u64::from(first) | u64::from(second) << STEP;
                while mask != 0 {
                    let i = 2 * STEP * s + mask.trailing_zeros() as usize;
                    if let (Some(c), Some(b)) = (columns.get_mut(listed), bytes.get_mut(listed)) {
                        *c = i as u16;
                        *b = self.u.get(i).copied().unwrap_or(0);
                    }
                    listed += 1;
                    mask &= mask - 1;
                }
            }
            if k == 0 {
                big_len = listed;
            }
        }
        // An odd input out goes with the zero column.
        if listed % 2 == 1
            && let (Some(c), Some(b)) = (columns.get_mut(listed), bytes.get_mut(listed))
        {
            *c = zero_column as u16;
            *b = 0;
        }
        let count = listed.div_ceil(2).min(P);
        // Nibbles 16 pairs at a time (words are the pairs' two bytes), then the rest.
        let nibble = _mm256_set1_epi8(15);
        let (byte_steps, _) = self.bytes.as_chunks::<PAIR_STEP>();
        let (high_steps, _) = self.high.as_chunks_mut::<PAIR_STEP>();
        let (low_steps, _) = self.low.as_chunks_mut::<PAIR_STEP>();
        let vector_steps = count.div_ceil(PAIR_STEP).min(byte_steps.len());
        for ((b, h), l) in byte_steps
            .iter()
            .zip(high_steps)
            .zip(low_steps)
            .take(vector_steps)
        {
            // SAFETY: reads exactly the 32 bytes of `b`.
            let v = unsafe { _mm256_loadu_si256(b.as_ptr().cast::<__m256i>()) };
            // Quadwords reordered so that unpacking each word with itself keeps the pairs
            // in order.
            let order = |v: __m256i| _mm256_permute4x64_epi64::<0b11_01_10_00>(v);
            let hv = order(_mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
            let lv = order(_mm256_and_si256(v, nibble));
            // SAFETY (the four stores): each writes 32 bytes inside the 64 of `h` or `l`.
            unsafe {
                let (hp, lp) = (
                    h.as_mut_ptr().cast::<__m256i>(),
                    l.as_mut_ptr().cast::<__m256i>(),
                );
                _mm256_storeu_si256(hp, _mm256_unpacklo_epi16(hv, hv));
                _mm256_storeu_si256(hp.add(1), _mm256_unpackhi_epi16(hv, hv));
                _mm256_storeu_si256(lp, _mm256_unpacklo_epi16(lv, lv));
                _mm256_storeu_si256(lp.add(1), _mm256_unpackhi_epi16(lv, lv));
            }
        }
        let twice = |pair: i32| pair | pair << 16;
        let rest = self
            .bytes
            .iter()
            .zip(self.high.iter_mut().zip(&mut self.low));
        for (&[a, b], (h, l)) in rest
            .skip(PAIR_STEP * vector_steps)
            .take(count.saturating_sub(PAIR_STEP * vector_steps))
        {
            let (a, b) = (i32::from(a), i32::from(b));
            *h = twice((a >> 4) | (b >> 4) << 8);
            *l = twice((a & 15) | (b & 15) << 8);
        }
        PairView {
            // Each of these entries was written above: an input below `min(x.len(), W)`,
            // or the zero column.
            columns: &self.columns[..count],
            high: &self.high[..count],
            low: &self.low[..count],
            full: big_len.div_ceil(2).min(count),
            bound: x.len().min(W).max(zero_column + 1),
        }
    }
}
