//! Reading and writing blobs: the header, [`parse`] and [`encode`].

use serde::Serialize;

use crate::error::Error;

use super::crc::crc32;
use super::schema::{CompactPrior, Model, Prior, WeightWidth};
use super::validate::malformed;
use super::{
    CRC_LEN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, INT8_MAJOR, INT8_MINOR, MAGIC, MAX_LAYERS,
};

/// The per-layer weight widths a 3.x body appends after the prior.
type Widths = heapless::Vec<WeightWidth, MAX_LAYERS>;

/// Header fields after the magic/major checks.
struct Header {
    major: u16,
    minor: u16,
    body_len: u32,
}

impl Header {
    /// The newest minor version this crate knows of the blob's major version.
    fn known_minor(&self) -> u16 {
        if self.major == INT8_MAJOR {
            INT8_MINOR
        } else {
            FORMAT_MINOR
        }
    }
}

/// The minor version of [`FORMAT_MAJOR`] that appends a [`Prior::MixtureF16`].
const COMPACT_PRIOR_MINOR: u16 = 1;

/// The version [`encode`] writes for `model`, the oldest that holds it:
/// [`INT8_MAJOR`].[`INT8_MINOR`] when every layer is int8 and the prior is not
/// [`Prior::MixtureF16`] (what every 2.x reader reads), 3.0 with an int4 layer, 3.1 with
/// an `f16` prior.
pub fn version_of(model: &Model<'_>) -> (u16, u16) {
    let int8 = model
        .layers
        .iter()
        .all(|l| l.weight_width == WeightWidth::Int8);
    if model.prior.compact().is_some() {
        (FORMAT_MAJOR, COMPACT_PRIOR_MINOR)
    } else if int8 {
        (INT8_MAJOR, INT8_MINOR)
    } else {
        (FORMAT_MAJOR, 0)
    }
}

/// The widths of `model`'s layers, as a 3.x body stores them.
fn widths_of(model: &Model<'_>) -> Widths {
    let mut widths = Widths::new();
    for layer in model.layers.iter() {
        // `Layers` holds at most MAX_LAYERS, the capacity of `Widths`.
        let _ = widths.push(layer.weight_width);
    }
    widths
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
    if major != FORMAT_MAJOR && major != INT8_MAJOR {
        return Err(Error::UnsupportedVersion {
            found_major: major,
            supported_major: FORMAT_MAJOR,
        });
    }
    Ok(Header {
        major,
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
    if header.major > INT8_MAJOR || header.minor >= 1 {
        let (prior, after) = postcard::take_from_bytes::<Prior<'_>>(rest)
            .map_err(|_| malformed("the 2.1 prior does not decode"))?;
        model.prior = prior;
        rest = after;
    }
    if header.major == FORMAT_MAJOR {
        let (widths, after) = postcard::take_from_bytes::<Widths>(rest)
            .map_err(|_| malformed("the 3.0 weight widths do not decode"))?;
        if widths.len() != model.layers.len() {
            return Err(malformed("the 3.0 weight widths are not one per layer"));
        }
        for (layer, width) in model.layers.as_mut_slice().iter_mut().zip(widths) {
            layer.weight_width = width;
        }
        rest = after;
        if header.minor >= COMPACT_PRIOR_MINOR {
            let (compact, after) = postcard::take_from_bytes::<Option<CompactPrior<'_>>>(rest)
                .map_err(|_| malformed("the 3.1 f16 prior does not decode"))?;
            if let Some(c) = compact {
                if model.prior != Prior::Standard {
                    return Err(malformed(
                        "a 3.1 blob has both a prior and an f16 prior (its Prior must be Standard)",
                    ));
                }
                model.prior = Prior::MixtureF16 {
                    components: c.components,
                    cumulative: c.cumulative,
                    means: c.means,
                    stds: c.stds,
                };
            }
            rest = after;
        }
    }
    // Newer minor versions append fields after the body we know; ours has nothing more.
    let newer_minor = header.minor > header.known_minor();
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
    let (major, minor) = version_of(model);
    let widths = match major {
        FORMAT_MAJOR => encoded_size(&widths_of(model))?,
        _ => 0,
    };
    let compact = match (major, minor) {
        (FORMAT_MAJOR, COMPACT_PRIOR_MINOR..) => encoded_size(&model.prior.compact())?,
        _ => 0,
    };
    encoded_size(model)?
        .checked_add(encoded_size(&model.prior.in_slot())?)
        .and_then(|n| n.checked_add(widths))
        .and_then(|n| n.checked_add(compact))
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
/// (nothing useful is written then). Writes the version [`version_of`] names: 2.1 for
/// an all-int8 model, 3.0 when a layer has int4 weights, 3.1 with an `f16` prior.
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
    let (major, minor) = version_of(model);
    let [a0, a1] = major.to_le_bytes();
    let [b0, b1] = minor.to_le_bytes();
    let [l0, l1, l2, l3] = body_len_u32.to_le_bytes();
    *header = [m0, m1, m2, m3, a0, a1, b0, b1, l0, l1, l2, l3];
    let written = postcard::to_slice(model, body)
        .map_err(|_| malformed("the model does not serialize"))?
        .len();
    let rest = body.get_mut(written..).ok_or(too_small)?;
    let mut written = written
        + postcard::to_slice(&model.prior.in_slot(), rest)
            .map_err(|_| malformed("the prior does not serialize"))?
            .len();
    if major == FORMAT_MAJOR {
        let rest = body.get_mut(written..).ok_or(too_small)?;
        written += postcard::to_slice(&widths_of(model), rest)
            .map_err(|_| malformed("the weight widths do not serialize"))?
            .len();
    }
    if major == FORMAT_MAJOR && minor >= COMPACT_PRIOR_MINOR {
        let rest = body.get_mut(written..).ok_or(too_small)?;
        written += postcard::to_slice(&model.prior.compact(), rest)
            .map_err(|_| malformed("the f16 prior does not serialize"))?
            .len();
    }
    if written != body_len {
        return Err(malformed(
            "the model's serialized size changed while writing",
        ));
    }
    *crc_slot = crc32(signed).to_le_bytes();
    Ok(total)
}
