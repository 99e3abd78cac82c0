//! vae-core on a Cortex-M4F (Arm MPS2-AN386) under QEMU.
//!
//! Generates digits for fixed seeds with the embedded blob, prints each as ASCII art
//! with the CRC-32 of its 784 bytes over semihosting (CI compares them with the host's
//! golden output), measures instructions per digit with SysTick under
//! `qemu-system-arm -icount shift=0`, paints the stack to find its high-water mark, and
//! exits with status 0, or non-zero on any error or panic.
#![no_std]
#![no_main]

use core::cell::Cell;

use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprint, hprintln};
use panic_semihosting as _; // prints the panic message, then exits non-zero
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32};

mod model;
mod vectors;

use model::{BLOB, BOARD, SHAPE, Vae};

/// Seeds of the golden images (examples/models/golden.txt holds the host's CRCs).
const SEEDS: [u64; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";
/// Stack paint pattern.
const PAINT: u32 = 0xCDCD_CDCD;
/// SysTick reload (24-bit counter).
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick wraps since boot, counted in the exception handler.
static WRAPS: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

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
    paint_stack();
    let core = cortex_m::Peripherals::take().ok_or(())?;
    let mut syst = core.SYST;
    start_ticks(&mut syst);

    let decoder = Vae::from_bytes(BLOB).map_err(|e| {
        hprintln!("error: cannot load the decoder blob: {}", e);
    })?;
    hprintln!(
        "vae-core on {}: blob {} bytes, latent {}, {} layers, {} MACs per digit{}",
        BOARD,
        BLOB.len(),
        SHAPE.latent,
        SHAPE.layers,
        SHAPE.macs,
        if SHAPE.classes != 0 { ", conditional" } else { "" }
    );

    let calibration = calibration_ticks();
    let mut image = [0u8; IMAGE_PIXELS];
    let mut best = u64::MAX;
    for (i, &seed) in SEEDS.iter().enumerate() {
        let request = golden_request(i, seed);
        let start = now();
        let result = decoder.generate(&request, &mut image);
        let ticks = now() - start;
        result.map_err(|e| hprintln!("error: seed {}: {}", seed, e))?;
        best = best.min(ticks);
        hprintln!("seed {}: crc32 {:08x}", seed, crc32(&image));
        print_ascii(&image);
    }

    // The integer network alone: an already quantized latent (the standard Gaussians of
    // seed 0) through decode_quantized.
    let request = golden_request(0, SEEDS[0]);
    let mut z = [0f32; SHAPE.latent];
    vae_core::Rng::new(SEEDS[0]).fill_gaussian(&mut z);
    let z_q = decoder
        .quantize_latent(&z)
        .map_err(|e| hprintln!("error: {}", e))?;
    let start = now();
    let result = decoder.decode_quantized(&z_q, request.digit, &mut image);
    let network_ticks = now() - start;
    result.map_err(|e| hprintln!("error: decode_quantized: {}", e))?;
    let macs = SHAPE.macs as u64;
    let network = network_ticks * NOPS / calibration;
    let network_x100 = network * 100 / macs;
    hprintln!(
        "instructions per decode_quantized (network only): {} ({}.{:02} per MAC)",
        network,
        network_x100 / 100,
        network_x100 % 100
    );

    let instructions = best * NOPS / calibration;
    let per_mac_x100 = instructions * 100 / macs;
    hprintln!(
        "instructions per digit: {} ({} MACs, {}.{:02} instructions per MAC)",
        instructions,
        macs,
        per_mac_x100 / 100,
        per_mac_x100 % 100,
    );
    hprintln!("stack high-water mark: {} bytes", stack_high_water());

    // The stack one decode takes, against the bound vae-core states at compile time.
    let used = decode_stack(&decoder, &request, &mut image);
    hprintln!(
        "stack per decode: {} bytes (Shape::stack_bytes {})",
        used,
        SHAPE.stack_bytes
    );
    if used > SHAPE.stack_bytes {
        hprintln!("error: a decode used more stack than Shape::stack_bytes");
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

/// Bytes of stack below the caller's frame that `decoder.generate(request)` writes:
/// paints the free stack, runs the decode, finds the lowest overwritten word.
#[inline(never)]
fn decode_stack(decoder: &Vae, request: &Request, image: &mut [u8; IMAGE_PIXELS]) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
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
        let mut line = [b' '; IMAGE_SIDE];
        for (c, &p) in line.iter_mut().zip(row) {
            *c = RAMP[usize::from(p) * RAMP.len() / 256];
        }
        // The ramp is ASCII, so this never fails.
        hprint!("{}\n", core::str::from_utf8(&line).unwrap_or(""));
    }
}

fn start_ticks(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since `start_ticks` (SysTick counts down; wraps are counted by the handler).
fn now() -> u64 {
    cortex_m::interrupt::free(|cs| {
        let wraps = WRAPS.borrow(cs).get();
        let value = SYST::get_current();
        // A wrap that happened after masking interrupts is still pending: count it.
        let pending = cortex_m::peripheral::SCB::is_pendst_pending();
        let wraps = u64::from(wraps) + u64::from(pending && value > RELOAD / 2);
        wraps * (u64::from(RELOAD) + 1) + u64::from(RELOAD - value)
    })
}

/// Instructions in the calibration loop: 10 calls of [`nops`] (2,000 `nop`s each); the
/// call, return and loop add about 40 more (0.2%).
const NOPS: u64 = 20_000;

/// Calibrates SysTick against [`nops`]: returns the ticks it took. Under QEMU's `-icount`
/// the ratio is exact (40 instructions per tick on the MPS2's 25 MHz clock, 62.5 on the
/// micro:bit's 16 MHz).
fn calibration_ticks() -> u64 {
    let start = now();
    for _ in 0..10 {
        nops();
    }
    (now() - start).max(1)
}

/// Exactly 2,000 `nop`s (+ call and return), in a function of its own so that no
/// literal pool load has to reach across them.
#[inline(never)]
fn nops() {
    // SAFETY: a block of `nop` instructions touches no memory or registers.
    unsafe { core::arch::asm!(".rept 2000", "nop", ".endr", options(nomem, nostack)) };
}

unsafe extern "C" {
    static mut __sheap: u32;
}

/// Fills the free RAM between the end of static data and the current stack pointer
/// with a pattern.
fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
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
    unsafe extern "C" {
        static _stack_start: u32;
    }
    let top = &raw const _stack_start as usize;
    let mut p = &raw const __sheap;
    // SAFETY: reads words of RAM between the statics and the stack top.
    while (p as usize) < top && unsafe { p.read_volatile() } == PAINT {
        p = p.wrapping_add(1);
    }
    top - p as usize
}

#[exception]
fn SysTick() {
    cortex_m::interrupt::free(|cs| {
        let wraps = WRAPS.borrow(cs);
        wraps.set(wraps.get() + 1);
    });
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("hard fault: {:?}", frame);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
