//! Shared helpers for the workspace's end-to-end and parity tests.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The 600 / 200 digit MNIST fixture.
pub fn fixture_dir() -> PathBuf {
    repo_root().join("tests/fixtures/mnist")
}

/// The committed default blob (full-MNIST model) and its golden outputs.
pub fn models_dir() -> PathBuf {
    repo_root().join("examples/models")
}
