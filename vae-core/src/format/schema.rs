//! The blob's schema: the [`Model`] and its parts, in wire order (postcard has no field
//! names), with the accessors that read them.

use serde::{Deserialize, Serialize, Serializer};

use crate::error::Error;

use super::MAX_LAYERS;

/// The error of a layer list longer than [`MAX_LAYERS`].
const TOO_MANY_LAYERS: Error = Error::Malformed {
    what: "more than 8 layers",
};

/// The layer list of a [`Model`]: up to [`MAX_LAYERS`] layers, no allocation. It reads
/// as a slice (`Deref<Target = [Dense]>`).
///
/// Build it with [`Layers::from_slice`] or [`Layers::new`] and [`Layers::push`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Layers<'a>(#[serde(borrow)] heapless::Vec<Dense<'a>, MAX_LAYERS>);

impl<'a> Layers<'a> {
    /// No layers.
    pub const fn new() -> Self {
        Layers(heapless::Vec::new())
    }

    /// The layers of `layers`; [`Error::Malformed`] for more than [`MAX_LAYERS`].
    pub fn from_slice(layers: &[Dense<'a>]) -> Result<Self, Error> {
        heapless::Vec::from_slice(layers)
            .map(Layers)
            .map_err(|_| TOO_MANY_LAYERS)
    }

    /// The layers, mutably (the reader sets their widths after the body).
    pub(super) fn as_mut_slice(&mut self) -> &mut [Dense<'a>] {
        &mut self.0
    }

    /// Appends `layer`; [`Error::Malformed`] when there are already [`MAX_LAYERS`].
    pub fn push(&mut self, layer: Dense<'a>) -> Result<(), Error> {
        self.0.push(layer).map_err(|_| TOO_MANY_LAYERS)
    }
}

impl<'a> core::ops::Deref for Layers<'a> {
    type Target = [Dense<'a>];

    fn deref(&self) -> &[Dense<'a>] {
        &self.0
    }
}

/// The body of a blob: an MLP decoder from a latent vector to 784 pixels.
///
/// Field order is wire order (postcard has no field names). All arrays are borrowed byte
/// slices, little-endian; see each field. Layer `k` maps `in_dim` int8 inputs to `out_dim`
/// outputs; every layer but the last is followed by ReLU and requantization to the next
/// layer's input (asymmetric int8: see [`Dense::input_zero_point`]), the last one produces
/// logits that become pixels through [`pixel_thresholds`](Self::pixel_thresholds).
///
/// # Example: writing a blob (what `vae-export` does)
///
/// ```
/// use vae_core::format::{self, Dense, Layers, Metadata, Model, ModelKind, Prior, WeightWidth};
/// use vae_core::IMAGE_PIXELS;
///
/// // A 2 -> 784 model: every weight 1 (an i8 as a raw byte), zero bias.
/// let (s_in, s_w, s_logit) = (4.0f32 / 127.0, 0.01f32, 1.0f32 / 4096.0);
/// let (m, n) = format::quantize_multiplier(f64::from(s_in * s_w) / f64::from(s_logit))
///     .expect("representable");
/// let rows = |bytes: [u8; 4]| -> Vec<u8> { bytes.repeat(IMAGE_PIXELS) };
/// let weights = vec![1u8; 2 * IMAGE_PIXELS];
/// let weight_scales = rows(s_w.to_le_bytes());
/// let bias = rows(0i32.to_le_bytes());
/// let multipliers = rows(m.to_le_bytes());
/// let shifts = vec![n; IMAGE_PIXELS];
/// let thresholds: Vec<u8> = format::pixel_thresholds(f64::from(s_logit))
///     .expect("positive scale")
///     .iter()
///     .flat_map(|t| t.to_le_bytes())
///     .collect();
/// let model = Model {
///     kind: ModelKind::Unconditional,
///     latent_dim: 2,
///     layers: Layers::from_slice(&[Dense {
///         in_dim: 2,
///         out_dim: IMAGE_PIXELS as u16,
///         input_scale: s_in,
///         input_zero_point: 0,
///         output_scale: s_logit,
///         weights: &weights,
///         weight_scales: &weight_scales,
///         bias: &bias,
///         multipliers: &multipliers,
///         shifts: &shifts,
///         weight_width: WeightWidth::Int8,
///     }])
///     .expect("one layer fits"),
///     pixel_thresholds: &thresholds,
///     metadata: Metadata { seed: Some(7), test_loss: None, note: "doc example" },
///     prior: Prior::Standard,
/// };
///
/// let mut blob = vec![0u8; format::encoded_len(&model)?];
/// let len = format::encode(&model, &mut blob)?;
/// assert_eq!(len, blob.len());
/// assert_eq!(format::parse(&blob)?, model);
/// # Ok::<(), vae_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model<'a> {
    /// Unconditional, or class-conditional with a per-class bias table.
    #[serde(borrow)]
    pub kind: ModelKind<'a>,
    /// Length of the latent vector `z` (the first layer's `in_dim`).
    pub latent_dim: u16,
    /// The dense layers, first (fed by the quantized latent) to last (784 logits).
    /// The latent's quantization scale is `layers[0].input_scale`.
    #[serde(borrow)]
    pub layers: Layers<'a>,
    /// [`NUM_THRESHOLDS`] non-decreasing `i32` LE in the last layer's output scale:
    /// `pixel = #{k : value >= t_k}`, with `t_k = ceil(logit((k - 0.5) / 255) / s_out)`
    /// for `k = 1..=255` (see [`pixel_thresholds`]). This is exactly
    /// `round(255 * sigmoid(value * s_out))`.
    ///
    /// [`NUM_THRESHOLDS`]: super::NUM_THRESHOLDS
    /// [`pixel_thresholds`]: super::pixel_thresholds
    #[serde(serialize_with = "as_bytes")]
    pub pixel_thresholds: &'a [u8],
    /// Provenance; not used for decoding.
    #[serde(borrow)]
    pub metadata: Metadata<'a>,
    /// The distribution [`Decoder::generate`](crate::Decoder::generate) draws latents from
    /// (format 2.1). Not part of the postcard encoding of `Model` itself: [`encode`]
    /// writes it after the 2.0 fields and [`parse`] reads it from there.
    ///
    /// [`encode`]: super::encode
    /// [`parse`]: super::parse
    #[serde(skip)]
    pub prior: Prior<'a>,
}

/// The prior `p(z)` the model was trained with: what random latents are drawn from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Prior<'a> {
    /// `z ~ N(0, I)` (every 2.0 blob).
    #[default]
    Standard,
    /// A mixture of `components` diagonal Gaussians: component `k` with probability
    /// `(cumulative[k] - cumulative[k - 1]) / 2^32` (`cumulative[-1] = 0`), then
    /// `z[i] = means[k][i] + stds[k][i] * g[i]` with `g ~ N(0, I)`.
    Mixture {
        /// Number of components, `1..=MAX_PRIOR_COMPONENTS`.
        components: u16,
        /// `components` non-decreasing `u32` LE: the upper ends of the components'
        /// intervals of a uniform `u32` draw `r` (component `k` is the first with
        /// `r < cumulative[k]`, the last one if there is none).
        #[serde(serialize_with = "as_bytes")]
        cumulative: &'a [u8],
        /// `components * latent_dim` finite `f32` LE, row-major `[component][latent]`.
        #[serde(serialize_with = "as_bytes")]
        means: &'a [u8],
        /// `components * latent_dim` finite, positive `f32` LE, row-major.
        #[serde(serialize_with = "as_bytes")]
        stds: &'a [u8],
    },
    /// [`Mixture`](Self::Mixture) with its means and standard deviations stored as
    /// IEEE-754 half precision (`f16` LE, 2 bytes each): half the size (8 KB less for
    /// 100 components of a 20-wide latent), read as the `f32` of the same value. Format
    /// 3.1 stores it after the weight widths (`CompactPrior` in FORMAT.md), with
    /// `Standard` in the `Prior` slot, so a 3.0 reader samples `N(0, I)` from such a blob.
    #[serde(skip)]
    MixtureF16 {
        /// As in [`Mixture`](Self::Mixture).
        components: u16,
        /// As in [`Mixture`](Self::Mixture).
        cumulative: &'a [u8],
        /// `components * latent_dim` finite `f16` LE, row-major `[component][latent]`.
        means: &'a [u8],
        /// `components * latent_dim` finite, positive `f16` LE, row-major.
        stds: &'a [u8],
    },
}

/// A [`Prior::MixtureF16`] as format 3.1 appends it after the weight widths (in an
/// `Option`: `None` when the prior is stored in the `Prior` slot).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct CompactPrior<'a> {
    pub(crate) components: u16,
    #[serde(serialize_with = "as_bytes")]
    pub(crate) cumulative: &'a [u8],
    #[serde(serialize_with = "as_bytes")]
    pub(crate) means: &'a [u8],
    #[serde(serialize_with = "as_bytes")]
    pub(crate) stds: &'a [u8],
}

impl<'a> Prior<'a> {
    /// The 3.1 appended form of a [`Prior::MixtureF16`]; `None` for the other priors.
    pub(crate) fn compact(&self) -> Option<CompactPrior<'a>> {
        match *self {
            Prior::MixtureF16 {
                components,
                cumulative,
                means,
                stds,
            } => Some(CompactPrior {
                components,
                cumulative,
                means,
                stds,
            }),
            _ => None,
        }
    }

    /// What the `Prior` slot of the body holds: [`Prior::Standard`] for a
    /// [`Prior::MixtureF16`] (stored after the weight widths), else the prior itself.
    pub(crate) fn in_slot(&self) -> Prior<'a> {
        match self {
            Prior::MixtureF16 { .. } => Prior::Standard,
            other => *other,
        }
    }
}

/// Whether the decoder takes a class label.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelKind<'a> {
    /// Decodes `z` alone.
    Unconditional,
    /// Decodes `z` together with a class label `c < classes`.
    ///
    /// The one-hot label's weights are folded into a per-class bias of the first layer:
    /// its accumulator is `bias[j] + class_bias[c][j] + sum_i W[j][i] * z_q[i]`.
    Conditional {
        /// Number of classes (10 for MNIST digits).
        classes: u8,
        /// `classes * layers[0].out_dim` `i32` LE, row-major `[class][row]`, at the first
        /// layer's accumulator scale `input_scale * weight_scale[row]`.
        #[serde(serialize_with = "as_bytes")]
        class_bias: &'a [u8],
    },
}

/// One dense layer, `y = W x + b`, in int8 with per-row (per output) weight scales.
///
/// Real values: `x = (x_q - input_zero_point) * input_scale`, `W[j][i] = W_q[j][i] *
/// weight_scale[j]`, `b[j] = (bias[j] + input_zero_point * sum_i W_q[j][i]) * input_scale *
/// weight_scale[j]` (the zero point's term is folded into the stored `bias`). The integer
/// path computes `acc[j] = bias[j] + sum_i W_q[j][i] * x_q[i]` and rescales it with
/// `requantize(acc[j], multipliers[j], shifts[j])`, where `multipliers[j] / 2^shifts[j] ~=
/// input_scale * weight_scale[j] / output_scale` (see [`quantize_multiplier`]).
///
/// [`quantize_multiplier`]: super::quantize_multiplier
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense<'a> {
    /// Number of inputs (columns of `W`).
    pub in_dim: u16,
    /// Number of outputs (rows of `W`).
    pub out_dim: u16,
    /// Scale of the int8 input (for layer 0: the latent scale, `z_q = round(z / s)`).
    /// Must equal the previous layer's `output_scale`.
    pub input_scale: f32,
    /// The int8 input that stands for the real value 0. Layer 0 (the latent, symmetric)
    /// must have 0. Hidden layers' inputs are ReLU outputs, `x >= 0`, so the exporter
    /// uses `-128`: the 256 codes `-128..=127` cover `0..=255 * input_scale`, twice the
    /// resolution of a symmetric code's `0..=127`. The previous layer's ReLU produces
    /// `clamp(v + input_zero_point, input_zero_point, 127)` (see
    /// `FORMAT.md`, "Hidden layers").
    pub input_zero_point: i8,
    /// Scale of this layer's requantized output: the next layer's `input_scale`, or for the
    /// last layer the scale of the values compared with `pixel_thresholds`.
    pub output_scale: f32,
    /// The codes `W_q`, row-major `[out][in]`: `out_dim * in_dim` `i8` (two's complement
    /// bytes), or packed int4 codes ([`WeightWidth::Int4`]); see
    /// [`weight_width`](Self::weight_width), [`weight_rows`](Self::weight_rows) and
    /// [`codes`](Self::codes).
    #[serde(serialize_with = "as_bytes")]
    pub weights: &'a [u8],
    /// `out_dim` `f32` LE: the per-row weight scale (dequantization, float reference).
    #[serde(serialize_with = "as_bytes")]
    pub weight_scales: &'a [u8],
    /// `out_dim` `i32` LE at scale `input_scale * weight_scale[j]`.
    #[serde(serialize_with = "as_bytes")]
    pub bias: &'a [u8],
    /// `out_dim` `i32` LE, each `> 0`: fixed-point multipliers `M_j`.
    #[serde(serialize_with = "as_bytes")]
    pub multipliers: &'a [u8],
    /// `out_dim` `u8`, each `<= MAX_SHIFT`: fixed-point shifts `n_j`.
    #[serde(serialize_with = "as_bytes")]
    pub shifts: &'a [u8],
    /// How [`weights`](Self::weights) stores `W_q`: int8 (every 2.x blob) or int4 packed
    /// two per byte (format 3.0). Not part of the postcard encoding of `Dense`: a 3.0
    /// blob lists every layer's width after the [`Prior`]; [`encode`] and [`parse`]
    /// write and read it there.
    ///
    /// [`encode`]: super::encode
    /// [`parse`]: super::parse
    #[serde(skip)]
    pub weight_width: WeightWidth,
}

/// How a layer's weight codes `W_q[j][i]` are stored in [`Dense::weights`].
///
/// Either way the decoder computes the same `i32` accumulator `bias[j] + sum_i W_q[j][i] *
/// x_q[i]`: an int4 code is read as the `i8` it stands for and multiplied like an int8
/// one, so the arithmetic (and every bound on it) is that of int8 weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightWidth {
    /// One `i8` per weight, row-major `[out][in]`: `out_dim * in_dim` bytes.
    #[default]
    Int8,
    /// Two 4-bit two's-complement codes (`-8..=7`) per byte, row-major, each row starting
    /// on a byte: row `j` is `ceil(in_dim / 2)` bytes, input `i` in byte `i / 2`, the low
    /// nibble for even `i`, the high nibble for odd `i`. For odd `in_dim` the last
    /// byte's high nibble is unused and must be 0.
    Int4,
}

impl WeightWidth {
    /// Bytes of one row of `in_dim` weights.
    pub const fn row_bytes(self, in_dim: usize) -> usize {
        match self {
            WeightWidth::Int8 => in_dim,
            WeightWidth::Int4 => in_dim.div_ceil(2),
        }
    }

    /// Largest magnitude the exporter gives a code: the symmetric grid `-max..=max` its
    /// per-row scale `max_i |W[j][i]| / max` maps onto (127 for int8, 7 for int4).
    pub const fn max_code(self) -> i8 {
        match self {
            WeightWidth::Int8 => 127,
            WeightWidth::Int4 => 7,
        }
    }

    /// Bits per weight: 8 or 4.
    pub const fn bits(self) -> u32 {
        match self {
            WeightWidth::Int8 => 8,
            WeightWidth::Int4 => 4,
        }
    }
}

/// The two int4 codes of a packed byte, as `i8`: (low nibble, high nibble), i.e. inputs
/// `2k` and `2k + 1` (see [`WeightWidth::Int4`]).
#[inline(always)]
pub const fn int4_pair(byte: u8) -> (i8, i8) {
    (((byte << 4) as i8) >> 4, (byte as i8) >> 4)
}

/// Code `i` of one stored weight row (`row` as in [`Dense::weight_rows`]), as `i8`.
#[inline(always)]
fn code_at(width: WeightWidth, row: &[u8], i: usize) -> i8 {
    match width {
        WeightWidth::Int8 => row.get(i).map_or(0, |&b| b as i8),
        WeightWidth::Int4 => row.get(i / 2).map_or(0, |&b| {
            let (lo, hi) = int4_pair(b);
            if i.is_multiple_of(2) { lo } else { hi }
        }),
    }
}

impl<'a> Dense<'a> {
    /// `input_zero_point * sum_i W_q[j][i]` for one stored row `w_row` of this layer's
    /// weights (from [`weight_rows`](Self::weight_rows)): the term the exporter folded
    /// into `bias[j]` (see [`Dense::input_zero_point`]), which float paths add back to get
    /// the bias of the real-valued layer.
    pub fn zero_point_term(&self, w_row: &[u8]) -> i64 {
        let sum: i64 = self.codes(w_row).map(i64::from).sum();
        i64::from(self.input_zero_point) * sum
    }

    /// Bytes of one stored weight row ([`WeightWidth::row_bytes`] of `in_dim`).
    pub const fn row_bytes(&self) -> usize {
        self.weight_width.row_bytes(self.in_dim as usize)
    }

    /// The stored rows of [`weights`](Self::weights), [`row_bytes`](Self::row_bytes)
    /// each (none if `in_dim` is 0).
    pub fn weight_rows(&self) -> core::slice::ChunksExact<'a, u8> {
        self.weights.chunks_exact(self.row_bytes().max(1))
    }

    /// The `in_dim` codes `W_q[j][0..in_dim]` of one stored row, as `i8`, whatever the
    /// [`weight_width`](Self::weight_width).
    pub fn codes<'r>(&self, w_row: &'r [u8]) -> impl Iterator<Item = i8> + Clone + 'r {
        let width = self.weight_width;
        (0..usize::from(self.in_dim)).map(move |i| code_at(width, w_row, i))
    }
}

/// Where a blob came from. Not used for decoding; all fields may be left empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata<'a> {
    /// Training seed, if known.
    pub seed: Option<u64>,
    /// Test loss of the quantized model (per image), if measured.
    pub test_loss: Option<f32>,
    /// Free text, e.g. the producer and its version.
    pub note: &'a str,
}

impl Model<'_> {
    /// The latent quantization scale `s_z`: `z_q = clamp(round(z / s_z), -127, 127)`.
    /// (It is `layers[0].input_scale`; `NaN` if there are no layers.)
    pub fn latent_scale(&self) -> f32 {
        self.layers.first().map_or(f32::NAN, |l| l.input_scale)
    }

    /// Number of classes of a conditional model, `None` for an unconditional one.
    pub fn classes(&self) -> Option<u8> {
        match self.kind {
            ModelKind::Unconditional => None,
            ModelKind::Conditional { classes, .. } => Some(classes),
        }
    }
}

/// Serializes a byte slice as postcard bytes (same wire form as a `u8` sequence, faster).
pub(super) fn as_bytes<S: Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}
