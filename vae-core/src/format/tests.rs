//! Format tests: round trips, and every reader error produced from a real blob.

use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use serde::Serialize;

use super::schema::as_bytes;
use super::*;
use crate::error::Error;
use crate::testing::{QuantizedMlp, recrc, to_blob, to_blob_unchecked};

/// An edit of a model's arrays.
type Edit = fn(&mut QuantizedMlp);

fn small() -> QuantizedMlp {
    QuantizedMlp::random(11, 3, &[5, 4], None)
}

fn conditional() -> QuantizedMlp {
    QuantizedMlp::random(12, 3, &[6], Some(10))
}

#[test]
fn crc32_check_values() {
    // The standard CRC-32/IEEE check value and the empty input.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414F_A339
    );
}

#[test]
fn round_trip_unconditional_and_conditional() {
    for q in [small(), conditional()] {
        let model = q.model();
        let blob = to_blob(&model);
        assert_eq!(encoded_len(&model), Ok(blob.len()));
        assert_eq!(blob_len(&blob), Ok(blob.len()));
        assert_eq!(&blob[..4], b"VAE8");
        // An all-int8 model is written as 2.1, what every 2.x reader reads.
        assert_eq!(&blob[4..8], &[2, 0, 1, 0]);
        assert_eq!((INT8_MAJOR, INT8_MINOR), (2, 1));
        assert_eq!((FORMAT_MAJOR, FORMAT_MINOR), (3, 1));
        let parsed = parse(&blob).expect("valid blob");
        assert_eq!(parsed, model);
        // Zero copy: the weights are borrowed from the blob.
        let w = parsed.layers[0].weights;
        let start = w.as_ptr() as usize - blob.as_ptr() as usize;
        assert!(start + w.len() <= blob.len());
    }
}

#[test]
fn metadata_round_trips() {
    let q = small();
    let mut model = q.model();
    model.metadata = Metadata {
        seed: Some(u64::MAX),
        test_loss: Some(81.25),
        note: "vae-export 0.1.0 ✓",
    };
    assert_eq!(parse(&to_blob(&model)).unwrap().metadata, model.metadata);
}

#[test]
fn encode_reports_buffer_too_small_and_invalid_models() {
    let q = small();
    let model = q.model();
    let len = encoded_len(&model).unwrap();
    let mut buf = std::vec![0u8; len - 1];
    assert_eq!(
        encode(&model, &mut buf),
        Err(Error::BufferTooSmall {
            needed: len,
            available: len - 1
        })
    );
    let mut buf = std::vec![0u8; len + 10];
    assert_eq!(encode(&model, &mut buf), Ok(len));
    assert_eq!(parse(&buf[..len]).unwrap(), model);

    let mut bad = q.clone();
    bad.layers[1].shifts[0] = 64;
    assert_eq!(
        encode(&bad.model(), &mut buf),
        Err(Error::InvalidScale { layer: 1 })
    );
    assert_eq!(
        encoded_len(&bad.model()),
        Err(Error::InvalidScale { layer: 1 })
    );
}

#[test]
fn truncated_at_every_length() {
    let blob = small().blob();
    for len in 0..blob.len() {
        assert_eq!(parse(&blob[..len]), Err(Error::Truncated), "len {len}");
    }
}

#[test]
fn trailing_bytes_are_rejected_but_blob_len_slices_them_off() {
    let mut region = small().blob();
    let len = region.len();
    region.extend_from_slice(&[0xFF; 37]);
    assert!(matches!(parse(&region), Err(Error::Malformed { .. })));
    assert_eq!(blob_len(&region), Ok(len));
    assert!(parse(&region[..blob_len(&region).unwrap()]).is_ok());
}

#[test]
fn bad_magic() {
    let mut blob = small().blob();
    blob[0] = b'X';
    assert_eq!(parse(&blob), Err(Error::BadMagic));
    // Checked before the length: even a header-only prefix says BadMagic.
    assert_eq!(parse(&blob[..HEADER_LEN]), Err(Error::BadMagic));
    assert_eq!(blob_len(&blob), Err(Error::BadMagic));
}

#[test]
fn other_major_versions_are_rejected_before_crc_and_body() {
    let mut blob = small().blob();
    for major in [0u16, 1, 4, 0xFFFF] {
        blob[4..6].copy_from_slice(&major.to_le_bytes());
        // The CRC is now wrong and the body could be anything: the version wins.
        let body_end = blob.len() - CRC_LEN;
        blob[HEADER_LEN..body_end].fill(0xAA);
        let expected = Err(Error::UnsupportedVersion {
            found_major: major,
            supported_major: FORMAT_MAJOR,
        });
        assert_eq!(parse(&blob), expected);
        assert_eq!(parse(&blob[..HEADER_LEN]), expected);
    }
}

/// Appends `extra` to the body and sets the minor version; fixes length and CRC.
fn with_extension(blob: &[u8], minor: u16, extra: &[u8]) -> Vec<u8> {
    let body_end = blob.len() - CRC_LEN;
    let mut out = blob[..body_end].to_vec();
    out.extend_from_slice(extra);
    out.extend_from_slice(&[0; CRC_LEN]);
    out[6..8].copy_from_slice(&minor.to_le_bytes());
    let body_len = u32::try_from(out.len() - HEADER_LEN - CRC_LEN).unwrap();
    out[8..12].copy_from_slice(&body_len.to_le_bytes());
    recrc(&mut out);
    out
}

#[test]
fn newer_minor_versions_may_append_fields() {
    let q = small();
    let blob = q.blob();
    let newer = with_extension(&blob, INT8_MINOR + 1, &[1, 2, 3, 4, 5]);
    assert_eq!(parse(&newer).unwrap(), q.model());
    // The same bytes under our own minor version are garbage.
    let same = with_extension(&blob, INT8_MINOR, &[1, 2, 3, 4, 5]);
    assert!(matches!(parse(&same), Err(Error::Malformed { .. })));
    // And a newer minor version changes nothing on its own.
    assert_eq!(parse(&with_extension(&blob, 7, &[])).unwrap(), q.model());
}

#[test]
fn any_flipped_bit_is_detected() {
    let blob = conditional().blob();
    let mut copy = blob.clone();
    for pos in 0..blob.len() {
        let bit = 1u8 << (pos % 8);
        copy[pos] ^= bit;
        let result = parse(&copy).map(|_| ());
        assert!(result.is_err(), "flip at {pos} accepted");
        if pos >= HEADER_LEN {
            // Body or CRC bytes: the CRC catches it.
            assert!(
                matches!(result, Err(Error::CrcMismatch { .. })),
                "pos {pos}: {result:?}"
            );
        }
        copy[pos] ^= bit;
    }
    // The reported CRCs are the stored and the computed one.
    copy[HEADER_LEN + 3] ^= 1;
    let stored = u32::from_le_bytes(copy[copy.len() - 4..].try_into().unwrap());
    let computed = crc32(&copy[..copy.len() - 4]);
    assert_eq!(
        parse(&copy),
        Err(Error::CrcMismatch {
            expected: stored,
            computed
        })
    );
}

#[test]
fn garbage_body_with_valid_crc_is_malformed() {
    let blob = small().blob();
    let mut rng = crate::Rng::new(77);
    for _ in 0..200 {
        let mut copy = blob.clone();
        let end = copy.len() - CRC_LEN;
        let pos = HEADER_LEN + (rng.next_u32() as usize) % (end - HEADER_LEN);
        let len = 1 + (rng.next_u32() as usize) % 8;
        for b in copy[pos..(pos + len).min(end)].iter_mut() {
            *b = rng.next_u32() as u8;
        }
        recrc(&mut copy);
        // Whatever the edit did, parse must not panic; if it passes, the model is valid.
        match parse(&copy) {
            Ok(model) => assert_eq!(model.validate(), Ok(())),
            Err(e) => assert!(matches!(
                e,
                Error::Malformed { .. } | Error::InvalidScale { .. }
            )),
        }
    }
    // Shrinking the declared body length (and re-CRCing) cuts the body short.
    let mut copy = blob.clone();
    let body_len = u32::from_le_bytes(copy[8..12].try_into().unwrap());
    copy[8..12].copy_from_slice(&(body_len - 10).to_le_bytes());
    let cut = copy.len() - CRC_LEN - 10;
    copy.drain(cut..cut + 10);
    recrc(&mut copy);
    assert!(matches!(parse(&copy), Err(Error::Malformed { .. })));
}

#[test]
fn invalid_scales_in_a_real_blob() {
    // Edit the latent scale (layer 0 input) in the encoded bytes, then fix the CRC.
    let q = small();
    let blob = q.blob();
    let needle = q.layers[0].input_scale.to_le_bytes();
    let positions: Vec<usize> = (0..blob.len() - 4)
        .filter(|&i| blob[i..i + 4] == needle)
        .collect();
    assert_eq!(positions.len(), 1, "latent scale bytes should be unique");
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let mut copy = blob.clone();
        copy[positions[0]..positions[0] + 4].copy_from_slice(&bad.to_le_bytes());
        recrc(&mut copy);
        assert_eq!(parse(&copy), Err(Error::InvalidScale { layer: 0 }), "{bad}");
    }
}

/// Applies `edit` to a copy of `q`, writes it without validation, and parses it back.
fn parse_edited(q: &QuantizedMlp, edit: impl FnOnce(&mut QuantizedMlp)) -> Result<(), Error> {
    let mut q = q.clone();
    edit(&mut q);
    let blob = to_blob_unchecked(&q.model());
    parse(&blob).map(|_| ())
}

#[test]
fn invalid_scales_and_requantization_parameters() {
    let q = small();
    let cases: [(usize, Edit); 8] = [
        (0, |q| q.layers[0].input_scale = 0.0),
        (0, |q| q.layers[0].output_scale = f32::NAN),
        (1, |q| q.layers[1].output_scale = 0.0),
        (2, |q| q.layers[2].output_scale = -0.5),
        (1, |q| {
            q.layers[1].weight_scales[4..8].copy_from_slice(&0f32.to_le_bytes())
        }),
        (2, |q| {
            q.layers[2].weight_scales[..4].copy_from_slice(&f32::NAN.to_le_bytes())
        }),
        (2, |q| {
            q.layers[2].multipliers[0..4].copy_from_slice(&0i32.to_le_bytes())
        }),
        (0, |q| {
            q.layers[0].multipliers[4..8].copy_from_slice(&(-5i32).to_le_bytes())
        }),
    ];
    for (i, (layer, edit)) in cases.into_iter().enumerate() {
        let result = parse_edited(&q, |q| {
            edit(q);
            // Keep the scale chain consistent so that only the scale check can fire.
            for k in 1..q.layers.len() {
                q.layers[k].input_scale = q.layers[k - 1].output_scale;
            }
        });
        assert_eq!(result, Err(Error::InvalidScale { layer }), "case {i}");
    }
    let result = parse_edited(&q, |q| q.layers[2].shifts[100] = MAX_SHIFT + 1);
    assert_eq!(result, Err(Error::InvalidScale { layer: 2 }));
    // MAX_SHIFT itself is allowed.
    let result = parse_edited(&q, |q| q.layers[2].shifts[100] = MAX_SHIFT);
    assert_eq!(result, Ok(()));
}

#[test]
fn inconsistent_models_are_malformed() {
    let q = small();
    let c = conditional();
    let cases: Vec<(&QuantizedMlp, &str, Edit)> = std::vec![
        (&q, "the first layer's in_dim is not latent_dim", |q| q
            .latent_dim =
            4),
        (&q, "latent_dim is 0", |q| q.latent_dim = 0),
        (&q, "input_zero_point is not 0", |q| q.layers[0]
            .input_zero_point =
            -128),
        (&q, "the model has no layers", |q| q.layers.clear()),
        (&q, "out_dim is not 784", |q| {
            q.layers.pop();
        }),
        (&q, "in_dim is not the previous", |q| q.layers[1].in_dim +=
            1),
        (&q, "weights length", |q| q.layers[1].weights.push(0)),
        (&q, "bias length", |q| {
            q.layers[0].bias.pop();
        }),
        (&q, "weight_scales length", |q| q.layers[2]
            .weight_scales
            .extend([0; 4])),
        (&q, "multipliers length", |q| {
            q.layers[2].multipliers.truncate(8);
        }),
        (&q, "shifts length", |q| q.layers[1].shifts.push(1)),
        (&q, "input_scale is not the previous", |q| q.layers[1]
            .input_scale *=
            2.0),
        (&q, "not sorted", |q| {
            // The largest threshold first: no longer sorted.
            let largest: [u8; 4] = q.pixel_thresholds[1016..].try_into().unwrap();
            q.pixel_thresholds[..4].copy_from_slice(&largest);
        }),
        (&q, "is not 255 i32", |q| {
            q.pixel_thresholds.truncate(1016);
        }),
        (&q, "could overflow", |q| q.layers[1].bias[..4]
            .copy_from_slice(&i32::MAX.to_le_bytes())),
        (&c, "class_bias length", |q| {
            q.class_bias.pop();
        }),
        (&c, "0 classes", |q| q.classes = Some(0)),
        (&c, "could overflow", |q| q.class_bias[..4]
            .copy_from_slice(&i32::MIN.to_le_bytes())),
    ];
    for (i, (base, rule, edit)) in cases.into_iter().enumerate() {
        let result = parse_edited(base, edit);
        assert!(
            matches!(result, Err(Error::Malformed { what }) if what.contains(rule)),
            "case {i}: {result:?}, expected {rule:?}"
        );
    }
}

/// Wraps a 2.1 body in a valid header and CRC.
fn wrap(body: &[u8]) -> Vec<u8> {
    let mut blob = MAGIC.to_vec();
    blob.extend_from_slice(&INT8_MAJOR.to_le_bytes());
    blob.extend_from_slice(&INT8_MINOR.to_le_bytes());
    blob.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    blob.extend_from_slice(body);
    blob.extend_from_slice(&[0; CRC_LEN]);
    recrc(&mut blob);
    blob
}

#[test]
fn too_many_layers_is_malformed() {
    /// `Model` with a plain slice of layers, to write more than `MAX_LAYERS`.
    #[derive(Serialize)]
    struct Wide<'a> {
        kind: ModelKind<'a>,
        latent_dim: u16,
        layers: &'a [Dense<'a>],
        #[serde(serialize_with = "as_bytes")]
        pixel_thresholds: &'a [u8],
        metadata: Metadata<'a>,
        prior: Prior<'a>, // the 2.1 field, right after the 2.0 body
    }
    let q = QuantizedMlp::random(5, 4, &[4; MAX_LAYERS - 1], None);
    let model = q.model();
    assert_eq!(model.layers.len(), MAX_LAYERS);
    let write = |layers: &[Dense<'_>]| {
        let wide = Wide {
            kind: model.kind,
            latent_dim: model.latent_dim,
            layers,
            pixel_thresholds: model.pixel_thresholds,
            metadata: model.metadata,
            prior: model.prior,
        };
        let mut body = std::vec![0u8; 1 << 16];
        let len = postcard::to_slice(&wide, &mut body).unwrap().len();
        wrap(&body[..len])
    };
    // MAX_LAYERS layers written this way parse (the mirror struct is faithful) ...
    assert_eq!(parse(&write(&model.layers)).unwrap(), model);
    // ... one more 4 -> 4 layer does not.
    let mut layers = model.layers.to_vec();
    layers.insert(1, layers[1]);
    assert!(matches!(
        parse(&write(&layers)),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn quantize_multiplier_is_accurate() {
    let mut rng = crate::Rng::new(9);
    for _ in 0..10_000 {
        // Log-uniform factors over [2^-40, 2^30].
        let real = libm::exp2(rng.next_f32() as f64 * 70.0 - 40.0);
        let (m, n) = quantize_multiplier(real).expect("representable");
        let approx = f64::from(m) / libm::exp2(f64::from(n));
        assert!(m > 0 && n <= MAX_SHIFT);
        if real >= libm::exp2(-32.0) {
            assert!((1 << 30..=i32::MAX).contains(&m), "m {m} for {real}");
            assert!((approx - real).abs() <= real * libm::exp2(-31.0), "{real}");
        } else {
            assert_eq!(n, MAX_SHIFT);
            assert!((approx - real).abs() <= libm::exp2(-64.0));
        }
    }
    assert_eq!(quantize_multiplier(1.0), Some((1 << 30, 30)));
    assert_eq!(quantize_multiplier(0.5), Some((1 << 30, 31)));
    assert_eq!(quantize_multiplier(1.0 - 1e-12), Some((1 << 30, 30)));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2147483648.0, 1e-30] {
        assert_eq!(quantize_multiplier(bad), None, "{bad}");
    }
}

#[test]
fn thresholds_reproduce_rounded_sigmoid() {
    for scale in [1.0 / 4096.0, 1.0 / 16.0, 0.5, 3.0] {
        let table = pixel_thresholds(scale).unwrap();
        assert!(table.windows(2).all(|w| w[0] <= w[1]));
        let bytes: Vec<u8> = table.iter().flat_map(|t| t.to_le_bytes()).collect();
        let limit = (8.0 / scale) as i32;
        let step = (limit / 20_000).max(1);
        let mut v = -limit;
        while v <= limit {
            let exact = 255.0 / (1.0 + libm::exp(-(f64::from(v) * scale)));
            // Skip values within float noise of a rounding tie.
            if (exact - libm::floor(exact) - 0.5).abs() > 1e-9 {
                let expected = libm::round(exact) as u8;
                assert_eq!(
                    crate::kernel::sigmoid_pixel(&bytes, v),
                    expected,
                    "v {v} scale {scale}"
                );
            }
            v += step;
        }
    }
    assert_eq!(pixel_thresholds(0.0), None);
    assert_eq!(pixel_thresholds(f64::NAN), None);
}

/// `small()` (latent 3) with a two-component mixture prior.
fn with_mixture() -> QuantizedMlp {
    let mut q = small();
    q.prior = Some(
        crate::quantize::OwnedMixture::new(
            3,
            &[0.25, 0.75],
            &[1.0, -2.0, 0.5, 3.0, 0.0, -1.5],
            &[0.5, 0.25, 1.0, 2.0, 0.125, 0.75],
        )
        .unwrap(),
    );
    q
}

#[test]
fn mixture_prior_round_trips_and_weights_become_u32_bounds() {
    let q = with_mixture();
    let blob = q.blob();
    let parsed = parse(&blob).unwrap();
    assert_eq!(parsed, q.model());
    let Prior::Mixture {
        components,
        cumulative,
        ..
    } = parsed.prior
    else {
        panic!("expected a mixture, got {:?}", parsed.prior);
    };
    assert_eq!(components, 2);
    let bounds: Vec<u32> = cumulative
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(bounds, [1 << 30, u32::MAX]);
    // The prior is inside the CRC: flipping any of its bytes is caught.
    let mut copy = blob.clone();
    let at = blob.len() - CRC_LEN - 5;
    copy[at] ^= 1;
    assert!(matches!(parse(&copy), Err(Error::CrcMismatch { .. })));
}

#[test]
fn a_2_0_blob_reads_as_the_standard_prior() {
    // A 2.0 body is the 2.1 body without the trailing prior (one byte for `Standard`).
    let q = small();
    let blob = q.blob();
    assert_eq!(blob[blob.len() - CRC_LEN - 1], 0, "Standard is variant 0");
    let mut old = blob[..blob.len() - CRC_LEN - 1].to_vec();
    old[6..8].copy_from_slice(&0u16.to_le_bytes());
    let body_len = u32::try_from(old.len() - HEADER_LEN).unwrap();
    old[8..12].copy_from_slice(&body_len.to_le_bytes());
    old.extend_from_slice(&[0; CRC_LEN]);
    recrc(&mut old);
    let parsed = parse(&old).unwrap();
    assert_eq!(parsed.prior, Prior::Standard);
    assert_eq!(parsed, q.model());
    // A 2.1 blob without its prior is malformed.
    let mut cut = old.clone();
    cut[6..8].copy_from_slice(&1u16.to_le_bytes());
    recrc(&mut cut);
    assert!(matches!(
        parse(&cut),
        Err(Error::Malformed { what }) if what.contains("prior")
    ));
}

#[test]
fn invalid_mixture_priors_are_malformed() {
    let set = |q: &mut QuantizedMlp, edit: &dyn Fn(&mut crate::quantize::OwnedMixture)| {
        edit(q.prior.as_mut().unwrap());
    };
    let f32_at = |bytes: &mut Vec<u8>, i: usize, v: f32| {
        bytes[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    };
    type PriorEdit = Box<dyn Fn(&mut crate::quantize::OwnedMixture)>;
    let cases: Vec<(&str, PriorEdit)> = vec![
        ("component count", Box::new(|m| m.components = 0)),
        ("cumulative length", Box::new(|m| m.components = 3)),
        ("cumulative length", Box::new(|m| m.cumulative.push(0))),
        (
            "means or stds length",
            Box::new(|m| {
                m.means.truncate(20);
            }),
        ),
        ("means or stds length", Box::new(|m| m.stds.extend([0; 4]))),
        (
            "decrease",
            Box::new(|m| m.cumulative[4..].copy_from_slice(&7u32.to_le_bytes())),
        ),
        (
            "mean is NaN",
            Box::new(move |m| f32_at(&mut m.means, 4, f32::NAN)),
        ),
        (
            "mean is NaN",
            Box::new(move |m| f32_at(&mut m.means, 0, f32::INFINITY)),
        ),
        (
            "standard deviation",
            Box::new(move |m| f32_at(&mut m.stds, 5, 0.0)),
        ),
        (
            "standard deviation",
            Box::new(move |m| f32_at(&mut m.stds, 1, -1.0)),
        ),
        (
            "standard deviation",
            Box::new(move |m| f32_at(&mut m.stds, 2, f32::NAN)),
        ),
    ];
    for (i, (rule, edit)) in cases.into_iter().enumerate() {
        let mut q = with_mixture();
        set(&mut q, &*edit);
        let blob = to_blob_unchecked(&q.model());
        let result = parse(&blob).map(|_| ());
        assert!(
            matches!(result, Err(Error::Malformed { what }) if what.contains(rule)),
            "case {i}: {result:?}, expected {rule:?}"
        );
    }
    // The writer refuses the same models, and the owned constructor checks its input.
    let mut q = with_mixture();
    set(&mut q, &|m| m.components = 0);
    assert!(matches!(q.model().validate(), Err(Error::Malformed { .. })));
    let new = crate::quantize::OwnedMixture::new;
    assert!(new(3, &[1.0], &[0.0; 2], &[1.0; 3]).is_err());
    assert!(new(3, &[0.0, 0.0], &[0.0; 6], &[1.0; 6]).is_err());
    assert!(new(3, &[-1.0, 2.0], &[0.0; 6], &[1.0; 6]).is_err());
    assert!(new(3, &[1.0], &[0.0; 3], &[0.0; 3]).is_err());
    assert!(
        new(
            1,
            &[1.0; MAX_PRIOR_COMPONENTS + 1],
            &[0.0; 1025],
            &[1.0; 1025]
        )
        .is_err()
    );
}
