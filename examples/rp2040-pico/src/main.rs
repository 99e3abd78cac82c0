//! vae-core on the Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz).
//!
//! Generates a digit every second (seeds 0, 1, 2, ... as on the host), or at once when
//! the button on GP15 is pressed; for a class-conditional blob the button also steps the
//! requested digit 0 -> 9. Each digit goes to the defmt log (ASCII art, its CRC-32 and
//! the decode time measured with the RP2040's 1 MHz timer) and to an SSD1306 128x64 OLED
//! on I2C0 (GP4 SDA, GP5 SCL, 400 kHz): the 28x28 image scaled 2x and ordered-dithered
//! to 1 bit, with the seed, digit and decode time beside it. Without an OLED (or when it
//! stops answering) the firmware keeps going on defmt alone, and looks for it again
//! before each frame. The on-board LED (GP25) toggles with every digit.
#![no_std]
#![no_main]

use core::fmt::Write as _;

use defmt::{Debug2Format, Display2Format, error, info, warn};
use defmt_rtt as _;
use embedded_graphics::{
    mono_font::{MonoTextStyle, ascii::FONT_6X10},
    pixelcolor::BinaryColor,
    prelude::*,
    text::Text,
};
use embedded_hal::digital::{InputPin, StatefulOutputPin};
use panic_probe as _;
use rp2040_hal::{
    self as hal, Clock, Sio, Timer, Watchdog,
    fugit::RateExtU32,
    gpio::{FunctionI2C, Interrupt, PullUp},
    pac,
};
use ssd1306::{I2CDisplayInterface, Ssd1306, prelude::*};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request, format::crc32};

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
/// `memory.x`.
#[unsafe(link_section = ".boot2")]
#[unsafe(no_mangle)]
#[used]
pub static BOOT2_FIRMWARE: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XTAL_HZ: u32 = 12_000_000;
/// Time between two digits when the button is left alone.
const PERIOD_US: u64 = 1_000_000;
/// The button must read released this long before the next press counts.
const DEBOUNCE_US: u64 = 20_000;
/// Grey ramp for ASCII art, dark to bright.
const RAMP: &[u8] = b" .:-=+*#%@";
/// Scale of the image on the OLED.
const SCALE: usize = 2;
/// Top-left corner of the image on the OLED (56x56 px, vertically centred).
const IMAGE_AT: Point = Point::new(4, 4);
/// 4x4 Bayer matrix: an OLED pixel is lit when its grey level exceeds `16 * b + 8`.
const BAYER: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

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
    let timer = Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);
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

    let start = timer.get_counter();
    let decoder = match Vae::from_bytes(BLOB) {
        Ok(decoder) => decoder,
        Err(e) => defmt::panic!("cannot load the decoder blob: {}", Display2Format(&e)),
    };
    let load_us = (timer.get_counter() - start).to_micros();
    let classes = decoder.model().classes();
    info!(
        "vae-core on RP2040 at {} MHz: blob {} bytes (checked in {} us), latent {}, {} layers{}",
        clocks.system_clock.freq().to_MHz(),
        BLOB.len(),
        load_us,
        SHAPE.latent,
        SHAPE.layers,
        if classes.is_some() {
            ", conditional: the button steps the digit"
        } else {
            ""
        },
    );

    let mut image = [0u8; IMAGE_PIXELS];
    let mut seed: u64 = 0;
    let mut digit: u8 = 0;
    let mut due = 0; // timer µs of the next digit: the first one at once
    loop {
        let now = timer.get_counter().ticks();
        let pressed = button.poll(now);
        if let (true, Some(n)) = (pressed, classes) {
            digit = (digit + 1) % n.max(1);
        }
        if !pressed && now < due {
            continue;
        }

        let start = timer.get_counter();
        // A digit request decodes at vae_core::request::DIGIT_TEMPERATURE (0.5), where the
        // asked digit is the recognised one 99.4% of the time.
        let request = match classes {
            Some(_) => Request::new(seed).digit(digit),
            None => Request::new(seed),
        };
        let result = decoder.generate(&request, &mut image);
        let decode_us = (timer.get_counter() - start).to_micros();
        match result {
            Ok(()) => {
                let shown = Shown {
                    seed,
                    digit: classes.map(|_| digit),
                    decode_us,
                };
                log(&image, &shown);
                if !oled_ready {
                    oled_ready = oled.init().is_ok();
                    if oled_ready {
                        info!("OLED found on I2C0 (GP4 SDA, GP5 SCL)");
                    } else if seed == 0 {
                        warn!("no OLED on I2C0 (GP4 SDA, GP5 SCL): defmt output only");
                    }
                }
                if oled_ready {
                    oled.clear_buffer();
                    // Drawing fills the RAM buffer; the flush sends it over I2C.
                    let sent = draw(&mut oled, &image, &shown).and_then(|()| oled.flush());
                    if let Err(e) = sent {
                        warn!(
                            "OLED stopped answering ({}): defmt output only",
                            Debug2Format(&e)
                        );
                        oled_ready = false;
                    }
                }
            }
            Err(e) => error!("seed {}: {}", seed, Display2Format(&e)),
        }
        let Ok(()) = led.toggle();
        seed = seed.wrapping_add(1);
        due = timer.get_counter().ticks() + PERIOD_US;
    }
}

/// What a frame shows besides the image.
struct Shown {
    seed: u64,
    /// The requested digit, for a conditional blob.
    digit: Option<u8>,
    decode_us: u64,
}

/// The digit as ASCII art on the defmt log, with its CRC-32 (compare with the host's
/// output for the same seed) and decode time.
fn log(image: &[u8; IMAGE_PIXELS], shown: &Shown) {
    match shown.digit {
        Some(digit) => info!("seed {}, digit {}:", shown.seed, digit),
        None => info!("seed {}:", shown.seed),
    }
    for row in image.chunks_exact(IMAGE_SIDE) {
        let mut line = [b' '; IMAGE_SIDE];
        for (c, &p) in line.iter_mut().zip(row) {
            *c = RAMP[usize::from(p) * RAMP.len() / 256];
        }
        // The ramp is ASCII, so this never fails.
        info!("{=str}", core::str::from_utf8(&line).unwrap_or(""));
    }
    info!(
        "seed {}: crc32 {=u32:08x}, decoded in {} us",
        shown.seed,
        crc32(image),
        shown.decode_us
    );
}

/// Draws the image 2x, ordered-dithered to 1 bit, at [`IMAGE_AT`] and the text to its
/// right.
fn draw<D>(target: &mut D, image: &[u8; IMAGE_PIXELS], shown: &Shown) -> Result<(), D::Error>
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
