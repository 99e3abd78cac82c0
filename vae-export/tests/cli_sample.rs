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
    let golden = std::fs::read_to_string(models().join("golden.txt")).unwrap();
    let count = golden.lines().count();
    let blob = models().join("decoder.bin");
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
