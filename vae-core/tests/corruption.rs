//! Robustness of the blob reader (the kernels' property tests are in `src/kernel/proptests.rs`).
//!
//! * Corruption at every byte of a real (small, random) blob: every byte flipped (every
//!   31st bulk byte in a debug build), every bit of the structural bytes flipped, every
//!   truncation; each load gives the error
//!   `FORMAT.md` documents for that position, or (after the CRC is fixed up, to reach the
//!   body checks) is rejected by validation or decodes without panicking.
//! * The fuzz corpus and every fuzz crasher (`fuzz/corpus/decode`, `fuzz/regressions`)
//!   replayed through the fuzz target's checks (`fuzz/src/check.rs`).
//!
//! The fuzz seed corpus is written by the ignored test `write_fuzz_seed_corpus`:
//! `cargo test -p vae-core --test corruption -- --ignored write_fuzz_seed_corpus`.

use std::path::{Path, PathBuf};

use vae_core::format::{self, CRC_LEN, FORMAT_MAJOR, HEADER_LEN, INT8_MAJOR, WeightWidth};
use vae_core::quantize::OwnedMixture;
use vae_core::testing::{QuantizedMlp, recrc};
use vae_core::{Decoder, Error, IMAGE_PIXELS, Request};

#[path = "../../fuzz/src/check.rs"]
mod check;

/// Latent size and widest hidden layer of the blobs below.
const LATENT: usize = 2;
const HIDDEN: usize = 8;

/// A real blob: random 2 -> 8 -> 784 model, quantized (about 17 KiB).
fn small_blob(conditional: bool) -> Vec<u8> {
    QuantizedMlp::random(7, LATENT, &[HIDDEN], conditional.then_some(10)).blob()
}

/// A real format 3.0 blob: random conditional 2 -> 7 -> 784 model with int4 weights (the
/// 7-wide input of the last layer leaves a padding nibble in every row; about 11 KiB).
fn int4_blob() -> Vec<u8> {
    let int4 = [WeightWidth::Int4; format::MAX_LAYERS];
    QuantizedMlp::random_widths(7, LATENT, &[HIDDEN - 1], Some(10), &int4).blob()
}

/// A format 3.1 blob: an unconditional int4 model with a three-component mixture prior
/// in `f16` (appended after the weight widths).
fn f16_prior_blob() -> Vec<u8> {
    let int4 = [WeightWidth::Int4; format::MAX_LAYERS];
    let mut q = QuantizedMlp::random_widths(8, LATENT, &[HIDDEN - 1], None, &int4);
    let values = 3 * LATENT;
    let means: Vec<f32> = (0..values).map(|i| i as f32 * 0.37 - 1.0).collect();
    let stds: Vec<f32> = (0..values).map(|i| 0.5 + i as f32 * 0.11).collect();
    let mixture = OwnedMixture::new(LATENT, &[1.0, 2.0, 3.0], &means, &stds).unwrap();
    q.prior = Some(mixture.to_f16().unwrap());
    let blob = q.blob();
    assert_eq!(&blob[4..8], &[3, 0, 1, 0]);
    blob
}

/// The blobs every corruption test runs on: int8 (2.1) unconditional and conditional,
/// int4 (3.0) conditional, int4 with an f16 prior (3.1).
fn blobs() -> [Vec<u8>; 4] {
    [
        small_blob(false),
        small_blob(true),
        int4_blob(),
        f16_prior_blob(),
    ]
}

/// Loads `blob`; if it loads, decodes with every entry point and checks the results are
/// Ok (or the documented input errors). Returns the load result.
fn load_and_decode(blob: &[u8]) -> Result<(), Error> {
    let decoder = Decoder::<LATENT, HIDDEN>::from_bytes(blob)?;
    let mut out = [0u8; IMAGE_PIXELS];
    let z = [0.5f32, -1.25];
    let classes = decoder.model().classes();
    match classes {
        None => {
            assert_eq!(decoder.decode(&z, None, &mut out), Ok(()));
            assert_eq!(decoder.generate(&Request::new(3), &mut out), Ok(()));
        }
        Some(c) => {
            for digit in 0..c.min(10) {
                let request = Request::new(3).digit(digit);
                assert_eq!(decoder.generate(&request, &mut out), Ok(()));
            }
            assert_eq!(
                decoder.generate(&Request::new(3).digit(c), &mut out),
                Err(Error::InvalidDigit(c))
            );
        }
    }
    let label = classes.map(|_| 0);
    let mut logits = [0f32; IMAGE_PIXELS];
    assert_eq!(
        decoder.decode_quantized(&[-128, 127], label, &mut out),
        Ok(())
    );
    let core = decoder.core();
    let mut scratch = vec![0i8; core.scratch_len()];
    assert_eq!(
        core.logits(&[127, -127], label, &mut scratch, &mut logits),
        Ok(())
    );
    let mut scratch = vec![0f32; core.scratch_len()];
    assert_eq!(
        core.reference_logits(&z, label, &mut scratch, &mut logits),
        Ok(())
    );
    Ok(())
}

/// Whether `result` is the error `FORMAT.md`'s order of checks gives for `blob`, whose
/// byte `at` was changed (CRC not fixed up).
fn is_expected_flip_error(result: Result<(), Error>, blob: &[u8], at: usize) -> bool {
    let len = blob.len();
    match (at, result) {
        (0..4, Err(Error::BadMagic)) => true,
        (
            4..6,
            Err(Error::UnsupportedVersion {
                found_major,
                supported_major,
            }),
        ) => {
            found_major == u16::from_le_bytes([blob[4], blob[5]]) && supported_major == FORMAT_MAJOR
        }
        // A flip between the two majors this crate reads (2 <-> 3): the CRC catches it.
        (4..6, Err(Error::CrcMismatch { .. })) => {
            let major = u16::from_le_bytes([blob[4], blob[5]]);
            major == INT8_MAJOR || major == FORMAT_MAJOR
        }
        (8..12, Err(e)) => {
            let body = u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]);
            let total = HEADER_LEN as u64 + u64::from(body) + CRC_LEN as u64;
            if total > len as u64 {
                e == Error::Truncated
            } else {
                matches!(e, Error::Malformed { .. })
            }
        }
        // Minor version, body and the CRC itself: the CRC catches every single-byte change
        // (the stored value is reported as is; computing it again here would double the
        // cost of this test in a debug build).
        (6..8 | 12.., Err(Error::CrcMismatch { expected, computed })) => {
            let stored = &blob[len - CRC_LEN..];
            expected == u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]])
                && computed != expected
        }
        _ => false,
    }
}

/// Changes byte `at` of `original` by `xor`, checks the load error; with `fix_crc`, also
/// fixes the CRC up so the body checks see the change: then a documented body error or a
/// blob that decodes. (Flips inside the CRC itself are undone by the fix-up.)
fn check_flip(original: &[u8], at: usize, mask: u8, fix_crc: bool) {
    let mut blob = original.to_vec();
    blob[at] ^= mask;
    let result = Decoder::<LATENT, HIDDEN>::from_bytes(&blob).map(|_| ());
    assert!(
        is_expected_flip_error(result, &blob, at),
        "byte {at} ^ {mask:#04x}: {result:?}"
    );
    if fix_crc && ((HEADER_LEN..original.len() - CRC_LEN).contains(&at) || (6..8).contains(&at)) {
        recrc(&mut blob);
        match load_and_decode(&blob) {
            Ok(())
            | Err(
                Error::Malformed { .. } | Error::InvalidScale { .. } | Error::DimsMismatch { .. },
            ) => {}
            Err(e) => panic!("byte {at} ^ {mask:#04x} with a fixed CRC: unexpected {e:?}"),
        }
    }
}

/// Structural bytes: the header, the first 128 body bytes (kind, latent_dim, layer count,
/// dims, scales, array length varints, the start of the arrays), the last 64 body bytes
/// (end of the pixel thresholds, metadata) and the CRC.
fn is_structural(len: usize, at: usize) -> bool {
    at < HEADER_LEN + 128 || at >= len - CRC_LEN - 64
}

#[test]
fn pristine_blobs_load_and_decode() {
    for blob in blobs() {
        assert_eq!(load_and_decode(&blob), Ok(()));
    }
}

/// Every byte xor 0xFF, in a release build (`cargo test --release`). Every parse runs a
/// CRC over the whole 17 KiB blob, about 0.7 ms unoptimised, so a debug build flips every
/// structural byte and every 31st byte of the bulk arrays (weights, biases, scales, thresholds; an
/// odd stride reaches every byte lane of their 4-byte values), and fixes the CRC up for
/// the structural ones only: about a second.
#[test]
fn every_byte_flipped_is_rejected_or_harmless() {
    let stride = if cfg!(debug_assertions) { 31 } else { 1 };
    for blob in blobs() {
        let len = blob.len();
        let mut flipped = 0;
        for at in 0..len {
            let structural = is_structural(len, at);
            if structural || at % stride == 0 {
                check_flip(&blob, at, 0xFF, structural || stride == 1);
                flipped += 1;
            }
        }
        assert!(flipped > 600, "only {flipped} bytes flipped");
    }
}

/// Every bit of the header, the first 16 body bytes and the CRC, CRC fixed up or not.
#[test]
fn every_structural_bit_flipped_is_rejected_or_harmless() {
    for blob in blobs() {
        let len = blob.len();
        for at in (0..HEADER_LEN + 16).chain(len - CRC_LEN..len) {
            for bit in 0..8 {
                check_flip(&blob, at, 1 << bit, true);
            }
        }
    }
}

#[test]
fn every_truncation_is_truncated() {
    for blob in blobs() {
        for len in 0..blob.len() {
            // FORMAT.md: fewer than 12 bytes is Truncated (before the magic is looked at);
            // from 12 bytes on, the header's length says more bytes are due: Truncated.
            assert_eq!(
                format::parse(&blob[..len]).err(),
                Some(Error::Truncated),
                "prefix of {len} bytes"
            );
            assert_eq!(
                Decoder::<LATENT, HIDDEN>::from_bytes(&blob[..len]).err(),
                Some(Error::Truncated),
                "prefix of {len} bytes"
            );
            if len >= HEADER_LEN {
                assert_eq!(format::blob_len(&blob[..len]), Ok(blob.len()));
            } else {
                assert_eq!(format::blob_len(&blob[..len]), Err(Error::Truncated));
            }
        }
    }
}

#[test]
fn trailing_bytes_are_malformed() {
    let mut blob = small_blob(false);
    blob.push(0);
    assert!(matches!(format::parse(&blob), Err(Error::Malformed { .. })));
}

#[test]
fn other_major_versions_are_unsupported_before_anything_else() {
    let blob = small_blob(true);
    for major in [0u16, 1, 4, 0x0100, u16::MAX] {
        let mut b = blob.clone();
        b[4..6].copy_from_slice(&major.to_le_bytes());
        // Also break everything after the version: the reader must not look at it.
        b.truncate(HEADER_LEN);
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            format::parse(&b),
            Err(Error::UnsupportedVersion {
                found_major: major,
                supported_major: FORMAT_MAJOR
            })
        );
    }
}

#[test]
fn newer_minor_version_may_append_fields() {
    // Each major's newest known minor: 2.1 for int8 blobs, 3.1 for int4 ones (a blob
    // of a newer minor holds every field of the known ones: the 3.1 blob here).
    for (blob, known) in [
        (small_blob(false), format::INT8_MINOR),
        (f16_prior_blob(), format::FORMAT_MINOR),
    ] {
        let body_len = blob.len() - HEADER_LEN - CRC_LEN;
        // Append 3 bytes of "new fields" inside the body, fix the length and CRC.
        let with_extra = |minor: u16| {
            let mut b = blob[..blob.len() - CRC_LEN].to_vec();
            b[6..8].copy_from_slice(&minor.to_le_bytes());
            b[8..12].copy_from_slice(&u32::try_from(body_len + 3).unwrap().to_le_bytes());
            b.extend([1, 2, 3, 0, 0, 0, 0]);
            recrc(&mut b);
            b
        };
        assert_eq!(load_and_decode(&with_extra(known + 1)), Ok(()));
        assert_eq!(load_and_decode(&with_extra(u16::MAX)), Ok(()));
        for own_or_older in 0..=known {
            assert!(matches!(
                format::parse(&with_extra(own_or_older)),
                Err(Error::Malformed { .. })
            ));
        }
    }
}

/// Every fuzz corpus file and every saved crasher, through the fuzz target's checks.
/// Crashers go to `fuzz/regressions/`; this test must pass once they are fixed.
#[test]
fn fuzz_corpus_and_regressions_replay() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files_in(&fuzz.join("corpus/decode"));
    assert!(
        corpus.len() >= 8,
        "the seed corpus is missing: run write_fuzz_seed_corpus"
    );
    for path in corpus.iter().chain(&files_in(&fuzz.join("regressions"))) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check::check_input(&data));
        assert!(outcome.is_ok(), "{} fails the fuzz checks", path.display());
    }
}

/// Regular files in `dir`, sorted (none if it does not exist).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && !p.ends_with(".gitkeep"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Writes the seed corpus of fuzz target `decode` (see `fuzz/README.md`).
#[test]
#[ignore = "writes fuzz/corpus/decode; run by hand"]
fn write_fuzz_seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode");
    std::fs::create_dir_all(&dir).unwrap();
    // Shapes that load into the fuzz target's Decoder<4, 32>, <20, 256> and <2, 16>.
    /// Name, latent, hidden widths, classes, the components of a mixture prior (format
    /// 2.1; 0 for N(0, I)), the layers' weight widths (format 3.0; empty: all int8) and
    /// whether the prior is stored in f16 (format 3.1).
    type Seed<'a> = (
        &'a str,
        usize,
        &'a [usize],
        Option<u8>,
        usize,
        &'a [WeightWidth],
        bool,
    );
    const I4: WeightWidth = WeightWidth::Int4;
    const I8: WeightWidth = WeightWidth::Int8;
    let models: [Seed<'_>; 17] = [
        ("l4-h16", 4, &[16], None, 0, &[], false),
        ("l4-h16-cond", 4, &[16], Some(10), 0, &[], false),
        ("l4-direct", 4, &[], None, 0, &[], false),
        ("l20-h32-h16", 20, &[32, 16], None, 0, &[], false),
        ("l20-h24-cond", 20, &[24], Some(10), 0, &[], false),
        ("l2-h8", 2, &[8], None, 0, &[], false),
        ("l2-h8-cond3", 2, &[8], Some(3), 0, &[], false),
        ("l2-h16-h8-h4-cond", 2, &[16, 8, 4], Some(10), 0, &[], false),
        ("l4-h16-mix3", 4, &[16], None, 3, &[], false),
        ("l20-h24-cond-mix2", 20, &[24], Some(10), 2, &[], false),
        ("l2-h8-mix1", 2, &[8], None, 1, &[], false),
        ("l4-h15-int4", 4, &[15], None, 0, &[I4, I4], false),
        (
            "l20-h24-cond-int8-int4",
            20,
            &[24],
            Some(10),
            0,
            &[I8, I4],
            false,
        ),
        (
            "l2-h9-h4-int4-mix2",
            2,
            &[9, 4],
            None,
            2,
            &[I4, I8, I4],
            false,
        ),
        ("l4-direct-int4", 4, &[], None, 0, &[I4], false),
        ("l4-h16-mix3-f16", 4, &[16], None, 3, &[], true),
        (
            "l2-h9-h4-int4-mix2-f16",
            2,
            &[9, 4],
            None,
            2,
            &[I4, I8, I4],
            true,
        ),
    ];
    for (k, (name, latent, hidden, classes, components, widths, f16)) in
        models.into_iter().enumerate()
    {
        let mut q = QuantizedMlp::random_widths(k as u64 + 1, latent, hidden, classes, widths);
        if components > 0 {
            let n = components * latent;
            let weights: Vec<f32> = (1..=components).map(|c| c as f32).collect();
            let means: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
            let stds: Vec<f32> = (0..n).map(|i| 0.25 + (i % 3) as f32 * 0.5).collect();
            let mixture = OwnedMixture::new(latent, &weights, &means, &stds).unwrap();
            q.prior = Some(if f16 {
                mixture.to_f16().unwrap()
            } else {
                mixture
            });
        }
        let blob = q.blob();
        // Tail records: digit, seed, pattern, latent (see fuzz/src/check.rs).
        let mut tail = Vec::new();
        for (digit, seed, pattern) in [(3u8, 42u64, 0u8), (9, u64::MAX, 0x21), (12, 0, 0x0E)] {
            tail.push(digit);
            tail.extend(seed.to_le_bytes());
            tail.push(pattern);
            for i in 0..latent {
                tail.extend((i as f32 * 0.37 - 1.0).to_le_bytes());
            }
        }
        std::fs::write(dir.join(format!("{name}.bin")), &blob).unwrap();
        std::fs::write(
            dir.join(format!("{name}-tail.bin")),
            [&blob[..], &tail].concat(),
        )
        .unwrap();
        if k == 0 {
            for cut in [0, 11, 12, 40, blob.len() - 1] {
                std::fs::write(dir.join(format!("{name}-cut{cut}.bin")), &blob[..cut]).unwrap();
            }
        }
    }
}
