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

use core::ptr;

mod checks;
mod types;

use checks::*;
use types::vae_error::*;
pub use types::*;
use vae_core::format::crc32;
use vae_core::{DecoderCore, IMAGE_PIXELS, Request, Shape};

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
