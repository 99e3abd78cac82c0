//! The C types and constants of the API: sizes, the decoder state, requests, shapes,
//! metadata and error codes with their messages.

use core::mem::{align_of, size_of};

use vae_core::{DecoderCore, IMAGE_PIXELS, IMAGE_SIDE};

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
    pub(crate) opaque: [u64; VAE_DECODER_WORDS],
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
pub(crate) const MESSAGES: [&core::ffi::CStr; 19] = [
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
pub(crate) struct State {
    /// `OPEN` once opened; anything else is not a decoder.
    pub(crate) tag: u64,
    /// The blob's address range, which the buffers a decode writes must not overlap.
    pub(crate) blob: Range,
    pub(crate) core: DecoderCore<'static>,
}

/// The tag of an opened decoder.
pub(crate) const OPEN: u64 = u64::from_le_bytes(*b"vae-open");

// The state fits the storage the header declares, on every target this compiles for.
const _: () = assert!(size_of::<State>() <= size_of::<vae_decoder>());
const _: () = assert!(align_of::<State>() <= align_of::<vae_decoder>());
const _: () = assert!(VAE_DECODER_SIZE == size_of::<vae_decoder>());
// The header's literals are vae-core's.
const _: () = assert!(VAE_IMAGE_SIDE == IMAGE_SIDE && VAE_IMAGE_PIXELS == IMAGE_PIXELS);

/// An address range `[start, start + len)`.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Range {
    pub(crate) const EMPTY: Range = Range { start: 0, len: 0 };

    pub(crate) fn of<T>(ptr: *const T, len: usize) -> Range {
        Range {
            start: ptr as usize,
            len: len.saturating_mul(size_of::<T>()),
        }
    }

    /// Whether the two ranges share a byte (empty ranges share none).
    pub(crate) fn overlaps(self, other: Range) -> bool {
        let end = self.start.saturating_add(self.len);
        let other_end = other.start.saturating_add(other.len);
        self.len > 0 && other.len > 0 && self.start < other_end && other.start < end
    }
}
