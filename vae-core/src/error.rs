//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong when reading, writing or running a decoder blob.
///
/// Blob problems are reported once, by [`format::parse`](crate::format::parse) /
/// [`Decoder::from_bytes`](crate::Decoder::from_bytes); after that, decoding only reports
/// problems with its inputs (a non-finite latent, a wrong digit).
///
/// Every message says what to do about it. The enum is `#[non_exhaustive]`: match with a
/// wildcard arm.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first four bytes are not [`format::MAGIC`](crate::format::MAGIC).
    BadMagic,
    /// The blob's major format version is not one this crate reads
    /// ([`format::INT8_MAJOR`](crate::format::INT8_MAJOR) or
    /// [`format::FORMAT_MAJOR`](crate::format::FORMAT_MAJOR)).
    UnsupportedVersion {
        /// Major version stored in the blob.
        found_major: u16,
        /// Newest major version this crate reads
        /// ([`format::FORMAT_MAJOR`](crate::format::FORMAT_MAJOR)).
        supported_major: u16,
    },
    /// The CRC-32 stored at the end of the blob does not match its contents.
    CrcMismatch {
        /// CRC-32 stored in the blob.
        expected: u32,
        /// CRC-32 computed over the blob's bytes.
        computed: u32,
    },
    /// The blob is shorter than its header says.
    Truncated,
    /// The blob's body does not decode, or its fields are inconsistent.
    Malformed {
        /// Which rule the blob breaks.
        what: &'static str,
    },
    /// The blob's shapes do not fit the [`Decoder`](crate::Decoder)'s const generics.
    DimsMismatch {
        /// Which dimension does not fit.
        what: &'static str,
        /// What the `Decoder` type allows.
        expected: usize,
        /// What the blob has.
        found: usize,
    },
    /// A scale or requantization parameter of a layer is zero, negative, non-finite or out
    /// of range (the latent scale counts as layer 0's input scale).
    InvalidScale {
        /// Index of the offending layer (0 = the layer fed by the latent).
        layer: usize,
    },
    /// A latent value passed to decode is NaN or infinite.
    NonFiniteLatent {
        /// Index of the first non-finite value.
        index: usize,
    },
    /// A digit was given, but the model is unconditional.
    NotConditional,
    /// No digit was given, but the model is class-conditional.
    MissingDigit,
    /// The digit is not one of the model's classes.
    InvalidDigit(u8),
    /// A sampling temperature is NaN, infinite or negative.
    InvalidTemperature,
    /// The output buffer given to [`format::encode`](crate::format::encode) is too small.
    BufferTooSmall {
        /// Bytes the encoded blob needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadMagic => f.write_str(
                "not a vae-core decoder blob (bad magic bytes): pass the decoder.bin written by vae-export",
            ),
            Error::UnsupportedVersion {
                found_major,
                supported_major,
            } => write!(
                f,
                "blob format major version {found_major} is not supported (this vae-core reads major \
                 versions {} to {supported_major}): re-export the blob with the vae-export that \
                 matches this vae-core, or upgrade vae-core",
                crate::format::INT8_MAJOR
            ),
            Error::CrcMismatch { expected, computed } => write!(
                f,
                "blob checksum mismatch (stored {expected:#010x}, computed {computed:#010x}): the \
                 blob is corrupted; copy or flash it again, or re-export it with vae-export"
            ),
            Error::Truncated => f.write_str(
                "blob is truncated (shorter than its header says): copy or flash the whole file",
            ),
            Error::Malformed { what } => write!(
                f,
                "blob is malformed ({what}): re-export the blob with vae-export"
            ),
            Error::DimsMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "{what}: the Decoder type allows {expected}, the blob has {found}; set the \
                 Decoder's const generics <LATENT, HIDDEN> to match the blob, e.g. from \
                 vae_core::Shape::of(BLOB)"
            ),
            Error::InvalidScale { layer } => write!(
                f,
                "layer {layer} has an invalid scale or requantization parameter (zero, negative, \
                 non-finite or out of range): re-export the blob with vae-export"
            ),
            Error::InvalidTemperature => f.write_str(
                "the sampling temperature is NaN, infinite or negative: pass a finite value >= 0 \
                 (1.0 samples the blob's prior as trained; below 1 gives cleaner, less varied \
                 digits)",
            ),
            Error::NonFiniteLatent { index } => write!(
                f,
                "latent value z[{index}] is NaN or infinite: pass finite latent values"
            ),
            Error::NotConditional => f.write_str(
                "this model is unconditional: pass no digit (a Request without .digit, None to \
                 decode)",
            ),
            Error::MissingDigit => f.write_str(
                "this model is class-conditional: pass a digit (Request::digit, Some(digit) to \
                 decode)",
            ),
            Error::InvalidDigit(digit) => write!(
                f,
                "digit {digit} is not a class of this model: pass a digit below the model's class \
                 count (Shape::classes, Model::classes(); 0..=9 for MNIST)"
            ),
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer too small for the blob ({needed} bytes needed, {available} \
                 available): size it with format::encoded_len"
            ),
        }
    }
}

impl core::error::Error for Error {}
