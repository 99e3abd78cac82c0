//! The lean firmware: what a product would keep of `main.rs`.
//!
//! Decodes the same seeds as the measuring firmware and prints the same `seed N: crc32 X`
//! lines and ASCII art over the UART, but without `core::fmt` (digits and hex are
//! written by hand into byte buffers), without the instruction counts and the stack
//! painting, and with a panic handler that only exits with a failure status. Its flash
//! size (excluding the blob) is the figure to compare with the 16 KB goal;
//! `cargo run --profile lean --bin lean` runs it in QEMU.
#![no_std]
#![no_main]

use riscv_rt::entry;
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32};

#[path = "../board.rs"]
mod board;
#[path = "../model.rs"]
mod model;

use model::{BLOB, BOARD, SHAPE, Vae};

/// Seeds of the golden images (the same as the measuring firmware's).
const SEEDS: [u64; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";

#[entry]
fn main() -> ! {
    board::exit(run().is_ok())
}

fn run() -> Result<(), ()> {
    let out = board::write_bytes;
    out(b"vae-core lean firmware on ");
    out(BOARD.as_bytes());
    out(b"\n");
    let decoder = Vae::from_bytes(BLOB).map_err(|_| {
        out(b"error: cannot load the decoder blob\n");
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
            out(b"error: decode failed\n");
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
        out(&line[..=len]);
        out(&ascii_art(&image));
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
    board::exit(false)
}
