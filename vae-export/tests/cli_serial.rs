//! `vae-export serial` without a board: a port that does not open, bad flags and bad
//! blobs each stop it with exit 2 and one `error: ...` that says what to do, never a
//! panic. (The conversation with a board is tested against an in-memory board in
//! `src/serial.rs`, and CI runs it against the Pico firmware in rp2040js: .ci/pico.sh.)

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn default_blob() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models/decoder.bin")
}

fn serial() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vae-export"));
    cmd.arg("serial");
    cmd
}

/// Exit 2, stderr starting with `error: `, no panic, every needle in stderr. Returns it.
fn stopped(cmd: &mut Command, needles: &[&str]) -> String {
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PASS"),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for needle in needles {
        assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
    }
    stderr
}

#[test]
fn a_missing_port_is_a_clean_error() {
    let stderr = stopped(
        serial()
            .args(["--port", "/nonexistent/ttyACM9", "--blob"])
            .arg(default_blob()),
        &["cannot open /nonexistent/ttyACM9"],
    );
    assert!(
        stderr.contains("serial ports here: ") || stderr.contains("no serial ports found"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_file_that_is_not_a_serial_port_is_a_clean_error() {
    stopped(
        serial()
            .args(["--port", "/dev/null", "--blob"])
            .arg(default_blob()),
        &["cannot open /dev/null"],
    );
}

#[test]
fn bad_seeds_are_usage_errors() {
    for seeds in ["8..3", "8..8", "5..=4", "x", "", "-1..3", "0..", "1.5"] {
        stopped(
            serial()
                .args(["--port", "/nonexistent/ttyACM9"])
                .arg(format!("--seeds={seeds}")),
            &["invalid value", "--seeds", "A..B", "try '--help'"],
        );
    }
}

#[test]
fn other_bad_flags_are_usage_errors() {
    stopped(
        &mut serial(),
        &["--port <PORT>", "Usage: vae-export serial"],
    );
    for ms in ["0", "-5", "ten"] {
        stopped(
            serial()
                .args(["--port", "/nonexistent/ttyACM9"])
                .arg(format!("--timeout-ms={ms}")),
            &["invalid value", "--timeout-ms"],
        );
    }
}

#[test]
fn the_blob_is_read_before_the_port_is_opened() {
    // The default blob is relative to the current folder: from elsewhere, a clear error.
    let tmp = tempfile::tempdir().expect("temp dir");
    let stderr = stopped(
        serial()
            .current_dir(tmp.path())
            .args(["--port", "/nonexistent/ttyACM9"]),
        &["examples/models/decoder.bin", "pass --blob FILE"],
    );
    assert!(!stderr.contains("cannot open"), "{stderr}");

    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, vec![7u8; 600]).expect("writes");
    stopped(
        serial()
            .args(["--port", "/nonexistent/ttyACM9", "--blob"])
            .arg(&junk),
        &["junk.bin", "pass --blob FILE"],
    );
}

#[test]
fn help_says_what_board_and_ports() {
    let out = serial().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("UTF-8");
    for needle in [
        "Pico firmware",
        "USB serial console",
        "/dev/ttyACM0",
        "COM3",
        "[default: 0..8]",
        "[default: examples/models/decoder.bin]",
        "--timeout-ms",
    ] {
        assert!(help.contains(needle), "no {needle:?} in: {help}");
    }
}
