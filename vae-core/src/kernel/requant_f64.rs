//! Requantization in `f64`: when a hidden layer's vector kernel may take the ReLU values
//! of [`requantize`](super::requantize) from `f64` multiplies, adds and floors instead of
//! the 64-bit integer products that wasm32 simd128 lacks (its user: the repacked
//! decoder's hidden layers on that target, two rows per `f64x2`).
//!
//! `requantize` rounds `x = acc * multiplier / 2^shift` half away from zero; the ReLU then
//! clamps to `0..=ceiling`. With `scale = multiplier * 2^-shift` held exactly
//! ([`scale`]), the `f64` form takes `t = fl(fl(acc * scale) + 0.5)` and its floor. Each
//! operation rounds exact operands once, so `t` errs from `x + 0.5` by at most
//! `2^-53 (2 |x| + 0.5) (1 + 2^-53)`. The clamped value only depends on which integers
//! `n` in `1..=ceiling` are at most `x + 0.5`:
//!
//! * for `0 < x <= ceiling` the error is below `2^-shift`, the least distance from
//!   `x + 0.5` to an integer it is not equal to (`x + 0.5` is a multiple of `2^-shift`),
//!   and where `x + 0.5` is an integer, `x` and `t` are exact: every such comparison
//!   comes out the same, and rounding half up is rounding half away from zero;
//! * above `ceiling`, `t` stays above `ceiling` (the error is far below `x + 0.5 -
//!   ceiling`) and both clamp to `ceiling`; at or below 0, `t` stays below 1 and both
//!   clamp to 0.
//!
//! That needs `2 ceiling + 1 <= 2^(53 - shift)` ([`rounds_exactly`]): with a ReLU's 256
//! values every shift up to 44.

/// The exact `f64` scale `multiplier * 2^-shift` (`shift <= 63`: a normal number).
pub(crate) fn scale(multiplier: i32, shift: u8) -> f64 {
    f64::from(multiplier) * f64::from_bits((1023 - u64::from(shift.min(63))) << 52)
}

/// Whether the `f64` form (see the module docs) gives `requantize`'s value clamped to
/// `0..=ceiling` for every row whose shift is at most `max_shift` and whose multiplier
/// is positive: `2 ceiling + 1 <= 2^(53 - max_shift)`.
pub(crate) fn rounds_exactly(max_shift: u8, ceiling: i32) -> bool {
    let room = 2 * i64::from(ceiling.max(0)) + 1;
    max_shift <= 52 && room <= 1i64 << (53 - max_shift)
}

/// Whether a hidden layer whose shifts lie in `min_shift..=max_shift` and whose ReLU
/// clamps to `0..=ceiling` may take its values from [`relu`]'s `f64` arithmetic, the
/// floor read as an `i32` before the clamp: [`rounds_exactly`], and `min_shift >= 32`,
/// so that `|x| < 2^30` (a multiplier is below `2^31`) and the floor fits an `i32`.
pub(crate) fn relu_is_exact((min_shift, max_shift): (u8, u8), ceiling: i32) -> bool {
    min_shift >= 32 && rounds_exactly(max_shift, ceiling)
}

/// A ReLU value as the wasm32 simd128 kernel computes it: `floor(fl(fl(acc * scale) +
/// 0.5))`, read as an `i32` from the low word of that plus `1.5 * 2^52`, then clamped to
/// `0..=ceiling`.
#[cfg(test)]
pub(crate) fn relu(acc: i32, scale: f64, ceiling: i32) -> i32 {
    let t = libm::floor(f64::from(acc) * scale + 0.5) + 6_755_399_441_055_744.0;
    (t.to_bits() as u32 as i32).clamp(0, ceiling)
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::kernel::requantize;
    use crate::kernel::tests::I32_EDGES;

    /// Multipliers for a shift: extreme, random, and every power of two (which make exact
    /// ties reachable).
    fn multipliers(rng: &mut crate::Rng) -> Vec<i32> {
        let mut m = vec![1, 3, 1 << 30, (1 << 30) + 1, i32::MAX - 1, i32::MAX];
        m.extend((0..31).map(|j| 1i32 << j));
        m.extend((0..6).map(|_| (rng.next_u32() >> 1).max(1) as i32));
        m
    }

    /// The sums nearest each boundary `x = k + 1/2` for the given `k`, the `i32` edges,
    /// and random sums of every magnitude.
    fn sums(rng: &mut crate::Rng, multiplier: i32, shift: u8, ks: &[i64]) -> Vec<i32> {
        let mut sums: Vec<i32> = I32_EDGES.to_vec();
        sums.extend((0..20).map(|_| rng.next_u32() as i32 >> (rng.next_u32() % 32)));
        for &k in ks {
            let tie = (2 * i128::from(k) + 1) << shift;
            let at = tie / (2 * i128::from(multiplier));
            sums.extend((at - 2..=at + 2).filter_map(|acc| i32::try_from(acc).ok()));
        }
        sums
    }

    /// [`relu`] against `requantize` clamped to the ReLU's range wherever
    /// [`relu_is_exact`] allows it: every shift, several ceilings, the sums around every
    /// rounding boundary of the range.
    #[test]
    fn relu_is_requantization_where_exact() {
        let mut rng = crate::Rng::new(12);
        let mut checked = 0usize;
        for shift in 0..=63u8 {
            for ceiling in [0, 1, 127, 200, 255] {
                if !relu_is_exact((shift, shift), ceiling) {
                    continue;
                }
                let ks: Vec<i64> = (-2..=i64::from(ceiling) + 1).collect();
                for multiplier in multipliers(&mut rng) {
                    let scale = scale(multiplier, shift);
                    for acc in sums(&mut rng, multiplier, shift, &ks) {
                        let want = requantize(acc, multiplier, shift).clamp(0, ceiling);
                        assert_eq!(
                            relu(acc, scale, ceiling),
                            want,
                            "acc {acc}, multiplier {multiplier}, shift {shift}, ceiling {ceiling}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 300_000, "{checked}");
        // The committed blobs' hidden shifts (37 to 43, and 44 in the conditional blob)
        // with a ceiling of 255 are inside.
        assert!(relu_is_exact((32, 44), 255) && relu_is_exact((37, 43), 255));
        assert!(!relu_is_exact((40, 45), 255) && !relu_is_exact((31, 40), 255));
        assert!(!rounds_exactly(53, 0));
    }
}
