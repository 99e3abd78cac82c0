//! The committed default blob decodes to the committed golden bytes: any change to the
//! integer arithmetic, the PRNG or the Gaussian transform shows up here (and CI compares
//! the same lines with what the Cortex-M firmware prints under QEMU).

use std::fs;

use vae_core::format::{WeightWidth, crc32};
use vae_core::{Decoder, DecoderCore, IMAGE_PIXELS, Request, Tier};
use vae_tests::models_dir;

/// Shapes of the default blob (latent 20, widest hidden layer 256).
type DefaultDecoder<'a> = Decoder<'a, 20, 256>;

#[test]
fn default_blob_reproduces_golden_bytes() {
    let blob = fs::read(models_dir().join("decoder.bin")).unwrap();
    let golden = fs::read(models_dir().join("golden.u8")).unwrap();
    let lines = fs::read_to_string(models_dir().join("golden.txt")).unwrap();
    let decoder = DefaultDecoder::from_bytes(&blob).unwrap();
    assert_eq!(golden.len() % IMAGE_PIXELS, 0);
    let count = golden.len() / IMAGE_PIXELS;
    assert_eq!(count, lines.lines().count());
    for (seed, (expected, line)) in golden
        .chunks_exact(IMAGE_PIXELS)
        .zip(lines.lines())
        .enumerate()
    {
        let mut image = [0u8; IMAGE_PIXELS];
        decoder
            .generate(&Request::new(seed as u64), &mut image)
            .unwrap();
        assert_eq!(
            &image[..],
            expected,
            "seed {seed}: pixels differ from golden.u8"
        );
        assert_eq!(
            format!("seed {seed}: crc32 {:08x}", crc32(&image)),
            line,
            "golden.txt line"
        );
    }
}

#[test]
fn default_blob_makes_varied_digits() {
    // Guards against a golden file of blank or identical images being "reproduced".
    let golden = fs::read(models_dir().join("golden.u8")).unwrap();
    let images: Vec<&[u8]> = golden.chunks_exact(IMAGE_PIXELS).collect();
    for (i, img) in images.iter().enumerate() {
        let lit = img.iter().filter(|&&p| p > 128).count();
        assert!(
            (10..500).contains(&lit),
            "image {i} has {lit} bright pixels"
        );
    }
    for (i, a) in images.iter().enumerate() {
        for b in &images[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn default_blob_rejects_wrong_shapes() {
    let blob = fs::read(models_dir().join("decoder.bin")).unwrap();
    assert!(matches!(
        Decoder::<2, 256>::from_bytes(&blob),
        Err(vae_core::Error::DimsMismatch { .. })
    ));
    assert!(matches!(
        Decoder::<20, 128>::from_bytes(&blob),
        Err(vae_core::Error::DimsMismatch { .. })
    ));
}

/// The committed int4 blob (format 3.0, the default model with layers int8-int4-int4)
/// decodes to `golden-int4.txt` through `Decoder`, the host engine and every kernel tier
/// this CPU runs (int4 layers take the portable int4 kernel on every tier).
#[test]
fn int4_blob_reproduces_golden_crcs() {
    let blob = fs::read(models_dir().join("decoder-int4.bin")).unwrap();
    let lines = fs::read_to_string(models_dir().join("golden-int4.txt")).unwrap();
    assert_eq!(
        &blob[4..8],
        &[3, 0, 1, 0],
        "format 3.1 (int4 weights, f16 prior)"
    );
    let decoder = DefaultDecoder::from_bytes(&blob).unwrap();
    let widths: Vec<WeightWidth> = decoder
        .model()
        .layers
        .iter()
        .map(|l| l.weight_width)
        .collect();
    assert_eq!(
        widths,
        [WeightWidth::Int8, WeightWidth::Int4, WeightWidth::Int4]
    );
    let golden: Vec<&str> = lines.lines().collect();
    assert_eq!(golden.len(), 8);
    let core = DecoderCore::from_bytes(&blob).unwrap();
    let mut scratch = vec![0i8; core.scratch_len()];
    for (seed, line) in golden.iter().enumerate() {
        let request = Request::new(seed as u64);
        let mut image = [0u8; IMAGE_PIXELS];
        decoder.generate(&request, &mut image).unwrap();
        assert_eq!(&format!("seed {seed}: crc32 {:08x}", crc32(&image)), line);
        let lit = image.iter().filter(|&&p| p > 128).count();
        assert!((10..500).contains(&lit), "seed {seed}: {lit} bright pixels");
        let z = decoder.prior_latent(&request).unwrap();
        let z_q = decoder.quantize_latent(&z).unwrap();
        for tier in Tier::available() {
            let mut other = [0u8; IMAGE_PIXELS];
            core.decode_quantized_on(tier, &z_q, None, &mut scratch, &mut other)
                .unwrap();
            assert_eq!(other, image, "seed {seed}, tier {tier}");
            let engine = vae_core::host::Engine::with_tier(core.clone(), tier);
            engine.generate(&request, &mut other).unwrap();
            assert_eq!(other, image, "seed {seed}, engine on {tier}");
        }
    }
}
