//! Figures of digits: reconstructions, samples, interpolations and the 2-D manifold, each
//! a grid of digits with a title and labels.

use image::{GrayImage, Luma, Rgb, RgbImage};
use vae_core::IMAGE_SIDE;

use super::digit::{Digit, checked, digit_grid, grid_slots, nonzero, side};
use super::draw::{self, Align, INK, Rect, Style};
use super::quantile::{inverse_normal_cdf, quantile_axis};
use super::{GAP_SHADE, PictureError, plot};

pub(super) const MARGIN: u32 = 16;
pub(super) const FIG_TITLE_SIZE: f32 = 22.0;
pub(super) const LABEL_SIZE: f32 = 18.0;
pub(super) const TICK_SIZE: f32 = 15.0;

/// A white figure with `title` on top and `grid` below it, inset by `left`,
/// `right` and `bottom` extra pixels for labels. Returns the figure and the
/// grid's top-left corner.
pub(super) fn figure(
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

pub(super) const FIG_SCALE: u32 = 2;
pub(super) const FIG_GAP: u32 = 2;

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
    let tile = IMAGE_SIDE as u32 * FIG_SCALE;
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
    let tile = IMAGE_SIDE as u32 * FIG_SCALE;
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
/// [`manifold_latents`](super::manifold_latents)`(n)` (row-major; top row = largest z₂, left column =
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
    let scale = (700 / IMAGE_SIDE.saturating_mul(n)).clamp(1, 3) as u32;
    let slots: Vec<_> = px.into_iter().map(Some).collect();
    let grid = grid_slots(&slots, n, scale, 0)?;
    let tick = Style::regular(TICK_SIZE);
    let label = Style::regular(LABEL_SIZE);
    let (tick_w, _) = draw::text_size("-0.00", tick)?;
    let (_, label_h) = draw::text_size("z₂", label)?;
    let left = tick_w + label_h + 20;
    let (mut img, (x0, y0)) = figure("Learned 2-D latent manifold", &grid, (left, tick_w / 2, 56))?;
    let tile = (IMAGE_SIDE as u32 * scale) as i32;
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
