//! [`Shape`]: a blob's sizes, read by a `const fn`, so that firmware sizes its
//! [`Decoder`](crate::Decoder) from `include_bytes!` at compile time, without a build
//! script.
//!
//! The reader walks the blob's header and the postcard body far enough to see the
//! latent size and every layer's shape (skipping the byte arrays by their length
//! prefixes). It does not check the CRC, scales or values:
//! [`Decoder::from_bytes`](crate::Decoder::from_bytes) does every check at run time,
//! once.

use crate::IMAGE_PIXELS;
use crate::error::Error;
use crate::format::{CRC_LEN, FORMAT_MAJOR, HEADER_LEN, INT8_MAJOR, MAGIC, MAX_LAYERS};

/// Bytes of stack a decode needs besides its two activation buffers and the latent:
/// call frames, the Cortex-M4 kernel's packed copy of a layer's input (512 bytes) and
/// small change. Measured on the Cortex-M firmware in CI (QEMU, stack painting), with
/// headroom.
const DECODE_OVERHEAD_BYTES: usize = 1280;

/// The sizes of a blob that a [`Decoder`](crate::Decoder) type and its caller need.
///
/// ```
/// use vae_core::{Decoder, Shape};
///
/// static BLOB: &[u8] = include_bytes!("../../examples/models/decoder.bin");
/// const SHAPE: Shape = Shape::of(BLOB); // a bad blob fails the build here
///
/// let decoder = Decoder::<{ SHAPE.latent }, { SHAPE.hidden }>::from_bytes(BLOB)?;
/// assert_eq!((SHAPE.latent, SHAPE.hidden), (20, 256));
/// # let _ = decoder;
/// # Ok::<(), vae_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Latent dimension: `Decoder`'s `LATENT`.
    pub latent: usize,
    /// Widest hidden layer (every layer but the last): `Decoder`'s `HIDDEN`. 0 for a
    /// one-layer model.
    pub hidden: usize,
    /// Number of dense layers.
    pub layers: usize,
    /// Classes of a conditional blob (a digit is needed); 0 for an unconditional one.
    pub classes: usize,
    /// Multiply-accumulates per decoded digit: `sum of in_dim * out_dim` over the layers.
    pub macs: usize,
    /// Upper bound of the stack one integer decode needs (`Decoder::generate`,
    /// `decode`, `decode_quantized`) on a microcontroller: the two `[i8; HIDDEN]`
    /// activation buffers, the latent as `f32` and `i8`, and the kernels' frames. The
    /// float reference path and the x86-64 AVX-512 kernels need more (host only).
    pub stack_bytes: usize,
}

/// A cursor over the blob's body for the `const` reader.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    end: usize,
}

impl Cursor<'_> {
    const fn byte(&mut self) -> Result<u8, Error> {
        if self.at >= self.end {
            return Err(Error::Truncated);
        }
        let b = self.bytes[self.at];
        self.at += 1;
        Ok(b)
    }

    /// A postcard varint (LEB128) of at most 64 bits.
    const fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let b = match self.byte() {
                Ok(b) => b,
                Err(e) => return Err(e),
            };
            if shift >= 64 {
                return Err(MALFORMED_VARINT);
            }
            value |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A dimension: a varint that fits the format's `u16` (the parser's type), so that
    /// products of two fit `usize` on every target.
    const fn dim(&mut self) -> Result<usize, Error> {
        match self.varint() {
            Ok(n) if n <= u16::MAX as u64 => Ok(n as usize),
            Ok(_) => Err(Error::Malformed {
                what: "a dimension in the body is larger than 65,535",
            }),
            Err(e) => Err(e),
        }
    }

    const fn skip(&mut self, n: u64) -> Result<(), Error> {
        if n > (self.end - self.at) as u64 {
            return Err(Error::Truncated);
        }
        self.at += n as usize;
        Ok(())
    }

    /// Skips a postcard byte string (varint length, then the bytes).
    const fn skip_bytes(&mut self) -> Result<(), Error> {
        match self.varint() {
            Ok(n) => self.skip(n),
            Err(e) => Err(e),
        }
    }
}

const MALFORMED_VARINT: Error = Error::Malformed {
    what: "a varint in the body is longer than 64 bits",
};

/// `?` for `const fn`s.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

impl Shape {
    /// The shape of `blob`, for a `const`: `const SHAPE: Shape = Shape::of(BLOB);`.
    ///
    /// # Panics
    ///
    /// When [`read`](Self::read) fails; in a `const` that is a build error whose message
    /// names the problem (not a blob, another format version, truncated, inconsistent
    /// shapes):
    ///
    /// ```compile_fail
    /// const SHAPE: vae_core::Shape = vae_core::Shape::of(b"not a decoder blob");
    /// ```
    pub const fn of(blob: &[u8]) -> Shape {
        match Self::read(blob) {
            Ok(shape) => shape,
            Err(Error::BadMagic) => {
                panic!(
                    "vae-core: not a decoder blob (bad magic): include the decoder.bin written by vae-export"
                )
            }
            Err(Error::UnsupportedVersion { .. }) => {
                panic!(
                    "vae-core: the blob's major format version is not one this crate reads: re-export it with vae-export"
                )
            }
            Err(Error::Truncated) => {
                panic!("vae-core: the blob is truncated (shorter than its header says)")
            }
            Err(Error::Malformed { what }) => panic!("{}", what),
            Err(_) => panic!("vae-core: the blob cannot be read"),
        }
    }

    /// The shape of `blob`: its header (magic, major version, length) and the layer
    /// shapes of its body, checked for consistency (`in_dim` of each layer is the
    /// previous `out_dim`, the first is the latent size, the last `out_dim` is 784, 1 to
    /// 8 layers). The CRC and the values are checked by
    /// [`Decoder::from_bytes`](crate::Decoder::from_bytes), not here.
    pub const fn read(blob: &[u8]) -> Result<Shape, Error> {
        if blob.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if blob[0] != MAGIC[0] || blob[1] != MAGIC[1] || blob[2] != MAGIC[2] || blob[3] != MAGIC[3]
        {
            return Err(Error::BadMagic);
        }
        let major = u16::from_le_bytes([blob[4], blob[5]]);
        if major != FORMAT_MAJOR && major != INT8_MAJOR {
            return Err(Error::UnsupportedVersion {
                found_major: major,
                supported_major: FORMAT_MAJOR,
            });
        }
        let body_len = u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
        if blob.len() - HEADER_LEN < body_len || blob.len() - HEADER_LEN - body_len < CRC_LEN {
            return Err(Error::Truncated);
        }
        let mut c = Cursor {
            bytes: blob,
            at: HEADER_LEN,
            end: HEADER_LEN + body_len,
        };
        // Model.kind
        let classes = match tri!(c.varint()) {
            0 => 0,
            1 => {
                let classes = tri!(c.byte()) as usize;
                tri!(c.skip_bytes()); // class_bias
                classes
            }
            _ => return Err(malformed("unknown model kind")),
        };
        let latent = tri!(c.dim());
        if latent == 0 {
            return Err(malformed("the latent dimension is 0"));
        }
        let layers = tri!(c.varint()) as usize;
        if layers == 0 || layers > MAX_LAYERS {
            return Err(malformed("the model has no layers or more than 8"));
        }
        let (mut expected_in, mut hidden, mut macs, mut k) = (latent, 0, 0, 0);
        while k < layers {
            let in_dim = tri!(c.dim());
            let out_dim = tri!(c.dim());
            if in_dim != expected_in || out_dim == 0 {
                return Err(malformed(
                    "a layer's in_dim is not the previous layer's out_dim (or the latent size)",
                ));
            }
            // input_scale (f32), input_zero_point (i8), output_scale (f32)
            tri!(c.skip(4 + 1 + 4));
            // weights, weight_scales, bias, multipliers, shifts
            let mut array = 0;
            while array < 5 {
                tri!(c.skip_bytes());
                array += 1;
            }
            if k + 1 < layers && out_dim > hidden {
                hidden = out_dim;
            }
            // At most 8 x 65,535^2: saturates rather than wraps where `usize` is 32 bits.
            macs = usize::saturating_add(macs, in_dim * out_dim);
            expected_in = out_dim;
            k += 1;
        }
        if expected_in != IMAGE_PIXELS {
            return Err(malformed("the last layer does not have 784 outputs"));
        }
        Ok(Shape {
            latent,
            hidden,
            layers,
            classes,
            macs,
            stack_bytes: stack_bytes(latent, hidden),
        })
    }
}

/// See [`Shape::stack_bytes`].
pub(crate) const fn stack_bytes(latent: usize, hidden: usize) -> usize {
    2 * hidden + 5 * latent + DECODE_OVERHEAD_BYTES
}

const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecoderCore;
    use crate::testing::QuantizedMlp;
    use std::vec;

    const DEFAULT: &[u8] = include_bytes!("../../examples/models/decoder.bin");
    const SMALL: &[u8] = include_bytes!("../../examples/models/decoder-small.bin");

    #[test]
    fn committed_blobs_at_compile_time() {
        const S: Shape = Shape::of(DEFAULT);
        assert_eq!((S.latent, S.hidden, S.layers, S.classes), (20, 256, 3, 0));
        assert_eq!(S.macs, 20 * 256 + 256 * 256 + 256 * 784);
        assert_eq!(S.stack_bytes, 2 * 256 + 5 * 20 + DECODE_OVERHEAD_BYTES);
        const T: Shape = Shape::of(SMALL);
        assert_eq!((T.latent, T.hidden, T.layers), (20, 128, 2));
    }

    /// The `const` reader agrees with the full parser on random models of every kind.
    #[test]
    fn agrees_with_the_parser() {
        let models = [
            QuantizedMlp::random(1, 3, &[7, 40, 9], None),
            QuantizedMlp::random(2, 5, &[], Some(10)),
            QuantizedMlp::random(3, 1, &[300], Some(3)),
        ];
        for q in models {
            let blob = q.blob();
            let core = DecoderCore::from_bytes(&blob).unwrap();
            assert_eq!(Shape::read(&blob), Ok(core.shape()));
        }
    }

    #[test]
    fn header_errors_match_the_parser() {
        let blob = DEFAULT;
        for cut in [0, 5, 11, 12, 40, blob.len() - 5] {
            assert_eq!(
                Shape::read(&blob[..cut]),
                Err(Error::Truncated),
                "cut {cut}"
            );
        }
        let mut bad = blob.to_vec();
        bad[0] = b'X';
        assert_eq!(Shape::read(&bad), Err(Error::BadMagic));
        let mut bad = blob.to_vec();
        bad[4] = 9;
        assert!(matches!(
            Shape::read(&bad),
            Err(Error::UnsupportedVersion { found_major: 9, .. })
        ));
        // A body that breaks the shape rules: the latent dimension (byte 13, a one-byte
        // varint after the model kind) no longer matches the first layer.
        let mut bad = blob.to_vec();
        bad[13] = 19;
        assert!(matches!(Shape::read(&bad), Err(Error::Malformed { .. })));
    }

    /// Every prefix and every single-byte change of a small blob: an answer, never a
    /// panic, and the parser never accepts what the shape reader rejects.
    /// A dimension past the format's `u16` is refused, not truncated: the default blob
    /// with its latent size written as `2^32 + 20` (which a 32-bit `usize` would read as
    /// 20, the blob's own).
    #[test]
    fn dimensions_past_u16_are_malformed() {
        let body_len = u32::from_le_bytes(DEFAULT[8..12].try_into().unwrap()) as usize;
        let body = &DEFAULT[HEADER_LEN..HEADER_LEN + body_len];
        assert_eq!(&body[..2], &[0, 20]); // unconditional, latent 20
        let mut blob = DEFAULT[..HEADER_LEN].to_vec();
        let mut new_body = vec![0u8];
        new_body.extend([0x94, 0x80, 0x80, 0x80, 0x10]); // 2^32 + 20 as a varint
        new_body.extend(&body[2..]);
        blob[8..12].copy_from_slice(&(new_body.len() as u32).to_le_bytes());
        blob.extend(&new_body);
        blob.extend([0; CRC_LEN]);
        assert!(matches!(Shape::read(&blob), Err(Error::Malformed { .. })));
        // Written as the 5-byte varint of 20 itself, it reads as before.
        blob[HEADER_LEN + 1..HEADER_LEN + 6].copy_from_slice(&[0x94, 0x80, 0x80, 0x80, 0x00]);
        assert_eq!(Shape::read(&blob), Shape::read(DEFAULT));
    }

    #[test]
    fn never_panics_on_corrupt_bodies() {
        let blob = QuantizedMlp::random(4, 2, &[8], Some(10)).blob();
        for cut in 0..blob.len() {
            let _ = Shape::read(&blob[..cut]);
        }
        for at in 0..blob.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = blob.clone();
                bad[at] ^= flip;
                let shape = Shape::read(&bad);
                if crate::format::parse(&bad).is_ok() {
                    assert!(shape.is_ok(), "byte {at} ^ {flip:#x}");
                }
            }
        }
    }
}
