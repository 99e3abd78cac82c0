//! Which burn CPU backend runs the model.
//!
//! With the default cargo feature `flex`, burn's pure-Rust flex backend; without it
//! (`--no-default-features --features ndarray`), burn-ndarray. Pick explicitly rather than with
//! `Device::default()`, whose choice depends on which burn features other crates of the
//! build happen to enable.

use burn::tensor::Device;

#[cfg(not(any(feature = "flex", feature = "ndarray")))]
compile_error!(
    "vae-train needs a burn backend: the `flex` feature (default) or `ndarray` \
     (`--no-default-features --features ndarray`)"
);

/// Name of the selected backend, for logs.
#[cfg(feature = "flex")]
pub const BACKEND_NAME: &str = "flex";
/// Name of the selected backend, for logs.
#[cfg(not(feature = "flex"))]
pub const BACKEND_NAME: &str = "ndarray";

/// The CPU device for inference (no autodiff).
#[cfg(feature = "flex")]
pub fn device() -> Device {
    Device::flex()
}

/// The CPU device for inference (no autodiff).
#[cfg(not(feature = "flex"))]
pub fn device() -> Device {
    // burn 0.22 deprecates burn-ndarray in favour of flex; it stays selectable here so the
    // two backends can be compared (and as a fallback), hence the allowed deprecation.
    #[allow(deprecated)]
    Device::ndarray()
}

/// The CPU device for training (autodiff enabled).
pub fn train_device() -> Device {
    device().autodiff()
}
