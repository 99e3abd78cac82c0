//! A run folder that is never lost: one writer at a time, no run replaced by accident,
//! and a fresh start that swaps its files in only once it has a checkpoint.
//!
//! * [`RunLock`]: an advisory lock on `OUT/.vae-train.lock` (the standard library's
//!   `File::try_lock`: `flock` on Unix, `LockFileEx` on Windows), held by a training run
//!   and by `vae-train pictures` for as long as they write into the folder. A second
//!   writer is refused at once with [`RunFolderError::Locked`]; the lock goes away with
//!   the process, however it ends.
//! * [`check_fresh_start`]: a folder that holds a run ([`holds_run`]) is only trained
//!   into from scratch with `--force` ([`RunFolderError::HoldsRun`] names the choices).
//! * [`Staging`]: a fresh start trains into `OUT/.new-run/` and moves its files into
//!   `OUT` ([`Staging::commit`]) right after its first checkpoint; a run that fails
//!   before that leaves `OUT` as it was. The old run's files are moved aside into
//!   `OUT/.replaced-run/` first and deleted once the new checkpoint is in place; a crash
//!   in between is repaired by the next [`RunLock::acquire`] (the old run comes back).

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use crate::checkpoint::{self, CHECKPOINT_DIR, CHECKPOINT_FILE};
use crate::config::CONFIG_FILE;
use crate::fsutil;
use crate::render;
use crate::training::METRICS_FILE;

/// The lock file inside a run folder (empty; only its lock matters).
pub const LOCK_FILE: &str = ".vae-train.lock";
/// Where a fresh start writes until its first checkpoint.
pub const STAGING_DIR: &str = ".new-run";
/// Where a replaced run's files wait while the new run's files move in.
pub const REPLACED_DIR: &str = ".replaced-run";
/// The blob `vae-export` writes into a run folder by default (part of the run: replaced
/// with it).
pub const DEFAULT_BLOB: &str = "decoder.bin";

/// Everything a run keeps in its folder; what `--force` replaces. Other files in the
/// folder are never touched.
pub const RUN_FILES: [&str; 11] = [
    CHECKPOINT_FILE,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    render::LOSS_PNG,
    render::RECONSTRUCTIONS_PNG,
    render::SAMPLES_PNG,
    render::INTERPOLATION_PNG,
    render::MANIFOLD_PNG,
    render::LATENT_SCATTER_PNG,
    DEFAULT_BLOB,
];

/// Why a run folder cannot be used.
#[derive(Debug)]
pub enum RunFolderError {
    /// Another process holds the folder's lock.
    Locked {
        /// The run folder.
        dir: PathBuf,
    },
    /// A fresh start into a folder that holds a run, without `--force`.
    HoldsRun {
        /// The run folder.
        dir: PathBuf,
        /// Epochs its checkpoint has, if it has one.
        epochs: Option<usize>,
    },
    /// A file or folder of the run could not be created, locked or moved.
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl fmt::Display for RunFolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Locked { dir } => write!(
                f,
                "{} is in use by another vae-train (it holds {}): wait until it finishes, or \
                 train into another --out folder",
                dir.display(),
                dir.join(LOCK_FILE).display()
            ),
            Self::HoldsRun { dir, epochs } => {
                write!(f, "{} already holds a run", dir.display())?;
                if let Some(e) = epochs {
                    write!(f, " ({e} epochs trained)")?;
                }
                write!(
                    f,
                    ": pass --resume to continue it, --out DIR for a new run elsewhere, or \
                     --force to replace it (its files are replaced once the new run has saved \
                     its first epoch)"
                )
            }
            Self::Io { path, source } => write!(
                f,
                "cannot prepare {}: {source}; check that the folder is writable",
                path.display()
            ),
        }
    }
}

impl std::error::Error for RunFolderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RunFolderError + '_ {
    move |source| RunFolderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `dir` holds (part of) a run: any of [`RUN_FILES`].
pub fn holds_run(dir: &Path) -> bool {
    RUN_FILES.iter().any(|name| dir.join(name).exists())
}

/// A fresh start into `dir` is allowed: `dir` holds no run, or `force` says to replace it.
pub fn check_fresh_start(dir: &Path, force: bool) -> Result<(), RunFolderError> {
    if force || !holds_run(dir) {
        return Ok(());
    }
    Err(RunFolderError::HoldsRun {
        dir: dir.to_path_buf(),
        epochs: checkpoint::load_state(dir).ok().map(|s| s.epoch),
    })
}

/// The exclusive lock of a run folder, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of `dir` (which must exist), or fails at once with
    /// [`RunFolderError::Locked`]. Then repairs what a killed writer left: an interrupted
    /// swap (the old run comes back), a fresh start's staging folder, temporary files.
    pub fn acquire(dir: &Path) -> Result<Self, RunFolderError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(RunFolderError::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(RunFolderError::Io { path, source }),
        }
        recover(dir)?;
        Ok(Self { _file: file })
    }
}

/// Repairs `dir` after a writer was killed (the caller holds its lock).
fn recover(dir: &Path) -> Result<(), RunFolderError> {
    let replaced = dir.join(REPLACED_DIR);
    if replaced.is_dir() {
        if !dir.join(CHECKPOINT_FILE).is_file() {
            // The swap stopped before the new checkpoint arrived: the old run wins.
            for entry in fs::read_dir(&replaced)
                .map_err(io_err(&replaced))?
                .flatten()
            {
                let target = dir.join(entry.file_name());
                remove_any(&target).map_err(io_err(&target))?;
                fs::rename(entry.path(), &target).map_err(io_err(&target))?;
            }
        }
        remove_any(&replaced).map_err(io_err(&replaced))?;
    }
    let staging = dir.join(STAGING_DIR);
    remove_any(&staging).map_err(io_err(&staging))?;
    fsutil::remove_stale_temporaries(dir);
    fsutil::remove_stale_temporaries(&dir.join(CHECKPOINT_DIR));
    Ok(())
}

/// Removes a file or a folder tree; a missing path is fine.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    }
}

/// A fresh run being written in `OUT/.new-run/` until its first checkpoint; removed when
/// dropped uncommitted (the run failed), leaving `OUT` as it was.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// An empty staging folder in `out` (whose lock the caller holds).
    pub fn begin(out: &Path) -> Result<Self, RunFolderError> {
        let dir = out.join(STAGING_DIR);
        remove_any(&dir).map_err(io_err(&dir))?;
        fs::create_dir(&dir).map_err(io_err(&dir))?;
        Ok(Self {
            out: out.to_path_buf(),
            dir,
            committed: false,
        })
    }

    /// The folder the new run writes into until [`commit`](Self::commit).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Replaces the run in `OUT` (if any) by the staged files; `checkpoint.json` moves
    /// last, so `OUT` switches to the new run in one step.
    pub fn commit(mut self) -> Result<(), RunFolderError> {
        let out = self.out.clone();
        let replaced = out.join(REPLACED_DIR);
        remove_any(&replaced).map_err(io_err(&replaced))?;
        fs::create_dir(&replaced).map_err(io_err(&replaced))?;
        for name in RUN_FILES {
            let old = out.join(name);
            if fs::symlink_metadata(&old).is_ok() {
                fs::rename(&old, replaced.join(name)).map_err(io_err(&old))?;
            }
        }
        let mut staged: Vec<_> = fs::read_dir(&self.dir)
            .map_err(io_err(&self.dir))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        // The commit point last.
        staged.sort_by_key(|name| name == CHECKPOINT_FILE);
        for name in staged {
            let target = out.join(&name);
            fs::rename(self.dir.join(&name), &target).map_err(io_err(&target))?;
        }
        if let Ok(d) = File::open(&out) {
            let _ = d.sync_all();
        }
        self.committed = true;
        let _ = fs::remove_dir(&self.dir);
        let _ = remove_any(&replaced);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_any(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests;
