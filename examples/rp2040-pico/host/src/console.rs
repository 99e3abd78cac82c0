//! The Pico console's output lines, as `pico-check` reads them, and the host's side of a
//! digit: the pixels `vae-core` decodes here and the ASCII art the firmware prints for
//! them (`../../src/draw.rs`).
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32, host::Engine};

/// The firmware's grey ramp for ASCII art, dark to bright (`draw.rs`).
pub const RAMP: &[u8] = b" .:-=+*#%@";

/// The banner's blob line: `blob N bytes, crc32 XXXXXXXX, ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// The blob's size in bytes.
    pub bytes: usize,
    /// The CRC-32 in the blob's trailer.
    pub crc: u32,
}

/// Parses the banner's blob line.
pub fn banner(line: &str) -> Option<Banner> {
    let rest = line.strip_prefix("blob ")?;
    let (bytes, rest) = rest.split_once(" bytes, crc32 ")?;
    let crc = rest.get(..8)?;
    Some(Banner {
        bytes: bytes.parse().ok()?,
        crc: u32::from_str_radix(crc, 16).ok()?,
    })
}

/// A digit's closing line: `seed S[, digit D]: crc32 XXXXXXXX, decoded in N us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitLine {
    pub seed: u64,
    pub digit: Option<u8>,
    pub crc: u32,
    pub decode_us: u64,
}

/// Parses `seed S[, digit D]` (a digit's name, as the heading and the closing line start).
fn name(text: &str) -> Option<(u64, Option<u8>)> {
    let text = text.strip_prefix("seed ")?;
    match text.split_once(", digit ") {
        Some((seed, digit)) => Some((seed.parse().ok()?, Some(digit.parse().ok()?))),
        None => Some((text.parse().ok()?, None)),
    }
}

/// Parses a digit's heading line, `seed S[, digit D]:`.
pub fn heading(line: &str) -> Option<(u64, Option<u8>)> {
    name(line.strip_suffix(':')?)
}

/// Parses a digit's closing line.
pub fn digit_line(line: &str) -> Option<DigitLine> {
    let (head, rest) = line.split_once(": crc32 ")?;
    let (seed, digit) = name(head)?;
    let (crc, rest) = rest.split_once(", decoded in ")?;
    let us = rest.strip_suffix(" us")?;
    if crc.len() != 8 {
        return None;
    }
    Some(DigitLine {
        seed,
        digit,
        crc: u32::from_str_radix(crc, 16).ok()?,
        decode_us: us.parse().ok()?,
    })
}

/// One row of pixels as the firmware's ASCII art.
pub fn ascii_row(row: &[u8]) -> String {
    row.iter()
        .map(|&p| char::from(RAMP[usize::from(p) * RAMP.len() / 256]))
        .collect()
}

/// The host's digit for `g SEED`: `Request::new(seed)`, as the firmware asks (the blob's
/// prior at the default temperature, with no digit even for a conditional blob).
pub struct HostDigit {
    pub pixels: [u8; IMAGE_PIXELS],
    pub crc: u32,
    /// The 28 rows of ASCII art.
    pub rows: Vec<String>,
}

/// Decodes `seed` on the host.
pub fn host_digit(engine: &Engine<'_>, seed: u64) -> Result<HostDigit, vae_core::Error> {
    let mut pixels = [0u8; IMAGE_PIXELS];
    engine.generate(&Request::new(seed), &mut pixels)?;
    Ok(HostDigit {
        pixels,
        crc: crc32(&pixels),
        rows: pixels.chunks_exact(IMAGE_SIDE).map(ascii_row).collect(),
    })
}

/// The blob's CRC-32 as the banner shows it: the one in its last 4 bytes.
pub fn blob_crc(blob: &[u8]) -> Option<u32> {
    let (_, crc) = blob.split_last_chunk::<4>()?;
    Some(u32::from_le_bytes(*crc))
}

/// Parses `--seeds`: `A..B` (B excluded), `A..=B`, or one seed `N`.
pub fn seeds(text: &str) -> Option<core::ops::Range<u64>> {
    if let Some((a, b)) = text.split_once("..=") {
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        if a > b {
            return None;
        }
        return Some(a..b.checked_add(1)?);
    }
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        return (a < b).then_some(a..b);
    }
    let n: u64 = text.parse().ok()?;
    Some(n..n.checked_add(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse() {
        let b = "blob 305751 bytes, crc32 9c8b6114, latent 20, hidden 256, 3 layers, unconditional";
        assert_eq!(
            banner(b),
            Some(Banner {
                bytes: 305_751,
                crc: 0x9c8b_6114
            })
        );
        assert_eq!(banner("vae-core on RP2040 at 125 MHz"), None);
        assert_eq!(heading("seed 7:"), Some((7, None)));
        assert_eq!(heading("seed 7, digit 3:"), Some((7, Some(3))));
        assert_eq!(heading("seed 7: crc32 2bc7b788, decoded in 26175 us"), None);
        assert_eq!(
            digit_line("seed 7: crc32 2bc7b788, decoded in 26175 us"),
            Some(DigitLine {
                seed: 7,
                digit: None,
                crc: 0x2bc7_b788,
                decode_us: 26_175
            })
        );
        assert_eq!(
            digit_line("seed 2, digit 9: crc32 0000abcd, decoded in 1 us").map(|d| d.digit),
            Some(Some(9))
        );
        assert_eq!(digit_line("seed 7:"), None);
        assert_eq!(digit_line("error: seed 7: bad"), None);
    }

    #[test]
    fn seed_ranges() {
        assert_eq!(seeds("0..8"), Some(0..8));
        assert_eq!(seeds("3..=5"), Some(3..6));
        assert_eq!(seeds("42"), Some(42..43));
        assert_eq!(seeds("8..8"), None);
        assert_eq!(seeds("5..=4"), None);
        assert_eq!(seeds("x"), None);
        assert_eq!(seeds("18446744073709551615..=18446744073709551615"), None);
    }

    #[test]
    fn ascii_art_uses_the_firmware_ramp() {
        assert_eq!(ascii_row(&[0, 25, 26, 128, 255]), "  .+@");
    }

    #[test]
    fn host_digits_match_the_golden_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models");
        let blob = std::fs::read(format!("{dir}/decoder.bin")).expect("the default blob");
        let golden = std::fs::read_to_string(format!("{dir}/golden.txt")).expect("golden.txt");
        let engine = vae_core::host::open(&blob).expect("a valid blob");
        for (seed, line) in golden.lines().enumerate() {
            let digit = host_digit(&engine, seed as u64).expect("a digit");
            assert_eq!(format!("seed {seed}: crc32 {:08x}", digit.crc), line);
            assert_eq!(digit.rows.len(), 28);
        }
        assert_eq!(blob_crc(&blob), Some(crc32(&blob[..blob.len() - 4])));
    }
}
