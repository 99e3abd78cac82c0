//! What the CLI tests share: the MNIST fixture and a tiny training run.

use std::path::{Path, PathBuf};

use clap::Parser;

/// The small MNIST subset the repository carries.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

/// Trains a tiny model (z = 2, 16-wide layers, one epoch, no pictures) on the MNIST folder
/// `data` into `run`, with `extra` flags appended.
pub fn train_tiny_run(data: &Path, run: &Path, extra: &[&str]) {
    let mut args = vec![
        "vae-train",
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--latent-dim",
        "2",
        "--encoder-hidden",
        "16",
        "--decoder-hidden",
        "16",
        "--no-pictures",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let cli = vae_train::cli::Cli::try_parse_from(args).expect("valid vae-train flags");
    vae_train::cli::run(cli).expect("tiny training run");
}

/// `vae-export` without `VAE_MNIST_DIR` from the environment.
#[allow(dead_code)]
pub fn export_cmd() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vae-export"));
    cmd.env_remove("VAE_MNIST_DIR");
    cmd
}

/// Non-zero exit, `error:` first, every `needles` in stderr (any case), at most three
/// lines, no panic. Returns stderr.
#[allow(dead_code)]
pub fn assert_clean_failure(cmd: &mut assert_cmd::Command, needles: &[&str]) -> String {
    let output = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    let lines = stderr.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines <= 3, "{lines}-line error: {stderr}");
    for needle in needles {
        assert!(
            stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr does not mention {needle:?}: {stderr}"
        );
    }
    stderr
}

/// A path as `&str` (temporary paths are UTF-8).
#[allow(dead_code)]
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// A copy of every file under `from` (folders included) in `to`.
#[allow(dead_code)]
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
