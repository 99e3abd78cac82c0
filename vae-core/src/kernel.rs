//! Integer kernels: the arithmetic of the int8 decoder, shared by every target.
//!
//! Everything here is integer arithmetic with fully specified rounding (plus one IEEE `f32`
//! division and [`libm::roundf`] in [`quantize_i8`]), so host, Cortex-M and wasm compute
//! bit-identical results. The formulas are written out in `FORMAT.md`.
//!
//! * [`dense`] / [`dense_ref`]: `i8 x i8 -> i32` matrix-vector products. `dense_ref` is the
//!   plain definition; `dense` is the one the decoder runs, and the tests check they agree.
//!   `dense` is where a target specialises the dot products (a Cortex-M4 `dsp` variant
//!   using `SMLAD`; see its docs for every target's variant): it must produce exactly the
//!   values of `dense_ref`.
//! * On x86-64 with AVX-512 F, BW and VNNI (module `x86`, compiled in with those target
//!   features or detected at run time with the `std` feature) the decoder goes further and
//!   runs whole layers there, 16 rows at a time: `VPDPBUSD` dot products, then the
//!   requantization, ReLU and threshold search below in vector form. The tests compare it
//!   with the portable path bit for bit; every other target runs the portable path.
//! * [`requantize`]: `round_half_away_from_zero(acc * M / 2^n)`, the fixed-point rescale.
//! * [`relu_q`]: the hidden-layer activation, ReLU into an asymmetric int8 code.
//! * [`sigmoid_pixel`]: logit to pixel through the blob's 255 sorted thresholds.
//!
//! Weights are passed as the blob's raw bytes (`&[u8]`, each one an `i8` in two's
//! complement, reinterpreted with `as i8`). All sums use wrapping arithmetic, so no input
//! can make a kernel panic; [`format::parse`](crate::format::parse) rejects blobs whose
//! accumulators could overflow, so for a parsed model nothing ever wraps.

/// Number of thresholds in a pixel table: pixels take the values `0..=255`.
pub const NUM_THRESHOLDS: usize = 255;

/// Reference dot product: `sum_i (weights[i] as i8) * x[i]` over the common length.
pub fn dot_ref(weights: &[u8], x: &[i8]) -> i32 {
    weights.iter().zip(x).fold(0i32, |acc, (&w, &xi)| {
        acc.wrapping_add(i32::from(w as i8) * i32::from(xi))
    })
}

/// Reference dense layer: for each row `j` of the row-major `[rows][x.len()]` matrix
/// `weights`, calls `sink(dot_ref(row_j, x))`, in row order.
///
/// `rows = weights.len() / x.len()`; a trailing partial row is ignored, and nothing is
/// produced when `x` is empty. No bias is added: the caller adds it to each value.
pub fn dense_ref(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    if x.is_empty() {
        return;
    }
    for row in weights.chunks_exact(x.len()) {
        sink(dot_ref(row, x));
    }
}

/// Dense layer as the decoder runs it: same contract and same results as [`dense_ref`].
///
/// * x86-64 with AVX-512 F, BW and VNNI (compiled in, or detected at run time with the
///   `std` feature): 16 rows at a time with `VPDPBUSD` (module `x86`).
/// * Cortex-M4/M7/M33 (`cfg(vae_dsp)`): `x` is sign-extended once into packed 16-bit
///   pairs, then four rows per pass with `SMLAD` ([`packed::dot4`], an `asm!` loop on the
///   M4; [`dense_quads`]). Leftover rows go through [`packed::dot3`] (three rows),
///   [`packed::dot2`] (two) and [`dot_ref`] (one); inputs past a multiple of 4 through
///   [`dot_ref`]. Layers wider than [`QUAD_MAX_INPUTS`] inputs take the three-row path.
/// * Other Arm (Cortex-M0): two rows per pass, four inputs per loop iteration
///   ([`dot2_portable`]); the M0 has too few registers for more rows.
/// * Everything else (x86-64 without AVX-512 VNNI, AArch64, wasm): one row at a time in
///   16 vectorizable lanes.
pub fn dense(weights: &[u8], x: &[i8], sink: impl FnMut(i32)) {
    dense_with(accel(), weights, x, sink);
}

/// [`dense`] with the accelerated kernels `accel` (`None`: the portable ones).
pub(crate) fn dense_with(
    accel: Option<Accel>,
    weights: &[u8],
    x: &[i8],
    mut sink: impl FnMut(i32),
) {
    match accel {
        Some(a) => a.dense(weights, x, &mut sink),
        None => dense_portable(weights, x, sink),
    }
}

/// The accelerated kernels the CPU can run: AVX-512 VNNI on x86-64 (`x86::Vnni`: dense
/// rows, hidden layers, the pixel layer); elsewhere an empty type, so that
/// `Option<Accel>` is always `None`.
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::Vnni as Accel;

/// The accelerated kernels the CPU can run: none on this target (an empty type, so
/// `Option<Accel>` is always `None` and the code that uses it compiles away).
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accel {}

#[cfg(not(target_arch = "x86_64"))]
impl Accel {
    pub(crate) fn dense(self, _: &[u8], _: &[i8], _: &mut impl FnMut(i32)) {
        match self {}
    }

    pub(crate) fn hidden(
        self,
        _: &crate::format::Dense<'_>,
        _: &[i8],
        _: &[u8],
        _: i8,
        _: &mut [i8],
    ) -> bool {
        match self {}
    }

    pub(crate) fn pixels(
        self,
        _: &crate::format::Dense<'_>,
        _: &[i8],
        _: &[u8],
        _: &[u8],
        _: &mut [u8; crate::IMAGE_PIXELS],
    ) -> bool {
        match self {}
    }
}

/// The accelerated kernels of this CPU, if any (see [`dense`]).
#[inline]
pub(crate) fn accel() -> Option<Accel> {
    #[cfg(target_arch = "x86_64")]
    {
        x86::Vnni::detect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// [`dense`] without the accelerated kernels: the per-target portable loops.
pub(crate) fn dense_portable(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    let n = x.len();
    if n == 0 {
        return;
    }
    if !cfg!(target_arch = "arm") {
        // Targets with vector units (x86-64, AArch64, wasm): one row at a time in
        // 16 independent lanes, which the compiler vectorizes (about 10x the
        // two-row loop on x86-64). Integer sums are exact in any order.
        for row in weights.chunks_exact(n) {
            sink(dot_wide(row, x));
        }
        return;
    }
    #[cfg(vae_dsp)]
    dense_quads(
        weights,
        x,
        &mut sink,
        packed::dot4,
        packed::dot3,
        packed::dot2,
    );
    #[cfg(not(vae_dsp))]
    dense_pairs(weights, x, &mut sink, dot2_portable);
}

/// Rows two at a time with `dot2`, then a last odd row with [`dot_ref`].
#[inline(always)]
#[cfg_attr(vae_dsp, allow(dead_code))]
fn dense_pairs(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut pairs = weights.chunks_exact(2 * n);
    for pair in pairs.by_ref() {
        if let Some((r0, r1)) = pair.split_at_checked(n) {
            let (a0, a1) = dot2(r0, r1, x);
            sink(a0);
            sink(a1);
        }
    }
    if let Some(row) = pairs.remainder().chunks_exact(n).next() {
        sink(dot_ref(row, x));
    }
}

/// Rows three at a time with `dot3`, the remaining zero to two rows with
/// [`dense_pairs`] (`dot2`, then [`dot_ref`]).
#[inline(always)]
#[cfg_attr(not(any(vae_dsp, test)), allow(dead_code))]
fn dense_triples(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot3: impl Fn([&[u8]; 3], &[i8]) -> [i32; 3],
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut triples = weights.chunks_exact(3 * n);
    for triple in triples.by_ref() {
        let mut rows = triple.chunks_exact(n);
        if let (Some(r0), Some(r1), Some(r2)) = (rows.next(), rows.next(), rows.next()) {
            for acc in dot3([r0, r1, r2], x) {
                sink(acc);
            }
        }
    }
    dense_pairs(triples.remainder(), x, sink, dot2);
}

/// Most inputs [`dense_quads`] takes: its packed copy of `x` lives on the stack (2 bytes
/// per input, 512 bytes here); wider layers take [`dense_triples`].
pub const QUAD_MAX_INPUTS: usize = 256;

/// `x` sign-extended into packed 16-bit pairs, one `[bytes 0 and 2, bytes 1 and 3]` per
/// four inputs (what `SXTB16` and `SXTB16 .., ROR #8` make of the little-endian word).
#[cfg(any(vae_dsp, test))]
type PackedPair = [u32; 2];

/// Rows four at a time with `dot4` over the first `4 * (n / 4)` inputs (pre-extended once
/// per call into [`PackedPair`]s), the last `n % 4` inputs of each row with [`dot_ref`];
/// the remaining zero to three rows with [`dense_triples`]. Layers of more than
/// [`QUAD_MAX_INPUTS`] or fewer than 4 inputs go to [`dense_triples`] entirely.
///
/// `dot4(quad, n, packed)` gets exactly four rows of `n` bytes (`quad.len() == 4 * n`)
/// and `packed.len() <= n / 4` pairs, `packed` non-empty.
#[inline(always)]
#[cfg(any(vae_dsp, test))]
fn dense_quads(
    weights: &[u8],
    x: &[i8],
    sink: &mut impl FnMut(i32),
    dot4: impl Fn(&[u8], usize, &[PackedPair]) -> [i32; 4],
    dot3: impl Fn([&[u8]; 3], &[i8]) -> [i32; 3],
    dot2: impl Fn(&[u8], &[u8], &[i8]) -> (i32, i32),
) {
    let n = x.len();
    let (words, tail_x) = x.as_chunks::<4>();
    if n > QUAD_MAX_INPUTS || words.is_empty() {
        dense_triples(weights, x, sink, dot3, dot2);
        return;
    }
    let mut buffer = [[0u32; 2]; QUAD_MAX_INPUTS / 4];
    for (pair, xs) in buffer.iter_mut().zip(words) {
        *pair = packed::pair(u32::from_le_bytes(xs.map(|b| b as u8)));
    }
    let packed = buffer.get(..words.len()).unwrap_or(&[]);
    let head = 4 * words.len();
    let mut quads = weights.chunks_exact(4 * n);
    for quad in quads.by_ref() {
        let mut acc = dot4(quad, n, packed);
        if !tail_x.is_empty() {
            for (a, row) in acc.iter_mut().zip(quad.chunks_exact(n)) {
                let tail = row.get(head..).unwrap_or(&[]);
                *a = a.wrapping_add(dot_ref(tail, tail_x));
            }
        }
        for a in acc {
            sink(a);
        }
    }
    dense_triples(quads.remainder(), x, sink, dot3, dot2);
}

/// Dot product in [`WIDE_LANES`] independent accumulators (vectorizable).
fn dot_wide(w: &[u8], x: &[i8]) -> i32 {
    let (cw, cx) = (w.chunks_exact(WIDE_LANES), x.chunks_exact(WIDE_LANES));
    let tail = dot_ref(cw.remainder(), cx.remainder());
    let mut acc = [0i32; WIDE_LANES];
    for (a, b) in cw.zip(cx) {
        for ((s, &wi), &xi) in acc.iter_mut().zip(a).zip(b) {
            *s = s.wrapping_add(i32::from(wi as i8) * i32::from(xi));
        }
    }
    acc.iter().fold(tail, |s, &v| s.wrapping_add(v))
}

/// Lanes of [`dot_wide`].
const WIDE_LANES: usize = 16;

/// Two dot products sharing the input vector, four inputs per loop iteration.
#[inline(always)]
#[cfg_attr(vae_dsp, allow(dead_code))]
fn dot2_portable(r0: &[u8], r1: &[u8], x: &[i8]) -> (i32, i32) {
    let mac = |acc: i32, w: u8, x: i8| acc.wrapping_add(i32::from(w as i8) * i32::from(x));
    let (mut a0, mut a1) = (0i32, 0i32);
    let (c0, c1, cx) = (r0.chunks_exact(4), r1.chunks_exact(4), x.chunks_exact(4));
    let (t0, t1, tx) = (c0.remainder(), c1.remainder(), cx.remainder());
    for ((w0, w1), xs) in c0.zip(c1).zip(cx) {
        if let ([p0, p1, p2, p3], [q0, q1, q2, q3], [x0, x1, x2, x3]) = (w0, w1, xs) {
            a0 = mac(mac(mac(mac(a0, *p0, *x0), *p1, *x1), *p2, *x2), *p3, *x3);
            a1 = mac(mac(mac(mac(a1, *q0, *x0), *q1, *x1), *q2, *x2), *q3, *x3);
        }
    }
    for ((&w0, &w1), &xi) in t0.iter().zip(t1).zip(tx) {
        a0 = mac(a0, w0, xi);
        a1 = mac(a1, w1, xi);
    }
    (a0, a1)
}

/// `value / 2^shift`, rounded half away from zero (`shift` above 63 counts as 63).
///
/// Ties go away from zero: `rounding_shift_right(3, 1) == 2`, `rounding_shift_right(-3, 1)
/// == -2`. Computed on the magnitude, so it is symmetric around zero.
pub const fn rounding_shift_right(value: i64, shift: u8) -> i64 {
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
fn quantize_i8_steps(x: f32, scale: f32) -> i8 {
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

/// [`sigmoid_pixel`] for a full table (what a parsed blob has): the same 8 steps, without
/// bounds checks (the probe index is clamped to the table, which it never leaves), and
/// `0` at once for a value below the first threshold (black pixels, the majority of an
/// MNIST digit; the result is the same as the search's).
#[inline(always)]
fn sigmoid_pixel_full(table: &[[u8; 4]; NUM_THRESHOLDS], value: i32) -> u8 {
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

/// The `index`-th little-endian `i32` of `bytes`, if it is there.
pub(crate) fn le_i32_at(bytes: &[u8], index: usize) -> Option<i32> {
    let start = index.checked_mul(4)?;
    match bytes.get(start..start.checked_add(4)?) {
        Some(&[a, b, c, d]) => Some(i32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

/// Little-endian `i32` of a 4-byte chunk (as produced by `chunks_exact(4)`); 0 otherwise.
pub(crate) fn le_i32(chunk: &[u8]) -> i32 {
    match *chunk {
        [a, b, c, d] => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Little-endian `f32` of a 4-byte chunk (as produced by `chunks_exact(4)`); NaN otherwise.
pub(crate) fn le_f32(chunk: &[u8]) -> f32 {
    match *chunk {
        [a, b, c, d] => f32::from_le_bytes([a, b, c, d]),
        _ => f32::NAN,
    }
}

/// AVX-512 VNNI layers: the crate's second `unsafe` exception (loads and stores of
/// vector intrinsics through raw pointers into slices checked in safe code, calls into
/// `#[target_feature]` functions behind a proof of the CPU features).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod x86;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;
    use std::vec::Vec;

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
        use emulated::{smlad, sxtb16, sxtb16_ror8};
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
        let edges = [
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
        for &acc in &edges {
            for &m in &edges {
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

    #[test]
    fn le_helpers() {
        assert_eq!(
            le_i32_at(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 1),
            Some(-1)
        );
        assert_eq!(le_i32_at(&[1, 0, 0, 0, 0xff, 0xff, 0xff], 1), None);
        assert_eq!(le_i32_at(&[], usize::MAX), None);
        assert_eq!(le_i32(&[2, 1, 0, 0]), 258);
        assert_eq!(le_f32(&1.5f32.to_le_bytes()), 1.5);
        assert!(le_f32(&[1, 2]).is_nan());
    }
}

/// The measured hot path on Cortex-M4/M7: packed 16-bit multiply-accumulates.
///
/// Four int8 weights (or inputs) are loaded as one word; `SXTB16` sign-extends bytes 0
/// and 2 (and, rotated by 8, bytes 1 and 3) into two 16-bit lanes; `SMLAD` multiplies
/// both lanes and adds both products to the accumulator. The sums are the same integers
/// as [`dot_ref`] (the blob's validation rules out overflow), so results stay
/// bit-exact; CI checks this under QEMU against the host's golden images, and the host
/// tests run the same code with [`emulated`] instructions.
///
/// [`dot3`](packed::dot3) (three rows per pass, four inputs per iteration): 18
/// instructions per 12 MACs plus 2 of loop control, 1.67 per MAC, against 2.0 for the
/// two-row [`dot2`](packed::dot2) loop (16 per 8 MACs). Measured under QEMU `-icount`
/// on the default blob, the three-row loop alone took the M4 network from 2.76 to 2.54
/// instructions per MAC. The decoder now runs [`dot4`](packed::dot4) (four rows over an
/// `x` extended once per layer, 1.44 per MAC, an `asm!` loop on the M4: 2.24 to 1.92
/// for the network) and keeps `dot3` and `dot2` for leftover rows and wide layers.
#[cfg(any(vae_dsp, test))]
mod packed {
    #[cfg(vae_dsp)]
    use super::dsp::{smlad, sxtb16, sxtb16_ror8};
    #[cfg(not(vae_dsp))]
    use super::emulated::{smlad, sxtb16, sxtb16_ror8};

    /// Four int8 as a little-endian word (0 for a chunk that is not 4 bytes long).
    #[inline(always)]
    fn word(b: &[u8]) -> u32 {
        <[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes)
    }

    /// Four int8 inputs as a little-endian word, split into the packed pairs
    /// (bytes 0 and 2, bytes 1 and 3).
    #[inline(always)]
    fn x_pairs(xs: &[i8]) -> (u32, u32) {
        let xw = <[i8; 4]>::try_from(xs).map_or(0, |v| u32::from_le_bytes(v.map(|b| b as u8)));
        (sxtb16(xw), sxtb16_ror8(xw))
    }

    /// `acc + w · x` for four weights in `w` and the packed input pairs.
    #[inline(always)]
    fn mac4(acc: i32, w: &[u8], (x02, x13): (u32, u32)) -> i32 {
        let w = word(w);
        smlad(sxtb16_ror8(w), x13, smlad(sxtb16(w), x02, acc))
    }

    #[inline(always)]
    fn mac1(acc: i32, w: u8, x: i8) -> i32 {
        acc.wrapping_add(i32::from(w as i8) * i32::from(x))
    }

    /// The packed pairs of four int8 inputs (a little-endian word): `[SXTB16(x),
    /// SXTB16(x, ROR #8)]`.
    #[inline(always)]
    pub(super) fn pair(xw: u32) -> super::PackedPair {
        [sxtb16(xw), sxtb16_ror8(xw)]
    }

    /// Four dot products over the first `4 * packed.len()` inputs: `quad` holds four rows
    /// of `n` bytes, `packed` the inputs as [`pair`]s.
    ///
    /// On the Cortex-M4 this is [`dsp::dot4`](super::dsp::dot4), an `asm!` loop; here
    /// (and as its fallback should its bounds check fail, which [`dense_quads`](super::dense_quads)
    /// rules out) the same loop in Rust: per pair, per row in the order 1, 0, 3, 2, one
    /// weight word, two `SXTB16` and two `SMLAD`, so the host tests run the loop's
    /// arithmetic with the [`emulated`](super::emulated) instructions.
    #[inline(always)]
    pub(super) fn dot4(quad: &[u8], n: usize, packed: &[super::PackedPair]) -> [i32; 4] {
        #[cfg(vae_dsp)]
        if let Some(acc) = super::dsp::dot4(quad, n, packed) {
            return acc;
        }
        let mut acc = [0i32; 4];
        for (i, &[x02, x13]) in packed.iter().enumerate() {
            for r in [1, 0, 3, 2] {
                let at = r * n + 4 * i;
                if let (Some(a), Some(w)) = (acc.get_mut(r), quad.get(at..at + 4)) {
                    *a = mac4(*a, w, (x02, x13));
                }
            }
        }
        acc
    }

    /// Two dot products sharing the input vector, four inputs per iteration.
    #[inline(always)]
    pub(super) fn dot2(r0: &[u8], r1: &[u8], x: &[i8]) -> (i32, i32) {
        let (mut a0, mut a1) = (0i32, 0i32);
        let (c0, c1) = (r0.chunks_exact(4), r1.chunks_exact(4));
        let cx = x.chunks_exact(4);
        let (t0, t1, tx) = (c0.remainder(), c1.remainder(), cx.remainder());
        for ((w0, w1), xs) in c0.zip(c1).zip(cx) {
            let xp = x_pairs(xs);
            a0 = mac4(a0, w0, xp);
            a1 = mac4(a1, w1, xp);
        }
        for ((&w0, &w1), &xi) in t0.iter().zip(t1).zip(tx) {
            a0 = mac1(a0, w0, xi);
            a1 = mac1(a1, w1, xi);
        }
        (a0, a1)
    }

    /// Three dot products sharing the input vector: per four inputs, one load and two
    /// `SXTB16` for `x`, then per row one load, two `SXTB16` and two `SMLAD`.
    ///
    /// Why three rows: the loop then needs 12 registers (3 accumulators, 2 packed input
    /// pairs, 2 temporaries, 4 pointers, a counter), and the M4 has 13 free ones (`r7`
    /// is the frame pointer). Four rows need 14, and LLVM spills accumulators to the
    /// stack (measured: slower than two rows); so does unrolling to eight inputs.
    #[inline(always)]
    pub(super) fn dot3(rows: [&[u8]; 3], x: &[i8]) -> [i32; 3] {
        let [r0, r1, r2] = rows;
        let (mut a0, mut a1, mut a2) = (0i32, 0i32, 0i32);
        let (c0, c1, c2) = (r0.chunks_exact(4), r1.chunks_exact(4), r2.chunks_exact(4));
        let cx = x.chunks_exact(4);
        let (t0, t1, t2) = (c0.remainder(), c1.remainder(), c2.remainder());
        let tx = cx.remainder();
        for (((w0, w1), w2), xs) in c0.zip(c1).zip(c2).zip(cx) {
            let xp = x_pairs(xs);
            a0 = mac4(a0, w0, xp);
            a1 = mac4(a1, w1, xp);
            a2 = mac4(a2, w2, xp);
        }
        for (((&w0, &w1), &w2), &xi) in t0.iter().zip(t1).zip(t2).zip(tx) {
            a0 = mac1(a0, w0, xi);
            a1 = mac1(a1, w1, xi);
            a2 = mac1(a2, w2, xi);
        }
        [a0, a1, a2]
    }
}

/// Bit-exact software models of the three DSP instructions, so that the host tests run
/// [`packed`]'s loops exactly as the Cortex-M4 does.
#[cfg(all(test, not(vae_dsp)))]
mod emulated {
    /// Sign-extends bytes 0 and 2 into the two 16-bit lanes.
    pub(super) fn sxtb16(v: u32) -> u32 {
        let lane = |b: u32| u32::from((b as u8 as i8 as i16) as u16);
        lane(v) | lane(v >> 16) << 16
    }

    /// `sxtb16` of `v` rotated right by 8: bytes 1 and 3.
    pub(super) fn sxtb16_ror8(v: u32) -> u32 {
        sxtb16(v.rotate_right(8))
    }

    /// `acc + lo(a) * lo(b) + hi(a) * hi(b)` on signed 16-bit lanes, wrapping.
    pub(super) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let lo = |v: u32| i32::from(v as u16 as i16);
        let hi = |v: u32| i32::from((v >> 16) as u16 as i16);
        acc.wrapping_add(lo(a) * lo(b)).wrapping_add(hi(a) * hi(b))
    }
}

/// The DSP instructions as one-instruction `asm!` blocks (stable Rust has no DSP
/// intrinsics) and the four-row loop [`dot4`](dsp::dot4): the crate's only `unsafe`.
#[cfg(vae_dsp)]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    #[inline(always)]
    pub(super) fn sxtb16(v: u32) -> u32 {
        let r;
        // SAFETY: a register-only instruction.
        unsafe {
            asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
        };
        r
    }

    #[inline(always)]
    pub(super) fn sxtb16_ror8(v: u32) -> u32 {
        let r;
        // SAFETY: a register-only instruction.
        unsafe {
            asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
        };
        r
    }

    /// [`packed::dot4`](super::packed::dot4) as one `asm!` loop: four rows, four inputs
    /// per iteration; `None` (nothing run) unless `packed` is non-empty, `quad` holds four
    /// rows of `n` bytes and `4 * packed.len() <= n`.
    ///
    /// Per iteration 23 instructions for 16 MACs (1.44 per MAC): one `LDRD` for the two
    /// packed input pairs, per row one `LDR` (post-incremented pointer, or the same
    /// pointer plus `n` for the odd rows), two `SXTB16` and two `SMLAD`, then `CMP` and
    /// `BNE`. It needs 13 registers and `asm!` operands can only get 12 on Thumb (`r0`-`r5`,
    /// `r8`-`r12`, `lr`: `r6` and `r7` are reserved by LLVM), so it saves and restores
    /// `r7` itself. The Rust version of three rows ([`packed::dot3`](super::packed::dot3),
    /// 20 instructions per 12 MACs with `x` extended in the loop) could not go further:
    /// with four rows LLVM spilled accumulators. Measured
    /// under QEMU `-icount` on the default blob: the network went from 608,622 to
    /// 523,592 instructions (2.24 to 1.92 per MAC), the whole digit from 623,153 to
    /// 538,163.
    #[inline(always)]
    pub(super) fn dot4(quad: &[u8], n: usize, packed: &[super::PackedPair]) -> Option<[i32; 4]> {
        let pairs = packed.len();
        // The bounds the loop relies on, checked in safe code: at least one iteration,
        // four whole rows, and every row long enough for `4 * pairs` bytes.
        if pairs == 0 || quad.len() != 4 * n || 4 * pairs > n {
            return None;
        }
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        let row0 = quad.as_ptr();
        let row2 = row0.wrapping_add(2 * n);
        let x = packed.as_ptr();
        let x_end = x.wrapping_add(pairs);
        // SAFETY: reads only: `x .. x_end` is `packed` (8 bytes a pair, `ldrd` with
        // post-increment until `x == x_end`, at least once since `pairs >= 1`); in
        // iteration `i` (0-based) the weight loads read 4 bytes at `row0 + 4i`,
        // `row0 + n + 4i`, `row2 + 4i`, `row2 + n + 4i`, i.e. rows 0..4 of `quad`
        // (`quad.len() == 4n`, `row2 = row0 + 2n`) at offsets `4i + 3 < 4 * pairs <= n`:
        // in bounds. Unaligned `LDR` is allowed on the M4 (and the blob is read as bytes
        // elsewhere); `LDRD` needs 4-byte alignment, which `[u32; 2]` has. `r7` is pushed
        // and popped around the loop (the stack is restored), every other register
        // written is an operand, and the flags are clobbered (no `preserves_flags`).
        unsafe {
            asm!(
                "push {{r7}}",
                "2:",
                "ldrd {xa}, r7, [{x}], #8",
                "ldr {w}, [{row0}, {n}]",
                "sxtb16 {t}, {w}",
                "smlad {a1}, {t}, {xa}, {a1}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a1}, {w}, r7, {a1}",
                "ldr {w}, [{row0}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a0}, {t}, {xa}, {a0}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a0}, {w}, r7, {a0}",
                "ldr {w}, [{row2}, {n}]",
                "sxtb16 {t}, {w}",
                "smlad {a3}, {t}, {xa}, {a3}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a3}, {w}, r7, {a3}",
                "ldr {w}, [{row2}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a2}, {t}, {xa}, {a2}",
                "sxtb16 {w}, {w}, ror #8",
                "smlad {a2}, {w}, r7, {a2}",
                "cmp {x}, {x_end}",
                "bne 2b",
                "pop {{r7}}",
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                row0 = inout(reg) row0 => _,
                row2 = inout(reg) row2 => _,
                x = inout(reg) x => _,
                x_end = in(reg) x_end,
                n = in(reg) n,
                xa = out(reg) _,
                w = out(reg) _,
                t = out(reg) _,
            )
        };
        Some([a0, a1, a2, a3])
    }

    #[inline(always)]
    pub(super) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let r;
        // SAFETY: a register-only instruction (it may set the sticky Q flag, which
        // nothing reads).
        unsafe {
            asm!("smlad {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack))
        };
        r
    }
}
