//! Model, training and run configuration, and the run's `config.json`.
//!
//! A run directory holds one `config.json` ([`RunConfig`], written atomically when the
//! run starts); the exporter reads it back with [`RunConfig::load`] to rebuild the model
//! before loading the checkpoint's weights into it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

use crate::data::Checksums;

/// File name of the run configuration inside a run directory.
pub const CONFIG_FILE: &str = "config.json";

/// Largest accepted layer width (a sanity bound against typos such as `5120000`).
pub const MAX_WIDTH: usize = 65_536;

/// Largest accepted latent dimension.
pub const MAX_LATENT: usize = 4_096;

/// Mixture components of the prior of an unconditional model unless `--prior-components`
/// says otherwise. Conditional models default to `N(0, I)`: their label already carries
/// the digit, so `z` only holds style.
pub const DEFAULT_PRIOR_COMPONENTS: usize = 100;

/// Largest accepted number of prior components (the blob format's bound).
pub const MAX_PRIOR_COMPONENTS: usize = vae_core::format::MAX_PRIOR_COMPONENTS;

/// Shape of the MLP VAE.
///
/// Encoder: `784 (+10) -> encoder_hidden[0] -> ... -> (mu, logvar)` each `latent_dim` wide,
/// every hidden layer `Linear + ReLU`. Decoder: `latent_dim (+10) -> decoder_hidden[0] -> ...
/// -> 784` logits. With `conditional`, the label's one-hot vector (10 wide) is appended to the
/// encoder input and to the decoder input (a conditional VAE).
/// The prior `p(z)` is `N(0, I)` or, with `prior_components > 0`, a learned mixture
/// ([`crate::model::prior`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Width of the latent code `z`.
    pub latent_dim: usize,
    /// Widths of the encoder's hidden layers, input side first.
    pub encoder_hidden: Vec<usize>,
    /// Widths of the decoder's hidden layers, latent side first.
    pub decoder_hidden: Vec<usize>,
    /// Condition encoder and decoder on the digit label (one-hot, 10 wide).
    #[serde(default)]
    pub conditional: bool,
    /// Activation of the encoder's hidden layers. `config.json` files written before this
    /// field existed used ReLU, so that is what a missing field means.
    #[serde(default = "Activation::relu")]
    pub encoder_activation: Activation,
    /// Components of the learned mixture-of-Gaussians prior `p(z)` ([`crate::model::prior`]);
    /// 0 is the fixed `N(0, I)`. `config.json` files written before this field existed
    /// used `N(0, I)`, so that is what a missing field means.
    #[serde(default)]
    pub prior_components: usize,
}

/// Hidden-layer activation of the encoder. The decoder always uses ReLU: its int8 kernels
/// (vae-core) implement exactly that. The encoder never ships to the chip, so it may use
/// a smoother function: measured on full MNIST (10 epochs, z = 20, defaults otherwise),
/// test loss 104.72 with ReLU and 103.24 / 103.43 / 103.78 (seeds 1 / 2 / 3) with SiLU
/// (ELU 103.42, leaky ReLU 103.55).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x * sigmoid(x)` (the default).
    Silu,
}

impl Activation {
    /// `Relu` (serde's default for configurations that predate the field).
    pub fn relu() -> Self {
        Self::Relu
    }

    /// The function on one value (host-side reference).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Self::Relu => x.max(0.0),
            Self::Silu => x / (1.0 + (-x).exp()),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            latent_dim: 20,
            encoder_hidden: vec![512, 256],
            decoder_hidden: vec![256, 256],
            conditional: false,
            encoder_activation: Activation::Silu,
            prior_components: DEFAULT_PRIOR_COMPONENTS,
        }
    }
}

impl ModelConfig {
    /// Width of the label condition appended to encoder and decoder inputs (0 or 10).
    pub fn condition_dim(&self) -> usize {
        if self.conditional { NUM_CLASSES } else { 0 }
    }

    /// Width of the encoder's input: 784 pixels, plus the one-hot label if conditional.
    pub fn encoder_input_dim(&self) -> usize {
        IMAGE_PIXELS + self.condition_dim()
    }

    /// Width of the decoder's input: `latent_dim`, plus the one-hot label if conditional.
    pub fn decoder_input_dim(&self) -> usize {
        self.latent_dim + self.condition_dim()
    }

    /// Number of trainable parameters (weights and biases) of the model.
    pub fn num_params(&self) -> usize {
        let dense = |i: usize, o: usize| i * o + o;
        let mut n = 0;
        let mut width = self.encoder_input_dim();
        for &h in &self.encoder_hidden {
            n += dense(width, h);
            width = h;
        }
        n += 2 * dense(width, self.latent_dim);
        let mut width = self.decoder_input_dim();
        for &h in &self.decoder_hidden {
            n += dense(width, h);
            width = h;
        }
        n + dense(width, IMAGE_PIXELS) + self.prior_components * (2 * self.latent_dim + 1)
    }

    /// Checks the shape; the error names the bad value and the flag that sets it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.latent_dim == 0 || self.latent_dim > MAX_LATENT {
            return Err(ConfigError::new(format!(
                "latent dimension {} is out of range: use --latent-dim between 1 and {MAX_LATENT}",
                self.latent_dim
            )));
        }
        check_widths("encoder", "--encoder-hidden", &self.encoder_hidden)?;
        check_widths("decoder", "--decoder-hidden", &self.decoder_hidden)?;
        if self.prior_components > MAX_PRIOR_COMPONENTS {
            return Err(ConfigError::new(format!(
                "{} prior components is out of range: use --prior-components between 0 \
                 (the N(0, I) prior) and {MAX_PRIOR_COMPONENTS}",
                self.prior_components
            )));
        }
        Ok(())
    }
}

/// Most hidden layers of a decoder that `vae-export` can write: the blob holds at most
/// [`vae_core::format::MAX_LAYERS`] dense layers, the output layer included.
pub const MAX_EXPORT_DECODER_HIDDEN: usize = vae_core::format::MAX_LAYERS - 1;

/// Widest decoder layer that `vae-export` can write (the blob stores widths as `u16`).
pub const MAX_EXPORT_WIDTH: usize = u16::MAX as usize;

/// Largest blob (bytes) the tools read back (`vae-export info`, `sample`, `score`):
/// 256 MiB, about 65 times a decoder of two 8,192-wide hidden layers. The blob format
/// itself stops at 4 GiB.
pub const MAX_BLOB_BYTES: u64 = 256 << 20;

impl ModelConfig {
    /// Roughly the size in bytes of this model's exported blob: the int8 weights plus 13
    /// bytes per output (scales, bias, requantization), the conditional class biases and
    /// the mixture prior.
    pub fn estimated_blob_bytes(&self) -> u64 {
        let mut bytes = 0u64;
        let mut width = self.latent_dim as u64;
        for &out in self.decoder_hidden.iter().chain(&[IMAGE_PIXELS]) {
            let out = out as u64;
            bytes = bytes.saturating_add(width.saturating_mul(out) + 13 * out);
            width = out;
        }
        let first = self.decoder_hidden.first().copied().unwrap_or(IMAGE_PIXELS) as u64;
        if self.conditional {
            bytes += 4 * NUM_CLASSES as u64 * first;
        }
        let k = self.prior_components as u64;
        bytes + 4 * k * (1 + 2 * self.latent_dim as u64) + 1024
    }

    /// Checks that `vae-export` can write this model's decoder as a blob and the tools
    /// can read it back: at most [`MAX_EXPORT_DECODER_HIDDEN`] decoder hidden layers, each
    /// at most [`MAX_EXPORT_WIDTH`] wide, a blob under [`MAX_BLOB_BYTES`]. A new run is
    /// checked when it starts, not after training.
    pub fn check_exportable(&self) -> Result<(), ConfigError> {
        let n = self.decoder_hidden.len();
        if n > MAX_EXPORT_DECODER_HIDDEN {
            return Err(ConfigError::new(format!(
                "--decoder-hidden has {n} layers, but an exported decoder holds at most \
                 {MAX_EXPORT_DECODER_HIDDEN} hidden layers (plus its output layer): pass at \
                 most {MAX_EXPORT_DECODER_HIDDEN} widths"
            )));
        }
        if let Some(&w) = self.decoder_hidden.iter().find(|&&w| w > MAX_EXPORT_WIDTH) {
            return Err(ConfigError::new(format!(
                "decoder hidden width {w} cannot be exported (at most {MAX_EXPORT_WIDTH}): \
                 pass smaller widths in --decoder-hidden"
            )));
        }
        let bytes = self.estimated_blob_bytes();
        if bytes > MAX_BLOB_BYTES {
            return Err(ConfigError::new(format!(
                "this decoder would export to a blob of about {} MiB, over the {} MiB that \
                 vae-export and vae-core's host tools read: pass a smaller --latent-dim or \
                 --decoder-hidden",
                bytes >> 20,
                MAX_BLOB_BYTES >> 20
            )));
        }
        Ok(())
    }
}

fn check_widths(part: &str, flag: &str, widths: &[usize]) -> Result<(), ConfigError> {
    if widths.is_empty() {
        return Err(ConfigError::new(format!(
            "the {part} needs at least one hidden layer: pass e.g. {flag} 400"
        )));
    }
    if let Some(&w) = widths.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
        return Err(ConfigError::new(format!(
            "{part} hidden width {w} is out of range: every width in {flag} must be between 1 \
             and {MAX_WIDTH}"
        )));
    }
    Ok(())
}

/// Optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Total number of epochs of the run (a resumed run continues up to this many).
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// Adam learning rate (the peak rate under a decaying [`LrSchedule`]).
    pub lr: f64,
    /// How the learning rate changes over the run. `config.json` files written before
    /// this field existed trained with a constant rate, so that is what a missing field
    /// means.
    #[serde(default = "LrSchedule::constant")]
    pub lr_schedule: LrSchedule,
    /// Seed of every random choice: weight init, shuffling, the noise of `z`.
    pub seed: u64,
    /// Use only the first N training images (all when `None`).
    pub max_train: Option<usize>,
    /// Use only the first N test images (all when `None`).
    pub max_test: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 128,
            lr: 1e-3,
            lr_schedule: LrSchedule::Constant,
            seed: 1,
            max_train: None,
            max_test: None,
        }
    }
}

/// How the learning rate changes over a run of `epochs` epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `lr` at every step.
    Constant,
    /// Half a cosine from `lr` at the first step down to 0 after the last step of the run
    /// (per step, not per epoch). Not the default: on full MNIST, 10 epochs, z = 20, seed
    /// 1, it measured 107.73 at `lr` 1e-3 and 108.58 at 3e-3 against 104.72 for a constant
    /// 1e-3 (the model is still improving fast at epoch 10, so decaying early costs more
    /// than it gains). For longer runs.
    Cosine,
}

impl LrSchedule {
    /// `Constant` (serde's default for configurations that predate the field).
    pub fn constant() -> Self {
        Self::Constant
    }

    /// The rate of step `step` (0-based) out of `total_steps` steps of the whole run.
    pub fn rate(self, lr: f64, step: usize, total_steps: usize) -> f64 {
        match self {
            Self::Constant => lr,
            Self::Cosine => {
                let progress = step as f64 / total_steps.max(1) as f64;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
            }
        }
    }
}

impl TrainConfig {
    /// Checks the settings; the error names the bad value and the flag that sets it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.epochs == 0 {
            return Err(ConfigError::new(
                "--epochs is 0: train for at least one epoch".to_owned(),
            ));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            return Err(ConfigError::new(format!(
                "--batch-size {} is out of range: use between 1 and {}",
                self.batch_size,
                1 << 20
            )));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(ConfigError::new(format!(
                "--lr {} is not a positive finite number: use e.g. --lr 1e-3",
                self.lr
            )));
        }
        if self.max_train == Some(0) {
            return Err(ConfigError::new(
                "--max-train 0 leaves no training images: use at least 1".to_owned(),
            ));
        }
        if self.max_test == Some(0) {
            return Err(ConfigError::new(
                "--max-test 0 leaves no test images: use at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Everything needed to reproduce (or export) a run; saved as `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The model's shape.
    pub model: ModelConfig,
    /// The optimisation settings.
    pub train: TrainConfig,
    /// SHA-256 of the four (decompressed) MNIST files the run was trained on.
    pub data_checksums: Checksums,
    /// The folder the data was read from, absolute. Work on the run later (the export,
    /// `vae-train pictures`) reads it again from there unless told otherwise
    /// ([`crate::data::load_for_run`]).
    pub data_dir: PathBuf,
    /// Version of vae-train that wrote the file.
    pub version: String,
}

impl RunConfig {
    /// A configuration stamped with this crate's version.
    pub fn new(
        model: ModelConfig,
        train: TrainConfig,
        data_checksums: Checksums,
        data_dir: PathBuf,
    ) -> Self {
        Self {
            model,
            train,
            data_checksums,
            data_dir,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Validates the model and training settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.model.validate()?;
        self.train.validate()
    }

    /// Pretty JSON text of the configuration.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers, strings and paths cannot fail (paths that are
        // not UTF-8 are the one exception; they are written lossily instead).
        serde_json::to_string_pretty(self).unwrap_or_else(|_| {
            let mut lossy = self.clone();
            lossy.data_dir = PathBuf::from(self.data_dir.to_string_lossy().into_owned());
            serde_json::to_string_pretty(&lossy).unwrap_or_default()
        })
    }

    /// Parses JSON text and validates the result.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(|e| {
            ConfigError::new(format!(
                "{CONFIG_FILE} is not a valid run configuration ({e}): was it written by \
                 vae-train {}?",
                env!("CARGO_PKG_VERSION")
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Writes `run_dir/config.json` atomically (temporary file, then rename).
    pub fn save(&self, run_dir: &Path) -> Result<(), ConfigError> {
        let path = run_dir.join(CONFIG_FILE);
        crate::fsutil::create_parent_dir(&path)
            .and_then(|()| crate::fsutil::atomic_write(&path, self.to_json().as_bytes()))
            .map_err(|e| {
                ConfigError::new(format!(
                    "cannot write {}: {e}; check that the folder is writable",
                    path.display()
                ))
            })
    }

    /// Reads and validates `run_dir/config.json`.
    pub fn load(run_dir: &Path) -> Result<Self, ConfigError> {
        let path = run_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(format!(
                "cannot read {} ({e}): pass the folder of a run made by `vae-train --out DIR`",
                path.display()
            ))
        })?;
        Self::from_json(&text)
    }
}

/// Settings given on the command line; `None` means "not given".
///
/// For a new run, missing values take the defaults ([`ConfigOverrides::new_run`]). For a
/// resumed run the checkpoint's configuration wins; a given value must agree with it, except
/// `epochs`, which may raise the run's total ([`ConfigOverrides::resume`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigOverrides {
    /// `--latent-dim`.
    pub latent_dim: Option<usize>,
    /// `--encoder-hidden`.
    pub encoder_hidden: Option<Vec<usize>>,
    /// `--decoder-hidden`.
    pub decoder_hidden: Option<Vec<usize>>,
    /// `--conditional` (given means `true`).
    pub conditional: Option<bool>,
    /// `--encoder-activation`.
    pub encoder_activation: Option<Activation>,
    /// `--prior-components`.
    pub prior_components: Option<usize>,
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--lr`.
    pub lr: Option<f64>,
    /// `--lr-schedule`.
    pub lr_schedule: Option<LrSchedule>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--max-train`.
    pub max_train: Option<usize>,
    /// `--max-test`.
    pub max_test: Option<usize>,
}

impl ConfigOverrides {
    /// Model and training settings of a new run: the given values over the defaults,
    /// validated.
    pub fn new_run(&self) -> Result<(ModelConfig, TrainConfig), ConfigError> {
        let m = ModelConfig::default();
        let t = TrainConfig::default();
        let conditional = self.conditional.unwrap_or(m.conditional);
        let model = ModelConfig {
            latent_dim: self.latent_dim.unwrap_or(m.latent_dim),
            encoder_hidden: self.encoder_hidden.clone().unwrap_or(m.encoder_hidden),
            decoder_hidden: self.decoder_hidden.clone().unwrap_or(m.decoder_hidden),
            conditional,
            encoder_activation: self.encoder_activation.unwrap_or(m.encoder_activation),
            prior_components: self.prior_components.unwrap_or(if conditional {
                0
            } else {
                m.prior_components
            }),
        };
        let train = TrainConfig {
            epochs: self.epochs.unwrap_or(t.epochs),
            batch_size: self.batch_size.unwrap_or(t.batch_size),
            lr: self.lr.unwrap_or(t.lr),
            lr_schedule: self.lr_schedule.unwrap_or(t.lr_schedule),
            seed: self.seed.unwrap_or(t.seed),
            max_train: self.max_train.or(t.max_train),
            max_test: self.max_test.or(t.max_test),
        };
        model.validate()?;
        model.check_exportable()?;
        train.validate()?;
        Ok((model, train))
    }

    /// The configuration of a resumed run: `saved` with `epochs` replaced when given. Any
    /// other given value that differs from `saved` is an error naming the flag.
    pub fn resume(&self, saved: &RunConfig) -> Result<RunConfig, ConfigError> {
        fn same<T: PartialEq + FlagValue>(
            flag: &str,
            given: &Option<T>,
            saved: &T,
        ) -> Result<(), ConfigError> {
            match given {
                Some(g) if g != saved => Err(ConfigError::new(format!(
                    "{flag} {} differs from the resumed run's {}: drop the flag to resume, or \
                     start a new run in another --out folder",
                    g.flag_value(),
                    saved.flag_value()
                ))),
                _ => Ok(()),
            }
        }
        let (m, t) = (&saved.model, &saved.train);
        same("--latent-dim", &self.latent_dim, &m.latent_dim)?;
        same("--encoder-hidden", &self.encoder_hidden, &m.encoder_hidden)?;
        same("--decoder-hidden", &self.decoder_hidden, &m.decoder_hidden)?;
        same("--conditional", &self.conditional, &m.conditional)?;
        same(
            "--encoder-activation",
            &self.encoder_activation,
            &m.encoder_activation,
        )?;
        same(
            "--prior-components",
            &self.prior_components,
            &m.prior_components,
        )?;
        same("--batch-size", &self.batch_size, &t.batch_size)?;
        same("--lr", &self.lr, &t.lr)?;
        same("--lr-schedule", &self.lr_schedule, &t.lr_schedule)?;
        same("--seed", &self.seed, &t.seed)?;
        same("--max-train", &self.max_train.map(Some), &t.max_train)?;
        same("--max-test", &self.max_test.map(Some), &t.max_test)?;
        let mut run = saved.clone();
        if let Some(e) = self.epochs {
            run.train.epochs = e;
        }
        run.validate()?;
        Ok(run)
    }
}

/// A setting as it is written on the command line (for messages: `512,256`, not
/// `[512, 256]`; `all`, not `None`).
trait FlagValue {
    fn flag_value(&self) -> String;
}

macro_rules! flag_value_by_display {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            fn flag_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
flag_value_by_display!(usize, u64, f64, bool);

impl FlagValue for Vec<usize> {
    fn flag_value(&self) -> String {
        let widths: Vec<String> = self.iter().map(usize::to_string).collect();
        widths.join(",")
    }
}

impl FlagValue for Option<usize> {
    fn flag_value(&self) -> String {
        self.map_or_else(|| "all (not given)".to_owned(), |n| n.to_string())
    }
}

impl FlagValue for Activation {
    fn flag_value(&self) -> String {
        match self {
            Self::Relu => "relu",
            Self::Silu => "silu",
        }
        .to_owned()
    }
}

impl FlagValue for LrSchedule {
    fn flag_value(&self) -> String {
        match self {
            Self::Constant => "constant",
            Self::Cosine => "cosine",
        }
        .to_owned()
    }
}

/// A configuration problem, with a message that says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    /// An error with the given message.
    pub fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests;
