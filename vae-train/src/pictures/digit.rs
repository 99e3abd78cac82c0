//! Digit pixels in, gray tiles out: the [`Digit`] input trait, the checks every picture
//! makes on its inputs, and digit grids.

use image::{GrayImage, Luma};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE};

use super::{GAP_SHADE, MAX_SIDE, PictureError};

/// Borrowed pixels of one image: `f32` in `[0, 1]` or `u8` in `0..=255`.
#[derive(Debug, Clone, Copy)]
pub enum DigitPixels<'a> {
    /// Intensities in `[0, 1]`; values outside are clamped, NaN is black.
    F32(&'a [f32]),
    /// Gray levels `0..=255`.
    U8(&'a [u8]),
}

impl DigitPixels<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::F32(p) => p.len(),
            Self::U8(p) => p.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gray level of value `i` (callers check `i < len()`).
    fn gray(&self, i: usize) -> u8 {
        match self {
            Self::F32(p) => f32_to_gray(p[i]),
            Self::U8(p) => p[i],
        }
    }
}

pub(super) fn f32_to_gray(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        // In [0, 255] after the clamp, so the cast is exact.
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Anything that holds one 28 × 28 image: `[f32]`, `[u8]`, their `Vec`s and
/// arrays, and references to those. Lets every function here take
/// `&[&[f32]]`, `&[Vec<f32>]`, `&[[u8; 784]]`, ….
pub trait Digit {
    /// The image's pixels.
    fn pixels(&self) -> DigitPixels<'_>;
}

impl Digit for [f32] {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::F32(self)
    }
}
impl Digit for [u8] {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::U8(self)
    }
}
impl Digit for Vec<f32> {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::F32(self)
    }
}
impl Digit for Vec<u8> {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::U8(self)
    }
}
impl<const N: usize> Digit for [f32; N] {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::F32(self)
    }
}
impl<const N: usize> Digit for [u8; N] {
    fn pixels(&self) -> DigitPixels<'_> {
        DigitPixels::U8(self)
    }
}
impl<T: Digit + ?Sized> Digit for &T {
    fn pixels(&self) -> DigitPixels<'_> {
        (**self).pixels()
    }
}

/// Checks that every image has [`IMAGE_PIXELS`] values.
pub(super) fn checked<'a, P: Digit>(
    images: &'a [P],
    what: &'static str,
) -> Result<Vec<DigitPixels<'a>>, PictureError> {
    images
        .iter()
        .enumerate()
        .map(|(index, img)| {
            let px = img.pixels();
            if px.len() == IMAGE_PIXELS {
                Ok(px)
            } else {
                Err(PictureError::ImageSize {
                    what,
                    index,
                    len: px.len(),
                })
            }
        })
        .collect()
}

pub(super) fn nonzero(value: usize, name: &'static str) -> Result<(), PictureError> {
    if value == 0 {
        Err(PictureError::InvalidParameter {
            name,
            requirement: "at least 1",
        })
    } else {
        Ok(())
    }
}

/// A width (`width`) or height in pixels: the sum of the products in
/// `parts`, refused with [`PictureError::TooLarge`] above [`MAX_SIDE`]
/// (`other` is the other dimension, for the message).
pub(super) fn side(parts: &[(u64, u64)], width: bool, other: u64) -> Result<u32, PictureError> {
    let total = parts
        .iter()
        .fold(0u64, |acc, &(a, b)| acc.saturating_add(a.saturating_mul(b)));
    match u32::try_from(total) {
        Ok(v) if v <= MAX_SIDE => Ok(v),
        _ => Err(if width {
            PictureError::TooLarge {
                width: total,
                height: other,
            }
        } else {
            PictureError::TooLarge {
                width: other,
                height: total,
            }
        }),
    }
}

/// Tiles images on a grid of `slots.len().div_ceil(cols)` rows; `None` slots
/// stay blank ([`GAP_SHADE`]).
pub(super) fn grid_slots(
    slots: &[Option<DigitPixels<'_>>],
    cols: usize,
    scale: u32,
    gap: u32,
) -> Result<GrayImage, PictureError> {
    nonzero(cols, "cols")?;
    nonzero(scale as usize, "scale")?;
    let rows = slots.len().div_ceil(cols);
    let tile = IMAGE_SIDE as u64 * u64::from(scale);
    let (g, c, r) = (u64::from(gap), cols as u64, rows as u64);
    let width = side(&[(c, tile), (c + 1, g)], true, 0)?;
    let height = side(&[(r, tile), (r + 1, g)], false, u64::from(width))?;
    let mut img = GrayImage::from_pixel(width, height, Luma([GAP_SHADE]));
    let tile = tile as u32; // <= width <= MAX_SIDE
    for (i, slot) in slots.iter().enumerate() {
        let Some(px) = slot else { continue };
        let x0 = gap + (i % cols) as u32 * (tile + gap);
        let y0 = gap + (i / cols) as u32 * (tile + gap);
        for y in 0..tile {
            for x in 0..tile {
                let v = px.gray((y / scale) as usize * IMAGE_SIDE + (x / scale) as usize);
                img.put_pixel(x0 + x, y0 + y, Luma([v]));
            }
        }
    }
    Ok(img)
}

/// Tiles 28 × 28 images row by row on a grid of `min(cols, n)` columns and
/// `ceil(n / cols)` rows, each image scaled up `scale` times (nearest
/// neighbour), with `gap`-pixel lines of [`GAP_SHADE`] between and around
/// the tiles; unused cells of the last row are blank.
///
/// Size: width = `c·28·scale + (c+1)·gap` with `c = min(cols, n)`, height
/// likewise with the number of rows.
pub fn digit_grid<P: Digit>(
    images: &[P],
    cols: usize,
    scale: u32,
    gap: u32,
) -> Result<GrayImage, PictureError> {
    nonzero(cols, "cols")?;
    let px = checked(images, "images")?;
    if px.is_empty() {
        return Err(PictureError::Empty { what: "images" });
    }
    let slots: Vec<_> = px.into_iter().map(Some).collect();
    grid_slots(&slots, cols.min(slots.len()), scale, gap)
}
