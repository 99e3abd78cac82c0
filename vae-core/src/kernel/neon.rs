//! AArch64 NEON kernels (SDOT with the dot-product extension).
//!
//! Placeholder: detection answers `None` until the kernels land, so the decoder runs the
//! portable path.

use crate::IMAGE_PIXELS;
use crate::format::Dense;

/// Proof that the CPU runs these kernels: made only by [`Neon::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Neon(());

impl Neon {
    /// `Some` when this CPU runs the kernels.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        None
    }

    /// [`dense`](crate::kernel::dense_ref)'s values: `sink(dot(row_j, x))` for every
    /// whole row, in order.
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        crate::kernel::dense_portable(weights, x, sink);
    }

    /// A whole hidden layer; `false`: not taken.
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
