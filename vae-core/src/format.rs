//! The decoder blob: byte layout, schema, reader ([`parse`]) and writer ([`encode`]).
//!
//! This module is the single definition of the format; `FORMAT.md` describes the same
//! thing in prose. A blob is:
//!
//! ```text
//! offset  size  field
//! 0       4     MAGIC = "VAE8"
//! 4       2     major version, u16 LE  (FORMAT_MAJOR)
//! 6       2     minor version, u16 LE  (FORMAT_MINOR)
//! 8       4     body length L, u32 LE
//! 12      L     body: postcard encoding of `Model` (the 2.0 fields), then of `Prior`
//!               (appended in 2.1)
//! 12+L    4     CRC-32 (IEEE) of bytes 0..12+L, u32 LE
//! ```
//!
//! [`parse`] checks, in this order: length >= header ([`Error::Truncated`]) -> magic
//! ([`Error::BadMagic`]) -> major version ([`Error::UnsupportedVersion`], before anything
//! else is read) -> total length ([`Error::Truncated`]) -> CRC ([`Error::CrcMismatch`]) ->
//! postcard body ([`Error::Malformed`]) -> [`Model::validate`] (shapes, lengths, scales,
//! accumulator range, threshold order). A [`Model`] returned by [`parse`] borrows its
//! arrays from the blob (zero copy) and is safe to run: no later step can fail on it.
//!
//! Multi-byte arrays inside the body are raw little-endian bytes (`&[u8]`): `i8` weights
//! are reinterpreted with `as i8`, `i32`/`f32` values are read with `from_le_bytes`. This
//! keeps the body zero-copy and alignment-free on every target.

use serde::{Deserialize, Serialize, Serializer};

use crate::IMAGE_PIXELS;
use crate::bytes::{le_f32, le_i32, le_i32_at};
use crate::error::Error;

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"VAE8";
/// Major format version written and read by this crate; a blob with another major version
/// is rejected with [`Error::UnsupportedVersion`].
pub const FORMAT_MAJOR: u16 = 2;
/// Minor format version written by this crate. Readers accept any minor version of their
/// major: minor versions only append fields at the end of the body.
///
/// * 2.0: the decoder.
/// * 2.1: appends [`Model::prior`] (a 2.0 blob reads as [`Prior::Standard`]).
pub const FORMAT_MINOR: u16 = 1;
/// Largest number of components of a [`Prior::Mixture`].
pub const MAX_PRIOR_COMPONENTS: usize = 1024;
/// Bytes before the body: magic, major, minor, body length.
pub const HEADER_LEN: usize = 12;
/// Bytes after the body: the CRC-32.
pub const CRC_LEN: usize = 4;
/// Number of thresholds in a pixel table: pixels take the values `0..=255`.
pub const NUM_THRESHOLDS: usize = 255;
/// Most dense layers a model may have.
pub const MAX_LAYERS: usize = 8;
/// Largest requantization shift `n` (so `M / 2^n` is well defined on 64 bits).
pub const MAX_SHIFT: u8 = 63;

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
            .map_err(|_| malformed("more than 8 layers"))
    }

    /// Appends `layer`; [`Error::Malformed`] when there are already [`MAX_LAYERS`].
    pub fn push(&mut self, layer: Dense<'a>) -> Result<(), Error> {
        self.0
            .push(layer)
            .map_err(|_| malformed("more than 8 layers"))
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
/// use vae_core::format::{self, Dense, Layers, Metadata, Model, ModelKind, Prior};
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
    #[serde(serialize_with = "as_bytes")]
    pub pixel_thresholds: &'a [u8],
    /// Provenance; not used for decoding.
    #[serde(borrow)]
    pub metadata: Metadata<'a>,
    /// The distribution [`Decoder::generate`](crate::Decoder::generate) draws latents from
    /// (format 2.1). Not part of the postcard encoding of `Model` itself: [`encode`]
    /// writes it after the 2.0 fields and [`parse`] reads it from there.
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
}

impl Prior<'_> {
    /// Checks a mixture's shape and values for a `latent_dim`-wide latent (a standard
    /// prior always passes): [`Error::Malformed`] naming the broken rule.
    pub fn validate(&self, latent_dim: u16) -> Result<(), Error> {
        let Prior::Mixture {
            components,
            cumulative,
            means,
            stds,
        } = *self
        else {
            return Ok(());
        };
        let k = usize::from(components);
        if k == 0 || k > MAX_PRIOR_COMPONENTS {
            return Err(malformed("the prior's component count is 0 or over 1024"));
        }
        if cumulative.len() != 4 * k {
            return Err(malformed(
                "the prior's cumulative length is not 4 * components",
            ));
        }
        let values = 4 * k * usize::from(latent_dim);
        if means.len() != values || stds.len() != values {
            return Err(malformed(
                "the prior's means or stds length is not 4 * components * latent_dim",
            ));
        }
        let bounds = cumulative.chunks_exact(4).map(le_i32).map(|v| v as u32);
        if bounds.clone().zip(bounds.skip(1)).any(|(a, b)| a > b) {
            return Err(malformed("the prior's cumulative weights decrease"));
        }
        if means.chunks_exact(4).map(le_f32).any(|m| !m.is_finite()) {
            return Err(malformed("a prior mean is NaN or infinite"));
        }
        if !stds.chunks_exact(4).map(le_f32).all(positive_finite) {
            return Err(malformed(
                "a prior standard deviation is zero, negative, NaN or infinite",
            ));
        }
        Ok(())
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
    /// `out_dim * in_dim` `i8` (two's complement bytes), row-major `[out][in]`.
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
}

impl Dense<'_> {
    /// `input_zero_point * sum_i W_q[j][i]` for one row `w_row` of this layer's weights:
    /// the term the exporter folded into `bias[j]` (see [`Dense::input_zero_point`]), which
    /// float paths add back to get the bias of the real-valued layer.
    pub fn zero_point_term(&self, w_row: &[u8]) -> i64 {
        let sum: i64 = w_row.iter().map(|&w| i64::from(w as i8)).sum();
        i64::from(self.input_zero_point) * sum
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

/// Serializes a byte slice as postcard bytes (same wire form as a `u8` sequence, faster).
fn as_bytes<S: Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

const fn malformed(what: &'static str) -> Error {
    Error::Malformed { what }
}

fn positive_finite(x: f32) -> bool {
    x.is_finite() && x > 0.0
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

    /// Checks everything a decoder relies on; [`parse`] and [`encode`] call it.
    ///
    /// * at least one layer; `latent_dim`, every `in_dim`, `out_dim` >= 1; the first
    ///   `in_dim == latent_dim`, each `in_dim` equals the previous `out_dim`, the last
    ///   `out_dim == IMAGE_PIXELS` ([`Error::Malformed`]);
    /// * every byte array has exactly its documented length ([`Error::Malformed`]);
    /// * scales finite and `> 0`, multipliers `> 0`, shifts `<= MAX_SHIFT`
    ///   ([`Error::InvalidScale`]); each `input_scale` equals the previous `output_scale`
    ///   bit for bit; the first layer's `input_zero_point` is 0 ([`Error::Malformed`]);
    /// * no accumulator can leave the `i32` range: per row,
    ///   `|bias| + max_c |class_bias[c]| + 128 * sum_i |W_q[j][i]| <= i32::MAX`
    ///   ([`Error::Malformed`]);
    /// * a conditional model has `classes >= 1`; `pixel_thresholds` has
    ///   [`NUM_THRESHOLDS`] non-decreasing entries ([`Error::Malformed`]);
    /// * the prior passes [`Prior::validate`] ([`Error::Malformed`]).
    pub fn validate(&self) -> Result<(), Error> {
        if self.latent_dim == 0 {
            return Err(malformed("latent_dim is 0"));
        }
        let Some(last) = self.layers.last() else {
            return Err(malformed("the model has no layers"));
        };
        if usize::from(last.out_dim) != IMAGE_PIXELS {
            return Err(malformed(
                "the last layer's out_dim is not 784 (IMAGE_PIXELS)",
            ));
        }
        let class_bias = match self.kind {
            ModelKind::Unconditional => None,
            ModelKind::Conditional {
                classes,
                class_bias,
            } => {
                if classes == 0 {
                    return Err(malformed("a conditional model has 0 classes"));
                }
                let rows = self.layers.first().map_or(0, |l| usize::from(l.out_dim));
                if class_bias.len() != usize::from(classes) * rows * 4 {
                    return Err(malformed(
                        "class_bias length is not 4 * classes * layers[0].out_dim",
                    ));
                }
                Some(class_bias)
            }
        };
        let mut prev: Option<&Dense<'_>> = None;
        for (k, layer) in self.layers.iter().enumerate() {
            match prev {
                None if layer.in_dim != self.latent_dim => {
                    return Err(malformed("the first layer's in_dim is not latent_dim"));
                }
                None if layer.input_zero_point != 0 => {
                    return Err(malformed(
                        "the first layer's input_zero_point is not 0 (the latent is symmetric)",
                    ));
                }
                Some(p) if layer.in_dim != p.out_dim => {
                    return Err(malformed(
                        "a layer's in_dim is not the previous layer's out_dim",
                    ));
                }
                _ => {}
            }
            layer.validate(k)?;
            if let Some(p) = prev
                && p.output_scale.to_bits() != layer.input_scale.to_bits()
            {
                return Err(malformed(
                    "a layer's input_scale is not the previous layer's output_scale",
                ));
            }
            layer.check_accumulators(if k == 0 { class_bias } else { None })?;
            prev = Some(layer);
        }
        if self.pixel_thresholds.len() != NUM_THRESHOLDS * 4 {
            return Err(malformed("pixel_thresholds is not 255 i32 values"));
        }
        let mut previous = i32::MIN;
        for t in self.pixel_thresholds.chunks_exact(4).map(le_i32) {
            if t < previous {
                return Err(malformed("pixel_thresholds are not sorted"));
            }
            previous = t;
        }
        self.prior.validate(self.latent_dim)
    }
}

impl Dense<'_> {
    /// Lengths and scales of one layer (`k` = its index, for error reports).
    fn validate(&self, k: usize) -> Result<(), Error> {
        let (rows, cols) = (usize::from(self.out_dim), usize::from(self.in_dim));
        if rows == 0 || cols == 0 {
            return Err(malformed("a layer has in_dim or out_dim 0"));
        }
        if Some(self.weights.len()) != rows.checked_mul(cols) {
            return Err(malformed(
                "a layer's weights length is not out_dim * in_dim",
            ));
        }
        for (len, expected, what) in [
            (
                self.weight_scales.len(),
                rows * 4,
                "a layer's weight_scales length is not 4 * out_dim",
            ),
            (
                self.bias.len(),
                rows * 4,
                "a layer's bias length is not 4 * out_dim",
            ),
            (
                self.multipliers.len(),
                rows * 4,
                "a layer's multipliers length is not 4 * out_dim",
            ),
            (
                self.shifts.len(),
                rows,
                "a layer's shifts length is not out_dim",
            ),
        ] {
            if len != expected {
                return Err(malformed(what));
            }
        }
        let scales_ok = positive_finite(self.input_scale)
            && positive_finite(self.output_scale)
            && self
                .weight_scales
                .chunks_exact(4)
                .all(|c| positive_finite(le_f32(c)))
            && self.multipliers.chunks_exact(4).all(|c| le_i32(c) > 0)
            && self.shifts.iter().all(|&n| n <= MAX_SHIFT);
        if scales_ok {
            Ok(())
        } else {
            Err(Error::InvalidScale { layer: k })
        }
    }

    /// Rejects a layer whose accumulators could leave the `i32` range for some input in
    /// `-128..=127` (lengths already checked).
    fn check_accumulators(&self, class_bias: Option<&[u8]>) -> Result<(), Error> {
        let cols = usize::from(self.in_dim);
        let class_rows = usize::from(self.out_dim) * 4;
        let rows = self
            .weights
            .chunks_exact(cols)
            .zip(self.bias.chunks_exact(4));
        for (j, (row, bias)) in rows.enumerate() {
            let weight_sum: i64 = row
                .iter()
                .map(|&w| i64::from((w as i8).unsigned_abs()))
                .sum();
            let class_max = class_bias.map_or(0, |cb| {
                cb.chunks_exact(class_rows)
                    .map(|class_row| i64::from(le_i32_at(class_row, j).unwrap_or(0)).abs())
                    .max()
                    .unwrap_or(0)
            });
            let bound = i64::from(le_i32(bias)).abs() + class_max + 128 * weight_sum;
            if bound > i64::from(i32::MAX) {
                return Err(malformed(
                    "a layer's accumulator could overflow i32 (bias or weights too large)",
                ));
            }
        }
        Ok(())
    }
}

/// Header fields after the magic/major checks.
struct Header {
    minor: u16,
    body_len: u32,
}

fn read_header(blob: &[u8]) -> Result<Header, Error> {
    let Some((header, _)) = blob.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::Truncated);
    };
    let [m0, m1, m2, m3, a0, a1, b0, b1, l0, l1, l2, l3] = *header;
    if [m0, m1, m2, m3] != MAGIC {
        return Err(Error::BadMagic);
    }
    let major = u16::from_le_bytes([a0, a1]);
    if major != FORMAT_MAJOR {
        return Err(Error::UnsupportedVersion {
            found_major: major,
            supported_major: FORMAT_MAJOR,
        });
    }
    Ok(Header {
        minor: u16::from_le_bytes([b0, b1]),
        body_len: u32::from_le_bytes([l0, l1, l2, l3]),
    })
}

/// Total length of the blob that starts at `prefix[0]`, read from its header.
///
/// For a blob stored in a larger region (a flash partition, a padded file): pass
/// `&region[..blob_len(region)?]` to [`parse`], which rejects trailing bytes. Only the
/// first [`HEADER_LEN`] bytes are read; nothing is checked beyond magic and major version.
pub fn blob_len(prefix: &[u8]) -> Result<usize, Error> {
    let header = read_header(prefix)?;
    usize::try_from(header.body_len)
        .ok()
        .and_then(|body| body.checked_add(HEADER_LEN + CRC_LEN))
        .ok_or(Error::Truncated)
}

/// Reads and checks a blob; the returned [`Model`] borrows from `blob` and is validated.
///
/// See the [module docs](self) for the order of the checks.
pub fn parse(blob: &[u8]) -> Result<Model<'_>, Error> {
    let header = read_header(blob)?;
    let total = blob_len(blob)?;
    if blob.len() < total {
        return Err(Error::Truncated);
    }
    if blob.len() > total {
        return Err(malformed(
            "bytes after the CRC; pass exactly format::blob_len(bytes) bytes",
        ));
    }
    let Some((signed, stored)) = blob.split_last_chunk::<CRC_LEN>() else {
        return Err(Error::Truncated);
    };
    let expected = u32::from_le_bytes(*stored);
    let computed = crc32(signed);
    if expected != computed {
        return Err(Error::CrcMismatch { expected, computed });
    }
    let body = signed.get(HEADER_LEN..).ok_or(Error::Truncated)?;
    let (mut model, mut rest) = postcard::take_from_bytes::<Model<'_>>(body)
        .map_err(|_| malformed("the body does not decode as a Model"))?;
    if header.minor >= 1 {
        let (prior, after) = postcard::take_from_bytes::<Prior<'_>>(rest)
            .map_err(|_| malformed("the 2.1 prior does not decode"))?;
        model.prior = prior;
        rest = after;
    }
    // Newer minor versions append fields after the body we know; ours has nothing more.
    let newer_minor = header.minor > FORMAT_MINOR;
    if !rest.is_empty() && !newer_minor {
        return Err(malformed("unexpected bytes after the model body"));
    }
    model.validate()?;
    Ok(model)
}

/// Exact length of the blob [`encode`] writes for `model` (validates it first).
pub fn encoded_len(model: &Model<'_>) -> Result<usize, Error> {
    model.validate()?;
    body_len(model)?
        .checked_add(HEADER_LEN + CRC_LEN)
        .ok_or(malformed("the body is too large"))
}

/// Length of the body [`encode`] writes for `model` (not validated).
pub(crate) fn body_len(model: &Model<'_>) -> Result<usize, Error> {
    encoded_size(model)?
        .checked_add(encoded_size(&model.prior)?)
        .ok_or(malformed("the body is too large"))
}

/// Postcard's encoded size of `value`.
fn encoded_size<T: Serialize>(value: &T) -> Result<usize, Error> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(|_| malformed("the model does not serialize"))
}

/// Validates `model` and writes its blob to the start of `buf`; returns the blob length.
///
/// Size `buf` with [`encoded_len`]; a smaller buffer gives [`Error::BufferTooSmall`]
/// (nothing useful is written then). Writes [`FORMAT_MAJOR`].[`FORMAT_MINOR`].
pub fn encode(model: &Model<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    model.validate()?;
    encode_unvalidated(model, buf)
}

/// [`encode`] without [`Model::validate`]: lets tests write invalid blobs.
pub(crate) fn encode_unvalidated(model: &Model<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let body_len = body_len(model)?;
    let body_len_u32 = u32::try_from(body_len).map_err(|_| malformed("the body is too large"))?;
    let total = body_len
        .checked_add(HEADER_LEN + CRC_LEN)
        .ok_or(malformed("the body is too large"))?;
    let too_small = Error::BufferTooSmall {
        needed: total,
        available: buf.len(),
    };
    let out = buf.get_mut(..total).ok_or(too_small)?;
    let (signed, crc_slot) = out.split_last_chunk_mut::<CRC_LEN>().ok_or(too_small)?;
    let (header, body) = signed
        .split_first_chunk_mut::<HEADER_LEN>()
        .ok_or(too_small)?;
    let [m0, m1, m2, m3] = MAGIC;
    let [a0, a1] = FORMAT_MAJOR.to_le_bytes();
    let [b0, b1] = FORMAT_MINOR.to_le_bytes();
    let [l0, l1, l2, l3] = body_len_u32.to_le_bytes();
    *header = [m0, m1, m2, m3, a0, a1, b0, b1, l0, l1, l2, l3];
    let written = postcard::to_slice(model, body)
        .map_err(|_| malformed("the model does not serialize"))?
        .len();
    let rest = body.get_mut(written..).ok_or(too_small)?;
    let written = written
        + postcard::to_slice(&model.prior, rest)
            .map_err(|_| malformed("the prior does not serialize"))?
            .len();
    if written != body_len {
        return Err(malformed(
            "the model's serialized size changed while writing",
        ));
    }
    *crc_slot = crc32(signed).to_le_bytes();
    Ok(total)
}

/// CRC-32 lookup table (reflected polynomial `0xEDB88320`), built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32/IEEE (as in zlib, PNG, Ethernet): reflected, init and final XOR `0xFFFFFFFF`.
/// `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Fixed-point form `(M, n)` of a positive real factor: `real ~= M / 2^n`.
///
/// `M` is `round(real * 2^n)` with `n` chosen so that `M` is in `[2^30, 2^31)` (relative
/// error `<= 2^-31`), except for factors below `2^-32`, which get `n = MAX_SHIFT` and a
/// smaller `M`. `None` if `real` is not finite and positive, is `>= 2^31 - 0.5`, or rounds
/// to `M = 0`. Host-side helper for exporters: the decoder only reads `(M, n)`.
pub fn quantize_multiplier(real: f64) -> Option<(i32, u8)> {
    if !(real.is_finite() && real > 0.0) {
        return None;
    }
    // real = mantissa * 2^exp, mantissa in [0.5, 1)
    let (mantissa, exp) = libm::frexp(real);
    let mut multiplier = libm::round(mantissa * 2_147_483_648.0) as i64; // in [2^30, 2^31]
    let mut shift = 31 - i64::from(exp);
    if multiplier == 1 << 31 {
        multiplier >>= 1;
        shift -= 1;
    }
    if shift < 0 {
        return None;
    }
    if shift > i64::from(MAX_SHIFT) {
        shift = i64::from(MAX_SHIFT);
        multiplier = libm::round(libm::ldexp(real, i32::from(MAX_SHIFT))) as i64;
    }
    let multiplier = i32::try_from(multiplier).ok().filter(|&m| m > 0)?;
    Some((multiplier, u8::try_from(shift).ok()?))
}

/// The [`Model::pixel_thresholds`] table for a last layer with output scale `logit_scale`:
/// `t_k = ceil(ln(p_k / (1 - p_k)) / logit_scale)` with `p_k = (k - 0.5) / 255`,
/// `k = 1..=255`, saturated to `i32`.
///
/// Then `#{k : v >= t_k} = round(255 * sigmoid(v * logit_scale))` for every integer `v`
/// (ties, which need an exact rational logit, aside). `None` unless `logit_scale` is finite
/// and positive. Host-side helper for exporters (computed in `f64`).
pub fn pixel_thresholds(logit_scale: f64) -> Option<[i32; NUM_THRESHOLDS]> {
    if !(logit_scale.is_finite() && logit_scale > 0.0) {
        return None;
    }
    let mut table = [0i32; NUM_THRESHOLDS];
    for (k, t) in (1u32..).zip(table.iter_mut()) {
        let p = (f64::from(k) - 0.5) / 255.0;
        let logit = libm::log(p / (1.0 - p));
        // `as` saturates at the i32 bounds.
        *t = libm::ceil(logit / logit_scale) as i32;
    }
    Some(table)
}

#[cfg(test)]
mod tests;
