//! Decoder tests: shapes, input errors, bit-exactness against an independent integer
//! implementation, and closeness to the float reference.

use std::vec::Vec;

use super::*;
use crate::format::ModelKind;
use crate::kernel;
use crate::testing::{FloatMlp, QuantizedMlp, le_f32s, le_i32s};
use crate::{IMAGE_PIXELS, Request, Rng, Shape};

const LATENT: usize = 4;
const HIDDEN: usize = 24;
type Dec<'a> = Decoder<'a, LATENT, HIDDEN>;

fn unconditional() -> QuantizedMlp {
    QuantizedMlp::random(21, LATENT, &[HIDDEN, 17], None)
}

fn conditional() -> QuantizedMlp {
    QuantizedMlp::random(22, LATENT, &[20, HIDDEN], Some(10))
}

/// Independent integer forward pass: indexing, i64 sums, i128 rounding, linear threshold
/// scan. Written from FORMAT.md, sharing no code with the decoder.
#[allow(clippy::needless_range_loop)]
/// Written in the other form of the arithmetic: inputs as *real codes* `u = x_q - zp`
/// (unsigned for hidden layers), the zero point's term unfolded from the bias, hidden
/// outputs `clamp(v, 0, 127 - zp_next)`.
fn naive_decode(model: &Model<'_>, z_q: &[i8], label: Option<u8>) -> Vec<u8> {
    let mut x: Vec<i64> = z_q.iter().map(|&v| i64::from(v)).collect();
    let n_layers = model.layers.len();
    let mut out = Vec::new();
    for (k, layer) in model.layers.iter().enumerate() {
        let (rows, cols) = (usize::from(layer.out_dim), usize::from(layer.in_dim));
        let bias = le_i32s(layer.bias);
        let mult = le_i32s(layer.multipliers);
        let mut y = Vec::new();
        for j in 0..rows {
            let zp = i64::from(layer.input_zero_point);
            let weight_sum: i64 = (0..cols)
                .map(|i| i64::from(layer.weights[j * cols + i] as i8))
                .sum();
            let mut acc = i64::from(bias[j]) + zp * weight_sum;
            if let (0, ModelKind::Conditional { class_bias, .. }) = (k, model.kind) {
                let c = usize::from(label.unwrap());
                acc += i64::from(le_i32s(class_bias)[c * rows + j]);
            }
            for i in 0..cols {
                acc += i64::from(layer.weights[j * cols + i] as i8) * x[i];
            }
            let p = i128::from(acc) * i128::from(mult[j]);
            let n = u32::from(layer.shifts[j]);
            let half_up = (2 * p.abs() + (1i128 << n)) >> (n + 1);
            let v = if p < 0 { -half_up } else { half_up };
            if k + 1 < n_layers {
                let zp_next = i128::from(model.layers[k + 1].input_zero_point);
                y.push(v.clamp(0, 127 - zp_next) as i64);
            } else {
                let v = v.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
                let t = le_i32s(model.pixel_thresholds);
                out.push(t.iter().filter(|&&tk| tk <= v).count() as u8);
            }
        }
        x = y;
    }
    out
}

/// `N` standard normal draws of `Rng::new(seed)`: the latent of a standard prior.
fn sample_latent<const N: usize>(seed: u64) -> [f32; N] {
    let mut z = [0f32; N];
    Rng::new(seed).fill_gaussian(&mut z);
    z
}

/// [`sample_latent`] scaled by `t`, with the request's temperature check.
fn sample_latent_t(seed: u64, t: f32) -> Result<[f32; LATENT], Error> {
    Request::new(seed).checked_temperature()?;
    Request::new(seed).temperature(t).checked_temperature()?;
    Ok(sample_latent::<LATENT>(seed).map(|v| v * t))
}

/// [`DecoderCore::logits`] with stack scratch.
fn logits_of(
    dec: &Dec<'_>,
    z_q: &[i8; LATENT],
    digit: Option<u8>,
    out: &mut [f32; IMAGE_PIXELS],
) -> Result<(), Error> {
    let mut scratch = [0i8; 2 * HIDDEN];
    dec.core().logits(z_q, digit, &mut scratch, out)
}

/// [`DecoderCore::reference_logits`] with stack scratch.
fn reference_of(
    dec: &Dec<'_>,
    z: &[f32; LATENT],
    digit: Option<u8>,
    out: &mut [f32; IMAGE_PIXELS],
) -> Result<(), Error> {
    let mut scratch = [0f32; 2 * HIDDEN];
    dec.core().reference_logits(z, digit, &mut scratch, out)
}

fn random_z_q(rng: &mut Rng) -> [i8; LATENT] {
    core::array::from_fn(|_| ((rng.next_u32() % 255) as i32 - 127) as i8)
}

#[test]
fn shapes_are_checked_against_const_generics() {
    let blob = unconditional().blob();
    assert!(Dec::from_bytes(&blob).is_ok());
    assert!(Decoder::<LATENT, 100>::from_bytes(&blob).is_ok());
    assert_eq!(
        Decoder::<3, HIDDEN>::from_bytes(&blob).err(),
        Some(Error::DimsMismatch {
            what: "latent dimension (LATENT)",
            expected: 3,
            found: LATENT
        })
    );
    assert_eq!(
        Decoder::<LATENT, 23>::from_bytes(&blob).err(),
        Some(Error::DimsMismatch {
            what: "widest hidden layer (HIDDEN)",
            expected: 23,
            found: HIDDEN
        })
    );
    // A single-layer model needs no hidden buffer at all.
    let single = QuantizedMlp::random(3, 2, &[], None).blob();
    let dec = Decoder::<2, 0>::from_bytes(&single).unwrap();
    let mut img = [0u8; IMAGE_PIXELS];
    dec.generate(&Request::new(5), &mut img).unwrap();
    let z_q = dec.quantize_latent(&sample_latent::<2>(5)).unwrap();
    assert_eq!(img.to_vec(), naive_decode(dec.model(), &z_q, None));
}

#[test]
fn blob_errors_surface_from_from_bytes() {
    let mut blob = unconditional().blob();
    blob[1] ^= 1;
    assert_eq!(Dec::from_bytes(&blob).err(), Some(Error::BadMagic));
    assert_eq!(Dec::from_bytes(&blob[..5]).err(), Some(Error::Truncated));
}

#[test]
fn from_model_validates() {
    let mut q = unconditional();
    q.layers[1].shifts[0] = 200;
    assert_eq!(
        Dec::from_model(q.model()).err(),
        Some(Error::InvalidScale { layer: 1 })
    );
}

#[test]
fn accessors() {
    let q = conditional();
    let blob = q.blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    let shape = dec.core().shape();
    assert_eq!(shape.classes, 10);
    assert_eq!(shape.layers, 3);
    assert_eq!((shape.latent, shape.hidden), (LATENT, HIDDEN));
    assert_eq!(shape, Shape::read(&blob).unwrap());
    assert_eq!(dec.model().classes(), Some(10));
    assert_eq!(dec.model().latent_scale(), 4.0 / 127.0);
    assert_eq!(dec.model().metadata.seed, Some(22));
    assert_eq!(dec.model(), &q.model());
    let u = unconditional().blob();
    let dec = Dec::from_bytes(&u).unwrap();
    assert_eq!(dec.model().classes(), None);
    assert_eq!(dec.core().shape().classes, 0);
}

#[test]
fn input_errors() {
    let u_blob = unconditional().blob();
    let c_blob = conditional().blob();
    let u = Dec::from_bytes(&u_blob).unwrap();
    let c = Dec::from_bytes(&c_blob).unwrap();
    let mut img = [0u8; IMAGE_PIXELS];
    let mut logits = [0f32; IMAGE_PIXELS];
    let z = [0.5f32; LATENT];

    for (index, bad) in [(3, f32::NAN), (0, f32::INFINITY), (2, f32::NEG_INFINITY)] {
        let mut z = z;
        z[index] = bad;
        let expected = Err(Error::NonFiniteLatent { index });
        assert_eq!(u.decode(&z, None, &mut img), expected);
        assert_eq!(u.quantize_latent(&z).map(|_| ()), expected);
        assert_eq!(c.decode(&z, Some(1), &mut img), expected);
        assert_eq!(reference_of(&u, &z, None, &mut logits), expected);
    }
    assert_eq!(
        u.generate(&Request::new(1).digit(3).temperature(1.0), &mut img),
        Err(Error::NotConditional)
    );
    assert_eq!(u.decode(&z, Some(3), &mut img), Err(Error::NotConditional));
    assert_eq!(
        u.decode_quantized(&[0; LATENT], Some(0), &mut img),
        Err(Error::NotConditional)
    );
    assert_eq!(
        c.generate(&Request::new(1), &mut img),
        Err(Error::MissingDigit)
    );
    assert_eq!(c.decode(&z, None, &mut img), Err(Error::MissingDigit));
    assert_eq!(
        logits_of(&c, &[0; LATENT], None, &mut logits),
        Err(Error::MissingDigit)
    );
    for digit in [10, 11, 255] {
        assert_eq!(
            c.generate(&Request::new(1).digit(digit).temperature(1.0), &mut img),
            Err(Error::InvalidDigit(digit))
        );
        assert_eq!(
            reference_of(&c, &z, Some(digit), &mut logits),
            Err(Error::InvalidDigit(digit))
        );
    }
    // Label errors come before latent errors.
    assert_eq!(
        c.decode(&[f32::NAN; LATENT], Some(10), &mut img),
        Err(Error::InvalidDigit(10))
    );
}

#[test]
fn integer_path_is_bit_exact_with_naive_implementation() {
    let mut rng = Rng::new(31);
    for (q, labels) in [
        (unconditional(), std::vec![None]),
        (conditional(), (0..10).map(Some).collect()),
    ] {
        let blob = q.blob();
        let dec = Dec::from_bytes(&blob).unwrap();
        let mut img = [0u8; IMAGE_PIXELS];
        for case in 0..40 {
            let z_q = random_z_q(&mut rng);
            let label = labels[case % labels.len()];
            dec.decode_quantized(&z_q, label, &mut img).unwrap();
            assert_eq!(
                img.to_vec(),
                naive_decode(dec.model(), &z_q, label),
                "case {case}"
            );
        }
    }
}

#[test]
fn images_use_the_pixel_range() {
    // A sanity check that the test models are not degenerate (all-0 or constant images),
    // which would make the exactness tests weak.
    let blob = unconditional().blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    let mut img = [0u8; IMAGE_PIXELS];
    dec.generate(&Request::new(1), &mut img).unwrap();
    let distinct = (0..=255u8).filter(|v| img.contains(v)).count();
    assert!(distinct > 100, "only {distinct} distinct pixel values");
}

#[test]
fn generate_is_deterministic_and_equals_decode_of_sampled_latent() {
    let u_blob = unconditional().blob();
    let c_blob = conditional().blob();
    let u = Dec::from_bytes(&u_blob).unwrap();
    let c = Dec::from_bytes(&c_blob).unwrap();
    let (mut a, mut b) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    u.generate(&Request::new(7), &mut a).unwrap();
    u.decode(&sample_latent(7), None, &mut b).unwrap();
    assert_eq!(a, b);
    u.generate(&Request::new(8), &mut b).unwrap();
    assert_ne!(a, b);
    c.generate(&Request::new(7).digit(3).temperature(1.0), &mut a)
        .unwrap();
    c.decode(&sample_latent(7), Some(3), &mut b).unwrap();
    assert_eq!(a, b);
    c.generate(&Request::new(7).digit(4).temperature(1.0), &mut b)
        .unwrap();
    assert_ne!(a, b, "the class must change the image");
    // decode == decode_q(quantize_latent)
    let z = sample_latent(9);
    c.decode(&z, Some(5), &mut a).unwrap();
    c.decode_quantized(&c.quantize_latent(&z).unwrap(), Some(5), &mut b)
        .unwrap();
    assert_eq!(a, b);
}

fn sigmoid_pixel_f64(logit: f64) -> f64 {
    255.0 / (1.0 + (-logit).exp())
}

#[test]
fn temperature_scales_the_latent() {
    let u_blob = unconditional().blob();
    let c_blob = conditional().blob();
    let u = Dec::from_bytes(&u_blob).unwrap();
    let c = Dec::from_bytes(&c_blob).unwrap();
    let z = sample_latent(5);
    let half = sample_latent_t(5, 0.5).unwrap();
    for (a, b) in z.iter().zip(&half) {
        assert_eq!(*b, a * 0.5);
    }
    assert_eq!(sample_latent_t(5, 1.0), Ok(z));
    assert_eq!(sample_latent_t(5, 0.0), Ok([0.0; LATENT]));
    for bad in [f32::NAN, f32::INFINITY, -0.5] {
        assert_eq!(sample_latent_t(5, bad), Err(Error::InvalidTemperature));
    }
    let (mut a, mut b) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    u.generate(&Request::new(5), &mut a).unwrap();
    u.generate(&Request::new(5).temperature(1.0), &mut b)
        .unwrap();
    assert_eq!(a, b);
    u.generate(&Request::new(5).temperature(0.5), &mut a)
        .unwrap();
    u.decode(&half, None, &mut b).unwrap();
    assert_eq!(a, b);
    c.generate(&Request::new(5).digit(2).temperature(0.5), &mut a)
        .unwrap();
    c.decode(&half, Some(2), &mut b).unwrap();
    assert_eq!(a, b);
    // Label errors come before the temperature's.
    assert_eq!(
        c.generate(&Request::new(5).digit(10).temperature(f32::NAN), &mut a),
        Err(Error::InvalidDigit(10))
    );
    assert_eq!(
        u.generate(&Request::new(5).digit(1).temperature(0.5), &mut a),
        Err(Error::NotConditional)
    );
    assert_eq!(
        u.generate(&Request::new(5).temperature(-1.0), &mut a),
        Err(Error::InvalidTemperature)
    );
    assert_eq!(
        c.generate(&Request::new(5).temperature(f32::NAN), &mut a),
        Err(Error::MissingDigit)
    );
    // The latent does not depend on the digit: the same for every digit, and for none.
    let plain = c.prior_latent(&Request::new(5).temperature(1.0)).unwrap();
    for digit in [0, 9, 200] {
        let request = Request::new(5).digit(digit).temperature(1.0);
        assert_eq!(c.prior_latent(&request), Ok(plain));
    }
    // Only the default temperature does: 0.5 for a digit request.
    assert_eq!(
        c.prior_latent(&Request::new(5).digit(3)),
        c.prior_latent(&Request::new(5).temperature(0.5))
    );
}

#[test]
fn integer_path_is_close_to_float_reference() {
    // Quantizing activations costs little: mean |pixel difference| well under 1% of 255.
    for (q, labels) in [
        (unconditional(), std::vec![None]),
        (conditional(), (0..10).map(Some).collect()),
    ] {
        let blob = q.blob();
        let dec = Dec::from_bytes(&blob).unwrap();
        let (mut img, mut ref_logits, mut q_logits) = (
            [0u8; IMAGE_PIXELS],
            [0f32; IMAGE_PIXELS],
            [0f32; IMAGE_PIXELS],
        );
        let (mut pixel_err, mut logit_err, mut count) = (0f64, 0f64, 0usize);
        for seed in 0..50u64 {
            let z = sample_latent(seed);
            let label = labels[seed as usize % labels.len()];
            reference_of(&dec, &z, label, &mut ref_logits).unwrap();
            let z_q = dec.quantize_latent(&z).unwrap();
            dec.decode_quantized(&z_q, label, &mut img).unwrap();
            logits_of(&dec, &z_q, label, &mut q_logits).unwrap();
            for j in 0..IMAGE_PIXELS {
                let r = f64::from(ref_logits[j]);
                pixel_err += (f64::from(img[j]) - sigmoid_pixel_f64(r)).abs();
                logit_err += (f64::from(q_logits[j]) - r).abs();
                count += 1;
                // The pixel is the rounded sigmoid of the requantized logit: within one
                // level (plus the logit rounding, 2^-12) of the dequantized logit's.
                let from_q = sigmoid_pixel_f64(f64::from(q_logits[j]));
                assert!(
                    (f64::from(img[j]) - from_q).abs() <= 0.51,
                    "{} vs {from_q}",
                    img[j]
                );
            }
        }
        let (pixel_err, logit_err) = (pixel_err / count as f64, logit_err / count as f64);
        assert!(pixel_err < 2.0, "mean abs pixel error {pixel_err}");
        assert!(logit_err < 0.05, "mean abs logit error {logit_err}");
    }
}

#[test]
fn float_reference_matches_dequantized_float_model() {
    // The documented contract of reference_logits: the float MLP with dequantized
    // weights and biases (here evaluated in f64), to 1e-4.
    for q in [unconditional(), conditional()] {
        let blob = q.blob();
        let dec = Dec::from_bytes(&blob).unwrap();
        let mlp = FloatMlp::dequantized(dec.model());
        let mut logits = [0f32; IMAGE_PIXELS];
        for seed in 0..20u64 {
            let z = sample_latent(seed);
            let label = dec.model().classes().map(|c| (seed % u64::from(c)) as u8);
            reference_of(&dec, &z, label, &mut logits).unwrap();
            let expected = mlp.forward(&z, label);
            for (a, e) in logits.iter().zip(&expected) {
                assert!((f64::from(*a) - e).abs() < 1e-4, "{a} vs {e}");
            }
        }
    }
}

#[test]
fn logits_are_dequantized_accumulators() {
    // logits = acc * (s_in * s_w[j]) in f32; dividing recovers the integer acc
    // exactly here (|acc| < 2^22), and requantizing it reproduces decode_q's pixel.
    let q = conditional();
    let blob = q.blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    let last = dec.model().layers[2];
    let s_w = le_f32s(last.weight_scales);
    let mult = le_i32s(last.multipliers);
    let mut rng = Rng::new(4);
    let (mut logits, mut img) = ([0f32; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    for case in 0..20 {
        let z_q = random_z_q(&mut rng);
        let label = Some(case % 10);
        logits_of(&dec, &z_q, label, &mut logits).unwrap();
        dec.decode_quantized(&z_q, label, &mut img).unwrap();
        for (j, l) in logits.iter().enumerate() {
            let acc = f64::from(*l) / f64::from(last.input_scale * s_w[j]);
            assert!(acc.abs() < 4e6);
            assert!((acc - acc.round()).abs() < 0.25, "{acc} not integral");
            let value = kernel::requantize(acc.round() as i32, mult[j], last.shifts[j]);
            assert_eq!(
                kernel::sigmoid_pixel(dec.model().pixel_thresholds, value),
                img[j]
            );
        }
    }
}

#[test]
fn decoder_is_shareable() {
    fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Decoder<'static, 16, 256>>();
}

/// `unconditional()` with a mixture prior: component 0 (weight 0.25) centred at +10,
/// component 1 (weight 0.75) at -10, with per-dimension standard deviations.
fn with_mixture() -> QuantizedMlp {
    let mut q = unconditional();
    let means = [[10.0f32; LATENT], [-10.0; LATENT]].concat();
    let stds = [[0.5f32, 0.25, 1.0, 2.0], [0.125, 0.75, 1.5, 0.0625]].concat();
    q.prior = Some(crate::quantize::OwnedMixture::new(LATENT, &[1.0, 3.0], &means, &stds).unwrap());
    q
}

#[test]
fn standard_prior_latent_is_sample_latent() {
    let q = unconditional();
    let blob = q.blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    for seed in 0..50 {
        assert_eq!(
            dec.prior_latent(&Request::new(seed)).unwrap(),
            sample_latent(seed)
        );
        assert_eq!(
            dec.prior_latent(&Request::new(seed).temperature(0.5)),
            sample_latent_t(seed, 0.5)
        );
    }
}

#[test]
fn mixture_prior_latent_follows_the_documented_draw() {
    let q = with_mixture();
    let blob = q.blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    let stds = [[0.5f32, 0.25, 1.0, 2.0], [0.125, 0.75, 1.5, 0.0625]];
    let mut first = 0;
    let seeds = 4000;
    for seed in 0..seeds {
        // The documented recipe, written out: one u32 picks the component, then LATENT
        // Gaussians from the same generator.
        let mut rng = Rng::new(seed);
        let k = usize::from(rng.next_u32() >= 1 << 30);
        let mut g = [0f32; LATENT];
        rng.fill_gaussian(&mut g);
        let centre = if k == 0 { 10.0 } else { -10.0 };
        let expected: [f32; LATENT] = core::array::from_fn(|i| centre + stds[k][i] * g[i]);
        let z = dec.prior_latent(&Request::new(seed)).unwrap();
        assert_eq!(
            z.map(f32::to_bits),
            expected.map(f32::to_bits),
            "seed {seed}"
        );
        first += usize::from(k == 0);
        // Temperature 1 is the same draw, temperature 0 the component's mean.
        assert_eq!(
            dec.prior_latent(&Request::new(seed).temperature(1.0)),
            Ok(z)
        );
        assert_eq!(
            dec.prior_latent(&Request::new(seed).temperature(0.0)),
            Ok([centre; LATENT])
        );
        let scaled = dec
            .prior_latent(&Request::new(seed).temperature(0.5))
            .unwrap();
        for i in 0..LATENT {
            assert_eq!(scaled[i], centre + (0.5 * stds[k][i]) * g[i]);
        }
    }
    // Weight 0.25 for the first component: 1000 of 4000 expected, sd about 27.
    assert!(
        (880..1120).contains(&first),
        "{first} of {seeds} draws from component 0"
    );
    assert_eq!(
        dec.prior_latent(&Request::new(1).temperature(f32::NAN)),
        Err(Error::InvalidTemperature)
    );
}

#[test]
fn generate_decodes_the_prior_latent() {
    let q = with_mixture();
    let blob = q.blob();
    let dec = Dec::from_bytes(&blob).unwrap();
    let (mut a, mut b) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    let mut differs_from_standard = false;
    for seed in 0..20 {
        dec.generate(&Request::new(seed), &mut a).unwrap();
        dec.decode(
            &dec.prior_latent(&Request::new(seed)).unwrap(),
            None,
            &mut b,
        )
        .unwrap();
        assert_eq!(a, b);
        dec.generate(&Request::new(seed).temperature(0.7), &mut a)
            .unwrap();
        dec.decode(
            &dec.prior_latent(&Request::new(seed).temperature(0.7))
                .unwrap(),
            None,
            &mut b,
        )
        .unwrap();
        assert_eq!(a, b);
        dec.generate(&Request::new(seed), &mut a).unwrap();
        dec.decode(&sample_latent(seed), None, &mut b).unwrap();
        differs_from_standard |= a != b;
    }
    assert!(differs_from_standard, "the mixture prior is not used");
}

mod accel;
