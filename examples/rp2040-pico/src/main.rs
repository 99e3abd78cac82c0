//! vae-core on the Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz), with nothing but
//! a USB cable; the same firmware builds for the Pico 2 (RP2350, Cortex-M33 at 150 MHz)
//! with `--no-default-features --features rp2350` (`cargo build-pico2`).
//!
//! The Pico shows up on the host as a USB serial port (CDC ACM, `console.rs`): when a
//! terminal opens it, the board prints a banner (the blob's shapes, prior, whether it is
//! conditional, and the blob's CRC-32), then each digit as ASCII art with its seed,
//! digit, CRC-32 and decode time in µs (`draw.rs`). Line commands (`command.rs`):
//! `g SEED`, `d DIGIT SEED`, `t TEMPERATURE`, `a`, `i`, `?`; a bad line gets a one-line
//! error.
//!
//! Until the first command it generates a digit every second (seeds 0, 1, 2, ... as on
//! the host), or at once when the button on GP15 is pressed; for a class-conditional
//! blob the button also steps the requested digit 0 -> 9. Each digit also goes to the
//! defmt log (for a debug probe) and to an SSD1306 128x64 OLED on I2C0 (GP4 SDA, GP5
//! SCL, 400 kHz) when one answers; the on-board LED (GP25) toggles with every digit.
#![no_std]
#![no_main]

#[cfg(all(feature = "rp2040", feature = "rp2350"))]
compile_error!("pick one chip: rp2040 (the default) or rp2350 (--no-default-features)");
#[cfg(not(any(feature = "rp2040", feature = "rp2350")))]
compile_error!("pick a chip: --features rp2040 (Pico) or rp2350 (Pico 2)");

mod command;
mod console;
mod draw;

// The chip's HAL (`hal`): the two share their API except for what `main` picks with
// `cfg`.
#[cfg(feature = "rp2350")]
use rp235x_hal as hal;
#[cfg(feature = "rp2040")]
use rp2040_hal as hal;

/// The chip, as the banner names it.
#[cfg(feature = "rp2040")]
const CHIP: &str = "RP2040";
#[cfg(feature = "rp2350")]
const CHIP: &str = "RP2350";

use core::fmt::Write as _;

use defmt::{Debug2Format, Display2Format, error, info, warn};
use defmt_rtt as _;
use embedded_hal::digital::{InputPin, StatefulOutputPin};
use hal::{
    Clock, Sio, Timer, Watchdog,
    fugit::RateExtU32,
    gpio::{FunctionI2C, Interrupt, PullUp},
    pac,
};
use panic_probe as _;
use ssd1306::{I2CDisplayInterface, Ssd1306, prelude::*};
use usb_device::bus::UsbBusAllocator;
use vae_core::{IMAGE_PIXELS, Request, format::Prior, format::crc32};

use command::{Command, HELP};
use console::{Console, Line};
use draw::Shown;

/// The embedded blob and its shapes, read at compile time (`build.rs` picks the file).
mod model {
    /// The decoder blob, in flash.
    pub static BLOB: &[u8] = include_bytes!(env!("VAE_BLOB_PATH"));
    /// The blob's shapes; a blob that cannot be read fails the build here.
    pub const SHAPE: vae_core::Shape = vae_core::Shape::of(BLOB);
    /// The decoder type for this blob.
    pub type Vae = vae_core::Decoder<'static, { SHAPE.latent }, { SHAPE.hidden }>;
}
use model::{BLOB, SHAPE, Vae};

/// Second-stage bootloader for the Pico's W25Q080 flash, placed at 0x10000000 by
/// `memory-rp2040.x`.
#[cfg(feature = "rp2040")]
#[unsafe(link_section = ".boot2")]
#[unsafe(no_mangle)]
#[used]
pub static BOOT2_FIRMWARE: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The RP2350's boot ROM looks for this block in the first 4 KiB of flash (placed by
/// `memory-rp2350.x`): a secure Arm executable.
#[cfg(feature = "rp2350")]
#[unsafe(link_section = ".start_block")]
#[used]
pub static IMAGE_DEF: hal::block::ImageDef = hal::block::ImageDef::secure_exe();

/// The Pico's crystal.
const XTAL_HZ: u32 = 12_000_000;
/// Time between two digits when the button is left alone.
const PERIOD_US: u64 = 1_000_000;
/// The button must read released this long before the next press counts.
const DEBOUNCE_US: u64 = 20_000;
/// Output-queue room a digit needs: 30 lines of at most 60 bytes.
const DIGIT_ROOM: usize = 1800;

#[hal::entry]
fn main() -> ! {
    let mut pac = defmt::unwrap!(pac::Peripherals::take());
    let mut watchdog = Watchdog::new(pac.WATCHDOG);
    let Ok(clocks) = hal::clocks::init_clocks_and_plls(
        XTAL_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    ) else {
        defmt::panic!("cannot start the clocks: is the 12 MHz crystal fitted?");
    };
    #[cfg(feature = "rp2040")]
    let timer = Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);
    #[cfg(feature = "rp2350")]
    let timer = Timer::new_timer0(pac.TIMER0, &mut pac.RESETS, &clocks);
    let sio = Sio::new(pac.SIO);
    let pins = hal::gpio::Pins::new(
        pac.IO_BANK0,
        pac.PADS_BANK0,
        sio.gpio_bank0,
        &mut pac.RESETS,
    );
    let mut led = pins.gpio25.into_push_pull_output();
    let mut button = Button::new(pins.gpio15.into_pull_up_input());

    let i2c = hal::I2C::i2c0(
        pac.I2C0,
        pins.gpio4.reconfigure::<FunctionI2C, PullUp>(),
        pins.gpio5.reconfigure::<FunctionI2C, PullUp>(),
        400.kHz(),
        &mut pac.RESETS,
        &clocks.system_clock,
    );
    let mut oled = Ssd1306::new(
        I2CDisplayInterface::new(i2c),
        DisplaySize128x64,
        DisplayRotation::Rotate0,
    )
    .into_buffered_graphics_mode();
    let mut oled_ready = false;

    // main never returns, so the allocator lives as long as the console that borrows it.
    #[cfg(feature = "rp2040")]
    let (usb_regs, usb_dpram) = (pac.USBCTRL_REGS, pac.USBCTRL_DPRAM);
    #[cfg(feature = "rp2350")]
    let (usb_regs, usb_dpram) = (pac.USB, pac.USB_DPRAM);
    let usb_bus = UsbBusAllocator::new(hal::usb::UsbBus::new(
        usb_regs,
        usb_dpram,
        clocks.usb_clock,
        true,
        &mut pac.RESETS,
    ));
    let mut console = Console::new(&usb_bus);

    let start = timer.get_counter();
    let decoder = match Vae::from_bytes(BLOB) {
        Ok(decoder) => decoder,
        Err(e) => defmt::panic!("cannot load the decoder blob: {}", Display2Format(&e)),
    };
    let load_us = (timer.get_counter() - start).to_micros();
    // The blob's own CRC-32, kept in its last 4 bytes (vae-core/FORMAT.md; `from_bytes`
    // has checked it), which tells blobs apart: the CRC-32 of a whole blob, trailer
    // included, is the same constant (0x2144df1c) for every blob.
    let blob_crc = BLOB
        .split_last_chunk::<4>()
        .map_or(0, |(_, crc)| u32::from_le_bytes(*crc));
    let classes = decoder.model().classes();
    let mhz = clocks.system_clock.freq().to_MHz();
    info!(
        "vae-core on {=str} at {} MHz: blob {} bytes (checked in {} us), crc32 {=u32:08x}, latent {}, {} layers{}",
        CHIP,
        mhz,
        BLOB.len(),
        load_us,
        blob_crc,
        SHAPE.latent,
        SHAPE.layers,
        if classes.is_some() {
            ", conditional: the button steps the digit"
        } else {
            ""
        },
    );

    let mut image = [0u8; IMAGE_PIXELS];
    // The automatic digits: seeds 0, 1, 2, ... every PERIOD_US until a command arrives.
    let mut auto = true;
    let mut auto_seed: u64 = 0;
    let mut digit: u8 = 0;
    let mut temperature: Option<f32> = None;
    let mut due = 0; // timer µs of the next automatic digit: the first one at once
    // The digit a command or the button asked for, waiting for room in the output queue.
    let mut pending: Option<(u64, Option<u8>)> = None;
    loop {
        let polled = console.poll();
        if polled.opened {
            let _ = banner(&mut console, &decoder, mhz, blob_crc);
        }
        let now = timer.get_counter().ticks();
        if button.poll(now) {
            if let Some(n) = classes {
                digit = (digit + 1) % n.max(1);
            }
            pending = Some((auto_seed, classes.map(|_| digit)));
        }
        if pending.is_none() && auto && now >= due {
            pending = Some((auto_seed, classes.map(|_| digit)));
        }
        // Commands are read only when nothing waits, so the host's lines queue in USB.
        if pending.is_none()
            && console.room() >= DIGIT_ROOM
            && let Some(line) = console.read_line()
        {
            let parsed = match line {
                Line::Text(text) => command::parse(text),
                Line::Bad => Err(command::ParseError::Unreadable),
            };
            match parsed {
                Ok(command) => {
                    auto = command == Command::Auto;
                    match command {
                        Command::Generate { seed } => pending = Some((seed, None)),
                        Command::Digit { digit: d, seed } => match classes {
                            Some(n) if d < n => pending = Some((seed, Some(d))),
                            Some(n) => {
                                let _ = write!(
                                    console,
                                    "error: digit {d}: the blob has classes 0..{}\r\n",
                                    n - 1
                                );
                            }
                            None => {
                                let _ = write!(
                                    console,
                                    "error: d needs a conditional blob; this one is unconditional (use g SEED)\r\n"
                                );
                            }
                        },
                        Command::Temperature(t) => {
                            temperature = t;
                            let _ = match t {
                                Some(t) => write!(console, "temperature {t}\r\n"),
                                None => {
                                    write!(console, "temperature: the default of each request\r\n")
                                }
                            };
                        }
                        Command::Auto => due = now,
                        Command::Info => {
                            let _ = banner(&mut console, &decoder, mhz, blob_crc);
                        }
                        Command::Help => {
                            for line in HELP {
                                let _ = write!(console, "{line}\r\n");
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = write!(console, "error: {e} (? for help)\r\n");
                }
            }
        }
        let Some((seed, asked)) = pending else {
            continue;
        };
        if console.is_open() && console.room() < DIGIT_ROOM {
            continue; // let the host read the previous digit first
        }
        pending = None;

        let start = timer.get_counter();
        let mut request = match asked {
            Some(d) => Request::new(seed).digit(d),
            None => Request::new(seed),
        };
        if let Some(t) = temperature {
            request = request.temperature(t);
        }
        let result = decoder.generate(&request, &mut image);
        let decode_us = (timer.get_counter() - start).to_micros();
        if let Err(e) = result {
            error!("seed {}: {}", seed, Display2Format(&e));
            let _ = write!(console, "error: seed {seed}: {e}\r\n");
            continue;
        }
        let shown = Shown {
            seed,
            digit: asked,
            crc: crc32(&image),
            decode_us,
        };
        let _ = draw::text(&mut console, &image, &shown);
        log(&image, &shown);
        if !oled_ready {
            oled_ready = oled.init().is_ok();
            if oled_ready {
                info!("OLED found on I2C0 (GP4 SDA, GP5 SCL)");
            } else if seed == 0 {
                warn!("no OLED on I2C0 (GP4 SDA, GP5 SCL): console output only");
            }
        }
        if oled_ready {
            oled.clear_buffer();
            // Drawing fills the RAM buffer; the flush sends it over I2C.
            let sent = draw::oled(&mut oled, &image, &shown).and_then(|()| oled.flush());
            if let Err(e) = sent {
                warn!(
                    "OLED stopped answering ({}): console output only",
                    Debug2Format(&e)
                );
                oled_ready = false;
            }
        }
        let Ok(()) = led.toggle();
        if auto && seed == auto_seed {
            auto_seed = auto_seed.wrapping_add(1);
        }
        due = timer.get_counter().ticks() + PERIOD_US;
    }
}

/// The banner a terminal sees when it opens the port.
fn banner(out: &mut Console<'_>, decoder: &Vae, mhz: u32, blob_crc: u32) -> core::fmt::Result {
    let model = decoder.model();
    write!(
        out,
        "\r\nvae-core on {CHIP} at {mhz} MHz\r\nblob {} bytes, crc32 {blob_crc:08x}, latent {}, hidden {}, {} layers, ",
        BLOB.len(),
        SHAPE.latent,
        SHAPE.hidden,
        SHAPE.layers,
    )?;
    match model.classes() {
        Some(n) => write!(out, "conditional ({n} classes)")?,
        None => out.write_str("unconditional")?,
    }
    match model.prior {
        Prior::Standard => out.write_str(", prior N(0, I)\r\n")?,
        Prior::Mixture { components, .. } | Prior::MixtureF16 { components, .. } => {
            write!(out, ", prior mixture of {components} Gaussians\r\n")?
        }
    }
    out.write_str("commands: g SEED | d DIGIT SEED | t TEMPERATURE | a | i | ? (help)\r\n")
}

/// The digit on the defmt log (for a debug probe), as on the console.
fn log(image: &[u8; IMAGE_PIXELS], shown: &Shown) {
    info!("{}:", Display2Format(shown));
    for row in image.chunks_exact(vae_core::IMAGE_SIDE) {
        let line = draw::ascii_row(row);
        // The ramp is ASCII, so this never fails.
        info!("{=str}", core::str::from_utf8(&line).unwrap_or(""));
    }
    info!(
        "{}: crc32 {=u32:08x}, decoded in {} us",
        Display2Format(shown),
        shown.crc,
        shown.decode_us
    );
}

/// The push button: GP15 to GND, internal pull-up, so pressed reads low.
///
/// The pin's falling-edge flag latches a press even while a decode keeps the loop busy.
/// Bounces are ignored: after a press, the button must read released for
/// [`DEBOUNCE_US`] (which also discards the edges latched meanwhile) before the next
/// press counts.
struct Button {
    pin: ButtonPin,
    /// Whether the next falling edge counts as a press.
    armed: bool,
    /// Timer µs since when the button has read released.
    released_since: Option<u64>,
}

type ButtonPin = hal::gpio::Pin<hal::gpio::bank0::Gpio15, hal::gpio::FunctionSioInput, PullUp>;

impl Button {
    fn new(mut pin: ButtonPin) -> Self {
        // Latch falling edges in the status register; the IO_BANK0 interrupt stays
        // masked in the NVIC, so no handler runs.
        pin.clear_interrupt(Interrupt::EdgeLow);
        pin.set_interrupt_enabled(Interrupt::EdgeLow, true);
        Self {
            pin,
            armed: false,
            released_since: None,
        }
    }

    /// Whether a new press happened since the last call; `now` in timer µs.
    fn poll(&mut self, now: u64) -> bool {
        let Ok(released) = self.pin.is_high();
        if released {
            let since = *self.released_since.get_or_insert(now);
            if !self.armed && now - since >= DEBOUNCE_US {
                self.armed = true;
                self.pin.clear_interrupt(Interrupt::EdgeLow); // release bounces
            }
        } else {
            self.released_since = None;
        }
        if self.pin.interrupt_status(Interrupt::EdgeLow) {
            self.pin.clear_interrupt(Interrupt::EdgeLow);
            if self.armed {
                self.armed = false;
                return true;
            }
        }
        false
    }
}
