//! Reading and writing blobs: the header, [`parse`] and [`encode`].

use serde::Serialize;

use crate::error::Error;

use super::crc::crc32;
use super::schema::{Model, Prior};
use super::validate::malformed;
use super::{CRC_LEN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, MAGIC};

/// Header fields after the magic/major checks.
struct Header {
    minor: u16,
    body_len: u32,
}

fn read_header(blob: &[u8]) -> Result<Header, Error> {
    let Some((header, _)) = blob.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::Truncated);
    };
    let [m0, m1, m2, m3, a0, a1, b0, b1, l0, l1, l2, l3] = *header;
    if [m0, m1, m2, m3] != MAGIC {
        return Err(Error::BadMagic);
    }
    let major = u16::from_le_bytes([a0, a1]);
    if major != FORMAT_MAJOR {
        return Err(Error::UnsupportedVersion {
            found_major: major,
            supported_major: FORMAT_MAJOR,
        });
    }
    Ok(Header {
        minor: u16::from_le_bytes([b0, b1]),
        body_len: u32::from_le_bytes([l0, l1, l2, l3]),
    })
}

/// Total length of the blob that starts at `prefix[0]`, read from its header.
///
/// For a blob stored in a larger region (a flash partition, a padded file): pass
/// `&region[..blob_len(region)?]` to [`parse`], which rejects trailing bytes. Only the
/// first [`HEADER_LEN`] bytes are read; nothing is checked beyond magic and major version.
pub fn blob_len(prefix: &[u8]) -> Result<usize, Error> {
    let header = read_header(prefix)?;
    usize::try_from(header.body_len)
        .ok()
        .and_then(|body| body.checked_add(HEADER_LEN + CRC_LEN))
        .ok_or(Error::Truncated)
}

/// Reads and checks a blob; the returned [`Model`] borrows from `blob` and is validated.
///
/// See the [module docs](super) for the order of the checks.
pub fn parse(blob: &[u8]) -> Result<Model<'_>, Error> {
    let header = read_header(blob)?;
    let total = blob_len(blob)?;
    if blob.len() < total {
        return Err(Error::Truncated);
    }
    if blob.len() > total {
        return Err(malformed(
            "bytes after the CRC; pass exactly format::blob_len(bytes) bytes",
        ));
    }
    let Some((signed, stored)) = blob.split_last_chunk::<CRC_LEN>() else {
        return Err(Error::Truncated);
    };
    let expected = u32::from_le_bytes(*stored);
    let computed = crc32(signed);
    if expected != computed {
        return Err(Error::CrcMismatch { expected, computed });
    }
    let body = signed.get(HEADER_LEN..).ok_or(Error::Truncated)?;
    let (mut model, mut rest) = postcard::take_from_bytes::<Model<'_>>(body)
        .map_err(|_| malformed("the body does not decode as a Model"))?;
    if header.minor >= 1 {
        let (prior, after) = postcard::take_from_bytes::<Prior<'_>>(rest)
            .map_err(|_| malformed("the 2.1 prior does not decode"))?;
        model.prior = prior;
        rest = after;
    }
    // Newer minor versions append fields after the body we know; ours has nothing more.
    let newer_minor = header.minor > FORMAT_MINOR;
    if !rest.is_empty() && !newer_minor {
        return Err(malformed("unexpected bytes after the model body"));
    }
    model.validate()?;
    Ok(model)
}

/// Exact length of the blob [`encode`] writes for `model` (validates it first).
pub fn encoded_len(model: &Model<'_>) -> Result<usize, Error> {
    model.validate()?;
    body_len(model)?
        .checked_add(HEADER_LEN + CRC_LEN)
        .ok_or(malformed("the body is too large"))
}

/// Length of the body [`encode`] writes for `model` (not validated).
pub(crate) fn body_len(model: &Model<'_>) -> Result<usize, Error> {
    encoded_size(model)?
        .checked_add(encoded_size(&model.prior)?)
        .ok_or(malformed("the body is too large"))
}

/// Postcard's encoded size of `value`.
fn encoded_size<T: Serialize>(value: &T) -> Result<usize, Error> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(|_| malformed("the model does not serialize"))
}

/// Validates `model` and writes its blob to the start of `buf`; returns the blob length.
///
/// Size `buf` with [`encoded_len`]; a smaller buffer gives [`Error::BufferTooSmall`]
/// (nothing useful is written then). Writes [`FORMAT_MAJOR`].[`FORMAT_MINOR`].
pub fn encode(model: &Model<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    model.validate()?;
    encode_unvalidated(model, buf)
}

/// [`encode`] without [`Model::validate`]: lets tests write invalid blobs.
pub(crate) fn encode_unvalidated(model: &Model<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let body_len = body_len(model)?;
    let body_len_u32 = u32::try_from(body_len).map_err(|_| malformed("the body is too large"))?;
    let total = body_len
        .checked_add(HEADER_LEN + CRC_LEN)
        .ok_or(malformed("the body is too large"))?;
    let too_small = Error::BufferTooSmall {
        needed: total,
        available: buf.len(),
    };
    let out = buf.get_mut(..total).ok_or(too_small)?;
    let (signed, crc_slot) = out.split_last_chunk_mut::<CRC_LEN>().ok_or(too_small)?;
    let (header, body) = signed
        .split_first_chunk_mut::<HEADER_LEN>()
        .ok_or(too_small)?;
    let [m0, m1, m2, m3] = MAGIC;
    let [a0, a1] = FORMAT_MAJOR.to_le_bytes();
    let [b0, b1] = FORMAT_MINOR.to_le_bytes();
    let [l0, l1, l2, l3] = body_len_u32.to_le_bytes();
    *header = [m0, m1, m2, m3, a0, a1, b0, b1, l0, l1, l2, l3];
    let written = postcard::to_slice(model, body)
        .map_err(|_| malformed("the model does not serialize"))?
        .len();
    let rest = body.get_mut(written..).ok_or(too_small)?;
    let written = written
        + postcard::to_slice(&model.prior, rest)
            .map_err(|_| malformed("the prior does not serialize"))?
            .len();
    if written != body_len {
        return Err(malformed(
            "the model's serialized size changed while writing",
        ));
    }
    *crc_slot = crc32(signed).to_le_bytes();
    Ok(total)
}
