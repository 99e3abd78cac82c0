//! Low-level drawing on an [`RgbImage`]: anti-aliased text (embedded DejaVu
//! Sans via `ab_glyph`), blended pixels and filled rectangles.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::RgbImage;

use super::PictureError;

/// Text colour.
pub(super) const INK: [u8; 3] = [30, 30, 30];

/// A pixel rectangle `[x0, x1) × [y0, y1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Rect {
    /// The whole of `img`.
    pub fn of(img: &RgbImage) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: img.width() as i32,
            y1: img.height() as i32,
        }
    }

    fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
}

/// Blends `colour` with coverage `alpha` (clamped to `[0, 1]`) into the
/// pixel at `(x, y)`; pixels outside `clip` (or the image) are left alone.
pub(super) fn blend(img: &mut RgbImage, clip: Rect, x: i32, y: i32, colour: [u8; 3], alpha: f32) {
    let clip = Rect {
        x0: clip.x0.max(0),
        y0: clip.y0.max(0),
        x1: clip.x1.min(img.width() as i32),
        y1: clip.y1.min(img.height() as i32),
    };
    if !clip.contains(x, y) || alpha.is_nan() || alpha <= 0.0 {
        return;
    }
    let a = alpha.min(1.0);
    let p = img.get_pixel_mut(x as u32, y as u32);
    for (dst, &src) in p.0.iter_mut().zip(&colour) {
        *dst = (f32::from(*dst) * (1.0 - a) + f32::from(src) * a).round() as u8;
    }
}

/// Fills the rectangle exactly (no anti-aliasing).
pub(super) fn fill_rect(img: &mut RgbImage, r: Rect, colour: [u8; 3]) {
    let clip = Rect::of(img);
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            blend(img, clip, x, y, colour, 1.0);
        }
    }
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Result<&'static Fonts, PictureError> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
                bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
            })
        })
        .as_ref()
        .ok_or(PictureError::Font)
}

/// How text is placed relative to its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    /// Anchor at the left (or top) edge.
    Start,
    /// Anchor at the middle; vertically, the middle of the capital letters.
    Center,
    /// Anchor at the right (or bottom) edge.
    End,
}

/// Font size (ab_glyph's pixel scale: ascent − descent), weight, and
/// whether the text runs bottom-to-top.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    pub size: f32,
    pub bold: bool,
    pub vertical: bool,
}

impl Style {
    pub fn regular(size: f32) -> Self {
        Self {
            size,
            bold: false,
            vertical: false,
        }
    }

    pub fn bold(size: f32) -> Self {
        Self {
            bold: true,
            ..Self::regular(size)
        }
    }

    pub fn vertical(self) -> Self {
        Self {
            vertical: true,
            ..self
        }
    }
}

/// Text rendered horizontally into a coverage mask, baseline at `baseline`.
struct Mask {
    w: usize,
    h: usize,
    alpha: Vec<f32>,
    baseline: f32,
    cap: f32,
}

fn render(text: &str, style: Style) -> Result<Mask, PictureError> {
    let fonts = fonts()?;
    let font = if style.bold {
        &fonts.bold
    } else {
        &fonts.regular
    };
    let scale = PxScale::from(style.size);
    let sf = font.as_scaled(scale);
    let baseline = sf.ascent().ceil() + 1.0;
    let cap = font
        .outline_glyph(sf.scaled_glyph('H'))
        .map(|g| g.px_bounds().height())
        .unwrap_or(style.size * 0.63);
    let mut glyphs = Vec::new();
    let mut caret = 1.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(caret, baseline)));
        caret += sf.h_advance(id);
        prev = Some(id);
    }
    let w = caret.ceil() as usize + 2;
    let h = (baseline - sf.descent()).ceil() as usize + 2;
    let mut alpha = vec![0.0f32; w * h];
    for g in glyphs {
        if let Some(outline) = font.outline_glyph(g) {
            let b = outline.px_bounds();
            outline.draw(|x, y, c| {
                let (px, py) = (b.min.x as i64 + i64::from(x), b.min.y as i64 + i64::from(y));
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    let a = &mut alpha[py as usize * w + px as usize];
                    *a = (*a + c).min(1.0);
                }
            });
        }
    }
    Ok(Mask {
        w,
        h,
        alpha,
        baseline,
        cap,
    })
}

/// Width and height in pixels of `text` as [`draw_text`] would draw it
/// horizontally.
pub(super) fn text_size(text: &str, style: Style) -> Result<(u32, u32), PictureError> {
    let m = render(
        text,
        Style {
            vertical: false,
            ..style
        },
    )?;
    Ok((m.w as u32, m.h as u32))
}

/// Draws `text` anchored at `(x, y)`; `h` and `v` say where the anchor is
/// on the text's box (for horizontal text, `v = Center` centres the capital
/// letters on `y`). Vertical text reads bottom to top.
pub(super) fn draw_text(
    img: &mut RgbImage,
    text: &str,
    (x, y): (i32, i32),
    (h, v): (Align, Align),
    style: Style,
    colour: [u8; 3],
) -> Result<(), PictureError> {
    let m = render(text, style)?;
    let (bw, bh) = if style.vertical {
        (m.h as i32, m.w as i32)
    } else {
        (m.w as i32, m.h as i32)
    };
    let left = match h {
        Align::Start => x,
        Align::Center => x - bw / 2,
        Align::End => x - bw,
    };
    let top = match v {
        Align::Start => y,
        Align::Center if !style.vertical => y - (m.baseline - m.cap / 2.0).round() as i32,
        Align::Center => y - bh / 2,
        Align::End => y - bh,
    };
    let clip = Rect::of(img);
    for my in 0..m.h {
        for mx in 0..m.w {
            let a = m.alpha[my * m.w + mx];
            if a <= 0.0 {
                continue;
            }
            let (dx, dy) = if style.vertical {
                (my as i32, (m.w - 1 - mx) as i32)
            } else {
                (mx as i32, my as i32)
            };
            blend(img, clip, left + dx, top + dy, colour, a);
        }
    }
    Ok(())
}
