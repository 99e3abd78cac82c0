//! The `vae-export` command line: a trained run to a decoder blob for `vae-core`, and
//! digits from any blob.
//!
//! The export itself (quantization, parity report, writing the blob) lives in
//! [`vae_train::export`], re-exported here. This crate adds what only the command line
//! needs:
//!
//! * [`sample`]: digits from any blob through vae-core on the host, byte for byte what
//!   a chip shows for the same seeds.
//! * [`serial`]: a real board's digits over USB serial against the host's decode of the
//!   same blob (`vae-export serial`).
//! * [`host`]: vae-core's decoder with its shapes picked at run time (re-exported from
//!   `vae_core::host`).

pub mod sample;
pub mod serial;

pub use vae_core::host;
pub use vae_train::export::{
    ExportError, ExportOptions, Exported, ParityReport, export, parity, run_dir_of,
};
