//! [`Decoder`]: a validated blob with its shapes fixed at compile time, turning requests
//! and latent vectors into 28x28 images. The decode itself is [`DecoderCore`]'s, over
//! slices; this type only adds the types and the stack buffers.

mod slice_core;

pub use slice_core::DecoderCore;

use crate::IMAGE_PIXELS;
use crate::error::Error;
use crate::format::Model;
use crate::request::Request;

/// The int8 decoder of one blob, with its shapes fixed at compile time.
///
/// * `LATENT`: the blob's latent dimension (checked by [`from_bytes`](Self::from_bytes)).
/// * `HIDDEN`: at least the widest hidden layer (every layer but the last). The scratch
///   activations are two `[i8; HIDDEN]` arrays on the stack inside each decode call, so
///   decoding needs no mutable state and a `Decoder` can be shared (it is `Sync`).
///
/// [`Shape::of`](crate::Shape::of) reads both from the blob at compile time:
/// `Decoder::<{ SHAPE.latent }, { SHAPE.hidden }>`.
///
/// All blob checks happen in [`from_bytes`](Self::from_bytes); afterwards the decode
/// methods only fail on bad *inputs* (non-finite latent, wrong or missing digit, bad
/// temperature). No method panics, whatever the blob or input.
///
/// Integer path (bit-identical on every target): `z_q = quantize(z)`, then per layer
/// `acc = bias + W_q x_q`, hidden layers `x_q = relu_q(requantize(acc), zp_next)`, last
/// layer `pixel = sigmoid_pixel(requantize(acc))`. See `FORMAT.md`.
///
/// Stack use per call: [`Shape::stack_bytes`](crate::Shape::stack_bytes) on a
/// microcontroller (the x86-64 AVX-512 kernels of a host add about 5 KB).
#[derive(Clone, Debug, PartialEq)]
pub struct Decoder<'a, const LATENT: usize, const HIDDEN: usize> {
    core: DecoderCore<'a>,
}

impl<'a, const LATENT: usize, const HIDDEN: usize> Decoder<'a, LATENT, HIDDEN> {
    /// Parses and validates a blob ([`format::parse`](crate::format::parse)) and checks
    /// that its shapes fit `LATENT` and `HIDDEN` ([`Error::DimsMismatch`]). Borrows the
    /// blob: no copy.
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self, Error> {
        Self::with_shapes_checked(DecoderCore::from_bytes(blob)?)
    }

    /// Like [`from_bytes`](Self::from_bytes) for a [`Model`] built in memory (e.g. by an
    /// exporter, before writing it): validates it, then checks the shapes.
    pub fn from_model(model: Model<'a>) -> Result<Self, Error> {
        Self::with_shapes_checked(DecoderCore::from_model(model)?)
    }

    fn with_shapes_checked(core: DecoderCore<'a>) -> Result<Self, Error> {
        let shape = core.shape();
        if shape.latent != LATENT {
            return Err(Error::DimsMismatch {
                what: "latent dimension (LATENT)",
                expected: LATENT,
                found: shape.latent,
            });
        }
        if shape.hidden > HIDDEN {
            return Err(Error::DimsMismatch {
                what: "widest hidden layer (HIDDEN)",
                expected: HIDDEN,
                found: shape.hidden,
            });
        }
        Ok(Decoder { core })
    }

    /// The validated model (borrowing the blob): kind, layers, prior, metadata.
    pub fn model(&self) -> &Model<'a> {
        self.core.model()
    }

    /// The slice-based decoder underneath: its [`shape`](DecoderCore::shape), and the
    /// evaluation paths (dequantized [`logits`](DecoderCore::logits), the float
    /// [`reference_logits`](DecoderCore::reference_logits)).
    pub fn core(&self) -> &DecoderCore<'a> {
        &self.core
    }

    /// A digit for `request`: the latent of [`prior_latent`](Self::prior_latent),
    /// decoded. The same request gives the same bytes on every target.
    ///
    /// Errors, in this order: the digit against the model kind
    /// ([`Error::NotConditional`], [`Error::MissingDigit`], [`Error::InvalidDigit`]),
    /// then [`Error::InvalidTemperature`], then [`Error::NonFiniteLatent`] (a
    /// temperature so large that the latent overflows).
    pub fn generate(&self, request: &Request, out: &mut [u8; IMAGE_PIXELS]) -> Result<(), Error> {
        self.core.class_bias(request.digit)?;
        let z = self.prior_latent(request)?;
        self.decode(&z, request.digit, out)
    }

    /// The latent [`generate`](Self::generate) decodes for `request`: a draw from the
    /// blob's prior by the request's seed, its spread scaled by the request's
    /// temperature ([`DecoderCore::prior_latent`] documents the draw).
    pub fn prior_latent(&self, request: &Request) -> Result<[f32; LATENT], Error> {
        let mut z = [0f32; LATENT];
        self.core.prior_latent(request, &mut z)?;
        Ok(z)
    }

    /// Decodes a latent vector into a 28x28 image (row-major, 0 = black, 255 = white).
    /// `digit` must be `Some` exactly when the model is class-conditional.
    pub fn decode(
        &self,
        z: &[f32; LATENT],
        digit: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.core.class_bias(digit)?;
        let z_q = self.quantize_latent(z)?;
        self.decode_quantized(&z_q, digit, out)
    }

    /// Quantizes a latent vector with the blob's scale: `z_q = clamp(round(z / s), -127,
    /// 127)`; [`Error::NonFiniteLatent`] for the first NaN or infinite value.
    pub fn quantize_latent(&self, z: &[f32; LATENT]) -> Result<[i8; LATENT], Error> {
        let mut z_q = [0i8; LATENT];
        self.core.quantize_latent(z, &mut z_q)?;
        Ok(z_q)
    }

    /// [`decode`](Self::decode) from an already quantized latent: the integer path alone.
    pub fn decode_quantized(
        &self,
        z_q: &[i8; LATENT],
        digit: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let mut scratch = [[0i8; HIDDEN]; 2];
        self.core
            .decode_quantized(z_q, digit, scratch.as_flattened_mut(), out)
    }
}

#[cfg(test)]
mod tests;
