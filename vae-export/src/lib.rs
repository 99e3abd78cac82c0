//! Turn a trained VAE into a decoder blob for `vae-core`, and check it.
//!
//! * [`export`]: checkpoint in, quantized, integrity-checked blob out
//!   ([`vae_core::quantize`] does the arithmetic, [`vae_core::format`] the bytes), with a
//!   [`ParityReport`] against the float model.
//! * [`sample`]: digits from any blob through vae-core on the host, byte for byte what
//!   a chip shows for the same seeds.
//! * [`host`]: vae-core's decoder with its shapes picked at run time (re-exported from
//!   `vae_core::host`).
//!
//! The `vae-export` binary is a thin command line over these.

pub mod error;
pub mod export;
pub mod parity;
pub mod sample;

pub use error::ExportError;
pub use export::{ExportOptions, Exported, export};
pub use parity::ParityReport;
pub use vae_core::host;
