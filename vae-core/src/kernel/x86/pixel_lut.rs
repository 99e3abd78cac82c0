//! The host engine's pixel lookup: [`sigmoid_pixel`](crate::kernel::sigmoid_pixel) for 32
//! pixels at a time in about 20 vector instructions, instead of an 8-step search.
//!
//! A pixel is the number of the blob's 255 sorted thresholds `t[0..255]` at or below its
//! requantized logit `v`. Clamping `v` to `t[0] - 1 ..= t[254]` changes no count, and
//! the default blob's thresholds span ±25,800 (logits at `2^-12`), so `w = v - (t[0] - 1)`
//! fits 16 bits and 32 pixels share one register. Then, per pixel:
//!
//! 1. **Estimate.** `w`'s bucket `c = w >> S` (at most 64 buckets, `S` fixed per table)
//!    indexes two 64-entry tables (`VPERMI2W`): `start[c]` and `slope[c]`. The estimate
//!    `q = start[c] + ((w << (16 - S)) * slope[c] >> 16 >> 8)` interpolates the count
//!    linearly inside the bucket (the shift left keeps only `w`'s offset in it).
//! 2. **Correct.** The tables are fitted so that `q` is the count or one more, for every
//!    `w`. One threshold decides which: `next[q] = t[q - 1] - (t[0] - 1)` (`65535` for
//!    `q = 256`, read as `next[0]`), a 256-entry table read with four `VPERMI2W` and two
//!    blends, and the pixel is `q - min(next[q] -sat w, 1)`.
//!
//! [`PixelLut::new`] fits the tables bucket by bucket and then checks every `w` of the
//! range against the exact count with a scalar model of the same integer steps
//! ([`PixelLut::pixel`]); a table it cannot fit (a range past 16 bits, a curve too steep
//! for a bucket) gets no lookup, and the engine searches as the `Decoder` does. The
//! counts of `round(255 sigmoid)` rise by at most 16 per bucket of 1024 (0.25 in logit)
//! and bend little inside one, so the default thresholds fit with room to spare.

use core::arch::x86_64::*;
use std::vec::Vec;

use super::{BLOCK, PIXEL_BLOCKS};
use crate::IMAGE_PIXELS;
use crate::format::NUM_THRESHOLDS;

/// Buckets one `VPERMI2W` indexes (two registers of 32 words).
const BUCKETS: usize = 64;

/// Entries of the correcting table (`q` is 1 to 256, read modulo 256).
const NEXT: usize = 256;

/// Fraction bits of a bucket's slope (pixels per bucket, times 256).
const SLOPE_BITS: u32 = 8;

/// The widest range `t[254] - (t[0] - 1)`: `65535` is the sentinel no `w` reaches.
const MAX_RANGE: i64 = u16::MAX as i64 - 1;

/// `N` words, aligned for a 64-byte load of each 32.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Words<const N: usize>([u16; N]);

/// The fitted lookup of one threshold table.
pub(crate) struct PixelLut {
    /// `t[0] - 1`: values are clamped to `low ..= high` and offset by `low`.
    low: i32,
    /// `t[254]`.
    high: i32,
    /// `S`: buckets are `2^S` values wide.
    shift: u32,
    /// `start[c]`, the estimate at the bucket's first value.
    start: Words<BUCKETS>,
    /// `slope[c]`, the rise over a whole bucket in 1/256 pixel.
    slope: Words<BUCKETS>,
    /// `next[q % 256]`: the threshold that tells `q` from `q - 1`.
    next: Words<NEXT>,
}

impl PixelLut {
    /// The lookup of `table` (255 little-endian `i32`), or `None` when the thresholds are
    /// not sorted, span more than 16 bits, or cannot be fitted exactly.
    pub(crate) fn new(table: &[u8; 4 * NUM_THRESHOLDS]) -> Option<Self> {
        let Counts { low, high, counts } = Counts::new(table)?;
        let range = counts.len().checked_sub(1)?;
        let shift = (0..=16).find(|&s| (range >> s) < BUCKETS)?;
        let mut lut = PixelLut {
            low,
            high,
            shift,
            start: Words([0; BUCKETS]),
            slope: Words([0; BUCKETS]),
            next: Words([u16::MAX; NEXT]),
        };
        for (q, slot) in lut.next.0.iter_mut().enumerate().skip(1) {
            let t = i32::from_le_bytes(*table.as_chunks::<4>().0.get(q - 1)?);
            *slot = u16::try_from(i64::from(t) - i64::from(low)).ok()?;
        }
        for (c, bucket) in counts.chunks(1 << shift).enumerate() {
            (*lut.start.0.get_mut(c)?, *lut.slope.0.get_mut(c)?) = fit(bucket, shift)?;
        }
        // The whole range through the scalar model of the vector steps.
        let exact = counts
            .iter()
            .enumerate()
            .all(|(w, &count)| lut.pixel(w as u16) == count);
        exact.then_some(lut)
    }

    /// The clamp bounds of the values [`pixels`](Self::pixels) takes.
    pub(crate) fn bounds(&self) -> (i64, i64) {
        (i64::from(self.low), i64::from(self.high))
    }

    /// The scalar model of one lane of [`Tables::lookup`], for `w = v - low`.
    fn pixel(&self, w: u16) -> u8 {
        let c = usize::from(w >> self.shift) % BUCKETS;
        let offset = (u32::from(w) << (16 - self.shift)) & 0xFFFF;
        let inc = ((offset * u32::from(self.slope.0[c])) >> 16 >> SLOPE_BITS) as u16;
        let q = self.start.0[c].wrapping_add(inc);
        let next = self.next.0[usize::from(q) % NEXT];
        q.wrapping_sub(next.saturating_sub(w).min(1)) as u8
    }

    /// The pixels of `values` (block `b` in `values[b]`, every lane already clamped to
    /// [`bounds`](Self::bounds)).
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(crate) fn pixels(&self, values: &[__m512i; PIXEL_BLOCKS], out: &mut [u8; IMAGE_PIXELS]) {
        let tables = Tables::load(self);
        // 784 pixels: 24 pairs of blocks, then one block.
        let (pairs, [last]) = values.as_chunks::<2>() else {
            return;
        };
        let (dsts, tail) = out.as_chunks_mut::<{ 2 * BLOCK }>();
        for (dst, &[a, b]) in dsts.iter_mut().zip(pairs) {
            let p = _mm512_cvtepi16_epi8(tables.lookup(tables.offset(a, b)));
            // SAFETY: writes exactly the 32 bytes of `dst`.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), p) };
        }
        let p = _mm512_cvtepi16_epi8(tables.lookup(tables.offset(*last, *last)));
        if let Some(dst) = tail.first_chunk_mut::<BLOCK>() {
            // SAFETY: writes exactly the 16 bytes of `dst`.
            unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm256_castsi256_si128(p)) };
        }
    }
}

/// Every pixel of a sorted threshold table whose range fits 16 bits: `counts[w]` is the
/// number of thresholds at or below `low + w`, for `low = t[0] - 1 ..= high = t[254]`
/// (values past either end are clamped to it without changing their pixel). Shared by
/// [`PixelLut`] and the AVX2 engine's direct table.
pub(crate) struct Counts {
    /// `t[0] - 1`.
    pub(crate) low: i32,
    /// `t[254]`.
    pub(crate) high: i32,
    /// `counts[w]` for `w` in `0 ..= high - low`.
    pub(crate) counts: Vec<u8>,
}

impl Counts {
    /// The counts of `table` (255 little-endian `i32`), or `None` when the thresholds are
    /// not sorted or span more than 65,534.
    pub(crate) fn new(table: &[u8; 4 * NUM_THRESHOLDS]) -> Option<Self> {
        let (low, high) = crate::kernel::pixel_range(table)?;
        let range = i64::from(high) - i64::from(low);
        if range > MAX_RANGE {
            return None;
        }
        let mut counts = std::vec![0u8; usize::try_from(range).ok()? + 1];
        crate::kernel::fill_pixel_table(table, &mut counts)?;
        Some(Counts { low, high, counts })
    }
}

/// A bucket's `(start, slope)`: `q = start + inc(w)` must be the count or one more (and
/// at least 1) at every value of `counts`. Tries slopes outward from the bucket's average
/// rise; `None` if none fits.
fn fit(counts: &[u8], shift: u32) -> Option<(u16, u16)> {
    let inc = |offset: usize, slope: u32| {
        ((((offset as u32) << (16 - shift)) & 0xFFFF) * slope) >> 16 >> SLOPE_BITS
    };
    let (first, last) = (i64::from(*counts.first()?), i64::from(*counts.last()?));
    let width = (1i64 << shift).max(1);
    let ideal = ((last - first) << SLOPE_BITS) * width / (counts.len() as i64).max(1);
    for step in 0..=64i64 {
        for slope in [ideal + 8 * step, ideal - 8 * step] {
            let Ok(slope) = u16::try_from(slope) else {
                continue;
            };
            // start + inc in [max(count, 1), count + 1] for every value.
            let (mut lo, mut hi) = (i64::MIN, i64::MAX);
            for (offset, &count) in counts.iter().enumerate() {
                let inc = i64::from(inc(offset, u32::from(slope)));
                lo = lo.max(i64::from(count.max(1)) - inc);
                hi = hi.min(i64::from(count) + 1 - inc);
            }
            if lo <= hi {
                return Some((u16::try_from(lo).ok()?, slope));
            }
        }
    }
    None
}

/// A [`PixelLut`]'s tables in registers, for one image.
struct Tables {
    low: __m512i,
    shift: __m128i,
    up: __m128i,
    start: [__m512i; 2],
    slope: [__m512i; 2],
    next: [__m512i; NEXT / 32],
}

impl Tables {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn load(lut: &PixelLut) -> Self {
        // SAFETY (each load): 64 bytes inside a 64-byte aligned `Words`.
        let load = |w: &[u16]| unsafe { _mm512_load_si512(w.as_ptr().cast()) };
        let (start, _) = lut.start.0.as_chunks::<32>();
        let (slope, _) = lut.slope.0.as_chunks::<32>();
        let (next, _) = lut.next.0.as_chunks::<32>();
        Tables {
            low: _mm512_set1_epi16(lut.low as i16),
            shift: _mm_cvtsi32_si128(lut.shift as i32),
            up: _mm_cvtsi32_si128(16 - lut.shift as i32),
            start: core::array::from_fn(|k| load(&start[k])),
            slope: core::array::from_fn(|k| load(&slope[k])),
            next: core::array::from_fn(|k| load(&next[k])),
        }
    }

    /// `w = v - low` of two blocks' clamped values, 32 words (`v` fits `low ..= low +
    /// 65534`, so the low 16 bits suffice).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn offset(&self, a: __m512i, b: __m512i) -> __m512i {
        let v = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm512_cvtepi32_epi16(a)),
            _mm512_cvtepi32_epi16(b),
        );
        _mm512_sub_epi16(v, self.low)
    }

    /// [`PixelLut::pixel`] of 32 lanes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn lookup(&self, w: __m512i) -> __m512i {
        let c = _mm512_srl_epi16(w, self.shift);
        let start = _mm512_permutex2var_epi16(self.start[0], c, self.start[1]);
        let slope = _mm512_permutex2var_epi16(self.slope[0], c, self.slope[1]);
        let offset = _mm512_sll_epi16(w, self.up);
        let q = _mm512_add_epi16(
            start,
            _mm512_srli_epi16::<SLOPE_BITS>(_mm512_mulhi_epu16(offset, slope)),
        );
        let n = &self.next;
        let quarter = |k: usize| _mm512_permutex2var_epi16(n[2 * k], q, n[2 * k + 1]);
        let bit6 = _mm512_test_epi16_mask(q, _mm512_set1_epi16(64));
        let bit7 = _mm512_test_epi16_mask(q, _mm512_set1_epi16(128));
        let next = _mm512_mask_blend_epi16(
            bit7,
            _mm512_mask_blend_epi16(bit6, quarter(0), quarter(1)),
            _mm512_mask_blend_epi16(bit6, quarter(2), quarter(3)),
        );
        let below = _mm512_min_epu16(_mm512_subs_epu16(next, w), _mm512_set1_epi16(1));
        _mm512_sub_epi16(q, below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;
    use crate::format::pixel_thresholds;
    use crate::kernel::sigmoid_pixel;
    use crate::kernel::x86::Vnni;

    fn bytes_of(t: &[i32]) -> [u8; 4 * NUM_THRESHOLDS] {
        let mut out = [0u8; 4 * NUM_THRESHOLDS];
        for (d, v) in out.chunks_exact_mut(4).zip(t) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Every value in `probes` through the vector lookup (784 at a time, clamped to the
    /// lookup's bounds as the engine does) against `sigmoid_pixel` of the raw value.
    fn check(lut: &PixelLut, table: &[u8; 4 * NUM_THRESHOLDS], probes: &[i32]) {
        let (lo, hi) = lut.bounds();
        for image in probes.chunks(IMAGE_PIXELS) {
            let mut lanes = [0i32; IMAGE_PIXELS];
            for (l, &v) in lanes.iter_mut().zip(image) {
                *l = i64::from(v).clamp(lo, hi) as i32;
            }
            let (blocks, _) = lanes.as_chunks::<BLOCK>();
            // SAFETY: the callers checked the CPU's features.
            let values: [__m512i; PIXEL_BLOCKS] =
                core::array::from_fn(|b| unsafe { _mm512_loadu_si512(blocks[b].as_ptr().cast()) });
            let mut out = [0u8; IMAGE_PIXELS];
            // SAFETY: as above.
            unsafe { lut.pixels(&values, &mut out) };
            for (k, &v) in image.iter().enumerate() {
                assert_eq!(out[k], sigmoid_pixel(table, v), "value {v} (lane {k})");
            }
        }
    }

    /// All values of the range and a margin around it, plus the `i32` extremes.
    fn sweep(t: &[i32]) -> Vec<i32> {
        let (first, last) = (t[0], t[NUM_THRESHOLDS - 1]);
        let mut probes: Vec<i32> = (first.saturating_sub(300)..=last.saturating_add(300)).collect();
        probes.extend([i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1]);
        probes
    }

    /// The exporter's thresholds fit (else the engine would silently lose its fast path),
    /// at the default logit scale and coarser ones, and every value maps to the pixel of
    /// the scalar search.
    #[test]
    fn lookup_matches_sigmoid_pixel_on_exporter_tables() {
        if Vnni::detect().is_none() {
            std::eprintln!("lookup_matches_sigmoid_pixel_on_exporter_tables: no AVX-512; skipped");
            return;
        }
        for scale in [
            1.0 / 5000.0,
            1.0 / 4096.0,
            1.0 / 2048.0,
            1.0 / 1024.0,
            1.0 / 256.0,
        ] {
            let t = pixel_thresholds(scale).unwrap();
            let table = bytes_of(&t);
            let lut = PixelLut::new(&table).unwrap_or_else(|| panic!("no lookup at {scale}"));
            check(&lut, &table, &sweep(&t));
        }
    }

    /// Tables the lookup must refuse: unsorted, wider than 16 bits, or starting at
    /// `i32::MIN` (no room for the black value below).
    #[test]
    fn lookup_refuses_unfit_tables() {
        let mut t = pixel_thresholds(1.0 / 4096.0).unwrap();
        assert!(PixelLut::new(&bytes_of(&t)).is_some());
        t.swap(10, 11);
        assert!(PixelLut::new(&bytes_of(&t)).is_none(), "unsorted");
        let wide = pixel_thresholds(1.0 / 8192.0).unwrap();
        assert!(wide[NUM_THRESHOLDS - 1] - wide[0] > 65534);
        assert!(
            PixelLut::new(&bytes_of(&wide)).is_none(),
            "wider than 16 bits"
        );
        let mut edge = [0i32; NUM_THRESHOLDS];
        edge[0] = i32::MIN;
        assert!(PixelLut::new(&bytes_of(&edge)).is_none(), "t[0] = i32::MIN");
    }

    /// Exporter-like tables at random scales and offsets, jittered by a unit, some with
    /// three equal thresholds in the middle (a jump the fit may refuse): whichever table
    /// the fit takes must be exact, and every jittered table within 16 bits is taken.
    #[test]
    fn lookup_is_exact_on_perturbed_tables() {
        if Vnni::detect().is_none() {
            std::eprintln!("lookup_is_exact_on_perturbed_tables: no AVX-512; skipped");
            return;
        }
        let mut rng = Rng::new(21);
        for case in 0..24 {
            let scale = 1.0 / f64::from(300 + rng.next_u32() % 5700);
            let shift = (rng.next_u32() as i32) >> 2;
            let mut t: Vec<i32> = pixel_thresholds(scale)
                .unwrap()
                .iter()
                .map(|&v| v.wrapping_add(shift) + (rng.next_u32() % 2) as i32)
                .collect();
            let repeats = case % 2 == 0;
            if repeats {
                t[100] = t[99];
                t[101] = t[99];
            }
            t.sort_unstable();
            let table = bytes_of(&t);
            match PixelLut::new(&table) {
                Some(lut) => check(&lut, &table, &sweep(&t)),
                None => assert!(
                    repeats || i64::from(t[NUM_THRESHOLDS - 1]) - i64::from(t[0]) >= MAX_RANGE,
                    "case {case}: scale {scale} not fitted"
                ),
            }
        }
    }
}
