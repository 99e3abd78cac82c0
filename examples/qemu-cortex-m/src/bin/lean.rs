//! The lean firmware: what a product would keep of `main.rs`.
//!
//! Decodes the same seeds as the measuring firmware and prints the same `seed N: crc32 X`
//! lines and ASCII art over semihosting, but without `core::fmt` (digits and hex are
//! written by hand into byte buffers), without the instruction-count calibration, the
//! SysTick handler and the stack painting, and with a panic handler that only exits with
//! a failure status. Its flash size (excluding the blob) is the figure to compare with
//! the 16 KB goal; `cargo run --release --bin lean` runs it in QEMU.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32};

#[path = "../model.rs"]
mod model;
#[path = "../vectors.rs"]
mod vectors;

use model::{BLOB, BOARD, SHAPE, Vae};

/// Seeds of the golden images (the same as the measuring firmware's).
const SEEDS: [u64; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";

#[entry]
fn main() -> ! {
    let ok = run().is_ok();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

fn run() -> Result<(), ()> {
    let mut out = hio::hstdout()?;
    out.write_all(b"vae-core lean firmware on ")?;
    out.write_all(BOARD.as_bytes())?;
    out.write_all(b"\n")?;
    let decoder = Vae::from_bytes(BLOB).map_err(|_| {
        let _ = out.write_all(b"error: cannot load the decoder blob\n");
    })?;
    let mut image = [0u8; IMAGE_PIXELS];
    for (i, &seed) in SEEDS.iter().enumerate() {
        let request = if SHAPE.classes != 0 {
            Request::new(seed).digit((i % 10) as u8)
        } else {
            Request::new(seed)
        };
        let result = decoder.generate(&request, &mut image);
        result.map_err(|_| {
            let _ = out.write_all(b"error: decode failed\n");
        })?;
        // "seed N: crc32 xxxxxxxx\n"
        let mut line = [0u8; 48];
        line[..5].copy_from_slice(b"seed ");
        let mut len = 5;
        len += write_decimal(&mut line[len..], seed as u32); // the seeds are small
        line[len..len + 8].copy_from_slice(b": crc32 ");
        len += 8;
        len += write_hex8(&mut line[len..], crc32(&image));
        line[len] = b'\n';
        out.write_all(&line[..=len])?;
        out.write_all(&ascii_art(&image))?;
    }
    Ok(())
}

/// The image as 28 lines of ASCII art, each ending in `\n`.
fn ascii_art(image: &[u8; IMAGE_PIXELS]) -> [u8; (IMAGE_SIDE + 1) * IMAGE_SIDE] {
    let mut text = [b'\n'; (IMAGE_SIDE + 1) * IMAGE_SIDE];
    for (line, row) in text
        .chunks_exact_mut(IMAGE_SIDE + 1)
        .zip(image.chunks_exact(IMAGE_SIDE))
    {
        for (c, &p) in line.iter_mut().zip(row) {
            *c = RAMP[usize::from(p) * RAMP.len() / 256];
        }
    }
    text
}

/// Writes `value` in decimal at the start of `buf` (at most 10 digits); returns the length.
fn write_decimal(buf: &mut [u8], mut value: u32) -> usize {
    let mut digits = [0u8; 10];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (value % 10) as u8;
        n += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for (dst, &d) in buf.iter_mut().zip(digits[..n].iter().rev()) {
        *dst = d;
    }
    n
}

/// Writes `value` as 8 lowercase hex digits at the start of `buf`; returns 8.
fn write_hex8(buf: &mut [u8], value: u32) -> usize {
    for (i, dst) in buf.iter_mut().take(8).enumerate() {
        let nibble = (value >> (28 - 4 * i)) & 0xf;
        *dst = b"0123456789abcdef"[nibble as usize];
    }
    8
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
