//! Host-side test helpers (cargo feature `testing`, uses `std`): a random float MLP, a
//! simple quantizer that turns it into a [`Model`], and blob surgery for error tests.
//!
//! Not for production export: the quantizer calibrates activation scales on random
//! latents only. It is shared by this crate's unit tests and the workspace's `vae-tests`.
//! Helpers here panic on misuse (they are test code).

use std::vec::Vec;

use crate::IMAGE_PIXELS;
use crate::format::{self, CRC_LEN, Dense, Layers, Metadata, Model, ModelKind};
use crate::rng::Rng;

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
    /// A random MLP `latent_dim -> hidden[0] -> ... -> 784` (He-style init from
    /// [`Rng::new(seed)`](Rng::new), small random biases).
    pub fn random(seed: u64, latent_dim: usize, hidden: &[usize], classes: Option<u8>) -> Self {
        let mut rng = Rng::new(seed);
        let first_in = latent_dim + classes.map_or(0, usize::from);
        let mut dims = std::vec![first_in];
        dims.extend_from_slice(hidden);
        dims.push(IMAGE_PIXELS);
        let layers = dims
            .windows(2)
            .map(|w| {
                let (in_dim, out_dim) = (w[0], w[1]);
                let gain = (2.0 / in_dim as f32).sqrt();
                FloatLayer {
                    in_dim,
                    out_dim,
                    weights: (0..in_dim * out_dim)
                        .map(|_| rng.next_gaussian() * gain)
                        .collect(),
                    bias: (0..out_dim).map(|_| rng.next_gaussian() * 0.1).collect(),
                }
            })
            .collect();
        FloatMlp {
            latent_dim,
            classes,
            layers,
        }
    }

    /// Activations after every layer (post-ReLU for hidden layers, logits last), in `f64`.
    pub fn activations(&self, z: &[f32], label: Option<u8>) -> Vec<Vec<f64>> {
        let mut x: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        if let Some(classes) = self.classes {
            let label = usize::from(label.expect("conditional model needs a label"));
            x.extend((0..usize::from(classes)).map(|c| if c == label { 1.0 } else { 0.0 }));
        }
        let mut all = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            let relu = k + 1 < self.layers.len();
            let y: Vec<f64> = (0..layer.out_dim)
                .map(|j| {
                    let row = &layer.weights[j * layer.in_dim..(j + 1) * layer.in_dim];
                    let s = f64::from(layer.bias[j])
                        + row
                            .iter()
                            .zip(&x)
                            .map(|(&w, &xi)| f64::from(w) * xi)
                            .sum::<f64>();
                    if relu { s.max(0.0) } else { s }
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
    /// What [`Decoder::decode_reference_f32`](crate::Decoder::decode_reference_f32)
    /// computes, in `f64`.
    pub fn dequantized(model: &Model<'_>) -> Self {
        let classes = model.classes();
        let n_classes = classes.map_or(0, usize::from);
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let (rows, cols) = (usize::from(l.out_dim), usize::from(l.in_dim));
                let extra = if k == 0 { n_classes } else { 0 };
                let s_w = le_f32s(l.weight_scales);
                let bias = le_i32s(l.bias);
                let mut weights = Vec::with_capacity(rows * (cols + extra));
                for j in 0..rows {
                    let acc_scale = l.input_scale * s_w[j];
                    weights.extend(
                        l.weights[j * cols..(j + 1) * cols]
                            .iter()
                            .map(|&w| f32::from(w as i8) * s_w[j]),
                    );
                    if let ModelKind::Conditional { class_bias, .. } = model.kind
                        && k == 0
                    {
                        let cb = le_i32s(class_bias);
                        weights.extend((0..n_classes).map(|c| cb[c * rows + j] as f32 * acc_scale));
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

/// Owned arrays of one [`Dense`] layer (what an exporter keeps in `Vec`s).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedDense {
    /// See [`Dense::in_dim`].
    pub in_dim: u16,
    /// See [`Dense::out_dim`].
    pub out_dim: u16,
    /// See [`Dense::input_scale`].
    pub input_scale: f32,
    /// See [`Dense::output_scale`].
    pub output_scale: f32,
    /// See [`Dense::weights`].
    pub weights: Vec<u8>,
    /// See [`Dense::weight_scales`].
    pub weight_scales: Vec<u8>,
    /// See [`Dense::bias`].
    pub bias: Vec<u8>,
    /// See [`Dense::multipliers`].
    pub multipliers: Vec<u8>,
    /// See [`Dense::shifts`].
    pub shifts: Vec<u8>,
}

impl OwnedDense {
    /// The borrowed view.
    pub fn as_dense(&self) -> Dense<'_> {
        Dense {
            in_dim: self.in_dim,
            out_dim: self.out_dim,
            input_scale: self.input_scale,
            output_scale: self.output_scale,
            weights: &self.weights,
            weight_scales: &self.weight_scales,
            bias: &self.bias,
            multipliers: &self.multipliers,
            shifts: &self.shifts,
        }
    }
}

/// The owned arrays of a [`Model`], produced by [`QuantizedMlp::quantize`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedMlp {
    /// See [`Model::latent_dim`].
    pub latent_dim: u16,
    /// `Some(classes)` for a conditional model.
    pub classes: Option<u8>,
    /// See [`ModelKind::Conditional`]; empty if unconditional.
    pub class_bias: Vec<u8>,
    /// The layers.
    pub layers: Vec<OwnedDense>,
    /// See [`Model::pixel_thresholds`].
    pub pixel_thresholds: Vec<u8>,
    /// See [`Metadata::seed`].
    pub seed: Option<u64>,
}

/// Output scale of the last layer used by [`QuantizedMlp::quantize`]: `2^-12`.
pub const LOGIT_SCALE: f32 = 1.0 / 4096.0;

impl QuantizedMlp {
    /// Quantizes `mlp` per the format: symmetric per-row int8 weights, biases at the
    /// accumulator scale, hidden output scales `max activation / 127` over `calibration`
    /// random latents from `Rng::new(seed)` (labels cycling), last output scale
    /// [`LOGIT_SCALE`], latent scale `latent_scale`.
    pub fn quantize(mlp: &FloatMlp, latent_scale: f32, calibration: usize, seed: u64) -> Self {
        assert!(mlp.layers.len() <= format::MAX_LAYERS, "too many layers");
        let n_layers = mlp.layers.len();
        let mut max_act = std::vec![0f64; n_layers];
        let mut rng = Rng::new(seed);
        for i in 0..calibration {
            let z: Vec<f32> = (0..mlp.latent_dim).map(|_| rng.next_gaussian()).collect();
            let label = mlp.classes.map(|c| (i % usize::from(c)) as u8);
            for (m, act) in max_act.iter_mut().zip(mlp.activations(&z, label)) {
                *m = act.iter().fold(*m, |a, &v| a.max(v.abs()));
            }
        }
        let mut input_scale = latent_scale;
        let n_classes = mlp.classes.map_or(0, usize::from);
        let mut class_bias = Vec::new();
        let mut layers = Vec::new();
        for (k, layer) in mlp.layers.iter().enumerate() {
            let output_scale = if k + 1 == n_layers {
                LOGIT_SCALE
            } else if max_act[k] > 0.0 {
                (max_act[k] / 127.0) as f32
            } else {
                1.0
            };
            let extra = if k == 0 { n_classes } else { 0 };
            let cols = layer.in_dim - extra;
            let mut q = OwnedDense {
                in_dim: u16::try_from(cols).expect("in_dim fits u16"),
                out_dim: u16::try_from(layer.out_dim).expect("out_dim fits u16"),
                input_scale,
                output_scale,
                weights: Vec::new(),
                weight_scales: Vec::new(),
                bias: Vec::new(),
                multipliers: Vec::new(),
                shifts: Vec::new(),
            };
            for j in 0..layer.out_dim {
                let row = &layer.weights[j * layer.in_dim..(j + 1) * layer.in_dim];
                let (w_row, class_cols) = row.split_at(cols);
                let max_w = w_row.iter().fold(0f32, |a, &w| a.max(w.abs()));
                let s_w = if max_w > 0.0 {
                    max_w / 127.0
                } else {
                    1.0 / 127.0
                };
                q.weights.extend(
                    w_row
                        .iter()
                        .map(|&w| ((w / s_w).round().clamp(-127.0, 127.0) as i8) as u8),
                );
                let acc_scale = f64::from(input_scale) * f64::from(s_w);
                let to_acc = |v: f32| (f64::from(v) / acc_scale).round().clamp(-1e9, 1e9) as i32;
                q.weight_scales.extend(s_w.to_le_bytes());
                q.bias.extend(to_acc(layer.bias[j]).to_le_bytes());
                let (m, n) = format::quantize_multiplier(acc_scale / f64::from(output_scale))
                    .expect("representable requantization factor");
                q.multipliers.extend(m.to_le_bytes());
                q.shifts.push(n);
                if k == 0 {
                    // class_bias is [class][row]: collect per row now, transpose below.
                    class_bias.extend(class_cols.iter().map(|&w| to_acc(w)));
                }
            }
            layers.push(q);
            input_scale = output_scale;
        }
        // Transpose the class columns from [row][class] to [class][row].
        let rows0 = mlp.layers.first().map_or(0, |l| l.out_dim);
        let class_bias = (0..n_classes)
            .flat_map(|c| {
                let cb = &class_bias;
                (0..rows0).flat_map(move |j| cb[j * n_classes + c].to_le_bytes())
            })
            .collect();
        let thresholds = format::pixel_thresholds(f64::from(LOGIT_SCALE)).expect("positive");
        QuantizedMlp {
            latent_dim: u16::try_from(mlp.latent_dim).expect("latent fits u16"),
            classes: mlp.classes,
            class_bias,
            layers,
            pixel_thresholds: thresholds.iter().flat_map(|t| t.to_le_bytes()).collect(),
            seed: Some(seed),
        }
    }

    /// A random float MLP, quantized: `FloatMlp::random` then `quantize` (latent scale
    /// `4 / 127`, 64 calibration latents).
    pub fn random(seed: u64, latent_dim: usize, hidden: &[usize], classes: Option<u8>) -> Self {
        let mlp = FloatMlp::random(seed, latent_dim, hidden, classes);
        Self::quantize(&mlp, 4.0 / 127.0, 64, seed)
    }

    /// The borrowed [`Model`] view.
    pub fn model(&self) -> Model<'_> {
        let mut layers = Layers::new();
        for l in &self.layers {
            assert!(layers.push(l.as_dense()).is_ok(), "too many layers");
        }
        Model {
            kind: match self.classes {
                None => ModelKind::Unconditional,
                Some(classes) => ModelKind::Conditional {
                    classes,
                    class_bias: &self.class_bias,
                },
            },
            latent_dim: self.latent_dim,
            layers,
            pixel_thresholds: &self.pixel_thresholds,
            metadata: Metadata {
                seed: self.seed,
                test_loss: None,
                note: "vae-core testing",
            },
        }
    }

    /// The encoded blob ([`format::encode`]); panics if the model is invalid.
    pub fn to_blob(&self) -> Vec<u8> {
        to_blob(&self.model())
    }
}

/// [`format::encode`] into a fresh `Vec`; panics if the model is invalid.
pub fn to_blob(model: &Model<'_>) -> Vec<u8> {
    let mut blob = std::vec![0u8; format::encoded_len(model).expect("valid model")];
    let len = format::encode(model, &mut blob).expect("buffer sized by encoded_len");
    blob.truncate(len);
    blob
}

/// Encodes `model` *without* validating it: a well-formed envelope (magic, version, CRC)
/// around a possibly invalid body, to test the reader's checks.
pub fn to_blob_unchecked(model: &Model<'_>) -> Vec<u8> {
    let body = postcard::serialize_with_flavor(model, postcard::ser_flavors::Size::default())
        .expect("serializable");
    let mut blob = std::vec![0u8; format::HEADER_LEN + body + CRC_LEN];
    let len = format::encode_unvalidated(model, &mut blob).expect("buffer large enough");
    blob.truncate(len);
    blob
}

/// Recomputes the CRC of an edited blob (its last [`CRC_LEN`] bytes).
pub fn recrc(blob: &mut [u8]) {
    let split = blob.len() - CRC_LEN;
    let crc = format::crc32(&blob[..split]);
    blob[split..].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes `i32` LE values.
pub fn le_i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Decodes `f32` LE values.
pub fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
