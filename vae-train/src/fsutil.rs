//! Writing files so that a reader never sees a partial one: the one atomic writer that
//! checkpoints, run configs, metrics, pictures, downloads, the classifier cache and
//! exported blobs all go through.
//!
//! [`atomic_write`] writes a uniquely named temporary file next to the target (created
//! with `create_new`, so it never follows or clobbers another file), syncs it, renames it
//! over the target and syncs the folder, so that after a crash the path holds either the
//! old bytes or the new ones. The temporary file is removed on any failure.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically (see the [module docs](self)). The folder must
/// exist; [`create_parent_dir`] makes it first where a caller wants that.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let dir = parent_dir(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
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

/// The folder `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests;
