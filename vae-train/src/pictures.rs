//! PNG pictures and plots of a trained VAE: digit grids, reconstructions,
//! samples, interpolations, the 2-D latent manifold, the latent scatter and
//! the loss curves.
//!
//! Nothing here knows about burn: every function takes plain pixel data
//! (28 × 28 = [`vae_core::IMAGE_PIXELS`] values per image, row-major, either `f32` in `[0, 1]`
//! or `u8` in `0..=255`, see [`Digit`]) and numbers, and returns an
//! [`image`] buffer. [`save_png`] writes any of them atomically.
//!
//! Text is drawn with an embedded copy of DejaVu Sans (the `dejavu` crate)
//! rasterized by `ab_glyph`, so no system font or font library is needed;
//! the plots' axes, grid, curves, markers and legends are laid out and drawn by
//! `plotters` on an [`image`] buffer, with that same text.
//!
//! Errors are [`PictureError`]s; empty or mismatched inputs are errors, never
//! panics.
use image::RgbImage;
use vae_core::NUM_CLASSES;

pub use crate::metrics::EpochMetrics;

mod canvas;
mod digit;
mod draw;
mod error;
mod figures;
mod plot;
mod png;
mod quantile;

pub use digit::{Digit, DigitPixels, digit_grid};
pub use error::PictureError;
pub use figures::{interpolation, manifold, manifold_with_axes, reconstructions, samples};
pub use png::save_png;
pub use quantile::{inverse_normal_cdf, manifold_latents, manifold_latents_with};

/// Largest width or height, in pixels, of any picture made here; larger
/// requests are refused with [`PictureError::TooLarge`].
pub const MAX_SIDE: u32 = 16_384;

/// Gray level of the gap lines between digit tiles, and of empty tiles.
pub const GAP_SHADE: u8 = 255;

/// The ten label colours of [`latent_scatter`] (matplotlib's "tab10"),
/// index = digit label.
pub const LABEL_COLOURS: [[u8; 3]; NUM_CLASSES] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// Curve colours of [`loss_plot`]: train loss, test loss, test
/// reconstruction, test KL (tab10 blue, orange, green, red).
pub const LOSS_COLOURS: [[u8; 3]; 4] = [
    LABEL_COLOURS[0],
    LABEL_COLOURS[1],
    LABEL_COLOURS[2],
    LABEL_COLOURS[3],
];

/// Scatter plot of 2-D latent codes coloured by digit label
/// ([`LABEL_COLOURS`]), with axes, ticks, a title and a legend 0–9 on the
/// right. The picture is `size × size` pixels (300 to [`MAX_SIDE`]; 700 is a
/// good choice). Points that are NaN or infinite are skipped; points are
/// drawn in the given order, so shuffle them if one label should not hide
/// another.
pub fn latent_scatter(
    points: &[[f32; 2]],
    labels: &[u8],
    size: u32,
) -> Result<RgbImage, PictureError> {
    Ok(plot::scatter(points, labels, size)?.0)
}

/// Loss curves per epoch (1200 × 500 pixels) in two panels: left, train
/// loss, test loss (negative ELBO) and test reconstruction loss; right, the
/// test KL term; with markers at each epoch when there are at most 40.
/// Colours are [`LOSS_COLOURS`]. Rows need not be sorted; NaN or infinite
/// values are left out of the curves.
pub fn loss_plot(rows: &[EpochMetrics]) -> Result<RgbImage, PictureError> {
    plot::loss(rows)
}

#[cfg(test)]
mod tests;
