//! Format 3.0: int4 layers (two codes per byte) next to int8 ones. Round trips, the
//! validation rules of the packed layout, and that an int4 blob decodes to exactly the
//! bytes of the same codes stored as int8.

use std::vec::Vec;

use super::*;
use crate::error::Error;
use crate::testing::{QuantizedMlp, recrc, to_blob_unchecked};
use crate::{DecoderCore, IMAGE_PIXELS, Tier};

const INT4: [WeightWidth; MAX_LAYERS] = [WeightWidth::Int4; MAX_LAYERS];

/// A 3 -> 5 -> 4 -> 784 model, odd widths everywhere (padding nibbles in every layer).
fn all_int4() -> QuantizedMlp {
    QuantizedMlp::random_widths(21, 3, &[5, 4], None, &INT4)
}

/// A conditional 4 -> 16 -> 784 model whose first layer stays int8.
fn mixed() -> QuantizedMlp {
    let widths = [WeightWidth::Int8, WeightWidth::Int4];
    QuantizedMlp::random_widths(22, 4, &[16], Some(10), &widths)
}

fn parse_edited(q: &QuantizedMlp, edit: impl FnOnce(&mut QuantizedMlp)) -> Result<(), Error> {
    let mut q = q.clone();
    edit(&mut q);
    parse(&to_blob_unchecked(&q.model())).map(|_| ())
}

#[test]
fn int4_models_round_trip_as_3_0() {
    for q in [all_int4(), mixed()] {
        let model = q.model();
        let blob = q.blob();
        assert_eq!(version_of(&model), (FORMAT_MAJOR, 0));
        assert_eq!(&blob[4..8], &[3, 0, 0, 0]);
        let parsed = parse(&blob).expect("valid 3.0 blob");
        assert_eq!(parsed, model);
        for (layer, owned) in parsed.layers.iter().zip(&q.layers) {
            assert_eq!(layer.weight_width, owned.weight_width);
            let rows = usize::from(layer.out_dim);
            assert_eq!(layer.weights.len(), rows * layer.row_bytes());
        }
    }
    // The widths are the last bytes of the body: a count, then one byte per layer.
    let blob = all_int4().blob();
    let body_end = blob.len() - CRC_LEN;
    assert_eq!(&blob[body_end - 4..body_end], &[3, 1, 1, 1]);
    let blob = mixed().blob();
    let body_end = blob.len() - CRC_LEN;
    assert_eq!(&blob[body_end - 3..body_end], &[2, 0, 1]);
}

#[test]
fn int4_codes_pack_two_per_byte_low_nibble_first() {
    let q = all_int4();
    let layer = q.layers[0].as_dense(); // 3 inputs: 2 bytes per row
    assert_eq!(layer.row_bytes(), 2);
    let unpacked = q.unpacked();
    let codes = &unpacked.layers[0].weights;
    for (j, row) in layer.weight_rows().enumerate() {
        let c = |i: usize| codes[j * 3 + i] & 0x0F;
        assert_eq!(row, &[c(0) | c(1) << 4, c(2)], "row {j}");
    }
    // The grid: every code within -7..=7, and the grid's ends are used.
    let all: Vec<i8> = unpacked
        .layers
        .iter()
        .flat_map(|l| l.weights.iter().map(|&b| b as i8))
        .collect();
    assert!(all.iter().all(|c| (-7..=7).contains(c)));
    assert!(all.contains(&7) || all.contains(&-7));
}

/// The definition of int4: the same codes stored as int8 give the same accumulators,
/// so the same pixels and logits, on every tier this CPU has.
#[test]
fn int4_decodes_exactly_like_its_codes_stored_as_int8() {
    for q in [all_int4(), mixed()] {
        let (blob4, blob8) = (q.blob(), q.unpacked().blob());
        assert_eq!(&blob8[4..6], &[2, 0], "the unpacked model is a 2.1 blob");
        let (d4, d8) = (
            DecoderCore::from_bytes(&blob4).unwrap(),
            DecoderCore::from_bytes(&blob8).unwrap(),
        );
        let digit = q.classes.map(|_| 3);
        let latent = usize::from(q.latent_dim);
        let mut scratch = std::vec![0i8; d4.scratch_len()];
        let mut rng = crate::Rng::new(5);
        for _ in 0..64 {
            let z_q: Vec<i8> = (0..latent).map(|_| rng.next_u32() as i8).collect();
            for tier in Tier::available() {
                let (mut p4, mut p8) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
                d4.decode_quantized_on(tier, &z_q, digit, &mut scratch, &mut p4)
                    .unwrap();
                d8.decode_quantized_on(tier, &z_q, digit, &mut scratch, &mut p8)
                    .unwrap();
                assert_eq!(p4, p8, "{tier}");
                let (mut l4, mut l8) = ([0f32; IMAGE_PIXELS], [0f32; IMAGE_PIXELS]);
                d4.logits_on(tier, &z_q, digit, &mut scratch, &mut l4)
                    .unwrap();
                d8.logits_on(tier, &z_q, digit, &mut scratch, &mut l8)
                    .unwrap();
                assert_eq!(l4, l8, "{tier}");
            }
            let z: Vec<f32> = z_q.iter().map(|&v| f32::from(v) * 0.03).collect();
            let mut f = std::vec![0f32; d4.scratch_len()];
            let (mut r4, mut r8) = ([0f32; IMAGE_PIXELS], [0f32; IMAGE_PIXELS]);
            d4.reference_logits(&z, digit, &mut f, &mut r4).unwrap();
            d8.reference_logits(&z, digit, &mut f, &mut r8).unwrap();
            assert_eq!(r4, r8);
        }
    }
}

#[test]
fn int4_layout_rules_are_malformed() {
    let q = all_int4();
    type Edit = fn(&mut QuantizedMlp);
    let cases: [(&str, Edit); 3] = [
        ("ceil(in_dim / 2)", |q| {
            q.layers[1].weights.pop();
        }),
        ("ceil(in_dim / 2)", |q| {
            // An int8-sized int4 layer.
            q.layers[0].weights = std::vec![0; 3 * 5];
        }),
        ("padding nibble", |q| q.layers[0].weights[1] |= 0x10),
    ];
    for (i, (rule, edit)) in cases.into_iter().enumerate() {
        let result = parse_edited(&q, edit);
        assert!(
            matches!(result, Err(Error::Malformed { what }) if what.contains(rule)),
            "case {i}: {result:?}, expected {rule:?}"
        );
    }
    // Even in_dim has no padding: every nibble is a code, -8 included.
    let even = QuantizedMlp::random_widths(23, 4, &[6], None, &INT4);
    assert!(parse_edited(&even, |q| q.layers[0].weights.fill(0x88)).is_ok());
}

#[test]
fn int4_accumulator_bound_counts_unpacked_codes() {
    // 128 * 8 * in_dim is small: only the bias can push a row over i32.
    let q = all_int4();
    let edit = |q: &mut QuantizedMlp| {
        let limit = i32::MAX - 128 * 8 * 3 + 1;
        q.layers[0].weights.fill(0x88); // every code -8 (padding nibbles too, fixed below)
        for row in q.layers[0].weights.chunks_exact_mut(2) {
            row[1] = 0x08;
        }
        q.layers[0].bias[..4].copy_from_slice(&limit.to_le_bytes());
    };
    let result = parse_edited(&q, edit);
    assert!(
        matches!(result, Err(Error::Malformed { what }) if what.contains("overflow")),
        "{result:?}"
    );
}

/// Rewrites the widths at the end of a 3.0 body (`old` bytes) as `new`; fixes length and
/// CRC.
fn with_widths(blob: &[u8], old: usize, new: &[u8]) -> Vec<u8> {
    let body_end = blob.len() - CRC_LEN;
    let mut out = blob[..body_end - old].to_vec();
    out.extend_from_slice(new);
    out.extend_from_slice(&[0; CRC_LEN]);
    let body_len = u32::try_from(out.len() - HEADER_LEN - CRC_LEN).unwrap();
    out[8..12].copy_from_slice(&body_len.to_le_bytes());
    recrc(&mut out);
    out
}

#[test]
fn bad_width_lists_are_malformed() {
    let blob = all_int4().blob();
    let malformed = |b: &[u8], rule: &str| {
        let result = parse(b).map(|_| ());
        assert!(
            matches!(result, Err(Error::Malformed { what }) if what.contains(rule)),
            "{result:?}, expected {rule:?}"
        );
    };
    malformed(&with_widths(&blob, 4, &[]), "widths do not decode");
    malformed(&with_widths(&blob, 4, &[3, 1, 1]), "widths do not decode");
    malformed(
        &with_widths(&blob, 4, &[3, 1, 2, 1]),
        "widths do not decode",
    );
    malformed(
        &with_widths(&blob, 4, &[9, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
        "widths do not decode",
    );
    malformed(&with_widths(&blob, 4, &[2, 1, 1]), "one per layer");
    malformed(&with_widths(&blob, 4, &[4, 1, 1, 1, 1]), "one per layer");
    // Int8 widths for int4-sized arrays: the lengths no longer match.
    malformed(&with_widths(&blob, 4, &[3, 0, 0, 0]), "out_dim * in_dim");
    // Trailing bytes: malformed at 3.0; at 3.1 they are the f16 prior's option tag (7:
    // none such); after a 3.1 `None` (0) they are malformed at 3.1 and ignored at 3.2
    // and later, a newer field.
    let minor = |blob: &[u8], minor: u16| {
        let mut b = blob.to_vec();
        b[6..8].copy_from_slice(&minor.to_le_bytes());
        recrc(&mut b);
        b
    };
    let extra = with_widths(&blob, 4, &[3, 1, 1, 1, 7]);
    malformed(&extra, "unexpected bytes");
    malformed(&minor(&extra, 1), "f16 prior does not decode");
    let after_none = with_widths(&blob, 4, &[3, 1, 1, 1, 0, 7]);
    malformed(&minor(&after_none, 1), "unexpected bytes");
    assert_eq!(parse(&minor(&after_none, 2)).unwrap(), all_int4().model());
    // A 3.0 blob whose layers are all int8 is valid too (the writer uses 2.1 for those).
    let q = QuantizedMlp::random(24, 3, &[5], None);
    let v2 = q.blob();
    let mut v3 = with_widths(&v2, 0, &[2, 0, 0]);
    v3[4..8].copy_from_slice(&[3, 0, 0, 0]);
    recrc(&mut v3);
    assert_eq!(parse(&v3).unwrap(), q.model());
}

#[test]
fn a_2_x_header_on_an_int4_body_is_malformed() {
    // What a 2.x reader sees of a 3.0 blob if the major version were ignored: the widths
    // are leftover bytes and the int4 arrays have the wrong length.
    let mut blob = all_int4().blob();
    blob[4..8].copy_from_slice(&[2, 0, 1, 0]);
    recrc(&mut blob);
    assert!(matches!(parse(&blob), Err(Error::Malformed { .. })));
}
