//! Checkpoints: the model, the optimizer state, the epoch, the config and the RNG state,
//! saved atomically at the end of every epoch.
//!
//! Layout inside a run directory:
//!
//! ```text
//! checkpoint.json                 the commit point: CheckpointState (epoch, files, config,
//!                                 RNG state, metrics history)
//! checkpoint/model-e0003.bpk      model parameters (burnpack, burn's ModuleRecord)
//! checkpoint/optim-e0003.bpk      Adam moments and step counts (burn's OptimizerRecord)
//! ```
//!
//! Every file is written to a temporary name and renamed into place. The weight files of
//! epoch N are written first, under names of their own; `checkpoint.json` is replaced last,
//! which switches the run to epoch N in one step; then the files of older epochs are
//! removed. A crash at any moment leaves the previous complete checkpoint in force.
//!
//! `checkpoint.json` records the SHA-256 of both weight files (`model_sha256`,
//! `optimizer_sha256`, lowercase hex); loading them ([`load_model_from_state`],
//! [`load_optimizer`], so the export, `--resume` and `vae-train pictures`) checks the
//! bytes against it, which catches a damaged file and another run's file of the same
//! shapes ([`CheckpointError::DigestMismatch`]). A `checkpoint.json` written before the
//! digests existed has none: it is still read, with a warning on stderr that its files
//! cannot be checked; the next epoch saved adds them.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, RunConfig};
use crate::fsutil;
use crate::metrics::EpochMetrics;
use crate::model::Vae;

/// File name of the checkpoint's commit record inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// Folder (inside the run directory) of the weight files.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Version of the checkpoint layout written by this crate.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// State of the run's randomness at an epoch boundary. Every random stream of epoch `e` is
/// derived from `(seed, e)` (see [`crate::rng`]), so these two numbers are the whole state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The run seed.
    pub seed: u64,
    /// The epoch (1-based) whose streams come next.
    pub next_epoch: u64,
}

/// The contents of `checkpoint.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// Layout version ([`CHECKPOINT_FORMAT`]).
    pub format: u32,
    /// Number of completed epochs.
    pub epoch: usize,
    /// Model weights, relative to the run directory.
    pub model_file: PathBuf,
    /// Optimizer state, relative to the run directory.
    pub optimizer_file: PathBuf,
    /// SHA-256 of the model file (lowercase hex); `None` in checkpoints written before
    /// digests were recorded. Filled in by [`save`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    /// SHA-256 of the optimizer file, as `model_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_sha256: Option<String>,
    /// The run's configuration.
    pub config: RunConfig,
    /// Randomness at the boundary after `epoch`.
    pub rng: RngState,
    /// Metrics of epochs `1..=epoch`, in order.
    pub metrics: Vec<EpochMetrics>,
}

/// A checkpoint that cannot be written or read; the message says what to do.
#[derive(Debug)]
pub enum CheckpointError {
    /// No checkpoint in the run directory.
    Missing {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file exists but its contents are not what this version writes.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The configuration in the checkpoint is invalid.
    Config(ConfigError),
    /// A weight file's bytes do not have the SHA-256 that `checkpoint.json` records.
    DigestMismatch {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { run_dir } => write!(
                f,
                "no checkpoint in {}: train first (`vae-train --out {}`), or point at the \
                 folder of a finished run",
                run_dir.display(),
                run_dir.display()
            ),
            Self::Io { path, source } => write!(
                f,
                "cannot access {}: {source}; check the path and its permissions",
                path.display()
            ),
            Self::Corrupt { path, detail } => write!(
                f,
                "{} is damaged or from another version ({detail}): retrain, or resume from a \
                 copy of the run folder",
                path.display()
            ),
            Self::Config(e) => write!(f, "{e}"),
            Self::DigestMismatch { path } => write!(
                f,
                "{} is damaged or belongs to another run: its SHA-256 differs from the one in \
                 {CHECKPOINT_FILE}; restore the run folder from a copy, or retrain",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically, creating its folder if needed.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fsutil::create_parent_dir(path)?;
    fsutil::atomic_write(path, bytes)
}

/// Whether `run_dir` holds a checkpoint.
pub fn exists(run_dir: &Path) -> bool {
    run_dir.join(CHECKPOINT_FILE).is_file()
}

/// Saves the checkpoint of a completed epoch (`state.epoch`); `state.model_file` and
/// `state.optimizer_file` are filled in here. Older epochs' weight files are removed
/// once the new checkpoint is committed.
pub fn save(
    run_dir: &Path,
    model: &Vae,
    optimizer: &ModuleOptimizer,
    mut state: CheckpointState,
) -> Result<(), CheckpointError> {
    let model_rel = PathBuf::from(CHECKPOINT_DIR).join(format!("model-e{:04}.bpk", state.epoch));
    let optim_rel = PathBuf::from(CHECKPOINT_DIR).join(format!("optim-e{:04}.bpk", state.epoch));
    let model_path = run_dir.join(&model_rel);
    let optim_path = run_dir.join(&optim_rel);

    let model_bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| corrupt(&model_path, e))?;
    write_file(&model_path, &model_bytes).map_err(io_err(&model_path))?;
    state.model_sha256 = Some(sha256_hex(&model_bytes));
    let optim_bytes = optimizer
        .to_record()
        .into_bytes()
        .map_err(|e| corrupt(&optim_path, e))?;
    write_file(&optim_path, &optim_bytes).map_err(io_err(&optim_path))?;
    state.optimizer_sha256 = Some(sha256_hex(&optim_bytes));

    state.format = CHECKPOINT_FORMAT;
    state.model_file = model_rel.clone();
    state.optimizer_file = optim_rel.clone();
    let json_path = run_dir.join(CHECKPOINT_FILE);
    let json = serde_json::to_string_pretty(&state).map_err(|e| corrupt(&json_path, e))?;
    write_file(&json_path, json.as_bytes()).map_err(io_err(&json_path))?;

    // The new checkpoint is committed; drop other epochs' weight files.
    if let Ok(entries) = fs::read_dir(run_dir.join(CHECKPOINT_DIR)) {
        for entry in entries.flatten() {
            let rel = PathBuf::from(CHECKPOINT_DIR).join(entry.file_name());
            if rel != model_rel && rel != optim_rel {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

fn corrupt(path: &Path, detail: impl fmt::Display) -> CheckpointError {
    CheckpointError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Reads `run_dir/checkpoint.json`.
pub fn load_state(run_dir: &Path) -> Result<CheckpointState, CheckpointError> {
    let path = run_dir.join(CHECKPOINT_FILE);
    if !path.is_file() {
        return Err(CheckpointError::Missing {
            run_dir: run_dir.to_path_buf(),
        });
    }
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    let state: CheckpointState = serde_json::from_str(&text).map_err(|e| corrupt(&path, e))?;
    if state.format != CHECKPOINT_FORMAT {
        return Err(corrupt(
            &path,
            format!(
                "checkpoint format {} but this vae-train reads format {CHECKPOINT_FORMAT}",
                state.format
            ),
        ));
    }
    state.config.validate().map_err(CheckpointError::Config)?;
    for rel in [&state.model_file, &state.optimizer_file] {
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(corrupt(
                &path,
                format!("file {} lies outside the run folder", rel.display()),
            ));
        }
    }
    Ok(state)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes of `path`, checked against `sha256` when the checkpoint records one.
fn read_bytes(path: &Path, sha256: Option<&str>) -> Result<Bytes, CheckpointError> {
    let data = fs::read(path).map_err(io_err(path))?;
    if let Some(expected) = sha256
        && !sha256_hex(&data).eq_ignore_ascii_case(expected)
    {
        return Err(CheckpointError::DigestMismatch {
            path: path.to_path_buf(),
        });
    }
    Ok(Bytes::from_bytes_vec(data))
}

/// Loads the weights of the checkpoint described by `state` into a fresh model on
/// `device` (a plain CPU device such as [`crate::backend::device`] for inference, or an
/// autodiff one to keep training).
pub fn load_model_from_state(
    run_dir: &Path,
    state: &CheckpointState,
    device: &Device,
) -> Result<Vae, CheckpointError> {
    let path = run_dir.join(&state.model_file);
    if state.model_sha256.is_none() {
        eprintln!(
            "warning: {} records no SHA-256 of its weight files (written by an older \
             vae-train), so they cannot be checked; the next epoch saved adds them",
            run_dir.join(CHECKPOINT_FILE).display()
        );
    }
    let bytes = read_bytes(&path, state.model_sha256.as_deref())?;
    let record = ModuleRecord::from_bytes(bytes).map_err(|e| corrupt(&path, e))?;
    let fresh = Vae::new(&state.config.model, state.config.train.seed, device)
        .map_err(CheckpointError::Config)?;
    fresh.try_load_record(record).map_err(|e| corrupt(&path, e))
}

/// Loads the latest checkpoint of `run_dir` into a model on `device`; returns the run's
/// configuration with it. This is the exporter's entry point:
///
/// ```no_run
/// use vae_train::{backend, checkpoint};
/// let (config, model) = checkpoint::load_model(std::path::Path::new("runs/latest"), &backend::device())?;
/// let layers = model.decoder_layers();
/// # Ok::<(), checkpoint::CheckpointError>(())
/// ```
pub fn load_model(run_dir: &Path, device: &Device) -> Result<(RunConfig, Vae), CheckpointError> {
    let state = load_state(run_dir)?;
    let model = load_model_from_state(run_dir, &state, device)?;
    Ok((state.config, model))
}

/// Loads the optimizer state of the checkpoint described by `state` into `optimizer`.
pub fn load_optimizer(
    run_dir: &Path,
    state: &CheckpointState,
    optimizer: ModuleOptimizer,
) -> Result<ModuleOptimizer, CheckpointError> {
    let path = run_dir.join(&state.optimizer_file);
    let bytes = read_bytes(&path, state.optimizer_sha256.as_deref())?;
    let record = OptimizerRecord::from_bytes(bytes).map_err(|e| corrupt(&path, e))?;
    Ok(optimizer.load_record(record))
}
