//! vae-core on a 32-bit RISC-V core (QEMU `virt`, RV32IMAC, no SIMD).
//!
//! Generates digits for fixed seeds with the embedded blob, prints each as ASCII art with
//! the CRC-32 of its 784 bytes over the UART (CI compares them with the host's golden
//! output), counts the instructions of each decode with the `minstret` CSR under
//! `qemu-system-riscv32 -icount shift=0`, paints the stack to find its high-water mark,
//! and exits through the SiFive test device with status 0, or non-zero on any error or
//! panic.
#![no_std]
#![no_main]

use core::fmt::Write;

use riscv_rt::entry;
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32};

mod board;
mod model;

use board::{Uart, instret};
use model::{BLOB, BOARD, SHAPE, Vae};

/// Seeds of the golden images (examples/models/golden.txt holds the host's CRCs).
const SEEDS: [u64; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";
/// Stack paint pattern.
const PAINT: u32 = 0xCDCD_CDCD;

/// `writeln!` to the UART (writing to it cannot fail).
macro_rules! println {
    ($($arg:tt)*) => {{ let _ = writeln!(Uart, $($arg)*); }};
}

#[entry]
fn main() -> ! {
    board::exit(run().is_ok())
}

fn run() -> Result<(), ()> {
    paint_stack();
    let decoder = Vae::from_bytes(BLOB).map_err(|e| {
        println!("error: cannot load the decoder blob: {}", e);
    })?;
    println!(
        "vae-core on {}: blob {} bytes, latent {}, {} layers, {} MACs per digit{}",
        BOARD,
        BLOB.len(),
        SHAPE.latent,
        SHAPE.layers,
        SHAPE.macs,
        if SHAPE.classes != 0 {
            ", conditional"
        } else {
            ""
        }
    );

    let overhead = counter_overhead();
    let mut image = [0u8; IMAGE_PIXELS];
    let mut best = u64::MAX;
    for (i, &seed) in SEEDS.iter().enumerate() {
        let request = golden_request(i, seed);
        let start = instret();
        let result = decoder.generate(&request, &mut image);
        let instructions = (instret() - start).saturating_sub(overhead);
        result.map_err(|e| println!("error: seed {}: {}", seed, e))?;
        best = best.min(instructions);
        println!("seed {}: crc32 {:08x}", seed, crc32(&image));
        print_ascii(&image);
    }

    // The integer network alone: an already quantized latent (the standard Gaussians of
    // seed 0) through decode_quantized.
    let request = golden_request(0, SEEDS[0]);
    let mut z = [0f32; SHAPE.latent];
    vae_core::Rng::new(SEEDS[0]).fill_gaussian(&mut z);
    let z_q = decoder
        .quantize_latent(&z)
        .map_err(|e| println!("error: {}", e))?;
    let start = instret();
    let result = decoder.decode_quantized(&z_q, request.digit, &mut image);
    let network = (instret() - start).saturating_sub(overhead);
    result.map_err(|e| println!("error: decode_quantized: {}", e))?;
    let macs = SHAPE.macs as u64;
    let network_x100 = network * 100 / macs;
    println!(
        "instructions per decode_quantized (network only): {} ({}.{:02} per MAC)",
        network,
        network_x100 / 100,
        network_x100 % 100
    );
    let per_mac_x100 = best * 100 / macs;
    println!(
        "instructions per digit: {} ({} MACs, {}.{:02} instructions per MAC)",
        best,
        macs,
        per_mac_x100 / 100,
        per_mac_x100 % 100,
    );
    println!("stack high-water mark: {} bytes", stack_high_water());

    // The stack one decode takes, against the bound vae-core states at compile time.
    let used = decode_stack(&decoder, &request, &mut image);
    println!(
        "stack per decode: {} bytes (Shape::stack_bytes {})",
        used, SHAPE.stack_bytes
    );
    if used > SHAPE.stack_bytes {
        println!("error: a decode used more stack than Shape::stack_bytes");
        return Err(());
    }
    Ok(())
}

/// The request of golden image `i` (seed `seed`): digit `i % 10` for a conditional blob.
fn golden_request(i: usize, seed: u64) -> Request {
    if SHAPE.classes != 0 {
        Request::new(seed).digit((i % 10) as u8)
    } else {
        Request::new(seed)
    }
}

/// Instructions that two back-to-back [`instret`] reads count on their own, subtracted
/// from every measurement. Also checks the counter against a block of 2,000 `nop`s,
/// which fails the run if `minstret` does not count instructions (QEMU without
/// `-icount` counts host ticks).
fn counter_overhead() -> u64 {
    let start = instret();
    let overhead = instret() - start;
    let start = instret();
    nops();
    let counted = (instret() - start).saturating_sub(overhead);
    // 2,000 `nop`s plus the call, the return and a few moves around them.
    if !(2_000..2_020).contains(&counted) {
        println!("warning: minstret counted {} for 2,000 nops", counted);
    }
    overhead
}

/// Exactly 2,000 `nop`s (+ call and return).
#[inline(never)]
fn nops() {
    // SAFETY: a block of `nop` instructions touches no memory or registers.
    unsafe { core::arch::asm!(".rept 2000", "nop", ".endr", options(nomem, nostack)) };
}

/// Bytes of stack below the caller's frame that `decoder.generate(request)` writes:
/// paints the free stack, runs the decode, finds the lowest overwritten word.
#[inline(never)]
fn decode_stack(decoder: &Vae, request: &Request, image: &mut [u8; IMAGE_PIXELS]) -> usize {
    let sp = stack_pointer();
    paint_stack();
    let _ = core::hint::black_box(decoder).generate(request, image);
    let mut p = &raw const __sheap;
    // SAFETY: reads words of RAM between the statics and the current stack pointer.
    while (p as usize) < sp && unsafe { p.read_volatile() } == PAINT {
        p = p.wrapping_add(1);
    }
    sp.saturating_sub(p as usize)
}

fn print_ascii(image: &[u8; IMAGE_PIXELS]) {
    for row in image.chunks_exact(IMAGE_SIDE) {
        let mut line = [b'\n'; IMAGE_SIDE + 1];
        for (c, &p) in line.iter_mut().zip(row) {
            *c = RAMP[usize::from(p) * RAMP.len() / 256];
        }
        board::write_bytes(&line);
    }
}

unsafe extern "C" {
    /// The end of static data (riscv-rt's empty heap): the stack may grow down to here.
    static mut __sheap: u32;
    /// The top of the stack.
    static _stack_start: u32;
}

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a register.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Fills the free RAM between the end of static data and the current stack pointer
/// with a pattern.
fn paint_stack() {
    let sp = stack_pointer();
    let mut p = &raw mut __sheap;
    // Leave 256 bytes below the current frame untouched.
    while (p as usize) < sp - 256 {
        // SAFETY: [__sheap, sp - 256) is unused RAM between statics and the stack.
        unsafe { p.write_volatile(PAINT) };
        p = p.wrapping_add(1);
    }
}

/// Bytes of stack ever used: from the stack top down to the lowest overwritten word.
fn stack_high_water() -> usize {
    let top = &raw const _stack_start as usize;
    let mut p = &raw const __sheap;
    // SAFETY: reads words of RAM between the statics and the stack top.
    while (p as usize) < top && unsafe { p.read_volatile() } == PAINT {
        p = p.wrapping_add(1);
    }
    top - p as usize
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {}", info);
    board::exit(false)
}
