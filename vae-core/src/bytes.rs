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

#[cfg(test)]
mod tests {
    use super::*;

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
