//! The checks between C and Rust: pointers (NULL, alignment, size, overlap), the opened
//! decoder, the caller's scratch and image buffers, and vae-core's errors as `vae_error`
//! codes.

use core::mem::{align_of, size_of};
use core::ptr;

use vae_core::{Error, IMAGE_PIXELS, Shape};

use crate::types::vae_error::*;
use crate::types::*;

/// `Err(VAE_ERROR_BAD_POINTER)` when any two of `ranges` overlap.
pub(crate) fn disjoint(ranges: &[Range]) -> Result<(), vae_error> {
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
pub(crate) fn check<T>(ptr: *const T, len: usize) -> Result<(), vae_error> {
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
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], vae_error> {
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
pub(crate) unsafe fn read<T: Copy>(ptr: *const T) -> Result<T, vae_error> {
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
pub(crate) unsafe fn opened<'d>(dec: *const vae_decoder) -> Result<&'d State, vae_error> {
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
pub(crate) fn code(error: Error) -> vae_error {
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
pub(crate) fn status(result: Result<(), vae_error>) -> vae_error {
    result.err().unwrap_or(VAE_OK)
}

/// `digit` (if any) checked against the blob's kind, in vae-core's order: a digit for an
/// unconditional blob, none for a conditional one, then its range.
pub(crate) fn checked_digit(shape: &Shape, digit: Option<u32>) -> Result<Option<u8>, vae_error> {
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
pub(crate) fn scratch_bytes(shape: &Shape) -> usize {
    shape
        .latent
        .saturating_mul(5)
        .saturating_add(shape.hidden.saturating_mul(2))
        .saturating_add(align_of::<f32>() - 1)
}

pub(crate) fn c_shape(shape: &Shape) -> vae_shape {
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
pub(crate) struct Scratch<'s> {
    pub(crate) z: &'s mut [f32],
    pub(crate) z_q: &'s mut [i8],
    pub(crate) activations: &'s mut [i8],
}

/// Splits `len` bytes at `ptr` for a decode of `shape`.
///
/// # Safety
/// When `ptr` is not NULL, it points to `len` writable bytes that nothing else reads or
/// writes while the result lives (the caller checked that they overlap no other buffer).
pub(crate) unsafe fn scratch<'s>(
    ptr: *mut i8,
    len: usize,
    shape: &Shape,
) -> Result<Scratch<'s>, vae_error> {
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
pub(crate) unsafe fn image<'i>(
    ptr: *mut u8,
    len: usize,
) -> Result<&'i mut [u8; IMAGE_PIXELS], vae_error> {
    check(ptr, len)?;
    // SAFETY: checked above; the caller promises the bytes are writable and unshared.
    let bytes = unsafe { core::slice::from_raw_parts_mut(ptr, len) };
    bytes.first_chunk_mut().ok_or(VAE_ERROR_IMAGE_TOO_SMALL)
}
