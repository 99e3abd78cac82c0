//! Writing pictures as PNG files.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{EncodableLayout, ImageBuffer, ImageEncoder, PixelWithColorType};

use super::PictureError;
use crate::fsutil;

/// Writes `img` as a PNG at `path`, atomically: the bytes go to a temporary
/// file in the same directory, which is then renamed over `path`, so readers
/// never see a half-written picture. The directory must exist.
pub fn save_png<P>(img: &ImageBuffer<P, Vec<P::Subpixel>>, path: &Path) -> Result<(), PictureError>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            img.as_raw().as_bytes(),
            img.width(),
            img.height(),
            P::COLOR_TYPE,
        )
        .map_err(|source| PictureError::Encode {
            path: path.to_owned(),
            source,
        })?;

    fsutil::atomic_write(path, &bytes).map_err(|source| PictureError::Io {
        path: path.to_owned(),
        source,
    })
}
