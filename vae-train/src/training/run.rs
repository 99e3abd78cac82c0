//! A training session: set up (fresh or resumed), the epochs, the pictures at the end.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::batch::{Batch, BatchInput, View};
use super::error::TrainError;
use super::evaluate::{evaluate, int8_test_loss};
use super::optimizer::{OptimizerKind, optimizer};
use super::stepper::{StepMode, Stepper};
use crate::checkpoint::{self, CheckpointState, RngState};
use crate::config::{ConfigError, RunConfig};
use crate::data::Mnist;
use crate::export::int8;
use crate::metrics::{EpochMetrics, metrics_csv_header};
use crate::model::Vae;
use crate::render;
use crate::rng::{Rng, Stream};
use crate::runfolder::{self, RunLock, Staging};
use crate::{backend, fsutil};

/// File name of the metrics table in a run directory.
pub const METRICS_FILE: &str = "metrics.csv";

/// How to run a training session (everything that is not part of the run's config).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The run directory (created if missing).
    pub out_dir: PathBuf,
    /// Continue from the checkpoint in `out_dir`.
    pub resume: bool,
    /// Start afresh even if `out_dir` holds a run (`--force`): its files are replaced once
    /// the new run has saved its first epoch. Without it a fresh start into a run folder
    /// fails with [`RunFolderError::HoldsRun`](crate::runfolder::RunFolderError).
    pub replace: bool,
    /// Draw a progress bar on stderr (it hides itself when stderr is not a terminal).
    pub progress: bool,
    /// Print a summary line per epoch on stdout.
    pub verbose: bool,
    /// Write the pictures after the last epoch.
    pub pictures: bool,
    /// Gradient computation.
    pub step_mode: StepMode,
    /// Adam implementation.
    pub optimizer: OptimizerKind,
    /// Measure the int8 decoder's test loss after every epoch (`test_loss_int8`).
    pub int8_eval: bool,
}

impl TrainOptions {
    /// Defaults for a run in `out_dir`: fresh start, progress and summaries on, pictures on.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            resume: false,
            replace: false,
            progress: true,
            verbose: true,
            pictures: true,
            step_mode: StepMode::default(),
            optimizer: OptimizerKind::default(),
            int8_eval: true,
        }
    }
}

/// What a finished training session leaves.
#[derive(Debug)]
pub struct TrainReport {
    /// Metrics of every epoch of the run so far (resumed epochs included).
    pub metrics: Vec<EpochMetrics>,
    /// The trained model (inference mode, on the plain CPU device).
    pub model: Vae,
    /// The configuration of the run.
    pub config: RunConfig,
    /// The pictures written.
    pub pictures: Vec<PathBuf>,
}

fn write_metrics(run_dir: &Path, rows: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut text = String::from(metrics_csv_header());
    text.push('\n');
    for r in rows {
        text.push_str(&r.csv_row());
        text.push('\n');
    }
    let path = run_dir.join(METRICS_FILE);
    fsutil::atomic_write(&path, text.as_bytes()).map_err(|source| TrainError::Io { path, source })
}

fn progress_bar(batches: usize, epoch: usize, epochs: usize, show: bool) -> ProgressBar {
    let target = if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(batches as u64), target);
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} batches  {msg}  ({elapsed} elapsed, {eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}

/// Trains `config` on `mnist` into `opts.out_dir` (resuming from its checkpoint with
/// `opts.resume`; then `config` must be the checkpoint's configuration, possibly with more
/// epochs). Returns the metrics of all epochs and the trained model.
///
/// The folder is locked for the whole session ([`RunLock`]). A fresh start into a folder
/// that holds a run needs `opts.replace`; it writes into a staging folder and takes the
/// old run's place only after its first checkpoint ([`Staging`]), so a run that fails
/// earlier leaves the folder as it was.
pub fn train(
    mnist: &Mnist,
    config: &RunConfig,
    opts: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    config.validate()?;
    let out = opts.out_dir.as_path();
    let created = !out.exists();
    std::fs::create_dir_all(out).map_err(|source| TrainError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let result = locked_train(mnist, config, opts);
    if created && !runfolder::holds_run(out) {
        // A new folder whose run failed before its first checkpoint: leave nothing.
        let _ = std::fs::remove_file(out.join(runfolder::LOCK_FILE));
        let _ = std::fs::remove_dir(out);
    }
    result
}

fn locked_train(
    mnist: &Mnist,
    config: &RunConfig,
    opts: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let out = opts.out_dir.as_path();
    let _lock = RunLock::acquire(out)?;
    if !opts.resume {
        runfolder::check_fresh_start(out, opts.replace)?;
    }
    let staging = match opts.resume {
        true => None,
        false => Some(Staging::begin(out)?),
    };
    let work_dir = staging.as_ref().map_or(out, Staging::path).to_path_buf();
    let device = backend::train_device();
    let Start {
        mut model,
        mut optim,
        mut history,
        first_epoch,
    } = start(out, mnist, config, opts, &device)?;
    config.save(&work_dir)?;
    write_metrics(&work_dir, &history)?;

    let data = Data {
        train: View::new(&mnist.train, config.train.max_train),
        test: View::new(&mnist.test, config.train.max_test),
    };
    if data.train.len() == 0 || data.test.len() == 0 {
        return Err(TrainError::Config(ConfigError::new(
            "the data has no training or no test images: check --data-dir".to_owned(),
        )));
    }
    if opts.verbose {
        announce(out, config, &data, first_epoch);
    }
    let int8_eval = opts.int8_eval && int8_check_worthwhile(config, opts.verbose);
    let mut session = Session {
        run_dir: work_dir,
        out,
        staging,
        config,
        opts,
        data: &data,
        stepper: Stepper::new(opts.step_mode),
        int8_eval,
        last_good: first_epoch.checked_sub(1).filter(|&e| e > 0),
    };
    for epoch in first_epoch..=config.train.epochs {
        let t0 = Instant::now();
        let (next, loss_sum) = session.train_epoch(model, &mut optim, epoch)?;
        model = next;
        let row = session.measure(&model, epoch, loss_sum, t0)?;
        history.push(row);
        session.save_epoch(&model, &optim, epoch, &history)?;
        if let Some(staging) = session.staging.take() {
            // The first checkpoint exists: the new run takes the folder.
            staging.commit()?;
            session.run_dir = out.to_path_buf();
        }
        if opts.verbose {
            print_epoch(&row, config.train.epochs);
        }
    }

    let model = model.valid().to_device(&backend::device());
    let pictures = if opts.pictures {
        render::write_all(
            out,
            &model,
            &data.test.to_split(),
            &history,
            config.train.seed,
        )?
    } else {
        Vec::new()
    };
    Ok(TrainReport {
        metrics: history,
        model,
        config: config.clone(),
        pictures,
    })
}

/// Where a session starts: a fresh model, or the checkpoint's model, optimizer state and
/// metrics.
struct Start {
    model: Vae,
    optim: ModuleOptimizer,
    history: Vec<EpochMetrics>,
    first_epoch: usize,
}

/// A fresh start, or with `opts.resume` the checkpoint in `run_dir`, which must have been
/// trained on the same data.
fn start(
    run_dir: &Path,
    mnist: &Mnist,
    config: &RunConfig,
    opts: &TrainOptions,
    device: &Device,
) -> Result<Start, TrainError> {
    let optim = optimizer(opts.optimizer);
    if !opts.resume {
        return Ok(Start {
            model: Vae::new(&config.model, config.train.seed, device)?,
            optim,
            history: Vec::new(),
            first_epoch: 1,
        });
    }
    let state = checkpoint::load_state(run_dir)?;
    if state.config.data_checksums != mnist.checksums {
        return Err(TrainError::DataMismatch {
            run_dir: run_dir.to_path_buf(),
        });
    }
    let model = checkpoint::load_model_from_state(run_dir, &state, device)?;
    let optim = checkpoint::load_optimizer(run_dir, &state, optim)?;
    let mut history = state.metrics;
    history.truncate(state.epoch);
    Ok(Start {
        model,
        optim,
        history,
        first_epoch: state.epoch + 1,
    })
}

/// The training and test digits a session uses.
struct Data<'a> {
    train: View<'a>,
    test: View<'a>,
}

/// Prints what is about to be trained (or that the run is already complete).
fn announce(run_dir: &Path, config: &RunConfig, data: &Data<'_>, first_epoch: usize) {
    let epochs = config.train.epochs;
    if first_epoch <= epochs {
        println!(
            "training {} parameters on {} images ({} test), backend {}, {} epochs from epoch {}, \
             into {}",
            config.model.num_params(),
            data.train.len(),
            data.test.len(),
            backend::BACKEND_NAME,
            epochs,
            first_epoch,
            run_dir.display()
        );
    } else {
        println!(
            "the run in {} has already trained {} epochs: pass a larger --epochs to continue",
            run_dir.display(),
            first_epoch - 1
        );
    }
}

/// Whether the per-epoch int8 check is worth its cost for `config`'s model: not when the
/// model cannot be exported (a run from before the limits were checked at the start), nor
/// when quantizing it would take more than [`int8::MAX_EPOCH_CHECK_COST`] (wide latents
/// or hidden layers). Says why when skipping, if `verbose`.
fn int8_check_worthwhile(config: &RunConfig, verbose: bool) -> bool {
    let reason = if let Err(e) = config.model.check_exportable() {
        format!("this model cannot be exported ({e})")
    } else if int8::quantization_cost(&config.model) > int8::MAX_EPOCH_CHECK_COST {
        "quantizing this model takes longer than an epoch of training is worth (widths \
         squared); vae-export measures the blob once"
            .to_owned()
    } else {
        return true;
    };
    if verbose {
        eprintln!("note: no per-epoch int8 test loss: {reason}");
    }
    false
}

/// The state that lasts across the epochs of a session.
struct Session<'a> {
    /// Where the session writes: the staging folder of a fresh start until its first
    /// checkpoint, then the run folder.
    run_dir: PathBuf,
    /// The run folder.
    out: &'a Path,
    /// A fresh start's staging folder, until committed.
    staging: Option<Staging>,
    /// Measure the int8 test loss every epoch ([`int8_check_worthwhile`]).
    int8_eval: bool,
    config: &'a RunConfig,
    opts: &'a TrainOptions,
    data: &'a Data<'a>,
    stepper: Stepper,
    /// The epoch of the last checkpoint written, if any.
    last_good: Option<usize>,
}

impl Session<'_> {
    fn batches(&self) -> usize {
        self.data.train.len().div_ceil(self.config.train.batch_size)
    }

    /// One pass over the shuffled training digits; returns the model and the sum of the
    /// batches' summed losses. A non-finite loss stops the run.
    fn train_epoch(
        &mut self,
        mut model: Vae,
        optim: &mut ModuleOptimizer,
        epoch: usize,
    ) -> Result<(Vae, f64), TrainError> {
        let train_cfg = &self.config.train;
        let (seed, latent) = (train_cfg.seed, self.config.model.latent_dim);
        let n_batches = self.batches();
        let mut order: Vec<usize> = (0..self.data.train.len()).collect();
        Rng::for_stream(seed, Stream::Shuffle, epoch as u64).shuffle(&mut order);
        let mut noise = Rng::for_stream(seed, Stream::TrainNoise, epoch as u64);
        let bar = progress_bar(n_batches, epoch, train_cfg.epochs, self.opts.progress);
        let mut sum = 0.0f64;
        for (b, idx) in order.chunks(train_cfg.batch_size).enumerate() {
            let eps = noise.normals_f32(idx.len() * latent);
            let batch = BatchInput(Batch::gather(
                &self.data.train,
                idx,
                self.config.model.conditional,
                eps,
            ));
            let step = (epoch - 1) * n_batches + b;
            let lr = train_cfg
                .lr_schedule
                .rate(train_cfg.lr, step, train_cfg.epochs * n_batches);
            let (next, value) = self.stepper.step(model, optim, &batch, lr);
            if !value.is_finite() {
                bar.finish_and_clear();
                return Err(self.non_finite(epoch, b + 1, value));
            }
            model = next;
            sum += f64::from(value);
            bar.inc(1);
            if b % 20 == 0 {
                bar.set_message(format!("loss {:.2}", value / idx.len() as f32));
            }
        }
        bar.finish_and_clear();
        Ok((model, sum))
    }

    /// The epoch's metrics: the test-set terms (a non-finite test loss stops the run) and,
    /// unless turned off, the int8 decoder's test loss. `t0` is when the epoch began.
    fn measure(
        &self,
        model: &Vae,
        epoch: usize,
        loss_sum: f64,
        t0: Instant,
    ) -> Result<EpochMetrics, TrainError> {
        let train_secs = t0.elapsed().as_secs_f64();
        let (seed, test) = (self.config.train.seed, &self.data.test);
        let (test_recon, test_kl) = evaluate(model, test.images, test.labels, seed);
        let test_loss = test_recon + test_kl;
        if !test_loss.is_finite() {
            return Err(self.non_finite(epoch, self.batches(), test_loss as f32));
        }
        let test_loss_int8 = if self.int8_eval {
            int8_test_loss(&model.valid(), &self.data.train, test, seed)
        } else {
            None
        };
        let n_train = self.data.train.len() as f64;
        Ok(EpochMetrics {
            epoch,
            train_loss: loss_sum / n_train,
            test_recon,
            test_kl,
            test_loss,
            seconds: t0.elapsed().as_secs_f64(),
            samples_per_s: n_train / train_secs.max(1e-9),
            test_loss_int8,
        })
    }

    /// Checkpoints the epoch, then rewrites `metrics.csv` and `loss.png`.
    fn save_epoch(
        &mut self,
        model: &Vae,
        optim: &ModuleOptimizer,
        epoch: usize,
        history: &[EpochMetrics],
    ) -> Result<(), TrainError> {
        let state = CheckpointState {
            format: checkpoint::CHECKPOINT_FORMAT,
            epoch,
            model_file: PathBuf::new(),
            optimizer_file: PathBuf::new(),
            model_sha256: None,
            optimizer_sha256: None,
            config: self.config.clone(),
            rng: RngState {
                seed: self.config.train.seed,
                next_epoch: epoch as u64 + 1,
            },
            metrics: history.to_vec(),
        };
        checkpoint::save(&self.run_dir, model, optim, state)?;
        self.last_good = Some(epoch);
        write_metrics(&self.run_dir, history)?;
        render::write_loss_plot(&self.run_dir, history)?;
        Ok(())
    }

    fn non_finite(&self, epoch: usize, batch: usize, value: f32) -> TrainError {
        TrainError::NonFinite {
            epoch,
            batch,
            value,
            last_good: self.last_good,
            run_dir: self.out.to_path_buf(),
        }
    }
}

/// The summary line of an epoch.
fn print_epoch(row: &EpochMetrics, epochs: usize) {
    let int8 = row
        .test_loss_int8
        .map_or(String::new(), |v| format!("  int8 {v:8.3}"));
    println!(
        "epoch {:>3}/{epochs}  train {:8.3}  test {:8.3} (recon {:8.3} + kl {:7.3}){int8}  \
         {:6.1}s  {:>7.0} samples/s",
        row.epoch,
        row.train_loss,
        row.test_loss,
        row.test_recon,
        row.test_kl,
        row.seconds,
        row.samples_per_s
    );
}

/// Regenerates every picture of the run in `run_dir` from its checkpoint, with the test
/// digits of `mnist` (truncated like the run's `max_test`). Returns the files written.
pub fn regenerate_pictures(run_dir: &Path, mnist: &Mnist) -> Result<Vec<PathBuf>, TrainError> {
    let state = checkpoint::load_state(run_dir)?;
    let _lock = RunLock::acquire(run_dir)?;
    let model = checkpoint::load_model_from_state(run_dir, &state, &backend::device())?;
    let test = View::new(&mnist.test, state.config.train.max_test).to_split();
    let mut metrics = state.metrics.clone();
    metrics.truncate(state.epoch);
    Ok(render::write_all(
        run_dir,
        &model,
        &test,
        &metrics,
        state.config.train.seed,
    )?)
}
