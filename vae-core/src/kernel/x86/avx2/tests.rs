//! The AVX2 layer kernels against the scalar arithmetic, bit for bit.

use core::arch::x86_64::*;
use std::vec::Vec;

use super::Avx2;
use super::dot::ROWS;
use super::layers::{requantize8, requantize8_fitting, search8};
use crate::format::{Dense, NUM_THRESHOLDS, WeightWidth};
use crate::kernel::{dot_ref, relu_q, requantize, sigmoid_pixel};
use crate::{IMAGE_PIXELS, Rng};

fn avx2_or_skip(test: &str) -> Option<Avx2> {
    let a = Avx2::detect();
    if a.is_none() {
        std::eprintln!("{test}: no AVX2 on this CPU; skipped");
    }
    a
}

fn bytes_of(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A value with a random number of significant bits (edges of every size).
fn wide(rng: &mut Rng) -> i32 {
    rng.next_u32() as i32 >> (rng.next_u32() % 32)
}

/// `kernel(acc, m, s)` on AVX2 (the caller has checked the CPU runs it) against
/// `requantize`, lane by lane.
fn check_requantize8(
    kernel: unsafe fn(__m256i, __m256i, __m256i) -> __m256i,
    acc: [i32; ROWS],
    m: [i32; ROWS],
    s: [u32; ROWS],
) {
    // SAFETY: the caller checked that the CPU runs AVX2; the loads and the store touch
    // the arrays' 32 bytes.
    let got = unsafe {
        let load = |a: &[i32; ROWS]| _mm256_loadu_si256(a.as_ptr().cast::<__m256i>());
        let v = kernel(load(&acc), load(&m), load(&s.map(|s| s as i32)));
        let mut out = [0i32; ROWS];
        _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), v);
        out
    };
    for j in 0..ROWS {
        let want = requantize(acc[j], m[j], s[j] as u8);
        assert_eq!(got[j], want, "{} {} {}", acc[j], m[j], s[j]);
    }
}

/// `requantize8` against `requantize`: the edges, every shift up to 80, and random
/// values; every multiplier but `i32::MIN` (blobs have positive ones).
#[test]
fn requantize8_matches_scalar() {
    if avx2_or_skip("requantize8_matches_scalar").is_none() {
        return;
    }
    let edges = [
        i32::MIN,
        i32::MIN + 1,
        -65537,
        -2,
        -1,
        0,
        1,
        2,
        65535,
        i32::MAX - 1,
        i32::MAX,
    ];
    let check = |acc, m, s| check_requantize8(requantize8, acc, m, s);
    for &a in &edges {
        for &m in edges.iter().filter(|&&m| m != i32::MIN) {
            for s0 in (0..=80u32).step_by(ROWS) {
                check(
                    [a; ROWS],
                    [m; ROWS],
                    core::array::from_fn(|j| s0 + j as u32),
                );
            }
        }
    }
    let mut rng = Rng::new(21);
    for _ in 0..50_000 {
        let acc = core::array::from_fn(|_| wide(&mut rng));
        let m = core::array::from_fn(|_| wide(&mut rng).max(i32::MIN + 1));
        let s = core::array::from_fn(|_| rng.next_u32() % 70);
        check(acc, m, s);
    }
}

/// `requantize8_fitting` against `requantize` where it is exact: shifts of 32 or more and
/// positive multipliers, the `i32` edges and random sums (its values reach `±2^30`).
#[test]
fn requantize8_fitting_matches_scalar_from_shift_32() {
    if avx2_or_skip("requantize8_fitting_matches_scalar_from_shift_32").is_none() {
        return;
    }
    let check = |acc, m, s| check_requantize8(requantize8_fitting, acc, m, s);
    for acc in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
        for m in [1, 3, 1 << 30, i32::MAX] {
            for s0 in (32..=63u32).step_by(ROWS) {
                check(
                    [acc; ROWS],
                    [m; ROWS],
                    core::array::from_fn(|j| s0 + j as u32),
                );
            }
        }
    }
    let mut rng = Rng::new(22);
    for _ in 0..50_000 {
        let acc = core::array::from_fn(|_| wide(&mut rng));
        let m = core::array::from_fn(|_| (rng.next_u32() >> 1).max(1) as i32);
        let s = core::array::from_fn(|_| 32 + rng.next_u32() % 32);
        check(acc, m, s);
    }
}

/// The lane-wise search against `sigmoid_pixel`: random tables with repeats and the `i32`
/// extremes, probes at, just below and just above every threshold.
#[test]
fn search8_matches_sigmoid_pixel() {
    if avx2_or_skip("search8_matches_sigmoid_pixel").is_none() {
        return;
    }
    let mut rng = Rng::new(22);
    for case in 0..60 {
        let mut t: Vec<i32> = (0..NUM_THRESHOLDS).map(|_| wide(&mut rng)).collect();
        if case % 3 == 0 {
            t[0] = i32::MIN;
            t[NUM_THRESHOLDS - 1] = i32::MAX;
        }
        t.sort_unstable();
        if case % 2 == 0 {
            t[7] = t[6];
            t[200] = t[199];
            t[201] = t[199];
        }
        let table_bytes = bytes_of(&t);
        let table: &[u8; 4 * NUM_THRESHOLDS] = table_bytes.as_slice().try_into().unwrap();
        let mut probes: Vec<i32> = t
            .iter()
            .flat_map(|&v| [v, v.saturating_sub(1), v.saturating_add(1)])
            .collect();
        probes.extend([i32::MIN, i32::MAX, 0, -1, 1]);
        // Whole black blocks, and blocks with one lit lane among black ones.
        probes.extend([t[0].saturating_sub(1); 2 * ROWS]);
        probes.extend([t[0].saturating_sub(1); ROWS - 1]);
        probes.push(t[0]);
        probes.resize(probes.len().next_multiple_of(ROWS), 0);
        for group in probes.chunks_exact(ROWS) {
            let v: [i32; ROWS] = group.try_into().unwrap();
            // SAFETY: the CPU runs AVX2 (checked above).
            let got = unsafe { search8(table, v) };
            for j in 0..ROWS {
                assert_eq!(got[j], sigmoid_pixel(table, v[j]), "{}", v[j]);
            }
        }
    }
}

/// A random layer of `rows` rows of `n` inputs: weights over all of `-128..=127`, biases
/// and class biases of every size, positive multipliers up to `i32::MAX`, shifts 0..=63.
struct Layer {
    weights: Vec<u8>,
    bias: Vec<u8>,
    class_bias: Vec<u8>,
    multipliers: Vec<u8>,
    shifts: Vec<u8>,
    scales: Vec<u8>,
    n: usize,
}

impl Layer {
    fn random(rng: &mut Rng, rows: usize, n: usize, class_bias: bool) -> Self {
        let mut ints = |k: usize, f: &mut dyn FnMut(&mut Rng) -> i32| {
            bytes_of(&(0..k).map(|_| f(&mut *rng)).collect::<Vec<_>>())
        };
        let bias = ints(rows, &mut wide);
        let class_bias = if class_bias {
            ints(rows, &mut wide)
        } else {
            Vec::new()
        };
        let multipliers = ints(rows, &mut |r| {
            wide(r).unsigned_abs().clamp(1, i32::MAX as u32) as i32
        });
        let shifts = (0..rows).map(|_| (rng.next_u32() % 64) as u8).collect();
        let weights = (0..rows * n).map(|_| rng.next_u32() as u8).collect();
        Layer {
            weights,
            bias,
            class_bias,
            multipliers,
            shifts,
            scales: std::vec![0; 4 * rows],
            n,
        }
    }

    fn dense(&self) -> Dense<'_> {
        Dense {
            in_dim: self.n as u16,
            out_dim: self.shifts.len() as u16,
            input_scale: 1.0,
            input_zero_point: 0,
            output_scale: 1.0,
            weight_width: WeightWidth::Int8,
            weights: &self.weights,
            weight_scales: &self.scales,
            bias: &self.bias,
            multipliers: &self.multipliers,
            shifts: &self.shifts,
        }
    }

    /// Row `j`'s requantized value, as the decoder's scalar epilogue computes it.
    fn value(&self, j: usize, x: &[i8]) -> i32 {
        let le = |s: &[u8]| {
            s.get(4 * j..4 * j + 4)
                .map_or(0, |b| i32::from_le_bytes(b.try_into().unwrap()))
        };
        let acc = dot_ref(&self.weights[j * self.n..(j + 1) * self.n], x)
            .wrapping_add(le(&self.bias))
            .wrapping_add(le(&self.class_bias));
        requantize(acc, le(&self.multipliers), self.shifts[j])
    }
}

/// `Avx2::hidden` against `relu_q(requantize(..))` row by row: row counts around
/// multiples of 8, widths around multiples of 16, both zero points, with and without a
/// class bias; extreme inputs; shapes it must refuse.
#[test]
fn avx2_hidden_matches_scalar() {
    let Some(avx2) = avx2_or_skip("avx2_hidden_matches_scalar") else {
        return;
    };
    let mut rng = Rng::new(23);
    for rows in [1, 7, 8, 9, 16, 23, 256] {
        for n in [1, 15, 16, 17, 20, 32, 256, 300] {
            for (zp, cb) in [(-128i8, false), (0, true), (-128, true), (5, false)] {
                let layer = Layer::random(&mut rng, rows, n, cb);
                let mut xs: Vec<Vec<i8>> = std::vec![
                    (0..n).map(|_| rng.next_u32() as i8).collect(),
                    std::vec![-128; n],
                    std::vec![127; n],
                ];
                xs.push(
                    (0..n)
                        .map(|i| if i % 2 == 0 { -128 } else { 127 })
                        .collect(),
                );
                for x in &xs {
                    let mut out = std::vec![0i8; rows];
                    assert!(avx2.hidden(&layer.dense(), x, &layer.class_bias, zp, &mut out));
                    for (j, &o) in out.iter().enumerate() {
                        let want = relu_q(layer.value(j, x), zp);
                        assert_eq!(o, want, "rows {rows} n {n} zp {zp} row {j}");
                    }
                }
            }
        }
    }
    // Too few rows in the arrays, a short class bias, an empty input: refused.
    let layer = Layer::random(&mut rng, 8, 16, false);
    let x = [1i8; 16];
    let mut out = [7i8; 9];
    assert!(!avx2.hidden(&layer.dense(), &x, &[], 0, &mut out));
    assert!(!avx2.hidden(&layer.dense(), &x, &[0; 4], 0, &mut out[..8]));
    assert!(!avx2.hidden(&layer.dense(), &[], &[], 0, &mut out[..8]));
    assert_eq!(out, [7; 9]);
}

/// `Avx2::pixels` against `sigmoid_pixel(requantize(..))` for every pixel: random layers
/// and tables (values spread over the whole table, so every branch of the search runs),
/// with and without a class bias.
#[test]
fn avx2_pixels_match_scalar() {
    let Some(avx2) = avx2_or_skip("avx2_pixels_match_scalar") else {
        return;
    };
    let mut rng = Rng::new(24);
    for (case, n) in [1, 16, 20, 33, 256].into_iter().enumerate() {
        for cb in [false, true] {
            let layer = Layer::random(&mut rng, IMAGE_PIXELS, n, cb);
            let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let values: Vec<i32> = (0..IMAGE_PIXELS).map(|j| layer.value(j, &x)).collect();
            // Thresholds drawn from the values (plus extremes), so pixels cover 0..=255.
            let mut t: Vec<i32> = (0..NUM_THRESHOLDS)
                .map(|_| values[rng.next_u32() as usize % IMAGE_PIXELS])
                .collect();
            if case % 2 == 0 {
                t[0] = i32::MIN;
            }
            t.sort_unstable();
            let table = bytes_of(&t);
            let mut out = [0u8; IMAGE_PIXELS];
            assert!(avx2.pixels(&layer.dense(), &x, &layer.class_bias, &table, &mut out));
            for j in 0..IMAGE_PIXELS {
                assert_eq!(out[j], sigmoid_pixel(&table, values[j]), "n {n} pixel {j}");
            }
            // A short table is refused.
            let mut untouched = [9u8; IMAGE_PIXELS];
            let short = &table[..table.len() - 1];
            assert!(!avx2.pixels(&layer.dense(), &x, &layer.class_bias, short, &mut untouched));
            assert_eq!(untouched, [9; IMAGE_PIXELS]);
        }
    }
}

/// `Pairs::fill`: the inputs whose `u = x + 128` is not zero, those with a high nibble
/// first, then the small ones, each group in order, paired in that order (an odd one out
/// with the zero column), each pair's nibbles; stale entries from an earlier fill do not
/// show through. Widths up to 256 and every density, including all small and all large.
#[test]
fn pairs_list_the_inputs_in_order() {
    use super::pairs::Pairs;
    if avx2_or_skip("pairs_list_the_inputs_in_order").is_none() {
        return;
    }
    let mut rng = Rng::new(21);
    let mut pairs = Pairs::<256, 129>::new();
    for case in 0..600usize {
        let n = [0, 1, 7, 8, 9, 20, 31, 32, 33, 100, 255, 256][case % 12];
        let zeros = case % 5; // out of 4: 0 none, 4 all
        let kind = (case / 12) % 3; // 0 mixed, 1 small only, 2 large only
        let x: Vec<i8> = (0..n)
            .map(|_| {
                let r = rng.next_u32();
                if r % 4 < zeros as u32 {
                    return -128;
                }
                let u = match kind {
                    0 => (r >> 8) as u8,
                    1 => 1 + (r >> 8) as u8 % 15,
                    _ => 16 + (r >> 8) as u8 % 240,
                };
                (u ^ 0x80) as i8
            })
            .collect();
        let u = |v: i8| v as u8 ^ 0x80;
        let zero_column = n;
        let mut want: Vec<(usize, u8)> = (0..n)
            .filter(|&i| u(x[i]) >= 16)
            .map(|i| (i, u(x[i])))
            .collect();
        let big = want.len();
        want.extend(
            (0..n)
                .filter(|&i| (1..16).contains(&u(x[i])))
                .map(|i| (i, u(x[i]))),
        );
        if want.len() % 2 == 1 {
            want.push((zero_column, 0));
        }
        // SAFETY: AVX2 was detected above.
        let view = unsafe { pairs.fill(&x, zero_column) };
        assert_eq!(view.columns().len(), want.len() / 2, "case {case}");
        assert_eq!(view.full(), big.div_ceil(2), "case {case}");
        // The bound the pass checks once instead of each column.
        assert_eq!(view.bound(), n + 1, "case {case}");
        let columns = view.columns().as_flattened();
        assert!(
            columns.iter().all(|&c| usize::from(c) < view.bound()),
            "case {case}"
        );
        for (j, pair) in want.chunks(2).enumerate() {
            let [(a, ua), (b, ub)] = [pair[0], pair[1]];
            assert_eq!(
                view.columns()[j],
                [a as u16, b as u16],
                "case {case}, pair {j}"
            );
            let twice = |v: i32| v | v << 16;
            let high = twice(i32::from(ua >> 4) | i32::from(ub >> 4) << 8);
            let low = twice(i32::from(ua & 15) | i32::from(ub & 15) << 8);
            assert_eq!(
                (view.high()[j], view.low()[j]),
                (high, low),
                "case {case}, pair {j}"
            );
        }
    }
}

/// A random input of `n` codes: about `zeros` in 4 are the ReLU zero (`-128`), the rest
/// any code (`u` from 1 to 255: small and large alike).
fn relu_input(rng: &mut Rng, n: usize, zeros: u32) -> Vec<i8> {
    (0..n)
        .map(|_| {
            let r = rng.next_u32();
            if r % 4 < zeros {
                -128
            } else {
                ((1 + (r >> 8) % 255) as u8 ^ 0x80) as i8
            }
        })
        .collect()
}

/// `Quads::fill`: the inputs whose `u = x + 128` is not zero, in order, four to a quad,
/// the last one filled up with the zero column (`u = 0`); stale entries from an earlier
/// fill do not show through. Widths up to 256 (past one 64-input step and not a multiple
/// of it) and every density.
#[test]
fn quads_list_the_inputs_in_order() {
    use super::quads::Quads;
    if avx2_or_skip("quads_list_the_inputs_in_order").is_none() {
        return;
    }
    let mut rng = Rng::new(22);
    let mut quads = Quads::<256, 65>::new();
    for case in 0..500usize {
        let n = [0, 1, 3, 4, 5, 63, 64, 65, 100, 255, 256][case % 11];
        let x = relu_input(&mut rng, n, (case % 5) as u32);
        let u = |v: i8| v as u8 ^ 0x80;
        let zero_column = n;
        let mut want: Vec<(u16, u8)> = (0..n)
            .filter(|&i| u(x[i]) != 0)
            .map(|i| (i as u16, u(x[i])))
            .collect();
        while !want.len().is_multiple_of(4) {
            want.push((zero_column as u16, 0));
        }
        // SAFETY: AVX2 was detected above.
        let view = unsafe { quads.fill(&x, zero_column) };
        let got: Vec<(u16, u8)> = view
            .columns()
            .as_flattened()
            .iter()
            .copied()
            .zip(view.values().as_flattened().iter().copied())
            .collect();
        assert_eq!(got, want, "case {case}");
        // The bound the pass checks once instead of each column.
        assert_eq!(view.bound(), n + 1, "case {case}");
    }
}

/// `Vnni256::pass` on every encoding this CPU runs: each row's sum of `w u` over a
/// layer's inputs, wrapping, for passes of one and two lines, weights at their extremes
/// (-128, 127) and `u` up to 255; a listed column past the data is refused (nothing
/// summed).
#[test]
fn vnni_pass_matches_the_sums_written_out() {
    use super::line::{LINE, Line};
    use super::quads::Quads;
    use super::vnni::{Vnni256, position};
    let Some(vnni) = Vnni256::detect() else {
        std::eprintln!("vnni_pass_matches_the_sums_written_out: no 256-bit VPDPBUSD; skipped");
        return;
    };
    let mut rng = Rng::new(23);
    let mut quads = Quads::<256, 65>::new();
    for case in 0..200usize {
        let n = [1, 4, 7, 64, 129, 256][case % 6];
        let lines = 1 + case % 2;
        let rows = LINE * lines;
        let extreme = case % 7 == 0;
        let w: Vec<Vec<i8>> = (0..n)
            .map(|_| {
                (0..rows)
                    .map(|_| {
                        let r = rng.next_u32();
                        match (extreme, r % 2) {
                            (true, 0) => -128,
                            (true, _) => 127,
                            _ => (r >> 8) as i8,
                        }
                    })
                    .collect()
            })
            .collect();
        let x = if extreme {
            std::vec![127i8; n]
        } else {
            relu_input(&mut rng, n, (case % 4) as u32)
        };
        // Column by column (the zero column last), `lines` lines each, rows in order.
        let mut data = std::vec![Line([0; LINE]); (n + 1) * lines];
        for (i, column) in w.iter().enumerate() {
            for (r, &v) in column.iter().enumerate() {
                data[i * lines + r / LINE].0[position(r % LINE)] = v;
            }
        }
        let want: Vec<i32> = (0..rows)
            .map(|r| {
                (0..n).fold(0i32, |s, i| {
                    s.wrapping_add(i32::from(w[i][r]) * i32::from(x[i] as u8 ^ 0x80))
                })
            })
            .collect();
        // SAFETY: `Vnni256` proves AVX2.
        let view = unsafe { quads.fill(&x, n) };
        let mut got = std::vec![0i32; rows];
        let mut sink = |b: usize, sums: __m256i| {
            let mut lanes = [0i32; ROWS];
            // SAFETY: writes exactly the 32 bytes of `lanes`.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sums) };
            got[ROWS * b..ROWS * (b + 1)].copy_from_slice(&lanes);
        };
        match lines {
            1 => vnni.pass::<1>(&data, view, 0, &mut sink),
            _ => vnni.pass::<2>(&data, view, 0, &mut sink),
        }
        assert_eq!(got, want, "case {case}, {vnni:?}");
        // Data one column short of the listed zero column: refused.
        let mut called = false;
        let short = &data[..n * lines];
        match lines {
            1 => vnni.pass::<1>(short, view, 0, &mut |_, _| called = true),
            _ => vnni.pass::<2>(short, view, 0, &mut |_, _| called = true),
        }
        assert!(!called, "case {case}");
    }
}
