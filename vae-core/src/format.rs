//! The decoder blob: byte layout, schema, reader ([`parse`]) and writer ([`encode`]).
//!
//! This module is the single definition of the format; `FORMAT.md` describes the same
//! thing in prose. A blob is:
//!
//! ```text
//! offset  size  field
//! 0       4     MAGIC = "VAE8"
//! 4       2     major version, u16 LE  (INT8_MAJOR = 2, or FORMAT_MAJOR = 3)
//! 6       2     minor version, u16 LE  (INT8_MINOR, FORMAT_MINOR)
//! 8       4     body length L, u32 LE
//! 12      L     body: postcard encoding of `Model` (the 2.0 fields), then of `Prior`
//!               (appended in 2.1), then (3.0) of every layer's `WeightWidth`
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
//! are reinterpreted with `as i8` (int4 weights, format 3.0, unpacked with [`int4_pair`]),
//! `i32`/`f32` values are read with `from_le_bytes`. This
//! keeps the body zero-copy and alignment-free on every target.
//!
//! [`Error::Truncated`]: crate::Error::Truncated
//! [`Error::BadMagic`]: crate::Error::BadMagic
//! [`Error::UnsupportedVersion`]: crate::Error::UnsupportedVersion
//! [`Error::CrcMismatch`]: crate::Error::CrcMismatch
//! [`Error::Malformed`]: crate::Error::Malformed

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"VAE8";
/// Newest major format version this crate reads and writes: 3, whose layers may store
/// int4 weights ([`WeightWidth`]). It also reads [`INT8_MAJOR`] (2.x) blobs; a blob with
/// any other major version is rejected with
/// [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion).
pub const FORMAT_MAJOR: u16 = 3;
/// Newest minor version of [`FORMAT_MAJOR`] this crate knows. Readers accept any minor
/// version of a major they read: minor versions only append fields at the end of the body.
///
/// * 3.0: the 2.1 body, then every layer's [`WeightWidth`] (int8, or int4 packed two per
///   byte).
/// * 3.1: then an optional mixture prior with `f16` means and standard deviations
///   ([`Prior::MixtureF16`]; the `Prior` slot then holds `Standard`, what a 3.0 reader
///   samples).
pub const FORMAT_MINOR: u16 = 1;
/// The major version of blobs whose weights are all int8, which this crate still reads
/// and writes: [`encode`] writes [`INT8_MAJOR`].[`INT8_MINOR`] for a model without int4
/// layers, so that every 2.x reader (firmware already in the field) reads it.
pub const INT8_MAJOR: u16 = 2;
/// Newest minor version of [`INT8_MAJOR`] this crate knows.
///
/// * 2.0: the decoder.
/// * 2.1: appends [`Model::prior`] (a 2.0 blob reads as [`Prior::Standard`]).
pub const INT8_MINOR: u16 = 1;
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
pub use schema::{Dense, Layers, Metadata, Model, ModelKind, Prior, WeightWidth, int4_pair};
pub use wire::{blob_len, encode, encoded_len, parse, version_of};

#[cfg(any(test, feature = "testing"))]
pub(crate) use wire::{body_len, encode_unvalidated};

#[cfg(test)]
mod int4_tests;
#[cfg(test)]
mod prior_f16_tests;
#[cfg(test)]
mod tests;
