//! `vae-export` (export, `sample`, `info`) on bad inputs: missing files, directories,
//! garbage and truncated blobs, damaged checkpoints, corrupt MNIST, impossible output
//! paths and out-of-range flags. Each must exit non-zero with a short `error: ...` that
//! names the problem, never panic, and leave no output file behind.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{assert_clean_failure, export_cmd, fixture, s, train_tiny_run};

/// A tiny trained run and its exported blob, made once per test binary (read-only).
fn valid_run() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let run = tmp.path().join("run");
        let (run_s, data) = (run.to_str().unwrap(), fixture());
        train_tiny_run(&data, &run, &["--max-train", "128", "--max-test", "64"]);
        let blob = run.join("decoder.bin");
        export_cmd()
            .args(["--run", run_s, "--out", blob.to_str().unwrap()])
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["--calibration", "64", "--parity", "16", "--max-test", "64"])
            .assert()
            .success();
        (tmp, run, blob)
    })
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A fast export of `run` to `out` on the fixture (flags can be added).
fn quick_export(run: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = export_cmd();
    cmd.args([
        "--run",
        s(run),
        "--out",
        s(out),
        "--data-dir",
        s(&fixture()),
    ])
    .args(["--calibration", "16", "--parity", "8", "--max-test", "16"]);
    cmd
}

/// `--weights int4` writes a 3.0 blob with the asked layers int8, and reports it.
#[test]
fn export_int4_blob() {
    let (_, run, _) = valid_run();
    let t = tmp();
    let out = t.path().join("int4.bin");
    let assert = quick_export(run, &out)
        .args(["--weights", "int4", "--int8-layers", "0"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("format 3.0"), "{stdout}");
    assert!(stdout.contains("quantized (int8-int4)"), "{stdout}");
    let blob = std::fs::read(&out).unwrap();
    assert_eq!(&blob[4..8], &[3, 0, 0, 0]);
    let model = vae_core::format::parse(&blob).unwrap();
    let widths: Vec<_> = model.layers.iter().map(|l| l.weight_width).collect();
    use vae_core::format::WeightWidth::{Int4, Int8};
    assert_eq!(widths, [Int8, Int4]);
}

/// `--prior-f16` writes the mixture prior in half precision: a 3.1 blob, smaller by 2
/// bytes per stored mean and standard deviation, whose decoder samples from it.
#[test]
fn export_f16_prior() {
    let (_, run, blob) = valid_run();
    let t = tmp();
    let out = t.path().join("f16.bin");
    let assert = quick_export(run, &out)
        .arg("--prior-f16")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("format 3.1"), "{stdout}");
    assert!(stdout.contains("f16 values"), "{stdout}");
    let (f16, f32) = (std::fs::read(&out).unwrap(), std::fs::read(blob).unwrap());
    assert_eq!(&f16[4..8], &[3, 0, 1, 0]);
    let (a, b) = (
        vae_core::format::parse(&f16).unwrap(),
        vae_core::format::parse(&f32).unwrap(),
    );
    use vae_core::format::Prior;
    let (Prior::MixtureF16 { components, .. }, Prior::Mixture { means, .. }) = (a.prior, b.prior)
    else {
        panic!("priors: {:?} / {:?}", a.prior, b.prior);
    };
    assert!(components > 0);
    // Means and stds shrink from 4 to 2 bytes each; the widths (3.x) and the option tag
    // add a few bytes.
    let saved = means.len();
    assert!(
        f32.len() - f16.len() > saved - 16,
        "{} -> {}",
        f32.len(),
        f16.len()
    );
}

#[test]
fn int8_layers_flag_needs_int4_and_a_layer_index() {
    let (_, run, _) = valid_run();
    let t = tmp();
    let out = t.path().join("x.bin");
    let base = |cmd: &mut assert_cmd::Command| {
        cmd.args([
            "--run",
            s(run),
            "--out",
            s(&out),
            "--data-dir",
            s(&fixture()),
        ])
        .args(["--calibration", "16", "--parity", "8", "--max-test", "16"]);
    };
    let mut cmd = export_cmd();
    base(&mut cmd);
    assert_clean_failure(cmd.args(["--int8-layers", "0"]), &["--weights int4"]);
    let mut cmd = export_cmd();
    base(&mut cmd);
    assert_clean_failure(
        cmd.args(["--weights", "int4", "--int8-layers", "9"]),
        &["--int8-layers 9", "at most 8 layers"],
    );
    // The tiny run's decoder has 2 layers: index 2 is past its end.
    let mut cmd = export_cmd();
    base(&mut cmd);
    assert_clean_failure(
        cmd.args(["--weights", "int4", "--int8-layers", "0,2"]),
        &["--int8-layers 2", "has 2 layers (0 to 1)"],
    );
    assert!(!out.exists());
}

#[test]
fn info_and_sample_missing_blob() {
    let t = tmp();
    let missing = t.path().join("nope.bin");
    assert_clean_failure(
        export_cmd().args(["info", "--blob", s(&missing)]),
        &["nope.bin", "no such file"],
    );
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(&missing), "--crc"]),
        &["nope.bin", "no such file"],
    );
}

#[test]
fn info_blob_is_a_directory() {
    let t = tmp();
    assert_clean_failure(
        export_cmd().args(["info", "--blob", s(t.path())]),
        &[s(t.path()), "directory"],
    );
}

#[test]
fn random_bytes_are_not_a_blob() {
    let t = tmp();
    let path = t.path().join("random.bin");
    let bytes: Vec<u8> = (0u32..1000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, bytes).unwrap();
    assert_clean_failure(
        export_cmd().args(["info", "--blob", s(&path)]),
        &["random.bin", "bad magic"],
    );
    let raw = t.path().join("out.raw");
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(&path), "--raw", s(&raw)]),
        &["bad magic"],
    );
    assert!(!raw.exists(), "output written for a bad blob");
}

#[test]
fn truncated_and_corrupted_blobs() {
    let (_, _, blob) = valid_run();
    let bytes = std::fs::read(blob).unwrap();
    let t = tmp();
    for (name, data, needle) in [
        ("short.bin", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        ("header.bin", bytes[..5].to_vec(), "truncated"),
        (
            "flipped.bin",
            {
                let mut b = bytes.clone();
                b[bytes.len() / 3] ^= 0x40;
                b
            },
            "checksum",
        ),
    ] {
        let path = t.path().join(name);
        std::fs::write(&path, data).unwrap();
        assert_clean_failure(
            export_cmd().args(["info", "--blob", s(&path)]),
            &[name, needle],
        );
        let png = t.path().join("out.png");
        assert_clean_failure(
            export_cmd().args(["sample", "--blob", s(&path), "--out", s(&png)]),
            &[needle],
        );
        assert!(!png.exists());
    }
}

#[test]
fn sample_bad_flags() {
    let (_, _, blob) = valid_run();
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(blob), "--count", "0", "--crc"]),
        &["--count"],
    );
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(blob), "--digit", "10", "--crc"]),
        &["--digit", "10"],
    );
    assert_clean_failure(
        export_cmd().args(["sample", "--blob", s(blob)]),
        &["nothing to write"],
    );
    for bad in ["-1", "NaN", "inf"] {
        assert_clean_failure(
            export_cmd().args([
                "sample",
                "--blob",
                s(blob),
                &format!("--temperature={bad}"),
                "--crc",
            ]),
            &["--temperature"],
        );
    }
}

#[test]
fn sample_output_under_a_regular_file() {
    let (_, _, blob) = valid_run();
    let t = tmp();
    let file = t.path().join("file");
    std::fs::write(&file, b"not a folder").unwrap();
    for flag in ["--raw", "--out"] {
        let target = file.join("out.png");
        assert_clean_failure(
            export_cmd().args([
                "sample",
                "--blob",
                s(blob),
                "--count",
                "2",
                flag,
                s(&target),
            ]),
            // --raw goes through atomic_write, which names the file in the way.
            if flag == "--raw" {
                &["file/out.png", "is a file, not a folder"][..]
            } else {
                &["file/out.png", "not a directory"][..]
            },
        );
    }
    // A good --raw with a bad --out: neither is left behind.
    let raw = t.path().join("good.raw");
    assert_clean_failure(
        export_cmd().args([
            "sample",
            "--blob",
            s(blob),
            "--count",
            "2",
            "--raw",
            s(&raw),
            "--out",
            s(&file.join("out.png")),
        ]),
        &["file/out.png"],
    );
    assert!(!raw.exists(), "--raw written although --out failed");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a folder");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        1,
        "stray files"
    );
}

#[test]
fn export_missing_run() {
    let t = tmp();
    let out = t.path().join("decoder.bin");
    assert_clean_failure(
        export_cmd().args(["--run", s(&t.path().join("nope")), "--out", s(&out)]),
        &["no checkpoint", "nope"],
    );
    assert!(!out.exists());
}

/// A copy of the valid run with `damage` applied, then exported: must fail cleanly.
fn export_damaged(damage: impl FnOnce(&Path), needles: &[&str]) {
    let (_, run, _) = valid_run();
    let t = tmp();
    let copy = t.path().join("run");
    std::fs::create_dir_all(copy.join("checkpoint")).unwrap();
    for entry in walk(run) {
        let rel = entry.strip_prefix(run).unwrap();
        if rel != Path::new("decoder.bin") {
            std::fs::copy(&entry, copy.join(rel)).unwrap();
        }
    }
    damage(&copy);
    let out = t.path().join("decoder.bin");
    assert_clean_failure(
        export_cmd()
            .args([
                "--run",
                s(&copy),
                "--out",
                s(&out),
                "--data-dir",
                s(&fixture()),
            ])
            .args(["--calibration", "16", "--parity", "8", "--max-test", "16"]),
        needles,
    );
    assert!(!out.exists(), "partial blob left behind");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn export_garbage_checkpoint_json() {
    export_damaged(
        |run| std::fs::write(run.join("checkpoint.json"), b"{ not json").unwrap(),
        &["checkpoint.json", "damaged"],
    );
}

#[test]
fn export_truncated_weights() {
    export_damaged(
        |run| {
            for file in walk(&run.join("checkpoint")) {
                if file
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("model")
                {
                    let bytes = std::fs::read(&file).unwrap();
                    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
                }
            }
        },
        &["model", "damaged"],
    );
}

#[test]
fn export_corrupt_mnist() {
    let (_, run, _) = valid_run();
    let t = tmp();
    let data = t.path().join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    // Not gzip at all, under a .gz name.
    std::fs::write(data.join("train-images-idx3-ubyte.gz"), b"garbage bytes").unwrap();
    let out = t.path().join("decoder.bin");
    assert_clean_failure(
        export_cmd()
            .args(["--run", s(run), "--out", s(&out), "--data-dir", s(&data)])
            .args(["--calibration", "16", "--parity", "8", "--max-test", "16"]),
        &["train-images-idx3-ubyte"],
    );
    assert!(!out.exists());
}

#[test]
fn export_output_under_a_regular_file() {
    let (_, run, _) = valid_run();
    let t = tmp();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_clean_failure(
        export_cmd()
            .args(["--run", s(run), "--out", s(&file.join("decoder.bin"))])
            .args(["--data-dir", s(&fixture())])
            .args(["--calibration", "16", "--parity", "8", "--max-test", "16"]),
        &["file/decoder.bin", "is a file, not a folder"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}
