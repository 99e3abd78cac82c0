//! The latent points of the 2-D manifold picture: prior quantiles on a grid, with the
//! inverse normal CDF for the standard normal prior.

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
pub(super) fn quantile_axis(n: usize, quantile: impl Fn(f64) -> f64) -> Vec<f64> {
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
