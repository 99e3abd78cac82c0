//! The model: the MLP variational autoencoder ([`Vae`], a burn module), its prior
//! ([`prior`]), its loss ([`loss`]) and the conversions between host slices and tensors
//! ([`tensor`]).

pub mod loss;
pub mod prior;
pub mod tensor;
mod vae;

pub use vae::{DenseF32, Vae, VaeOutput, prior_latents};
