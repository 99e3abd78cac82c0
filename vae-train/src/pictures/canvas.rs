//! A `plotters` drawing backend on an [`RgbImage`] whose text is drawn by
//! [`draw`](super::draw) (the embedded DejaVu Sans, laid out with kerning and sub-pixel
//! glyph positions, like the figures' labels): plotters' own `ab_glyph` text drops each
//! glyph's side bearing, which spaces letters unevenly. Filled discs (markers) and
//! lines wider than a pixel (curves) are anti-aliased by each pixel's distance to the
//! shape, so they are round and keep their width at any slope (plotters' own small
//! circles are polygonal and its wide lines vary in width with their slope); other
//! shapes, one-pixel lines included, use plotters' rasterizers through
//! [`draw_pixel`](DrawingBackend::draw_pixel).

use image::RgbImage;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform, rasterizer,
};

use super::PictureError;
use super::draw::{self, Align, Rect, Style};

/// See the module documentation.
pub(super) struct Canvas<'a>(pub &'a mut RgbImage);

type Result<T> = std::result::Result<T, DrawingErrorKind<PictureError>>;

/// The [`Style`] and alignment of plotters' text style. Text rotated by 270°
/// reads bottom to top ([`Style::vertical`]); other rotations are not used here
/// and are drawn horizontally.
fn style_of<S: BackendTextStyle>(s: &S) -> (Style, (Align, Align)) {
    let size = s.size() as f32;
    let style = match s.style() {
        FontStyle::Bold => Style::bold(size),
        _ => Style::regular(size),
    };
    let anchor = s.anchor();
    let h = match anchor.h_pos {
        HPos::Left => Align::Start,
        HPos::Center => Align::Center,
        HPos::Right => Align::End,
    };
    let v = match anchor.v_pos {
        VPos::Top => Align::Start,
        VPos::Center => Align::Center,
        VPos::Bottom => Align::End,
    };
    match s.transform() {
        // The anchor is on the unrotated text: its start is now at the bottom, its
        // top on the left.
        FontTransform::Rotate270 => {
            let flip = |a| match a {
                Align::Start => Align::End,
                Align::End => Align::Start,
                Align::Center => Align::Center,
            };
            (style.vertical(), (v, flip(h)))
        }
        _ => (style, (h, v)),
    }
}

/// Distance from `p` to the segment `a`–`b`.
fn distance((px, py): (f32, f32), (ax, ay): (f32, f32), (bx, by): (f32, f32)) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (ax + t * dx - px, ay + t * dy - py);
    (ex * ex + ey * ey).sqrt()
}

/// Blends `colour` into `img` with each pixel's coverage by the polyline `points`
/// of half-width `hw` with round caps and joins: one minus the distance beyond the
/// edge of the pixel's centre, the largest over the segments (so joins are not
/// blended twice).
fn stroke(img: &mut RgbImage, points: &[BackendCoord], hw: f32, colour: BackendColor) {
    let reach = hw.ceil() as i32 + 1;
    let (w, h) = (img.width() as i32, img.height() as i32);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for &(x, y) in points {
        (x0, y0) = (x0.min(x - reach).max(0), y0.min(y - reach).max(0));
        (x1, y1) = (x1.max(x + reach + 1).min(w), y1.max(y + reach + 1).min(h));
    }
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let bw = (x1 - x0) as usize;
    let mut cover = vec![0.0f32; bw * (y1 - y0) as usize];
    let f = |(x, y): BackendCoord| (x as f32, y as f32);
    let segments = points.windows(2).map(|s| (s[0], s[1]));
    for (a, b) in segments.chain(points.first().map(|&p| (p, p))) {
        for y in (a.1.min(b.1) - reach).max(y0)..(a.1.max(b.1) + reach + 1).min(y1) {
            for x in (a.0.min(b.0) - reach).max(x0)..(a.0.max(b.0) + reach + 1).min(x1) {
                let c = (hw + 0.5 - distance(f((x, y)), f(a), f(b))).clamp(0.0, 1.0);
                let cell = &mut cover[(y - y0) as usize * bw + (x - x0) as usize];
                *cell = cell.max(c);
            }
        }
    }
    let (r, g, b) = colour.rgb;
    let clip = Rect::of(img);
    for (i, c) in cover.into_iter().enumerate() {
        let (x, y) = (x0 + (i % bw) as i32, y0 + (i / bw) as i32);
        draw::blend(img, clip, x, y, [r, g, b], c * colour.alpha as f32);
    }
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = PictureError;

    fn get_size(&self) -> (u32, u32) {
        self.0.dimensions()
    }

    fn ensure_prepared(&mut self) -> Result<()> {
        Ok(())
    }

    fn present(&mut self) -> Result<()> {
        Ok(())
    }

    fn draw_pixel(&mut self, (x, y): BackendCoord, c: BackendColor) -> Result<()> {
        let (r, g, b) = c.rgb;
        let clip = Rect::of(self.0);
        draw::blend(self.0, clip, x, y, [r, g, b], c.alpha as f32);
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (cx, cy): BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<()> {
        if !fill {
            return rasterizer::draw_circle(self, (cx, cy), radius, style, fill);
        }
        // A disc is a stroke of one point.
        stroke(self.0, &[(cx, cy)], radius as f32, style.color());
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<()> {
        let points: Vec<_> = path.into_iter().collect();
        if style.stroke_width() > 1 {
            stroke(
                self.0,
                &points,
                style.stroke_width() as f32 / 2.0,
                style.color(),
            );
            return Ok(());
        }
        for s in points.windows(2) {
            self.draw_line(s[0], s[1], style)?;
        }
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        s: &S,
        at: BackendCoord,
    ) -> Result<()> {
        let (style, align) = style_of(s);
        let (r, g, b) = s.color().rgb;
        draw::draw_text(self.0, text, at, align, style, [r, g, b])
            .map_err(DrawingErrorKind::DrawingError)
    }

    fn estimate_text_size<S: BackendTextStyle>(&self, text: &str, s: &S) -> Result<(u32, u32)> {
        let (style, _) = style_of(s);
        // The size of the text laid out horizontally, as plotters asks.
        draw::text_size(text, style).map_err(DrawingErrorKind::DrawingError)
    }
}
