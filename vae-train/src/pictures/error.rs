//! Why a picture could not be made or saved.

use std::fmt;
use std::io;
use std::path::PathBuf;

use vae_core::IMAGE_PIXELS;

use super::MAX_SIDE;

/// Why a picture could not be made or saved.
#[derive(Debug)]
pub enum PictureError {
    /// Reading or writing a file failed.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// PNG encoding failed.
    Encode {
        /// The file that was being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// An input that must not be empty was empty.
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// An image does not have [`IMAGE_PIXELS`] values.
    ImageSize {
        /// Which list of images.
        what: &'static str,
        /// Index of the image in that list.
        index: usize,
        /// Its number of values.
        len: usize,
    },
    /// Two inputs that must have the same length do not.
    LengthMismatch {
        /// What was compared.
        what: &'static str,
        /// The length required (that of the first input).
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A numeric parameter is out of its range.
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What it must be.
        requirement: &'static str,
    },
    /// A digit label is not in `0..=9`.
    BadLabel {
        /// Index of the point.
        index: usize,
        /// The label found.
        label: u8,
    },
    /// All values to plot are NaN or infinite.
    NoFiniteData {
        /// What was to be plotted.
        what: &'static str,
    },
    /// The picture would exceed [`MAX_SIDE`] pixels in width or height.
    TooLarge {
        /// Requested width (saturated).
        width: u64,
        /// Requested height (saturated).
        height: u64,
    },
    /// The embedded font could not be loaded (a bug: it is compiled in).
    Font,
    /// `plotters` failed to draw a plot (a bug).
    Plot(String),
}

impl fmt::Display for PictureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(
                f,
                "cannot write {}: {source} (check that the directory exists and is writable)",
                path.display()
            ),
            Self::Encode { path, source } => {
                write!(f, "cannot encode PNG for {}: {source}", path.display())
            }
            Self::Empty { what } => write!(f, "no {what} given: pass at least one"),
            Self::ImageSize { what, index, len } => write!(
                f,
                "{what}[{index}] has {len} values, expected {IMAGE_PIXELS} (a 28x28 image, row-major)"
            ),
            Self::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected} items, found {found}"),
            Self::InvalidParameter { name, requirement } => {
                write!(f, "invalid `{name}`: it must be {requirement}")
            }
            Self::BadLabel { index, label } => write!(
                f,
                "label {label} of point {index} is not a digit 0-9: pass MNIST labels"
            ),
            Self::NoFiniteData { what } => write!(
                f,
                "nothing to plot: every {what} value is NaN or infinite (did training diverge?)"
            ),
            Self::TooLarge { width, height } => write!(
                f,
                "picture of {width}x{height} pixels exceeds the limit of {MAX_SIDE} per side: \
                 use fewer images or a smaller scale"
            ),
            Self::Font => write!(f, "the embedded font failed to load (a bug in vae-train)"),
            Self::Plot(e) => write!(f, "cannot draw the plot: {e} (a bug in vae-train)"),
        }
    }
}

impl std::error::Error for PictureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Encode { source, .. } => Some(source),
            _ => None,
        }
    }
}
