//! Little-endian readers for the blob's byte arrays: the format and the kernels read
//! `i32`/`f32` values with them, without alignment and without panicking.

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

/// Little-endian IEEE-754 binary16 of a 2-byte chunk, as the `f32` of the same value
/// (every `f16` is exactly an `f32`: subnormals, infinities and NaN included); NaN
/// otherwise.
pub(crate) fn le_f16(chunk: &[u8]) -> f32 {
    let [a, b] = *chunk else {
        return f32::NAN;
    };
    let h = u32::from(u16::from_le_bytes([a, b]));
    let sign = (h & 0x8000) << 16;
    let exponent = (h >> 10) & 0x1F;
    let mantissa = h & 0x3FF;
    let magnitude = match exponent {
        // Zero and subnormals: mantissa * 2^-24, exact in f32.
        0 => f32::from_bits(0x3380_0000) * mantissa as f32,
        // Infinity and NaN (the payload moved to the f32 mantissa's top bits).
        0x1F => f32::from_bits(0x7F80_0000 | mantissa << 13),
        // Normal numbers: rebias the exponent (15 -> 127).
        _ => f32::from_bits((exponent + 112) << 23 | mantissa << 13),
    };
    f32::from_bits(sign | magnitude.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every one of the 65,536 half-precision bit patterns against the `half` crate
    /// (NaNs as NaNs with the same sign).
    #[test]
    fn le_f16_matches_half_for_every_value() {
        for bits in 0..=u16::MAX {
            let want = half::f16::from_bits(bits).to_f32();
            let got = le_f16(&bits.to_le_bytes());
            if want.is_nan() {
                assert!(got.is_nan() && got.is_sign_negative() == want.is_sign_negative());
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "f16 bits {bits:#06x}");
            }
        }
        assert!(le_f16(&[1]).is_nan());
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
