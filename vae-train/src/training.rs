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
//! The reconstruction term's gradient goes through [`recon_for_training`](crate::model::loss::recon_for_training): BCE and its
//! gradient are computed in one vectorised host pass instead of eight tensor passes.

pub mod adam;
mod batch;
mod error;
mod evaluate;
mod optimizer;
mod run;
mod stepper;

pub use batch::BatchInput;
pub use error::TrainError;
pub use evaluate::evaluate;
pub use optimizer::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OptimizerKind, optimizer};
pub use run::{METRICS_FILE, TrainOptions, TrainReport, regenerate_pictures, train};
pub use stepper::{StepMode, Stepper, train_step};
