//! x86-64 AVX2 kernels: the tiers for x86-64 CPUs without AVX-512 VNNI (Intel before Ice
//! Lake and its client chips since Alder Lake, AMD before Zen 4), bit-exact with the
//! portable kernels.
//!
//! * Dense layers (module `dot`): eight rows per pass, 16 inputs per step, products
//!   exact in `i16` pairs (`VPMOVSXBW` + `VPMADDWD`), a horizontal-add tree for the
//!   eight sums.
//! * Hidden layers and the pixel layer (module `layers`): the dot products eight rows at
//!   a time, then the requantization (64-bit products, the arithmetic shift emulated with
//!   `VPSRLVQ`), ReLU or the threshold search (`VPERMD` for the first four levels,
//!   `VPGATHERDD` for the last four, seven blocks in lockstep) in vector form.
//! * The host engine's layout (module `host_layout`, feature `quantize`; the input pairs
//!   in module `pairs`, the 32-row lines it stores in module `line`): the weights repacked by column, the non-zero inputs paired per
//!   decode, `VPMADDUBSW` on nibbles, the pixels gathered from a table eight at a time
//!   (`VPGATHERDD`); about twice as fast as the blob's order.
//! * The AVX-VNNI tier (module `vnni`, its input list in module `quads`): the same
//!   layout and epilogues, the products four inputs per 256-bit `VPDPBUSD` (VEX on CPUs
//!   with AVX-VNNI, the same code in its EVEX form on AVX-512 VNNI with VL); the
//!   blob-order kernels are this module's.
//!
//! Safety: the `#[target_feature(enable = "avx2")]` functions are reached only through
//! [`Avx2`] (or a layout made with one), which exists only when the CPU and OS run AVX2;
//! every load, gather and store is inside a slice or array whose length is checked
//! first. The host engine's pass takes its pairs' columns unchecked, after one check per
//! pass of the bound its pair list carries (`PairView`, which only `Pairs::fill` makes):
//! 7% fewer instructions and 2.5-3% less time on the Intel Xeon VM of
//! `docs/PERFORMANCE.md`; the quads' pass likewise (`QuadView`, `Quads::fill`), its
//! `VPDPBUSD` functions reached only through `vnni::Vnni256`, made only where the CPU
//! runs the encoding it names.

use super::rows::Rows;
use crate::IMAGE_PIXELS;
use crate::format::{Dense, NUM_THRESHOLDS};

mod dot;
#[cfg(any(test, feature = "quantize"))]
pub(crate) mod host_layout;
mod layers;
#[cfg(any(test, feature = "quantize"))]
mod line;
#[cfg(any(test, feature = "quantize"))]
mod pairs;
#[cfg(any(test, feature = "quantize"))]
mod quads;
#[cfg(any(test, feature = "quantize"))]
pub(crate) mod vnni;

/// Proof that the CPU runs AVX2: made only by [`Avx2::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU (and the OS) run AVX2 (module `cpu`, in `core`).
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        super::cpu::has_avx2().then_some(Avx2(()))
    }

    /// [`dense`](crate::kernel::dense_ref)'s values: `sink(dot(row_j, x))` for every
    /// whole row, in order.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        if x.is_empty() {
            return;
        }
        // SAFETY: `Avx2` exists only when the CPU runs AVX2.
        unsafe { dot::dense_layer(weights, x, sink) };
    }

    /// A whole hidden layer: `out[j] = relu_q(requantize(dot_j + bias_j +
    /// class_bias_j, m_j, n_j), zero_point)` for `j < out.len()`. `false` (and `out`
    /// untouched) unless the layer's arrays hold `out.len()` rows of `x.len()` inputs and
    /// `class_bias` is empty or holds `out.len()` values.
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
        // SAFETY: `Avx2` exists only when the CPU runs AVX2.
        unsafe { layers::hidden_layer(&rows, x, zero_point, out) };
        true
    }

    /// The last layer to pixels: `out[j] = sigmoid_pixel(thresholds,
    /// requantize(dot_j + bias_j + class_bias_j, m_j, n_j))`. `false` (and `out`
    /// untouched) unless the shapes fit as for [`hidden`](Self::hidden) and `thresholds`
    /// is a full table.
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
        // SAFETY: `Avx2` exists only when the CPU runs AVX2.
        unsafe { layers::pixel_layer(&rows, x, table, out) };
        true
    }
}

#[cfg(test)]
mod tests;
