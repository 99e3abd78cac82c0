//! Fuzz target `decode`: arbitrary bytes into the blob reader and, when a blob loads, the
//! decoder with arbitrary latents, seeds and digits. The checks live in `src/check.rs`,
//! which `vae-core/tests/corruption.rs` also runs on every corpus and regression file.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/check.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check_input(data);
});
