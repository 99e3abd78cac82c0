//! What a user already has is never lost: a run folder that holds a run is refused
//! unless `--resume` or `--force` says what to do with it; a fresh start that fails
//! leaves the old run as it was; one writer at a time (an advisory lock); checkpoints are
//! checked against the SHA-256 digests in checkpoint.json; the limits of the exporter are
//! checked when a run starts; resume mismatches read like flags; stale temporary files
//! are cleaned up; the per-epoch int8 check is skipped where it costs too much.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// `vae-train` with a tiny model on the fixture, one epoch, into `out`, no pictures.
fn train(out: &Path) -> Command {
    let mut cmd = base(out, "1");
    cmd.arg("--no-pictures");
    cmd
}

/// [`train`] with the pictures.
fn train_with_pictures(out: &Path) -> Command {
    base(out, "1")
}

/// `--resume` of the run in `out` up to 2 epochs.
fn resume2(out: &Path) -> Command {
    let mut cmd = base(out, "2");
    cmd.args(["--resume", "--no-pictures"]);
    cmd
}

fn base(out: &Path, epochs: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    cmd.env_remove("VAE_MNIST_DIR")
        .args(["--encoder-hidden", "16", "--decoder-hidden", "16"])
        .args([
            "--max-train",
            "64",
            "--max-test",
            "64",
            "--epochs",
            epochs,
            "--quiet",
        ])
        .args(["--data-dir", s(&fixture()), "--out", s(out)]);
    cmd
}

/// Stderr of a run that must fail: `error:` first, no panic, every `needles`.
fn failure(cmd: &mut Command, needles: &[&str]) -> String {
    let output = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    for needle in needles {
        assert!(
            stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr does not mention {needle:?}: {stderr}"
        );
    }
    stderr
}

/// Every file under `dir` with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            let bytes = fs::read(&path).unwrap();
            files.push((path, bytes));
        }
    }
    files.sort();
    files
}

fn checkpoint_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(run.join("checkpoint.json")).unwrap()).unwrap()
}

fn model_file(run: &Path) -> PathBuf {
    run.join(checkpoint_json(run)["model_file"].as_str().unwrap())
}

#[test]
fn a_folder_holding_a_run_is_refused_unless_resume_or_force() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    // With pictures: a z = 2 run also draws manifold.png.
    train_with_pictures(&run)
        .args(["--latent-dim", "2"])
        .assert()
        .success();
    assert!(run.join("manifold.png").is_file());
    let before = snapshot(&run);

    let stderr = failure(
        train(&run).args(["--latent-dim", "3"]),
        &[
            "already holds a run",
            "1 epochs",
            "--resume",
            "--force",
            "--out",
        ],
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(snapshot(&run), before, "a refused start changed the run");
    // --force and --resume do not go together.
    train(&run).args(["--force", "--resume"]).assert().failure();

    train(&run)
        .args(["--latent-dim", "3", "--force"])
        .assert()
        .success();
    assert_eq!(checkpoint_json(&run)["config"]["model"]["latent_dim"], 3);
    assert!(
        !run.join("manifold.png").exists(),
        "the replaced run's pictures were left beside the new checkpoint"
    );
    assert!(!run.join(".new-run").exists() && !run.join(".replaced-run").exists());
    // Resuming is always allowed.
    resume2(&run).args(["--latent-dim", "3"]).assert().success();
}

#[test]
fn a_failing_fresh_start_leaves_the_old_run_intact() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    train(&run).assert().success();
    let before = snapshot(&run);
    failure(
        train(&run).args(["--force", "--lr", "1e9", "--batch-size", "8"]),
        &["diverged", "no checkpoint was written", "left as it was"],
    );
    assert_eq!(
        snapshot(&run),
        before,
        "a failed fresh start changed the run"
    );
    resume2(&run).assert().success();
    assert_eq!(checkpoint_json(&run)["epoch"], 2);

    // A new folder whose first run fails is not left behind.
    let fresh = t.path().join("fresh");
    failure(
        train(&fresh).args(["--lr", "1e9", "--batch-size", "8"]),
        &["diverged"],
    );
    assert!(!fresh.exists(), "an empty run folder was left");
}

#[test]
fn a_second_writer_is_refused_while_the_lock_is_held() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    train(&run).assert().success();
    let lock = File::open(run.join(".vae-train.lock")).expect("the run has a lock file");
    lock.lock().unwrap();
    let before = snapshot(&run);
    let mut force = train(&run);
    force.arg("--force");
    let mut pictures = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    pictures.args(["pictures", "--run", s(&run), "--data-dir", s(&fixture())]);
    for mut cmd in [resume2(&run), force, pictures] {
        failure(
            &mut cmd,
            &["in use by another vae-train", ".vae-train.lock"],
        );
    }
    assert_eq!(snapshot(&run), before);
    drop(lock);
    resume2(&run).assert().success();
}

#[test]
fn checkpoint_files_are_checked_against_their_digests() {
    let t = tempfile::tempdir().unwrap();
    let (run, other) = (t.path().join("run"), t.path().join("other"));
    train(&run).assert().success();
    train(&other).args(["--seed", "9"]).assert().success();
    let state = checkpoint_json(&run);
    for key in ["model_sha256", "optimizer_sha256"] {
        assert_eq!(state[key].as_str().map(str::len), Some(64), "{state}");
    }
    let model = model_file(&run);
    let good = fs::read(&model).unwrap();

    // One flipped bit.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    fs::write(&model, &flipped).unwrap();
    failure(
        &mut resume2(&run),
        &["model-e0001.bpk", "damaged", "SHA-256"],
    );
    // Another run's model file of the same shapes.
    fs::copy(model_file(&other), &model).unwrap();
    failure(&mut resume2(&run), &["another run", "SHA-256"]);
    failure(
        Command::new(env!("CARGO_BIN_EXE_vae-train")).args([
            "pictures",
            "--run",
            s(&run),
            "--data-dir",
            s(&fixture()),
        ]),
        &["SHA-256"],
    );

    // A checkpoint.json from before the digests: accepted with a warning, and the next
    // epoch records them.
    fs::write(&model, &good).unwrap();
    let mut old = checkpoint_json(&run);
    let map = old.as_object_mut().unwrap();
    map.remove("model_sha256");
    map.remove("optimizer_sha256");
    fs::write(run.join("checkpoint.json"), old.to_string()).unwrap();
    let out = resume2(&run).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("SHA-256"),
        "{stderr}"
    );
    assert!(checkpoint_json(&run)["model_sha256"].is_string());
}

#[test]
fn models_the_exporter_cannot_take_are_refused_before_training() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let no_data = t.path().join("no-such-data");
    let base = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
        cmd.env_remove("VAE_MNIST_DIR").args([
            "--epochs",
            "1",
            "--data-dir",
            s(&no_data),
            "--out",
            s(&out),
        ]);
        cmd
    };
    failure(
        base().args(["--decoder-hidden", "16,16,16,16,16,16,16,16"]),
        &["--decoder-hidden has 8 layers", "at most 7"],
    );
    failure(
        base().args(["--decoder-hidden", "65536"]),
        &["65536", "65535"],
    );
    failure(
        base().args(["--latent-dim", "4096", "--decoder-hidden", "40000,20000"]),
        &["MiB", "--decoder-hidden"],
    );
    assert!(!out.exists());
}

#[test]
fn resume_mismatches_read_like_flags() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    train(&run).assert().success();
    // The run's own flags but --max-test, which each case gives or leaves out.
    let resume = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
        cmd.args(["--resume", "--epochs", "2", "--quiet", "--no-pictures"])
            .args(["--data-dir", s(&fixture()), "--out", s(&run)]);
        cmd
    };
    let stderr = failure(
        resume().args(["--max-test", "32"]),
        &["--max-test 32 differs from the resumed run's 64"],
    );
    assert!(!stderr.contains("Some("), "{stderr}");
    failure(
        resume().args(["--encoder-hidden", "16,8"]),
        &["--encoder-hidden 16,8 differs from the resumed run's 16"],
    );
    failure(
        resume().args(["--encoder-activation", "relu"]),
        &["--encoder-activation relu differs from the resumed run's silu"],
    );
}

#[cfg(target_os = "linux")]
#[test]
fn stale_temporary_files_of_killed_runs_are_removed() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    train(&run).assert().success();
    // PID 4294967295 cannot exist: these are a killed run's leftovers.
    let stale = [
        run.join(".metrics.csv.tmp-4294967295-0"),
        run.join("checkpoint")
            .join(".model-e0001.bpk.tmp-4294967295-3"),
    ];
    for f in &stale {
        fs::write(f, b"partial").unwrap();
    }
    let mine = run.join("notes.txt");
    fs::write(&mine, b"mine").unwrap();
    resume2(&run).assert().success();
    for f in &stale {
        assert!(!f.exists(), "{} left", f.display());
    }
    assert_eq!(fs::read(&mine).unwrap(), b"mine");
}

#[test]
fn the_int8_check_is_skipped_where_it_costs_more_than_it_tells() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vae-train"))
        .env_remove("VAE_MNIST_DIR")
        .args(["--latent-dim", "4096", "--encoder-hidden", "16"])
        .args([
            "--decoder-hidden",
            "16",
            "--max-train",
            "64",
            "--max-test",
            "64",
        ])
        .args(["--epochs", "1", "--no-pictures", "--prior-components", "0"])
        .args(["--data-dir", s(&fixture()), "--out", s(&run)])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no per-epoch int8 test loss"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(120));
    let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let row = metrics.lines().nth(1).unwrap();
    assert!(row.ends_with(','), "int8 column filled: {row}");
}
