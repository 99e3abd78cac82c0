//! The error type of the classifier module.

use std::fmt;
use std::path::PathBuf;

/// What can go wrong training, caching or applying the classifier.
#[derive(Debug)]
pub enum ClassifierError {
    /// Reading or writing a cache file failed.
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// burn could not write the weights file.
    Record {
        /// The weights file.
        path: PathBuf,
        /// burn's message.
        message: String,
    },
    /// The metadata JSON could not be serialized.
    Json(serde_json::Error),
    /// The backend failed to compute or read back a result.
    Backend(String),
    /// A training option is out of range.
    InvalidConfig(String),
    /// The training split has no image, or its image and label counts disagree.
    BadTrainingSet {
        /// Number of labels.
        labels: usize,
        /// Length of the image buffer in bytes.
        image_bytes: usize,
    },
    /// A label or requested digit is not `0..=9`.
    InvalidDigit {
        /// Position of the bad value.
        index: usize,
        /// The bad value.
        value: u8,
    },
    /// There is nothing to score.
    NoImages,
    /// An image buffer's length is not a multiple of 784 (one 28x28 image = 784 bytes).
    ImageBufferLength(usize),
    /// `requested` does not hold exactly one digit per image.
    RequestedLength {
        /// Number of images.
        images: usize,
        /// Number of requested digits.
        requested: usize,
    },
    /// A probability row has a negative or non-finite entry or does not sum to 1.
    InvalidProbabilities {
        /// The offending row.
        row: usize,
    },
}

impl fmt::Display for ClassifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(
                f,
                "classifier cache: cannot access {}: {source}; check that the folder is \
                 writable, or delete it to retrain",
                path.display()
            ),
            Self::Record { path, message } => write!(
                f,
                "classifier cache: cannot write weights {}: {message}",
                path.display()
            ),
            Self::Json(e) => write!(f, "classifier cache: cannot encode metadata: {e}"),
            Self::Backend(m) => write!(f, "classifier: backend error: {m}"),
            Self::InvalidConfig(m) => write!(f, "classifier: invalid training option: {m}"),
            Self::BadTrainingSet {
                labels,
                image_bytes,
            } => write!(
                f,
                "classifier: training split unusable ({labels} labels, {image_bytes} image \
                 bytes; need at least one image and 784 bytes per label)"
            ),
            Self::InvalidDigit { index, value } => write!(
                f,
                "classifier: digit {value} at position {index} is not in 0..=9"
            ),
            Self::NoImages => write!(f, "classifier: no images to score"),
            Self::ImageBufferLength(len) => write!(
                f,
                "classifier: image buffer of {len} bytes is not a whole number of 28x28 \
                 images (784 bytes each)"
            ),
            Self::RequestedLength { images, requested } => write!(
                f,
                "classifier: {requested} requested digits for {images} images; pass one \
                 digit per image"
            ),
            Self::InvalidProbabilities { row } => write!(
                f,
                "classifier: probability row {row} is not a distribution (negative, \
                 non-finite, or not summing to 1)"
            ),
        }
    }
}

impl std::error::Error for ClassifierError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}
