//! Format 3.1: the mixture prior with `f16` means and standard deviations, appended after
//! the weight widths with `Standard` in the `Prior` slot. Round trips, what a 3.0 reader
//! would see, the validation rules, and the latent it samples.

use std::vec::Vec;

use super::*;
use crate::error::Error;
use crate::quantize::OwnedMixture;
use crate::testing::{QuantizedMlp, recrc, to_blob_unchecked};
use crate::{DecoderCore, Request};

const LATENT: usize = 3;

/// A latent-3 model (int8, or int4 with `int4`) with a two-component prior in `f16`.
fn with_f16_prior(int4: bool) -> QuantizedMlp {
    let widths = [if int4 {
        WeightWidth::Int4
    } else {
        WeightWidth::Int8
    }; MAX_LAYERS];
    let mut q = QuantizedMlp::random_widths(31, LATENT, &[5, 4], None, &widths);
    let mixture = OwnedMixture::new(
        LATENT,
        &[0.25, 0.75],
        // 0.1 and 1/3 are not f16 values: they round.
        &[1.0, -2.0, 0.1, 3.0, 0.0, -1.5],
        &[0.5, 1.0 / 3.0, 1.0, 2.0, 0.125, 0.75],
    )
    .unwrap();
    q.prior = Some(mixture.to_f16().unwrap());
    q
}

#[test]
fn f16_prior_round_trips_as_3_1_for_int8_and_int4_models() {
    for int4 in [false, true] {
        let q = with_f16_prior(int4);
        let model = q.model();
        assert_eq!(version_of(&model), (FORMAT_MAJOR, 1));
        let blob = q.blob();
        assert_eq!(&blob[4..8], &[3, 0, 1, 0]);
        let parsed = parse(&blob).expect("valid 3.1 blob");
        assert_eq!(parsed, model);
        let Prior::MixtureF16 { means, stds, .. } = parsed.prior else {
            panic!("expected an f16 prior, got {:?}", parsed.prior);
        };
        assert_eq!((means.len(), stds.len()), (2 * 2 * LATENT, 2 * 2 * LATENT));
        // The Prior slot right after the Model holds Standard (variant 0), which is what a
        // 3.0 reader, ignoring the appended field, samples from.
        let mut buf = std::vec![0u8; 1 << 16];
        let model_len = postcard::to_slice(&model, &mut buf).unwrap().len();
        assert_eq!(blob[HEADER_LEN + model_len], 0);
    }
}

#[test]
fn f16_values_are_read_exactly_and_sampled_like_f32_ones() {
    // The f16 prior samples exactly what an f32 prior holding the same values samples.
    let q = with_f16_prior(false);
    let f16 = q.prior.clone().unwrap();
    let read = |bytes: &[u8]| -> Vec<f32> {
        bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    };
    let (means, stds) = (read(&f16.means), read(&f16.stds));
    assert_eq!(means[2], half::f16::from_f32(0.1).to_f32());
    assert_ne!(means[2], 0.1);
    let mut same = q.clone();
    let weights = [0.25, 0.75];
    let mut as_f32 = OwnedMixture::new(LATENT, &weights, &means, &stds).unwrap();
    as_f32.cumulative = f16.cumulative.clone();
    same.prior = Some(as_f32);
    let (a, b) = (q.blob(), same.blob());
    assert_eq!(&b[4..8], &[2, 0, 1, 0]);
    let (da, db) = (
        DecoderCore::from_bytes(&a).unwrap(),
        DecoderCore::from_bytes(&b).unwrap(),
    );
    for seed in 0..200 {
        for t in [1.0, 0.5] {
            let request = Request::new(seed).temperature(t);
            let (mut za, mut zb) = ([0f32; LATENT], [0f32; LATENT]);
            da.prior_latent(&request, &mut za).unwrap();
            db.prior_latent(&request, &mut zb).unwrap();
            assert_eq!(za.map(f32::to_bits), zb.map(f32::to_bits), "seed {seed}");
        }
    }
}

fn malformed(blob: &[u8], rule: &str) {
    let result = parse(blob);
    assert!(
        matches!(result, Err(Error::Malformed { what }) if what.contains(rule)),
        "{result:?}, expected {rule:?}"
    );
}

#[test]
fn bad_f16_priors_are_malformed() {
    let q = with_f16_prior(true);
    let edit = |f: &dyn Fn(&mut OwnedMixture)| {
        let mut q = q.clone();
        f(q.prior.as_mut().unwrap());
        to_blob_unchecked(&q.model())
    };
    // f16 NaN (0x7E00) and infinity (0x7C00) means; a zero, a negative and an infinite
    // standard deviation.
    malformed(
        &edit(&|m| m.means[0..2].copy_from_slice(&[0x00, 0x7E])),
        "mean",
    );
    malformed(
        &edit(&|m| m.means[2..4].copy_from_slice(&[0x00, 0x7C])),
        "mean",
    );
    malformed(
        &edit(&|m| m.stds[0..2].copy_from_slice(&[0, 0])),
        "standard deviation",
    );
    malformed(
        &edit(&|m| m.stds[0..2].copy_from_slice(&[0x00, 0xBC])),
        "standard deviation",
    );
    malformed(
        &edit(&|m| m.stds[4..6].copy_from_slice(&[0x00, 0x7C])),
        "standard deviation",
    );
    // f32-sized arrays under the f16 flag, and a short one.
    malformed(
        &edit(&|m| m.means.extend_from_slice(&[0; 12])),
        "2 * components * latent_dim",
    );
    malformed(
        &edit(&|m| {
            m.stds.pop();
        }),
        "2 * components * latent_dim",
    );
    malformed(&edit(&|m| m.components = 0), "component count");

    // A prior in the Prior slot and an f16 one appended: the option tag of a 3.0 int4
    // blob's body is replaced by Some(f16 prior) with a mixture already in the slot.
    let mut both = with_f16_prior(true);
    let f16 = both.prior.take().unwrap();
    both.prior = Some(OwnedMixture::new(LATENT, &[1.0], &[0.0; LATENT], &[1.0; LATENT]).unwrap());
    let mut blob = both.blob();
    assert_eq!(&blob[4..8], &[3, 0, 0, 0]);
    let body_len = u32::from_le_bytes(blob[8..12].try_into().unwrap()) as usize;
    let mut buf = std::vec![0u8; 1 << 12];
    let compact = postcard::to_slice(&f16.as_prior().compact(), &mut buf)
        .unwrap()
        .to_vec();
    blob.truncate(HEADER_LEN + body_len);
    blob.extend_from_slice(&compact);
    blob.extend_from_slice(&[0; CRC_LEN]);
    blob[6..8].copy_from_slice(&1u16.to_le_bytes());
    let new_len = (body_len + compact.len()) as u32;
    blob[8..12].copy_from_slice(&new_len.to_le_bytes());
    recrc(&mut blob);
    malformed(&blob, "both a prior and an f16 prior");
}

#[test]
fn rounding_to_f16_refuses_values_it_cannot_hold() {
    let new = |means: &[f32], stds: &[f32]| OwnedMixture::new(LATENT, &[1.0], means, stds);
    // A mean beyond f16's largest finite value (65504) becomes infinite.
    let far = new(&[7.0e4, 0.0, 0.0], &[1.0; LATENT]).unwrap();
    assert!(matches!(far.to_f16(), Err(Error::Malformed { what }) if what.contains("mean")));
    // A standard deviation below f16's smallest subnormal (2^-24) rounds to 0.
    let tiny = new(&[0.0; LATENT], &[1.0e-9, 1.0, 1.0]).unwrap();
    assert!(
        matches!(tiny.to_f16(), Err(Error::Malformed { what }) if what.contains("standard deviation"))
    );
    // Converting twice is converting once.
    let ok = new(&[0.1, 0.2, 0.3], &[1.0; LATENT])
        .unwrap()
        .to_f16()
        .unwrap();
    assert_eq!(ok.to_f16().unwrap(), ok);
}
