//! The decoder for any blob, for host tools (feature `quantize`): [`open`] gives an
//! [`Engine`] whose buffers live on the heap, so one type serves every shape.
//!
//! A [`Decoder`](crate::Decoder) fixes its shapes at compile time, as firmware wants;
//! host tools open whatever blob they are given. Both run the same [`DecoderCore`], so
//! they produce the same bytes.
//!
//! On x86-64 CPUs with AVX-512 VNNI and VBMI2, with AVX-VNNI, or with AVX2, [`open`] also
//! repacks the weights once into the host engine's column order (about the blob's size
//! again in memory), which skips the weights of zero inputs: about 1.65x faster than
//! decoding in the blob's own order on AVX-512 VNNI, byte for byte the same pixels
//! (docs/PERFORMANCE.md). Other CPUs decode with [`DecoderCore`] as it is.

use std::vec;
use std::vec::Vec;

use crate::{DecoderCore, Error, IMAGE_PIXELS, Model, Request, Shape, Tier};

/// Opens `blob`: every check of [`Decoder::from_bytes`](crate::Decoder::from_bytes), for
/// any latent size and layer width.
pub fn open(blob: &[u8]) -> Result<Engine<'_>, Error> {
    Ok(Engine::new(DecoderCore::from_bytes(blob)?))
}

/// A [`DecoderCore`] with heap scratch buffers and, on x86-64 CPUs with AVX-512 F, BW,
/// VNNI and VBMI2 (or AVX-VNNI, or AVX2), a copy of its weights repacked column by
/// column, which [`decode`](Self::decode) and [`decode_quantized`](Self::decode_quantized)
/// use to skip the weights of zero inputs, and a pixel lookup fitted to the blob's
/// thresholds (same bytes as the core's, checked when built).
pub struct Engine<'a> {
    core: DecoderCore<'a>,
    tier: Tier,
    #[cfg(target_arch = "x86_64")]
    layout: Option<crate::kernel::x86::Repacked>,
}

impl<'a> Engine<'a> {
    /// Repacks `core`'s weights where the CPU runs the host kernels (about the blob's
    /// size again in memory, about 2 ms for the default blob, the pixel lookup's
    /// exhaustive check included); elsewhere it only wraps `core`.
    ///
    /// Runs [`Tier::detect`]'s kernels (so `VAE_KERNEL=avx2` or `portable` turns the
    /// repacked layout off too).
    pub fn new(core: DecoderCore<'a>) -> Self {
        Self::with_tier(core, Tier::detect())
    }

    /// [`new`](Self::new) on the kernels of `tier` (a tier this CPU lacks runs the next
    /// slower one it has, as [`DecoderCore::decode_quantized_on`] does):
    /// [`Tier::Avx512Vnni`], [`Tier::AvxVnni`] and [`Tier::Avx2`] repack the weights
    /// (each into its own layout), the other tiers decode the blob in place.
    pub fn with_tier(core: DecoderCore<'a>, tier: Tier) -> Self {
        let tier = tier.at_most();
        Engine {
            #[cfg(target_arch = "x86_64")]
            layout: crate::kernel::x86::Repacked::new(core.model(), tier),
            core,
            tier,
        }
    }

    /// The tier decodes run on.
    pub fn tier(&self) -> Tier {
        self.tier
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

    /// The decoder underneath.
    pub fn core(&self) -> &DecoderCore<'a> {
        &self.core
    }

    /// The parsed blob.
    pub fn model(&self) -> &Model<'a> {
        self.core.model()
    }

    /// The blob's sizes.
    pub fn shape(&self) -> Shape {
        self.core.shape()
    }

    /// [`Decoder::prior_latent`](crate::Decoder::prior_latent).
    pub fn prior_latent(&self, request: &Request) -> Result<Vec<f32>, Error> {
        let mut z = vec![0f32; self.shape().latent];
        self.core.prior_latent(request, &mut z)?;
        Ok(z)
    }

    /// [`Decoder::generate`](crate::Decoder::generate).
    pub fn generate(&self, request: &Request, out: &mut [u8; IMAGE_PIXELS]) -> Result<(), Error> {
        self.core.class_bias(request.digit)?;
        let z = self.prior_latent(request)?;
        self.decode(&z, request.digit, out)
    }

    /// [`Decoder::quantize_latent`](crate::Decoder::quantize_latent).
    pub fn quantize_latent(&self, z: &[f32]) -> Result<Vec<i8>, Error> {
        let mut z_q = vec![0i8; z.len()];
        self.core.quantize_latent(z, &mut z_q)?;
        Ok(z_q)
    }

    /// [`Decoder::decode`](crate::Decoder::decode).
    pub fn decode(
        &self,
        z: &[f32],
        digit: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        // The digit's errors before the latent's, as `Decoder::decode` reports them.
        self.core.class_bias(digit)?;
        let z_q = self.quantize_latent(z)?;
        self.decode_quantized(&z_q, digit, out)
    }

    /// [`Decoder::decode_quantized`](crate::Decoder::decode_quantized), through the host
    /// layout when there is one.
    pub fn decode_quantized(
        &self,
        z_q: &[i8],
        digit: Option<u8>,
        out: &mut [u8; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        #[cfg(target_arch = "x86_64")]
        if let Some(layout) = &self.layout {
            let class_bias = self.core.class_bias(digit)?;
            if z_q.len() == self.shape().latent
                && layout.pixels(self.core.model(), z_q, class_bias, out)
            {
                return Ok(());
            }
        }
        let mut scratch = vec![0i8; self.core.scratch_len()];
        self.core
            .decode_quantized_on(self.tier, z_q, digit, &mut scratch, out)
    }

    /// [`DecoderCore::logits`] of `z` quantized.
    pub fn logits(
        &self,
        z: &[f32],
        digit: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        self.core.class_bias(digit)?;
        let z_q = self.quantize_latent(z)?;
        let mut scratch = vec![0i8; self.core.scratch_len()];
        self.core
            .logits_on(self.tier, &z_q, digit, &mut scratch, logits)
    }

    /// [`DecoderCore::reference_logits`].
    pub fn reference_logits(
        &self,
        z: &[f32],
        digit: Option<u8>,
        logits: &mut [f32; IMAGE_PIXELS],
    ) -> Result<(), Error> {
        let mut scratch = vec![0f32; self.core.scratch_len()];
        self.core.reference_logits(z, digit, &mut scratch, logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoder;

    /// The committed default blob through the engine of every tier this CPU runs
    /// (repacked where the tier has a layout) and through [`Decoder`]: the same pixels
    /// for 256 prior latents and every error case.
    #[test]
    fn engine_matches_decoder_on_the_default_blob() {
        let blob = include_bytes!("../../examples/models/decoder.bin");
        let decoder = Decoder::<20, 256>::from_bytes(blob).unwrap();
        let (mut want, mut got) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
        let mut lit = 0usize;
        for tier in Tier::available() {
            let engine = Engine::with_tier(DecoderCore::from_bytes(blob).unwrap(), tier);
            #[cfg(target_arch = "x86_64")]
            match &engine.layout {
                // The exporter's thresholds take the fast pixel lookup, so it is what this
                // test compares.
                Some(layout) => assert!(layout.has_pixel_lookup(), "{tier:?}"),
                None => std::eprintln!("{tier:?}: the engine wraps Decoder unchanged"),
            }
            for seed in 0..256 {
                let z = decoder.prior_latent(&Request::new(seed)).unwrap();
                decoder.decode(&z, None, &mut want).unwrap();
                engine.decode(&z, None, &mut got).unwrap();
                assert_eq!(got, want, "{tier:?}, seed {seed}");
                lit += want.iter().filter(|&&p| p > 0).count();
                let z_q = decoder.quantize_latent(&z).unwrap();
                engine.decode_quantized(&z_q, None, &mut got).unwrap();
                assert_eq!(got, want, "{tier:?}, decode_quantized, seed {seed}");
            }
        }
        let engine = open(blob).unwrap();
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

    /// Every tier's engine against the portable kernels on blobs of other shapes: the
    /// committed conditional (every digit), small and int4 blobs, and random models with
    /// odd latent sizes, odd and not-multiple-of-eight widths, a class bias, one layer.
    #[test]
    fn engines_match_portable_on_other_shapes() {
        use crate::testing::QuantizedMlp;
        let random = [
            QuantizedMlp::random(1, 3, &[24, 40], None).blob(),
            QuantizedMlp::random(2, 7, &[33], Some(10)).blob(),
            QuantizedMlp::random(3, 20, &[256, 256], Some(4)).blob(),
            QuantizedMlp::random(4, 5, &[], None).blob(),
            QuantizedMlp::random(5, 16, &[8, 300], None).blob(),
        ];
        let blobs: [&[u8]; 9] = [
            include_bytes!("../../examples/models/decoder-cond.bin"),
            include_bytes!("../../examples/models/decoder-z2.bin"),
            include_bytes!("../../examples/models/decoder-small.bin"),
            include_bytes!("../../examples/models/decoder-int4.bin"),
            &random[0],
            &random[1],
            &random[2],
            &random[3],
            &random[4],
        ];
        let (mut want, mut got) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
        for (k, blob) in blobs.into_iter().enumerate() {
            let core = DecoderCore::from_bytes(blob).unwrap();
            let mut scratch = vec![0i8; core.scratch_len()];
            let digits: Vec<Option<u8>> = match core.model().classes() {
                None => vec![None],
                Some(classes) => (0..classes).map(Some).collect(),
            };
            for tier in Tier::available() {
                let engine = Engine::with_tier(DecoderCore::from_bytes(blob).unwrap(), tier);
                let mut lit = 0usize;
                for seed in 0..32 {
                    let digit = digits[seed as usize % digits.len()];
                    let z = engine.prior_latent(&Request::new(seed)).unwrap();
                    let z_q = engine.quantize_latent(&z).unwrap();
                    core.decode_quantized_on(Tier::Portable, &z_q, digit, &mut scratch, &mut want)
                        .unwrap();
                    engine.decode_quantized(&z_q, digit, &mut got).unwrap();
                    assert_eq!(got, want, "blob {k}, {tier:?}, seed {seed}");
                    lit += want.iter().filter(|&&p| p > 0).count();
                }
                assert!(lit > 32, "blob {k}: {lit} lit pixels");
            }
        }
    }
}
