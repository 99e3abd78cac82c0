//! The one error type of the data layer.

use std::fmt;
use std::path::PathBuf;

use super::{ENV_DATA_DIR, FileKind, Origin};

/// Why MNIST could not be loaded. Every variant names the file or folder involved.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// Some of the four files are in the folder neither as `NAME.gz` nor as `NAME`.
    MissingFiles {
        /// The folder searched.
        dir: PathBuf,
        /// How the folder was chosen (`None`: given directly to `load_from_dir`).
        origin: Option<Origin>,
        /// The missing files.
        files: Vec<FileKind>,
    },
    /// Every mirror failed for some files (offline, or bad downloads).
    Download {
        /// The cache folder the files were to be written to.
        dir: PathBuf,
        /// The files still missing.
        files: Vec<FileKind>,
        /// One line per attempt: URL and why it failed.
        attempts: Vec<String>,
    },
    /// A run's recorded MNIST folder no longer holds the data, and the cache folder could
    /// not supply it either (see [`super::load_for_run`]).
    RunDataGone {
        /// The folder the run's `config.json` names.
        recorded: PathBuf,
        /// Why the cache folder failed.
        source: Box<DataError>,
    },
    /// Reading, writing or creating a file or folder failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress (corrupt or cut short).
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The (decompressed) file is larger than any MNIST file can be.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file does not start with the expected IDX magic number.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// `0x00000803` for images, `0x00000801` for labels.
        expected: u32,
        /// What the file holds.
        found: u32,
    },
    /// An image file whose images are not 28x28.
    BadDims {
        /// The file.
        path: PathBuf,
        /// Rows per image in the header.
        rows: u32,
        /// Columns per image in the header.
        cols: u32,
    },
    /// The (decompressed) file is shorter than its header says.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header calls for.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The (decompressed) file is longer than its header says.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header calls for.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A label outside `0..=9`.
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// Position of the first bad label.
        index: usize,
        /// Its value.
        label: u8,
    },
    /// An image file and its label file hold different numbers of items.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// The label file.
        labels: PathBuf,
        /// Images in the image file.
        n_images: usize,
        /// Labels in the label file.
        n_labels: usize,
    },
    /// A file in the cache folder is not the expected one.
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Expected SHA-256 of the decompressed content.
        expected: String,
        /// Its actual SHA-256.
        actual: String,
    },
}

fn names(files: &[FileKind]) -> String {
    files
        .iter()
        .map(|k| k.file_name())
        .collect::<Vec<_>>()
        .join(", ")
}

const HOW_TO_SUPPLY: &str = "Supply the four standard MNIST files (train-images-idx3-ubyte, \
train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; each as NAME.gz or \
raw NAME) in a folder and pass it with `--data-dir DIR` or `VAE_MNIST_DIR=DIR`, or place them \
in the cache folder ($XDG_CACHE_HOME/vae/mnist, default ~/.cache/vae/mnist), where they are \
also downloaded automatically when online.";

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::RunDataGone { recorded, .. } => write!(
                f,
                "the run's MNIST folder {} (recorded in its config.json) no longer holds the \
                 data, and MNIST could not be downloaded into the cache either: pass \
                 --data-dir DIR (or set {ENV_DATA_DIR}=DIR) naming a folder with the four \
                 MNIST files",
                recorded.display()
            ),
            DataError::MissingFiles { dir, origin, files } => {
                let from = match origin {
                    Some(Origin::Flag) => " (given by --data-dir)".to_owned(),
                    Some(Origin::Env) => format!(" (given by {ENV_DATA_DIR})"),
                    Some(Origin::Cache) => " (the cache folder)".to_owned(),
                    Some(Origin::Run) => " (recorded in the run's config.json)".to_owned(),
                    None => String::new(),
                };
                write!(
                    f,
                    "MNIST file(s) missing in {}{from}: {} (looked for NAME.gz, then NAME). \
                     {HOW_TO_SUPPLY}",
                    dir.display(),
                    names(files),
                )
            }
            DataError::Download {
                dir,
                files,
                attempts,
            } => {
                write!(
                    f,
                    "could not download MNIST file(s) {} into {}; every mirror failed:",
                    names(files),
                    dir.display()
                )?;
                for a in attempts {
                    write!(f, "\n  - {a}")?;
                }
                write!(
                    f,
                    "\nIf this machine is offline, get those files elsewhere and place them \
                     in {} (as NAME.gz or raw NAME), or pass a folder holding all four with \
                     `--data-dir DIR` or `VAE_MNIST_DIR=DIR`.",
                    dir.display()
                )
            }
            DataError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            DataError::Gzip { path, source } => write!(
                f,
                "{}: corrupt or truncated gzip data ({source}); replace the file",
                path.display()
            ),
            DataError::TooLarge { path, limit } => write!(
                f,
                "{}: larger than {limit} bytes once decompressed; not an MNIST file",
                path.display()
            ),
            DataError::BadMagic {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: not an IDX {} file (magic {found:#010x}, expected {expected:#010x}); \
                 check that the file is the one its name says",
                path.display(),
                if *expected == super::idx::IMAGES_MAGIC {
                    "image"
                } else {
                    "label"
                },
            ),
            DataError::BadDims { path, rows, cols } => write!(
                f,
                "{}: images are {rows}x{cols}, expected 28x28",
                path.display()
            ),
            DataError::Truncated {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{}: truncated: {actual} bytes (decompressed), header calls for {expected}; \
                 replace the file",
                path.display()
            ),
            DataError::TrailingBytes {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{}: {actual} bytes (decompressed), header calls for {expected}; \
                 the file is corrupt, replace it",
                path.display()
            ),
            DataError::BadLabel { path, index, label } => write!(
                f,
                "{}: label {label} at index {index} is not a digit 0-9",
                path.display()
            ),
            DataError::CountMismatch {
                images,
                labels,
                n_images,
                n_labels,
            } => write!(
                f,
                "{} holds {n_images} images but {} holds {n_labels} labels",
                images.display(),
                labels.display()
            ),
            DataError::ChecksumMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{}: SHA-256 of the decompressed content is {actual}, expected {expected}; \
                 delete the file to download it again, or use another folder with \
                 `--data-dir DIR` / `VAE_MNIST_DIR=DIR`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::RunDataGone { source, .. } => Some(source.as_ref()),
            DataError::Io { source, .. } | DataError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}
