//! Optimisation steps: one pass over the whole batch, or two halves on two threads.

use std::sync::mpsc;
use std::thread;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::Device;

use super::batch::{Batch, BatchInput, gradients};
use crate::model::Vae;

/// How a batch's gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StepMode {
    /// One forward/backward pass over the whole batch.
    Plain,
    /// Two halves on two threads, gradients summed (same gradient as `Plain`).
    #[default]
    Split,
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
