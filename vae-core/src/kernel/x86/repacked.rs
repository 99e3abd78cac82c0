//! The host engine's repacked weights: the layout of the tier that has one.

use super::avx2::host_layout::Avx2Layout;
use super::host_layout::HostLayout;
use crate::format::Model;
use crate::{IMAGE_PIXELS, Tier};

/// A model's weights repacked once for the host engine's kernels.
pub(crate) enum Repacked {
    /// AVX-512 VNNI + VBMI2: columns, zero inputs skipped (module `host_layout`).
    Vnni(std::boxed::Box<HostLayout>),
    /// AVX2: `i16` pairs of inputs, zero pairs skipped (module `avx2::host_layout`); with
    /// 256-bit `VPDPBUSD`, quads of inputs in the same layout (module `avx2::vnni`).
    Avx2(Avx2Layout),
}

impl Repacked {
    /// The layout of `tier` for `model`; `None` for tiers without one, when the CPU
    /// lacks a feature the layout needs, or when a layer does not fit it.
    pub(crate) fn new(model: &Model<'_>, tier: Tier) -> Option<Self> {
        match tier {
            Tier::Avx512Vnni => {
                HostLayout::new(model).map(|l| Repacked::Vnni(std::boxed::Box::new(l)))
            }
            Tier::AvxVnni => Avx2Layout::with_vnni(model).map(Repacked::Avx2),
            Tier::Avx2 => Avx2Layout::new(model).map(Repacked::Avx2),
            _ => None,
        }
    }

    /// The integer decode of `z_q` into `out` (see [`HostLayout::pixels`]); `false` when
    /// `model` does not match the layout.
    pub(crate) fn pixels(
        &self,
        model: &Model<'_>,
        z_q: &[i8],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        match self {
            Repacked::Vnni(layout) => layout.pixels(model, z_q, class_bias, out),
            Repacked::Avx2(layout) => layout.pixels(model, z_q, class_bias, out),
        }
    }

    /// Whether the pixels come from a table fitted to the blob's thresholds.
    #[cfg(test)]
    pub(crate) fn has_pixel_lookup(&self) -> bool {
        match self {
            Repacked::Vnni(layout) => layout.has_pixel_lookup(),
            Repacked::Avx2(layout) => layout.has_pixel_table(),
        }
    }
}
