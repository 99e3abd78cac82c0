//! The decoder blob: byte layout, schema, reader ([`parse`]) and writer ([`encode`]).
//!
//! This module is the single definition of the format; `FORMAT.md` describes the same
//! thing in prose. A blob is:
//!
//! ```text
//! offset  size  field
//! 0       4     MAGIC = "VAE8"
//! 4       2     major version, u16 LE  (FORMAT_MAJOR)
//! 6       2     minor version, u16 LE  (FORMAT_MINOR)
//! 8       4     body length L, u32 LE
//! 12      L     body: postcard encoding of `Model` (the 2.0 fields), then of `Prior`
//!               (appended in 2.1)
//! 12+L    4     CRC-32 (IEEE) of bytes 0..12+L, u32 LE
//! ```
//!
//! [`parse`] checks, in this order: length >= header ([`Error::Truncated`]) -> magic
//! ([`Error::BadMagic`]) -> major version ([`Error::UnsupportedVersion`], before anything
//! else is read) -> total length ([`Error::Truncated`]) -> CRC ([`Error::CrcMismatch`]) ->
//! postcard body ([`Error::Malformed`]) -> [`Model::validate`] (shapes, lengths, scales,
//! accumulator range, threshold order). A [`Model`] returned by [`parse`] borrows its
//! arrays from the blob (zero copy) and is safe to run: no later step can fail on it.
//!
//! Multi-byte arrays inside the body are raw little-endian bytes (`&[u8]`): `i8` weights
//! are reinterpreted with `as i8`, `i32`/`f32` values are read with `from_le_bytes`. This
//! keeps the body zero-copy and alignment-free on every target.
//!
//! [`Error::Truncated`]: crate::Error::Truncated
//! [`Error::BadMagic`]: crate::Error::BadMagic
//! [`Error::UnsupportedVersion`]: crate::Error::UnsupportedVersion
//! [`Error::CrcMismatch`]: crate::Error::CrcMismatch
//! [`Error::Malformed`]: crate::Error::Malformed

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"VAE8";
/// Major format version written and read by this crate; a blob with another major version
/// is rejected with [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion).
pub const FORMAT_MAJOR: u16 = 2;
/// Minor format version written by this crate. Readers accept any minor version of their
/// major: minor versions only append fields at the end of the body.
///
/// * 2.0: the decoder.
/// * 2.1: appends [`Model::prior`] (a 2.0 blob reads as [`Prior::Standard`]).
pub const FORMAT_MINOR: u16 = 1;
/// Largest number of components of a [`Prior::Mixture`].
pub const MAX_PRIOR_COMPONENTS: usize = 1024;
/// Bytes before the body: magic, major, minor, body length.
pub const HEADER_LEN: usize = 12;
/// Bytes after the body: the CRC-32.
pub const CRC_LEN: usize = 4;
/// Number of thresholds in a pixel table: pixels take the values `0..=255`.
pub const NUM_THRESHOLDS: usize = 255;
/// Most dense layers a model may have.
pub const MAX_LAYERS: usize = 8;
/// Largest requantization shift `n` (so `M / 2^n` is well defined on 64 bits).
pub const MAX_SHIFT: u8 = 63;

mod crc;
mod scales;
mod schema;
mod validate;
mod wire;

pub use crc::crc32;
pub use scales::{pixel_thresholds, quantize_multiplier};
pub use schema::{Dense, Layers, Metadata, Model, ModelKind, Prior};
pub use wire::{blob_len, encode, encoded_len, parse};

#[cfg(any(test, feature = "testing"))]
pub(crate) use wire::{body_len, encode_unvalidated};

#[cfg(test)]
mod tests;
