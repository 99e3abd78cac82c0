//! Downloading the MNIST files into the cache folder.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Checksums, DataError, FileKind, idx, missing_files};
use crate::fsutil;

/// How missing MNIST files are downloaded: mirrors, expected checksums, limits.
///
/// For each missing file `NAME`, the URL `MIRROR + "NAME.gz"` is fetched from each mirror
/// in turn until one serves gzip data whose decompressed SHA-256 equals
/// `expected.get(kind)`. That `.gz` is then written to the folder atomically (a
/// temporary file in the same folder, fsync, rename), so a reader never sees a partial
/// file. A mirror that cannot be reached at all (DNS, connection, TLS, timeout) is not
/// asked again for the other files.
#[derive(Clone, Debug)]
pub struct Downloader {
    /// Base URLs, tried in order; a missing trailing `/` is added.
    pub mirrors: Vec<String>,
    /// SHA-256 of each decompressed file; a download that differs is rejected.
    pub expected: Checksums,
    /// Limit for connecting to a mirror (DNS, TCP, TLS).
    pub connect_timeout: Duration,
    /// Limit for one read of the response while it stalls.
    pub read_timeout: Duration,
    /// Limit for a whole request, body included.
    pub timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_bytes: u64,
    /// Show what is downloaded on stderr (a progress bar when stderr is a terminal).
    pub progress: bool,
    /// Honour the `HTTP(S)_PROXY` / `ALL_PROXY` / `NO_PROXY` environment variables.
    pub use_env_proxy: bool,
}

impl Downloader {
    /// The mirrors [`Downloader::default`] uses, in the order tried.
    pub const DEFAULT_MIRRORS: [&'static str; 2] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ];

    /// A downloader for the given mirrors and checksums, with the default limits and
    /// progress output off (what tests want).
    pub fn new(mirrors: impl IntoIterator<Item = impl Into<String>>, expected: Checksums) -> Self {
        Downloader {
            mirrors: mirrors.into_iter().map(Into::into).collect(),
            expected,
            progress: false,
            ..Self::default()
        }
    }

    /// Downloads the files missing in `dir` (creating `dir` if needed) and returns them.
    ///
    /// Files already present (as `NAME.gz` or `NAME`) are left alone. On failure the error
    /// names the files still missing, every attempt, and how to supply the files by hand;
    /// no partial file is left behind.
    pub fn fetch_missing(&self, dir: &Path) -> Result<Vec<FileKind>, DataError> {
        let missing = missing_files(dir);
        if missing.is_empty() {
            return Ok(missing);
        }
        fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let agent = self.agent();
        let mut unreachable = vec![false; self.mirrors.len()];
        let mut failed = Vec::new();
        let mut attempts = Vec::new();
        for &kind in &missing {
            let mut tries = Vec::new();
            let mut got = None;
            for (m, base) in self.mirrors.iter().enumerate() {
                let url = file_url(base, kind);
                if unreachable[m] {
                    tries.push(format!("{url}: skipped, the mirror was unreachable before"));
                    continue;
                }
                match self.fetch_one(&agent, &url, kind) {
                    Ok(bytes) => {
                        got = Some(bytes);
                        break;
                    }
                    Err(f) => {
                        if self.progress {
                            eprintln!("MNIST: {url}: {}", f.reason);
                        }
                        unreachable[m] |= f.unreachable;
                        tries.push(format!("{url}: {}", f.reason));
                    }
                }
            }
            match got {
                Some(bytes) => write_atomic(&dir.join(kind.gz_name()), &bytes)?,
                None => {
                    if self.mirrors.is_empty() {
                        tries.push(format!("{}: no mirror configured", kind.gz_name()));
                    }
                    failed.push(kind);
                    attempts.extend(tries);
                }
            }
        }
        if failed.is_empty() {
            Ok(missing)
        } else {
            Err(DataError::Download {
                dir: dir.to_path_buf(),
                files: failed,
                attempts,
            })
        }
    }

    fn agent(&self) -> ureq::Agent {
        let mut config = ureq::Agent::config_builder()
            .timeout_connect(Some(self.connect_timeout))
            .timeout_per_read(Some(self.read_timeout))
            .timeout_global(Some(self.timeout))
            .user_agent(concat!("vae-train/", env!("CARGO_PKG_VERSION")));
        if !self.use_env_proxy {
            config = config.proxy(None);
        }
        config.build().new_agent()
    }

    /// Fetches `url` and returns its bytes if they are gzip data with the right checksum.
    fn fetch_one(
        &self,
        agent: &ureq::Agent,
        url: &str,
        kind: FileKind,
    ) -> Result<Vec<u8>, Failure> {
        let response = agent.get(url).call().map_err(|e| Failure {
            unreachable: is_unreachable(&e),
            reason: e.to_string(),
        })?;
        let body = response.into_body();
        let len = body.content_length();
        if len.is_some_and(|l| l > self.max_bytes) {
            return Err(Failure::bad(format!(
                "response of {} bytes exceeds the limit of {}",
                len.unwrap_or_default(),
                self.max_bytes
            )));
        }
        let bar = self.progress_bar(len, kind, url);
        let mut reader = body.into_with_config().limit(self.max_bytes).reader();
        let cap = usize::try_from(len.unwrap_or(0).min(self.max_bytes)).unwrap_or(0);
        let mut bytes = Vec::with_capacity(cap);
        let mut chunk = vec![0u8; 1 << 16];
        let read = loop {
            match reader.read(&mut chunk) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    bytes.extend_from_slice(&chunk[..n]);
                    bar.inc(n as u64);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        bar.finish_and_clear();
        read.map_err(|e| Failure::bad(format!("download broke off: {e}")))?;
        if !idx::is_gzip(&bytes) {
            return Err(Failure::bad(format!(
                "not gzip data ({} bytes)",
                bytes.len()
            )));
        }
        let data = idx::gunzip(Path::new(url), &bytes).map_err(|e| Failure::bad(e.to_string()))?;
        let actual = idx::sha256_hex(&data);
        let expected = self.expected.get(kind);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Failure::bad(format!(
                "checksum mismatch: decompressed SHA-256 is {actual}, expected {expected}"
            )));
        }
        if self.progress {
            eprintln!(
                "MNIST: downloaded {url} ({} bytes, SHA-256 ok)",
                bytes.len()
            );
        }
        Ok(bytes)
    }

    fn progress_bar(&self, len: Option<u64>, kind: FileKind, url: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        eprintln!("MNIST: fetching {url}");
        let (bar, template) = match len {
            Some(len) => (
                ProgressBar::new(len),
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} {msg} {bytes} {bytes_per_sec}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(kind.gz_name());
        bar
    }
}

impl Default for Downloader {
    /// The official mirrors and checksums; progress on; connect 15 s, stall 60 s,
    /// whole file 15 min; at most 64 MiB per response.
    fn default() -> Self {
        Downloader {
            mirrors: Self::DEFAULT_MIRRORS.map(String::from).to_vec(),
            expected: Checksums::official(),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(15 * 60),
            max_bytes: 64 << 20,
            progress: true,
            use_env_proxy: true,
        }
    }
}

/// Why one attempt failed.
struct Failure {
    reason: String,
    /// The mirror could not be reached at all: do not try it for the other files.
    unreachable: bool,
}

impl Failure {
    fn bad(reason: String) -> Self {
        Failure {
            reason,
            unreachable: false,
        }
    }
}

fn is_unreachable(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Tls(_)
            | ureq::Error::Rustls(_)
    )
}

fn file_url(base: &str, kind: FileKind) -> String {
    let sep = if base.ends_with('/') { "" } else { "/" };
    format!("{base}{sep}{}", kind.gz_name())
}

/// Writes `bytes` to `path` atomically ([`fsutil::atomic_write`]).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    fsutil::atomic_write(path, bytes).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}
