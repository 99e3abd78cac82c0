use std::fs;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};

use image::{GrayImage, RgbImage};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE};

use super::digit::*;
use super::figures::*;
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
    let mut img = vec![0.0f32; IMAGE_PIXELS];
    for y in 0..IMAGE_SIDE {
        for x in 0..IMAGE_SIDE {
            let (px, py) = (x as f32 - dx + (y as f32 - 14.0) * 0.15, y as f32);
            let d = on[k % 10]
                .iter()
                .map(|&s| {
                    let (x0, y0, x1, y1) = seg[s];
                    let (vx, vy) = (x1 - x0, y1 - y0);
                    let t =
                        (((px - x0) * vx + (py - y0) * vy) / (vx * vx + vy * vy)).clamp(0.0, 1.0);
                    ((px - x0 - t * vx).powi(2) + (py - y0 - t * vy).powi(2)).sqrt()
                })
                .fold(f32::INFINITY, f32::min);
            img[y * IMAGE_SIDE + x] = (2.2 - d).clamp(0.0, 1.0);
        }
    }
    img
}

fn blank(v: u8) -> Vec<u8> {
    vec![v; IMAGE_PIXELS]
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
    imgs[4][7 * IMAGE_SIDE + 20] = 200;
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
    let mut img = vec![0.0f32; IMAGE_PIXELS];
    img[0] = 0.5;
    img[1] = 1.7;
    img[2] = -3.0;
    img[3] = f32::NAN;
    img[4] = 1.0;
    let g = digit_grid(&[img.as_slice()], 1, 1, 0).expect("grid");
    let row: Vec<u8> = (0..5).map(|x| g.get_pixel(x, 0).0[0]).collect();
    assert_eq!(row, [128, 255, 0, 0, 255]);
    // Arrays and u8 slices work as well.
    let arr = [7u8; IMAGE_PIXELS];
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
    let ok = vec![0.0f32; IMAGE_PIXELS];
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
    let tile = (IMAGE_SIDE as u32 * FIG_SCALE) as usize;
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
