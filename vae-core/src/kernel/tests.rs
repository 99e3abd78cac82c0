use super::arith::{quantize_i8_steps, rounding_shift_right};
use super::packed;
use super::portable::{QUAD_MAX_INPUTS, dense_pairs, dense_quads, dense_triples, dot2_portable};
use super::*;
use crate::Rng;
use crate::format::NUM_THRESHOLDS;
use std::vec::Vec;

/// The `i32` values at the ends of the range and around zero, which rounding and
/// saturation get wrong first.
pub(crate) const I32_EDGES: [i32; 9] = [
    i32::MIN,
    i32::MIN + 1,
    -2,
    -1,
    0,
    1,
    2,
    i32::MAX - 1,
    i32::MAX,
];

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u32() as u8).collect()
}

fn random_x(rng: &mut Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u32() as i8).collect()
}

/// Independent definition with indexing and i64 sums.
fn naive_dense(weights: &[u8], x: &[i8], rows: usize) -> Vec<i32> {
    (0..rows)
        .map(|j| {
            let mut s = 0i64;
            for i in 0..x.len() {
                s += i64::from(weights[j * x.len() + i] as i8) * i64::from(x[i]);
            }
            i32::try_from(s).unwrap()
        })
        .collect()
}

#[test]
fn dense_agrees_with_reference_and_naive() {
    let mut rng = Rng::new(1);
    for case in 0..2000 {
        let rows = (rng.next_u32() % 10) as usize;
        let n = (rng.next_u32() % 40) as usize + 1;
        // Sometimes add a partial trailing row, which both must ignore.
        let extra = if case % 7 == 0 {
            (rng.next_u32() as usize) % n
        } else {
            0
        };
        let w = random_bytes(&mut rng, rows * n + extra);
        let x = random_x(&mut rng, n);
        let mut fast = Vec::new();
        dense(&w, &x, |a| fast.push(a));
        let mut slow = Vec::new();
        dense_ref(&w, &x, |a| slow.push(a));
        assert_eq!(fast, slow, "case {case}: rows {rows}, n {n}");
        assert_eq!(slow, naive_dense(&w, &x, rows), "case {case}");
    }
}

/// The Cortex-M4 paths (three rows with `SMLAD`, then two, then one; here with the
/// emulated instructions) and the Cortex-M0 path (two rows) against `dense_ref`, for
/// row counts that are not multiples of 3 or 2 and lengths that are not multiples of 4 or 8.
#[test]
fn quad_and_pair_paths_agree_with_reference() {
    let mut rng = Rng::new(4);
    for rows in 0..14 {
        for n in 1..42 {
            let extra = (rng.next_u32() as usize) % n;
            let w = random_bytes(&mut rng, rows * n + extra);
            let x = random_x(&mut rng, n);
            let mut slow = Vec::new();
            dense_ref(&w, &x, |a| slow.push(a));
            let mut quads = Vec::new();
            let (d4, d3, d2) = (packed::dot4, packed::dot3, packed::dot2);
            dense_quads(&w, &x, &mut |a| quads.push(a), d4, d3, d2);
            assert_eq!(quads, slow, "quads: rows {rows}, n {n}");
            let mut triples = Vec::new();
            dense_triples(&w, &x, &mut |a| triples.push(a), packed::dot3, packed::dot2);
            assert_eq!(triples, slow, "triples: rows {rows}, n {n}");
            let mut pairs = Vec::new();
            dense_pairs(&w, &x, &mut |a| pairs.push(a), dot2_portable);
            assert_eq!(pairs, slow, "pairs: rows {rows}, n {n}");
        }
    }
    // The largest products through every lane.
    let n = 1003;
    let w = std::vec![0x80u8; 7 * n];
    let x = std::vec![-128i8; n];
    let mut out = Vec::new();
    dense_triples(&w, &x, &mut |a| out.push(a), packed::dot3, packed::dot2);
    assert_eq!(out, std::vec![16384 * 1003; 7]);
    // The four-row path at its widest input (and one past it, which falls back).
    for n in [QUAD_MAX_INPUTS - 1, QUAD_MAX_INPUTS, QUAD_MAX_INPUTS + 1] {
        let w = std::vec![0x80u8; 9 * n];
        let x = std::vec![-128i8; n];
        let mut out = Vec::new();
        let (d4, d3, d2) = (packed::dot4, packed::dot3, packed::dot2);
        dense_quads(&w, &x, &mut |a| out.push(a), d4, d3, d2);
        assert_eq!(out, std::vec![16384 * n as i32; 9], "n {n}");
    }
    // Random rows and inputs through the four-row path at 256 inputs.
    let mut rng = Rng::new(6);
    for rows in [4, 7, 64] {
        let n = QUAD_MAX_INPUTS;
        let w = random_bytes(&mut rng, rows * n);
        let x = random_x(&mut rng, n);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let (d4, d3, d2) = (packed::dot4, packed::dot3, packed::dot2);
        dense_quads(&w, &x, &mut |a| fast.push(a), d4, d3, d2);
        dense_ref(&w, &x, |a| slow.push(a));
        assert_eq!(fast, slow, "rows {rows}");
    }
}

#[test]
fn emulated_dsp_instructions() {
    use packed::emulated::{smlad, sxtb16, sxtb16_ror8};
    let v = u32::from_le_bytes([0x80, 0x7f, 0xff, 0x01]);
    assert_eq!(sxtb16(v), 0xffff_ff80); // lanes -128 (low), -1 (high)
    assert_eq!(sxtb16_ror8(v), 0x0001_007f); // lanes 127, 1
    assert_eq!(smlad(sxtb16(v), sxtb16_ror8(v), 10), 10 - 128 * 127 - 1);
    let min = 0x8000_8000; // both lanes -32768
    assert_eq!(smlad(min, min, 0), i32::MIN); // 2^31 wraps, as SMLAD does
}

#[test]
fn dense_extremes_and_empty_input() {
    // All -128 weights times all -128 inputs: the largest products.
    let n = 1000;
    let w = std::vec![0x80u8; 3 * n];
    let x = std::vec![-128i8; n];
    let mut out = Vec::new();
    dense(&w, &x, |a| out.push(a));
    assert_eq!(out, std::vec![16384 * 1000; 3]);
    let mut calls = 0;
    dense(&w, &[], |_| calls += 1);
    dense_ref(&w, &[], |_| calls += 1);
    assert_eq!(calls, 0);
}

/// `round_half_away(acc * m / 2^n)` via exact i128 arithmetic, written differently:
/// floor((2|p| + 2^n) / 2^(n+1)).
fn exact_requantize(acc: i32, m: i32, n: u8) -> i64 {
    let p = i128::from(acc) * i128::from(m);
    let mag = (2 * p.abs() + (1i128 << n)) / (1i128 << (n + 1));
    let r = if p < 0 { -mag } else { mag };
    r.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i64
}

#[test]
fn requantize_matches_exact_rounding() {
    let mut rng = Rng::new(2);
    for _ in 0..100_000 {
        let acc = rng.next_u32() as i32 >> (rng.next_u32() % 32);
        let m = (rng.next_u32() >> 1) as i32 >> (rng.next_u32() % 31);
        let n = (rng.next_u32() % 64) as u8;
        assert_eq!(
            i64::from(requantize(acc, m, n)),
            exact_requantize(acc, m, n),
            "acc {acc} m {m} n {n}"
        );
    }
}

/// The branch-free `requantize` against the magnitude-and-sign definition, with
/// negative multipliers and the extremes (|acc * m| = 2^62, shift 63 and beyond).
#[test]
fn requantize_equals_rounding_shift_right() {
    let reference = |acc: i32, m: i32, n: u8| {
        let v = rounding_shift_right(i64::from(acc) * i64::from(m), n);
        v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    };
    let mut rng = Rng::new(5);
    for &acc in &I32_EDGES {
        for &m in &I32_EDGES {
            for n in 0..=70u8 {
                assert_eq!(requantize(acc, m, n), reference(acc, m, n), "{acc} {m} {n}");
            }
        }
    }
    for _ in 0..200_000 {
        let acc = rng.next_u32() as i32 >> (rng.next_u32() % 32);
        let m = rng.next_u32() as i32 >> (rng.next_u32() % 32);
        let n = (rng.next_u32() % 66) as u8;
        assert_eq!(requantize(acc, m, n), reference(acc, m, n), "{acc} {m} {n}");
        // Exact ties: acc * m = (2k + 1) * 2^(n - 1).
        if (1..=40).contains(&n) {
            let tie = (i64::from(acc >> 9) * 2 + 1) << (n - 1);
            if let Ok(t) = i32::try_from(tie) {
                assert_eq!(requantize(t, 1, n), reference(t, 1, n), "tie {t} {n}");
            }
        }
    }
}

#[test]
fn rounding_ties_go_away_from_zero() {
    assert_eq!(rounding_shift_right(1, 1), 1);
    assert_eq!(rounding_shift_right(-1, 1), -1);
    assert_eq!(rounding_shift_right(3, 1), 2);
    assert_eq!(rounding_shift_right(-3, 1), -2);
    assert_eq!(rounding_shift_right(5, 2), 1); // 1.25
    assert_eq!(rounding_shift_right(-6, 2), -2); // -1.5
    assert_eq!(rounding_shift_right(i64::MIN, 63), -1);
    assert_eq!(rounding_shift_right(i64::MIN, 200), -1);
    assert_eq!(rounding_shift_right(7, 0), 7);
    assert_eq!(requantize(i32::MAX, i32::MAX, 0), i32::MAX);
    assert_eq!(requantize(i32::MIN, i32::MAX, 0), i32::MIN);
}

#[test]
fn relu_clamps() {
    for zp in [0i8, -128] {
        assert_eq!(relu_q(-5, zp), zp);
        assert_eq!(relu_q(i32::MIN, zp), zp);
        assert_eq!(relu_q(0, zp), zp);
        assert_eq!(relu_q(i32::MAX, zp), 127);
    }
    assert_eq!(relu_q(99, 0), 99);
    assert_eq!(relu_q(127, 0), 127);
    assert_eq!(relu_q(128, 0), 127);
    assert_eq!(relu_q(1, -128), -127);
    assert_eq!(relu_q(200, -128), 72);
    assert_eq!(relu_q(255, -128), 127);
    assert_eq!(relu_q(256, -128), 127);
    assert_eq!(relu_q(3, 127), 127);
    assert_eq!(relu_q(-3, 127), 127);
    // Against the definition, over a range that covers every clamp.
    for zp in i8::MIN..=i8::MAX {
        for v in -300..300 {
            let expected = (v + i32::from(zp)).clamp(i32::from(zp), 127);
            assert_eq!(i32::from(relu_q(v, zp)), expected, "v {v} zp {zp}");
        }
    }
}

#[test]
fn quantize_i8_rounds_half_away_and_clamps() {
    assert_eq!(quantize_i8(0.5, 1.0), 1);
    assert_eq!(quantize_i8(-0.5, 1.0), -1);
    assert_eq!(quantize_i8(0.49, 1.0), 0);
    assert_eq!(quantize_i8(2.5, 0.5), 5);
    assert_eq!(quantize_i8(1000.0, 1.0), 127);
    assert_eq!(quantize_i8(-1000.0, 1.0), -127);
    assert_eq!(quantize_i8(f32::NEG_INFINITY, 1.0), -127);
    assert_eq!(quantize_i8(1.0, 1e-38), 127);
    assert_eq!(quantize_i8(f32::NAN, 1.0), 0);
}

#[test]
fn sigmoid_pixel_counts_thresholds() {
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        let mut t: Vec<i32> = (0..NUM_THRESHOLDS)
            .map(|_| (rng.next_u32() as i32) >> (rng.next_u32() % 24))
            .collect();
        t.sort_unstable();
        // Duplicates are allowed; force a few.
        t[100] = t[99];
        let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut probes: Vec<i32> = t.iter().flat_map(|&v| [v, v.saturating_sub(1)]).collect();
        probes.extend([i32::MIN, i32::MAX, 0]);
        for v in probes {
            let expected = t.iter().filter(|&&tk| tk <= v).count();
            assert_eq!(usize::from(sigmoid_pixel(&bytes, v)), expected, "v {v}");
        }
    }
}

/// The exact-step rounding against `libm::roundf` over every `f32` from -200 to 200 in
/// steps of 2^-12 (ties included), the halves and their neighbours, and extremes.
#[test]
fn quantize_i8_matches_libm_roundf() {
    let reference = |x: f32, scale: f32| libm::roundf(x / scale).clamp(-127.0, 127.0) as i8;
    let mut values: Vec<f32> = (-200 * 4096..=200 * 4096)
        .map(|k| k as f32 / 4096.0)
        .collect();
    for k in -130..=130 {
        let half = k as f32 + 0.5;
        values.extend([half, half.next_up(), half.next_down()]);
    }
    values.extend([
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        0.49999997,
        -0.49999997,
    ]);
    for &x in &values {
        for scale in [1.0f32, 0.37, 3.0, 1e-30] {
            assert_eq!(
                quantize_i8_steps(x, scale),
                reference(x, scale),
                "{x} / {scale}"
            );
            assert_eq!(quantize_i8(x, scale), reference(x, scale), "{x} / {scale}");
        }
    }
}

#[test]
fn sigmoid_pixel_short_table_is_padded_with_max() {
    let bytes: Vec<u8> = [10i32, 20].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(sigmoid_pixel(&bytes, 15), 1);
    assert_eq!(sigmoid_pixel(&bytes, 1000), 2);
    assert_eq!(sigmoid_pixel(&bytes, i32::MAX), 255);
    assert_eq!(sigmoid_pixel(&[], 0), 0);
}
