//! A digit as text (ASCII art for the USB console) and as pixels (the OLED).
use core::fmt::{self, Write as _};

use embedded_graphics::{
    mono_font::{MonoTextStyle, ascii::FONT_6X10},
    pixelcolor::BinaryColor,
    prelude::*,
    text::Text,
};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE};

/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";
/// Scale of the image on the OLED.
const SCALE: usize = 2;
/// Top-left corner of the image on the OLED (56x56 px, vertically centred).
const IMAGE_AT: Point = Point::new(4, 4);
/// 4x4 Bayer matrix: an OLED pixel is lit when its grey level exceeds `16 * b + 8`.
const BAYER: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

/// What a frame shows besides the image.
pub struct Shown {
    /// The seed of the digit.
    pub seed: u64,
    /// The requested digit, for a conditional blob.
    pub digit: Option<u8>,
    /// The CRC-32 of the 784 image bytes.
    pub crc: u32,
    /// Decode time in µs (the chip's 1 MHz timer).
    pub decode_us: u64,
}

/// `seed S` or `seed S, digit D`: how the console and the defmt log name a digit.
impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}", self.seed)?;
        match self.digit {
            Some(digit) => write!(f, ", digit {digit}"),
            None => Ok(()),
        }
    }
}

/// One row of the image as ASCII art.
pub fn ascii_row(row: &[u8]) -> [u8; IMAGE_SIDE] {
    let mut line = [b' '; IMAGE_SIDE];
    for (c, &p) in line.iter_mut().zip(row) {
        *c = RAMP[usize::from(p) * RAMP.len() / 256];
    }
    line
}

/// The digit for the console: a heading, 28 rows of ASCII art, and the line
/// `seed S[, digit D]: crc32 XXXXXXXX, decoded in N us` that the emulator test
/// (`emu/run.mjs`) and `vae-export serial` (`vae-export/src/serial.rs`) read.
pub fn text(out: &mut impl fmt::Write, image: &[u8; IMAGE_PIXELS], shown: &Shown) -> fmt::Result {
    write!(out, "{shown}:\r\n")?;
    for row in image.chunks_exact(IMAGE_SIDE) {
        // The ramp is ASCII, so this never fails.
        out.write_str(core::str::from_utf8(&ascii_row(row)).unwrap_or(""))?;
        out.write_str("\r\n")?;
    }
    write!(
        out,
        "{shown}: crc32 {:08x}, decoded in {} us\r\n",
        shown.crc, shown.decode_us
    )
}

/// Draws the image 2x, ordered-dithered to 1 bit, at [`IMAGE_AT`] and the text to its
/// right.
pub fn oled<D>(target: &mut D, image: &[u8; IMAGE_PIXELS], shown: &Shown) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let side = IMAGE_SIDE * SCALE;
    let pixels = (0..side).flat_map(|y| (0..side).map(move |x| (x, y)));
    target.draw_iter(pixels.map(|(x, y)| {
        let grey = image[y / SCALE * IMAGE_SIDE + x / SCALE];
        let on = u16::from(grey) > u16::from(BAYER[y % 4][x % 4]) * 16 + 8;
        // x, y < 56: the casts are exact.
        Pixel(IMAGE_AT + Point::new(x as i32, y as i32), on.into())
    }))?;

    let style = MonoTextStyle::new(&FONT_6X10, BinaryColor::On);
    let mut text = heapless::String::<20>::new();
    let mut line = |y: i32, text: &str| Text::new(text, Point::new(66, y), style).draw(target);
    line(12, "seed")?;
    // A u64 fits in 20 characters, so these writes cannot fail.
    let _ = write!(text, "{}", shown.seed);
    line(24, &text)?;
    if let Some(digit) = shown.digit {
        text.clear();
        let _ = write!(text, "digit {digit}");
        line(40, &text)?;
    }
    text.clear();
    let ms = shown.decode_us / 1000;
    let _ = write!(text, "{}.{} ms", ms, shown.decode_us % 1000 / 100);
    line(56, &text)?;
    Ok(())
}
