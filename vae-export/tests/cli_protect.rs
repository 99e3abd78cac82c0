//! `vae-export` protects what the user has and bounds its work: no output overwrites an
//! input, checkpoint files are checked against their SHA-256, `sample --out` writes the
//! format its extension names, `--max-test 0` and out-of-range temperatures are refused
//! up front (`score` before any work), a blob is read header first with a size cap, and
//! counts are capped or streamed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

mod common;
use common::{assert_clean_failure, copy_tree, export_cmd, fixture, s, train_tiny_run};

/// A tiny run and its blob, made once per test binary (read-only: copy before changing).
fn valid_run() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let run = tmp.path().join("run");
        train_tiny_run(
            &fixture(),
            &run,
            &["--max-train", "128", "--max-test", "64"],
        );
        let blob = tmp.path().join("decoder.bin");
        export(&run, &blob).assert().success();
        (tmp, run, blob)
    })
}

/// A fast export of `run` to `out`.
fn export(run: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = export_cmd();
    cmd.args([
        "--run",
        s(run),
        "--out",
        s(out),
        "--data-dir",
        s(&fixture()),
    ])
    .args(["--calibration", "64", "--parity", "16", "--max-test", "64"]);
    cmd
}

/// A copy of the valid run in a new temporary folder.
fn run_copy() -> (tempfile::TempDir, PathBuf) {
    let (_, run, _) = valid_run();
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("run");
    copy_tree(run, &copy);
    (t, copy)
}

fn checkpoint_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("checkpoint.json")).unwrap()).unwrap()
}

fn model_file(run: &Path) -> PathBuf {
    run.join(checkpoint_json(run)["model_file"].as_str().unwrap())
}

#[test]
fn outputs_that_are_inputs_are_refused() {
    let (_, _, blob) = valid_run();
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("decoder.bin");
    std::fs::copy(blob, &copy).unwrap();
    let bytes = std::fs::read(&copy).unwrap();
    for flag in ["--out", "--raw"] {
        assert_clean_failure(
            export_cmd().args(["sample", "--blob", s(&copy), flag, s(&copy)]),
            &["same file"],
        );
    }
    // Through another spelling of the path.
    let dotted = t.path().join(".").join("decoder.bin");
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(&copy), "--raw", s(&dotted)]),
        &["same file"],
    );
    assert_clean_failure(
        export_cmd().args(["score", "--blob", s(&copy), "--json", s(&copy)]),
        &["--json and --blob", "same file"],
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        bytes,
        "the blob was overwritten"
    );

    let (_t, run) = run_copy();
    let state = std::fs::read(run.join("checkpoint.json")).unwrap();
    for target in [
        run.join("checkpoint.json"),
        model_file(&run),
        run.join("config.json"),
    ] {
        assert_clean_failure(
            &mut export(&run, &target),
            &["a file of the run", "another output path"],
        );
    }
    assert_clean_failure(
        export(&run, &t.path().join("a.bin")).args(["--json", s(&run.join("checkpoint.json"))]),
        &["a file of the run"],
    );
    assert_eq!(std::fs::read(run.join("checkpoint.json")).unwrap(), state);
}

#[test]
fn export_checks_the_checkpoint_digests() {
    let (t, run) = run_copy();
    let out = t.path().join("out.bin");
    let model = model_file(&run);
    let good = std::fs::read(&model).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    std::fs::write(&model, &flipped).unwrap();
    assert_clean_failure(&mut export(&run, &out), &["damaged", "SHA-256"]);
    assert!(!out.exists());

    // Another run's model file with the same shapes.
    let other = t.path().join("other");
    train_tiny_run(
        &fixture(),
        &other,
        &["--max-train", "128", "--max-test", "64", "--seed", "9"],
    );
    std::fs::copy(model_file(&other), &model).unwrap();
    assert_clean_failure(&mut export(&run, &out), &["another run", "SHA-256"]);

    // An old checkpoint.json without digests: exported, with a warning.
    std::fs::write(&model, &good).unwrap();
    let mut old = checkpoint_json(&run);
    old.as_object_mut().unwrap().remove("model_sha256");
    old.as_object_mut().unwrap().remove("optimizer_sha256");
    std::fs::write(run.join("checkpoint.json"), old.to_string()).unwrap();
    let output = export(&run, &out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("SHA-256"),
        "{stderr}"
    );
}

#[test]
fn export_refuses_nan_weights_with_advice_a_user_can_follow() {
    let (t, run) = run_copy();
    let model = model_file(&run);
    let mut bytes = std::fs::read(&model).unwrap();
    // The first decoder bias, stored as little-endian f32 in the burnpack file.
    let (_, vae) = vae_train::checkpoint::load_model(&run, &vae_train::backend::device()).unwrap();
    let bias = &vae.decoder_layers()[0].bias;
    let pattern: Vec<u8> = bias[..4].iter().flat_map(|v| v.to_le_bytes()).collect();
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("the decoder bias in the model file");
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&model, &bytes).unwrap();
    let mut state = checkpoint_json(&run);
    state["model_sha256"] = vae_train::checkpoint::sha256_hex(&bytes).into();
    std::fs::write(run.join("checkpoint.json"), state.to_string()).unwrap();
    let stderr = assert_clean_failure(
        &mut export(&run, &t.path().join("out.bin")),
        &["NaN or infinite decoder weights", "retrain"],
    );
    assert!(!stderr.contains("re-export"), "{stderr}");
}

#[test]
fn sample_writes_the_format_its_extension_names() {
    let (_, _, blob) = valid_run();
    let t = tempfile::tempdir().unwrap();
    for (name, magic) in [
        ("a.png", &b"\x89PNG"[..]),
        ("a.JPG", &b"\xff\xd8\xff"[..]),
        ("a.jpeg", &b"\xff\xd8\xff"[..]),
        ("a.bmp", &b"BM"[..]),
    ] {
        let out = t.path().join(name);
        export_cmd()
            .args([
                "sample",
                "--blob",
                s(blob),
                "--count",
                "4",
                "--out",
                s(&out),
            ])
            .assert()
            .success();
        let bytes = std::fs::read(&out).unwrap();
        assert!(
            bytes.starts_with(magic),
            "{name} starts {:02x?}",
            &bytes[..4]
        );
    }
    for name in ["a.txt", "noext", "a.gif"] {
        let out = t.path().join(name);
        assert_clean_failure(
            export_cmd().args(["sample", "--blob", s(blob), "--out", s(&out)]),
            &["extension", ".png"],
        );
        assert!(!out.exists());
    }
    let same = t.path().join("both.png");
    assert_clean_failure(
        export_cmd().args([
            "sample",
            "--blob",
            s(blob),
            "--out",
            s(&same),
            "--raw",
            s(&same),
        ]),
        &["--out and --raw", "same file"],
    );
    assert!(!same.exists());
}

#[test]
fn export_refuses_max_test_zero_and_huge_calibration() {
    let (t, run) = run_copy();
    let out = t.path().join("out.bin");
    let mut cmd = export_cmd();
    cmd.args([
        "--run",
        s(&run),
        "--out",
        s(&out),
        "--data-dir",
        s(&fixture()),
    ])
    .args(["--calibration", "64", "--parity", "16", "--max-test", "0"]);
    assert_clean_failure(&mut cmd, &["--max-test 0", "at least 1"]);
    let mut cmd = export_cmd();
    cmd.args([
        "--run",
        s(&run),
        "--out",
        s(&out),
        "--data-dir",
        s(&fixture()),
    ])
    .args(["--calibration", "100000000"]);
    assert_clean_failure(&mut cmd, &["--calibration 100000000", "60000"]);
    let mut cmd = export_cmd();
    cmd.args([
        "--run",
        s(&run),
        "--out",
        s(&out),
        "--data-dir",
        s(&fixture()),
    ])
    .args(["--parity", "100000000"]);
    assert_clean_failure(&mut cmd, &["--parity 100000000"]);
    assert!(!out.exists());
}

#[test]
fn a_bad_temperature_is_reported_as_a_bad_temperature() {
    let (_, _, blob) = valid_run();
    for bad in ["1e38", "101", "-0.5", "NaN"] {
        let stderr = assert_clean_failure(
            export_cmd().args([
                "sample",
                "--blob",
                s(blob),
                "--crc",
                &format!("--temperature={bad}"),
            ]),
            &["--temperature", "between 0 and 100"],
        );
        assert!(!stderr.contains("z["), "reported as a bad latent: {stderr}");
    }
    export_cmd()
        .args(["sample", "--blob", s(blob), "--crc", "--temperature", "100"])
        .assert()
        .success();
}

#[test]
fn score_checks_its_flags_before_any_work() {
    let (_, _, blob) = valid_run();
    let t = tempfile::tempdir().unwrap();
    // No MNIST anywhere: a flag error must come first.
    let no_data = t.path().join("no-data");
    let score = || {
        let mut cmd = export_cmd();
        cmd.args(["score", "--blob", s(blob), "--data-dir", s(&no_data)])
            .args(["--cache", s(&t.path().join("cache"))]);
        cmd
    };
    assert_clean_failure(
        score().args(["--temperature", "1.0,inf"]),
        &["--temperature"],
    );
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_clean_failure(
        score().args(["--json", s(&file.join("scores.json"))]),
        &["is a file, not a folder"],
    );
    assert_clean_failure(
        score().args(["--count", "100000000"]),
        &["--count", "100000"],
    );
    assert!(!t.path().join("cache").exists());
}

#[test]
fn the_blob_reader_reads_the_header_first_and_caps_the_size() {
    let t = tempfile::tempdir().unwrap();
    // A header that claims a 300 MiB blob, in a sparse file of that size.
    let big = t.path().join("big.bin");
    let mut header = b"VAE8".to_vec();
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&(300u32 << 20).to_le_bytes());
    std::fs::write(&big, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len((300 << 20) + 16)
        .unwrap();
    for args in [&["info"][..], &["sample", "--crc"]] {
        let mut c = export_cmd();
        c.args(args)
            .args(["--blob", s(&big)])
            .timeout(Duration::from_secs(20));
        assert_clean_failure(&mut c, &["big.bin", "300 MiB", "256 MiB"]);
    }
    #[cfg(unix)]
    {
        let mut c = export_cmd();
        c.args(["info", "--blob", "/dev/zero"])
            .timeout(Duration::from_secs(20));
        assert_clean_failure(&mut c, &["/dev/zero", "bad magic"]);
    }
}

#[test]
fn sample_counts_are_capped_or_streamed() {
    let (_, _, blob) = valid_run();
    let t = tempfile::tempdir().unwrap();
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(blob), "--count", "100000000", "--crc"]),
        &["--count 100000000", "1000000"],
    );
    let png = t.path().join("many.png");
    assert_clean_failure(
        export_cmd().args([
            "sample",
            "--blob",
            s(blob),
            "--count",
            "5000",
            "--out",
            s(&png),
        ]),
        &["--count 5000", "4096", "--raw"],
    );
    assert!(!png.exists());
    // --raw streams: any count up to the cap, byte for byte the --crc digits.
    let raw = t.path().join("many.raw");
    let out = export_cmd()
        .args([
            "sample",
            "--blob",
            s(blob),
            "--count",
            "5000",
            "--crc",
            "--raw",
            s(&raw),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let bytes = std::fs::read(&raw).unwrap();
    assert_eq!(bytes.len(), 5000 * vae_core::IMAGE_PIXELS);
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 5000);
    let last = &bytes[4999 * vae_core::IMAGE_PIXELS..];
    assert_eq!(
        lines[4999],
        format!("seed 4999: crc32 {:08x}", vae_core::format::crc32(last))
    );
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        1,
        "stray files"
    );
}
