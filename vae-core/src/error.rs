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

/// A piece of an [`Error`]'s message, from [`Error::message_parts`]: text, or a number
/// to print in decimal or as `0x` and eight hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessagePart {
    /// Text as it is.
    Text(&'static str),
    /// An unsigned integer in decimal.
    Decimal(u64),
    /// A 32-bit value as `0x` and eight lowercase hex digits (a CRC-32).
    Hex32(u32),
}

impl Error {
    /// The message [`Display`](fmt::Display) prints, as pieces handed to `part` in order:
    /// for writers that do without `core::fmt` (the web page's module is about 4 KB
    /// smaller without it). `Display` is built on this, so the two never differ.
    pub fn message_parts(&self, mut part: impl FnMut(MessagePart)) {
        use MessagePart::{Decimal, Hex32, Text};
        let mut text = |s| part(Text(s));
        match *self {
            Error::BadMagic => text(
                "not a vae-core decoder blob (bad magic bytes): pass the decoder.bin written by vae-export",
            ),
            Error::UnsupportedVersion {
                found_major,
                supported_major,
            } => {
                part(Text("blob format major version "));
                part(Decimal(found_major.into()));
                part(Text(
                    " is not supported (this vae-core reads major versions ",
                ));
                part(Decimal(crate::format::INT8_MAJOR.into()));
                part(Text(" to "));
                part(Decimal(supported_major.into()));
                part(Text(
                    "): re-export the blob with the vae-export that matches this vae-core, or \
                     upgrade vae-core",
                ));
            }
            Error::CrcMismatch { expected, computed } => {
                part(Text("blob checksum mismatch (stored "));
                part(Hex32(expected));
                part(Text(", computed "));
                part(Hex32(computed));
                part(Text(
                    "): the blob is corrupted; copy or flash it again, or re-export it with \
                     vae-export",
                ));
            }
            Error::Truncated => text(
                "blob is truncated (shorter than its header says): copy or flash the whole file",
            ),
            Error::Malformed { what } => {
                part(Text("blob is malformed ("));
                part(Text(what));
                part(Text("): re-export the blob with vae-export"));
            }
            Error::DimsMismatch {
                what,
                expected,
                found,
            } => {
                part(Text(what));
                part(Text(": the Decoder type allows "));
                part(Decimal(expected as u64));
                part(Text(", the blob has "));
                part(Decimal(found as u64));
                part(Text(
                    "; set the Decoder's const generics <LATENT, HIDDEN> to match the blob, \
                     e.g. from vae_core::Shape::of(BLOB)",
                ));
            }
            Error::InvalidScale { layer } => {
                part(Text("layer "));
                part(Decimal(layer as u64));
                part(Text(
                    " has an invalid scale or requantization parameter (zero, negative, \
                     non-finite or out of range): re-export the blob with vae-export",
                ));
            }
            Error::InvalidTemperature => text(
                "the sampling temperature is NaN, infinite or negative: pass a finite value >= 0 \
                 (1.0 samples the blob's prior as trained; below 1 gives cleaner, less varied \
                 digits)",
            ),
            Error::NonFiniteLatent { index } => {
                part(Text("latent value z["));
                part(Decimal(index as u64));
                part(Text("] is NaN or infinite: pass finite latent values"));
            }
            Error::NotConditional => text(
                "this model is unconditional: pass no digit (a Request without .digit, None to \
                 decode)",
            ),
            Error::MissingDigit => text(
                "this model is class-conditional: pass a digit (Request::digit, Some(digit) to \
                 decode)",
            ),
            Error::InvalidDigit(digit) => {
                part(Text("digit "));
                part(Decimal(digit.into()));
                part(Text(
                    " is not a class of this model: pass a digit below the model's class \
                     count (Shape::classes, Model::classes(); 0..=9 for MNIST)",
                ));
            }
            Error::BufferTooSmall { needed, available } => {
                part(Text("output buffer too small for the blob ("));
                part(Decimal(needed as u64));
                part(Text(" bytes needed, "));
                part(Decimal(available as u64));
                part(Text(" available): size it with format::encoded_len"));
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut result = Ok(());
        self.message_parts(|part| {
            if result.is_ok() {
                result = match part {
                    MessagePart::Text(s) => f.write_str(s),
                    MessagePart::Decimal(n) => write!(f, "{n}"),
                    MessagePart::Hex32(v) => write!(f, "{v:#010x}"),
                };
            }
        });
        result
    }
}

impl core::error::Error for Error {}
