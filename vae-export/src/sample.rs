//! Digits from a blob on the host, through vae-core: what the chip will show.

use vae_core::IMAGE_PIXELS;
use vae_core::format::crc32;

use vae_core::Request;
use vae_core::host::Engine;
use vae_train::export::{ExportError, blob_err};

/// Largest sampling temperature accepted. At 1 the latent is the prior's spread; by
/// about 10 nearly every latent value already lies outside the int8 input range and is
/// clamped to its ends, so larger values draw nothing new (and 1e38 would overflow to
/// infinity).
pub const MAX_TEMPERATURE: f32 = 100.0;

/// Checks a `--temperature` value: finite, `>= 0`, at most [`MAX_TEMPERATURE`].
pub fn check_temperature(temperature: f32) -> Result<(), ExportError> {
    if temperature.is_finite() && (0.0..=MAX_TEMPERATURE).contains(&temperature) {
        return Ok(());
    }
    Err(ExportError::Usage(format!(
        "--temperature {temperature} is not a number between 0 and {MAX_TEMPERATURE}: use e.g. \
         1.0 (the prior) or 0.8 (cleaner digits); beyond about 10 the latent only saturates"
    )))
}

/// One generated digit.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Its seed.
    pub seed: u64,
    /// The digit asked for (conditional blobs).
    pub digit: Option<u8>,
    /// The 28x28 pixels.
    pub pixels: [u8; IMAGE_PIXELS],
}

impl Sample {
    /// The line the firmware prints for this digit: `seed N: crc32 XXXXXXXX`.
    pub fn crc_line(&self) -> String {
        format!("seed {}: crc32 {:08x}", self.seed, crc32(&self.pixels))
    }
}

/// `count` digits for seeds `first_seed, first_seed + 1, ...`, exactly as
/// `Decoder::generate` makes them for the same `Request` (on every target). A conditional
/// blob draws `digit`, or, if `None`, cycles 0-9 (sample `i` is digit `i % 10`, like the
/// firmware). `temperature` `None` is the request's default: 1 without a digit, 0.5
/// (`vae_core::request::DIGIT_TEMPERATURE`) for a digit.
pub fn generate(
    decoder: &Engine<'_>,
    first_seed: u64,
    count: usize,
    digit: Option<u8>,
    temperature: Option<f32>,
) -> Result<Vec<Sample>, ExportError> {
    let mut samples = Vec::with_capacity(count.min(1 << 16));
    generate_each(decoder, first_seed, count, digit, temperature, |s| {
        samples.push(s);
        Ok(())
    })?;
    Ok(samples)
}

/// [`generate`] one digit at a time: `each` gets every sample as it is drawn (to stream
/// them to disk without holding them all); its error stops the run.
pub fn generate_each(
    decoder: &Engine<'_>,
    first_seed: u64,
    count: usize,
    digit: Option<u8>,
    temperature: Option<f32>,
    mut each: impl FnMut(Sample) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    if let Some(temperature) = temperature {
        check_temperature(temperature)?;
    }
    let classes = decoder.model().classes();
    if digit.is_some() && classes.is_none() {
        return Err(ExportError::Usage(
            "--digit needs a conditional blob (train with `vae-train --conditional`)".into(),
        ));
    }
    for i in 0..count {
        let seed = first_seed.wrapping_add(i as u64);
        let digit = classes.map(|classes| digit.unwrap_or((i % usize::from(classes)) as u8));
        let request = Request {
            seed,
            digit,
            temperature,
        };
        let mut pixels = [0u8; IMAGE_PIXELS];
        decoder
            .generate(&request, &mut pixels)
            .map_err(blob_err(format!("generating seed {seed}")))?;
        each(Sample {
            seed,
            digit,
            pixels,
        })?;
    }
    Ok(())
}
