//! `vae-train`: train an MLP VAE on MNIST. Parses the flags and calls the library
//! ([`vae_train::cli::run`]); see `vae-train --help`.

use std::process::ExitCode;

use clap::Parser;
use vae_train::cli::{self, Cli};

// mimalloc is faster than the system allocator for burn's many short-lived tensor buffers
// (cargo feature `mimalloc`, on by default).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::error_message(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
