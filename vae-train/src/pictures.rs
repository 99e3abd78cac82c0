//! PNG pictures and plots of a trained VAE: digit grids, reconstructions,
//! samples, interpolations, the 2-D latent manifold, the latent scatter and
//! the loss curves.
//!
//! Nothing here knows about burn: every function takes plain pixel data
//! (28 × 28 = [`PIXELS`] values per image, row-major, either `f32` in `[0, 1]`
//! or `u8` in `0..=255`, see [`Digit`]) and numbers, and returns an
//! [`image`] buffer. [`save_png`] writes any of them atomically.
//!
//! Text is drawn with an embedded copy of DejaVu Sans (the `dejavu` crate)
//! rasterized by `ab_glyph`, so no system font or font library is needed;
//! plot lines and markers are anti-aliased with `ab_glyph_rasterizer`.
//!
//! Errors are [`PictureError`]s; empty or mismatched inputs are errors, never
//! panics.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::metrics::EpochMetrics;
use image::codecs::png::PngEncoder;
use image::{
    EncodableLayout, GrayImage, ImageBuffer, ImageEncoder, Luma, PixelWithColorType, Rgb, RgbImage,
};

use draw::{Align, INK, Rect, Style};

mod draw;
mod plot;

/// Side of an MNIST digit in pixels.
pub const SIDE: usize = 28;
/// Pixels in one MNIST digit (`SIDE * SIDE`).
pub const PIXELS: usize = SIDE * SIDE;

/// Largest width or height, in pixels, of any picture made here; larger
/// requests are refused with [`PictureError::TooLarge`].
pub const MAX_SIDE: u32 = 16_384;

/// Gray level of the gap lines between digit tiles, and of empty tiles.
pub const GAP_SHADE: u8 = 255;

/// The ten label colours of [`latent_scatter`] (matplotlib's "tab10"),
/// index = digit label.
pub const LABEL_COLOURS: [[u8; 3]; 10] = [
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

/// Why a picture could not be made or saved.
#[derive(Debug)]
pub enum PictureError {
    /// Reading or writing a file failed.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// PNG encoding failed.
    Encode {
        /// The file that was being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// An input that must not be empty was empty.
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// An image does not have [`PIXELS`] values.
    ImageSize {
        /// Which list of images.
        what: &'static str,
        /// Index of the image in that list.
        index: usize,
        /// Its number of values.
        len: usize,
    },
    /// Two inputs that must have the same length do not.
    LengthMismatch {
        /// What was compared.
        what: &'static str,
        /// The length required (that of the first input).
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A numeric parameter is out of its range.
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What it must be.
        requirement: &'static str,
    },
    /// A digit label is not in `0..=9`.
    BadLabel {
        /// Index of the point.
        index: usize,
        /// The label found.
        label: u8,
    },
    /// All values to plot are NaN or infinite.
    NoFiniteData {
        /// What was to be plotted.
        what: &'static str,
    },
    /// The picture would exceed [`MAX_SIDE`] pixels in width or height.
    TooLarge {
        /// Requested width (saturated).
        width: u64,
        /// Requested height (saturated).
        height: u64,
    },
    /// The embedded font could not be loaded (a bug: it is compiled in).
    Font,
}

impl fmt::Display for PictureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(
                f,
                "cannot write {}: {source} (check that the directory exists and is writable)",
                path.display()
            ),
            Self::Encode { path, source } => {
                write!(f, "cannot encode PNG for {}: {source}", path.display())
            }
            Self::Empty { what } => write!(f, "no {what} given: pass at least one"),
            Self::ImageSize { what, index, len } => write!(
                f,
                "{what}[{index}] has {len} values, expected {PIXELS} (a 28x28 image, row-major)"
            ),
            Self::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected} items, found {found}"),
            Self::InvalidParameter { name, requirement } => {
                write!(f, "invalid `{name}`: it must be {requirement}")
            }
            Self::BadLabel { index, label } => write!(
                f,
                "label {label} of point {index} is not a digit 0-9: pass MNIST labels"
            ),
            Self::NoFiniteData { what } => write!(
                f,
                "nothing to plot: every {what} value is NaN or infinite (did training diverge?)"
            ),
            Self::TooLarge { width, height } => write!(
                f,
                "picture of {width}x{height} pixels exceeds the limit of {MAX_SIDE} per side: \
                 use fewer images or a smaller scale"
            ),
            Self::Font => write!(f, "the embedded font failed to load (a bug in vae-train)"),
        }
    }
}

impl std::error::Error for PictureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Encode { source, .. } => Some(source),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Pixel input
// ---------------------------------------------------------------------------

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

fn f32_to_gray(v: f32) -> u8 {
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

/// Checks that every image has [`PIXELS`] values.
fn checked<'a, P: Digit>(
    images: &'a [P],
    what: &'static str,
) -> Result<Vec<DigitPixels<'a>>, PictureError> {
    images
        .iter()
        .enumerate()
        .map(|(index, img)| {
            let px = img.pixels();
            if px.len() == PIXELS {
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

fn nonzero(value: usize, name: &'static str) -> Result<(), PictureError> {
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
fn side(parts: &[(u64, u64)], width: bool, other: u64) -> Result<u32, PictureError> {
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

// ---------------------------------------------------------------------------
// Saving
// ---------------------------------------------------------------------------

/// Writes `img` as a PNG at `path`, atomically: the bytes go to a temporary
/// file in the same directory, which is then renamed over `path`, so readers
/// never see a half-written picture. The directory must exist.
pub fn save_png<P>(img: &ImageBuffer<P, Vec<P::Subpixel>>, path: &Path) -> Result<(), PictureError>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            img.as_raw().as_bytes(),
            img.width(),
            img.height(),
            P::COLOR_TYPE,
        )
        .map_err(|source| PictureError::Encode {
            path: path.to_owned(),
            source,
        })?;

    let io_err = |source| PictureError::Io {
        path: path.to_owned(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    };
    write().map_err(|source| {
        // Best effort: the temp file may not exist if creating it failed.
        let _ = fs::remove_file(&tmp);
        io_err(source)
    })
}

// ---------------------------------------------------------------------------
// Digit grids
// ---------------------------------------------------------------------------

/// Tiles images on a grid of `slots.len().div_ceil(cols)` rows; `None` slots
/// stay blank ([`GAP_SHADE`]).
fn grid_slots(
    slots: &[Option<DigitPixels<'_>>],
    cols: usize,
    scale: u32,
    gap: u32,
) -> Result<GrayImage, PictureError> {
    nonzero(cols, "cols")?;
    nonzero(scale as usize, "scale")?;
    let rows = slots.len().div_ceil(cols);
    let tile = SIDE as u64 * u64::from(scale);
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
                let v = px.gray((y / scale) as usize * SIDE + (x / scale) as usize);
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

// ---------------------------------------------------------------------------
// Figure layout
// ---------------------------------------------------------------------------

const MARGIN: u32 = 16;
const FIG_TITLE_SIZE: f32 = 22.0;
const LABEL_SIZE: f32 = 18.0;
const TICK_SIZE: f32 = 15.0;

/// A white figure with `title` on top and `grid` below it, inset by `left`,
/// `right` and `bottom` extra pixels for labels. Returns the figure and the
/// grid's top-left corner.
fn figure(
    title: &str,
    grid: &GrayImage,
    (left, right, bottom): (u32, u32, u32),
) -> Result<(RgbImage, (u32, u32)), PictureError> {
    let style = Style::bold(FIG_TITLE_SIZE);
    let (tw, th) = draw::text_size(title, style)?;
    let title_h = th + 18;
    let content = u64::from(left) + u64::from(grid.width()) + u64::from(right);
    let inner = content.max(u64::from(tw));
    let width = side(&[(1, inner), (2, u64::from(MARGIN))], true, 0)?;
    let height = side(
        &[
            (1, u64::from(title_h)),
            (1, u64::from(grid.height())),
            (1, u64::from(bottom)),
            (1, u64::from(MARGIN)),
        ],
        false,
        u64::from(width),
    )?;
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    // `inner - content` is the slack when the title is wider than the grid.
    let x0 = MARGIN + left + ((inner - content) / 2) as u32;
    let y0 = title_h;
    for (x, y, p) in grid.enumerate_pixels() {
        img.put_pixel(x0 + x, y0 + y, Rgb([p.0[0]; 3]));
    }
    // Centred on the grid if it fits there, else on the figure.
    let cx = if tw <= grid.width() {
        x0 + grid.width() / 2
    } else {
        width / 2
    };
    let at = (cx as i32, (title_h / 2 + 2) as i32);
    draw::draw_text(
        &mut img,
        title,
        at,
        (Align::Center, Align::Center),
        style,
        INK,
    )?;
    Ok((img, (x0, y0)))
}

// ---------------------------------------------------------------------------
// Figures of digits
// ---------------------------------------------------------------------------

const FIG_SCALE: u32 = 2;
const FIG_GAP: u32 = 2;

/// Originals above their reconstructions: the images go in blocks of `cols`;
/// each block is a row of originals with the matching row of reconstructions
/// under it, labelled "original" / "reconstruction" on the left, with a
/// little space between blocks. Digits are drawn at 2× size on white.
pub fn reconstructions<A: Digit, B: Digit>(
    originals: &[A],
    recons: &[B],
    cols: usize,
) -> Result<RgbImage, PictureError> {
    nonzero(cols, "cols")?;
    let orig = checked(originals, "originals")?;
    let rec = checked(recons, "recons")?;
    if orig.is_empty() {
        return Err(PictureError::Empty { what: "originals" });
    }
    if rec.len() != orig.len() {
        return Err(PictureError::LengthMismatch {
            what: "recons (one per original)",
            expected: orig.len(),
            found: rec.len(),
        });
    }
    let cols = cols.min(orig.len());
    const BLOCK_GAP: u32 = 10;
    let blocks: Vec<GrayImage> = orig
        .chunks(cols)
        .zip(rec.chunks(cols))
        .map(|(o, r)| {
            let mut slots = vec![None; 2 * cols];
            for (i, p) in o.iter().enumerate() {
                slots[i] = Some(*p);
            }
            for (i, p) in r.iter().enumerate() {
                slots[cols + i] = Some(*p);
            }
            grid_slots(&slots, cols, FIG_SCALE, FIG_GAP)
        })
        .collect::<Result<_, _>>()?;
    let bw = blocks[0].width();
    let bh = blocks[0].height();
    let n = blocks.len() as u64;
    let height = side(
        &[(n, u64::from(bh)), (n - 1, u64::from(BLOCK_GAP))],
        false,
        u64::from(bw),
    )?;
    let mut stack = GrayImage::from_pixel(bw, height, Luma([GAP_SHADE]));
    for (b, block) in blocks.iter().enumerate() {
        let y = b as u32 * (bh + BLOCK_GAP);
        for (x, yy, p) in block.enumerate_pixels() {
            stack.put_pixel(x, y + yy, *p);
        }
    }
    let names = ["original", "reconstruction"];
    let label_w = names
        .iter()
        .map(|s| draw::text_size(s, Style::regular(LABEL_SIZE)).map(|(w, _)| w))
        .try_fold(0, |m, w| w.map(|w| m.max(w)))?
        + 10;
    let (mut img, (x0, y0)) = figure("Reconstructions", &stack, (label_w, 0, 0))?;
    let tile = SIDE as u32 * FIG_SCALE;
    for b in 0..blocks.len() as u32 {
        for (row, name) in names.iter().enumerate() {
            let row = row as u32;
            let y = y0 + b * (bh + BLOCK_GAP) + FIG_GAP + row * (tile + FIG_GAP) + tile / 2;
            let at = ((x0 - 10) as i32, y as i32);
            let style = Style::regular(LABEL_SIZE);
            draw::draw_text(&mut img, name, at, (Align::End, Align::Center), style, INK)?;
        }
    }
    Ok(img)
}

/// Samples decoded from the prior, on a grid of `cols` columns (8 for an
/// 8 × 8 grid of 64 samples), at 2× size under a title.
pub fn samples<P: Digit>(images: &[P], cols: usize) -> Result<RgbImage, PictureError> {
    let grid = digit_grid(images, cols, FIG_SCALE, FIG_GAP)?;
    Ok(figure("Samples from the prior", &grid, (0, 0, 0))?.0)
}

/// Latent interpolations: each row is a path of images, e.g. decodings of
/// evenly spaced points on the line between the latent codes of two real
/// digits (first and last image). All rows must have the same length.
pub fn interpolation<R, P>(rows: &[R]) -> Result<RgbImage, PictureError>
where
    R: AsRef<[P]>,
    P: Digit,
{
    let first = rows.first().ok_or(PictureError::Empty {
        what: "interpolation rows",
    })?;
    let cols = first.as_ref().len();
    if cols == 0 {
        return Err(PictureError::Empty {
            what: "images in an interpolation row",
        });
    }
    let mut slots = Vec::with_capacity(rows.len() * cols);
    for row in rows {
        let row = row.as_ref();
        if row.len() != cols {
            return Err(PictureError::LengthMismatch {
                what: "interpolation row (all rows must be as long as the first)",
                expected: cols,
                found: row.len(),
            });
        }
        slots.extend(checked(row, "interpolation row")?.into_iter().map(Some));
    }
    let grid = grid_slots(&slots, cols, FIG_SCALE, FIG_GAP)?;
    let (mut img, (x0, y0)) = figure("Latent-space interpolation", &grid, (0, 0, 28))?;
    let tile = SIDE as u32 * FIG_SCALE;
    let y = (y0 + grid.height() + 12) as i32;
    let centre = |c: u32| (x0 + FIG_GAP + c * (tile + FIG_GAP) + tile / 2) as i32;
    let last = cols as u32 - 1;
    let style = Style::regular(TICK_SIZE);
    let centred = (Align::Center, Align::Center);
    draw::draw_text(&mut img, "start", (centre(0), y), centred, style, INK)?;
    if last > 0 {
        draw::draw_text(&mut img, "end", (centre(last), y), centred, style, INK)?;
    }
    Ok(img)
}

/// The decoded 2-D latent manifold: `n × n` images in the order of
/// [`manifold_latents`]`(n)` (row-major; top row = largest z₂, left column =
/// smallest z₁), tiled without gaps, with the z₁/z₂ values on the axes.
pub fn manifold<P: Digit>(images: &[P], n: usize) -> Result<RgbImage, PictureError> {
    let z = quantile_axis(n, inverse_normal_cdf);
    manifold_with_axes(images, n, &z, &z)
}

/// [`manifold`] for a grid with other coordinates ([`manifold_latents_with`]): `z1` and
/// `z2` are the `n` values of each axis in increasing order (left to right, bottom to
/// top), used for the tick labels.
pub fn manifold_with_axes<P: Digit>(
    images: &[P],
    n: usize,
    z1: &[f64],
    z2: &[f64],
) -> Result<RgbImage, PictureError> {
    nonzero(n, "n")?;
    if z1.len() != n || z2.len() != n {
        return Err(PictureError::LengthMismatch {
            what: "manifold axis values (n per axis)",
            expected: n,
            found: z1.len().min(z2.len()),
        });
    }
    let expected = n.checked_mul(n).ok_or(PictureError::InvalidParameter {
        name: "n",
        requirement: "small enough for an n x n grid",
    })?;
    if images.len() != expected {
        return Err(PictureError::LengthMismatch {
            what: "manifold images (n * n)",
            expected,
            found: images.len(),
        });
    }
    let px = checked(images, "manifold images")?;
    // Tiles of 1x to 3x, for a grid of about 700 pixels at most.
    let scale = (700 / SIDE.saturating_mul(n)).clamp(1, 3) as u32;
    let slots: Vec<_> = px.into_iter().map(Some).collect();
    let grid = grid_slots(&slots, n, scale, 0)?;
    let tick = Style::regular(TICK_SIZE);
    let label = Style::regular(LABEL_SIZE);
    let (tick_w, _) = draw::text_size("-0.00", tick)?;
    let (_, label_h) = draw::text_size("z₂", label)?;
    let left = tick_w + label_h + 20;
    let (mut img, (x0, y0)) = figure("Learned 2-D latent manifold", &grid, (left, tick_w / 2, 56))?;
    let tile = (SIDE as u32 * scale) as i32;
    let (x0, y0) = (x0 as i32, y0 as i32);
    let gh = grid.height() as i32;
    let gw = grid.width() as i32;
    // About 5 ticks per axis, always including both ends.
    let step = n.div_ceil(5).max(1);
    let spine = [110; 3];
    for i in (0..n).filter(|i| i % step == 0 || *i == n - 1) {
        let cx = x0 + i as i32 * tile + tile / 2;
        let cy = y0 + i as i32 * tile + tile / 2;
        draw::fill_rect(
            &mut img,
            Rect {
                x0: cx,
                y0: y0 + gh,
                x1: cx + 1,
                y1: y0 + gh + 5,
            },
            spine,
        );
        draw::fill_rect(
            &mut img,
            Rect {
                x0: x0 - 5,
                y0: cy,
                x1: x0,
                y1: cy + 1,
            },
            spine,
        );
        let below = (cx, y0 + gh + 8);
        let text = plot::minus_sign(&format!("{:.2}", z1[i]));
        draw::draw_text(
            &mut img,
            &text,
            below,
            (Align::Center, Align::Start),
            tick,
            INK,
        )?;
        let beside = (x0 - 9, cy);
        let text = plot::minus_sign(&format!("{:.2}", z2[n - 1 - i]));
        draw::draw_text(
            &mut img,
            &text,
            beside,
            (Align::End, Align::Center),
            tick,
            INK,
        )?;
    }
    let under = (x0 + gw / 2, y0 + gh + 56);
    draw::draw_text(
        &mut img,
        "z₁",
        under,
        (Align::Center, Align::End),
        label,
        INK,
    )?;
    let aside = (x0 - tick_w as i32 - 14 - label_h as i32, y0 + gh / 2);
    let style = label.vertical();
    draw::draw_text(
        &mut img,
        "z₂",
        aside,
        (Align::Start, Align::Center),
        style,
        INK,
    )?;
    Ok(img)
}

// ---------------------------------------------------------------------------
// The 2-D latent grid
// ---------------------------------------------------------------------------

/// The inverse of the standard normal CDF, Φ⁻¹(p), by Wichura's algorithm
/// AS 241 (PPND16, relative accuracy about 1e-16).
///
/// Returns `-inf` for `p <= 0`, `+inf` for `p >= 1` and NaN for NaN.
// The coefficients are kept exactly as published (Applied Statistics 37(3),
// 1988), though f64 cannot hold all their digits.
#[allow(clippy::excessive_precision)]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    fn poly(c: &[f64; 8], x: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
    }
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        133.141_667_891_784_377_45,
        1_971.590_950_306_551_442_7,
        13_731.693_765_509_461_125,
        45_921.953_931_549_871_457,
        67_265.770_927_008_700_853,
        33_430.575_583_588_128_105,
        2_509.080_928_730_122_672_7,
    ];
    const B: [f64; 8] = [
        1.0,
        42.313_330_701_600_911_252,
        687.187_007_492_057_908_3,
        5_394.196_021_424_751_107_7,
        21_213.794_301_586_595_867,
        39_307.895_800_092_710_61,
        28_729.085_735_721_942_674,
        5_226.495_278_852_854_561,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        0.241_780_725_177_450_611_77,
        0.022_723_844_989_269_184_583_3,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        0.689_767_334_985_100_004_55,
        0.148_103_976_427_480_074_59,
        0.015_198_666_563_616_457_196_6,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        0.296_560_571_828_504_891_23,
        0.026_532_189_526_576_123_093,
        0.001_242_660_947_388_078_438_6,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        0.599_832_206_555_887_937_69,
        0.136_929_880_922_735_805_31,
        0.014_875_361_290_850_614_852_5,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -x } else { x }
}

/// The `n × n` latent points of the 2-D manifold picture, like Kingma &
/// Welling's figure: an evenly spaced grid on the unit square mapped through
/// the inverse normal CDF, with per-axis values Φ⁻¹((i + ½) / n): midpoints of
/// `n` equal probability bins of the N(0, I) prior, so the grid covers the
/// prior evenly, is symmetric about 0 and never reaches Φ⁻¹(0) = -∞.
///
/// Order is row-major as drawn by [`manifold`]: row `r` (top to bottom) has
/// z₂ = Φ⁻¹((n − r − ½) / n) (decreasing), column `c` (left to right) has
/// z₁ = Φ⁻¹((c + ½) / n) (increasing). Each point is `[z₁, z₂]`. Empty for
/// `n = 0`.
pub fn manifold_latents(n: usize) -> Vec<[f32; 2]> {
    manifold_latents_with(n, |_, p| inverse_normal_cdf(p))
}

/// The `n` values `quantile((i + ½) / n)`, `i = 0..n`: one axis of the manifold grid.
fn quantile_axis(n: usize, quantile: impl Fn(f64) -> f64) -> Vec<f64> {
    (0..n)
        .map(|i| quantile((i as f64 + 0.5) / n as f64))
        .collect()
}

/// [`manifold_latents`] for another prior: `quantile(axis, p)` is the inverse
/// marginal CDF of the prior along `axis` (0 for z₁, 1 for z₂), called with the
/// same probabilities (i + ½) / n.
pub fn manifold_latents_with(n: usize, quantile: impl Fn(usize, f64) -> f64) -> Vec<[f32; 2]> {
    let (z1, z2) = (
        quantile_axis(n, |p| quantile(0, p)),
        quantile_axis(n, |p| quantile(1, p)),
    );
    let mut out = Vec::with_capacity(n * n);
    for &y in z2.iter().rev() {
        out.extend(z1.iter().map(|&x| [x as f32, y as f32]));
    }
    out
}

// ---------------------------------------------------------------------------
// Plots
// ---------------------------------------------------------------------------

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
mod tests {
    use super::*;

    /// A 28 × 28 f32 image with a soft seven-segment rendering of `k`,
    /// shifted by `dx` pixels; stands in for an MNIST digit.
    fn fake_digit(k: usize, dx: f32) -> Vec<f32> {
        // Segments a b c d e f g as (x0, y0, x1, y1).
        let (l, r, t, m, b) = (9.0, 18.0, 5.0, 14.0, 23.0);
        let seg = [
            (l, t, r, t),
            (r, t, r, m),
            (r, m, r, b),
            (l, b, r, b),
            (l, m, l, b),
            (l, t, l, m),
            (l, m, r, m),
        ];
        let on: [&[usize]; 10] = [
            &[0, 1, 2, 3, 4, 5],
            &[1, 2],
            &[0, 1, 6, 4, 3],
            &[0, 1, 6, 2, 3],
            &[5, 6, 1, 2],
            &[0, 5, 6, 2, 3],
            &[0, 5, 4, 3, 2, 6],
            &[0, 1, 2],
            &[0, 1, 2, 3, 4, 5, 6],
            &[0, 1, 2, 3, 5, 6],
        ];
        let mut img = vec![0.0f32; PIXELS];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (px, py) = (x as f32 - dx + (y as f32 - 14.0) * 0.15, y as f32);
                let d = on[k % 10]
                    .iter()
                    .map(|&s| {
                        let (x0, y0, x1, y1) = seg[s];
                        let (vx, vy) = (x1 - x0, y1 - y0);
                        let t = (((px - x0) * vx + (py - y0) * vy) / (vx * vx + vy * vy))
                            .clamp(0.0, 1.0);
                        ((px - x0 - t * vx).powi(2) + (py - y0 - t * vy).powi(2)).sqrt()
                    })
                    .fold(f32::INFINITY, f32::min);
                img[y * SIDE + x] = (2.2 - d).clamp(0.0, 1.0);
            }
        }
        img
    }

    fn blank(v: u8) -> Vec<u8> {
        vec![v; PIXELS]
    }

    fn metrics(epochs: usize) -> Vec<EpochMetrics> {
        (1..=epochs)
            .map(|e| {
                let t = e as f64;
                let recon = 80.0 + 70.0 / t;
                let kl = 25.0 + 8.0 * (1.0 - (-t / 3.0).exp());
                EpochMetrics {
                    epoch: e,
                    train_loss: recon + kl + 12.0 / t,
                    test_recon: recon,
                    test_kl: kl,
                    test_loss: recon + kl,
                    seconds: 10.0,
                    samples_per_s: 6000.0,
                    test_loss_int8: None,
                }
            })
            .collect()
    }

    fn unique_dir(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vae-pictures-test-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).expect("create test dir");
        dir
    }

    fn count_colour(img: &RgbImage, c: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0 == c).count()
    }

    #[test]
    fn pictures_grid_dimensions_are_exact() {
        let imgs: Vec<Vec<u8>> = (0..5).map(|_| blank(0)).collect();
        let g = digit_grid(&imgs, 3, 2, 1).expect("grid");
        assert_eq!(g.dimensions(), (3 * 56 + 4, 2 * 56 + 3));
        // More columns than images: one row of 5.
        let g = digit_grid(&imgs, 8, 1, 0).expect("grid");
        assert_eq!(g.dimensions(), (5 * 28, 28));
        let g = digit_grid(&imgs[..1], 1, 3, 2).expect("grid");
        assert_eq!(g.dimensions(), (84 + 4, 84 + 4));
    }

    #[test]
    fn pictures_grid_puts_pixels_at_tile_and_scale() {
        let (scale, gap, cols) = (3u32, 2u32, 3usize);
        let mut imgs: Vec<Vec<u8>> = (0..6).map(|_| blank(0)).collect();
        // Image 4 sits at grid row 1, column 1; mark its pixel (row 7, col 20).
        imgs[4][7 * SIDE + 20] = 200;
        let g = digit_grid(&imgs, cols, scale, gap).expect("grid");
        let tile = 28 * scale;
        let (x0, y0) = (gap + (tile + gap), gap + (tile + gap));
        let mut marked = 0;
        for (x, y, p) in g.enumerate_pixels() {
            let in_tile_x = x >= gap && (x - gap) % (tile + gap) < tile;
            let in_tile_y = y >= gap && (y - gap) % (tile + gap) < tile;
            let expect = if !(in_tile_x && in_tile_y) {
                GAP_SHADE
            } else if (x0 + 20 * scale..x0 + 21 * scale).contains(&x)
                && (y0 + 7 * scale..y0 + 8 * scale).contains(&y)
            {
                marked += 1;
                200
            } else {
                0
            };
            assert_eq!(p.0[0], expect, "pixel ({x}, {y})");
        }
        assert_eq!(marked, (scale * scale) as usize);
    }

    #[test]
    fn pictures_f32_pixels_are_clamped_and_rounded() {
        let mut img = vec![0.0f32; PIXELS];
        img[0] = 0.5;
        img[1] = 1.7;
        img[2] = -3.0;
        img[3] = f32::NAN;
        img[4] = 1.0;
        let g = digit_grid(&[img.as_slice()], 1, 1, 0).expect("grid");
        let row: Vec<u8> = (0..5).map(|x| g.get_pixel(x, 0).0[0]).collect();
        assert_eq!(row, [128, 255, 0, 0, 255]);
        // Arrays and u8 slices work as well.
        let arr = [7u8; PIXELS];
        let g = digit_grid(&[arr], 1, 1, 0).expect("grid");
        assert!(g.pixels().all(|p| p.0[0] == 7));
    }

    #[test]
    fn pictures_grid_rejects_bad_input() {
        let none: [&[f32]; 0] = [];
        assert!(matches!(
            digit_grid(&none, 4, 1, 0),
            Err(PictureError::Empty { .. })
        ));
        let short = vec![0.0f32; 783];
        let ok = vec![0.0f32; PIXELS];
        let err = digit_grid(&[ok.clone(), short], 2, 1, 0).unwrap_err();
        assert!(matches!(
            err,
            PictureError::ImageSize {
                index: 1,
                len: 783,
                ..
            }
        ));
        assert!(err.to_string().contains("784"));
        assert!(matches!(
            digit_grid(std::slice::from_ref(&ok), 0, 1, 0),
            Err(PictureError::InvalidParameter { name: "cols", .. })
        ));
        assert!(matches!(
            digit_grid(std::slice::from_ref(&ok), 1, 0, 0),
            Err(PictureError::InvalidParameter { name: "scale", .. })
        ));
        assert!(matches!(
            digit_grid(std::slice::from_ref(&ok), 1, u32::MAX, u32::MAX),
            Err(PictureError::TooLarge { .. })
        ));
        let many = vec![ok; 1000];
        assert!(matches!(
            digit_grid(&many, 1, 1, 0),
            Err(PictureError::TooLarge { .. })
        ));
    }

    #[test]
    fn pictures_save_png_is_atomic_and_lossless() {
        let dir = unique_dir("save");
        let gray = digit_grid(&[fake_digit(3, 0.0), fake_digit(8, 1.0)], 2, 2, 1).expect("grid");
        let path = dir.join("grid.png");
        save_png(&gray, &path).expect("save gray");
        let back = image::open(&path).expect("decode").to_luma8();
        assert_eq!(back, gray);

        let rgb = latent_scatter(&[[0.0, 0.0], [1.0, 2.0]], &[1, 7], 320).expect("scatter");
        let path2 = dir.join("scatter.png");
        save_png(&rgb, &path2).expect("save rgb");
        // Overwriting an existing file works too.
        save_png(&rgb, &path2).expect("overwrite rgb");
        let back = image::open(&path2).expect("decode").to_rgb8();
        assert_eq!(back, rgb);

        let mut names: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        names.sort();
        assert_eq!(names, ["grid.png", "scatter.png"], "no temp files left");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn pictures_save_png_reports_missing_directory() {
        let dir = unique_dir("missing");
        let path = dir.join("no-such-dir").join("x.png");
        let img = GrayImage::new(2, 2);
        let err = save_png(&img, &path).unwrap_err();
        match &err {
            PictureError::Io { path: p, .. } => assert_eq!(p, &path),
            other => panic!("expected Io error, got {other:?}"),
        }
        assert!(err.to_string().contains("no-such-dir"));
        assert!(matches!(
            save_png(&img, Path::new("/")),
            Err(PictureError::Io { .. })
        ));
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Runs of (value, length) of the neutral (R = G = B) pixels in `values`
    /// that are 0 or 128, in order.
    fn runs(values: impl Iterator<Item = u8>) -> Vec<(u8, usize)> {
        let mut out: Vec<(u8, usize)> = Vec::new();
        let mut prev = None;
        for v in values {
            if v == 0 || v == 128 {
                match out.last_mut() {
                    Some((last, n)) if *last == v && prev == Some(v) => *n += 1,
                    _ => out.push((v, 1)),
                }
            }
            prev = Some(v);
        }
        out
    }

    #[test]
    fn pictures_reconstructions_put_originals_above() {
        let orig: Vec<Vec<u8>> = (0..5).map(|_| blank(128)).collect();
        let rec: Vec<Vec<u8>> = (0..5).map(|_| blank(0)).collect();
        let img = reconstructions(&orig, &rec, 3).expect("recon");
        // A vertical line through the middle of the first tile column
        // meets: original, reconstruction (block 1), original,
        // reconstruction (block 2). Find that column: the leftmost x whose
        // pixels include a 128-gray run of one tile height.
        let tile = (SIDE as u32 * FIG_SCALE) as usize;
        let x = (0..img.width())
            .find(|&x| {
                runs((0..img.height()).map(|y| {
                    let p = img.get_pixel(x, y).0;
                    if p[0] == p[1] && p[1] == p[2] {
                        p[0]
                    } else {
                        255
                    }
                }))
                .iter()
                .any(|&(v, n)| v == 128 && n == tile)
            })
            .expect("a tile column");
        let col = runs((0..img.height()).map(|y| img.get_pixel(x + 5, y).0[0]));
        assert_eq!(
            col,
            [(128, tile), (0, tile), (128, tile), (0, tile)],
            "column {x}"
        );
        // The third column has only one block (images 2; 5 is missing).
        let err = reconstructions(&orig, &rec[..4], 3).unwrap_err();
        assert!(matches!(
            err,
            PictureError::LengthMismatch {
                expected: 5,
                found: 4,
                ..
            }
        ));
        let none: [Vec<u8>; 0] = [];
        assert!(matches!(
            reconstructions(&none, &none, 3),
            Err(PictureError::Empty { .. })
        ));
    }

    #[test]
    fn pictures_figures_reject_bad_input() {
        let d = fake_digit(1, 0.0);
        let rows = vec![vec![d.clone(); 4], vec![d.clone(); 3]];
        assert!(matches!(
            interpolation(&rows),
            Err(PictureError::LengthMismatch {
                expected: 4,
                found: 3,
                ..
            })
        ));
        let empty: Vec<Vec<Vec<f32>>> = vec![];
        assert!(matches!(
            interpolation(&empty),
            Err(PictureError::Empty { .. })
        ));
        assert!(matches!(
            interpolation(&[Vec::<Vec<f32>>::new()]),
            Err(PictureError::Empty { .. })
        ));
        assert!(matches!(
            manifold(&vec![d.clone(); 8], 3),
            Err(PictureError::LengthMismatch {
                expected: 9,
                found: 8,
                ..
            })
        ));
        assert!(matches!(
            manifold(std::slice::from_ref(&d), 0),
            Err(PictureError::InvalidParameter { .. })
        ));
        assert!(matches!(
            samples(&[vec![0.0f32; 10]], 8),
            Err(PictureError::ImageSize { len: 10, .. })
        ));
    }

    #[test]
    fn pictures_manifold_grid_has_no_gaps_and_order_is_kept() {
        // Image k of the 3 x 3 grid has gray level 60 + 15 k.
        let level = |k: u32| 60 + 15 * k as u8;
        let imgs: Vec<Vec<u8>> = (0..9).map(|k| blank(level(k))).collect();
        let img = manifold(&imgs, 3).expect("manifold");
        // 700 px budget / 84 px per unscaled row of 3 = 8, capped at 3.
        let tile = 28 * 3;
        let uniform = |x: u32, y: u32, v: u8| {
            x + tile <= img.width()
                && y + tile <= img.height()
                && (0..tile).all(|d| {
                    img.get_pixel(x + d, y).0 == [v; 3]
                        && img.get_pixel(x, y + d).0 == [v; 3]
                        && img.get_pixel(x + d, y + tile - 1).0 == [v; 3]
                        && img.get_pixel(x + tile - 1, y + d).0 == [v; 3]
                })
        };
        // The first tile: a uniform tile-sized square of level(0).
        let (gx, gy, _) = img
            .enumerate_pixels()
            .find(|(x, y, p)| p.0 == [level(0); 3] && uniform(*x, *y, level(0)))
            .expect("first tile");
        for k in 0..9u32 {
            let (x, y) = (gx + (k % 3) * tile, gy + (k / 3) * tile);
            assert!(uniform(x, y, level(k)), "tile {k} at ({x}, {y})");
        }
        // Tick marks below the grid and left of it.
        let below = img.get_pixel(gx + tile / 2, gy + 3 * tile + 2).0;
        assert!(below.iter().all(|&v| v < 160), "tick under column 0");
        let left = img.get_pixel(gx - 3, gy + tile / 2).0;
        assert!(left.iter().all(|&v| v < 160), "tick left of row 0");
    }

    #[test]
    fn pictures_inverse_normal_cdf_matches_known_quantiles() {
        // Reference values: mpmath at 50 digits, root of ln Phi(z) = ln p.
        let known = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.841_344_746_068_542_9, 1.0),
            (0.9, 1.281_551_565_544_600_4),
            (0.6, 0.253_347_103_135_799_7),
            (0.01, -2.326_347_874_040_841),
            (0.999, 3.090_232_306_167_813_5),
            (1e-10, -6.361_340_902_404_056),
            (1e-300, -37.047_096_299_361_2),
            (0.075, -1.439_531_470_938_456),
            (1.4e-11, -6.656_723_091_518_184),
        ];
        for (p, z) in known {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - z).abs() <= 1e-12 * z.abs().max(1.0),
                "Phi^-1({p}) = {got}, expected {z}"
            );
        }
        assert_eq!(inverse_normal_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(-1.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(1.0), f64::INFINITY);
        assert!(inverse_normal_cdf(f64::NAN).is_nan());
    }

    /// Φ(x) by Simpson's rule on the normal density, independent of the
    /// inverse.
    fn normal_cdf(x: f64) -> f64 {
        let n = 20_000;
        let h = x / n as f64;
        let pdf = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let sum: f64 = (0..=n)
            .map(|i| {
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * pdf(i as f64 * h)
            })
            .sum();
        0.5 + sum * h / 3.0
    }

    #[test]
    fn pictures_inverse_normal_cdf_inverts_and_is_symmetric_monotone() {
        let mut prev = f64::NEG_INFINITY;
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            let z = inverse_normal_cdf(p);
            assert!(z > prev, "not increasing at p = {p}");
            prev = z;
            assert!(
                (z + inverse_normal_cdf(1.0 - p)).abs() < 1e-12,
                "asymmetric at {p}"
            );
            if i % 7 == 0 {
                assert!((normal_cdf(z) - p).abs() < 1e-12, "Phi(Phi^-1({p}))");
            }
        }
        // Continuous across the branch points |p - 0.5| = 0.425 and
        // sqrt(-ln p) = 5 (p = exp(-25)): slope there is 1 / pdf(z).
        for p in [0.075, 0.925, (-25.0f64).exp()] {
            let (lo, hi) = (p * (1.0 - 1e-9), p * (1.0 + 1e-9));
            let (zl, zh) = (inverse_normal_cdf(lo), inverse_normal_cdf(hi));
            let pdf = (-0.5 * zl * zl).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let slope = (zh - zl) / (hi - lo);
            assert!((slope * pdf - 1.0).abs() < 1e-3, "jump at p = {p}");
        }
    }

    #[test]
    fn pictures_manifold_with_other_quantiles_and_axes() {
        // Axis 0 at p, axis 1 at 10 p: the grid follows each axis's quantile function.
        let z = manifold_latents_with(2, |a, p| if a == 0 { p } else { 10.0 * p });
        assert_eq!(z, vec![[0.25, 7.5], [0.75, 7.5], [0.25, 2.5], [0.75, 2.5]]);
        let d = vec![0.5f32; 784];
        let ok = manifold_with_axes(&vec![d.clone(); 4], 2, &[0.25, 0.75], &[2.5, 7.5]);
        assert!(ok.is_ok());
        assert!(matches!(
            manifold_with_axes(&vec![d; 4], 2, &[0.25], &[2.5, 7.5]),
            Err(PictureError::LengthMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ));
    }

    #[test]
    fn pictures_manifold_latents_are_ordered_grid() {
        assert!(manifold_latents(0).is_empty());
        assert_eq!(manifold_latents(1), vec![[0.0, 0.0]]);
        let n = 5;
        let z = manifold_latents(n);
        assert_eq!(z.len(), n * n);
        // Centre of an odd grid is the origin.
        assert_eq!(z[n * n / 2], [0.0, 0.0]);
        // First column value: Phi^-1(0.1) = -1.2815515655446004.
        assert!((z[0][0] + 1.281_551_6).abs() < 1e-6);
        assert!((z[0][1] - 1.281_551_6).abs() < 1e-6);
        for r in 0..n {
            for c in 0..n {
                let p = z[r * n + c];
                // Same z1 down a column, same z2 along a row.
                assert_eq!(p[0], z[c][0]);
                assert_eq!(p[1], z[r * n][1]);
                if c > 0 {
                    assert!(p[0] > z[r * n + c - 1][0], "z1 grows to the right");
                }
                if r > 0 {
                    assert!(p[1] < z[(r - 1) * n + c][1], "z2 falls downwards");
                }
                // Symmetric about the origin.
                let q = z[(n - 1 - r) * n + (n - 1 - c)];
                assert_eq!([p[0], p[1]], [-q[0], -q[1]]);
            }
        }
    }

    #[test]
    fn pictures_scatter_puts_label_colours_at_their_points() {
        // Ten clusters on a circle, one point per label, far apart.
        let points: Vec<[f32; 2]> = (0..10)
            .map(|k| {
                let a = k as f32 * std::f32::consts::TAU / 10.0;
                [3.0 * a.cos(), 2.0 * a.sin() + 1.0]
            })
            .collect();
        let labels: Vec<u8> = (0..10).collect();
        let (img, at) = plot::scatter(&points, &labels, 500).expect("scatter");
        assert_eq!(img.dimensions(), (500, 500));
        for k in 0..10 {
            let (x, y) = at[k].expect("finite point is drawn");
            assert!(x > 0.0 && y > 0.0 && x < 500.0 && y < 500.0);
            let (x, y) = (x.floor() as u32, y.floor() as u32);
            assert_eq!(img.get_pixel(x, y).0, LABEL_COLOURS[k], "label {k}");
        }
        // Label 0 is at the right (largest z1), label 5 at the left;
        // label 2 (z2 > 0) is above label 7 (z2 < 0) in the picture.
        let px = |k: usize| at[k].expect("drawn");
        assert!(px(0).0 > px(5).0 + 300.0);
        assert!(px(2).1 + 200.0 < px(7).1);
        // The legend shows every colour, even for labels with no points.
        let (img, _) = plot::scatter(&points[..2], &labels[..2], 400).expect("scatter");
        for (k, c) in LABEL_COLOURS.iter().enumerate() {
            assert!(count_colour(&img, *c) > 40, "legend colour {k}");
        }
    }

    #[test]
    fn pictures_scatter_skips_nan_and_rejects_bad_input() {
        let pts = [[0.0, 0.0], [f32::NAN, 1.0], [1.0, 1.0]];
        let (_, at) = plot::scatter(&pts, &[0, 1, 2], 300).expect("scatter");
        assert!(at[0].is_some() && at[1].is_none() && at[2].is_some());
        assert!(matches!(
            latent_scatter(&pts, &[0, 1], 300),
            Err(PictureError::LengthMismatch { .. })
        ));
        assert!(matches!(
            latent_scatter(&pts, &[0, 10, 1], 300),
            Err(PictureError::BadLabel {
                index: 1,
                label: 10
            })
        ));
        assert!(matches!(
            latent_scatter(&pts, &[0, 1, 2], 10),
            Err(PictureError::InvalidParameter { .. })
        ));
        assert!(matches!(
            latent_scatter(&[], &[], 300),
            Err(PictureError::Empty { .. })
        ));
        assert!(matches!(
            latent_scatter(&[[f32::INFINITY, 0.0]], &[3], 300),
            Err(PictureError::NoFiniteData { .. })
        ));
    }

    #[test]
    fn pictures_loss_plot_draws_every_curve() {
        let img = loss_plot(&metrics(12)).expect("plot");
        let white = count_colour(&img, [255; 3]);
        let total = (img.width() * img.height()) as usize;
        assert!(white < total * 97 / 100, "plot is nearly blank");
        for (i, c) in LOSS_COLOURS.iter().enumerate() {
            assert!(count_colour(&img, *c) > 200, "curve {i} colour missing");
        }
        // Dark text (title, labels, ticks) is present.
        assert!(img.pixels().filter(|p| p.0.iter().all(|&v| v < 60)).count() > 1000);
    }

    #[test]
    fn pictures_loss_plot_handles_edge_cases() {
        // A single epoch (degenerate x range) still draws every curve.
        let img = loss_plot(&metrics(1)).expect("one epoch");
        for c in LOSS_COLOURS {
            assert!(count_colour(&img, c) > 20);
        }
        // Unsorted rows and a NaN value: fine.
        let mut rows = metrics(5);
        rows.swap(0, 4);
        rows[2].train_loss = f64::NAN;
        assert!(loss_plot(&rows).is_ok());
        assert!(matches!(loss_plot(&[]), Err(PictureError::Empty { .. })));
        let mut nan = metrics(2);
        for r in &mut nan {
            r.test_kl = f64::NAN;
        }
        assert!(matches!(
            loss_plot(&nan),
            Err(PictureError::NoFiniteData { .. })
        ));
    }

    /// Renders every picture from synthetic data into
    /// `$TMPDIR/pictures-demo/` for a visual check:
    /// `cargo test -p vae-train pictures_demo -- --ignored`.
    #[test]
    #[ignore = "writes demo PNGs for a visual check"]
    fn pictures_demo() {
        let dir = std::env::temp_dir().join("pictures-demo");
        fs::create_dir_all(&dir).expect("mkdir");
        let digits: Vec<Vec<f32>> = (0..64)
            .map(|i| fake_digit(i % 10, (i % 3) as f32 - 1.0))
            .collect();
        let blurred: Vec<Vec<f32>> = digits
            .iter()
            .map(|d| d.iter().map(|v| (v * 0.8 + 0.1).min(1.0)).collect())
            .collect();
        save_png(
            &digit_grid(&digits[..20], 10, 2, 2).expect("grid"),
            &dir.join("grid.png"),
        )
        .expect("save");
        save_png(
            &reconstructions(&digits[..16], &blurred[..16], 8).expect("recon"),
            &dir.join("reconstructions.png"),
        )
        .expect("save");
        save_png(
            &samples(&digits, 8).expect("samples"),
            &dir.join("samples.png"),
        )
        .expect("save");
        let rows: Vec<Vec<Vec<f32>>> = (0..6)
            .map(|r| {
                (0..10)
                    .map(|i| {
                        let (a, b) = (fake_digit(r, 0.0), fake_digit(r + 3, 0.0));
                        let t = i as f32 / 9.0;
                        a.iter()
                            .zip(&b)
                            .map(|(x, y)| x * (1.0 - t) + y * t)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        save_png(
            &interpolation(&rows).expect("interp"),
            &dir.join("interpolation.png"),
        )
        .expect("save");
        let n = 20;
        let grid: Vec<Vec<f32>> = manifold_latents(n)
            .iter()
            .map(|z| fake_digit(((z[0] + 2.0) * 2.5) as usize, z[1] * 2.0))
            .collect();
        save_png(
            &manifold(&grid, n).expect("manifold"),
            &dir.join("manifold.png"),
        )
        .expect("save");
        let mut points = Vec::new();
        let mut labels = Vec::new();
        let mut seed = 12345u64;
        let mut uniform = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) as f32
        };
        for i in 0..5000 {
            let k = (i % 10) as u8;
            let a = f32::from(k) * std::f32::consts::TAU / 10.0;
            let (u, v) = (uniform() - 0.5, uniform() - 0.5);
            points.push([1.6 * a.cos() + u * 1.2, 1.6 * a.sin() + v * 1.2]);
            labels.push(k);
        }
        save_png(
            &latent_scatter(&points, &labels, 700).expect("scatter"),
            &dir.join("scatter.png"),
        )
        .expect("save");
        save_png(
            &loss_plot(&metrics(30)).expect("loss"),
            &dir.join("loss.png"),
        )
        .expect("save");
        save_png(
            &loss_plot(&metrics(3)).expect("loss"),
            &dir.join("loss-3.png"),
        )
        .expect("save");
    }
}
