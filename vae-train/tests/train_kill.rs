//! Crash safety: a training run killed with SIGKILL at many points (during epochs and
//! around checkpoint writes) and resumed each time ends with the same metrics as an
//! uninterrupted run, and its checkpoint always loads.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vae_train::checkpoint;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

fn train_cmd(out: &Path, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-train"));
    cmd.arg("--data-dir")
        .arg(fixture_dir())
        .arg("--out")
        .arg(out)
        .args([
            "--epochs",
            "6",
            "--latent-dim",
            "2",
            "--encoder-hidden",
            "64",
        ])
        .args([
            "--decoder-hidden",
            "64",
            "--batch-size",
            "16",
            "--seed",
            "3",
            // The schedule depends on the step count: resuming must land on the same rates.
            "--lr-schedule",
            "cosine",
        ])
        .arg("--no-pictures")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

/// The deterministic columns of metrics.csv (timings dropped).
fn metrics(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn sigkill_at_many_points_then_resume_matches_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let status = train_cmd(&reference, false).status().unwrap();
    assert!(status.success());

    let killed = tmp.path().join("killed");
    // Kill delays in ms, spread over start-up, epochs and checkpoint writes.
    let delays = [5u64, 40, 90, 150, 220, 300, 380, 470, 560, 650, 760, 870];
    let mut kills = 0;
    let mut finished = false;
    let started = Instant::now();
    for (i, delay) in delays.iter().cycle().enumerate() {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "did not finish"
        );
        if i >= 60 {
            break;
        }
        let resume = checkpoint::exists(&killed);
        if !resume {
            let _ = std::fs::remove_dir_all(&killed);
        }
        let mut child = train_cmd(&killed, resume).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "run {i} failed: {status}");
                finished = true;
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        // Whatever moment the kill hit, a committed checkpoint loads.
        if checkpoint::exists(&killed) {
            let state = checkpoint::load_state(&killed).expect("checkpoint loads after SIGKILL");
            checkpoint::load_model(&killed, &vae_train::backend::device())
                .expect("model loads after SIGKILL");
            assert!(state.epoch <= 6);
        }
    }
    if !finished {
        let status = train_cmd(&killed, checkpoint::exists(&killed))
            .status()
            .unwrap();
        assert!(status.success());
    }
    eprintln!("{kills} SIGKILLs before the run finished");
    assert!(
        kills >= 3,
        "only {kills} kills landed: runs too fast for the delays"
    );
    assert_eq!(metrics(&killed), metrics(&reference));
}
