//! Command-line interface of `vae-train` (clap derive). `main.rs` only parses and calls
//! [`run`]; everything here is testable without a shell.

use std::error::Error;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checkpoint;
use crate::config::{Activation, ConfigOverrides, LrSchedule, RunConfig};
use crate::data;
use crate::runfolder;
use crate::training::{self, OptimizerKind, StepMode, TrainOptions};

/// Default run directory.
pub const DEFAULT_OUT: &str = "runs/latest";

/// Train a variational autoencoder (MLP, Bernoulli decoder) on MNIST.
///
/// Without a subcommand, trains: each epoch it prints a summary line, appends a row to
/// OUT/metrics.csv, redraws OUT/loss.png and saves a checkpoint (OUT/checkpoint.json +
/// OUT/checkpoint/); at the end it writes reconstructions.png, samples.png,
/// interpolation.png and, for --latent-dim 2, manifold.png and latent_scatter.png.
///
/// A folder that already holds a run is not trained into from scratch: pass --resume to
/// continue it, or --force to replace it (its files are swapped out only once the new
/// run has saved its first epoch). One vae-train at a time writes into a folder.
#[derive(Debug, Parser)]
#[command(
    name = "vae-train",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: train).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Training flags (when no subcommand is given).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model (the default when no subcommand is given).
    Train(TrainArgs),
    /// Redraw every picture of a finished (or interrupted) run from its checkpoint, without
    /// training.
    Pictures(PicturesArgs),
}

/// Flags of `vae-train pictures`.
#[derive(Debug, Clone, Args)]
pub struct PicturesArgs {
    /// The run folder (holding checkpoint.json).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
    pub run: PathBuf,
    /// Folder with the four MNIST IDX files (.gz or plain) for the test digits; default: the
    /// VAE_MNIST_DIR environment variable, else the folder the run was trained on, else the
    /// download cache (~/.cache/vae/mnist).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How each batch's gradient is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StepArg {
    /// One pass over the whole batch.
    Plain,
    /// Two half batches on two threads, gradients summed (same gradient up to rounding;
    /// faster on 2+ cores).
    Split,
}

/// Encoder activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// max(x, 0).
    Relu,
    /// x * sigmoid(x): 1.5 nats lower test loss than ReLU at the defaults.
    Silu,
}

impl ActivationArg {
    /// The activation of a run's configuration.
    pub fn activation(self) -> Activation {
        match self {
            Self::Relu => Activation::Relu,
            Self::Silu => Activation::Silu,
        }
    }
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// --lr at every step.
    Constant,
    /// Half a cosine from --lr down to 0 over the whole run.
    Cosine,
}

impl ScheduleArg {
    /// The schedule of a run's configuration.
    pub fn schedule(self) -> LrSchedule {
        match self {
            Self::Constant => LrSchedule::Constant,
            Self::Cosine => LrSchedule::Cosine,
        }
    }
}

/// Which Adam implementation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdamArg {
    /// burn's Adam.
    Burn,
    /// The same update fused into one pass per parameter (faster).
    Fused,
}

/// Flags of training.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// Folder with the four MNIST IDX files (.gz or plain). Default: the VAE_MNIST_DIR
    /// environment variable, else the cache ~/.cache/vae/mnist (downloaded when missing).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run folder for checkpoints, metrics.csv and pictures [default: runs/latest].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint (same result as never stopping).
    /// Model and training flags must match the run's; --epochs may raise its total (under
    /// the cosine schedule that stretches the remaining decay, so the result then differs
    /// from a run trained for the new total from the start).
    #[arg(long)]
    pub resume: bool,
    /// Start a new run in --out even if it holds one, replacing that run's files
    /// (checkpoint, config, metrics, pictures, decoder.bin) once the new run has saved its
    /// first epoch; until then the old run stays intact. Without it, a folder that holds a
    /// run is refused.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Width of the latent code z [default: 20].
    #[arg(long, value_name = "N")]
    pub latent_dim: Option<usize>,
    /// Encoder hidden widths, input side first [default: 512,256].
    #[arg(long, value_name = "W,W,...", value_delimiter = ',', num_args = 1..)]
    pub encoder_hidden: Option<Vec<usize>>,
    /// Decoder hidden widths, latent side first [default: 256,256].
    #[arg(long, value_name = "W,W,...", value_delimiter = ',', num_args = 1..)]
    pub decoder_hidden: Option<Vec<usize>>,
    /// Condition encoder and decoder on the digit label (conditional VAE).
    #[arg(long)]
    pub conditional: bool,
    /// Activation of the encoder's hidden layers (the decoder always uses ReLU, which its
    /// int8 kernels implement) [default: silu].
    #[arg(long, value_enum, value_name = "FN")]
    pub encoder_activation: Option<ActivationArg>,
    /// Components of the learned mixture-of-Gaussians prior p(z), trained with the model
    /// and stored in the exported blob (vae-core samples from it); 0 is the fixed N(0, I)
    /// prior [default: 100, or 0 with --conditional].
    #[arg(long, value_name = "K")]
    pub prior_components: Option<usize>,
    /// Total number of epochs [default: 10].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Images per Adam step [default: 128].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Adam learning rate [default: 0.001].
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// Learning-rate schedule: constant keeps --lr, cosine decays it to 0 over the run (for
    /// longer runs: at 10 epochs it measured worse) [default: constant].
    #[arg(long, value_enum, value_name = "SCHEDULE")]
    pub lr_schedule: Option<ScheduleArg>,
    /// Seed of all randomness (init, shuffling, noise) [default: 1].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N")]
    pub max_train: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long, value_name = "N")]
    pub max_test: Option<usize>,
    /// Gradient computation [default: split].
    #[arg(long, value_enum, value_name = "MODE")]
    pub step: Option<StepArg>,
    /// Adam implementation [default: fused].
    #[arg(long, value_enum, value_name = "IMPL")]
    pub adam: Option<AdamArg>,
    /// Skip the pictures at the end of training.
    #[arg(long)]
    pub no_pictures: bool,
    /// Skip the per-epoch test loss of the int8 decoder (quantized as vae-export does,
    /// about a second per epoch on full MNIST); metrics.csv leaves test_loss_int8 empty.
    #[arg(long)]
    pub no_int8_eval: bool,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
}

impl TrainArgs {
    /// The model and training flags that were given.
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            latent_dim: self.latent_dim,
            encoder_hidden: self.encoder_hidden.clone(),
            decoder_hidden: self.decoder_hidden.clone(),
            conditional: self.conditional.then_some(true),
            encoder_activation: self.encoder_activation.map(ActivationArg::activation),
            prior_components: self.prior_components,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            lr_schedule: self.lr_schedule.map(ScheduleArg::schedule),
            seed: self.seed,
            max_train: self.max_train,
            max_test: self.max_test,
        }
    }

    /// The run folder.
    pub fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT))
    }

    /// Training options from the flags.
    pub fn options(&self) -> TrainOptions {
        let mut opts = TrainOptions::new(self.out_dir());
        opts.resume = self.resume;
        opts.replace = self.force;
        opts.progress = !self.quiet;
        opts.verbose = !self.quiet;
        opts.pictures = !self.no_pictures;
        opts.int8_eval = !self.no_int8_eval;
        opts.step_mode = match self.step {
            Some(StepArg::Plain) => StepMode::Plain,
            Some(StepArg::Split) => StepMode::Split,
            None => StepMode::default(),
        };
        opts.optimizer = match self.adam {
            Some(AdamArg::Burn) => OptimizerKind::Burn,
            Some(AdamArg::Fused) => OptimizerKind::Fused,
            None => OptimizerKind::default(),
        };
        opts
    }
}

/// Trains as the flags say.
pub fn run_train(args: &TrainArgs) -> Result<training::TrainReport, Box<dyn Error>> {
    let opts = args.options();
    let flags = args.overrides();
    // Check the flags before touching the data (which may be a download).
    let saved = if args.resume {
        let state = checkpoint::load_state(&opts.out_dir)?;
        Some(flags.resume(&state.config)?)
    } else {
        flags.new_run()?;
        runfolder::check_fresh_start(&opts.out_dir, args.force)?;
        None
    };
    let dir = data::resolve_data_dir(args.data_dir.as_deref());
    let mnist = data::load(&dir)?;
    let config = match saved {
        Some(config) => config,
        None => {
            let (model, train) = flags.new_run()?;
            // Recorded absolute, so that the export finds the data from any folder.
            let data_dir = std::path::absolute(&dir.path).unwrap_or_else(|_| dir.path.clone());
            RunConfig::new(model, train, mnist.checksums.clone(), data_dir)
        }
    };
    Ok(training::train(&mnist, &config, &opts)?)
}

/// Regenerates the pictures of a run.
pub fn run_pictures(args: &PicturesArgs) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    // Fail on a missing checkpoint before loading data.
    let state = checkpoint::load_state(&args.run)?;
    let mnist = data::load_for_run(args.data_dir.as_deref(), &state.config.data_dir)?;
    Ok(training::regenerate_pictures(&args.run, &mnist)?)
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    match cli.command {
        Some(Command::Pictures(args)) => {
            for path in run_pictures(&args)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Some(Command::Train(args)) => finish_train(&args),
        None => finish_train(&cli.train),
    }
}

fn finish_train(args: &TrainArgs) -> Result<(), Box<dyn Error>> {
    let report = run_train(args)?;
    if !args.quiet {
        if let Some(last) = report.metrics.last() {
            println!(
                "done: test loss {:.3} per image after {} epochs; run folder {}",
                last.test_loss,
                last.epoch,
                args.out_dir().display()
            );
        }
        for path in &report.pictures {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The message printed for an error: its text and, once, its causes not already part of it.
pub fn error_message(err: &(dyn Error + 'static)) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}
