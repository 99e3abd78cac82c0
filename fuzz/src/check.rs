//! The checks of fuzz target `decode`, shared with `vae-core/tests/corruption.rs` (which
//! includes this file with `#[path]` and replays every corpus and regression file).
//!
//! Input layout: `blob || tail`. If the input starts with a header whose length
//! (`format::blob_len`) fits inside it, the blob is that prefix and the rest is the tail;
//! otherwise the whole input is the blob and the tail is empty. The tail is cut into up to
//! [`MAX_RECORDS`] records `digit: u8, seed: u64 LE, pattern: u8, z: LATENT x f32 LE`
//! (zero-padded), so the fuzzer controls latents (NaN and infinity included), seeds and
//! digits. Any panic is a bug: the decoder promises none on any blob or input, and the
//! asserts below check that its errors are the documented ones.

use vae_core::format::{self, Prior};
use vae_core::host::HostDecoder;
use vae_core::{Decoder, Error, IMAGE_PIXELS};

/// Most tail records decoded per (LATENT, HIDDEN) pair.
pub const MAX_RECORDS: usize = 3;

/// Runs every check on one fuzz input.
pub fn check_input(data: &[u8]) {
    let (blob, tail) = match format::blob_len(data) {
        Ok(n) if n <= data.len() => data.split_at(n),
        _ => (data, &[][..]),
    };
    // The whole input too: a blob followed by bytes must be rejected, not read.
    let whole = format::parse(data);
    if !tail.is_empty() {
        assert!(whole.is_err(), "parse accepted trailing bytes");
    }
    let parsed = format::parse(blob);
    check_shapes::<4, 32>(blob, tail, &parsed);
    check_shapes::<20, 256>(blob, tail, &parsed);
    check_shapes::<2, 16>(blob, tail, &parsed);
}

/// A latent from 4-byte chunks of `bytes` (zero-padded), with special values forced in by
/// `pattern`: bit 0 NaN, bit 1 +inf, bit 2 -inf, bit 3 `f32::MAX`, bit 4 the smallest
/// subnormal, at index `pattern >> 5` (mod `L`).
fn latent<const L: usize>(bytes: &[u8], pattern: u8) -> [f32; L] {
    let mut z = [0f32; L];
    for (v, c) in z.iter_mut().zip(bytes.chunks(4)) {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        *v = f32::from_le_bytes(b);
    }
    if L > 0 {
        let at = usize::from(pattern >> 5) % L;
        for (bit, value) in [
            (0, f32::NAN),
            (1, f32::INFINITY),
            (2, f32::NEG_INFINITY),
            (3, f32::MAX),
            (4, f32::from_bits(1)),
        ] {
            if pattern & (1 << bit) != 0 {
                z[(at + bit) % L] = value;
            }
        }
    }
    z
}

/// The error a decode of `z` must return (after the label checks), if any.
fn latent_error(z: &[f32]) -> Option<Error> {
    z.iter()
        .position(|v| !v.is_finite())
        .map(|index| Error::NonFiniteLatent { index })
}

/// The error a label must give for a model with `classes`, if any.
fn label_error(classes: Option<u8>, label: Option<u8>) -> Option<Error> {
    match (classes, label) {
        (None, None) => None,
        (None, Some(_)) => Some(Error::NotConditional),
        (Some(_), None) => Some(Error::MissingDigit),
        (Some(c), Some(d)) if d >= c => Some(Error::InvalidDigit(d)),
        (Some(_), Some(_)) => None,
    }
}

fn expect(result: Result<(), Error>, expected: Option<Error>, what: &str) {
    match expected {
        None => assert_eq!(result, Ok(()), "{what}"),
        Some(e) => assert_eq!(result, Err(e), "{what}"),
    }
}

fn check_shapes<const L: usize, const H: usize>(
    blob: &[u8],
    tail: &[u8],
    parsed: &Result<format::Model<'_>, Error>,
) {
    let decoder = match (Decoder::<L, H>::from_bytes(blob), parsed) {
        (Ok(d), Ok(m)) => {
            // (Not `Model` equality: a NaN `metadata.test_loss` is valid and != itself.)
            let (a, b) = (d.model(), m);
            assert!(
                a.latent_dim == b.latent_dim && a.layers == b.layers && a.kind == b.kind,
                "from_bytes and parse disagree"
            );
            d
        }
        (Err(e), Err(p)) => {
            assert_eq!(e, *p, "from_bytes and parse report different errors");
            return;
        }
        (Err(e), Ok(_)) => {
            assert!(
                matches!(e, Error::DimsMismatch { .. }),
                "parse accepted a blob that from_bytes rejects with {e:?}"
            );
            return;
        }
        (Ok(_), Err(e)) => panic!("from_bytes accepted a blob that parse rejects: {e:?}"),
    };
    let classes = decoder.classes();
    // The host tools' engine (`host::open`: on AVX-512 VBMI2 + VNNI CPUs the weights are
    // repacked and decoded by its own unsafe kernels) must agree with `Decoder` exactly.
    let engine = vae_core::host::Engine::new(decoder.clone());
    let record_len = 1 + 8 + 1 + 4 * L;
    let mut records: Vec<&[u8]> = tail.chunks(record_len).take(MAX_RECORDS).collect();
    if records.is_empty() {
        records.push(&[]);
    }
    for record in records {
        let byte = |i: usize| record.get(i).copied().unwrap_or(0);
        let digit = byte(0);
        let mut seed_bytes = [0u8; 8];
        for (i, b) in seed_bytes.iter_mut().enumerate() {
            *b = byte(1 + i);
        }
        let seed = u64::from_le_bytes(seed_bytes);
        let pattern = byte(9);
        let z: [f32; L] = latent(record.get(10..).unwrap_or(&[]), pattern);
        let z_q: [i8; L] = core::array::from_fn(|i| byte(10 + i) as i8);
        let label = classes.map(|_| digit);
        let mut out = [0u8; IMAGE_PIXELS];
        let mut again = [0u8; IMAGE_PIXELS];

        // decode / decode_digit: label errors first, then the latent's.
        let expected = label_error(classes, None).or(latent_error(&z));
        expect(decoder.decode(&z, &mut out), expected, "decode");
        let expected = label_error(classes, Some(digit)).or(latent_error(&z));
        expect(
            decoder.decode_digit(digit, &z, &mut out),
            expected,
            "decode_digit",
        );
        if expected.is_none() {
            // Same input, same image.
            expect(
                decoder.decode_digit(digit, &z, &mut again),
                None,
                "decode_digit again",
            );
            assert_eq!(out, again, "decode_digit is not deterministic");
        }

        // quantize_latent, then decode_q with the quantized and with raw (even -128) values.
        let q = decoder.quantize_latent(&z);
        match latent_error(&z) {
            Some(e) => assert_eq!(q, Err(e), "quantize_latent"),
            None => {
                let q = q.unwrap_or_else(|e| panic!("quantize_latent failed: {e:?}"));
                assert!(q.iter().all(|&v| v != i8::MIN), "quantize_latent gave -128");
                let label_err = label_error(classes, label);
                expect(
                    decoder.decode_q(&q, label, &mut again),
                    label_err,
                    "decode_q",
                );
                if label_err.is_none() {
                    assert_eq!(out, again, "decode_q of the quantized latent differs");
                }
            }
        }
        expect(
            decoder.decode_q(&z_q, label, &mut out),
            label_error(classes, label),
            "decode_q raw",
        );
        let mut host = [0u8; IMAGE_PIXELS];
        expect(
            engine.decode_q(&z_q, label, &mut host),
            label_error(classes, label),
            "host engine decode_q",
        );
        if label_error(classes, label).is_none() {
            assert_eq!(
                host, out,
                "host engine decode_q pixels differ from Decoder's"
            );
        }
        let want = match label {
            Some(d) => decoder.decode_digit(d, &z, &mut out),
            None => decoder.decode(&z, &mut out),
        };
        assert_eq!(
            engine.decode(&z, label, &mut host),
            want,
            "host engine decode"
        );
        if want.is_ok() {
            assert_eq!(host, out, "host engine decode pixels differ from Decoder's");
        }

        // generate / generate_digit are decode of prior_latent(seed): sample_latent(seed)
        // for the N(0, I) prior; a mixture's latent may overflow (huge means or spreads),
        // which decode then reports as NonFiniteLatent.
        let sampled = decoder.prior_latent(seed);
        let standard = decoder.model().prior == Prior::Standard;
        if standard {
            let plain = Decoder::<L, H>::sample_latent(seed);
            assert!(
                plain.iter().all(|v| v.is_finite()),
                "sample_latent not finite"
            );
            assert!(
                sampled
                    .iter()
                    .zip(&plain)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "prior_latent of a standard prior is not sample_latent"
            );
        }
        let generated_err =
            |label: Option<u8>| label_error(classes, label).or_else(|| latent_error(&sampled));
        expect(
            decoder.generate(seed, &mut out),
            generated_err(None),
            "generate",
        );
        let expected = generated_err(Some(digit));
        expect(
            decoder.generate_digit(digit, seed, &mut out),
            expected,
            "generate_digit",
        );
        if expected.is_none() {
            expect(
                decoder.decode_digit(digit, &sampled, &mut again),
                None,
                "decode_digit of prior_latent",
            );
            assert_eq!(
                out, again,
                "generate_digit is not decode_digit(prior_latent)"
            );
        }

        // Temperatures (from the latent's first value: NaN, infinities, negatives, huge):
        // label errors, then InvalidTemperature, then the scaled latent's own errors.
        let t = z.first().copied().unwrap_or(1.0);
        let scaled = decoder.prior_latent_with_temperature(seed, t);
        let valid_t = t.is_finite() && t >= 0.0;
        assert_eq!(
            Decoder::<L, H>::sample_latent_with_temperature(seed, t).is_ok(),
            valid_t,
            "sample_latent_with_temperature's temperature check"
        );
        match &scaled {
            Ok(zs) => {
                assert!(valid_t, "temperature {t} accepted");
                // N(0, I): the latent times t; any prior: t = 1 is prior_latent itself.
                let same_as = |f: &dyn Fn(f32) -> f32| {
                    zs.iter()
                        .zip(&sampled)
                        .all(|(a, &b)| a.to_bits() == f(b).to_bits())
                };
                if standard {
                    assert!(
                        same_as(&|b| b * t),
                        "prior_latent_with_temperature is not * t"
                    );
                }
                if t == 1.0 {
                    assert!(same_as(&|b| b), "temperature 1 is not prior_latent");
                }
            }
            Err(e) => {
                assert!(!valid_t, "temperature {t} rejected");
                assert_eq!(*e, Error::InvalidTemperature);
            }
        }
        let scaled_err = |label: Option<u8>| {
            label_error(classes, label)
                .or(scaled.as_ref().err().copied())
                .or_else(|| scaled.as_ref().ok().and_then(|zs| latent_error(zs)))
        };
        let expected = scaled_err(None);
        expect(
            decoder.generate_with_temperature(seed, t, &mut out),
            expected,
            "generate_with_temperature",
        );
        if let (None, Ok(zs)) = (expected, &scaled) {
            expect(
                decoder.decode(zs, &mut again),
                None,
                "decode of the scaled latent",
            );
            assert_eq!(
                out, again,
                "generate_with_temperature is not decode(scaled)"
            );
        }
        let expected = scaled_err(Some(digit));
        expect(
            decoder.generate_digit_with_temperature(digit, seed, t, &mut out),
            expected,
            "generate_digit_with_temperature",
        );
        if let (None, Ok(zs)) = (expected, &scaled) {
            expect(
                decoder.decode_digit(digit, zs, &mut again),
                None,
                "decode_digit of the scaled latent",
            );
            assert_eq!(
                out, again,
                "generate_digit_with_temperature is not decode_digit(scaled)"
            );
        }

        // Float paths: no panic, same error rules.
        let mut logits = [0f32; IMAGE_PIXELS];
        expect(
            decoder.decode_logits_q(&z_q, label, &mut logits),
            label_error(classes, label),
            "decode_logits_q",
        );
        expect(
            decoder.decode_reference_f32(&z, label, &mut logits),
            label_error(classes, label).or(latent_error(&z)),
            "decode_reference_f32",
        );
    }
}
