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
use vae_core::repacked::RepackedDecoder;
use vae_core::{Decoder, Error, IMAGE_PIXELS, Request, Shape};

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
    // The compile-time shape reader: it reads less than `parse` (no CRC, no values), so
    // it accepts every blob `parse` accepts, with the same shapes.
    match (&parsed, Shape::read(blob)) {
        (Ok(m), Ok(shape)) => {
            assert_eq!(
                shape.latent,
                usize::from(m.latent_dim),
                "Shape::read latent"
            );
            assert_eq!(shape.layers, m.layers.len(), "Shape::read layers");
        }
        (Ok(_), Err(e)) => panic!("Shape::read rejects a blob parse accepts: {e:?}"),
        (Err(_), _) => {}
    }
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
    let classes = decoder.model().classes();
    // The host tools' engine on every tier this CPU runs (the AVX-512 VNNI + VBMI2,
    // AVX-VNNI and AVX2 tiers repack the weights and decode with their own unsafe
    // kernels) must agree with `Decoder` exactly.
    let engines: Vec<vae_core::host::Engine<'_>> = vae_core::Tier::available()
        .map(|tier| vae_core::host::Engine::with_tier(decoder.core().clone(), tier))
        .collect();
    for engine in &engines {
        assert_eq!(Shape::read(blob).ok(), Some(engine.shape()), "Shape::read");
    }
    // The repacked decoder (columns paired per decode, lit rows), with the pixel table and without.
    let core = decoder.core();
    let mut weights = vec![0i16; RepackedDecoder::weights_len(core)];
    let mut params = vec![0i32; RepackedDecoder::params_len(core)];
    let mut table = vec![0u8; RepackedDecoder::pixel_table_len(core)];
    let mut repacked_scratch = vec![0i8; core.scratch_len()];
    let repacked = match RepackedDecoder::new(core.clone(), &mut weights, &mut params) {
        Ok(r) => Some(r.with_pixel_table(&mut table)),
        Err(e) => {
            assert!(
                matches!(e, Error::DimsMismatch { .. }),
                "RepackedDecoder::new: {e:?}"
            );
            None
        }
    };
    let mut weights_plain = vec![0i16; RepackedDecoder::weights_len(core)];
    let mut params_plain = vec![0i32; RepackedDecoder::params_len(core)];
    let repacked_plain =
        RepackedDecoder::new(core.clone(), &mut weights_plain, &mut params_plain).ok();
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

        // decode: digit errors first, then the latent's.
        for digit in [None, Some(digit)] {
            let expected = label_error(classes, digit).or(latent_error(&z));
            expect(decoder.decode(&z, digit, &mut out), expected, "decode");
            if expected.is_none() {
                // Same input, same image.
                expect(decoder.decode(&z, digit, &mut again), None, "decode again");
                assert_eq!(out, again, "decode is not deterministic");
            }
        }

        // quantize_latent, then decode_quantized with the quantized and with raw (even
        // -128) values.
        let q = decoder.quantize_latent(&z);
        let want = decoder.decode(&z, label, &mut out);
        match latent_error(&z) {
            Some(e) => assert_eq!(q, Err(e), "quantize_latent"),
            None => {
                let q = q.unwrap_or_else(|e| panic!("quantize_latent failed: {e:?}"));
                assert!(q.iter().all(|&v| v != i8::MIN), "quantize_latent gave -128");
                let label_err = label_error(classes, label);
                expect(
                    decoder.decode_quantized(&q, label, &mut again),
                    label_err,
                    "decode_quantized",
                );
                if label_err.is_none() {
                    assert_eq!(
                        out, again,
                        "decode_quantized of the quantized latent differs"
                    );
                }
            }
        }
        let mut host = [0u8; IMAGE_PIXELS];
        for engine in &engines {
            let tier = engine.tier();
            assert_eq!(
                engine.decode(&z, label, &mut host),
                want,
                "host engine decode ({tier:?})"
            );
            if want.is_ok() {
                assert_eq!(
                    host, out,
                    "host engine ({tier:?}) pixels differ from Decoder's"
                );
            }
        }
        expect(
            decoder.decode_quantized(&z_q, label, &mut out),
            label_error(classes, label),
            "decode_quantized raw",
        );
        for r in repacked.iter().chain(&repacked_plain) {
            let table = if r.has_pixel_table() {
                "with"
            } else {
                "without"
            };
            expect(
                r.decode_quantized(&z_q, label, &mut repacked_scratch, &mut host),
                label_error(classes, label),
                "repacked decode_quantized",
            );
            if label_error(classes, label).is_none() {
                assert_eq!(
                    host, out,
                    "repacked ({table} pixel table) pixels differ from Decoder's"
                );
            }
        }
        for engine in &engines {
            let tier = engine.tier();
            expect(
                engine.decode_quantized(&z_q, label, &mut host),
                label_error(classes, label),
                "host engine decode_quantized",
            );
            if label_error(classes, label).is_none() {
                assert_eq!(
                    host, out,
                    "host engine ({tier:?}) decode_quantized pixels differ from Decoder's"
                );
            }
        }

        // generate is decode of prior_latent: at temperature 1 with a standard prior the
        // Gaussians of Rng::new(seed); a mixture's latent may overflow (huge means or
        // spreads), which decode then reports as NonFiniteLatent. Temperatures come from
        // the latent's first value (NaN, infinities, negatives, huge): digit errors, then
        // InvalidTemperature, then the scaled latent's own errors.
        let standard = decoder.model().prior == Prior::Standard;
        let t = z.first().copied().unwrap_or(1.0);
        let plain = decoder.prior_latent(&Request::new(seed).temperature(1.0));
        for digit in [None, Some(digit)] {
            for temperature in [None, Some(1.0), Some(t)] {
                let request = Request {
                    seed,
                    digit,
                    temperature,
                };
                let latent = decoder.prior_latent(&request);
                let t_used = request.resolved_temperature();
                let t_ok = t_used.is_finite() && t_used >= 0.0;
                // The latent does not depend on the digit; generate checks it first.
                let temperature_err = (!t_ok).then_some(Error::InvalidTemperature);
                assert_eq!(latent.err(), temperature_err, "prior_latent {request:?}");
                if let (Ok(zs), Ok(base)) = (&latent, &plain) {
                    let same_as = |f: &dyn Fn(f32) -> f32| {
                        zs.iter()
                            .zip(base)
                            .all(|(a, &b)| a.to_bits() == f(b).to_bits())
                    };
                    if standard {
                        assert!(same_as(&|b| b * t_used), "prior_latent is not * t");
                        let mut g = [0f32; L];
                        vae_core::Rng::new(seed).fill_gaussian(&mut g);
                        assert!(
                            base.iter().zip(&g).all(|(a, b)| a.to_bits() == b.to_bits()),
                            "prior_latent of a standard prior is not Rng's Gaussians"
                        );
                    }
                    if t_used == 1.0 {
                        assert!(same_as(&|b| b), "temperature 1 is not prior_latent");
                    }
                }
                let expected = label_error(classes, digit)
                    .or(temperature_err)
                    .or_else(|| latent.as_ref().ok().and_then(|zs| latent_error(zs)));
                expect(decoder.generate(&request, &mut out), expected, "generate");
                if let (None, Ok(zs)) = (expected, &latent) {
                    expect(
                        decoder.decode(zs, digit, &mut again),
                        None,
                        "decode of prior_latent",
                    );
                    assert_eq!(out, again, "generate is not decode(prior_latent)");
                    for engine in &engines {
                        expect(
                            engine.generate(&request, &mut host),
                            None,
                            "host engine generate",
                        );
                        assert_eq!(
                            out,
                            host,
                            "host engine ({:?}) generate differs",
                            engine.tier()
                        );
                    }
                }
            }
        }

        // Float paths: no panic, same error rules.
        let mut logits = [0f32; IMAGE_PIXELS];
        let mut scratch = vec![0i8; decoder.core().scratch_len()];
        expect(
            decoder
                .core()
                .logits(&z_q, label, &mut scratch, &mut logits),
            label_error(classes, label),
            "logits",
        );
        let mut scratch = vec![0f32; decoder.core().scratch_len()];
        expect(
            decoder
                .core()
                .reference_logits(&z, label, &mut scratch, &mut logits),
            label_error(classes, label).or(latent_error(&z)),
            "reference_logits",
        );
    }
}
