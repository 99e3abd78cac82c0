//! `vae-export sample` draws exactly what `Decoder::generate` (and so the firmware) draws:
//! its `--crc` lines for the committed default blob are the golden lines, and `info`
//! names the blob's prior.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models")
}

fn export_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vae-export"))
}

#[test]
fn sample_crc_lines_are_the_golden_lines() {
    // The int8 default blob (2.1), its int4 export (3.0), and the 2-D blob.
    for (blob, golden) in [
        ("decoder.bin", "golden.txt"),
        ("decoder-int4.bin", "golden-int4.txt"),
        ("decoder-z2.bin", "golden-z2.txt"),
    ] {
        let golden = std::fs::read_to_string(models().join(golden)).unwrap();
        let count = golden.lines().count();
        let blob = models().join(blob);
        let out = export_cmd()
            .args(["sample", "--blob", blob.to_str().unwrap(), "--crc"])
            .args(["--count", &count.to_string(), "--seed", "0"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), golden);
    }
}

#[test]
fn info_names_the_format_and_weight_widths() {
    for (blob, expected) in [
        ("decoder.bin", "format 2.1 (271360 int8 weights)"),
        ("decoder-cond.bin", "format 2.1 (271360 int8 weights)"),
        (
            "decoder-int4.bin",
            "format 3.1 (266240 int4 + 5120 int8 weights)",
        ),
    ] {
        let out = export_cmd()
            .args(["info", "--blob", models().join(blob).to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(expected), "{blob}: {text}");
    }
}

#[test]
fn info_names_the_prior() {
    let blob = models().join("decoder.bin");
    let out = export_cmd()
        .args(["info", "--blob", blob.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let bytes = std::fs::read(&blob).unwrap();
    let prior = vae_core::format::parse(&bytes).unwrap().prior;
    let expected = match prior {
        vae_core::format::Prior::Mixture { components, .. } => {
            format!("prior: learned mixture of {components} Gaussians")
        }
        _ => "prior: N(0, I)".to_string(),
    };
    assert!(text.contains(&expected), "{text}");
}

/// A reader that stops early (`vae-export sample --crc | head -1`) ends the run quietly:
/// exit status 0 and nothing on stderr, not a "failed printing to stdout" panic.
#[test]
fn sample_crc_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(env!("CARGO_BIN_EXE_vae-export"))
        .args(["sample", "--crc", "--count", "1000000", "--blob"])
        .arg(models().join("decoder.bin"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe closes after one line.
    assert!(first.starts_with("seed 0: crc32 "), "{first:?}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}, stderr {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
