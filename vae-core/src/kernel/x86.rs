//! x86-64 AVX-512 VNNI kernels: whole layers, 16 rows at a time (the crate's second
//! `unsafe` exception, next to `kernel::dsp`).
//!
//! Selected when the CPU has AVX-512 F, BW and VNNI: statically when the crate is compiled
//! with those target features (e.g. `RUSTFLAGS=-Ctarget-cpu=native`), otherwise at run
//! time with `CPUID`/`XGETBV` in `core` (module `cpu`, no `std` needed). The AVX2 tier
//! (module `avx2`) is the next one down; `Tier` picks among them. [`Vnni`] is the proof that the features are there:
//! it is only made by [`Vnni::detect`], and its methods are the only way into the
//! `#[target_feature]` functions.
//!
//! The results are the integers of the portable path, bit for bit:
//!
//! * Dot products: `VPDPBUSD` multiplies *unsigned* by signed bytes, so the weights go in
//!   as `w ^ 0x80 = w + 128` (unsigned) against the signed inputs `x`, and
//!   `sum w x = sum (w + 128) x - 128 sum x`; the last term is one number per layer,
//!   added with the bias. Every sum is exact modulo 2^32 and the true value fits in `i32`
//!   (`format::parse` checks that), so the order of the additions does not matter. 16
//!   rows run together (16 accumulators, each 64 bytes of one row per instruction, inputs
//!   past a multiple of 64 through a masked load that reads only the row's bytes; rows of
//!   at most 32 bytes two to a register), then a transpose-and-add tree turns the 16
//!   vectors into one vector of 16 sums.
//! * [`requantize`](super::requantize): the 64-bit product of `VPMULDQ` (even and odd
//!   lanes apart), `((2p - (p < 0)) >> n + 1) >> 1` with a per-lane `VPSRAVQ`, which is
//!   the scalar formula `((p - (p < 0)) >> (n - 1) + 1) >> 1` for `n >= 1` (`2p - 1` is
//!   odd, so it floors like `2p - 2`) and gives `p` for `n = 0`; shifts past 63 fill with
//!   the sign, as the clamp to 63 does. Exact whenever `2p` fits in `i64`, i.e. unless
//!   `acc == multiplier == i32::MIN` (a parsed blob's multipliers are positive).
//! * [`relu_q`](super::relu_q) as `clamp(v, 0, 127 - zp) + zp`, the clamp in 64 bits.
//! * [`sigmoid_pixel`](super::sigmoid_pixel): the same 8-step binary search, lane-wise,
//!   over the thresholds rearranged once per image into an implicit binary tree (node
//!   `h`, children `2h` and `2h + 1`): the first four levels in one register (`VPERMD`),
//!   the next ones in 1, 2, 4 and 8 registers (`VPERMT2D` and selects). The host
//!   engine (`host_layout`) replaces it with a lookup fitted once per blob
//!   (`pixel_lut`): 32 pixels per register, about 20 instructions instead of 64 per 16.
//!
//! Measured on Zen 5 (the default blob, 271 KB of weights in L2, one core): the weights
//! stream at about one 64-byte load per cycle; what is left is kept off that stream's
//! back. Compares into mask registers cost about 9 cycles from compare to use, so the
//! search has none; long dependency chains inside the dot-product loop held it back, so
//! the last layer computes all 49 blocks' sums first and requantizes and searches
//! afterwards, seven searches in lockstep.
//!
//! Safety: every pointer read or written is inside a slice whose length is checked in
//! safe code first (the unsafe blocks say which); masked loads touch only the selected
//! bytes (masked-off bytes are neither read nor faulted on), also when the address they
//! are given lies before the slice.

use crate::IMAGE_PIXELS;
use crate::format::Dense;

use crate::format::NUM_THRESHOLDS;

#[cfg(any(test, feature = "quantize"))]
pub(crate) mod host_layout;
#[cfg(any(test, feature = "quantize"))]
mod pixel_lut;
#[cfg(any(test, feature = "quantize"))]
mod repacked;
#[cfg(any(test, feature = "quantize"))]
mod walk;

mod avx2;
pub(crate) mod cpu;
mod dot;
mod hidden;
mod pixels;
mod requant;
mod rows;
mod tree;

pub(crate) use avx2::Avx2;
use dot::dense_layer;
use hidden::hidden_layer;
use pixels::pixel_layer;
#[cfg(any(test, feature = "quantize"))]
pub(crate) use repacked::Repacked;
use rows::Rows;

/// Proof that the CPU runs AVX-512 F, BW and VNNI: made only by [`Vnni::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vnni(());

/// Rows per block.
const BLOCK: usize = 16;

/// Accumulator of row `r`: the reduction tree leaves the sum of accumulator `i` in lane
/// `bit_reverse4(i)`, so row `r` goes to accumulator `bit_reverse4(r)` and ends up in
/// lane `r`.
const ACC_OF_ROW: [usize; BLOCK] = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];

/// Blocks of 16 pixels in an image.
const PIXEL_BLOCKS: usize = IMAGE_PIXELS / BLOCK;

/// Pixel blocks searched in lockstep (49 = 7 x 7).
const LOCKSTEP: usize = 7;

/// Blocks of a hidden layer whose dot products are computed before their epilogues.
const HIDDEN_GROUP: usize = 16;

impl Vnni {
    /// `Some` when this CPU (and the OS) run AVX-512 F, BW and VNNI: `CPUID` and `XGETBV`
    /// in `core`, probed once (module `cpu`); a constant when compiled with those target
    /// features.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        cpu::has_avx512_vnni().then_some(Vnni(()))
    }

    /// [`dense`](super::dense) on this CPU: `sink(dot(row_j, x))` for every whole row, in
    /// order; nothing for an empty `x`.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        if x.is_empty() {
            return;
        }
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { dense_layer(weights, x, sink) };
    }

    /// A hidden layer: `out[j] = relu_q(requantize(dot_j + bias_j + class_bias_j, m_j,
    /// n_j), zero_point)` for `j < out.len()`. `false` (and `out` untouched) unless the
    /// layer's arrays hold `out.len()` rows of `x.len()` inputs and `class_bias` is empty
    /// or holds `out.len()` values.
    pub(crate) fn hidden(
        self,
        layer: &Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        zero_point: i8,
        out: &mut [i8],
    ) -> bool {
        let Some(rows) = Rows::new(layer, x.len(), class_bias, out.len()) else {
            return false;
        };
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { hidden_layer(&rows, x, zero_point, out) };
        true
    }

    /// The last layer to pixels: `out[j] = sigmoid_pixel(thresholds, requantize(dot_j +
    /// bias_j + class_bias_j, m_j, n_j))`. `false` (and `out` untouched) unless the shapes
    /// fit as for [`hidden`](Self::hidden) and `thresholds` is a full table.
    pub(crate) fn pixels(
        self,
        layer: &Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        thresholds: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let Some(rows) = Rows::new(layer, x.len(), class_bias, IMAGE_PIXELS) else {
            return false;
        };
        let Some(table) = thresholds.first_chunk::<{ 4 * NUM_THRESHOLDS }>() else {
            return false;
        };
        // SAFETY: `Vnni` exists only when the CPU has the features.
        unsafe { pixel_layer(&rows, x, table, out) };
        true
    }
}

// Every pixel block is in a lockstep group.
const _: () =
    assert!(PIXEL_BLOCKS * BLOCK == IMAGE_PIXELS && PIXEL_BLOCKS.is_multiple_of(LOCKSTEP));

#[cfg(test)]
mod tests;
