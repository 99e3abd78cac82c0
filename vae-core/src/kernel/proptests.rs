//! Property tests of the kernels against plain `i64`/`i128` definitions written here.

use std::vec::Vec;

use proptest::prelude::*;

use crate::format::NUM_THRESHOLDS;
use crate::kernel;

/// `sum_i (w[i] as i8) * x[i]` per row, in i64.
fn dense_i64(weights: &[u8], x: &[i8]) -> Vec<i64> {
    if x.is_empty() {
        return Vec::new();
    }
    let rows = weights.len() / x.len();
    (0..rows)
        .map(|j| {
            (0..x.len())
                .map(|i| i64::from(weights[j * x.len() + i] as i8) * i64::from(x[i]))
                .sum()
        })
        .collect()
}

/// `acc * m / 2^n` rounded half away from zero, saturated to i32, in i128.
fn requantize_i128(acc: i32, m: i32, n: u8) -> i64 {
    let n = n.min(63);
    let p = i128::from(acc) * i128::from(m);
    let q = if n == 0 {
        p
    } else {
        let d = 1i128 << n;
        let mag = (p.abs() + d / 2) / d;
        if p < 0 { -mag } else { mag }
    };
    q.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dense_matches_i64(
        x in prop::collection::vec(any::<i8>(), 0..40),
        rows in 0usize..12,
        extra in 0usize..40,
        seed in any::<u64>(),
    ) {
        let mut rng = crate::Rng::new(seed);
        let len = rows * x.len() + if x.is_empty() { 0 } else { extra % x.len() };
        let weights: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        let expected = dense_i64(&weights, &x);
        let mut fast = Vec::new();
        kernel::dense(&weights, &x, |v| fast.push(i64::from(v)));
        let mut slow = Vec::new();
        kernel::dense_ref(&weights, &x, |v| slow.push(i64::from(v)));
        prop_assert_eq!(&fast, &expected);
        prop_assert_eq!(&slow, &expected);
    }

    #[test]
    fn requantize_matches_i128(acc in any::<i32>(), m in any::<i32>(), n in any::<u8>()) {
        prop_assert_eq!(i64::from(kernel::requantize(acc, m, n)), requantize_i128(acc, m, n));
    }

    #[test]
    fn rounding_shift_right_matches_i128(v in any::<i64>(), n in any::<u8>()) {
        let s = n.min(63);
        let expected = if s == 0 {
            i128::from(v)
        } else {
            let d = 1i128 << s;
            let mag = (i128::from(v).abs() + d / 2) / d;
            if v < 0 { -mag } else { mag }
        };
        prop_assert_eq!(i128::from(kernel::arith::rounding_shift_right(v, n)), expected);
    }

    #[test]
    fn relu_q_is_a_shifted_clamp(v in any::<i32>(), zp in any::<i8>()) {
        let zp64 = i64::from(zp);
        prop_assert_eq!(
            i64::from(kernel::relu_q(v, zp)),
            (i64::from(v) + zp64).clamp(zp64, 127)
        );
    }

    #[test]
    fn quantize_i8_rounds_and_clamps(x in any::<f32>(), scale in 1e-6f32..1e6) {
        let q = kernel::quantize_i8(x, scale);
        let r = f64::from(x / scale);
        let expected = if r.is_nan() {
            0
        } else {
            let rounded = if r < 0.0 { -(-r + 0.5).floor() } else { (r + 0.5).floor() };
            rounded.clamp(-127.0, 127.0) as i64
        };
        prop_assert_eq!(i64::from(q), expected, "x {} scale {}", x, scale);
    }

    #[test]
    fn sigmoid_pixel_counts_thresholds(
        mut t in prop::collection::vec(any::<i32>(), NUM_THRESHOLDS),
        probes in prop::collection::vec(any::<i32>(), 1..16),
    ) {
        t.sort_unstable();
        let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut values = probes;
        values.extend([i32::MIN, i32::MAX, t[0], t[254], t[127].saturating_sub(1)]);
        for v in values {
            let expected = t.iter().filter(|&&tk| tk <= v).count();
            prop_assert_eq!(usize::from(kernel::sigmoid_pixel(&bytes, v)), expected, "v {}", v);
        }
    }
}
