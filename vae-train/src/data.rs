//! MNIST data: where the files are, reading the IDX format, and the download into a cache.
//!
//! # Where the data comes from
//!
//! [`resolve_data_dir`] picks the folder, first match wins:
//!
//! 1. the `--data-dir DIR` flag (passed in by the CLI),
//! 2. the environment variable [`ENV_DATA_DIR`] (`VAE_MNIST_DIR`), when set and non-empty,
//! 3. the cache folder `$XDG_CACHE_HOME/vae/mnist` (when `XDG_CACHE_HOME` is an absolute
//!    path), else `~/.cache/vae/mnist`.
//!
//! A training run records the folder it read (as an absolute path) in its `config.json`;
//! work on that run later (the export, `vae-train pictures`) reads the same folder again
//! when neither the flag nor the environment names one ([`resolve_data_dir_for_run`]),
//! falling back to the cache folder when it is gone.
//!
//! [`load`] downloads missing files **only into the cache folder** (origin
//! [`Origin::Cache`]). A folder named by the flag or the environment belongs to the user:
//! nothing is written there, and missing files are an error ([`DataError::MissingFiles`])
//! that names them and says how to supply them. Downloads go through [`Downloader`]:
//! mirrors are tried in order, and a file is kept only when the SHA-256 of its
//! *decompressed* content matches the expected value; it is written atomically
//! (temporary file in the same folder, fsync, rename).
//!
//! # Which file is read
//!
//! For each of the four standard names (see [`FileKind`]) the folder may hold
//! `NAME.gz` or `NAME`. **If both exist, `NAME.gz` is read.** Whether a file is
//! gzip-compressed is decided by its first two bytes (the gzip magic `1f 8b`), not by
//! its name, so a `.gz` file that a browser already unpacked still loads.
//!
//! # Checksums
//!
//! [`Mnist::checksums`] records the SHA-256 of the four decompressed files, for the run
//! config. Files in a user folder are not required to be the official MNIST (a
//! same-format set such as Fashion-MNIST loads too); [`Checksums::is_official`] tells.
//! Files in the cache folder must match the downloader's expected checksums.
//!
//! # Example
//!
//! ```no_run
//! use vae_train::data;
//! let dir = data::resolve_data_dir(None);
//! let mnist = data::load(&dir)?;
//! assert_eq!(mnist.train.image(0).len(), vae_core::IMAGE_PIXELS);
//! # Ok::<(), data::DataError>(())
//! ```

mod download;
mod error;
mod idx;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

pub use download::Downloader;
pub use error::DataError;

/// Environment variable naming the MNIST folder when `--data-dir` is not given.
pub const ENV_DATA_DIR: &str = "VAE_MNIST_DIR";

/// One of the four standard MNIST files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `train-images-idx3-ubyte`: 60,000 training images.
    TrainImages,
    /// `train-labels-idx1-ubyte`: 60,000 training labels.
    TrainLabels,
    /// `t10k-images-idx3-ubyte`: 10,000 test images.
    TestImages,
    /// `t10k-labels-idx1-ubyte`: 10,000 test labels.
    TestLabels,
}

impl FileKind {
    /// The four files, in the order train images, train labels, test images, test labels.
    pub const ALL: [FileKind; 4] = [
        FileKind::TrainImages,
        FileKind::TrainLabels,
        FileKind::TestImages,
        FileKind::TestLabels,
    ];

    /// Standard file name without compression suffix, e.g. `train-images-idx3-ubyte`.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::TrainImages => "train-images-idx3-ubyte",
            FileKind::TrainLabels => "train-labels-idx1-ubyte",
            FileKind::TestImages => "t10k-images-idx3-ubyte",
            FileKind::TestLabels => "t10k-labels-idx1-ubyte",
        }
    }

    /// Standard gzip file name, e.g. `train-images-idx3-ubyte.gz` (what mirrors serve and
    /// what the cache holds).
    pub fn gz_name(self) -> String {
        format!("{}.gz", self.file_name())
    }

    /// SHA-256 (lowercase hex) of the decompressed official MNIST file.
    pub fn official_sha256(self) -> &'static str {
        match self {
            FileKind::TrainImages => {
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
            }
            FileKind::TrainLabels => {
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
            }
            FileKind::TestImages => {
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
            }
            FileKind::TestLabels => {
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
            }
        }
    }

    fn is_images(self) -> bool {
        matches!(self, FileKind::TrainImages | FileKind::TestImages)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Images and labels of one split (train or test).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `len() * IMAGE_PIXELS` bytes, image after image, each row-major, raw values 0..=255
    /// (0 = background).
    pub images: Vec<u8>,
    /// One label `0..=9` per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images (and labels).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `IMAGE_PIXELS` bytes of image `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing; see [`Split::get_image`].
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The `IMAGE_PIXELS` bytes of image `i`, or `None` if out of range.
    pub fn get_image(&self, i: usize) -> Option<&[u8]> {
        let start = i.checked_mul(IMAGE_PIXELS)?;
        self.images.get(start..start.checked_add(IMAGE_PIXELS)?)
    }

    /// Label of image `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Iterator over `(image, label)` pairs.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], u8)> + '_ {
        self.images
            .chunks_exact(IMAGE_PIXELS)
            .zip(self.labels.iter().copied())
    }

    /// Keeps the first `n` images (no-op if `n >= len()`).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.images.truncate(n * IMAGE_PIXELS);
    }

    /// A new split holding the images at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If an index is `>= self.len()`, like slice indexing.
    pub fn subset(&self, indices: &[usize]) -> Split {
        let mut images = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Split { images, labels }
    }

    /// How many images of each digit the split holds.
    pub fn label_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }
}

/// SHA-256 (lowercase hex) of the four decompressed IDX files; recorded in the run config.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checksums {
    /// Of `train-images-idx3-ubyte`.
    pub train_images: String,
    /// Of `train-labels-idx1-ubyte`.
    pub train_labels: String,
    /// Of `t10k-images-idx3-ubyte`.
    pub test_images: String,
    /// Of `t10k-labels-idx1-ubyte`.
    pub test_labels: String,
}

impl Checksums {
    /// The checksums of the official MNIST files.
    pub fn official() -> Self {
        Self::from_fn(|k| k.official_sha256().to_owned())
    }

    /// Builds the set from one value per file.
    pub fn from_fn(mut f: impl FnMut(FileKind) -> String) -> Self {
        Checksums {
            train_images: f(FileKind::TrainImages),
            train_labels: f(FileKind::TrainLabels),
            test_images: f(FileKind::TestImages),
            test_labels: f(FileKind::TestLabels),
        }
    }

    /// The checksum of one file.
    pub fn get(&self, kind: FileKind) -> &str {
        match kind {
            FileKind::TrainImages => &self.train_images,
            FileKind::TrainLabels => &self.train_labels,
            FileKind::TestImages => &self.test_images,
            FileKind::TestLabels => &self.test_labels,
        }
    }

    /// Whether all four are the official MNIST files.
    pub fn is_official(&self) -> bool {
        *self == Self::official()
    }
}

/// The whole data set: both splits and the checksums of the files they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    /// Training split (60,000 digits for the full set).
    pub train: Split,
    /// Test split (10,000 digits for the full set).
    pub test: Split,
    /// SHA-256 of the four decompressed files.
    pub checksums: Checksums,
}

/// Where a data folder was chosen from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// The `--data-dir` flag.
    Flag,
    /// The `VAE_MNIST_DIR` environment variable.
    Env,
    /// The default cache folder; the only origin [`load`] downloads into.
    Cache,
    /// The folder a training run recorded in its `config.json` ([`resolve_data_dir_for_run`]).
    Run,
}

/// A data folder and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    /// The folder holding (or to hold) the four IDX files.
    pub path: PathBuf,
    /// How it was chosen.
    pub origin: Origin,
}

/// Picks the MNIST folder: `flag`, else `$VAE_MNIST_DIR`, else the cache folder
/// (see the [module docs](self)). Reads the process environment; touches no file.
pub fn resolve_data_dir(flag: Option<&Path>) -> DataDir {
    resolve_data_dir_with(flag, |key| std::env::var_os(key))
}

/// [`resolve_data_dir`] with the environment given as a lookup function (for tests).
///
/// Reads `VAE_MNIST_DIR`, `XDG_CACHE_HOME` and `HOME` through `env`. Empty values count
/// as unset, and a relative `XDG_CACHE_HOME` is ignored (as the XDG spec says). Without
/// `HOME`, the platform's home folder is used, and without that the temp folder.
pub fn resolve_data_dir_with(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> DataDir {
    if let Some(path) = flag {
        return DataDir {
            path: path.to_path_buf(),
            origin: Origin::Flag,
        };
    }
    let non_empty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = non_empty(ENV_DATA_DIR) {
        return DataDir {
            path,
            origin: Origin::Env,
        };
    }
    let cache = non_empty("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| non_empty("HOME").map(|h| h.join(".cache")))
        .or_else(|| std::env::home_dir().map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    DataDir {
        path: cache.join("vae").join("mnist"),
        origin: Origin::Cache,
    }
}

/// Picks the MNIST folder for work on an existing run (export, pictures) that recorded
/// `recorded` as its data folder: `flag`, else `$VAE_MNIST_DIR`, else `recorded` if it
/// still holds the four files, else the cache folder. Reads the environment and looks for
/// the files; reads none of them.
pub fn resolve_data_dir_for_run(flag: Option<&Path>, recorded: &Path) -> DataDir {
    resolve_data_dir_for_run_with(flag, recorded, |key| std::env::var_os(key))
}

/// [`resolve_data_dir_for_run`] with the environment given as a lookup function (for
/// tests).
pub fn resolve_data_dir_for_run_with(
    flag: Option<&Path>,
    recorded: &Path,
    env: impl Fn(&str) -> Option<OsString>,
) -> DataDir {
    let dir = resolve_data_dir_with(flag, env);
    if dir.origin == Origin::Cache
        && !recorded.as_os_str().is_empty()
        && recorded.is_dir()
        && missing_files(recorded).is_empty()
    {
        return DataDir {
            path: recorded.to_path_buf(),
            origin: Origin::Run,
        };
    }
    dir
}

/// Loads the MNIST of a run that recorded `recorded` as its data folder (see
/// [`resolve_data_dir_for_run`]). When that folder is gone and the cache folder fails too
/// (offline, say), the error is [`DataError::RunDataGone`], which says which flag to pass.
pub fn load_for_run(flag: Option<&Path>, recorded: &Path) -> Result<Mnist, DataError> {
    let dir = resolve_data_dir_for_run(flag, recorded);
    let falls_back = dir.origin == Origin::Cache && recorded != dir.path;
    load(&dir).map_err(|e| {
        if falls_back {
            DataError::RunDataGone {
                recorded: recorded.to_path_buf(),
                source: Box::new(e),
            }
        } else {
            e
        }
    })
}

/// Loads MNIST from `dir`; for [`Origin::Cache`] first downloads missing files with
/// [`Downloader::default`] (official mirrors and checksums, progress on stderr).
pub fn load(dir: &DataDir) -> Result<Mnist, DataError> {
    load_with(dir, &Downloader::default())
}

/// [`load`] with a given downloader (mirrors, expected checksums, timeouts).
///
/// For [`Origin::Cache`]: creates the folder, downloads the missing files, loads, and
/// checks every file against `downloader.expected` ([`DataError::ChecksumMismatch`]
/// otherwise). For the other origins nothing is downloaded or checked against a list.
pub fn load_with(dir: &DataDir, downloader: &Downloader) -> Result<Mnist, DataError> {
    if dir.origin != Origin::Cache {
        return load_dir(&dir.path, Some(dir.origin));
    }
    downloader.fetch_missing(&dir.path)?;
    let mnist = load_dir(&dir.path, Some(Origin::Cache))?;
    for kind in FileKind::ALL {
        let (expected, actual) = (downloader.expected.get(kind), mnist.checksums.get(kind));
        if !expected.eq_ignore_ascii_case(actual) {
            return Err(DataError::ChecksumMismatch {
                path: find_file(&dir.path, kind).unwrap_or_else(|| dir.path.join(kind.gz_name())),
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            });
        }
    }
    Ok(mnist)
}

/// Loads the four IDX files from `path`; never downloads.
pub fn load_from_dir(path: &Path) -> Result<Mnist, DataError> {
    load_dir(path, None)
}

/// The file that would be read for `kind` in `dir`: `NAME.gz` if it exists, else `NAME`.
pub fn find_file(dir: &Path, kind: FileKind) -> Option<PathBuf> {
    [dir.join(kind.gz_name()), dir.join(kind.file_name())]
        .into_iter()
        .find(|p| p.is_file())
}

/// The files of `dir` that are missing (neither `NAME.gz` nor `NAME` exists).
pub fn missing_files(dir: &Path) -> Vec<FileKind> {
    FileKind::ALL
        .into_iter()
        .filter(|&k| find_file(dir, k).is_none())
        .collect()
}

fn load_dir(dir: &Path, origin: Option<Origin>) -> Result<Mnist, DataError> {
    let missing = missing_files(dir);
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            origin,
            files: missing,
        });
    }
    // The four files are independent: read, decompress, hash and parse them in parallel.
    let loaded: Vec<Result<idx::Loaded, DataError>> = std::thread::scope(|s| {
        let handles: Vec<_> = FileKind::ALL
            .into_iter()
            .map(|kind| s.spawn(move || load_file(dir, kind)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut files = Vec::with_capacity(4);
    for r in loaded {
        files.push(r?);
    }
    let [train_images, train_labels, test_images, test_labels]: [idx::Loaded; 4] = files
        .try_into()
        .unwrap_or_else(|_| unreachable!("exactly four files are loaded"));
    let checksums = Checksums {
        train_images: train_images.sha256.clone(),
        train_labels: train_labels.sha256.clone(),
        test_images: test_images.sha256.clone(),
        test_labels: test_labels.sha256.clone(),
    };
    Ok(Mnist {
        train: idx::pair(train_images, train_labels)?,
        test: idx::pair(test_images, test_labels)?,
        checksums,
    })
}

fn load_file(dir: &Path, kind: FileKind) -> Result<idx::Loaded, DataError> {
    let path = find_file(dir, kind).ok_or_else(|| DataError::MissingFiles {
        dir: dir.to_path_buf(),
        origin: None,
        files: vec![kind],
    })?;
    let io_err = |source| DataError::Io {
        path: path.clone(),
        source,
    };
    let size = std::fs::metadata(&path).map_err(io_err)?.len();
    if size > idx::MAX_DECODED {
        return Err(DataError::TooLarge {
            path,
            limit: idx::MAX_DECODED,
        });
    }
    let bytes = std::fs::read(&path).map_err(io_err)?;
    idx::parse_file(&path, kind, bytes)
}

#[cfg(test)]
mod tests;
