//! The exporter's error type: every message names the problem and the fix.

use std::fmt;
use std::path::PathBuf;

/// Why an export, a parity check or a sample run failed.
#[derive(Debug)]
pub enum ExportError {
    /// The run's checkpoint or config cannot be read.
    Checkpoint(crate::checkpoint::CheckpointError),
    /// MNIST (for calibration and parity) cannot be read.
    Data(crate::data::DataError),
    /// The blob is invalid, or the model cannot be quantized.
    Blob {
        /// What was being done.
        context: String,
        /// vae-core's error.
        source: vae_core::Error,
    },
    /// A file cannot be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A picture cannot be written.
    Picture(crate::pictures::PictureError),
    /// A flag or option is out of range.
    Usage(String),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Checkpoint(e) => write!(f, "{e}"),
            ExportError::Data(e) => write!(f, "{e}"),
            ExportError::Blob { context, source } => write!(f, "{context}: {source}"),
            ExportError::Io { path, source } => write!(
                f,
                "{}: {source}; check the path exists (for output: that its folder is writable)",
                path.display()
            ),
            ExportError::Picture(e) => write!(f, "{e}"),
            ExportError::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Checkpoint(e) => Some(e),
            ExportError::Data(e) => Some(e),
            ExportError::Blob { source, .. } => Some(source),
            ExportError::Io { source, .. } => Some(source),
            ExportError::Picture(e) => Some(e),
            ExportError::Usage(_) => None,
        }
    }
}

impl From<crate::checkpoint::CheckpointError> for ExportError {
    fn from(e: crate::checkpoint::CheckpointError) -> Self {
        ExportError::Checkpoint(e)
    }
}

impl From<crate::data::DataError> for ExportError {
    fn from(e: crate::data::DataError) -> Self {
        ExportError::Data(e)
    }
}

impl From<crate::pictures::PictureError> for ExportError {
    fn from(e: crate::pictures::PictureError) -> Self {
        ExportError::Picture(e)
    }
}

/// Wraps a vae-core error with what was being done.
pub fn blob_err(context: impl Into<String>) -> impl FnOnce(vae_core::Error) -> ExportError {
    let context = context.into();
    move |source| ExportError::Blob { context, source }
}
