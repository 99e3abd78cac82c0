//! Plots with axes: the latent scatter and the loss curves.

use image::{Rgb, RgbImage};

use super::draw::{self, Align, INK, Rect, Style};
use super::{EpochMetrics, LABEL_COLOURS, LOSS_COLOURS, MAX_SIDE, PictureError};

/// Figure title size (ab_glyph pixel scale).
pub(super) const TITLE_SIZE: f32 = 26.0;
const PANEL_TITLE_SIZE: f32 = 19.0;
const LABEL_SIZE: f32 = 18.0;
const TICK_SIZE: f32 = 15.0;
const GRID: [u8; 3] = [232, 232, 232];
const SPINE: [u8; 3] = [110, 110, 110];
const WHITE: [u8; 3] = [255, 255, 255];

/// Tick values inside `[lo, hi]` at a "nice" step (1, 2, 2.5 or 5 × 10ᵏ;
/// whole numbers only when `integer`), at most about `max` of them, with
/// labels printed to just the precision the step needs.
fn nice_ticks(lo: f64, hi: f64, max: usize, integer: bool) -> Vec<(f64, String)> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || max == 0 {
        return Vec::new();
    }
    let mag = 10f64.powf((span / max as f64).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0, 20.0]
        .iter()
        .map(|m| m * mag)
        .filter(|s| !integer || (*s >= 1.0 && s.fract() == 0.0))
        .find(|s| span / s <= max as f64)
        .unwrap_or(if integer {
            span.ceil().max(1.0)
        } else {
            20.0 * mag
        });
    let decimals = (0..10)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(10) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(4 * max + 1)
        .map(|i| {
            let v = i as f64 * step;
            let s = format!("{v:.decimals$}");
            (v, minus_sign(&s))
        })
        .collect()
}

/// A number's text with a typographic minus (U+2212) instead of a hyphen,
/// and never a negative zero ("-0", "-0.00").
pub(super) fn minus_sign(number: &str) -> String {
    match number.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        Some(rest) => format!("−{rest}"),
        None => number.to_owned(),
    }
}

/// `[lo, hi]` of the finite values, padded by 5 % each side (by 5 % of the
/// value, at least 0.5, when all values are equal). `None` if none is
/// finite.
pub(super) fn padded_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })?;
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (lo.abs() * 0.05).max(0.5)
    };
    Some((lo - pad, hi + pad))
}

/// A plot's data-to-pixel mapping.
pub(super) struct Frame {
    /// The plotting area in pixels.
    pub plot: Rect,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    /// Pixel position of a data point (y grows upwards in data space).
    pub fn px(&self, x: f64, y: f64) -> (f32, f32) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0);
        let w = (self.plot.x1 - self.plot.x0) as f64;
        let h = (self.plot.y1 - self.plot.y0) as f64;
        (
            (self.plot.x0 as f64 + fx * w) as f32,
            (self.plot.y1 as f64 - fy * h) as f32,
        )
    }
}

/// What [`axes`] draws.
struct Axes<'a> {
    area: Rect,
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    /// Range of x to put ticks in (the data, without the padding).
    x_ticks: (f64, f64),
    integer_x: bool,
}

/// Draws a titled pair of axes with grid lines, ticks, tick labels and axis
/// descriptions inside `a.area`; returns the plotting area's mapping.
fn axes(img: &mut RgbImage, a: &Axes<'_>) -> Result<Frame, PictureError> {
    let tick = Style::regular(TICK_SIZE);
    let xt = nice_ticks(a.x_ticks.0, a.x_ticks.1, 8, a.integer_x);
    let yt = nice_ticks(a.y.0, a.y.1, 7, false);
    let mut ytw = 0;
    for (_, s) in &yt {
        ytw = ytw.max(draw::text_size(s, tick)?.0 as i32);
    }
    let th = draw::text_size("0", tick)?.1 as i32;
    let lh = draw::text_size(a.y_desc, Style::regular(LABEL_SIZE))?.1 as i32;
    let title_h = if a.title.is_empty() {
        12
    } else {
        draw::text_size(a.title, Style::regular(PANEL_TITLE_SIZE))?.1 as i32 + 14
    };
    let plot = Rect {
        x0: a.area.x0 + 8 + lh + 6 + ytw + 10,
        y0: a.area.y0 + title_h,
        x1: a.area.x1 - 20,
        y1: a.area.y1 - (8 + th + 4 + lh + 8),
    };
    if plot.x1 - plot.x0 < 20 || plot.y1 - plot.y0 < 20 {
        return Err(PictureError::InvalidParameter {
            name: "size",
            requirement: "large enough to hold the plot",
        });
    }
    let frame = Frame {
        plot,
        x: a.x,
        y: a.y,
    };
    for (v, s) in &xt {
        let x = frame.px(*v, a.y.0).0.round() as i32;
        draw::fill_rect(
            img,
            Rect {
                x0: x,
                y0: plot.y0,
                x1: x + 1,
                y1: plot.y1,
            },
            GRID,
        );
        draw::fill_rect(
            img,
            Rect {
                x0: x,
                y0: plot.y1,
                x1: x + 1,
                y1: plot.y1 + 5,
            },
            SPINE,
        );
        let at = (x, plot.y1 + 8);
        draw::draw_text(img, s, at, (Align::Center, Align::Start), tick, INK)?;
    }
    for (v, s) in &yt {
        let y = frame.px(a.x.0, *v).1.round() as i32;
        draw::fill_rect(
            img,
            Rect {
                x0: plot.x0,
                y0: y,
                x1: plot.x1,
                y1: y + 1,
            },
            GRID,
        );
        draw::fill_rect(
            img,
            Rect {
                x0: plot.x0 - 5,
                y0: y,
                x1: plot.x0,
                y1: y + 1,
            },
            SPINE,
        );
        let at = (plot.x0 - 9, y);
        draw::draw_text(img, s, at, (Align::End, Align::Center), tick, INK)?;
    }
    // Left and bottom spines.
    let left = Rect {
        x0: plot.x0 - 1,
        y0: plot.y0,
        x1: plot.x0,
        y1: plot.y1 + 1,
    };
    draw::fill_rect(img, left, SPINE);
    let bottom = Rect {
        x0: plot.x0 - 1,
        y0: plot.y1,
        x1: plot.x1,
        y1: plot.y1 + 1,
    };
    draw::fill_rect(img, bottom, SPINE);
    let cx = (plot.x0 + plot.x1) / 2;
    let cy = (plot.y0 + plot.y1) / 2;
    let centre = (Align::Center, Align::Center);
    let title_at = (cx, a.area.y0 + title_h / 2 - 2);
    draw::draw_text(
        img,
        a.title,
        title_at,
        centre,
        Style::regular(PANEL_TITLE_SIZE),
        INK,
    )?;
    let label = Style::regular(LABEL_SIZE);
    let x_at = (cx, a.area.y1 - 8);
    draw::draw_text(img, a.x_desc, x_at, (Align::Center, Align::End), label, INK)?;
    let y_at = (a.area.x0 + 8, cy);
    draw::draw_text(
        img,
        a.y_desc,
        y_at,
        (Align::Start, Align::Center),
        label.vertical(),
        INK,
    )?;
    Ok(frame)
}

/// Draws a legend box inside the plot, in whichever corner covers the
/// fewest of `avoid` (pixel positions of the data), preferring upper right.
fn legend(
    img: &mut RgbImage,
    frame: &Frame,
    entries: &[(&str, [u8; 3])],
    avoid: &[(f32, f32)],
) -> Result<(), PictureError> {
    let style = Style::regular(TICK_SIZE + 1.0);
    let mut tw = 0;
    for (name, _) in entries {
        tw = tw.max(draw::text_size(name, style)?.0 as i32);
    }
    let row = draw::text_size("Ag", style)?.1 as i32 + 4;
    let (bw, bh) = (10 + 30 + 8 + tw + 8, 8 + row * entries.len() as i32 + 6);
    let p = frame.plot;
    let corners = [
        (p.x1 - 12 - bw, p.y0 + 10),
        (p.x0 + 12, p.y0 + 10),
        (p.x1 - 12 - bw, p.y1 - 10 - bh),
        (p.x0 + 12, p.y1 - 10 - bh),
    ];
    let covered = |&(x, y): &(i32, i32)| {
        avoid
            .iter()
            .filter(|(px, py)| {
                *px >= (x - 6) as f32
                    && *px <= (x + bw + 6) as f32
                    && *py >= (y - 6) as f32
                    && *py <= (y + bh + 6) as f32
            })
            .count()
    };
    let (bx, by) = corners
        .iter()
        .min_by_key(|c| covered(c))
        .copied()
        .unwrap_or(corners[0]);
    draw::fill_rect(
        img,
        Rect {
            x0: bx,
            y0: by,
            x1: bx + bw,
            y1: by + bh,
        },
        [200; 3],
    );
    let inner = Rect {
        x0: bx + 1,
        y0: by + 1,
        x1: bx + bw - 1,
        y1: by + bh - 1,
    };
    draw::fill_rect(img, inner, WHITE);
    let clip = Rect::of(img);
    for (i, (name, colour)) in entries.iter().enumerate() {
        let cy = by + 6 + row * i as i32 + row / 2;
        let y = cy as f32 + 0.5;
        let line = [((bx + 10) as f32, y), ((bx + 40) as f32, y)];
        draw::stroke(img, clip, &line, 3.0, *colour);
        draw::draw_text(
            img,
            name,
            (bx + 48, cy),
            (Align::Start, Align::Center),
            style,
            INK,
        )?;
    }
    Ok(())
}

/// Draws the figure title centred at the top of `img`; returns the height
/// of the title band.
fn title(img: &mut RgbImage, text: &str) -> Result<i32, PictureError> {
    let style = Style::bold(TITLE_SIZE);
    let h = draw::text_size(text, style)?.1 as i32 + 16;
    let at = (img.width() as i32 / 2, h / 2 + 2);
    draw::draw_text(img, text, at, (Align::Center, Align::Center), style, INK)?;
    Ok(h)
}

/// Pixel centre of each scatter point, `None` where the point was skipped.
pub(super) type Placed = Vec<Option<(f32, f32)>>;

/// See [`super::latent_scatter`]; also returns each drawn point's centre in
/// pixels (`None` for skipped, non-finite points).
pub(super) fn scatter(
    points: &[[f32; 2]],
    labels: &[u8],
    size: u32,
) -> Result<(RgbImage, Placed), PictureError> {
    if points.is_empty() {
        return Err(PictureError::Empty { what: "points" });
    }
    if labels.len() != points.len() {
        return Err(PictureError::LengthMismatch {
            what: "labels (one per point)",
            expected: points.len(),
            found: labels.len(),
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(PictureError::BadLabel { index, label });
    }
    if !(300..=MAX_SIDE).contains(&size) {
        return Err(PictureError::InvalidParameter {
            name: "size",
            requirement: "between 300 and 16384 pixels",
        });
    }
    let finite = |p: &&[f32; 2]| p[0].is_finite() && p[1].is_finite();
    let what = "latent point";
    let xr = padded_range(points.iter().filter(finite).map(|p| f64::from(p[0])))
        .ok_or(PictureError::NoFiniteData { what })?;
    let yr = padded_range(points.iter().filter(finite).map(|p| f64::from(p[1])))
        .ok_or(PictureError::NoFiniteData { what })?;

    let mut img = RgbImage::from_pixel(size, size, Rgb(WHITE));
    let top = title(&mut img, "Latent space of the test set")?;
    let legend_w = 80;
    let side = size as i32;
    let frame = axes(
        &mut img,
        &Axes {
            area: Rect {
                x0: 0,
                y0: top,
                x1: side - legend_w,
                y1: side,
            },
            title: "",
            x_desc: "z₁",
            y_desc: "z₂",
            x: xr,
            y: yr,
            x_ticks: xr,
            integer_x: false,
        },
    )?;
    let radius = if points.len() > 2_000 { 2.2 } else { 3.2 };
    let mut at = vec![None; points.len()];
    for (i, (p, &l)) in points.iter().zip(labels).enumerate() {
        if !finite(&p) {
            continue;
        }
        let c = frame.px(f64::from(p[0]), f64::from(p[1]));
        draw::fill_disc(
            &mut img,
            frame.plot,
            c,
            radius,
            LABEL_COLOURS[usize::from(l)],
        );
        at[i] = Some(c);
    }
    // Legend column right of the plot, centred on it.
    let style = Style::regular(LABEL_SIZE);
    let row = 26;
    let x0 = side - legend_w + 10;
    let mid = (frame.plot.y0 + frame.plot.y1) / 2;
    let y0 = mid - 11 * row / 2;
    let head = (x0, y0 + row / 2);
    draw::draw_text(
        &mut img,
        "digit",
        head,
        (Align::Start, Align::Center),
        Style::bold(LABEL_SIZE),
        INK,
    )?;
    let clip = Rect::of(&img);
    for (k, colour) in LABEL_COLOURS.iter().enumerate() {
        let cy = y0 + (k as i32 + 1) * row + row / 2;
        draw::fill_disc(&mut img, clip, ((x0 + 8) as f32, cy as f32), 6.5, *colour);
        let at_text = (x0 + 22, cy);
        draw::draw_text(
            &mut img,
            &k.to_string(),
            at_text,
            (Align::Start, Align::Center),
            style,
            INK,
        )?;
    }
    Ok((img, at))
}

/// One curve of the loss plot.
struct Curve {
    name: &'static str,
    colour: [u8; 3],
    points: Vec<(f64, f64)>,
}

/// See [`super::loss_plot`].
pub(super) fn loss(rows: &[EpochMetrics]) -> Result<RgbImage, PictureError> {
    if rows.is_empty() {
        return Err(PictureError::Empty {
            what: "epoch metrics",
        });
    }
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| r.epoch);
    let curve = |name, colour, f: fn(&EpochMetrics) -> f64| Curve {
        name,
        colour,
        points: rows
            .iter()
            .map(|r| (r.epoch as f64, f(r)))
            .filter(|p| p.1.is_finite())
            .collect(),
    };
    let left = [
        curve("train loss", LOSS_COLOURS[0], |r| r.train_loss),
        curve("test loss (−ELBO)", LOSS_COLOURS[1], |r| r.test_loss),
        curve("test reconstruction", LOSS_COLOURS[2], |r| r.test_recon),
    ];
    let right = [curve("test KL", LOSS_COLOURS[3], |r| r.test_kl)];
    let epochs = (rows[0].epoch as f64, rows[rows.len() - 1].epoch as f64);
    let markers = rows.len() <= 40;

    let (w, h) = (1200, 500);
    let mut img = RgbImage::from_pixel(w, h, Rgb(WHITE));
    let top = title(&mut img, "Training progress")?;
    let split = (w * 58 / 100) as i32;
    let (w, h) = (w as i32, h as i32);
    let left_area = Rect {
        x0: 0,
        y0: top,
        x1: split,
        y1: h,
    };
    panel(
        &mut img,
        left_area,
        "Loss per image",
        "loss (nats)",
        &left,
        epochs,
        markers,
    )?;
    let right_area = Rect {
        x0: split + 10,
        y0: top,
        x1: w,
        y1: h,
    };
    panel(
        &mut img,
        right_area,
        "KL divergence per image",
        "KL (nats)",
        &right,
        epochs,
        markers,
    )?;
    Ok(img)
}

fn panel(
    img: &mut RgbImage,
    area: Rect,
    title: &str,
    y_desc: &str,
    curves: &[Curve],
    (e0, e1): (f64, f64),
    markers: bool,
) -> Result<(), PictureError> {
    let yr = padded_range(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)))
        .ok_or(PictureError::NoFiniteData { what: "loss or KL" })?;
    let pad = ((e1 - e0) * 0.04).max(0.5);
    let frame = axes(
        img,
        &Axes {
            area,
            title,
            x_desc: "epoch",
            y_desc,
            x: (e0 - pad, e1 + pad),
            y: yr,
            x_ticks: if e1 > e0 {
                (e0, e1)
            } else {
                (e0 - pad, e1 + pad)
            },
            integer_x: true,
        },
    )?;
    let mut all = Vec::new();
    for c in curves {
        let px: Vec<(f32, f32)> = c.points.iter().map(|&(x, y)| frame.px(x, y)).collect();
        draw::stroke(img, frame.plot, &px, 2.5, c.colour);
        if markers {
            for &p in &px {
                draw::fill_disc(img, frame.plot, p, 3.6, c.colour);
            }
        }
        all.extend(px);
    }
    let entries: Vec<_> = curves.iter().map(|c| (c.name, c.colour)).collect();
    legend(img, &frame, &entries, &all)
}
