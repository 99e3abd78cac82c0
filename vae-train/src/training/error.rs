//! Why training stopped.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::checkpoint::CheckpointError;
use crate::config::ConfigError;
use crate::data::DataError;
use crate::pictures::PictureError;
use crate::runfolder::RunFolderError;

/// Why training stopped.
#[derive(Debug)]
pub enum TrainError {
    /// Invalid configuration.
    Config(ConfigError),
    /// The data could not be loaded.
    Data(DataError),
    /// Writing or reading a checkpoint failed.
    Checkpoint(CheckpointError),
    /// A picture could not be drawn or saved.
    Picture(PictureError),
    /// The run folder is locked, holds another run, or cannot be prepared.
    RunFolder(RunFolderError),
    /// A file of the run could not be written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The loss became NaN or infinite.
    NonFinite {
        /// Epoch (1-based) of the bad batch.
        epoch: usize,
        /// Batch (1-based) within the epoch.
        batch: usize,
        /// The loss value.
        value: f32,
        /// The epoch of the checkpoint left in place, if any.
        last_good: Option<usize>,
        /// The run directory.
        run_dir: PathBuf,
    },
    /// A resumed run was given data that differs from the data it was trained on.
    DataMismatch {
        /// The run directory.
        run_dir: PathBuf,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Data(e) => write!(f, "{e}"),
            Self::Checkpoint(e) => write!(f, "{e}"),
            Self::Picture(e) => write!(f, "{e}"),
            Self::RunFolder(e) => write!(f, "{e}"),
            Self::Io { path, source } => write!(
                f,
                "cannot write {}: {source}; check that the folder is writable",
                path.display()
            ),
            Self::NonFinite {
                epoch,
                batch,
                value,
                last_good,
                run_dir,
            } => {
                write!(
                    f,
                    "training diverged: the loss became {value} at epoch {epoch}, batch {batch}; "
                )?;
                match last_good {
                    Some(e) => write!(
                        f,
                        "the checkpoint of epoch {e} in {} is kept; ",
                        run_dir.display()
                    )?,
                    None => write!(
                        f,
                        "no checkpoint was written (whatever {} held before is left as it was); ",
                        run_dir.display()
                    )?,
                }
                write!(f, "lower the learning rate (--lr) and train again")
            }
            Self::DataMismatch { run_dir } => write!(
                f,
                "the data differs from the data the run in {} was trained on (checksums in its \
                 config.json): pass the same --data-dir, or start a new run without --resume",
                run_dir.display()
            ),
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Data(e) => Some(e),
            Self::Checkpoint(e) => Some(e),
            Self::Picture(e) => Some(e),
            Self::RunFolder(e) => Some(e),
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ConfigError> for TrainError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
impl From<DataError> for TrainError {
    fn from(e: DataError) -> Self {
        Self::Data(e)
    }
}
impl From<CheckpointError> for TrainError {
    fn from(e: CheckpointError) -> Self {
        Self::Checkpoint(e)
    }
}
impl From<PictureError> for TrainError {
    fn from(e: PictureError) -> Self {
        Self::Picture(e)
    }
}
impl From<RunFolderError> for TrainError {
    fn from(e: RunFolderError) -> Self {
        Self::RunFolder(e)
    }
}
