//! README's sequence: `vae-train --data-dir DIR` then `vae-export --run RUN --out FILE`
//! with neither `--data-dir` nor `VAE_MNIST_DIR`. The export must read the data folder the
//! run recorded in its config.json; when that folder is gone and MNIST cannot be
//! downloaded, it must fail with one line that names the flag to pass.
//!
//! The download cache is an empty temporary folder and every proxy points at a closed
//! port, so an export that ignored the run's folder would try to download and fail.

use std::path::Path;

use assert_cmd::Command;

mod common;
use common::{fixture, train_tiny_run};

/// `vae-export --run RUN --out OUT` with no MNIST folder from the environment, a private
/// empty cache and no way to reach the network.
fn offline_export(home: &Path, run: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-export"));
    cmd.env_remove("VAE_MNIST_DIR")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join(".cache"));
    for proxy in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
    ] {
        cmd.env(proxy, "http://127.0.0.1:9");
    }
    cmd.arg("--run").arg(run).arg("--out").arg(out);
    cmd
}

#[test]
fn export_finds_the_data_folder_the_run_was_trained_on() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // The data in a folder of the test's own, so that it can disappear later.
    let data = tmp.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    let (run, home) = (tmp.path().join("run"), tmp.path().join("home"));
    std::fs::create_dir(&home).unwrap();
    train_tiny_run(&data, &run, &[]);

    let blob = tmp.path().join("decoder.bin");
    offline_export(&home, &run, &blob).assert().success();
    assert!(blob.is_file(), "no blob written");

    // The recorded folder is gone and nothing can be downloaded: one line naming the flag.
    std::fs::remove_dir_all(&data).unwrap();
    let again = tmp.path().join("again.bin");
    let out = offline_export(&home, &run, &again)
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    for needle in [data.to_str().unwrap(), "--data-dir", "VAE_MNIST_DIR"] {
        assert!(error[0].contains(needle), "{needle:?} missing in {stderr}");
    }
    assert!(
        !again.exists(),
        "a blob was written although the export failed"
    );
}
