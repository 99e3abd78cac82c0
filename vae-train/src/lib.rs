//! Train an MLP VAE on MNIST with burn.
pub mod data;
pub mod pictures;
