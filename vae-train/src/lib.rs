//! Train an MLP VAE on MNIST with burn.
pub mod adam;
pub mod backend;
pub mod checkpoint;
pub mod classifier;
pub mod cli;
pub mod config;
pub mod data;
pub mod int8;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod pictures;
pub mod prior;
pub mod render;
pub mod rng;
pub mod train;
