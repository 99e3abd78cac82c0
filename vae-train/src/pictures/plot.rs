//! Plots with axes, drawn with `plotters`: the latent scatter and the loss curves.
//!
//! `plotters` draws on a [`Canvas`], which renders text with the embedded DejaVu Sans;
//! the same font is registered as plotters' "sans-serif" (its `ab_glyph` feature) for
//! the text widths it measures itself (the legend box), so no system font is needed.

use std::sync::OnceLock;

use image::{Rgb, RgbImage};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use plotters_backend::DrawingErrorKind;

use super::canvas::Canvas;
use super::{EpochMetrics, LABEL_COLOURS, LOSS_COLOURS, MAX_SIDE, PictureError};

/// Figure title size (ab_glyph pixel scale).
const TITLE_SIZE: f64 = 26.0;
const PANEL_TITLE_SIZE: f64 = 19.0;
const LABEL_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 15.0;
const INK: RGBColor = RGBColor(30, 30, 30);
const GRID: RGBColor = RGBColor(232, 232, 232);
const SPINE: RGBColor = RGBColor(110, 110, 110);
const FONT: &str = "sans-serif";
const LINE_WIDTH: u32 = 3;

/// Registers the embedded DejaVu Sans (regular and bold) as plotters' "sans-serif".
fn fonts() -> Result<(), PictureError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    ok.then_some(()).ok_or(PictureError::Font)
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn bold(size: f64) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold).color(&INK)
}

fn rgb([r, g, b]: [u8; 3]) -> RGBColor {
    RGBColor(r, g, b)
}

fn plot_err(e: DrawingAreaErrorKind<PictureError>) -> PictureError {
    match e {
        DrawingAreaErrorKind::BackendError(DrawingErrorKind::DrawingError(e)) => e,
        e => PictureError::Plot(e.to_string()),
    }
}

type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

/// Draws with `draw` on a white `w × h` canvas and returns the picture.
fn canvas(
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), PictureError>,
) -> Result<RgbImage, PictureError> {
    fonts()?;
    let mut img = RgbImage::from_pixel(w, h, Rgb([255; 3]));
    let root = Canvas(&mut img).into_drawing_area();
    draw(&root)?;
    root.present().map_err(plot_err)?;
    drop(root);
    Ok(img)
}

/// Tick values inside `[lo, hi]` at a "nice" step (1, 2, 2.5 or 5 × 10ᵏ;
/// whole numbers only when `integer`), at most about `max` of them, and the
/// number of decimals the step needs.
fn nice_ticks(lo: f64, hi: f64, max: usize, integer: bool) -> (Vec<f64>, usize) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || max == 0 {
        return (Vec::new(), 0);
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
    let ticks = (first..=last)
        .take(4 * max + 1)
        .map(|i| i as f64 * step)
        .collect();
    (ticks, decimals)
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

/// What [`axes`] draws.
struct Axes<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    /// Range of x to put ticks in (the data, without the padding).
    x_ticks: (f64, f64),
    integer_x: bool,
}

/// A linear axis whose grid lines and labels are at the [`nice_ticks`].
struct Axis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new((lo, hi): (f64, f64), ticks: Vec<f64>) -> Self {
        let linear = (lo..hi).into();
        Self { linear, ticks }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold points only: no minor grid lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

type Chart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<Axis, Axis>>;

/// A titled pair of axes with grid lines, ticks, tick labels and axis
/// descriptions filling `area`.
fn axes<'a, 'b>(area: &'a Area<'b>, a: &Axes<'_>) -> Result<Chart<'a, 'b>, PictureError> {
    let (xt, xd) = nice_ticks(a.x_ticks.0, a.x_ticks.1, 8, a.integer_x);
    let (yt, yd) = nice_ticks(a.y.0, a.y.1, 7, false);
    let tick = font(TICK_SIZE);
    let y_label_w = yt
        .iter()
        .map(|v| area.estimate_text_size(&minus_sign(&format!("{v:.yd$}")), &tick))
        .try_fold(0, |m, s| s.map(|(w, _)| m.max(w)))
        .map_err(plot_err)?;
    // The rotated y description, a gap, the tick labels and the ticks.
    let (_, y_desc_h) = area
        .estimate_text_size(a.y_desc, &font(LABEL_SIZE))
        .map_err(plot_err)?;
    let mut builder = ChartBuilder::on(area);
    if a.title.is_empty() {
        builder.margin_top(12);
    } else {
        builder
            .caption(a.title, font(PANEL_TITLE_SIZE))
            .margin_top(4);
    }
    let mut chart = builder
        .margin_left(8)
        .margin_right(18)
        .margin_bottom(8)
        .x_label_area_size(52)
        .y_label_area_size(y_desc_h + 6 + y_label_w + 10)
        .build_cartesian_2d(Axis::new(a.x, xt), Axis::new(a.y, yt))
        .map_err(plot_err)?;
    let x_fmt = |v: &f64| minus_sign(&format!("{v:.xd$}"));
    let y_fmt = |v: &f64| minus_sign(&format!("{v:.yd$}"));
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(SPINE)
        .set_all_tick_mark_size(5)
        .label_style(tick)
        .axis_desc_style(font(LABEL_SIZE))
        .x_desc(a.x_desc)
        .y_desc(a.y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(plot_err)?;
    Ok(chart)
}

/// Draws the figure title centred at the top of `root`; returns the area below it.
fn title<'b>(root: &Area<'b>, text: &str) -> Result<Area<'b>, PictureError> {
    let style = bold(TITLE_SIZE);
    let (_, h) = root.estimate_text_size(text, &style).map_err(plot_err)?;
    let band = h as i32 + 16;
    let centre = (root.dim_in_pixel().0 as i32 / 2, band / 2 + 2);
    let style = style.pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(text, centre, style))
        .map_err(plot_err)?;
    Ok(root.margin(band, 0, 0, 0))
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

    let mut at = vec![None; points.len()];
    let img = canvas((size, size), |root| {
        let body = title(root, "Latent space of the test set")?;
        let legend_w = 80;
        let (plot_area, legend_area) = body.split_horizontally(size - legend_w);
        let mut chart = axes(
            &plot_area,
            &Axes {
                title: "",
                x_desc: "z₁",
                y_desc: "z₂",
                x: xr,
                y: yr,
                x_ticks: xr,
                integer_x: false,
            },
        )?;
        let radius = if points.len() > 2_000 { 2 } else { 3 };
        let mut dots = Vec::with_capacity(points.len());
        for (i, (p, &l)) in points.iter().zip(labels).enumerate() {
            if finite(&p) {
                let xy = (f64::from(p[0]), f64::from(p[1]));
                let (x, y) = chart.backend_coord(&xy);
                at[i] = Some((x as f32, y as f32));
                let colour = rgb(LABEL_COLOURS[usize::from(l)]);
                dots.push(Circle::new(xy, radius, colour.filled()));
            }
        }
        chart.draw_series(dots).map_err(plot_err)?;
        // Legend column right of the plot, centred on it.
        let row = 26;
        let (_, plot_y) = chart.plotting_area().get_pixel_range();
        let mid = (plot_y.start + plot_y.end) / 2 - legend_area.get_base_pixel().1;
        let y0 = mid - 11 * row / 2;
        let left = Pos::new(HPos::Left, VPos::Center);
        let head = Text::new("digit", (10, y0 + row / 2), bold(LABEL_SIZE).pos(left));
        legend_area.draw(&head).map_err(plot_err)?;
        for (k, &colour) in LABEL_COLOURS.iter().enumerate() {
            let cy = y0 + (k as i32 + 1) * row + row / 2;
            let dot = Circle::new((18, cy), 7, rgb(colour).filled());
            legend_area.draw(&dot).map_err(plot_err)?;
            let text = Text::new(k.to_string(), (32, cy), font(LABEL_SIZE).pos(left));
            legend_area.draw(&text).map_err(plot_err)?;
        }
        Ok(())
    })?;
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
    canvas((w, h), |root| {
        let body = title(root, "Training progress")?;
        let (l, r) = body.split_horizontally(w * 58 / 100);
        let r = r.margin(0, 0, 10, 0);
        let panels = [
            (l, "Loss per image", "loss (nats)", &left[..]),
            (r, "KL divergence per image", "KL (nats)", &right[..]),
        ];
        for (area, title, y_desc, curves) in &panels {
            panel(area, title, y_desc, curves, epochs, markers)?;
        }
        Ok(())
    })
}

fn panel(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    curves: &[Curve],
    (e0, e1): (f64, f64),
    markers: bool,
) -> Result<(), PictureError> {
    let yr = padded_range(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)))
        .ok_or(PictureError::NoFiniteData { what: "loss or KL" })?;
    let pad = ((e1 - e0) * 0.04).max(0.5);
    let mut chart = axes(
        area,
        &Axes {
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
        let colour = rgb(c.colour);
        let line = LineSeries::new(c.points.iter().copied(), colour.stroke_width(LINE_WIDTH));
        chart
            .draw_series(line)
            .map_err(plot_err)?
            .label(c.name)
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 30, y)], colour.stroke_width(LINE_WIDTH))
            });
        if markers {
            let dots = c.points.iter().map(|&p| Circle::new(p, 4, colour.filled()));
            chart.draw_series(dots).map_err(plot_err)?;
        }
        all.extend(c.points.iter().map(|p| chart.backend_coord(p)));
    }
    // The legend goes in whichever corner covers the fewest data points,
    // preferring upper right.
    let entry = font(TICK_SIZE + 1.0);
    let mut tw = 0;
    for c in curves {
        tw = tw.max(area.estimate_text_size(c.name, &entry).map_err(plot_err)?.0 as i32);
    }
    let (bw, bh) = (30 + 20 + tw, 24 * curves.len() as i32 + 10);
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let corners = [
        (
            SeriesLabelPosition::UpperRight,
            xs.end - 10 - bw,
            ys.start + 10,
        ),
        (SeriesLabelPosition::UpperLeft, xs.start + 10, ys.start + 10),
        (
            SeriesLabelPosition::LowerRight,
            xs.end - 10 - bw,
            ys.end - 10 - bh,
        ),
        (
            SeriesLabelPosition::LowerLeft,
            xs.start + 10,
            ys.end - 10 - bh,
        ),
    ];
    let covered = |&(_, x, y): &(SeriesLabelPosition, i32, i32)| {
        all.iter()
            .filter(|(px, py)| {
                (x - 6..=x + bw + 6).contains(px) && (y - 6..=y + bh + 6).contains(py)
            })
            .count()
    };
    let best = corners
        .iter()
        .min_by_key(|c| covered(c))
        .unwrap_or(&corners[0]);
    chart
        .configure_series_labels()
        .position(best.0.clone())
        .margin(10)
        .legend_area_size(40)
        .label_font(entry)
        .background_style(WHITE)
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(plot_err)
}
