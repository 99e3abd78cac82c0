use super::*;
use vae_core::Decoder;

/// Burn's pixels are the float model's `round(255 sigmoid(logit))` of its own logits,
/// up to one unit where `f32` and `f64` round a value near a half differently; a batch
/// gives each input's digit in turn.
#[test]
fn burn_pixels_are_the_rounded_sigmoid_of_its_logits() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/models/decoder.bin"
    );
    let blob = std::fs::read(path).expect("the committed default blob");
    let decoder = Decoder::<20, 256>::from_bytes(&blob).expect("default blob");
    let burn = BurnMlp::new(
        &FloatMlp::dequantized(decoder.model()),
        &crate::backend::device(),
    );
    let z: Vec<f32> = (0..8)
        .flat_map(|s| decoder.prior_latent(&vae_core::Request::new(s)).unwrap())
        .collect();
    let (logits, pixels) = (burn.forward(&z), burn.pixels(&z));
    assert_eq!(pixels.len(), 8 * IMAGE_PIXELS);
    let mut differing = 0;
    for (&l, &p) in logits.iter().zip(&pixels) {
        assert!(float_pixel(l).abs_diff(p) <= 1, "logit {l}: pixel {p}");
        differing += usize::from(float_pixel(l) != p);
    }
    assert!(
        differing * 1000 < pixels.len(),
        "{differing} pixels off by one"
    );
    // Digits, not a constant: black background and lit strokes.
    assert!(pixels.iter().filter(|&&p| p == 0).count() > pixels.len() / 2);
    assert!(pixels.iter().filter(|&&p| p > 128).count() > 8 * 50);
    let single = burn.pixels(&z[20..40]);
    assert_eq!(single, pixels[IMAGE_PIXELS..2 * IMAGE_PIXELS]);
}
