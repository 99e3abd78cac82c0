//! From a trained run to a decoder blob for `vae-core`, in one place.
//!
//! * [`int8`]: the model's decoder quantized to int8 (calibrated on real digits and prior
//!   samples), and the int8 test loss that training also measures every epoch.
//! * [`parity`]: how far the blob's pixels and test loss are from the float model.
//! * [`export`]: the whole export: checkpoint in, quantized, parity-checked blob out,
//!   written atomically.
//!
//! The `vae-export` binary is a thin command line over these.

mod blobfile;
mod error;
pub mod int8;
pub mod parity;
mod pipeline;

pub use blobfile::read_blob;
pub use error::{ExportError, blob_err};
pub use parity::ParityReport;
pub use pipeline::{
    ExportOptions, Exported, MAX_CALIBRATION, MAX_PARITY_LATENTS, export, quantize_model,
    refuse_run_file_as_output, run_dir_of, write_file,
};
