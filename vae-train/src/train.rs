//! The training loop.
//!
//! Each epoch: shuffle the training images (seeded), take Adam steps on batches of
//! `batch_size` images (the last batch may be smaller) minimising the mean per-image
//! negative ELBO, then evaluate on the test set, checkpoint, write `metrics.csv` and
//! redraw `loss.png`. After the last epoch the pictures are written (see
//! [`crate::render`]).
//!
//! # The reported numbers
//!
//! * `train_loss`: mean over the epoch's images of the loss each batch had when it was
//!   used (so it lags the model a little, as in PyTorch's example).
//! * `test_recon`, `test_kl`, `test_loss`: the test set's mean per-image BCE (summed over
//!   pixels), KL, and their sum (negative ELBO), evaluated after the epoch's last step. `z`
//!   is sampled with the reparameterisation like in training, as the ELBO defines it; the
//!   noise comes from a generator seeded by the run seed that is the **same every epoch**,
//!   so epoch-to-epoch changes reflect the model, not the noise.
//! * `seconds`: wall time of the epoch (training and test evaluation).
//! * `samples_per_s`: training images per second of the training phase alone.
//!
//! # Determinism and resuming
//!
//! All randomness comes from [`crate::rng`] streams derived from `(seed, epoch)`; the
//! checkpoint stores the model, the Adam state and the epoch, so `--resume` continues
//! exactly where an uninterrupted run would be (bit-identical on the same machine, backend
//! and step mode).
//!
//! # Steps
//!
//! With [`StepMode::Split`] (the default) each batch is cut in two halves whose gradients
//! are computed at the same time, one on the calling thread and one on a helper thread that
//! lives as long as the [`Stepper`] (the model is forked for it); burn's `step_multi` sums
//! the two gradients. Each half's loss is divided by the whole batch's size, so the sum is
//! the gradient of the batch mean, as in [`StepMode::Plain`] (equal up to float rounding).
//!
//! The reconstruction term's gradient goes through [`recon_for_training`]: BCE and its
//! gradient are computed in one vectorised host pass instead of eight tensor passes.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::adam::FusedAdamConfig;
use crate::backend;
use crate::checkpoint::{self, CheckpointError, CheckpointState, RngState};
use crate::config::{ConfigError, RunConfig};
use crate::data::{DataError, IMAGE_PIXELS, Mnist, Split};
use crate::int8;
use crate::loss::{bce_with_logits_host, kl_values, recon_for_training};
use crate::metrics::{EpochMetrics, metrics_csv_header};
use crate::model::{Vae, one_hot, tensor2, to_host};
use crate::pictures::PictureError;
use crate::render;
use crate::rng::{Rng, Stream};

/// File name of the metrics table in a run directory.
pub const METRICS_FILE: &str = "metrics.csv";

/// Images per chunk when evaluating on the test set.
const EVAL_CHUNK: usize = 1000;

/// How a batch's gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StepMode {
    /// One forward/backward pass over the whole batch.
    Plain,
    /// Two halves on two threads, gradients summed (same gradient as `Plain`).
    #[default]
    Split,
}

/// Which Adam implementation updates the weights (both are Adam with the same
/// hyper-parameters; see [`crate::adam`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptimizerKind {
    /// burn's `Adam`.
    Burn,
    /// [`crate::adam::FusedAdam`]: one pass over each parameter.
    #[default]
    Fused,
}

/// Adam's `beta_1`.
pub const ADAM_BETA1: f32 = 0.9;
/// Adam's `beta_2`.
pub const ADAM_BETA2: f32 = 0.999;
/// Adam's epsilon (PyTorch's default, not burn's 1e-5).
pub const ADAM_EPS: f32 = 1e-8;

/// The optimizer for a run.
pub fn optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Burn => burn::optim::AdamConfig::new()
            .with_beta_1(ADAM_BETA1)
            .with_beta_2(ADAM_BETA2)
            .with_epsilon(ADAM_EPS)
            .init(),
        OptimizerKind::Fused => FusedAdamConfig::new()
            .with_beta_1(ADAM_BETA1)
            .with_beta_2(ADAM_BETA2)
            .with_epsilon(ADAM_EPS)
            .init(),
    }
}

/// How to run a training session (everything that is not part of the run's config).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The run directory (created if missing).
    pub out_dir: PathBuf,
    /// Continue from the checkpoint in `out_dir`.
    pub resume: bool,
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
            progress: true,
            verbose: true,
            pictures: true,
            step_mode: StepMode::default(),
            optimizer: OptimizerKind::default(),
            int8_eval: true,
        }
    }
}

/// Why training stopped.
#[derive(Debug)]
pub enum TrainError {
    /// Invalid configuration.
    Config(ConfigError),
    /// The data could not be loaded.
    Data(DataError),
    /// Writing or reading a checkpoint failed.
    Checkpoint(CheckpointError),
    /// A picture could not be drawn or saved.
    Picture(PictureError),
    /// A file of the run could not be written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The loss became NaN or infinite.
    NonFinite {
        /// Epoch (1-based) of the bad batch.
        epoch: usize,
        /// Batch (1-based) within the epoch.
        batch: usize,
        /// The loss value.
        value: f32,
        /// The epoch of the checkpoint left in place, if any.
        last_good: Option<usize>,
        /// The run directory.
        run_dir: PathBuf,
    },
    /// A resumed run was given data that differs from the data it was trained on.
    DataMismatch {
        /// The run directory.
        run_dir: PathBuf,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Data(e) => write!(f, "{e}"),
            Self::Checkpoint(e) => write!(f, "{e}"),
            Self::Picture(e) => write!(f, "{e}"),
            Self::Io { path, source } => write!(
                f,
                "cannot write {}: {source}; check that the folder is writable",
                path.display()
            ),
            Self::NonFinite {
                epoch,
                batch,
                value,
                last_good,
                run_dir,
            } => {
                write!(
                    f,
                    "training diverged: the loss became {value} at epoch {epoch}, batch {batch}; "
                )?;
                match last_good {
                    Some(e) => write!(
                        f,
                        "the checkpoint of epoch {e} in {} is kept; ",
                        run_dir.display()
                    )?,
                    None => write!(f, "no checkpoint was written; ")?,
                }
                write!(f, "lower the learning rate (--lr) and train again")
            }
            Self::DataMismatch { run_dir } => write!(
                f,
                "the data differs from the data the run in {} was trained on (checksums in its \
                 config.json): pass the same --data-dir, or start a new run without --resume",
                run_dir.display()
            ),
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Data(e) => Some(e),
            Self::Checkpoint(e) => Some(e),
            Self::Picture(e) => Some(e),
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ConfigError> for TrainError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
impl From<DataError> for TrainError {
    fn from(e: DataError) -> Self {
        Self::Data(e)
    }
}
impl From<CheckpointError> for TrainError {
    fn from(e: CheckpointError) -> Self {
        Self::Checkpoint(e)
    }
}
impl From<PictureError> for TrainError {
    fn from(e: PictureError) -> Self {
        Self::Picture(e)
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

/// The first `max` images of a split (all when `None`), without copying.
struct View<'a> {
    images: &'a [u8],
    labels: &'a [u8],
}

impl<'a> View<'a> {
    fn new(split: &'a Split, max: Option<usize>) -> Self {
        let n = max.map_or(split.len(), |m| m.min(split.len()));
        Self {
            images: &split.images[..n * IMAGE_PIXELS],
            labels: &split.labels[..n],
        }
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn to_split(&self) -> Split {
        Split {
            images: self.images.to_vec(),
            labels: self.labels.to_vec(),
        }
    }
}

/// One batch as host data.
struct Batch {
    rows: usize,
    pixels: Vec<f32>,
    cond: Option<Vec<f32>>,
    eps: Vec<f32>,
}

impl Batch {
    fn gather(view: &View, idx: &[usize], conditional: bool, eps: Vec<f32>) -> Self {
        let mut pixels = Vec::with_capacity(idx.len() * IMAGE_PIXELS);
        for &i in idx {
            pixels.extend(
                view.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
                    .iter()
                    .map(|&p| f32::from(p) / 255.0),
            );
        }
        let cond = conditional.then(|| {
            let labels: Vec<u8> = idx.iter().map(|&i| view.labels[i]).collect();
            one_hot(&labels)
        });
        Self {
            rows: idx.len(),
            pixels,
            cond,
            eps,
        }
    }

    /// Rows `start..start + rows` of this batch.
    fn part(&self, start: usize, rows: usize, latent: usize) -> Batch {
        Batch {
            rows,
            pixels: self.pixels[start * IMAGE_PIXELS..(start + rows) * IMAGE_PIXELS].to_vec(),
            cond: self
                .cond
                .as_ref()
                .map(|c| c[start * 10..(start + rows) * 10].to_vec()),
            eps: self.eps[start * latent..(start + rows) * latent].to_vec(),
        }
    }

    /// Forward pass: the decoder logits and the per-image KL terms.
    fn forward(&self, model: &Vae, device: &Device) -> (Tensor<2>, Tensor<1>) {
        let latent = model.latent_dim();
        let x = tensor2(self.pixels.clone(), self.rows, IMAGE_PIXELS, device);
        let cond = self
            .cond
            .as_ref()
            .map(|c| tensor2(c.clone(), self.rows, 10, device));
        let eps = tensor2(self.eps.clone(), self.rows, latent, device);
        let out = model.forward(x, cond, eps.clone());
        let kl = model.kl(out.mu, out.logvar, out.z, eps);
        (out.logits, kl)
    }

    /// Per-image reconstruction and KL values (no gradient).
    fn loss_values(&self, model: &Vae, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let (logits, kl) = self.forward(model, device);
        let logits = to_host(logits);
        let mut grad = vec![0.0; logits.len()];
        let recon = bce_with_logits_host(&logits, &self.pixels, self.rows, &mut grad);
        (recon, kl_values(kl))
    }
}

/// Gradient of the batch's summed loss divided by `denom`, and the summed loss.
fn gradients(model: &Vae, batch: &Batch, denom: f32, device: &Device) -> (GradientsParams, f32) {
    let (logits, kl) = batch.forward(model, device);
    let kl_host = kl_values(kl.clone());
    // A tensor whose gradient is that of the summed BCE (see `recon_for_training`).
    let (recon, recon_host) = recon_for_training(logits, &batch.pixels);
    let value = recon_host
        .iter()
        .chain(&kl_host)
        .map(|&v| f64::from(v))
        .sum::<f64>() as f32;
    let grads = (recon + kl.sum()).div_scalar(denom).backward();
    (GradientsParams::from_grads(grads, model), value)
}

/// A job for the helper thread of [`StepMode::Split`]: the gradient of one half batch.
struct Job {
    model: Vae,
    batch: Batch,
    denom: f32,
    device: Device,
}

/// A long-lived helper thread computing half-batch gradients. Keeping one thread for the
/// whole run (rather than spawning one per step) keeps its allocator caches warm; a fresh
/// thread per step costs page faults on every batch.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    results: mpsc::Receiver<(GradientsParams, f32)>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Worker {
    fn spawn() -> Self {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (res_tx, res_rx) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("vae-train-half-batch".to_owned())
            .spawn(move || {
                while let Ok(job) = job_rx.recv() {
                    let result = gradients(&job.model, &job.batch, job.denom, &job.device);
                    // Release the forked model before answering, so the optimizer holds the
                    // only reference to each parameter and can update it in place.
                    drop(job);
                    if res_tx.send(result).is_err() {
                        break;
                    }
                }
            })
            .ok();
        Self {
            jobs: Some(job_tx),
            results: res_rx,
            handle,
        }
    }

    /// Runs `job` on the helper thread, or here when the thread could not be started.
    fn submit(&mut self, job: Job) -> Option<Job> {
        match (&self.handle, &self.jobs) {
            (Some(_), Some(tx)) => tx.send(job).err().map(|e| e.0),
            _ => Some(job),
        }
    }

    fn receive(&mut self) -> (GradientsParams, f32) {
        match self.results.recv() {
            Ok(r) => r,
            // The helper died: only a panic in the backend does that; surface it here.
            Err(_) => match self.handle.take().map(thread::JoinHandle::join) {
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                _ => panic!("the half-batch helper thread stopped unexpectedly"),
            },
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Takes optimisation steps in a given [`StepMode`]; holds the helper thread of
/// [`StepMode::Split`] for as long as it lives.
pub struct Stepper {
    mode: StepMode,
    worker: Option<Worker>,
}

impl Stepper {
    /// A stepper for `mode` (starts the helper thread for [`StepMode::Split`]; on a machine
    /// with a single core, split steps are taken as plain ones).
    pub fn new(mode: StepMode) -> Self {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let mode = if cores < 2 { StepMode::Plain } else { mode };
        let worker = (mode == StepMode::Split).then(Worker::spawn);
        Self { mode, worker }
    }

    /// One Adam step on `batch`; returns the updated model and the batch's summed loss.
    pub fn step(
        &mut self,
        model: Vae,
        optim: &mut ModuleOptimizer,
        batch: &BatchInput,
        lr: f64,
    ) -> (Vae, f32) {
        let device = model.device();
        let batch = &batch.0;
        let denom = batch.rows as f32;
        let worker = match (&mut self.worker, self.mode) {
            (Some(w), StepMode::Split) if batch.rows >= 2 => w,
            _ => {
                let (grads, value) = gradients(&model, batch, denom, &device);
                return (optim.step(lr, model, grads), value);
            }
        };
        let latent = model.latent_dim();
        let half = batch.rows.div_ceil(2);
        let first = batch.part(0, half, latent);
        let job = Job {
            model: model.clone().fork(&device),
            batch: batch.part(half, batch.rows - half, latent),
            denom,
            device: device.clone(),
        };
        // Hand the second half to the helper first, then work on the first half here.
        let local = worker.submit(job);
        let (g1, v1) = gradients(&model, &first, denom, &device);
        let (g2, v2) = match local {
            None => worker.receive(),
            Some(job) => gradients(&job.model, &job.batch, denom, &device),
        };
        let multi = MultiGradientsParams {
            grads: vec![(g1, device.clone()), (g2, device)],
        };
        (optim.step_multi(lr, model, multi), v1 + v2)
    }
}

/// A batch prepared for [`Stepper::step`].
pub struct BatchInput(Batch);

impl BatchInput {
    /// A batch of `images` (`n * 784` bytes) with labels and noise `eps` (`n * latent`).
    pub fn new(images: &[u8], labels: &[u8], conditional: bool, eps: Vec<f32>) -> Self {
        let view = View { images, labels };
        let idx: Vec<usize> = (0..labels.len()).collect();
        Self(Batch::gather(&view, &idx, conditional, eps))
    }
}

/// One optimisation step with a throw-away [`Stepper`] (for tests): returns the updated
/// model and the batch's summed loss.
pub fn train_step(
    model: Vae,
    optim: &mut ModuleOptimizer,
    batch: &BatchInput,
    lr: f64,
    mode: StepMode,
) -> (Vae, f32) {
    Stepper::new(mode).step(model, optim, batch, lr)
}

/// Test-set evaluation: mean per-image (recon, kl) with the fixed evaluation noise.
pub fn evaluate(model: &Vae, images: &[u8], labels: &[u8], seed: u64) -> (f64, f64) {
    let model = model.valid();
    let device = model.device();
    let view = View { images, labels };
    let n = view.len();
    let latent = model.latent_dim();
    let conditional = model.config().conditional;
    let mut noise = Rng::for_stream(seed, Stream::EvalNoise, 0);
    let (mut recon, mut kl) = (0.0f64, 0.0f64);
    let mut start = 0;
    while start < n {
        let rows = (n - start).min(EVAL_CHUNK);
        let idx: Vec<usize> = (start..start + rows).collect();
        let batch = Batch::gather(&view, &idx, conditional, noise.normals_f32(rows * latent));
        let (r, k) = batch.loss_values(&model, &device);
        recon += r.iter().map(|&v| f64::from(v)).sum::<f64>();
        kl += k.iter().map(|&v| f64::from(v)).sum::<f64>();
        start += rows;
    }
    let n = n.max(1) as f64;
    (recon / n, kl / n)
}

/// The test loss of `model`'s decoder quantized as `vae-export` quantizes it (calibrated on
/// the first training digits), or `None` (with a warning) if it cannot be quantized: a
/// measurement must not stop a training run.
fn int8_test_loss(model: &Vae, train: &View<'_>, test: &View<'_>, seed: u64) -> Option<f64> {
    let measured = int8::quantize_decoder(
        model,
        train.images,
        train.labels,
        int8::DEFAULT_CALIBRATION,
        vae_core::quantize::Clipping::default(),
        seed,
        String::new(),
    )
    .and_then(|q| q.to_blob())
    .and_then(|blob| {
        let decoder = vae_core::host::open(&blob)?;
        int8::test_losses(model, decoder.as_ref(), test.images, test.labels, seed)
    });
    match measured {
        Ok((_, int8)) => Some(int8),
        Err(e) => {
            eprintln!("warning: the int8 test loss could not be measured this epoch: {e}");
            None
        }
    }
}

fn write_metrics(run_dir: &Path, rows: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut text = String::from(metrics_csv_header());
    text.push('\n');
    for r in rows {
        text.push_str(&r.csv_row());
        text.push('\n');
    }
    let path = run_dir.join(METRICS_FILE);
    checkpoint::atomic_write(&path, text.as_bytes())
        .map_err(|source| TrainError::Io { path, source })
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
pub fn train(
    mnist: &Mnist,
    config: &RunConfig,
    opts: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    config.validate()?;
    let run_dir = opts.out_dir.as_path();
    std::fs::create_dir_all(run_dir).map_err(|source| TrainError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let device = backend::train_device();
    let train_cfg = &config.train;
    let seed = train_cfg.seed;

    let mut optim = optimizer(opts.optimizer);
    let (mut model, mut history, first_epoch) = if opts.resume {
        let state = checkpoint::load_state(run_dir)?;
        if state.config.data_checksums != mnist.checksums {
            return Err(TrainError::DataMismatch {
                run_dir: run_dir.to_path_buf(),
            });
        }
        let model = checkpoint::load_model_from_state(run_dir, &state, &device)?;
        optim = checkpoint::load_optimizer(run_dir, &state, optim)?;
        let mut history = state.metrics;
        history.truncate(state.epoch);
        (model, history, state.epoch + 1)
    } else {
        // A fresh run replaces whatever run the folder held.
        let _ = std::fs::remove_file(run_dir.join(checkpoint::CHECKPOINT_FILE));
        (Vae::new(&config.model, seed, &device)?, Vec::new(), 1)
    };
    config.save(run_dir)?;
    write_metrics(run_dir, &history)?;

    let train_view = View::new(&mnist.train, train_cfg.max_train);
    let test_view = View::new(&mnist.test, train_cfg.max_test);
    let n_train = train_view.len();
    if n_train == 0 || test_view.len() == 0 {
        return Err(TrainError::Config(ConfigError::new(
            "the data has no training or no test images: check --data-dir".to_owned(),
        )));
    }
    let latent = config.model.latent_dim;
    let batch_size = train_cfg.batch_size;
    let n_batches = n_train.div_ceil(batch_size);
    let mut last_good = first_epoch.checked_sub(1).filter(|&e| e > 0);
    let mut stepper = Stepper::new(opts.step_mode);

    if opts.verbose && first_epoch <= train_cfg.epochs {
        println!(
            "training {} parameters on {} images ({} test), backend {}, {} epochs from epoch {}, \
             into {}",
            config.model.num_params(),
            n_train,
            test_view.len(),
            backend::BACKEND_NAME,
            train_cfg.epochs,
            first_epoch,
            run_dir.display()
        );
    }
    if opts.verbose && first_epoch > train_cfg.epochs {
        println!(
            "the run in {} has already trained {} epochs: pass a larger --epochs to continue",
            run_dir.display(),
            first_epoch - 1
        );
    }

    for epoch in first_epoch..=train_cfg.epochs {
        let t0 = Instant::now();
        let mut order: Vec<usize> = (0..n_train).collect();
        Rng::for_stream(seed, Stream::Shuffle, epoch as u64).shuffle(&mut order);
        let mut noise = Rng::for_stream(seed, Stream::TrainNoise, epoch as u64);
        let bar = progress_bar(n_batches, epoch, train_cfg.epochs, opts.progress);
        let mut sum = 0.0f64;
        for (b, idx) in order.chunks(batch_size).enumerate() {
            let eps = noise.normals_f32(idx.len() * latent);
            let batch = BatchInput(Batch::gather(
                &train_view,
                idx,
                config.model.conditional,
                eps,
            ));
            let step = (epoch - 1) * n_batches + b;
            let lr = train_cfg
                .lr_schedule
                .rate(train_cfg.lr, step, train_cfg.epochs * n_batches);
            let (next, value) = stepper.step(model, &mut optim, &batch, lr);
            if !value.is_finite() {
                bar.finish_and_clear();
                return Err(TrainError::NonFinite {
                    epoch,
                    batch: b + 1,
                    value,
                    last_good,
                    run_dir: run_dir.to_path_buf(),
                });
            }
            model = next;
            sum += f64::from(value);
            bar.inc(1);
            if b % 20 == 0 {
                bar.set_message(format!("loss {:.2}", value / idx.len() as f32));
            }
        }
        bar.finish_and_clear();
        let train_secs = t0.elapsed().as_secs_f64();
        let (test_recon, test_kl) = evaluate(&model, test_view.images, test_view.labels, seed);
        let test_loss = test_recon + test_kl;
        if !test_loss.is_finite() {
            return Err(TrainError::NonFinite {
                epoch,
                batch: n_batches,
                value: test_loss as f32,
                last_good,
                run_dir: run_dir.to_path_buf(),
            });
        }
        let test_loss_int8 = if opts.int8_eval {
            int8_test_loss(&model.valid(), &train_view, &test_view, seed)
        } else {
            None
        };
        let row = EpochMetrics {
            epoch,
            train_loss: sum / n_train as f64,
            test_recon,
            test_kl,
            test_loss,
            seconds: t0.elapsed().as_secs_f64(),
            samples_per_s: n_train as f64 / train_secs.max(1e-9),
            test_loss_int8,
        };
        history.push(row);
        let state = CheckpointState {
            format: checkpoint::CHECKPOINT_FORMAT,
            epoch,
            model_file: PathBuf::new(),
            optimizer_file: PathBuf::new(),
            config: config.clone(),
            rng: RngState {
                seed,
                next_epoch: epoch as u64 + 1,
            },
            metrics: history.clone(),
        };
        checkpoint::save(run_dir, &model, &optim, state)?;
        last_good = Some(epoch);
        write_metrics(run_dir, &history)?;
        render::write_loss_plot(run_dir, &history)?;
        if opts.verbose {
            let int8 = row
                .test_loss_int8
                .map_or(String::new(), |v| format!("  int8 {v:8.3}"));
            println!(
                "epoch {epoch:>3}/{}  train {:8.3}  test {:8.3} (recon {:8.3} + kl {:7.3}){int8}  \
                 {:6.1}s  {:>7.0} samples/s",
                train_cfg.epochs,
                row.train_loss,
                row.test_loss,
                row.test_recon,
                row.test_kl,
                row.seconds,
                row.samples_per_s
            );
        }
    }

    let model = model.valid().to_device(&backend::device());
    let pictures = if opts.pictures {
        render::write_all(run_dir, &model, &test_view.to_split(), &history, seed)?
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

/// Regenerates every picture of the run in `run_dir` from its checkpoint, with the test
/// digits of `mnist` (truncated like the run's `max_test`). Returns the files written.
pub fn regenerate_pictures(run_dir: &Path, mnist: &Mnist) -> Result<Vec<PathBuf>, TrainError> {
    let state = checkpoint::load_state(run_dir)?;
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
