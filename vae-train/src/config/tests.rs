use super::*;

fn checksums() -> Checksums {
    Checksums {
        train_images: "a".repeat(64),
        train_labels: "b".repeat(64),
        test_images: "c".repeat(64),
        test_labels: "d".repeat(64),
    }
}

#[test]
fn defaults_match_the_spec() {
    let m = ModelConfig::default();
    assert_eq!(
        (
            m.latent_dim,
            m.encoder_hidden,
            m.decoder_hidden,
            m.conditional
        ),
        (20, vec![512, 256], vec![256, 256], false)
    );
    assert_eq!(m.encoder_activation, Activation::Silu);
    assert_eq!(m.prior_components, DEFAULT_PRIOR_COMPONENTS);
    let t = TrainConfig::default();
    assert_eq!((t.epochs, t.batch_size, t.lr), (10, 128, 1e-3));
}

#[test]
fn num_params_counts_weights_and_biases() {
    let m = ModelConfig {
        latent_dim: 2,
        encoder_hidden: vec![3],
        decoder_hidden: vec![4],
        conditional: false,
        encoder_activation: Activation::Relu,
        prior_components: 0,
    };
    // enc 784*3+3, heads 2*(3*2+2), dec 2*4+4, out 4*784+784
    assert_eq!(m.num_params(), 784 * 3 + 3 + 2 * 8 + 12 + 4 * 784 + 784);
    let c = ModelConfig {
        conditional: true,
        ..m.clone()
    };
    assert_eq!(c.num_params(), m.num_params() + 10 * 3 + 10 * 4);
    // A mixture prior: per component a mean and a log-variance per latent, one logit.
    let p = ModelConfig {
        prior_components: 5,
        ..m.clone()
    };
    assert_eq!(p.num_params(), m.num_params() + 5 * (2 * 2 + 1));
}

#[test]
fn validation_names_the_flag() {
    let bad = |m: ModelConfig| m.validate().unwrap_err().to_string();
    let base = ModelConfig::default();
    assert!(
        bad(ModelConfig {
            latent_dim: 0,
            ..base.clone()
        })
        .contains("--latent-dim")
    );
    assert!(
        bad(ModelConfig {
            encoder_hidden: vec![],
            ..base.clone()
        })
        .contains("--encoder-hidden")
    );
    assert!(
        bad(ModelConfig {
            decoder_hidden: vec![256, 0],
            ..base.clone()
        })
        .contains("--decoder-hidden")
    );
    let t = TrainConfig::default();
    for (cfg, flag) in [
        (
            TrainConfig {
                epochs: 0,
                ..t.clone()
            },
            "--epochs",
        ),
        (
            TrainConfig {
                batch_size: 0,
                ..t.clone()
            },
            "--batch-size",
        ),
        (
            TrainConfig {
                lr: f64::NAN,
                ..t.clone()
            },
            "--lr",
        ),
        (
            TrainConfig {
                lr: -1.0,
                ..t.clone()
            },
            "--lr",
        ),
        (
            TrainConfig {
                max_test: Some(0),
                ..t.clone()
            },
            "--max-test",
        ),
    ] {
        assert!(cfg.validate().unwrap_err().to_string().contains(flag));
    }
}

#[test]
fn overrides_fill_defaults_and_guard_resume() {
    let flags = ConfigOverrides {
        latent_dim: Some(2),
        epochs: Some(3),
        ..Default::default()
    };
    let (m, t) = flags.new_run().unwrap();
    assert_eq!(
        (m.latent_dim, m.encoder_hidden.clone()),
        (2, vec![512, 256])
    );
    assert_eq!((t.epochs, t.batch_size), (3, 128));
    let saved = RunConfig::new(m, t, checksums(), PathBuf::from("d"));
    // Same values and a larger epoch count are fine.
    let more = ConfigOverrides {
        latent_dim: Some(2),
        epochs: Some(5),
        ..Default::default()
    };
    assert_eq!(more.resume(&saved).unwrap().train.epochs, 5);
    assert_eq!(ConfigOverrides::default().resume(&saved).unwrap(), saved);
    let clash = ConfigOverrides {
        latent_dim: Some(20),
        ..Default::default()
    };
    let err = clash.resume(&saved).unwrap_err().to_string();
    assert!(
        err.contains("--latent-dim") && err.contains("--out"),
        "{err}"
    );
    let clash = ConfigOverrides {
        max_test: Some(10),
        ..Default::default()
    };
    assert!(
        clash
            .resume(&saved)
            .unwrap_err()
            .to_string()
            .contains("--max-test")
    );
    let bad = ConfigOverrides {
        encoder_hidden: Some(vec![]),
        ..Default::default()
    };
    assert!(bad.new_run().is_err());
}

#[test]
fn cosine_schedule_decays_from_lr_to_zero() {
    let s = LrSchedule::Cosine;
    assert_eq!(s.rate(1e-3, 0, 100), 1e-3);
    assert!((s.rate(1e-3, 50, 100) - 0.5e-3).abs() < 1e-15);
    assert!(s.rate(1e-3, 99, 100) < 1e-6);
    assert!(s.rate(1e-3, 200, 100).abs() < 1e-15);
    let rates: Vec<f64> = (0..100).map(|t| s.rate(1e-3, t, 100)).collect();
    assert!(rates.windows(2).all(|w| w[1] < w[0]));
    assert_eq!(LrSchedule::Constant.rate(2e-3, 77, 100), 2e-3);
    assert_eq!(TrainConfig::default().lr_schedule, LrSchedule::Constant);
}

#[test]
fn model_config_without_activation_reads_as_relu() {
    let json = r#"{"latent_dim":20,"encoder_hidden":[400],"decoder_hidden":[400]}"#;
    let m: ModelConfig = serde_json::from_str(json).unwrap();
    assert_eq!(m.encoder_activation, Activation::Relu);
    assert_eq!(Activation::Silu.apply(0.0), 0.0);
    assert!((Activation::Silu.apply(2.0) - 2.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-7);
    assert_eq!(Activation::Relu.apply(-3.0), 0.0);
}

#[test]
fn prior_components_default_validation_and_old_configs() {
    // Unconditional runs default to the mixture, conditional ones to N(0, I), unless
    // the flag says otherwise.
    let run = |conditional, k| ConfigOverrides {
        conditional: Some(conditional),
        prior_components: k,
        ..Default::default()
    };
    let k = |o: ConfigOverrides| o.new_run().unwrap().0.prior_components;
    assert_eq!(k(run(false, None)), DEFAULT_PRIOR_COMPONENTS);
    assert_eq!(k(run(true, None)), 0);
    assert_eq!(k(run(true, Some(7))), 7);
    assert_eq!(k(run(false, Some(0))), 0);
    let err = run(false, Some(MAX_PRIOR_COMPONENTS + 1))
        .new_run()
        .unwrap_err()
        .to_string();
    assert!(err.contains("--prior-components"), "{err}");
    assert_eq!(MAX_PRIOR_COMPONENTS, vae_core::format::MAX_PRIOR_COMPONENTS);
    // config.json from before the field: the N(0, I) prior it was trained with.
    let json = r#"{"latent_dim":20,"encoder_hidden":[400],"decoder_hidden":[400]}"#;
    let m: ModelConfig = serde_json::from_str(json).unwrap();
    assert_eq!(m.prior_components, 0);
    // Resuming with another prior is refused, naming the flag.
    let (model, train) = ConfigOverrides::default().new_run().unwrap();
    let saved = RunConfig::new(model, train, checksums(), PathBuf::from("/d"));
    let clash = ConfigOverrides {
        prior_components: Some(3),
        ..Default::default()
    };
    let err = clash.resume(&saved).unwrap_err().to_string();
    assert!(err.contains("--prior-components"), "{err}");
}

#[test]
fn config_without_schedule_reads_as_constant() {
    let json = r#"{"epochs":10,"batch_size":128,"lr":0.001,"seed":1,
                   "max_train":null,"max_test":null}"#;
    let t: TrainConfig = serde_json::from_str(json).unwrap();
    assert_eq!(t.lr_schedule, LrSchedule::Constant);
}

#[test]
fn run_config_json_round_trip() {
    let run = RunConfig::new(
        ModelConfig {
            latent_dim: 2,
            encoder_hidden: vec![400],
            decoder_hidden: vec![400, 100],
            conditional: true,
            encoder_activation: Activation::Silu,
            prior_components: 30,
        },
        TrainConfig {
            epochs: 3,
            batch_size: 64,
            lr: 3e-4,
            lr_schedule: LrSchedule::Constant,
            seed: 99,
            max_train: Some(1000),
            max_test: None,
        },
        checksums(),
        PathBuf::from("/data/mnist"),
    );
    let back = RunConfig::from_json(&run.to_json()).unwrap();
    assert_eq!(back, run);
}

#[test]
fn from_json_rejects_invalid_values_and_unknown_fields() {
    let mut run = RunConfig::new(
        ModelConfig::default(),
        TrainConfig::default(),
        checksums(),
        PathBuf::from("d"),
    );
    run.model.latent_dim = 0;
    let err = RunConfig::from_json(&run.to_json()).unwrap_err();
    assert!(err.to_string().contains("latent"));
    let err = RunConfig::from_json("{\"model\": 1}").unwrap_err();
    assert!(err.to_string().contains("config.json"));
}
