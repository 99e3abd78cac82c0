//! [`Decoder`] with its shapes chosen at run time, for host tools (feature `quantize`).
//!
//! A `Decoder<LATENT, HIDDEN>` fixes its shapes at compile time, as firmware wants. Host
//! tools open whatever blob they are given, so [`open`] picks the instance for the blob's
//! latent size (1 to [`MAX_HOST_LATENT`]) with room for hidden layers up to
//! [`HOST_HIDDEN`] wide, behind the object-safe [`HostDecoder`].
//!
//! On x86-64 CPUs with AVX-512 VNNI and VBMI2, [`open`] also repacks the weights once into
//! the host engine's column order (about the blob's size again in memory), which skips
//! the weights of zero inputs: about 1.65x faster than decoding in the blob's own order
//! (1.28 against 2.13 µs per digit), byte for byte the same pixels. Other CPUs decode
//! with [`Decoder`] as it is.

use std::boxed::Box;
use std::vec::Vec;

use crate::{Decoder, Error, IMAGE_PIXELS};

/// Widest hidden layer a host tool accepts.
pub const HOST_HIDDEN: usize = 4096;
/// Largest latent size a host tool accepts.
pub const MAX_HOST_LATENT: usize = 64;

/// The decoding calls of [`Decoder`] with slices instead of fixed-size arrays; `label`
/// is `Some(digit)` exactly for conditional models.
pub trait HostDecoder {
    /// The blob's latent size.
    fn latent_dim(&self) -> usize;
    /// `Some(classes)` for a conditional blob.
    fn classes(&self) -> Option<u8>;
    /// The parsed blob.
    fn model(&self) -> &crate::Model<'_>;
    /// Quantizes `z` with the blob's latent scale.
    fn quantize_latent(&self, z: &[f32], z_q: &mut [i8]) -> Result<(), Error>;
    /// [`Decoder::decode_q`].
    fn decode_q(
        &self,
        z_q: &[i8],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error>;
    /// [`Decoder::decode`] / [`Decoder::decode_digit`].
    fn decode(
        &self,
        z: &[f32],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error>;
    /// [`Decoder::decode_logits_q`] of `z` quantized.
    fn decode_logits_q(
        &self,
        z: &[f32],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error>;
    /// [`Decoder::decode_reference_f32`].
    fn decode_reference_f32(
        &self,
        z: &[f32],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error>;
    /// The latent [`Decoder::generate`] uses for `seed` ([`Decoder::prior_latent`]).
    fn prior_latent(&self, seed: u64) -> Vec<f32>;
    /// [`Decoder::prior_latent_with_temperature`].
    fn prior_latent_with_temperature(&self, seed: u64, temperature: f32)
    -> Result<Vec<f32>, Error>;
}

fn fixed<T, const N: usize>(v: &[T]) -> Result<&[T; N], Error> {
    v.try_into().map_err(|_| Error::DimsMismatch {
        what: "latent values",
        expected: N,
        found: v.len(),
    })
}

/// A [`Decoder`] and, on x86-64 CPUs with AVX-512 F, BW, VNNI and VBMI2, a copy of its
/// weights repacked column by column, which [`HostDecoder::decode`] and
/// [`HostDecoder::decode_q`] use to skip the weights of zero inputs, and a pixel lookup
/// fitted to the blob's thresholds (same bytes as the decoder's, checked when built).
/// What [`open`] returns, with `HIDDEN = HOST_HIDDEN`.
pub struct Engine<'a, const L: usize, const HIDDEN: usize> {
    decoder: Decoder<'a, L, HIDDEN>,
    #[cfg(target_arch = "x86_64")]
    layout: Option<crate::kernel::x86::host_layout::HostLayout>,
}

impl<'a, const L: usize, const HIDDEN: usize> Engine<'a, L, HIDDEN> {
    /// Repacks `decoder`'s weights where the CPU runs the host kernels (about the blob's
    /// size again in memory, about 2 ms for the default blob, the pixel lookup's
    /// exhaustive check included); elsewhere it only wraps `decoder`.
    pub fn new(decoder: Decoder<'a, L, HIDDEN>) -> Self {
        Engine {
            #[cfg(target_arch = "x86_64")]
            layout: crate::kernel::x86::host_layout::HostLayout::new(decoder.model()),
            decoder,
        }
    }

    /// Whether decodes run on the repacked weights.
    pub fn is_repacked(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.layout.is_some()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// [`Decoder::decode_q`], through the host layout when there is one.
    fn pixels(
        &self,
        z_q: &[i8; L],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        #[cfg(target_arch = "x86_64")]
        if let Some(layout) = &self.layout {
            let class_bias = self.decoder.class_bias(label)?;
            if layout.pixels(self.decoder.model(), z_q, class_bias, out) {
                return Ok(());
            }
        }
        self.decoder.decode_q(z_q, label, out)
    }
}

impl<const L: usize, const HIDDEN: usize> HostDecoder for Engine<'_, L, HIDDEN> {
    fn latent_dim(&self) -> usize {
        L
    }
    fn classes(&self) -> Option<u8> {
        self.decoder.classes()
    }
    fn model(&self) -> &crate::Model<'_> {
        self.decoder.model()
    }
    fn quantize_latent(&self, z: &[f32], z_q: &mut [i8]) -> Result<(), Error> {
        let q = self.decoder.quantize_latent(fixed::<f32, L>(z)?)?;
        let n = z_q.len();
        let out: &mut [i8; L] = z_q.try_into().map_err(|_| Error::DimsMismatch {
            what: "latent values",
            expected: L,
            found: n,
        })?;
        *out = q;
        Ok(())
    }
    fn decode_q(
        &self,
        z_q: &[i8],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.pixels(fixed::<i8, L>(z_q)?, label, out)
    }
    fn decode(
        &self,
        z: &[f32],
        label: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        // The label's errors before the latent's, as `Decoder::decode_digit` reports them.
        self.decoder.class_bias(label)?;
        let z_q = self.decoder.quantize_latent(fixed::<f32, L>(z)?)?;
        self.pixels(&z_q, label, out)
    }
    fn decode_logits_q(
        &self,
        z: &[f32],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let z_q = self.decoder.quantize_latent(fixed::<f32, L>(z)?)?;
        self.decoder.decode_logits_q(&z_q, label, logits)
    }
    fn decode_reference_f32(
        &self,
        z: &[f32],
        label: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.decoder
            .decode_reference_f32(fixed::<f32, L>(z)?, label, logits)
    }
    fn prior_latent(&self, seed: u64) -> Vec<f32> {
        self.decoder.prior_latent(seed).to_vec()
    }
    fn prior_latent_with_temperature(
        &self,
        seed: u64,
        temperature: f32,
    ) -> Result<Vec<f32>, Error> {
        Ok(self
            .decoder
            .prior_latent_with_temperature(seed, temperature)?
            .to_vec())
    }
}

macro_rules! open_with_latent {
    ($blob:expr, $latent:expr, $($l:literal)*) => {
        match $latent {
            $($l => Ok(Box::new(Engine::new(Decoder::<$l, HOST_HIDDEN>::from_bytes($blob)?)) as Box<dyn HostDecoder + '_>),)*
            other => Err(Error::DimsMismatch { what: "latent size (host tools)", expected: MAX_HOST_LATENT, found: other }),
        }
    };
}

/// Opens `blob` with the decoder instance for its latent size. Every check of
/// [`Decoder::from_bytes`] applies; a latent over [`MAX_HOST_LATENT`] or a hidden layer
/// over [`HOST_HIDDEN`] is [`Error::DimsMismatch`].
pub fn open(blob: &[u8]) -> Result<Box<dyn HostDecoder + '_>, Error> {
    let latent = usize::from(crate::format::parse(blob)?.latent_dim);
    open_with_latent!(blob, latent,
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed default blob through [`open`] (repacked where the CPU allows) and
    /// through [`Decoder`]: the same pixels for 256 prior latents and every error case.
    #[test]
    fn engine_matches_decoder_on_the_default_blob() {
        let blob = include_bytes!("../../examples/models/decoder.bin");
        let decoder = Decoder::<20, 256>::from_bytes(blob).unwrap();
        let engine = open(blob).unwrap();
        #[cfg(target_arch = "x86_64")]
        match &Engine::new(Decoder::<20, HOST_HIDDEN>::from_bytes(blob).unwrap()).layout {
            // The exporter's thresholds take the fast pixel lookup, so it is what this
            // test compares.
            Some(layout) => assert!(layout.has_pixel_lookup()),
            None => std::eprintln!("no AVX-512 VBMI2 + VNNI: the engine wraps Decoder unchanged"),
        }
        let (mut want, mut got) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
        let mut lit = 0usize;
        for seed in 0..256 {
            let z = decoder.prior_latent(seed);
            decoder.decode(&z, &mut want).unwrap();
            engine.decode(&z, None, &mut got).unwrap();
            assert_eq!(got, want, "seed {seed}");
            lit += want.iter().filter(|&&p| p > 0).count();
            let z_q = decoder.quantize_latent(&z).unwrap();
            engine.decode_q(&z_q, None, &mut got).unwrap();
            assert_eq!(got, want, "decode_q, seed {seed}");
        }
        // Real digits, not blank images that would match by accident.
        assert!(lit > 256 * 100, "{lit} lit pixels");
        let z = [f32::NAN; 20];
        assert_eq!(
            engine.decode(&z, None, &mut got),
            Err(Error::NonFiniteLatent { index: 0 })
        );
        assert_eq!(
            engine.decode(&z, Some(3), &mut got),
            Err(Error::NotConditional)
        );
        assert!(matches!(
            engine.decode(&[0.0; 19], None, &mut got),
            Err(Error::DimsMismatch { .. })
        ));
    }
}
