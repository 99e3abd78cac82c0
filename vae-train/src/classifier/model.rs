//! The classifier network (an MLP) and its training loop.
//!
//! Every random choice (weight init, shuffling, dropout masks) comes from [`Rng`] seeded by
//! [`TrainConfig::seed`], never from burn's global RNG, so a run is reproducible whatever
//! else runs in the process.

use std::time::Instant;

use burn::module::Param;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu};

use super::{ClassifierError, TrainConfig};
use crate::data::Split;
use crate::rng::Rng;
use vae_core::{IMAGE_PIXELS, NUM_CLASSES};

/// Mean pixel intensity of MNIST (on the 0..1 scale); inputs are standardised with it.
const PIXEL_MEAN: f32 = 0.1307;
/// Standard deviation of MNIST pixel intensities (0..1 scale).
const PIXEL_STD: f32 = 0.3081;
/// Images per forward pass at inference.
const INFER_BATCH: usize = 1000;

/// `784 -> hidden[0] -> hidden[1] -> 10`, ReLU, dropout after each hidden layer while
/// training.
#[derive(Module, Debug)]
pub(crate) struct Mlp {
    fc1: Linear,
    fc2: Linear,
    out: Linear,
}

/// Dropout masks for one batch (already scaled by `1 / (1 - p)`).
struct Masks {
    h1: Tensor<2>,
    h2: Tensor<2>,
}

impl Mlp {
    /// A network with the given hidden sizes, weights drawn from `rng` (He-uniform, zero
    /// biases).
    fn init(hidden: [usize; 2], rng: &mut Rng, device: &Device) -> Self {
        Self {
            fc1: linear(IMAGE_PIXELS, hidden[0], Some(rng), device),
            fc2: linear(hidden[0], hidden[1], Some(rng), device),
            out: linear(hidden[1], NUM_CLASSES, Some(rng), device),
        }
    }

    /// A network of the given shape with all-zero weights, to load a record into.
    pub(crate) fn zeros(hidden: [usize; 2], device: &Device) -> Self {
        Self {
            fc1: linear(IMAGE_PIXELS, hidden[0], None, device),
            fc2: linear(hidden[0], hidden[1], None, device),
            out: linear(hidden[1], NUM_CLASSES, None, device),
        }
    }

    /// Logits `[batch, 10]` of standardised inputs `[batch, 784]`.
    fn forward(&self, x: Tensor<2>, masks: Option<&Masks>) -> Tensor<2> {
        let mut h = relu(self.fc1.forward(x));
        if let Some(m) = masks {
            h = h * m.h1.clone();
        }
        let mut h = relu(self.fc2.forward(h));
        if let Some(m) = masks {
            h = h * m.h2.clone();
        }
        self.out.forward(h)
    }

    /// Logits (row-major `[n, 10]`) of `n` raw images (`images.len() == n * 784`, checked by
    /// the caller).
    pub(crate) fn logits(
        &self,
        images: &[u8],
        device: &Device,
    ) -> Result<Vec<f32>, ClassifierError> {
        let n = images.len() / IMAGE_PIXELS;
        let mut out = Vec::with_capacity(n * NUM_CLASSES);
        for chunk in images.chunks(INFER_BATCH * IMAGE_PIXELS) {
            let b = chunk.len() / IMAGE_PIXELS;
            let x = input_tensor(chunk, b, device);
            let data = self
                .forward(x, None)
                .try_into_data()
                .map_err(|e| ClassifierError::Backend(format!("{e:?}")))?;
            let values = data
                .try_into_vec_as::<f32>()
                .map_err(|e| ClassifierError::Backend(format!("{e:?}")))?;
            out.extend_from_slice(&values);
        }
        Ok(out)
    }
}

/// A `Linear` layer `d_in -> d_out` (weight stored `[d_in, d_out]`); He-uniform weights
/// from `rng`, or zeros without one.
fn linear(d_in: usize, d_out: usize, rng: Option<&mut Rng>, device: &Device) -> Linear {
    let weights: Vec<f32> = match rng {
        Some(rng) => {
            let bound = (6.0 / d_in as f64).sqrt() as f32;
            rng.uniform_f32(d_in * d_out, -bound, bound)
        }
        None => vec![0.0; d_in * d_out],
    };
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [d_in, d_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(vec![0.0f32; d_out], [d_out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}

/// Standardised `[n, 784]` input tensor of raw pixels.
fn input_tensor(images: &[u8], n: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = images
        .iter()
        .map(|&p| (f32::from(p) / 255.0 - PIXEL_MEAN) / PIXEL_STD)
        .collect();
    Tensor::from_data(TensorData::new(values, [n, IMAGE_PIXELS]), device)
}

/// A dropout mask `[rows, cols]`: each entry `1 / (1 - p)` with probability `1 - p`, else 0.
fn dropout_mask(rows: usize, cols: usize, p: f64, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| if rng.next_f64() < keep { scale } else { 0.0 })
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// Trains a network on `train` with `config` (already validated); returns it in inference
/// mode on `device` together with the wall-clock training time in seconds.
pub(crate) fn train(
    train: &Split,
    config: &TrainConfig,
    device: &Device,
) -> Result<(Mlp, f64), ClassifierError> {
    let start = Instant::now();
    let ad_device = device.clone().autodiff();
    let mut rng = Rng::new(config.seed);
    let mut model = Mlp::init(config.hidden, &mut rng, &ad_device);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();

    let n = train.len();
    let batch = config.batch_size;
    let steps_per_epoch = n.div_ceil(batch);
    let total_steps = (steps_per_epoch * config.epochs).max(1);
    let mut order: Vec<usize> = (0..n).collect();
    let mut images = Vec::with_capacity(batch * IMAGE_PIXELS);
    let mut onehot = Vec::with_capacity(batch * NUM_CLASSES);
    let mut step = 0usize;

    for _epoch in 0..config.epochs {
        rng.shuffle(&mut order);
        for idx in order.chunks(batch) {
            let b = idx.len();
            images.clear();
            onehot.clear();
            for &i in idx {
                images.extend_from_slice(train.image(i));
                let mut row = [0.0f32; NUM_CLASSES];
                if let Some(slot) = row.get_mut(usize::from(train.labels[i])) {
                    *slot = 1.0;
                }
                onehot.extend_from_slice(&row);
            }
            let x = input_tensor(&images, b, &ad_device);
            let y = Tensor::<2>::from_data(
                TensorData::new(onehot.clone(), [b, NUM_CLASSES]),
                &ad_device,
            );
            let masks = (config.dropout > 0.0).then(|| Masks {
                h1: dropout_mask(b, config.hidden[0], config.dropout, &mut rng, &ad_device),
                h2: dropout_mask(b, config.hidden[1], config.dropout, &mut rng, &ad_device),
            });
            let logits = model.forward(x, masks.as_ref());
            let loss = (log_softmax(logits, 1) * y).sum().neg() / b as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            // Cosine decay from the base rate to zero over the whole run.
            let progress = step as f64 / total_steps as f64;
            let lr = config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            model = optim.step(lr, model, grads);
            step += 1;
        }
    }
    let model = model.valid();
    Ok((model, start.elapsed().as_secs_f64()))
}
