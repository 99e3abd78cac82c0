//! Draw MNIST digits on a microcontroller: the int8 decoder of a variational autoencoder,
//! `#![no_std]`, no allocation, no panics on any blob or input, and no `unsafe` except two
//! kernels compiled only for their targets: the Cortex-M4/M7 SMLAD loop (`asm!`) and the
//! x86-64 AVX-512 VNNI layers (intrinsics) that a host with those features runs (with
//! `quantize`, also the host engine behind `host::open`, which repacks the weights).
//!
//! # The 30-second tour
//!
//! On the host, `vae-train` trains an MLP VAE on MNIST and `vae-export` quantizes its
//! decoder into a *blob* (`decoder.bin`, format in [`format`] and `FORMAT.md`). On the
//! device, this crate reads the blob in place and turns latent vectors (or just seeds) into
//! 28x28 grey images:
//!
//! ```
//! # use vae_core::format::{self, Dense, Layers, Metadata, Model, ModelKind};
//! # fn rows(v: [u8; 4], n: usize) -> Vec<u8> { v.repeat(n) }
//! # fn arrays(in_dim: usize, out_dim: usize, s_in: f32, s_out: f32) -> [Vec<u8>; 5] {
//! #     let s_w = 0.01f32;
//! #     let (m, n) = format::quantize_multiplier(f64::from(s_in * s_w) / f64::from(s_out)).unwrap();
//! #     let weights = (0..in_dim * out_dim).map(|i| (i * 37 % 255) as u8).collect();
//! #     [weights, rows(s_w.to_le_bytes(), out_dim), rows(0i32.to_le_bytes(), out_dim),
//! #      rows(m.to_le_bytes(), out_dim), vec![n; out_dim]]
//! # }
//! # fn layer(a: &[Vec<u8>; 5], in_dim: u16, out_dim: u16, s_in: f32, s_out: f32) -> Dense<'_> {
//! #     let input_zero_point = if in_dim == 2 { 0 } else { -128 };
//! #     Dense { in_dim, out_dim, input_scale: s_in, input_zero_point, output_scale: s_out,
//! #             weights: &a[0], weight_scales: &a[1], bias: &a[2], multipliers: &a[3],
//! #             shifts: &a[4] }
//! # }
//! # let (s_z, s_h, s_logit) = (4.0f32 / 127.0, 0.05f32, 1.0f32 / 4096.0);
//! # let (a1, a2) = (arrays(2, 16, s_z, s_h), arrays(16, 784, s_h, s_logit));
//! # let thresholds: Vec<u8> = format::pixel_thresholds(f64::from(s_logit)).unwrap()
//! #     .iter().flat_map(|t| t.to_le_bytes()).collect();
//! # let model = Model {
//! #     kind: ModelKind::Unconditional,
//! #     latent_dim: 2,
//! #     layers: Layers::from_slice(&[layer(&a1, 2, 16, s_z, s_h), layer(&a2, 16, 784, s_h, s_logit)]).unwrap(),
//! #     pixel_thresholds: &thresholds,
//! #     metadata: Metadata::default(),
//! #     prior: Default::default(),
//! # };
//! # let mut blob = vec![0u8; format::encoded_len(&model)?];
//! # format::encode(&model, &mut blob)?;
//! use vae_core::{Decoder, Error, IMAGE_PIXELS, IMAGE_SIDE};
//!
//! // The blob's shapes (vae-export prints them); a mismatch is an Error::DimsMismatch.
//! const LATENT: usize = 2; // latent dimension
//! const HIDDEN: usize = 16; // widest hidden layer
//!
//! fn draw(blob: &[u8], seed: u64) -> Result<[u8; IMAGE_PIXELS], Error> {
//!     let decoder = Decoder::<LATENT, HIDDEN>::from_bytes(blob)?; // every check is here
//!     let mut image = [0u8; IMAGE_PIXELS];
//!     decoder.generate(seed, &mut image)?; // z from the blob's prior (by seed), then decode
//!     Ok(image)
//! }
//!
//! // On a chip: `static BLOB: &[u8] = include_bytes!("decoder.bin");`
//! let image = draw(&blob, 42)?;
//! assert_eq!(image, draw(&blob, 42)?); // same seed, same image, on every target
//! for row in image.chunks_exact(IMAGE_SIDE) {
//!     // 28 grey levels per row: 0 = black, 255 = white
//! #   assert_eq!(row.len(), 28);
//! }
//! # Ok::<(), Error>(())
//! ```
//!
//! Beyond [`generate`](Decoder::generate): [`decode`](Decoder::decode) takes your own
//! latent `z` (e.g. to interpolate between digits), class-conditional models take a digit
//! ([`generate_digit`](Decoder::generate_digit), [`decode_digit`](Decoder::decode_digit)),
//! and [`decode_q`](Decoder::decode_q) starts from an already quantized latent.
//!
//! # How it works
//!
//! | module | one job |
//! |---|---|
//! | [`format`] | the blob: header, CRC-32, postcard body ([`format::Model`]), [`format::parse`] and the writer [`format::encode`] |
//! | [`decoder`] | [`Decoder`]: shapes as const generics, decode / generate |
//! | [`kernel`] | integer arithmetic: `i8 x i8 -> i32` dense, requantize, ReLU, sigmoid thresholds |
//! | [`rng`] | [`Rng`]: SplitMix64 + polar-method Gaussians, identical on every target |
//! | [`error`] | [`Error`]: one enum, messages that say what to do |
//! | `quantize`, `host` | host-side (feature `quantize`): float decoder to blob; any blob's decoder behind a trait object |
//!
//! Decoding is integer-only after quantizing `z` (one IEEE division and rounding per
//! latent value): per layer `acc = bias + W_q x_q` in `i32`, hidden layers requantize to
//! int8 with a fixed-point multiplier and ReLU, the last layer's value is mapped to a
//! pixel `round(255 * sigmoid(logit))` by counting 255 sorted thresholds. So the host and
//! every chip produce the same bytes for the same seed. Every blob check (magic, version,
//! CRC, shapes, lengths, scales, overflow bounds) happens once in
//! [`Decoder::from_bytes`]; afterwards only inputs can be wrong.
//!
//! Stack use of a decode: two `[i8; HIDDEN]` scratch buffers plus small change (on an
//! x86-64 host running the AVX-512 kernels, about 5 KB more); the weights stay in the
//! blob (flash).
//!
//! # Cargo features
//!
//! * `quantize`: host-side tools (use `std`): the quantizer (module `quantize`), used by
//!   `vae-export` and `vae-train`, and [`Decoder`] with shapes picked at run time (module
//!   `host`).
//! * `testing`: host-side helpers for tests (module `testing`, uses `std`; implies `quantize`).
//! * `std`: links `std`, for run-time CPU feature detection: on an x86-64 CPU with AVX-512
//!   F, BW and VNNI the decoder then runs its AVX-512 kernels (same bytes, about 17x
//!   faster on the default blob). Implied by `quantize`. Without it those kernels are used
//!   only when compiled in (`-Ctarget-feature=+avx512f,+avx512bw,+avx512vnni` or
//!   `-Ctarget-cpu=native` on such a CPU); other targets are not affected.

#![no_std]
// `unsafe` is denied everywhere but in two modules: `kernel::dsp` (three one-instruction
// `asm!` blocks and the four-row SMLAD loop of the Cortex-M4 kernel, measured and tested
// against golden bytes) and `kernel::x86` (x86-64 only: AVX-512 VNNI intrinsics, whose
// loads and stores go through raw pointers into slices checked in safe code, and calls
// into `#[target_feature]` functions, made only after the CPU features are known to be
// there; with `quantize` also `kernel::x86::host_layout`, the host engine's repacked
// weights; all tested bit for bit against the portable kernels). Every unsafe block says why
// it is sound in a `// SAFETY:` comment.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std", feature = "testing", feature = "quantize"))]
extern crate std;

pub mod decoder;
pub mod error;
pub mod format;
#[cfg(any(test, feature = "quantize"))]
pub mod host;
pub mod kernel;
#[cfg(any(test, feature = "quantize"))]
pub mod quantize;
pub mod rng;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use decoder::Decoder;
pub use error::Error;
pub use format::{Dense, Metadata, Model, ModelKind};
pub use rng::Rng;

/// Width and height of an image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (`IMAGE_SIDE * IMAGE_SIDE` = 784), row-major.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of MNIST classes (digits 0 to 9).
pub const NUM_CLASSES: usize = 10;
