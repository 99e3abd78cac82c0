//! `vae-train` on bad inputs: missing or corrupt MNIST files, a file where a folder is
//! expected, out-of-range flags, an impossible output folder and damaged checkpoints.
//! Each must exit non-zero with a short `error: ...` that names the problem, never panic,
//! and leave nothing half-written behind.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// `vae-train` with a tiny model and data set (no `--epochs`, `--data-dir`, `--out`).
fn train_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    cmd.env_remove("VAE_MNIST_DIR")
        .args([
            "--latent-dim",
            "2",
            "--encoder-hidden",
            "16",
            "--decoder-hidden",
            "16",
        ])
        .args([
            "--max-train",
            "64",
            "--max-test",
            "64",
            "--no-pictures",
            "--quiet",
        ]);
    cmd
}

/// Non-zero exit, `error:` first, every `needles` in stderr, short, no panic.
fn assert_clean_failure(cmd: &mut Command, needles: &[&str]) {
    let output = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
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
}

/// A copy of the fixture's four files in `dir`.
fn copy_fixture(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in MNIST_FILES {
        std::fs::copy(fixture().join(name), dir.join(name)).unwrap();
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Trains on `data` into `t/run`; must fail with `needles`, and leave no run folder.
fn assert_data_rejected(t: &Path, data: &Path, needles: &[&str]) {
    let out = t.join("run");
    assert_clean_failure(
        train_cmd().args(["--epochs", "1", "--data-dir", s(data), "--out", s(&out)]),
        needles,
    );
    assert!(!out.exists(), "run folder created for bad data");
}

#[test]
fn data_dir_missing() {
    let t = tempfile::tempdir().unwrap();
    assert_data_rejected(t.path(), &t.path().join("nope"), &["missing", "nope"]);
}

#[test]
fn data_dir_is_a_file() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_data_rejected(t.path(), &file, &["missing", "file"]);
}

#[test]
fn data_file_missing() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("mnist");
    copy_fixture(&data);
    std::fs::remove_file(data.join("train-labels-idx1-ubyte.gz")).unwrap();
    assert_data_rejected(t.path(), &data, &["missing", "train-labels-idx1-ubyte"]);
}

#[test]
fn data_file_truncated_idx() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("mnist");
    copy_fixture(&data);
    let name = "train-images-idx3-ubyte.gz";
    let idx = gunzip(&std::fs::read(data.join(name)).unwrap());
    std::fs::write(data.join(name), gzip(&idx[..1000])).unwrap();
    assert_data_rejected(t.path(), &data, &[name, "truncated"]);
}

#[test]
fn data_file_bad_magic_and_not_gzip() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("mnist");
    copy_fixture(&data);
    let name = "t10k-labels-idx1-ubyte.gz";
    let mut idx = gunzip(&std::fs::read(data.join(name)).unwrap());
    idx[2] ^= 0x55; // the IDX magic
    std::fs::write(data.join(name), gzip(&idx)).unwrap();
    assert_data_rejected(t.path(), &data, &[name, "idx"]);

    // Not gzip at all under a .gz name.
    copy_fixture(&data);
    let name = "train-labels-idx1-ubyte.gz";
    std::fs::write(data.join(name), b"plain garbage, not gzip").unwrap();
    assert_data_rejected(t.path(), &data, &[name]);
}

#[test]
fn bad_flags() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let data = fixture();
    assert_clean_failure(
        train_cmd().args(["--epochs", "0", "--data-dir", s(&data), "--out", s(&out)]),
        &["--epochs"],
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    assert_clean_failure(
        cmd.args(["--latent-dim", "0", "--epochs", "1", "--data-dir", s(&data)])
            .args(["--out", s(&out)]),
        &["--latent-dim", "0"],
    );
    assert!(!out.exists());
}

#[test]
fn output_folder_under_a_regular_file() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_clean_failure(
        train_cmd()
            .args(["--epochs", "1", "--data-dir", s(&fixture())])
            .args(["--out", s(&file.join("run"))]),
        &["file/run"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// A valid one-epoch run in `t/run`, then a copy of it damaged by `damage`; resuming it
/// and redrawing its pictures must both fail cleanly and leave its files as they were.
fn damaged_run(damage: impl Fn(&Path), needles: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    train_cmd()
        .args([
            "--epochs",
            "1",
            "--data-dir",
            s(&fixture()),
            "--out",
            s(&run),
        ])
        .assert()
        .success();
    damage(&run);
    let before = snapshot(&run);
    assert_clean_failure(
        train_cmd()
            .args(["--epochs", "2", "--resume", "--data-dir", s(&fixture())])
            .args(["--out", s(&run)]),
        needles,
    );
    assert_eq!(
        snapshot(&run),
        before,
        "a failed resume changed the run folder"
    );
    let mut pictures = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    assert_clean_failure(
        pictures.args(["pictures", "--run", s(&run), "--data-dir", s(&fixture())]),
        needles,
    );
    assert_eq!(
        snapshot(&run),
        before,
        "failed pictures changed the run folder"
    );
}

/// Every file under `dir` with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.push((path, bytes));
        }
    }
    files.sort();
    files
}

fn truncate_checkpoint_file(run: &Path, prefix: &str) {
    for entry in std::fs::read_dir(run.join("checkpoint")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(prefix)
        {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
        }
    }
}

#[test]
fn garbage_checkpoint_json() {
    damaged_run(
        |run| std::fs::write(run.join("checkpoint.json"), b"{ not json").unwrap(),
        &["checkpoint.json", "damaged"],
    );
}

#[test]
fn truncated_model_weights() {
    damaged_run(
        |run| truncate_checkpoint_file(run, "model"),
        &["model-e0001", "damaged"],
    );
}
