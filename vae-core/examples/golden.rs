//! Regenerates the golden files of the committed blobs from the host decoder alone:
//! `examples/models/golden.txt` and `golden.u8` (seeds 0..7 of `decoder.bin`),
//! `golden-small.txt` (of `decoder-small.bin`), `golden-int4.txt` (of
//! `decoder-int4.bin`, format 3.0), `golden-cond.txt` (of `decoder-cond.bin`, the
//! class-conditional blob the web page ships) and `golden-z2.txt` (of `decoder-z2.bin`,
//! the page's 2-D blob).
//!
//! ```sh
//! cargo run -p vae-core --example golden            # rewrites the six files
//! cargo run -p vae-core --example golden -- --check # only compares, exit 1 on a difference
//! ```
//!
//! Each image is what the firmwares (and `tests/tests/golden.rs`) compute:
//! `generate(&Request::new(seed))` for an unconditional blob,
//! `generate(&Request::new(seed).digit(seed % 10))` (at the default digit temperature) for
//! a conditional one, and its line is `seed N: crc32 XXXXXXXX` with [`crc32`] of the 784
//! bytes.

use std::path::Path;
use std::{env, fs, process};

use vae_core::format::crc32;
use vae_core::{Decoder, Error, IMAGE_PIXELS, Model, Request, Shape};

/// The committed blobs, and their shapes read at compile time.
static DEFAULT: &[u8] = include_bytes!("../../examples/models/decoder.bin");
const DEFAULT_SHAPE: Shape = Shape::of(DEFAULT);
static SMALL: &[u8] = include_bytes!("../../examples/models/decoder-small.bin");
const SMALL_SHAPE: Shape = Shape::of(SMALL);
static INT4: &[u8] = include_bytes!("../../examples/models/decoder-int4.bin");
const INT4_SHAPE: Shape = Shape::of(INT4);
static COND: &[u8] = include_bytes!("../../examples/models/decoder-cond.bin");
const COND_SHAPE: Shape = Shape::of(COND);
static Z2: &[u8] = include_bytes!("../../examples/models/decoder-z2.bin");
const Z2_SHAPE: Shape = Shape::of(Z2);

/// Seeds of the golden images (the firmwares' `SEEDS`).
const SEEDS: std::ops::Range<u64> = 0..8;

/// The request of golden image `seed`: the seed alone, plus digit `seed % 10` for a
/// conditional blob.
fn golden_request(model: &Model<'_>, seed: u64) -> Request {
    match model.classes() {
        Some(_) => Request::new(seed).digit((seed % 10) as u8),
        None => Request::new(seed),
    }
}

/// The golden images of a blob, concatenated, and their `seed` lines.
fn golden<const LATENT: usize, const HIDDEN: usize>(
    blob: &[u8],
) -> Result<(Vec<u8>, String), Error> {
    let decoder = Decoder::<LATENT, HIDDEN>::from_bytes(blob)?;
    let (mut bytes, mut lines) = (Vec::new(), String::new());
    for seed in SEEDS {
        let mut image = [0u8; IMAGE_PIXELS];
        decoder.generate(&golden_request(decoder.model(), seed), &mut image)?;
        bytes.extend_from_slice(&image);
        lines.push_str(&format!("seed {seed}: crc32 {:08x}\n", crc32(&image)));
    }
    Ok((bytes, lines))
}

/// Writes `contents` to `path`, or with `check` compares; returns whether they matched.
fn write_or_check(path: &Path, contents: &[u8], check: bool) -> bool {
    let same = fs::read(path).is_ok_and(|old| old == contents);
    if check {
        println!(
            "{}: {}",
            path.display(),
            if same { "same" } else { "DIFFERS" }
        );
    } else {
        fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!(
            "{}: {}",
            path.display(),
            if same { "unchanged" } else { "rewritten" }
        );
    }
    same
}

fn main() {
    let check = env::args().any(|a| a == "--check");
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models");
    let (bytes, lines) =
        golden::<{ DEFAULT_SHAPE.latent }, { DEFAULT_SHAPE.hidden }>(DEFAULT).expect("decoder.bin");
    let (_, small_lines) =
        golden::<{ SMALL_SHAPE.latent }, { SMALL_SHAPE.hidden }>(SMALL).expect("decoder-small.bin");
    let (_, int4_lines) =
        golden::<{ INT4_SHAPE.latent }, { INT4_SHAPE.hidden }>(INT4).expect("decoder-int4.bin");
    let (_, cond_lines) =
        golden::<{ COND_SHAPE.latent }, { COND_SHAPE.hidden }>(COND).expect("decoder-cond.bin");
    let (_, z2_lines) =
        golden::<{ Z2_SHAPE.latent }, { Z2_SHAPE.hidden }>(Z2).expect("decoder-z2.bin");
    let mut same = write_or_check(&models.join("golden.u8"), &bytes, check);
    same &= write_or_check(&models.join("golden-z2.txt"), z2_lines.as_bytes(), check);
    same &= write_or_check(
        &models.join("golden-cond.txt"),
        cond_lines.as_bytes(),
        check,
    );
    same &= write_or_check(
        &models.join("golden-int4.txt"),
        int4_lines.as_bytes(),
        check,
    );
    same &= write_or_check(&models.join("golden.txt"), lines.as_bytes(), check);
    same &= write_or_check(
        &models.join("golden-small.txt"),
        small_lines.as_bytes(),
        check,
    );
    if check && !same {
        process::exit(1);
    }
}
