//! wasm32 simd128 kernels.
//!
//! Placeholder: runs the portable path until the kernels land.

use crate::IMAGE_PIXELS;
use crate::format::Dense;

/// Proof that the CPU runs these kernels: made by [`Simd128::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Simd128(());

impl Simd128 {
    /// The kernels: simd128 is a compile-time target feature on wasm, so always there.
    #[inline]
    pub(crate) const fn new() -> Self {
        Simd128(())
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
