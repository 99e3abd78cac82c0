//! Draw MNIST digits on a microcontroller: the int8 decoder of a variational autoencoder,
//! `#![no_std]`, no allocation, no panics on any blob or input, the same bytes on every
//! target.
//!
//! On the host, `vae-train` trains an MLP VAE on MNIST and `vae-export` quantizes its
//! decoder into a *blob* (`decoder.bin`, format in [`format`] and `FORMAT.md`). On the
//! device, this crate reads the blob in place and turns requests (a seed, optionally a
//! digit) or your own latent vectors into 28x28 grey images:
//!
//! ```
//! use vae_core::{Decoder, Request, Shape, IMAGE_PIXELS, IMAGE_SIDE};
//!
//! static BLOB: &[u8] = include_bytes!("../../examples/models/decoder.bin");
//! const SHAPE: Shape = Shape::of(BLOB); // read at compile time: a bad blob fails the build
//!
//! let decoder = Decoder::<{ SHAPE.latent }, { SHAPE.hidden }>::from_bytes(BLOB)?; // every check
//! let mut image = [0u8; IMAGE_PIXELS]; // row-major, 0 = black, 255 = white
//! decoder.generate(&Request::new(42), &mut image)?; // a digit from the blob's prior
//!
//! let mut again = [0u8; IMAGE_PIXELS];
//! decoder.generate(&Request::new(42), &mut again)?;
//! assert_eq!(image, again); // same request, same bytes, on every target
//! for row in image.chunks_exact(IMAGE_SIDE) {
//!     // 28 grey levels per row
//! #   assert_eq!(row.len(), 28);
//! }
//! # Ok::<(), vae_core::Error>(())
//! ```
//!
//! A [`Request`] can also name a digit (class-conditional blobs: `Request::new(seed).digit(7)`,
//! at temperature 0.5 unless it sets one) or a temperature; [`Decoder::decode`] takes your
//! own latent `z` (e.g. to interpolate between two requests'
//! [`prior_latent`](Decoder::prior_latent)s).
//!
//! # How it works
//!
//! | module | one job |
//! |---|---|
//! | [`format`] | the blob: header, CRC-32, postcard body ([`format::Model`]), [`format::parse`] and the writer [`format::encode`] |
//! | [`shape`] | [`Shape`]: a blob's sizes, read by a `const fn` at compile time |
//! | [`request`] | [`Request`]: seed, digit, temperature |
//! | [`decoder`] | [`Decoder`] (shapes as const generics) over [`DecoderCore`] (slices, the decode itself) |
//! | `kernel` (private) | integer arithmetic: `i8 x i8 -> i32` dense (int4 weights unpacked to `i8`, portable kernel on every target), requantize, ReLU, pixel thresholds; per-target variants |
//! | [`repacked`] | [`repacked::RepackedDecoder`]: the weights repacked once into caller buffers as columns, zero inputs skipped, the others paired per decode (the browser page; no alloc, twice the RAM) |
//! | [`rng`] | [`Rng`]: SplitMix64 + polar-method Gaussians, identical on every target |
//! | [`error`] | [`Error`]: one enum, messages that say what to do |
//! | `quantize`, `host` | host-side (feature `quantize`): float decoder to blob; any blob's decoder with heap buffers |
//!
//! Decoding is integer-only after quantizing `z` (one IEEE division and rounding per
//! latent value): per layer `acc = bias + W_q x_q` in `i32`, hidden layers requantize to
//! int8 with a fixed-point multiplier and ReLU, the last layer's value is mapped to a
//! pixel `round(255 * sigmoid(logit))` by counting 255 sorted thresholds. So the host and
//! every chip produce the same bytes for the same request. Every blob check (magic,
//! version, CRC, shapes, lengths, scales, overflow bounds) happens once in
//! [`Decoder::from_bytes`]; afterwards only inputs can be wrong.
//!
//! Stack use of a decode: [`Shape::stack_bytes`] (two `[i8; HIDDEN]` activation buffers
//! plus the kernels' frames); the weights stay in the blob (flash).
//!
//! # Cargo features
//!
//! * `quantize`: host-side tools (use `std`): the quantizer (module `quantize`), used by
//!   `vae-export` and `vae-train`, and the host decoder for any blob (module `host`).
//! * `testing`: host-side helpers for tests (module `testing`, uses `std`; implies `quantize`).
//! * `std`: links `std`, for run-time CPU feature detection: on an x86-64 CPU with AVX-512
//!   F, BW and VNNI the decoder then runs its AVX-512 kernels (same bytes, about 17x
//!   faster on the default blob). Implied by `quantize`. Without it those kernels are used
//!   only when compiled in (`-Ctarget-feature=+avx512f,+avx512bw,+avx512vnni` or
//!   `-Ctarget-cpu=native` on such a CPU); other targets are not affected.

#![no_std]
// `unsafe` is denied everywhere but in the target-specific kernels, each compiled only
// for its target and tested bit for bit against the portable kernels (the `allow`s in
// `kernel`): the Cortex-M DSP, Thumb-1 and RISC-V `asm!` loops, x86-64's AVX-512 VNNI
// and AVX2 intrinsics (with `quantize` also the host engine's repacked layouts), AArch64
// NEON, and wasm32 simd128 and relaxed SIMD (`kernel::wasm` and the repacked decoder's
// passes in `kernel::pairs` and `kernel::quads`). Every unsafe block says why it is sound
// in a `// SAFETY:` comment.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std", feature = "testing", feature = "quantize"))]
extern crate std;

mod bytes;
pub mod decoder;
pub mod error;
pub mod format;
#[cfg(any(test, feature = "quantize"))]
pub mod host;
mod kernel;
#[cfg(any(test, feature = "quantize"))]
pub mod quantize;
pub mod repacked;
pub mod request;
pub mod rng;
pub mod shape;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use decoder::{Decoder, DecoderCore};
pub use error::Error;
pub use format::{Dense, Metadata, Model, ModelKind};
pub use kernel::Tier;
pub use request::Request;
pub use rng::Rng;
pub use shape::Shape;

/// Width and height of an image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (`IMAGE_SIDE * IMAGE_SIDE` = 784), row-major.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of MNIST classes (digits 0 to 9).
pub const NUM_CLASSES: usize = 10;
