//! The IDX format (big-endian header, then raw bytes) and gzip sniffing.
//!
//! Images: magic `0x00000803`, then `n`, `rows`, `cols` (u32 BE), then `n*rows*cols` bytes.
//! Labels: magic `0x00000801`, then `n` (u32 BE), then `n` bytes.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

use super::{DataError, FileKind, Split};

/// IDX magic of a `u8` array with 3 dimensions (images).
pub(super) const IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of a `u8` array with 1 dimension (labels).
pub(super) const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest decompressed (or raw) file accepted: the full train images are 47,040,016 bytes.
pub(super) const MAX_DECODED: u64 = 128 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One parsed file.
pub(super) struct Loaded {
    pub path: PathBuf,
    /// SHA-256 hex of the decompressed content.
    pub sha256: String,
    pub body: Body,
}

/// The payload of a parsed file.
pub(super) enum Body {
    /// `n * IMAGE_PIXELS` pixel bytes.
    Images(Vec<u8>),
    /// `n` labels, each `< NUM_CLASSES`.
    Labels(Vec<u8>),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Images(p) => p.len() / IMAGE_PIXELS,
            Body::Labels(l) => l.len(),
        }
    }
}

/// Lowercase hex SHA-256 of `data`.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Whether `bytes` start with the gzip magic.
pub(super) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The decompressed content of `bytes` if they are gzip, else `bytes` unchanged.
pub(super) fn decode(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if is_gzip(&bytes) {
        return gunzip(path, &bytes);
    }
    if bytes.len() as u64 > MAX_DECODED {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DECODED,
        });
    }
    Ok(bytes)
}

/// Decompresses gzip `bytes` (read from `path`), at most [`MAX_DECODED`] bytes of output.
pub(super) fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    // The gzip trailer's ISIZE (size mod 2^32) is a good capacity hint; cap it so a
    // corrupt trailer cannot make us allocate much.
    let hint = match bytes.len().checked_sub(4).and_then(|i| bytes.get(i..)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    let mut out = Vec::with_capacity(hint.min(MAX_DECODED as usize) + 1);
    MultiGzDecoder::new(bytes)
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    if out.len() as u64 > MAX_DECODED {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DECODED,
        });
    }
    Ok(out)
}

/// Decompresses (if gzip), hashes and parses the file content `bytes` read from `path`.
pub(super) fn parse_file(path: &Path, kind: FileKind, bytes: Vec<u8>) -> Result<Loaded, DataError> {
    let data = decode(path, bytes)?;
    let sha256 = sha256_hex(&data);
    let body = if kind.is_images() {
        Body::Images(parse_images(path, data)?)
    } else {
        Body::Labels(parse_labels(path, data)?)
    };
    Ok(Loaded {
        path: path.to_path_buf(),
        sha256,
        body,
    })
}

fn be_u32(path: &Path, data: &[u8], at: usize, header_len: u64) -> Result<u32, DataError> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len,
            actual: data.len() as u64,
        }),
    }
}

fn check_magic(path: &Path, data: &[u8], expected: u32, header_len: u64) -> Result<(), DataError> {
    let found = be_u32(path, data, 0, header_len)?;
    if found != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    Ok(())
}

fn check_len(path: &Path, data: &[u8], expected: u64) -> Result<(), DataError> {
    let actual = data.len() as u64;
    let path = path.to_path_buf();
    match actual.cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated {
            path,
            expected,
            actual,
        }),
        std::cmp::Ordering::Greater => Err(DataError::TrailingBytes {
            path,
            expected,
            actual,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Parses a decompressed IDX image file into `n * IMAGE_PIXELS` pixel bytes.
pub(super) fn parse_images(path: &Path, mut data: Vec<u8>) -> Result<Vec<u8>, DataError> {
    const HEADER: usize = 16;
    check_magic(path, &data, IMAGES_MAGIC, HEADER as u64)?;
    let n = be_u32(path, &data, 4, HEADER as u64)?;
    let rows = be_u32(path, &data, 8, HEADER as u64)?;
    let cols = be_u32(path, &data, 12, HEADER as u64)?;
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(DataError::BadDims {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    check_len(
        path,
        &data,
        HEADER as u64 + u64::from(n) * IMAGE_PIXELS as u64,
    )?;
    data.drain(..HEADER);
    Ok(data)
}

/// Parses a decompressed IDX label file; every label must be `< NUM_CLASSES`.
pub(super) fn parse_labels(path: &Path, mut data: Vec<u8>) -> Result<Vec<u8>, DataError> {
    const HEADER: usize = 8;
    check_magic(path, &data, LABELS_MAGIC, HEADER as u64)?;
    let n = be_u32(path, &data, 4, HEADER as u64)?;
    check_len(path, &data, HEADER as u64 + u64::from(n))?;
    data.drain(..HEADER);
    if let Some((index, &label)) = data
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= NUM_CLASSES)
    {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(data)
}

/// Joins an image file and a label file into a split; their counts must agree.
pub(super) fn pair(images: Loaded, labels: Loaded) -> Result<Split, DataError> {
    let (n_images, n_labels) = (images.body.len(), labels.body.len());
    match (images.body, labels.body) {
        (Body::Images(images_px), Body::Labels(labels_v)) if n_images == n_labels => Ok(Split {
            images: images_px,
            labels: labels_v,
        }),
        _ => Err(DataError::CountMismatch {
            images: images.path,
            labels: labels.path,
            n_images,
            n_labels,
        }),
    }
}
