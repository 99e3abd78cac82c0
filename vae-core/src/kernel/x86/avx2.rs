//! x86-64 AVX2 kernels: the tier for x86-64 CPUs without AVX-512 VNNI (Intel before Ice
//! Lake and its client chips since Alder Lake, AMD before Zen 4), bit-exact with the
//! portable kernels.
//!
//! * Dense layers (module `dot`): eight rows per pass, 16 inputs per step, products
//!   exact in `i16` pairs (`VPMOVSXBW` + `VPMADDWD`), a horizontal-add tree for the
//!   eight sums.
//! * The pixel layer (module `pixels`): the dot products eight rows at a time, the
//!   requantization in scalar code (AVX2 has no 64-bit arithmetic shift), then the
//!   threshold search for eight pixels at once (`VPGATHERDD`, branch-free).
//! * Hidden layers: the dense kernel with the decoder's scalar requantization and ReLU
//!   (`hidden` answers `false`).
//!
//! Safety: the `#[target_feature(enable = "avx2")]` functions are reached only through
//! [`Avx2`], which exists only when the CPU and OS run AVX2; every load and store is
//! inside a slice whose length is checked first.

use crate::IMAGE_PIXELS;
use crate::format::Dense;

mod dot;

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

    /// A whole hidden layer; `false`: not taken (the decoder runs [`dense`](Self::dense)
    /// and its scalar epilogue).
    pub(crate) fn hidden(self, _: &Dense<'_>, _: &[i8], _: &[u8], _: i8, _: &mut [i8]) -> bool {
        false
    }

    /// The whole last layer to pixels; `false`: not taken.
    pub(crate) fn pixels(
        self,
        _: &Dense<'_>,
        _: &[i8],
        _: &[u8],
        _: &[u8],
        _: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        false
    }
}
