//! `config.json` round trip through a run folder, and the command line.

mod train_common;

use clap::Parser;
use train_common::{fixture, quiet, small_config};
use vae_train::cli::{self, Cli, Command};
use vae_train::config::{CONFIG_FILE, RunConfig};
use vae_train::training::{self, OptimizerKind, StepMode};

#[test]
fn config_json_written_by_training_reads_back_equal() {
    let mnist = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small_config(&mnist, 3, 1);
    config.model.conditional = true;
    config.train.max_test = Some(50);
    training::train(&mnist, &config, &quiet(tmp.path())).unwrap();
    let back = RunConfig::load(tmp.path()).unwrap();
    assert_eq!(back, config);
    assert_eq!(back.data_checksums, mnist.checksums);
    assert_eq!(back.version, env!("CARGO_PKG_VERSION"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A broken file is a clear error.
    std::fs::write(tmp.path().join(CONFIG_FILE), "{\"model\": {}}").unwrap();
    let err = RunConfig::load(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
}

#[test]
fn flags_parse_into_the_run_settings() {
    let cli = Cli::try_parse_from([
        "vae-train",
        "--data-dir",
        "/d",
        "--out",
        "/o",
        "--latent-dim",
        "2",
        "--encoder-hidden",
        "400",
        "--decoder-hidden",
        "300,200",
        "--epochs",
        "4",
        "--batch-size",
        "64",
        "--lr",
        "0.0005",
        "--seed",
        "9",
        "--max-train",
        "1000",
        "--max-test",
        "100",
        "--conditional",
        "--step",
        "plain",
        "--adam",
        "burn",
        "--resume",
    ])
    .unwrap();
    assert!(cli.command.is_none());
    let a = &cli.train;
    let (m, t) = a.overrides().new_run().unwrap();
    assert_eq!(m.latent_dim, 2);
    assert_eq!(m.encoder_hidden, vec![400]);
    assert_eq!(m.decoder_hidden, vec![300, 200]);
    assert!(m.conditional);
    assert_eq!((t.epochs, t.batch_size, t.lr, t.seed), (4, 64, 0.0005, 9));
    assert_eq!((t.max_train, t.max_test), (Some(1000), Some(100)));
    let o = a.options();
    assert_eq!(o.out_dir, std::path::PathBuf::from("/o"));
    assert!(o.resume);
    assert_eq!(o.step_mode, StepMode::Plain);
    assert_eq!(o.optimizer, OptimizerKind::Burn);

    // Defaults.
    let cli = Cli::try_parse_from(["vae-train"]).unwrap();
    let (m, t) = cli.train.overrides().new_run().unwrap();
    assert_eq!(
        (m.latent_dim, m.encoder_hidden, m.decoder_hidden),
        (20, vec![512, 256], vec![256, 256])
    );
    assert_eq!((t.epochs, t.batch_size, t.lr), (10, 128, 1e-3));
    assert_eq!(cli.train.out_dir(), std::path::PathBuf::from("runs/latest"));

    let cli = Cli::try_parse_from(["vae-train", "pictures", "--run", "/r"]).unwrap();
    assert!(
        matches!(cli.command, Some(Command::Pictures(ref p)) if p.run == std::path::Path::new("/r"))
    );
}

#[test]
fn help_lists_the_flags_and_bad_values_fail_cleanly() {
    let help = Cli::try_parse_from(["vae-train", "--help"])
        .unwrap_err()
        .to_string();
    for flag in [
        "--data-dir",
        "--out",
        "--latent-dim",
        "--encoder-hidden",
        "--decoder-hidden",
        "--epochs",
        "--batch-size",
        "--lr",
        "--seed",
        "--max-train",
        "--max-test",
        "--resume",
        "--conditional",
        "pictures",
        "VAE_MNIST_DIR",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    assert!(Cli::try_parse_from(["vae-train", "--latent-dim", "two"]).is_err());
    // Zero widths parse but are refused with the flag's name.
    let cli = Cli::try_parse_from(["vae-train", "--encoder-hidden", "512,0"]).unwrap();
    let err = cli.train.overrides().new_run().unwrap_err().to_string();
    assert!(err.contains("--encoder-hidden"), "{err}");
    // Training into a folder without a checkpoint with --resume fails before any data is read.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_string_lossy().into_owned();
    let cli = Cli::try_parse_from([
        "vae-train",
        "--resume",
        "--out",
        &out,
        "--data-dir",
        "/nonexistent",
    ])
    .unwrap();
    let err = cli::run(cli).unwrap_err();
    assert!(cli::error_message(err.as_ref()).contains("no checkpoint"));
}

#[test]
fn cli_trains_on_the_fixture_and_redraws_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let out_s = out.to_string_lossy().into_owned();
    let data = train_common::fixture_dir().to_string_lossy().into_owned();
    let args = [
        "vae-train",
        "--data-dir",
        &data,
        "--out",
        &out_s,
        "--epochs",
        "1",
        "--latent-dim",
        "2",
        "--encoder-hidden",
        "32",
        "--decoder-hidden",
        "32",
        "--max-train",
        "200",
        "-q",
    ];
    cli::run(Cli::try_parse_from(args).unwrap()).unwrap();
    assert!(out.join("samples.png").is_file() && out.join("manifold.png").is_file());
    std::fs::remove_file(out.join("samples.png")).unwrap();
    cli::run(
        Cli::try_parse_from([
            "vae-train",
            "pictures",
            "--run",
            &out_s,
            "--data-dir",
            &data,
        ])
        .unwrap(),
    )
    .unwrap();
    assert!(out.join("samples.png").is_file());
    // Resuming with a conflicting model flag is refused with the flag's name.
    let mut clash = args.to_vec();
    clash.extend(["--resume", "--latent-dim", "3"]);
    clash.retain(|_| true);
    let clash: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "2")
        .map(|a| {
            if a == "--latent-dim" {
                "--latent-dim=3"
            } else {
                a
            }
        })
        .chain(["--resume"])
        .collect();
    let err = cli::run(Cli::try_parse_from(clash).unwrap()).unwrap_err();
    assert!(cli::error_message(err.as_ref()).contains("--latent-dim"));
}
