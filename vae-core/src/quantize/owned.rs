//! The quantizer's output: the owned arrays of a blob, with borrowed [`Model`] views.

use std::string::String;
use std::vec::Vec;

use crate::Error;
use crate::format::{self, Dense, Layers, Metadata, Model, ModelKind, Prior, WeightWidth};

use super::malformed;

/// Owned arrays of one [`Dense`] layer.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedDense {
    /// See [`Dense::in_dim`].
    pub in_dim: u16,
    /// See [`Dense::out_dim`].
    pub out_dim: u16,
    /// See [`Dense::input_scale`].
    pub input_scale: f32,
    /// See [`Dense::input_zero_point`].
    pub input_zero_point: i8,
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
    /// See [`Dense::weight_width`].
    pub weight_width: WeightWidth,
}

impl OwnedDense {
    /// The borrowed view.
    pub fn as_dense(&self) -> Dense<'_> {
        Dense {
            in_dim: self.in_dim,
            out_dim: self.out_dim,
            input_scale: self.input_scale,
            input_zero_point: self.input_zero_point,
            output_scale: self.output_scale,
            weights: &self.weights,
            weight_scales: &self.weight_scales,
            bias: &self.bias,
            multipliers: &self.multipliers,
            shifts: &self.shifts,
            weight_width: self.weight_width,
        }
    }
}

/// The owned arrays of a [`Model`], produced by [`quantize`].
///
/// [`quantize`]: super::quantize
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
    /// See [`Metadata::test_loss`].
    pub test_loss: Option<f32>,
    /// See [`Metadata::note`].
    pub note: String,
    /// See [`Model::prior`]; `None` is [`Prior::Standard`]. [`quantize`] leaves it `None`:
    /// set it with [`OwnedMixture::new`] for a model trained with a mixture prior.
    ///
    /// [`quantize`]: super::quantize
    pub prior: Option<OwnedMixture>,
}

/// The owned arrays of a [`Prior::Mixture`].
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedMixture {
    /// Number of components.
    pub components: u16,
    /// See [`Prior::Mixture`]: `u32` LE upper ends of the components' intervals.
    pub cumulative: Vec<u8>,
    /// `f32` LE means, `[component][latent]` (`f16` LE when `f16`).
    pub means: Vec<u8>,
    /// `f32` LE standard deviations, `[component][latent]` (`f16` LE when `f16`).
    pub stds: Vec<u8>,
    /// Whether `means` and `stds` hold `f16` values ([`Prior::MixtureF16`], written as
    /// format 3.1): see [`to_f16`](Self::to_f16).
    pub f16: bool,
}

impl OwnedMixture {
    /// A mixture over a `latent_dim`-wide latent from its weights (non-negative, not all
    /// zero; normalised here), means and standard deviations (row-major
    /// `[component][latent]`). The weights become `u32` interval ends: component `k` gets
    /// `round(2^32 * (w_0 + ... + w_k) / sum w)`, the last one `2^32 - 1`, so every
    /// component's probability is within `2^-32` of its weight.
    ///
    /// [`Error::Malformed`] for mismatched lengths, bad weights, or any value
    /// [`Prior::validate`] rejects.
    pub fn new(
        latent_dim: usize,
        weights: &[f32],
        means: &[f32],
        stds: &[f32],
    ) -> Result<Self, Error> {
        let k = weights.len();
        if means.len() != k * latent_dim || stds.len() != k * latent_dim {
            return Err(malformed(
                "prior means/stds are not components x latent_dim",
            ));
        }
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        if weights.iter().any(|&w| !(w >= 0.0 && w.is_finite())) || total <= 0.0 {
            return Err(malformed(
                "prior weights are negative, non-finite or all zero",
            ));
        }
        let components = u16::try_from(k).map_err(|_| malformed("too many prior components"))?;
        let mut running = 0f64;
        let mut cumulative = Vec::with_capacity(4 * k);
        for (i, &w) in weights.iter().enumerate() {
            running += f64::from(w);
            let end = if i + 1 == k {
                u32::MAX
            } else {
                (running / total * 4_294_967_296.0)
                    .round()
                    .min(f64::from(u32::MAX)) as u32
            };
            cumulative.extend(end.to_le_bytes());
        }
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mixture = Self {
            components,
            cumulative,
            means: bytes(means),
            stds: bytes(stds),
            f16: false,
        };
        let latent = u16::try_from(latent_dim).map_err(|_| malformed("latent over 65535"))?;
        mixture.as_prior().validate(latent)?;
        Ok(mixture)
    }

    /// The same mixture with its means and standard deviations rounded to the nearest
    /// `f16` (ties to even): half their bytes. [`Error::Malformed`] when a value leaves the
    /// `f16` range (a mean beyond 65504) or a standard deviation rounds to 0, as
    /// [`Prior::validate`] says. Already `f16`: a copy.
    pub fn to_f16(&self) -> Result<Self, Error> {
        if self.f16 {
            return Ok(self.clone());
        }
        let half = |v: &[u8]| -> Vec<u8> {
            v.chunks_exact(4)
                .map(crate::bytes::le_f32)
                .flat_map(|x| half::f16::from_f32(x).to_le_bytes())
                .collect()
        };
        let mixture = Self {
            components: self.components,
            cumulative: self.cumulative.clone(),
            means: half(&self.means),
            stds: half(&self.stds),
            f16: true,
        };
        let values = self.means.len() / 4;
        let latent = values / usize::from(self.components.max(1));
        let latent = u16::try_from(latent).map_err(|_| malformed("latent over 65535"))?;
        mixture.as_prior().validate(latent)?;
        Ok(mixture)
    }

    /// The borrowed view: [`Prior::Mixture`], or [`Prior::MixtureF16`] when `f16`.
    pub fn as_prior(&self) -> Prior<'_> {
        let (components, cumulative, means, stds) = (
            self.components,
            &self.cumulative[..],
            &self.means[..],
            &self.stds[..],
        );
        if self.f16 {
            Prior::MixtureF16 {
                components,
                cumulative,
                means,
                stds,
            }
        } else {
            Prior::Mixture {
                components,
                cumulative,
                means,
                stds,
            }
        }
    }
}

impl QuantizedMlp {
    /// The borrowed [`Model`] view.
    pub fn model(&self) -> Model<'_> {
        let mut layers = Layers::new();
        for l in &self.layers {
            // `quantize` produces at most MAX_LAYERS layers.
            let _ = layers.push(l.as_dense());
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
                test_loss: self.test_loss,
                note: &self.note,
            },
            prior: self
                .prior
                .as_ref()
                .map_or(Prior::Standard, OwnedMixture::as_prior),
        }
    }

    /// The encoded, validated blob ([`format::encode`]).
    pub fn to_blob(&self) -> Result<Vec<u8>, Error> {
        let model = self.model();
        let mut blob = std::vec![0u8; format::encoded_len(&model)?];
        let len = format::encode(&model, &mut blob)?;
        blob.truncate(len);
        Ok(blob)
    }
}
