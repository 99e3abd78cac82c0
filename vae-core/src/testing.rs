//! Host-side test helpers (cargo feature `testing`, uses `std`): random float MLPs
//! quantized with [`crate::quantize`] on random calibration latents, and blob surgery for
//! error tests. Shared by this crate's unit tests and the workspace's `vae-tests`.
//! Helpers here panic on misuse (they are test code).

use std::vec::Vec;

use crate::IMAGE_PIXELS;
use crate::format::{self, CRC_LEN, Model, WeightWidth};
use crate::rng::Rng;

pub use crate::quantize::{FloatLayer, FloatMlp, LOGIT_SCALE, OwnedDense, QuantizedMlp};

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
}

impl QuantizedMlp {
    /// [`quantize::quantize`](crate::quantize::quantize) calibrated on `calibration`
    /// random latents from `Rng::new(seed)` (labels cycling), with latent scale
    /// `latent_scale`; panics if `mlp` cannot be quantized (test code).
    pub fn quantize_random(
        mlp: &FloatMlp,
        latent_scale: f32,
        calibration: usize,
        seed: u64,
    ) -> Self {
        Self::quantize_random_widths(mlp, latent_scale, calibration, seed, &[])
    }

    /// [`quantize_random`](Self::quantize_random) with layer `k`'s weights `widths[k]`
    /// wide (int8 past the end of `widths`).
    pub fn quantize_random_widths(
        mlp: &FloatMlp,
        latent_scale: f32,
        calibration: usize,
        seed: u64,
        widths: &[WeightWidth],
    ) -> Self {
        let mut rng = Rng::new(seed);
        let latents: Vec<f32> = (0..calibration * mlp.latent_dim)
            .map(|_| rng.next_gaussian())
            .collect();
        let labels: Vec<u8> = match mlp.classes {
            Some(c) => (0..calibration)
                .map(|i| (i % usize::from(c)) as u8)
                .collect(),
            None => Vec::new(),
        };
        let options = crate::quantize::QuantizeOptions {
            latent_scale: Some(latent_scale),
            seed: Some(seed),
            note: "vae-core testing".into(),
            weight_widths: widths.to_vec(),
            ..Default::default()
        };
        let calibration = crate::quantize::Calibration {
            latents: &latents,
            labels: &labels,
        };
        crate::quantize::quantize(mlp, calibration, &options).expect("quantizable test model")
    }

    /// A random float MLP, quantized: [`FloatMlp::random`] then
    /// [`quantize_random`](Self::quantize_random) (latent scale `4 / 127`, 64 calibration
    /// latents).
    pub fn random(seed: u64, latent_dim: usize, hidden: &[usize], classes: Option<u8>) -> Self {
        let mlp = FloatMlp::random(seed, latent_dim, hidden, classes);
        Self::quantize_random(&mlp, 4.0 / 127.0, 64, seed)
    }

    /// [`random`](Self::random) with layer `k`'s weights `widths[k]` wide (int8 past the
    /// end of `widths`): `&[WeightWidth::Int4; 8]` gives an all-int4 model.
    pub fn random_widths(
        seed: u64,
        latent_dim: usize,
        hidden: &[usize],
        classes: Option<u8>,
        widths: &[WeightWidth],
    ) -> Self {
        let mlp = FloatMlp::random(seed, latent_dim, hidden, classes);
        Self::quantize_random_widths(&mlp, 4.0 / 127.0, 64, seed, widths)
    }

    /// The same model with every layer's codes stored as int8 (int4 layers unpacked):
    /// decodes to the same bytes, by the format's definition.
    pub fn unpacked(&self) -> Self {
        let mut out = self.clone();
        for layer in &mut out.layers {
            let dense = layer.as_dense();
            let codes: Vec<u8> = dense
                .weight_rows()
                .flat_map(|row| dense.codes(row).map(|c| c as u8).collect::<Vec<_>>())
                .collect();
            layer.weights = codes;
            layer.weight_width = WeightWidth::Int8;
        }
        out
    }

    /// The encoded blob; panics if the model is invalid (test code).
    pub fn blob(&self) -> Vec<u8> {
        self.to_blob().expect("valid model")
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
    let body = format::body_len(model).expect("serializable");
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
