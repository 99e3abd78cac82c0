//! The scalar arithmetic every kernel shares: rounding shifts, requantization, the
//! hidden layers' ReLU, latent quantization and the pixel threshold search.

use crate::bytes::le_i32_at;
use crate::format::NUM_THRESHOLDS;

/// `value / 2^shift`, rounded half away from zero (`shift` above 63 counts as 63).
///
/// Ties go away from zero: `rounding_shift_right(3, 1) == 2`, `rounding_shift_right(-3, 1)
/// == -2`. Computed on the magnitude, so it is symmetric around zero.
#[cfg(test)]
pub(crate) const fn rounding_shift_right(value: i64, shift: u8) -> i64 {
    let shift = if shift > 63 { 63 } else { shift };
    if shift == 0 {
        return value;
    }
    let magnitude = value.unsigned_abs(); // <= 2^63
    let half = 1u64 << (shift - 1); // <= 2^62, so the sum below fits in u64
    let rounded = ((magnitude + half) >> shift) as i64; // <= 2^62 + 2^61
    if value < 0 { -rounded } else { rounded }
}

/// Fixed-point rescale: `round_half_away_from_zero(acc * multiplier / 2^shift)`, saturated
/// to the `i32` range.
///
/// The product is exact in `i64` (`|acc * multiplier| <= 2^62`). `multiplier / 2^shift`
/// encodes a positive real factor; see
/// [`format::quantize_multiplier`](crate::format::quantize_multiplier).
pub const fn requantize(acc: i32, multiplier: i32, shift: u8) -> i32 {
    let product = acc as i64 * multiplier as i64; // |product| <= 2^62
    let shift = if shift > 63 { 63 } else { shift };
    let scaled = if shift == 0 {
        product
    } else {
        // The same value as `rounding_shift_right(product, shift)`, with arithmetic
        // (flooring) shifts instead of the magnitude and its sign: for a negative product
        // -floor((-p + 2^(s-1)) / 2^s) = floor((p - 1 + 2^(s-1)) / 2^s), and
        // floor((q + 2^(s-1)) / 2^s) = floor((floor(q / 2^(s-1)) + 1) / 2). Nothing
        // overflows (|q| <= 2^62), and it is branch-free: about half the instructions
        // on a Cortex-M4.
        let q = product - (product < 0) as i64;
        ((q >> (shift - 1)) + 1) >> 1
    };
    // In range exactly when the high word is the sign of the low word: one comparison.
    if scaled as i32 as i64 == scaled {
        scaled as i32
    } else if scaled < 0 {
        i32::MIN
    } else {
        i32::MAX
    }
}

/// ReLU into an int8 code with zero point `zero_point`: `clamp(value + zero_point,
/// zero_point, 127)`.
///
/// `value` is the requantized output in steps of the next layer's scale; the code that
/// stands for 0 is `zero_point`. With the exporter's `zero_point = -128` the outputs
/// `0..=255` steps map to codes `-128..=127`; with 0 it is a clamp to `0..=127`.
pub const fn relu_q(value: i32, zero_point: i8) -> i8 {
    let zp = zero_point as i64;
    let shifted = value as i64 + zp; // no overflow in i64
    if shifted < zp {
        zero_point
    } else if shifted > i8::MAX as i64 {
        i8::MAX
    } else {
        shifted as i8
    }
}

/// Quantizes a real value: `clamp(round_half_away_from_zero(x / scale), -127, 127)`.
///
/// One IEEE-754 `f32` division and a rounding that is bit-identical on every target: on
/// x86-64 (the host tools) in exact steps without a call per value, elsewhere
/// [`libm::roundf`] (on a Cortex-M0 without an FPU the steps measured 0.6% more
/// instructions per digit). The steps: clamping first changes nothing (rounding is
/// monotone and ±127 are integers); then `t = trunc(v)` and `v - t` are exact
/// (`|v| <= 127`), and `t` moves away from zero by one when `|v - t| >= 0.5`; tested against
/// `libm::roundf`. `-128` is never produced (the int8 range is symmetric). NaN maps to 0;
/// callers that must reject NaN check before (the decoder does).
#[inline]
pub fn quantize_i8(x: f32, scale: f32) -> i8 {
    #[cfg(target_arch = "x86_64")]
    {
        quantize_i8_steps(x, scale)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        libm::roundf(x / scale).clamp(-127.0, 127.0) as i8
    }
}

/// [`quantize_i8`]'s rounding in exact `f32` steps.
#[inline]
#[cfg_attr(not(any(test, target_arch = "x86_64")), allow(dead_code))]
pub(super) fn quantize_i8_steps(x: f32, scale: f32) -> i8 {
    let v = (x / scale).clamp(-127.0, 127.0);
    let t = v as i8; // toward zero; NaN -> 0
    let rest = v - f32::from(t);
    t + i8::from(rest >= 0.5) - i8::from(rest <= -0.5)
}

/// Pixel for a final-layer value: the number of thresholds `<= value`.
///
/// `thresholds` is a non-decreasing table of [`NUM_THRESHOLDS`] `i32` in little-endian
/// bytes (the blob's `pixel_thresholds`; [`format::parse`](crate::format::parse) checks its
/// length and order). A fixed 8-step binary search: `count` only grows by a step when the
/// last threshold inside that step is `<= value`. A shorter table behaves as if padded with
/// `i32::MAX`.
pub fn sigmoid_pixel(thresholds: &[u8], value: i32) -> u8 {
    let (table, _) = thresholds.as_chunks::<4>();
    if let Some(table) = table.first_chunk::<NUM_THRESHOLDS>() {
        return sigmoid_pixel_full(table, value);
    }
    let mut count = 0u8;
    let mut step = 128u8;
    while step > 0 {
        // count + step <= 255 throughout: count only collects the steps above `step`.
        let probe = usize::from(count) + usize::from(step) - 1;
        if le_i32_at(thresholds, probe).unwrap_or(i32::MAX) <= value {
            count += step;
        }
        step /= 2;
    }
    count
}

/// The values whose pixels a full threshold table decides: `t[0] - 1 ..= t[254]` (a value
/// below or above has the pixel of the end it is clamped to); `None` for a table that is
/// not full, not sorted, or whose first threshold is `i32::MIN`.
pub(crate) fn pixel_range(thresholds: &[u8]) -> Option<(i32, i32)> {
    let (table, _) = thresholds.as_chunks::<4>();
    let table = table.first_chunk::<NUM_THRESHOLDS>()?;
    let t = |i: usize| i32::from_le_bytes(table[i]);
    let sorted = (1..NUM_THRESHOLDS).all(|i| t(i - 1) <= t(i));
    let low = t(0).checked_sub(1)?;
    sorted.then_some((low, t(NUM_THRESHOLDS - 1)))
}

/// [`sigmoid_pixel`] of every value of [`pixel_range`] `(low, high)` into `table`
/// (`table[v - low]`): the range, or `None` when `table` holds fewer than `high - low +
/// 1` bytes or the thresholds have no range.
pub(crate) fn fill_pixel_table(thresholds: &[u8], table: &mut [u8]) -> Option<(i32, i32)> {
    let (low, high) = pixel_range(thresholds)?;
    let len = usize::try_from(i64::from(high) - i64::from(low) + 1).ok()?;
    let table = table.get_mut(..len)?;
    let mut count = 0usize;
    for (w, slot) in table.iter_mut().enumerate() {
        let v = i64::from(low) + w as i64;
        while count < NUM_THRESHOLDS
            && le_i32_at(thresholds, count).is_some_and(|t| i64::from(t) <= v)
        {
            count += 1;
        }
        *slot = count as u8;
    }
    Some((low, high))
}

/// [`sigmoid_pixel`] for a full table (what a parsed blob has): the same 8 steps, without
/// bounds checks (the probe index is clamped to the table, which it never leaves), and
/// `0` at once for a value below the first threshold (black pixels, the majority of an
/// MNIST digit; the result is the same as the search's).
#[inline(always)]
pub(super) fn sigmoid_pixel_full(table: &[[u8; 4]; NUM_THRESHOLDS], value: i32) -> u8 {
    let at = |i: usize| i32::from_le_bytes(table[i.min(NUM_THRESHOLDS - 1)]);
    if value < at(0) {
        return 0;
    }
    let mut count = 0usize;
    let mut step = 128usize;
    while step > 0 {
        // count + step - 1 <= 254: count only collects the steps above `step`.
        if at(count + step - 1) <= value {
            count += step;
        }
        step /= 2;
    }
    count as u8
}
