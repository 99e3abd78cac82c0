//! Reading a blob file: the header first, then exactly the length it gives, capped.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use vae_core::format::{HEADER_LEN, blob_len};

use super::error::ExportError;
use crate::config::MAX_BLOB_BYTES;

/// Reads the blob at `path`: its 12-byte header first (so a file that is no blob, such as
/// `/dev/zero`, is refused after 12 bytes), then the length the header gives (plus one
/// byte, so that trailing bytes are still reported by [`vae_core::format::parse`]). A
/// header giving more than [`MAX_BLOB_BYTES`] is refused before anything more is read.
/// A file shorter than its header says comes back short, for the parser to call
/// truncated.
pub fn read_blob(path: &Path) -> Result<Vec<u8>, ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() < HEADER_LEN {
        return Ok(bytes);
    }
    let total = blob_len(&bytes).map_err(|source| ExportError::Blob {
        context: path.display().to_string(),
        source,
    })?;
    if total as u64 > MAX_BLOB_BYTES {
        return Err(ExportError::Usage(format!(
            "{}: its header gives a blob of {} MiB, over the {} MiB these tools read; it is \
             damaged or not a decoder blob: export it again with vae-export",
            path.display(),
            total >> 20,
            MAX_BLOB_BYTES >> 20
        )));
    }
    let rest = (total + 1 - HEADER_LEN) as u64;
    bytes.reserve(rest as usize);
    file.take(rest).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}
