//! vae-core for the web page: raw `extern "C"` exports over static buffers.
//!
//! No wasm-bindgen: the page needs a dozen numeric functions and three byte buffers, which
//! JavaScript reaches through the module's memory (`new Uint8Array(memory.buffer, ptr,
//! len)`). Without bindgen there is no generated JS glue, no allocator and no string
//! marshalling in the module; error messages are written into a static buffer as UTF-8,
//! from [`Error::message_parts`] rather than `Display`, so the module carries no
//! `core::fmt` (about 4 KB of wasm).
//!
//! The flow, as the page drives it:
//!
//! 1. `blob_buffer(len)` drops the loaded model and returns where to copy `len` blob bytes
//!    (null when the blob is larger than [`MAX_BLOB`]); JS copies the file there.
//! 2. `load(len)` parses it with [`DecoderCore::from_bytes`]; `0` on success, else `-1`
//!    and the error's text (what its `Display` prints) at `error_ptr()` / `error_len()`.
//!    The model is then repacked into static buffers ([`RepackedDecoder`]: weights in
//!    columns, zero inputs skipped, pixels from a table), which decodes
//!    the same bytes as `DecoderCore` in about half the time and keeps the module
//!    smaller (the blob-order kernels are not linked); a model too large for the
//!    buffers is refused with a message that says so.
//! 3. `prior(seed, temperature)` draws the latent of a seed into the latent buffer
//!    (`latent_ptr()`, `latent_dim()` values), which JS may also write itself.
//! 4. `decode(digit)` decodes the latent buffer into the image buffer (`image_ptr()`, 784
//!    bytes); `digit < 0` means none (unconditional blob). `decode_repeat(n, digit)` does
//!    it `n` times, so the page can time one decode precisely.
//!
//! `build.sh` builds this crate twice: with simd128 (`vae.wasm`) and with relaxed SIMD as
//! well (`vae-relaxed.wasm`, where vae-core's repacked decoder keeps `i8` columns and
//! fills half of [`WEIGHTS`]); the page loads the second where the browser validates
//! relaxed SIMD. The exports are the same.
//!
//! wasm32 runs one thread and JS calls these one at a time, so the statics are never
//! accessed concurrently.

#![no_std]
// The statics are reached through `&raw mut STATIC` / `&raw const STATIC`: the 2024
// edition's way to use a `static mut` without a reference to it (`static_mut_refs`);
// clippy's `deref_addrof` would have the plain name back, which that lint forbids.
#![allow(clippy::deref_addrof)]

use vae_core::error::MessagePart::{self, Decimal, Hex32, Text};
use vae_core::repacked::RepackedDecoder;
use vae_core::{DecoderCore, Error, IMAGE_PIXELS, Request};

/// Largest blob the page accepts (the default one is about 280 KB).
const MAX_BLOB: usize = 4 << 20;
/// Largest latent the page handles.
const MAX_LATENT: usize = 256;
/// Largest scratch (two activation buffers) the page handles: the repacked decoder's
/// widest layer input.
const MAX_SCRATCH: usize = 2 * vae_core::repacked::MAX_INPUTS;

/// `i16` weights of the repacked copy (2 MB; the default blob takes 554 KB).
const MAX_WEIGHTS: usize = 1 << 20;
/// `i32` row parameters of the repacked copy (six per row, rows padded to 32 per layer:
/// 10,922 rows; the default blob takes 7,872 values).
const MAX_PARAMS: usize = 1 << 16;
/// Bytes of the pixel table (the default blob's thresholds take 51,600).
const MAX_PIXEL_TABLE: usize = 1 << 16;

/// A buffer that starts on a 64-byte boundary: each column of a pass of the repacked
/// weights (64 bytes) is then one cache line rather than two.
#[repr(align(64))]
struct CacheLines<T>(T);

static mut BLOB: [u8; MAX_BLOB] = [0; MAX_BLOB];
static mut WEIGHTS: CacheLines<[i16; MAX_WEIGHTS]> = CacheLines([0; MAX_WEIGHTS]);
static mut PARAMS: [i32; MAX_PARAMS] = [0; MAX_PARAMS];
static mut PIXEL_TABLE: [u8; MAX_PIXEL_TABLE] = [0; MAX_PIXEL_TABLE];
/// The loaded model, repacked in columns (`vae_core::repacked`: zero inputs
/// skipped, pixels from a table): what the page decodes with.
static mut MODEL: Option<RepackedDecoder<'static, 'static>> = None;
static mut LATENT: [f32; MAX_LATENT] = [0.0; MAX_LATENT];
static mut LATENT_Q: [i8; MAX_LATENT] = [0; MAX_LATENT];
static mut SCRATCH: [i8; MAX_SCRATCH] = [0; MAX_SCRATCH];
static mut IMAGE: [u8; IMAGE_PIXELS] = [0; IMAGE_PIXELS];
static mut ERROR: Message = Message {
    buf: [0; 512],
    len: 0,
};

/// An error message, truncated to its buffer at a character boundary.
struct Message {
    buf: [u8; 512],
    len: usize,
}

impl Message {
    /// Appends `s`, or as much of it as fits, cut at a character boundary.
    fn push_str(&mut self, s: &str) {
        let mut take = s.len().min(self.buf.len() - self.len);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.push_bytes(s.as_bytes().get(..take).unwrap_or(&[]));
    }

    /// Appends whole UTF-8 text (or ASCII) that fits: `bytes` are never cut here.
    fn push_bytes(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// Appends one piece of a message: numbers in decimal, or `0x` and 8 hex digits.
    fn push(&mut self, part: MessagePart) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let (mut n, base, min) = match part {
            Text(s) => return self.push_str(s),
            Decimal(n) => (n, 10, 1),
            Hex32(v) => {
                self.push_str("0x");
                (u64::from(v), 16, 8)
            }
        };
        while at > 0 && (n > 0 || digits.len() - at < min) {
            at -= 1;
            digits[at] = b"0123456789abcdef"[(n % base) as usize];
            n /= base;
        }
        self.push_bytes(&digits[at..]);
    }
}

/// Records the message made of `parts` as the last error and returns `-1`.
fn fail_with(parts: &[MessagePart]) -> i32 {
    // SAFETY: single-threaded module, and no reference to ERROR outlives this call.
    let error = unsafe { &mut *(&raw mut ERROR) };
    error.len = 0;
    for &part in parts {
        error.push(part);
    }
    -1
}

/// Records `e`'s message as the last error and returns `-1`.
fn fail(e: Error) -> i32 {
    // SAFETY: single-threaded module, and no reference to ERROR outlives this call.
    let error = unsafe { &mut *(&raw mut ERROR) };
    error.len = 0;
    e.message_parts(|part| error.push(part));
    -1
}

/// The loaded model, if any.
fn model() -> Option<&'static RepackedDecoder<'static, 'static>> {
    // SAFETY: single-threaded; MODEL is only replaced by `blob_buffer` and `load`, which
    // JS never calls while a reference from here is alive (each export is one call).
    unsafe { (*(&raw const MODEL)).as_ref() }
}

/// The loaded model's decoder, if any.
fn core() -> Option<&'static DecoderCore<'static>> {
    model().map(RepackedDecoder::core)
}

/// Drops the loaded model and returns where to write a blob of `len` bytes (null when
/// `len` is over the limit).
#[unsafe(no_mangle)]
pub extern "C" fn blob_buffer(len: usize) -> *mut u8 {
    // SAFETY: single-threaded. Clearing MODEL first ends every borrow of BLOB and the
    // repacked buffers before JS overwrites the blob.
    unsafe {
        *(&raw mut MODEL) = None;
    }
    if len > MAX_BLOB {
        return core::ptr::null_mut();
    }
    (&raw mut BLOB).cast()
}

/// Parses the first `len` bytes of the blob buffer: `0`, or `-1` with the error text.
#[unsafe(no_mangle)]
pub extern "C" fn load(len: usize) -> i32 {
    // SAFETY: single-threaded; MODEL is cleared before BLOB is borrowed, and BLOB is only
    // written (by JS) after `blob_buffer` clears MODEL again.
    let blob: &'static [u8] = unsafe {
        *(&raw mut MODEL) = None;
        &(&*(&raw const BLOB))[..len.min(MAX_BLOB)]
    };
    let core = match DecoderCore::from_bytes(blob) {
        Ok(core) => core,
        Err(e) => return fail(e),
    };
    let shape = core.shape();
    if shape.latent > MAX_LATENT {
        return fail_with(&[
            Text("latent dimension "),
            Decimal(shape.latent as u64),
            Text(" is larger than this page handles ("),
            Decimal(MAX_LATENT as u64),
            Text(")"),
        ]);
    }
    if core.scratch_len() > MAX_SCRATCH {
        return fail_with(&[
            Text("hidden layers of "),
            Decimal(shape.hidden as u64),
            Text(" values are wider than this page handles ("),
            Decimal((MAX_SCRATCH / 2) as u64),
            Text(")"),
        ]);
    }
    // SAFETY: single-threaded; MODEL was cleared above, so no reference into the
    // repacked buffers is alive.
    let (weights, params, table) = unsafe {
        (
            &mut (*(&raw mut WEIGHTS)).0,
            &mut *(&raw mut PARAMS),
            &mut *(&raw mut PIXEL_TABLE),
        )
    };
    let needed = RepackedDecoder::weights_len(&core);
    let model = match RepackedDecoder::new(core, weights, params) {
        Ok(model) => model.with_pixel_table(table),
        Err(Error::BufferTooSmall { .. }) => {
            return fail_with(&[
                Text("this model needs "),
                Decimal((2 * needed).div_ceil(1024) as u64),
                Text(" KB of repacked weights (rows padded to 32); the page has "),
                Decimal((2 * MAX_WEIGHTS / 1024) as u64),
                Text(" KB"),
            ]);
        }
        Err(e) => return fail(e),
    };
    // SAFETY: single-threaded; no reference into MODEL is alive.
    unsafe {
        *(&raw mut MODEL) = Some(model);
    }
    0
}

/// The latent dimension of the loaded model (0 when none is loaded).
#[unsafe(no_mangle)]
pub extern "C" fn latent_dim() -> usize {
    core().map_or(0, |c| c.shape().latent)
}

/// Classes of a conditional model; 0 for an unconditional one or none loaded.
#[unsafe(no_mangle)]
pub extern "C" fn classes() -> usize {
    core().map_or(0, |c| c.shape().classes)
}

/// Multiply-accumulates of one decode (0 when no model is loaded).
#[unsafe(no_mangle)]
pub extern "C" fn macs() -> usize {
    core().map_or(0, |c| c.shape().macs)
}

/// The default temperature of a request (with or without a digit).
#[unsafe(no_mangle)]
pub extern "C" fn default_temperature(with_digit: i32) -> f32 {
    let request = Request::new(0);
    let request = if with_digit != 0 {
        request.digit(0)
    } else {
        request
    };
    request.resolved_temperature()
}

/// Where the latent values live (`MAX_LATENT` `f32`s; the model uses `latent_dim()`).
#[unsafe(no_mangle)]
pub extern "C" fn latent_ptr() -> *mut f32 {
    (&raw mut LATENT).cast()
}

/// Where `decode` writes the 28x28 image.
#[unsafe(no_mangle)]
pub extern "C" fn image_ptr() -> *const u8 {
    (&raw const IMAGE).cast()
}

/// Where the last error message is (UTF-8, `error_len()` bytes).
#[unsafe(no_mangle)]
pub extern "C" fn error_ptr() -> *const u8 {
    // SAFETY: only the address is taken.
    unsafe { (&raw const ERROR.buf).cast() }
}

/// Length of the last error message in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn error_len() -> usize {
    // SAFETY: single-threaded read.
    unsafe { (*(&raw const ERROR)).len }
}

/// The prior's latent for `seed` at `temperature` into the latent buffer: `0` or `-1`.
#[unsafe(no_mangle)]
pub extern "C" fn prior(seed: u32, temperature: f32) -> i32 {
    let Some(core) = core() else {
        return fail_with(&[Text("no blob loaded")]);
    };
    let request = Request::new(u64::from(seed)).temperature(temperature);
    // SAFETY: single-threaded; the only reference to LATENT in this call.
    let z = unsafe { &mut (&mut *(&raw mut LATENT))[..core.shape().latent] };
    match core.prior_latent(&request, z) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// Decodes the latent buffer into the image buffer (`digit < 0`: no digit): `0` or `-1`.
#[unsafe(no_mangle)]
pub extern "C" fn decode(digit: i32) -> i32 {
    decode_repeat(1, digit)
}

/// [`decode`] `n` times (for timing): `0` or `-1`.
#[unsafe(no_mangle)]
pub extern "C" fn decode_repeat(n: u32, digit: i32) -> i32 {
    let Some(model) = model() else {
        return fail_with(&[Text("no blob loaded")]);
    };
    let core = model.core();
    let digit = u8::try_from(digit).ok();
    let latent = core.shape().latent;
    // SAFETY: single-threaded; these are the only references to the buffers in this call.
    let (z, z_q, scratch, image) = unsafe {
        (
            &(&*(&raw const LATENT))[..latent],
            &mut (&mut *(&raw mut LATENT_Q))[..latent],
            &mut *(&raw mut SCRATCH),
            &mut *(&raw mut IMAGE),
        )
    };
    for _ in 0..n {
        if let Err(e) = core
            .quantize_latent(z, z_q)
            .and_then(|()| model.decode_quantized(z_q, digit, scratch, image))
        {
            return fail(e);
        }
    }
    0
}

/// A panic traps (the profile aborts on panic; vae-core returns errors instead).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
