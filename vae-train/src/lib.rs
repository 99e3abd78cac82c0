//! Train an MLP VAE on MNIST with burn.
pub mod backend;
pub mod checkpoint;
pub mod classifier;
pub mod cli;
pub mod config;
pub mod data;
pub mod export;
pub mod fsutil;
pub mod metrics;
pub mod model;
pub mod pictures;
pub mod render;
pub mod rng;
pub mod runfolder;
pub mod training;
