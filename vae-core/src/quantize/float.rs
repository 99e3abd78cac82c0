//! The float decoder the quantizer starts from: a plain MLP in `f32`, run in `f64`.

use std::vec::Vec;

use crate::format::{self, Model, ModelKind};
use crate::{Error, IMAGE_PIXELS};

use super::malformed;

/// One float dense layer, `y = W x + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Number of inputs.
    pub in_dim: usize,
    /// Number of outputs.
    pub out_dim: usize,
    /// `out_dim * in_dim` weights, row-major `[out][in]`.
    pub weights: Vec<f32>,
    /// `out_dim` biases.
    pub bias: Vec<f32>,
}

/// A float MLP decoder: `[z, one_hot(label)] -> ReLU layers -> 784 logits`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatMlp {
    /// Latent dimension.
    pub latent_dim: usize,
    /// `Some(classes)` for a conditional model: the first layer then has
    /// `latent_dim + classes` inputs, the one-hot label after `z`.
    pub classes: Option<u8>,
    /// The layers; the last has `IMAGE_PIXELS` outputs.
    pub layers: Vec<FloatLayer>,
}

impl FloatMlp {
    /// Checks the shapes: layers chain, the first takes `latent_dim (+ classes)` inputs,
    /// the last gives 784, every array has its length, everything is finite.
    pub fn validate(&self) -> Result<(), Error> {
        let first_in = self.latent_dim + self.classes.map_or(0, usize::from);
        let mut expected_in = first_in;
        if self.layers.is_empty() || self.layers.len() > format::MAX_LAYERS {
            return Err(malformed("a decoder needs 1 to MAX_LAYERS layers"));
        }
        for layer in &self.layers {
            if layer.in_dim != expected_in
                || layer.weights.len() != layer.in_dim * layer.out_dim
                || layer.bias.len() != layer.out_dim
                || layer.out_dim == 0
                || layer.out_dim > usize::from(u16::MAX)
            {
                return Err(malformed("float layer shapes do not chain"));
            }
            if !layer
                .weights
                .iter()
                .chain(&layer.bias)
                .all(|v| v.is_finite())
            {
                return Err(malformed("float weights contain NaN or infinity"));
            }
            expected_in = layer.out_dim;
        }
        if expected_in != IMAGE_PIXELS {
            return Err(malformed("the last layer must have 784 outputs"));
        }
        Ok(())
    }

    /// Activations after every layer (post-ReLU for hidden layers, logits last), in
    /// `f64`. `label` is used (one-hot) only by a conditional model.
    pub fn activations(&self, z: &[f32], label: Option<u8>) -> Vec<Vec<f64>> {
        let mut x: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        if let Some(classes) = self.classes {
            let label = usize::from(label.unwrap_or(0));
            x.extend((0..usize::from(classes)).map(|c| if c == label { 1.0 } else { 0.0 }));
        }
        let mut all = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let relu = k + 1 < self.layers.len();
            let y: Vec<f64> = layer
                .weights
                .chunks_exact(layer.in_dim)
                .zip(&layer.bias)
                .map(|(row, &b)| {
                    let v = row
                        .iter()
                        .zip(&x)
                        .fold(f64::from(b), |acc, (&w, &xi)| acc + f64::from(w) * xi);
                    if relu { v.max(0.0) } else { v }
                })
                .collect();
            all.push(y.clone());
            x = y;
        }
        all
    }

    /// The logits of `z` (and `label` for a conditional model), in `f64`.
    pub fn forward(&self, z: &[f32], label: Option<u8>) -> Vec<f64> {
        self.activations(z, label).pop().unwrap_or_default()
    }

    /// The float MLP that a (validated) [`Model`] dequantizes to: `W = W_q * s_w[j]`,
    /// `b = b_q * s_in * s_w[j]`, one-hot columns `class_bias[c][j] * s_in * s_w[j]`.
    /// What [`DecoderCore::reference_logits`](crate::DecoderCore::reference_logits)
    /// computes.
    pub fn dequantized(model: &Model<'_>) -> Self {
        let le_f32 = |b: &[u8]| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let le_i32 = |b: &[u8]| -> Vec<i32> {
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let classes = model.classes();
        let n_classes = classes.map_or(0, usize::from);
        let class_bias = match model.kind {
            ModelKind::Conditional { class_bias, .. } => le_i32(class_bias),
            ModelKind::Unconditional => Vec::new(),
        };
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let (rows, cols) = (usize::from(l.out_dim), usize::from(l.in_dim));
                let extra = if k == 0 { n_classes } else { 0 };
                let s_w = le_f32(l.weight_scales);
                let mut bias = le_i32(l.bias)
                    .into_iter()
                    .map(i64::from)
                    .collect::<Vec<_>>();
                let mut weights = Vec::with_capacity(rows * (cols + extra));
                for (j, w_row) in l.weight_rows().enumerate().take(rows) {
                    // Unfold the zero point's term from the stored bias.
                    bias[j] += l.zero_point_term(w_row);
                    let acc_scale = l.input_scale * s_w[j];
                    weights.extend(l.codes(w_row).map(|w| f32::from(w) * s_w[j]));
                    if extra > 0 {
                        weights.extend(
                            (0..n_classes).map(|c| class_bias[c * rows + j] as f32 * acc_scale),
                        );
                    }
                }
                FloatLayer {
                    in_dim: cols + extra,
                    out_dim: rows,
                    weights,
                    bias: (0..rows)
                        .map(|j| bias[j] as f32 * (l.input_scale * s_w[j]))
                        .collect(),
                }
            })
            .collect();
        FloatMlp {
            latent_dim: usize::from(model.latent_dim),
            classes,
            layers,
        }
    }
}
