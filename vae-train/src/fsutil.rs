//! Writing files so that a reader never sees a partial one: the one atomic writer that
//! checkpoints, run configs, metrics, pictures, downloads, the classifier cache and
//! exported blobs all go through.
//!
//! [`atomic_write`] writes a uniquely named temporary file next to the target (created
//! with `create_new`, so it never follows or clobbers another file), syncs it, renames it
//! over the target and syncs the folder, so that after a crash the path holds either the
//! old bytes or the new ones. The temporary file is removed on any failure.
//! [`atomic_write_with`] does the same for output that is produced piece by piece
//! (streamed, never held in memory whole).
//!
//! A process killed while writing leaves its temporary file (`.NAME.tmp-PID-N`) behind;
//! [`remove_stale_temporaries`] removes those of processes that are gone.
//! [`same_file`] tells whether two paths name one file, so that no output overwrites an
//! input.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The infix of every temporary file name: `.NAME.tmp-PID-N`.
const TMP_INFIX: &str = ".tmp-";

/// Writes `bytes` to `path` atomically (see the [module docs](self)). The folder must
/// exist; [`create_parent_dir`] makes it first where a caller wants that.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// Like [`atomic_write`], with the bytes written by `fill` into a buffered writer (for
/// output too large to hold in memory). When `fill` fails, nothing is left behind and
/// `path` keeps its old bytes.
pub fn atomic_write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let dir = parent_dir(path);
    let tmp = dir.join(format!(
        ".{}{TMP_INFIX}{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file does not exist if creating it failed.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename durable. Not every platform can open a folder for syncing; the file
    // itself is complete either way, so that is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates the folder that will hold `path` (and its parents). Where a file stands on
/// that way, says so and names it (`create_dir_all` alone would only say "File exists").
pub fn create_parent_dir(path: &Path) -> io::Result<()> {
    let dir = parent_dir(path);
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "{} is a file, not a folder: choose an output path inside a folder",
                file.display()
            ),
        ));
    }
    fs::create_dir_all(dir)
}

/// Checks, without creating anything, that `path` could be written as an output: no
/// file stands where one of its folders should be, and it is not a folder itself. The
/// error reads like [`create_parent_dir`]'s.
pub fn check_output_path(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!(
                "{} is a folder: give a file name for the output",
                path.display()
            ),
        ));
    }
    if let Some(file) = parent_dir(path).ancestors().find(|a| a.is_file()) {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "{} is a file, not a folder: choose an output path inside a folder",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Whether `a` and `b` name the same file: the same path once links and `..` are
/// resolved (for a path that does not exist yet: its folder resolved), or, on Unix, the
/// same inode (hard links).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    match (resolved(a), resolved(b)) {
        (Some(ra), Some(rb)) => ra == rb,
        _ => false,
    }
}

/// `path` with its links resolved; for a path that does not exist, its resolved folder
/// joined with its file name.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let dir = fs::canonicalize(parent_dir(path)).ok()?;
    Some(dir.join(name))
}

/// Removes the temporary files ([`atomic_write`]'s `.NAME.tmp-PID-N`) in `dir` that a
/// killed process left: those whose process is gone (on Linux, no `/proc/PID`), or,
/// where that cannot be told, that are more than a day old. Returns how many were
/// removed; a folder that cannot be read removes nothing.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = temporary_pid(&name.to_string_lossy()) else {
            continue;
        };
        if pid != std::process::id()
            && !process_alive(pid, &entry.path())
            && entry.file_type().is_ok_and(|t| t.is_file())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// The PID in a temporary file name `.NAME.tmp-PID-N`, if `name` is one.
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(TMP_INFIX)?;
    let (pid, counter) = tail.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` may still be writing `file`.
fn process_alive(pid: u32, file: &Path) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    // No /proc: only a temporary file untouched for a day counts as abandoned.
    let age = fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    age.is_none_or(|a| a < std::time::Duration::from_secs(24 * 3600))
}

/// The folder `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests;
