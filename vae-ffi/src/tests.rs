//! The C API called as C calls it: every bad input gets its code, good input gets the
//! bytes of vae-core's `Decoder` (and the golden CRC-32s).
//!
//! SAFETY, for every `unsafe` call below: the pointers are valid for what they claim, or
//! are the bad ones under test (NULL, misaligned, overlapping, too long), which the API
//! rejects before reading or writing through them.
#![allow(clippy::undocumented_unsafe_blocks)]

extern crate std;

use std::string::String;
use std::vec;
use std::vec::Vec;

use core::ptr::{null, null_mut};

use vae_core::testing::{QuantizedMlp, recrc};
use vae_core::{Decoder, Request, Shape};

use super::*;

const BLOB: &[u8] = include_bytes!("../../examples/models/decoder.bin");
const GOLDEN: &str = include_str!("../../examples/models/golden.txt");
const SHAPE: Shape = Shape::of(BLOB);

/// A blob and a decoder opened over it (the blob is boxed: its address must not move).
struct Opened {
    blob: Vec<u8>,
    dec: std::boxed::Box<vae_decoder>,
    shape: vae_shape,
}

fn closed() -> std::boxed::Box<vae_decoder> {
    std::boxed::Box::new(vae_decoder {
        opaque: [0; VAE_DECODER_WORDS],
    })
}

fn open(blob: Vec<u8>) -> Opened {
    let mut dec = closed();
    // `blob` lives in `Opened` with the decoder.
    assert_eq!(
        unsafe { vae_open(&mut *dec, blob.as_ptr(), blob.len()) },
        VAE_OK
    );
    let mut shape = vae_shape::default();
    assert_eq!(unsafe { vae_decoder_shape(&*dec, &mut shape) }, VAE_OK);
    Opened { blob, dec, shape }
}

fn open_err(blob: &[u8]) -> vae_error {
    let mut dec = closed();
    let e = unsafe { vae_open(&mut *dec, blob.as_ptr(), blob.len()) };
    assert_ne!(e, VAE_OK);
    // A failed open leaves the decoder closed.
    let mut shape = vae_shape::default();
    assert_eq!(
        unsafe { vae_decoder_shape(&*dec, &mut shape) },
        VAE_ERROR_NOT_OPEN
    );
    e
}

fn conditional() -> Opened {
    open(QuantizedMlp::random(3, 6, &[24, 40], Some(10)).blob())
}

impl Opened {
    fn default_blob() -> Opened {
        open(BLOB.to_vec())
    }

    /// `vae_generate` with buffers of the right sizes; the image on success.
    fn generate(&self, request: vae_request) -> Result<[u8; IMAGE_PIXELS], vae_error> {
        let mut scratch = vec![0u8; self.shape.scratch_bytes];
        let mut image = [0u8; IMAGE_PIXELS];
        let e = unsafe {
            vae_generate(
                &*self.dec,
                &request,
                scratch.as_mut_ptr().cast(),
                scratch.len(),
                image.as_mut_ptr(),
                image.len(),
            )
        };
        if e == VAE_OK { Ok(image) } else { Err(e) }
    }

    fn decode(&self, z: &[f32], digit: i32) -> Result<[u8; IMAGE_PIXELS], vae_error> {
        let mut scratch = vec![0u8; self.shape.scratch_bytes];
        let mut image = [0u8; IMAGE_PIXELS];
        let e = unsafe {
            vae_decode(
                &*self.dec,
                z.as_ptr(),
                z.len(),
                digit,
                scratch.as_mut_ptr().cast(),
                scratch.len(),
                image.as_mut_ptr(),
                image.len(),
            )
        };
        if e == VAE_OK { Ok(image) } else { Err(e) }
    }

    fn prior_latent(&self, request: vae_request) -> Result<Vec<f32>, vae_error> {
        let mut z = vec![0f32; self.shape.latent];
        let e = unsafe { vae_prior_latent(&*self.dec, &request, z.as_mut_ptr(), z.len()) };
        if e == VAE_OK { Ok(z) } else { Err(e) }
    }
}

fn request(seed: u64) -> vae_request {
    vae_request {
        seed,
        ..vae_request::default()
    }
}

fn with_digit(seed: u64, digit: u32) -> vae_request {
    vae_request {
        seed,
        digit,
        has_digit: 1,
        ..vae_request::default()
    }
}

fn with_temperature(r: vae_request, t: f32) -> vae_request {
    vae_request {
        temperature: t,
        has_temperature: 1,
        ..r
    }
}

#[test]
fn golden_crcs_of_the_default_blob() {
    let opened = Opened::default_blob();
    let mut lines = String::new();
    for seed in 0..8 {
        let image = opened.generate(request(seed)).unwrap();
        let crc = unsafe { vae_crc32(image.as_ptr(), image.len()) };
        lines += &std::format!("seed {seed}: crc32 {crc:08x}\n");
    }
    assert_eq!(lines, GOLDEN);
}

#[test]
fn same_bytes_as_vae_core_on_a_conditional_blob() {
    let opened = conditional();
    let decoder = Decoder::<6, 40>::from_bytes(&opened.blob).unwrap();
    for (seed, digit) in [(0, 0), (1, 7), (2, 9)] {
        for t in [None, Some(0.0), Some(1.3)] {
            let mut expected = [0u8; IMAGE_PIXELS];
            let mut req = Request::new(seed).digit(digit as u8);
            let mut c_req = with_digit(seed, digit);
            if let Some(t) = t {
                req = req.temperature(t);
                c_req = with_temperature(c_req, t);
            }
            decoder.generate(&req, &mut expected).unwrap();
            assert_eq!(opened.generate(c_req), Ok(expected));
            // decode(prior_latent(request)) is generate(request).
            let z = opened.prior_latent(c_req).unwrap();
            assert_eq!(z, decoder.prior_latent(&req).unwrap());
            assert_eq!(opened.decode(&z, digit as i32), Ok(expected));
        }
    }
}

#[test]
fn shapes_and_metadata() {
    let opened = Opened::default_blob();
    assert_eq!(
        opened.shape,
        vae_shape {
            latent: SHAPE.latent,
            hidden: SHAPE.hidden,
            layers: SHAPE.layers,
            classes: 0,
            macs: SHAPE.macs,
            scratch_bytes: 5 * 20 + 2 * 256 + 3,
        }
    );
    let mut read = vae_shape::default();
    assert_eq!(
        unsafe { vae_blob_shape(BLOB.as_ptr(), BLOB.len(), &mut read) },
        VAE_OK
    );
    assert_eq!(read, opened.shape);
    let mut m = vae_metadata {
        seed: 0,
        test_loss: 0.0,
        has_seed: 0,
        has_test_loss: 0,
        note: null(),
        note_len: 0,
    };
    assert_eq!(
        unsafe { vae_decoder_metadata(&*opened.dec, &mut m) },
        VAE_OK
    );
    let core = DecoderCore::from_bytes(BLOB).unwrap();
    let expected = core.model().metadata;
    assert_eq!((m.has_seed != 0).then_some(m.seed), expected.seed);
    assert_eq!(
        (m.has_test_loss != 0).then_some(m.test_loss),
        expected.test_loss
    );
    let note = unsafe { core::slice::from_raw_parts(m.note, m.note_len) };
    assert_eq!(note, expected.note.as_bytes());
    assert_eq!(conditional().shape.classes, 10);
}

#[test]
fn stack_constant_covers_vae_cores_figure() {
    // vae-core's figure counts the activations and the latent, which this API keeps in
    // the scratch; the rest is the decode's overhead. 256 bytes for this crate's frames.
    let overhead = SHAPE.stack_bytes - 2 * SHAPE.hidden - 5 * SHAPE.latent;
    assert!(overhead + 256 <= VAE_DECODE_STACK_BYTES, "{overhead}");
}

#[test]
fn any_scratch_alignment_gives_the_same_bytes() {
    let opened = Opened::default_blob();
    let expected = opened.generate(request(5)).unwrap();
    let mut big = vec![0u8; opened.shape.scratch_bytes + 8];
    for offset in 0..8 {
        let scratch = &mut big[offset..offset + opened.shape.scratch_bytes];
        let mut image = [0u8; IMAGE_PIXELS];
        let e = unsafe {
            vae_generate(
                &*opened.dec,
                &request(5),
                scratch.as_mut_ptr().cast(),
                scratch.len(),
                image.as_mut_ptr(),
                image.len(),
            )
        };
        assert_eq!((e, image), (VAE_OK, expected), "offset {offset}");
    }
}

#[test]
fn bad_blobs() {
    // Too short for a header, or shorter than the header says.
    for len in [0, 1, 11, 12, 100, BLOB.len() - 1] {
        assert_eq!(open_err(&BLOB[..len]), VAE_ERROR_TRUNCATED, "len {len}");
    }
    let mut bad = BLOB.to_vec();
    bad[0] = b'X';
    assert_eq!(open_err(&bad), VAE_ERROR_BAD_MAGIC);
    let mut bad = BLOB.to_vec();
    bad[4] = 9;
    assert_eq!(open_err(&bad), VAE_ERROR_UNSUPPORTED_VERSION);
    let mut bad = BLOB.to_vec();
    bad[1000] ^= 0x40;
    assert_eq!(open_err(&bad), VAE_ERROR_CRC_MISMATCH);
    // Checksummed, but the latent size (byte 13) disagrees with the first layer.
    let mut bad = BLOB.to_vec();
    bad[13] = 19;
    recrc(&mut bad);
    assert_eq!(open_err(&bad), VAE_ERROR_MALFORMED);
    // Checksummed, but the latent scale (layer 0's input_scale, bytes 18..22) is negative.
    let mut bad = BLOB.to_vec();
    bad[18..22].copy_from_slice(&(-1.0f32).to_le_bytes());
    recrc(&mut bad);
    assert_eq!(open_err(&bad), VAE_ERROR_INVALID_SCALE);
    // The shape reader agrees on what it reads.
    let mut shape = vae_shape::default();
    let e = unsafe { vae_blob_shape(BLOB.as_ptr(), 5, &mut shape) };
    assert_eq!(e, VAE_ERROR_TRUNCATED);
    let e = unsafe { vae_blob_shape(b"not a blob at all".as_ptr(), 17, &mut shape) };
    assert_eq!(e, VAE_ERROR_BAD_MAGIC);
}

#[test]
fn bad_pointers_to_open() {
    let mut dec = closed();
    assert_eq!(
        unsafe { vae_open(null_mut(), BLOB.as_ptr(), BLOB.len()) },
        VAE_ERROR_NULL_POINTER
    );
    assert_eq!(
        unsafe { vae_open(&mut *dec, null(), BLOB.len()) },
        VAE_ERROR_NULL_POINTER
    );
    assert_eq!(
        unsafe { vae_open(&mut *dec, null(), 0) },
        VAE_ERROR_NULL_POINTER
    );
    // A length past the end of the address space.
    assert_eq!(
        unsafe { vae_open(&mut *dec, BLOB.as_ptr(), usize::MAX) },
        VAE_ERROR_BAD_POINTER
    );
    // A misaligned decoder.
    let mut words = vec![0u64; VAE_DECODER_WORDS + 1];
    let misaligned = unsafe { words.as_mut_ptr().cast::<u8>().add(4) }.cast::<vae_decoder>();
    assert_eq!(
        unsafe { vae_open(misaligned, BLOB.as_ptr(), BLOB.len()) },
        VAE_ERROR_BAD_POINTER
    );
    // The decoder inside its own blob.
    let mut both = vec![0u64; BLOB.len() / 8 + VAE_DECODER_WORDS + 1];
    let bytes = both.as_mut_ptr().cast::<u8>();
    unsafe { bytes.copy_from_nonoverlapping(BLOB.as_ptr(), BLOB.len()) };
    let e = unsafe { vae_open(bytes.cast(), bytes, BLOB.len()) };
    assert_eq!(e, VAE_ERROR_BAD_POINTER);
    let mut shape = vae_shape::default();
    assert_eq!(
        unsafe { vae_blob_shape(null(), 10, &mut shape) },
        VAE_ERROR_NULL_POINTER
    );
    assert_eq!(
        unsafe { vae_blob_shape(BLOB.as_ptr(), BLOB.len(), null_mut()) },
        VAE_ERROR_NULL_POINTER
    );
}

#[test]
fn closed_decoders() {
    let dec = closed(); // zero-initialised: never opened
    let mut shape = vae_shape::default();
    let mut image = [0u8; IMAGE_PIXELS];
    let mut scratch = [0u8; 1024];
    let mut z = [0f32; 20];
    let mut m = core::mem::MaybeUninit::<vae_metadata>::uninit();
    unsafe {
        assert_eq!(vae_decoder_shape(&*dec, &mut shape), VAE_ERROR_NOT_OPEN);
        assert_eq!(
            vae_decoder_metadata(&*dec, m.as_mut_ptr()),
            VAE_ERROR_NOT_OPEN
        );
        let e = vae_generate(
            &*dec,
            &request(1),
            scratch.as_mut_ptr().cast(),
            1024,
            image.as_mut_ptr(),
            784,
        );
        assert_eq!(e, VAE_ERROR_NOT_OPEN);
        let e = vae_decode(
            &*dec,
            z.as_ptr(),
            20,
            -1,
            scratch.as_mut_ptr().cast(),
            1024,
            image.as_mut_ptr(),
            784,
        );
        assert_eq!(e, VAE_ERROR_NOT_OPEN);
        assert_eq!(
            vae_prior_latent(&*dec, &request(1), z.as_mut_ptr(), 20),
            VAE_ERROR_NOT_OPEN
        );
        // NULL decoders.
        assert_eq!(
            vae_decoder_shape(null(), &mut shape),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_decoder_metadata(null(), m.as_mut_ptr()),
            VAE_ERROR_NULL_POINTER
        );
        let e = vae_generate(
            null(),
            &request(1),
            scratch.as_mut_ptr().cast(),
            1024,
            image.as_mut_ptr(),
            784,
        );
        assert_eq!(e, VAE_ERROR_NULL_POINTER);
        let e = vae_decode(
            null(),
            z.as_ptr(),
            20,
            -1,
            scratch.as_mut_ptr().cast(),
            1024,
            image.as_mut_ptr(),
            784,
        );
        assert_eq!(e, VAE_ERROR_NULL_POINTER);
        assert_eq!(
            vae_prior_latent(null(), &request(1), z.as_mut_ptr(), 20),
            VAE_ERROR_NULL_POINTER
        );
    }
}

#[test]
fn bad_pointers_to_decode_calls() {
    let o = Opened::default_blob();
    let dec = &*o.dec;
    let n = o.shape.scratch_bytes;
    let mut scratch = vec![0u8; n + IMAGE_PIXELS];
    let s = scratch.as_mut_ptr();
    let mut image = [0u8; IMAGE_PIXELS];
    let im = image.as_mut_ptr();
    let z = [0.5f32; 21];
    let mut shape = vae_shape::default();
    let r = request(1);
    unsafe {
        // NULL outputs and inputs.
        assert_eq!(vae_decoder_shape(dec, null_mut()), VAE_ERROR_NULL_POINTER);
        assert_eq!(
            vae_decoder_metadata(dec, null_mut()),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_generate(dec, null(), s.cast(), n, im, 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_generate(dec, &r, null_mut(), n, im, 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n, null_mut(), 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_decode(dec, null(), 20, -1, s.cast(), n, im, 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_decode(dec, z.as_ptr(), 20, -1, null_mut(), n, im, 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_decode(dec, z.as_ptr(), 20, -1, s.cast(), n, null_mut(), 784),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_prior_latent(dec, null(), null_mut(), 20),
            VAE_ERROR_NULL_POINTER
        );
        assert_eq!(
            vae_prior_latent(dec, &r, null_mut(), 20),
            VAE_ERROR_NULL_POINTER
        );
        // Misaligned structs and floats.
        let raw = [0u64; 8];
        let odd = raw.as_ptr().cast::<u8>().add(1);
        assert_eq!(
            vae_generate(dec, odd.cast(), s.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_generate(odd.cast(), &r, s.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_decode(dec, odd.cast(), 2, -1, s.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_decoder_shape(dec, odd.cast_mut().cast()),
            VAE_ERROR_BAD_POINTER
        );
        // Lengths past the end of the address space.
        assert_eq!(
            vae_generate(dec, &r, s.cast(), usize::MAX, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n, im, usize::MAX),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_decode(dec, z.as_ptr(), usize::MAX / 2, -1, s.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        // Overlaps: scratch and image, image inside the blob, z inside the scratch.
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n, s.add(n - 1), 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_generate(dec, &r, s.add(783).cast(), n, s, 784),
            VAE_ERROR_BAD_POINTER
        );
        let blob_byte = o.blob.as_ptr().add(100).cast_mut();
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n, blob_byte, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_generate(dec, &r, blob_byte.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        let dec_byte = (dec as *const vae_decoder).cast::<u8>().cast_mut();
        assert_eq!(
            vae_generate(dec, &r, dec_byte.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        let zs = s.add(4).cast::<f32>();
        assert_eq!(
            vae_decode(dec, zs, 20, -1, s.cast(), n, im, 784),
            VAE_ERROR_BAD_POINTER
        );
        assert_eq!(
            vae_prior_latent(dec, &r, blob_byte.add(3).cast(), 20),
            VAE_ERROR_BAD_POINTER
        );
        // Nothing was written by the failed calls.
        assert!(image.iter().all(|&p| p == 0));
        // Sizes: scratch, image, latent length.
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n - 1, im, 784),
            VAE_ERROR_SCRATCH_TOO_SMALL
        );
        assert_eq!(
            vae_generate(dec, &r, s.cast(), 0, im, 784),
            VAE_ERROR_SCRATCH_TOO_SMALL
        );
        assert_eq!(
            vae_generate(dec, &r, s.cast(), n, im, 783),
            VAE_ERROR_IMAGE_TOO_SMALL
        );
        assert_eq!(
            vae_decode(dec, z.as_ptr(), 20, -1, s.cast(), n - 1, im, 784),
            VAE_ERROR_SCRATCH_TOO_SMALL
        );
        assert_eq!(
            vae_decode(dec, z.as_ptr(), 20, -1, s.cast(), n, im, 0),
            VAE_ERROR_IMAGE_TOO_SMALL
        );
        for len in [0, 19, 21] {
            assert_eq!(
                vae_decode(dec, z.as_ptr(), len, -1, s.cast(), n, im, 784),
                VAE_ERROR_LATENT_LENGTH
            );
            let mut out = [0f32; 21];
            assert_eq!(
                vae_prior_latent(dec, &r, out.as_mut_ptr(), len),
                VAE_ERROR_LATENT_LENGTH
            );
        }
        // A larger image than needed is fine (its first 784 bytes are written).
        assert_eq!(
            vae_decode(dec, z.as_ptr(), 20, -1, s.cast(), n, im, 784),
            VAE_OK
        );
        assert_eq!(vae_decoder_shape(dec, &mut shape), VAE_OK);
    }
}

#[test]
fn digits_against_the_blob_kind() {
    let uncond = Opened::default_blob();
    let z = [0.1f32; 20];
    for digit in [0, 7, 10, 255, 256, u32::MAX] {
        assert_eq!(
            uncond.generate(with_digit(1, digit)),
            Err(VAE_ERROR_NOT_CONDITIONAL)
        );
        assert_eq!(
            uncond.prior_latent(with_digit(1, digit)),
            Err(VAE_ERROR_NOT_CONDITIONAL)
        );
    }
    for digit in [0, 9, 10, i32::MAX] {
        assert_eq!(uncond.decode(&z, digit), Err(VAE_ERROR_NOT_CONDITIONAL));
    }
    assert!(uncond.decode(&z, VAE_NO_DIGIT).is_ok());
    assert!(uncond.decode(&z, i32::MIN).is_ok()); // any negative: no digit
    // The digit comes before the temperature (vae-core's order).
    let both = with_temperature(with_digit(1, 3), f32::NAN);
    assert_eq!(uncond.generate(both), Err(VAE_ERROR_NOT_CONDITIONAL));

    let cond = conditional();
    let z = [0.1f32; 6];
    assert_eq!(cond.generate(request(1)), Err(VAE_ERROR_MISSING_DIGIT));
    assert_eq!(cond.prior_latent(request(1)), Err(VAE_ERROR_MISSING_DIGIT));
    assert_eq!(cond.decode(&z, VAE_NO_DIGIT), Err(VAE_ERROR_MISSING_DIGIT));
    for digit in [10, 11, 255, 256, 1 << 16, u32::MAX] {
        assert_eq!(
            cond.generate(with_digit(1, digit)),
            Err(VAE_ERROR_INVALID_DIGIT)
        );
        assert_eq!(
            cond.prior_latent(with_digit(1, digit)),
            Err(VAE_ERROR_INVALID_DIGIT)
        );
    }
    for digit in [10, 255, 256, i32::MAX] {
        assert_eq!(cond.decode(&z, digit), Err(VAE_ERROR_INVALID_DIGIT));
    }
    for digit in 0..10 {
        assert!(cond.generate(with_digit(1, digit)).is_ok());
        assert!(cond.decode(&z, digit as i32).is_ok());
    }
}

#[test]
fn temperatures_and_latents() {
    let o = Opened::default_blob();
    for t in [
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.5,
        -f32::MIN_POSITIVE,
    ] {
        assert_eq!(
            o.generate(with_temperature(request(1), t)),
            Err(VAE_ERROR_INVALID_TEMPERATURE),
            "{t}"
        );
        assert_eq!(
            o.prior_latent(with_temperature(request(1), t)),
            Err(VAE_ERROR_INVALID_TEMPERATURE)
        );
    }
    // 0 (the centre of the seed's prior component) and -0 are valid; a temperature whose
    // latent overflows is not.
    let centre = o.generate(with_temperature(request(1), 0.0)).unwrap();
    assert_eq!(o.generate(with_temperature(request(1), -0.0)), Ok(centre));
    let z = o.prior_latent(with_temperature(request(1), 0.0)).unwrap();
    assert_eq!(o.decode(&z, VAE_NO_DIGIT), Ok(centre));
    assert_eq!(
        o.generate(with_temperature(request(1), f32::MAX)),
        Err(VAE_ERROR_NON_FINITE_LATENT)
    );
    // The temperature flag decides, not the value.
    let t = vae_request {
        temperature: f32::NAN,
        ..request(3)
    };
    assert_eq!(o.generate(t), o.generate(request(3)));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for at in [0, 7, 19] {
            let mut z = [0.25f32; 20];
            z[at] = bad;
            assert_eq!(o.decode(&z, VAE_NO_DIGIT), Err(VAE_ERROR_NON_FINITE_LATENT));
        }
    }
}

#[test]
fn error_messages() {
    let message = |code: i32| {
        let ptr = vae_error_message(code);
        assert!(!ptr.is_null());
        // The messages are static C strings.
        unsafe { core::ffi::CStr::from_ptr(ptr) }.to_str().unwrap()
    };
    let known: Vec<&str> = (0..=VAE_ERROR_OTHER as i32).map(message).collect();
    for (code, text) in known.iter().enumerate() {
        assert!(!text.is_empty() && !text.starts_with("unknown"), "{code}");
        assert_eq!(known.iter().filter(|t| *t == text).count(), 1, "{code}");
    }
    assert_eq!(message(VAE_OK as i32), "success");
    assert!(message(VAE_ERROR_CRC_MISMATCH as i32).contains("checksum"));
    for unknown in [-1, VAE_ERROR_OTHER as i32 + 1, i32::MAX, i32::MIN] {
        assert_eq!(message(unknown), "unknown vae_error code");
    }
}

#[test]
fn crc32_of_c_buffers() {
    assert_eq!(unsafe { vae_crc32(b"123456789".as_ptr(), 9) }, 0xCBF4_3926);
    assert_eq!(unsafe { vae_crc32(null(), 5) }, 0);
    assert_eq!(unsafe { vae_crc32(b"x".as_ptr(), 0) }, 0);
}
