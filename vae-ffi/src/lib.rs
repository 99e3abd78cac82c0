//! The C API of vae-core: `extern "C"` functions over caller-provided memory, for firmware
//! and programs written in C. `include/vae.h` is generated from this file by cbindgen
//! (`tests/header.rs` fails when it is out of date; `VAE_FFI_BLESS=1 cargo test -p vae-ffi
//! --test header` rewrites it).
//!
//! Memory: nothing is allocated. The caller provides the decoder state (`vae_decoder`,
//! `VAE_DECODER_SIZE` bytes), the blob (read in place, kept alive by the caller), a
//! scratch buffer per decode (`vae_shape.scratch_bytes`) and the image. A decode
//! needs at most `VAE_DECODE_STACK_BYTES` of stack on a microcontroller, opening
//! `VAE_OPEN_STACK_BYTES`.
//!
//! Errors: every function checks its pointers (NULL, alignment, overlap of the buffers it
//! writes with those it reads), the decoder (opened or not) and its inputs, and answers
//! with a `vae_error` code; `vae_error_message` says what to do about it.
//!
//! Panics: none. This crate indexes nothing, unwraps nothing and does its size
//! arithmetic with checked or saturating operations; vae-core promises no panic for any
//! blob and input (its tests and fuzzing check it). The compiler cannot prove all of
//! vae-core's checks, so a few unreachable panic branches stay in the binary. For
//! microcontroller targets (`target_os = "none"`) the crate brings the panic handler a
//! `no_std` static library must have: on Arm a `UDF` instruction, which C firmware sees
//! as a HardFault (no formatting, no unwinding: the workspace's `embedded` profile builds
//! with `panic = "abort"`). On an operating system the library links `std` for its panic
//! runtime; a panic could not unwind into C anyway (Rust aborts at an `extern "C"`
//! boundary).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// The C names are the API (cbindgen copies them into the header as they are).
#![allow(non_camel_case_types)]

#[cfg(not(target_os = "none"))]
extern crate std;

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};
use core::ptr;

use vae_core::format::crc32;
use vae_core::{DecoderCore, Error, IMAGE_PIXELS, IMAGE_SIDE, Request, Shape};

/// Width and height of an image, in pixels.
pub const VAE_IMAGE_SIDE: usize = 28;
/// Bytes of an image: 28 x 28 grey levels, row-major, 0 = black, 255 = white.
pub const VAE_IMAGE_PIXELS: usize = 784;
/// The `digit` of `vae_decode` for an unconditional blob (any negative value means no
/// digit).
pub const VAE_NO_DIGIT: i32 = -1;

/// Bytes of a `vae_decoder` on a target with 64-bit pointers (with headroom: 992 today).
#[cfg(target_pointer_width = "64")]
pub const VAE_DECODER_SIZE: usize = 1280;
/// Bytes of a `vae_decoder` on a target with 32-bit pointers, e.g. Cortex-M (with
/// headroom: 576 today).
#[cfg(not(target_pointer_width = "64"))]
pub const VAE_DECODER_SIZE: usize = 768;
/// `VAE_DECODER_SIZE` in 8-byte words (the decoder's alignment is 8).
#[cfg(target_pointer_width = "64")]
pub const VAE_DECODER_WORDS: usize = 160;
/// `VAE_DECODER_SIZE` in 8-byte words (the decoder's alignment is 8).
#[cfg(not(target_pointer_width = "64"))]
pub const VAE_DECODER_WORDS: usize = 96;

/// Bytes of stack a decode call (`vae_generate`, `vae_decode`) needs on a
/// microcontroller, whatever the blob: the decode keeps its activations and latent in the
/// caller's scratch, so only the call frames and the Cortex-M4 kernel's 512-byte copy of
/// a layer's input remain. Measured on the C firmware's Cortex-M4 under QEMU (stack
/// painting: 1,396 bytes with the firmware's own frames), with headroom. An x86-64 host
/// with AVX-512 adds about 5 KB.
pub const VAE_DECODE_STACK_BYTES: usize = 1792;

/// Bytes of stack `vae_open` needs on a microcontroller: vae-core's parser moves the
/// parsed model (a few hundred bytes) through several frames. Measured like
/// `VAE_DECODE_STACK_BYTES` (4,468 bytes), with headroom.
pub const VAE_OPEN_STACK_BYTES: usize = 6144;

/// A decoder: opaque storage of a fixed size for `vae_open` to fill.
///
/// Declare one anywhere (a `static`, the stack, a struct member); its size and alignment
/// are known at compile time. It holds no pointer to itself, so an opened decoder may be
/// copied. It borrows the blob given to `vae_open`: keep the blob alive and unchanged
/// while the decoder is used. Nothing needs closing. Decode calls only read it, so threads
/// may share one decoder.
#[repr(C)]
pub struct vae_decoder {
    /// Private: a validated model that borrows the blob, and a tag saying it is open.
    opaque: [u64; VAE_DECODER_WORDS],
}

/// What to draw: a seed, optionally a digit and a temperature. A zero-initialised request
/// (`vae_request req = { .seed = 42 };`) is seed 42 without a digit at the default
/// temperature.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct vae_request {
    /// Seed of the latent's random draw: the same seed gives the same bytes on every
    /// target.
    pub seed: u64,
    /// The digit to draw when `has_digit` is non-zero (class-conditional blobs only),
    /// `0` to the blob's class count minus one.
    pub digit: u32,
    /// The temperature when `has_temperature` is non-zero: the spread of the latent around
    /// the prior's centre, finite and `>= 0` (0 is valid: the centre itself).
    pub temperature: f32,
    /// Non-zero: draw `digit`. Zero: no digit (unconditional blobs).
    pub has_digit: u8,
    /// Non-zero: use `temperature`. Zero: the default, 0.5 with a digit (the asked digit
    /// is recognised 99.4% of the time), 1.0 without (the prior as trained).
    pub has_temperature: u8,
}

/// The sizes of an opened blob.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vae_shape {
    /// Latent values (`z_len` of `vae_decode` and `vae_prior_latent`).
    pub latent: usize,
    /// Widest hidden layer (0 for a one-layer model).
    pub hidden: usize,
    /// Dense layers.
    pub layers: usize,
    /// Classes of a class-conditional blob (a digit is required); 0 for an unconditional
    /// one (no digit).
    pub classes: usize,
    /// Multiply-accumulates per image.
    pub macs: usize,
    /// Bytes of scratch every decode call needs: `5 * latent + 2 * hidden + 3` (the latent
    /// as `float` and as `int8`, two activation buffers, alignment). Any alignment.
    pub scratch_bytes: usize,
}

/// Where a blob came from (not used for decoding).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct vae_metadata {
    /// Training seed, when `has_seed` is non-zero.
    pub seed: u64,
    /// Test loss of the quantized model per image, in nats, when `has_test_loss` is
    /// non-zero.
    pub test_loss: f32,
    /// Non-zero when `seed` is known.
    pub has_seed: u8,
    /// Non-zero when `test_loss` is known.
    pub has_test_loss: u8,
    /// Free text (UTF-8, `note_len` bytes, *not* NUL-terminated) inside the blob.
    pub note: *const u8,
    /// Bytes of `note`.
    pub note_len: usize,
}

/// The result of every call: `VAE_OK` or what went wrong.
///
/// The values are stable; in C the type is an `int32_t`. `vae_error_message` has a
/// sentence for each.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum vae_error {
    /// Success.
    VAE_OK = 0,
    /// A pointer argument is NULL.
    VAE_ERROR_NULL_POINTER = 1,
    /// A pointer is not aligned for its type, a length runs past the end of the address
    /// space, or a buffer the call writes overlaps one it reads.
    VAE_ERROR_BAD_POINTER = 2,
    /// The decoder was not opened (or its `vae_open` failed).
    VAE_ERROR_NOT_OPEN = 3,
    /// The blob is shorter than its header says (or than a header).
    VAE_ERROR_TRUNCATED = 4,
    /// Not a decoder blob.
    VAE_ERROR_BAD_MAGIC = 5,
    /// The blob's major format version is not the one this library reads.
    VAE_ERROR_UNSUPPORTED_VERSION = 6,
    /// The blob's CRC-32 does not match: it is corrupted.
    VAE_ERROR_CRC_MISMATCH = 7,
    /// The blob's body does not decode or is inconsistent.
    VAE_ERROR_MALFORMED = 8,
    /// A scale of the blob is invalid.
    VAE_ERROR_INVALID_SCALE = 9,
    /// A digit was given to an unconditional blob.
    VAE_ERROR_NOT_CONDITIONAL = 10,
    /// No digit was given to a class-conditional blob.
    VAE_ERROR_MISSING_DIGIT = 11,
    /// The digit is not one of the blob's classes.
    VAE_ERROR_INVALID_DIGIT = 12,
    /// The temperature is NaN, infinite or negative.
    VAE_ERROR_INVALID_TEMPERATURE = 13,
    /// A latent value is NaN or infinite (or a temperature so large that it overflows).
    VAE_ERROR_NON_FINITE_LATENT = 14,
    /// `z_len` is not the blob's latent length.
    VAE_ERROR_LATENT_LENGTH = 15,
    /// The scratch is smaller than `vae_shape.scratch_bytes`.
    VAE_ERROR_SCRATCH_TOO_SMALL = 16,
    /// The image is smaller than `VAE_IMAGE_PIXELS`.
    VAE_ERROR_IMAGE_TOO_SMALL = 17,
    /// An error this version of the API does not name (a newer vae-core).
    VAE_ERROR_OTHER = 18,
}

use vae_error::*;

/// The message of every code, in code order (`vae_error_message`).
const MESSAGES: [&core::ffi::CStr; 19] = [
    c"success",
    c"a pointer argument is NULL",
    c"a pointer is misaligned for its type, a length runs past the address space, or a buffer the call writes overlaps one it reads: pass separate, aligned buffers",
    c"the decoder is not open: call vae_open first and check its result",
    c"the blob is truncated (shorter than its header says): pass the whole file and its length",
    c"not a decoder blob (bad magic bytes): pass the decoder.bin written by vae-export",
    c"the blob's format major version is not supported: re-export it with the vae-export that matches this library",
    c"the blob's checksum does not match: it is corrupted; copy or flash it again",
    c"the blob is malformed: re-export it with vae-export",
    c"a layer of the blob has an invalid scale: re-export it with vae-export",
    c"this blob is unconditional: pass no digit (has_digit = 0, VAE_NO_DIGIT)",
    c"this blob is class-conditional: pass a digit (has_digit = 1)",
    c"the digit is not a class of this blob: pass 0 to vae_shape.classes - 1",
    c"the temperature is NaN, infinite or negative: pass a finite value >= 0, or has_temperature = 0 for the default",
    c"a latent value is NaN or infinite: pass finite values (or a smaller temperature)",
    c"z_len is not the blob's latent length: pass vae_shape.latent values",
    c"the scratch buffer is too small: pass vae_shape.scratch_bytes bytes",
    c"the image buffer is too small: pass VAE_IMAGE_PIXELS (784) bytes",
    c"an error this version of the C API does not name",
];

// One message per code.
const _: () = assert!(MESSAGES.len() == VAE_ERROR_OTHER as usize + 1);

/// What `vae_open` writes into a `vae_decoder`.
#[repr(C)]
struct State {
    /// `OPEN` once opened; anything else is not a decoder.
    tag: u64,
    /// The blob's address range, which the buffers a decode writes must not overlap.
    blob: Range,
    core: DecoderCore<'static>,
}

/// The tag of an opened decoder.
const OPEN: u64 = u64::from_le_bytes(*b"vae-open");

// The state fits the storage the header declares, on every target this compiles for.
const _: () = assert!(size_of::<State>() <= size_of::<vae_decoder>());
const _: () = assert!(align_of::<State>() <= align_of::<vae_decoder>());
const _: () = assert!(VAE_DECODER_SIZE == size_of::<vae_decoder>());
// The header's literals are vae-core's.
const _: () = assert!(VAE_IMAGE_SIDE == IMAGE_SIDE && VAE_IMAGE_PIXELS == IMAGE_PIXELS);

/// An address range `[start, start + len)`.
#[derive(Clone, Copy)]
struct Range {
    start: usize,
    len: usize,
}

impl Range {
    const EMPTY: Range = Range { start: 0, len: 0 };

    fn of<T>(ptr: *const T, len: usize) -> Range {
        Range {
            start: ptr as usize,
            len: len.saturating_mul(size_of::<T>()),
        }
    }

    /// Whether the two ranges share a byte (empty ranges share none).
    fn overlaps(self, other: Range) -> bool {
        let end = self.start.saturating_add(self.len);
        let other_end = other.start.saturating_add(other.len);
        self.len > 0 && other.len > 0 && self.start < other_end && other.start < end
    }
}

/// `Err(VAE_ERROR_BAD_POINTER)` when any two of `ranges` overlap.
fn disjoint(ranges: &[Range]) -> Result<(), vae_error> {
    for (i, a) in ranges.iter().enumerate() {
        if ranges
            .iter()
            .skip(i.saturating_add(1))
            .any(|b| a.overlaps(*b))
        {
            return Err(VAE_ERROR_BAD_POINTER);
        }
    }
    Ok(())
}

/// Checks a pointer to `len` values of `T`: NULL, misaligned, or a range past the end of
/// the address space (or longer than `isize::MAX` bytes) is an error.
fn check<T>(ptr: *const T, len: usize) -> Result<(), vae_error> {
    if ptr.is_null() {
        return Err(VAE_ERROR_NULL_POINTER);
    }
    let bytes = len.checked_mul(size_of::<T>());
    let fits =
        bytes.is_some_and(|b| b <= isize::MAX as usize && (ptr as usize).checked_add(b).is_some());
    if !ptr.is_aligned() || !fits {
        return Err(VAE_ERROR_BAD_POINTER);
    }
    Ok(())
}

/// `len` values of `T` at `ptr`, checked by `check`.
///
/// # Safety
/// When `ptr` is not NULL, it points to `len` initialised values that nothing writes
/// while the slice lives.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], vae_error> {
    check(ptr, len)?;
    // SAFETY: `ptr` is non-NULL, aligned, and its `len` values stay inside the address
    // space and below `isize::MAX` bytes (checked above); the caller promises they are
    // readable and not written meanwhile.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The value at `ptr`, copied, checked by `check`.
///
/// # Safety
/// When `ptr` is not NULL, it points to a readable `T` (any bit pattern is a valid `T`).
unsafe fn read<T: Copy>(ptr: *const T) -> Result<T, vae_error> {
    check(ptr, 1)?;
    // SAFETY: non-NULL and aligned (checked); the caller promises it is readable, and
    // every `T` used here (C structs of integers and floats) has no invalid bit patterns.
    Ok(unsafe { ptr.read() })
}

/// The opened decoder at `dec`.
///
/// # Safety
/// When `dec` is not NULL, it points to `VAE_DECODER_SIZE` readable bytes that nothing
/// writes meanwhile: a `vae_decoder` that is zero-initialised, opened, or failed to open.
unsafe fn opened<'d>(dec: *const vae_decoder) -> Result<&'d State, vae_error> {
    check(dec, 1)?;
    let state = dec.cast::<State>();
    // SAFETY: `dec` is non-NULL and aligned for `vae_decoder`, hence for `State` (whose
    // size and alignment fit, asserted above); the tag is a plain `u64` read as such.
    // Volatile: the bytes come from C, which may not have written them as a `State`.
    let tag = unsafe { ptr::addr_of!((*state).tag).read_volatile() };
    if tag != OPEN {
        return Err(VAE_ERROR_NOT_OPEN);
    }
    // SAFETY: only `vae_open` writes the `OPEN` tag, together with a valid `State` whose
    // blob the caller keeps alive (the contract of `vae_open`).
    Ok(unsafe { &*state })
}

/// The code of a vae-core error.
fn code(error: Error) -> vae_error {
    match error {
        Error::BadMagic => VAE_ERROR_BAD_MAGIC,
        Error::UnsupportedVersion { .. } => VAE_ERROR_UNSUPPORTED_VERSION,
        Error::CrcMismatch { .. } => VAE_ERROR_CRC_MISMATCH,
        Error::Truncated => VAE_ERROR_TRUNCATED,
        Error::Malformed { .. } => VAE_ERROR_MALFORMED,
        Error::InvalidScale { .. } => VAE_ERROR_INVALID_SCALE,
        Error::NonFiniteLatent { .. } => VAE_ERROR_NON_FINITE_LATENT,
        Error::NotConditional => VAE_ERROR_NOT_CONDITIONAL,
        Error::MissingDigit => VAE_ERROR_MISSING_DIGIT,
        Error::InvalidDigit(_) => VAE_ERROR_INVALID_DIGIT,
        Error::InvalidTemperature => VAE_ERROR_INVALID_TEMPERATURE,
        // The lengths this API passes are checked before; these stay as a fallback.
        Error::DimsMismatch { .. } => VAE_ERROR_LATENT_LENGTH,
        Error::BufferTooSmall { .. } => VAE_ERROR_SCRATCH_TOO_SMALL,
        _ => VAE_ERROR_OTHER,
    }
}

/// The code of a result.
fn status(result: Result<(), vae_error>) -> vae_error {
    result.err().unwrap_or(VAE_OK)
}

/// `digit` (if any) checked against the blob's kind, in vae-core's order: a digit for an
/// unconditional blob, none for a conditional one, then its range.
fn checked_digit(shape: &Shape, digit: Option<u32>) -> Result<Option<u8>, vae_error> {
    match (shape.classes, digit) {
        (0, None) => Ok(None),
        (0, Some(_)) => Err(VAE_ERROR_NOT_CONDITIONAL),
        (_, None) => Err(VAE_ERROR_MISSING_DIGIT),
        (classes, Some(d)) => u8::try_from(d)
            .ok()
            .filter(|&d| usize::from(d) < classes)
            .map(Some)
            .ok_or(VAE_ERROR_INVALID_DIGIT),
    }
}

/// `5 * latent + 2 * hidden + 3`, saturating (blob shapes are `u16`s: it never saturates).
fn scratch_bytes(shape: &Shape) -> usize {
    shape
        .latent
        .saturating_mul(5)
        .saturating_add(shape.hidden.saturating_mul(2))
        .saturating_add(align_of::<f32>() - 1)
}

fn c_shape(shape: &Shape) -> vae_shape {
    vae_shape {
        latent: shape.latent,
        hidden: shape.hidden,
        layers: shape.layers,
        classes: shape.classes,
        macs: shape.macs,
        scratch_bytes: scratch_bytes(shape),
    }
}

/// The caller's scratch, split: the latent as `f32` (aligned inside the buffer), the
/// quantized latent, the activations.
struct Scratch<'s> {
    z: &'s mut [f32],
    z_q: &'s mut [i8],
    activations: &'s mut [i8],
}

/// Splits `len` bytes at `ptr` for a decode of `shape`.
///
/// # Safety
/// When `ptr` is not NULL, it points to `len` writable bytes that nothing else reads or
/// writes while the result lives (the caller checked that they overlap no other buffer).
unsafe fn scratch<'s>(ptr: *mut i8, len: usize, shape: &Shape) -> Result<Scratch<'s>, vae_error> {
    check(ptr, len)?;
    if len < scratch_bytes(shape) {
        return Err(VAE_ERROR_SCRATCH_TOO_SMALL);
    }
    // SAFETY: checked above (non-NULL, `len` bytes inside the address space); the caller
    // promises they are writable and not otherwise accessed. `i8` has no invalid values.
    let bytes = unsafe { core::slice::from_raw_parts_mut(ptr, len) };
    let pad = ptr.align_offset(align_of::<f32>());
    let (_, rest) = bytes
        .split_at_mut_checked(pad)
        .ok_or(VAE_ERROR_BAD_POINTER)?;
    let z_len = shape.latent.saturating_mul(size_of::<f32>());
    let (z, rest) = rest
        .split_at_mut_checked(z_len)
        .ok_or(VAE_ERROR_SCRATCH_TOO_SMALL)?;
    let (z_q, activations) = rest
        .split_at_mut_checked(shape.latent)
        .ok_or(VAE_ERROR_SCRATCH_TOO_SMALL)?;
    if !z.as_ptr().cast::<f32>().is_aligned() {
        return Err(VAE_ERROR_BAD_POINTER);
    }
    // SAFETY: `z` is `latent * 4` bytes starting at an `f32`-aligned address (checked),
    // borrowed mutably from the scratch for the result's lifetime; `f32` has no invalid
    // bit patterns, and the decode writes every value before reading it.
    let z = unsafe { core::slice::from_raw_parts_mut(z.as_mut_ptr().cast::<f32>(), shape.latent) };
    Ok(Scratch {
        z,
        z_q,
        activations,
    })
}

/// The first `VAE_IMAGE_PIXELS` bytes at `ptr` (`len` bytes).
///
/// # Safety
/// When `ptr` is not NULL, it points to `len` writable bytes that nothing else reads or
/// writes while the result lives.
unsafe fn image<'i>(ptr: *mut u8, len: usize) -> Result<&'i mut [u8; IMAGE_PIXELS], vae_error> {
    check(ptr, len)?;
    // SAFETY: checked above; the caller promises the bytes are writable and unshared.
    let bytes = unsafe { core::slice::from_raw_parts_mut(ptr, len) };
    bytes.first_chunk_mut().ok_or(VAE_ERROR_IMAGE_TOO_SMALL)
}

/// Parses and validates `blob_len` bytes at `blob` once (magic, version, CRC-32, shapes,
/// scales, overflow bounds) and makes `dec` a decoder over them. The blob is read in
/// place, not copied.
///
/// On failure `dec` is left closed (`VAE_ERROR_NOT_OPEN` for the other
/// calls). Errors: `VAE_ERROR_NULL_POINTER`, `VAE_ERROR_BAD_POINTER` (`dec` misaligned
/// or inside the blob), then the blob's: `TRUNCATED`, `BAD_MAGIC`,
/// `UNSUPPORTED_VERSION`, `CRC_MISMATCH`, `MALFORMED`, `INVALID_SCALE`. Stack:
/// `VAE_OPEN_STACK_BYTES`.
///
/// # Safety
/// `dec` points to a `vae_decoder`; `blob` to `blob_len` readable bytes that stay alive
/// and unchanged as long as `dec` (or a copy of it) is used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_open(
    dec: *mut vae_decoder,
    blob: *const u8,
    blob_len: usize,
) -> vae_error {
    if let Err(e) = check(dec, 1) {
        return e;
    }
    let state = dec.cast::<State>();
    // SAFETY: `dec` is non-NULL and aligned for `State` (checked; the size fits, asserted
    // above), and the caller gives it to us to write. Closed until the open succeeds.
    unsafe { ptr::addr_of_mut!((*state).tag).write_volatile(0) };
    let blob_range = Range::of(blob, blob_len);
    let opened = (|| {
        // SAFETY: the caller promises `blob_len` readable bytes that live and stay
        // unchanged while the decoder is used, hence `'static` for the decoder.
        let bytes: &'static [u8] = unsafe { slice(blob, blob_len) }?;
        disjoint(&[Range::of(dec, 1), blob_range])?;
        DecoderCore::from_bytes(bytes).map_err(code)
    })();
    match opened {
        Ok(core) => {
            // SAFETY: as above; `dec` does not overlap the blob (checked), and writing a
            // whole `State` replaces whatever bytes were there.
            unsafe {
                state.write(State {
                    tag: OPEN,
                    blob: blob_range,
                    core,
                })
            };
            VAE_OK
        }
        Err(e) => e,
    }
}

/// The sizes of an opened decoder's blob, into `*shape`.
///
/// # Safety
/// `dec` points to a `vae_decoder` (zero-initialised or given to `vae_open`); `shape`
/// to a writable `vae_shape`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_decoder_shape(
    dec: *const vae_decoder,
    shape: *mut vae_shape,
) -> vae_error {
    status((|| {
        check(shape, 1)?;
        // SAFETY: the caller's contract above.
        let state = unsafe { opened(dec) }?;
        // SAFETY: `shape` is non-NULL and aligned (checked), writable by contract.
        unsafe { shape.write(c_shape(&state.core.shape())) };
        Ok(())
    })())
}

/// The sizes of a blob *without* opening it: its header and layer shapes only (no CRC, no
/// values), cheap enough to size the scratch before `vae_open`. Errors: pointers, then
/// `TRUNCATED`, `BAD_MAGIC`, `UNSUPPORTED_VERSION`, `MALFORMED`.
///
/// # Safety
/// `blob` points to `blob_len` readable bytes; `shape` to a writable `vae_shape`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_blob_shape(
    blob: *const u8,
    blob_len: usize,
    shape: *mut vae_shape,
) -> vae_error {
    status((|| {
        check(shape, 1)?;
        // SAFETY: the caller promises `blob_len` readable bytes.
        let bytes = unsafe { slice(blob, blob_len) }?;
        disjoint(&[Range::of(blob, blob_len), Range::of(shape, 1)])?;
        let read = Shape::read(bytes).map_err(code)?;
        // SAFETY: `shape` is non-NULL and aligned (checked), writable by contract, and
        // does not overlap the blob (checked).
        unsafe { shape.write(c_shape(&read)) };
        Ok(())
    })())
}

/// The provenance of an opened decoder's blob, into `*metadata` (`note` points into the
/// blob).
///
/// # Safety
/// `dec` points to a `vae_decoder` (zero-initialised or given to `vae_open`);
/// `metadata` to a writable `vae_metadata`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_decoder_metadata(
    dec: *const vae_decoder,
    metadata: *mut vae_metadata,
) -> vae_error {
    status((|| {
        check(metadata, 1)?;
        // SAFETY: the caller's contract above.
        let state = unsafe { opened(dec) }?;
        let m = state.core.model().metadata;
        let value = vae_metadata {
            seed: m.seed.unwrap_or(0),
            test_loss: m.test_loss.unwrap_or(0.0),
            has_seed: u8::from(m.seed.is_some()),
            has_test_loss: u8::from(m.test_loss.is_some()),
            note: m.note.as_ptr(),
            note_len: m.note.len(),
        };
        // SAFETY: `metadata` is non-NULL and aligned (checked), writable by contract.
        unsafe { metadata.write(value) };
        Ok(())
    })())
}

/// Draws the image for `*request` into `image` (row-major, 0 = black, 255 = white): the
/// latent of `vae_prior_latent`, decoded. The same request gives the same bytes on every
/// target.
///
/// `scratch`: `vae_shape.scratch_bytes` bytes, any alignment, contents ignored.
/// Errors, in this order: pointers (`NULL_POINTER`, `BAD_POINTER`: the image, scratch,
/// blob and decoder must not overlap), `NOT_OPEN`, the digit (`NOT_CONDITIONAL`,
/// `MISSING_DIGIT`, `INVALID_DIGIT`), `SCRATCH_TOO_SMALL`, `IMAGE_TOO_SMALL`,
/// `INVALID_TEMPERATURE`, `NON_FINITE_LATENT`. Stack: `VAE_DECODE_STACK_BYTES`.
///
/// # Safety
/// `dec` points to a `vae_decoder` (zero-initialised or given to `vae_open`);
/// `request` to a readable `vae_request`; `scratch` to `scratch_len` writable bytes;
/// `image` to `image_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_generate(
    dec: *const vae_decoder,
    request: *const vae_request,
    scratch: *mut c_void,
    scratch_len: usize,
    image: *mut u8,
    image_len: usize,
) -> vae_error {
    status((|| {
        // SAFETY: the caller promises a readable request.
        let r = unsafe { read(request) }?;
        let buffers = Buffers {
            scratch: scratch.cast(),
            scratch_len,
            image,
            image_len,
        };
        // SAFETY: the caller's contract above.
        let state = unsafe { buffers.check(dec, None) }?;
        let core = &state.core;
        let shape = core.shape();
        let digit = checked_digit(&shape, (r.has_digit != 0).then_some(r.digit))?;
        // SAFETY: checked by `Buffers::check`; writable by the caller's contract.
        let (buf, out) = unsafe { buffers.split(&shape) }?;
        let request = Request {
            seed: r.seed,
            digit,
            temperature: (r.has_temperature != 0).then_some(r.temperature),
        };
        core.prior_latent(&request, buf.z).map_err(code)?;
        core.quantize_latent(buf.z, buf.z_q).map_err(code)?;
        core.decode_quantized(buf.z_q, digit, buf.activations, out)
            .map_err(code)
    })())
}

/// Decodes the caller's latent `z` (`z_len` = `vae_shape.latent` values) into
/// `image`; `digit` is `VAE_NO_DIGIT` (any negative value) for an unconditional blob,
/// a class for a conditional one.
///
/// `scratch`: `vae_shape.scratch_bytes` bytes, any alignment, contents ignored.
/// Errors, in this order: pointers (`NULL_POINTER`, `BAD_POINTER`: `z`, the image,
/// scratch, blob and decoder must not overlap), `NOT_OPEN`, the digit, `LATENT_LENGTH`,
/// `SCRATCH_TOO_SMALL`, `IMAGE_TOO_SMALL`, `NON_FINITE_LATENT`. Stack:
/// `VAE_DECODE_STACK_BYTES`.
///
/// # Safety
/// `dec` points to a `vae_decoder` (zero-initialised or given to `vae_open`); `z` to
/// `z_len` readable floats; `scratch` to `scratch_len` writable bytes; `image` to
/// `image_len` writable bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vae_decode(
    dec: *const vae_decoder,
    z: *const f32,
    z_len: usize,
    digit: i32,
    scratch: *mut c_void,
    scratch_len: usize,
    image: *mut u8,
    image_len: usize,
) -> vae_error {
    status((|| {
        check(z, z_len)?;
        let buffers = Buffers {
            scratch: scratch.cast(),
            scratch_len,
            image,
            image_len,
        };
        // SAFETY: the caller's contract above.
        let state = unsafe { buffers.check(dec, Some(Range::of(z, z_len))) }?;
        let core = &state.core;
        let shape = core.shape();
        let digit = checked_digit(&shape, u32::try_from(digit).ok())?;
        if z_len != shape.latent {
            return Err(VAE_ERROR_LATENT_LENGTH);
        }
        // SAFETY: checked by `Buffers::check`; writable by the caller's contract.
        let (buf, out) = unsafe { buffers.split(&shape) }?;
        // SAFETY: `z_len` readable floats by contract, checked (non-NULL, aligned, in the
        // address space) and disjoint from the scratch and image written meanwhile.
        let z = unsafe { slice(z, z_len) }?;
        core.quantize_latent(z, buf.z_q).map_err(code)?;
        core.decode_quantized(buf.z_q, digit, buf.activations, out)
            .map_err(code)
    })())
}

/// The buffers a decode call writes, as C passed them.
#[derive(Clone, Copy)]
struct Buffers {
    scratch: *mut i8,
    scratch_len: usize,
    image: *mut u8,
    image_len: usize,
}

impl Buffers {
    /// Checks the pointers (NULL, alignment, the written buffers overlapping each other,
    /// the decoder, its blob or `input`) and the decoder, before any size.
    ///
    /// # Safety
    /// As for `vae_generate`'s `dec`.
    unsafe fn check<'d>(
        self,
        dec: *const vae_decoder,
        input: Option<Range>,
    ) -> Result<&'d State, vae_error> {
        check(self.scratch, self.scratch_len)?;
        check(self.image, self.image_len)?;
        // SAFETY: the caller's contract.
        let state = unsafe { opened(dec) }?;
        let written = [
            Range::of(self.scratch, self.scratch_len),
            Range::of(self.image, self.image_len),
        ];
        let read = [Range::of(dec, 1), state.blob, input.unwrap_or(Range::EMPTY)];
        disjoint(&written)?;
        if written.iter().any(|w| read.iter().any(|r| w.overlaps(*r))) {
            return Err(VAE_ERROR_BAD_POINTER);
        }
        Ok(state)
    }

    /// The scratch split for `shape` and the image, or their size errors.
    ///
    /// # Safety
    /// `check` passed; the buffers are writable and nothing else reads or
    /// writes them while the results live.
    unsafe fn split<'s>(
        self,
        shape: &Shape,
    ) -> Result<(Scratch<'s>, &'s mut [u8; IMAGE_PIXELS]), vae_error> {
        // SAFETY: the contract above.
        let scratch = unsafe { scratch(self.scratch, self.scratch_len, shape) }?;
        // SAFETY: the contract above.
        let image = unsafe { image(self.image, self.image_len) }?;
        Ok((scratch, image))
    }
}

/// The latent `vae_generate` decodes for `*request`, into `z` (`z_len` =
/// `vae_shape.latent` floats): for interpolating between requests with `vae_decode`.
/// Checks the request as `vae_generate` does (digit, then `LATENT_LENGTH`, then
/// `INVALID_TEMPERATURE`), though the latent does not depend on the digit.
///
/// # Safety
/// `dec` points to a `vae_decoder` (zero-initialised or given to `vae_open`);
/// `request` to a readable `vae_request`; `z` to `z_len` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_prior_latent(
    dec: *const vae_decoder,
    request: *const vae_request,
    z: *mut f32,
    z_len: usize,
) -> vae_error {
    status((|| {
        // SAFETY: the caller promises a readable request.
        let r = unsafe { read(request) }?;
        check(z, z_len)?;
        // SAFETY: the caller's contract above.
        let state = unsafe { opened(dec) }?;
        if [Range::of(dec, 1), state.blob]
            .iter()
            .any(|r| r.overlaps(Range::of(z, z_len)))
        {
            return Err(VAE_ERROR_BAD_POINTER);
        }
        let core = &state.core;
        let digit = checked_digit(&core.shape(), (r.has_digit != 0).then_some(r.digit))?;
        if z_len != core.shape().latent {
            return Err(VAE_ERROR_LATENT_LENGTH);
        }
        // SAFETY: `z_len` writable floats by contract, checked above, disjoint from the
        // decoder and blob read meanwhile; `f32` has no invalid bit patterns.
        let z = unsafe { core::slice::from_raw_parts_mut(z, z_len) };
        let request = Request {
            seed: r.seed,
            digit,
            temperature: (r.has_temperature != 0).then_some(r.temperature),
        };
        core.prior_latent(&request, z).map_err(code)
    })())
}

/// A static, NUL-terminated English sentence for `code` (a `vae_error`), saying what to
/// do; never NULL (an unknown code has a message too).
#[unsafe(no_mangle)]
pub extern "C" fn vae_error_message(code: i32) -> *const c_char {
    let unknown = c"unknown vae_error code";
    usize::try_from(code)
        .ok()
        .and_then(|i| MESSAGES.get(i))
        .copied()
        .unwrap_or(unknown)
        .as_ptr()
}

/// CRC-32/IEEE (zlib, PNG) of `len` bytes at `data`, as the golden files print it; a NULL
/// `data` reads as no bytes (`0`).
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vae_crc32(data: *const u8, len: usize) -> u32 {
    // SAFETY: the caller promises `len` readable bytes at a non-NULL `data`.
    match unsafe { slice(data, len) } {
        Ok(bytes) => crc32(bytes),
        Err(_) => crc32(&[]),
    }
}

/// A `no_std` static library must bring a panic handler; nothing here panics (see the
/// crate docs). On Arm it executes `UDF` (a HardFault for the firmware's handler), so a
/// broken promise stops the program where a debugger shows it instead of hanging.
#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "arm")]
    // SAFETY: `udf` only raises an exception; it reads and writes no memory.
    unsafe {
        core::arch::asm!("udf #0", options(noreturn, nomem, nostack))
    };
    #[cfg(not(target_arch = "arm"))]
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests;
