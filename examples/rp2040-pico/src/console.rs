//! The USB serial console (CDC ACM): a port that the host sees as `/dev/ttyACM0` (Linux),
//! `/dev/cu.usbmodem*` (macOS) or a COM port (Windows).
//!
//! Output goes through a RAM queue that [`Console::poll`] hands to the USB endpoint 64
//! bytes at a time, so printing never blocks the decoder; while no terminal holds the
//! port open (DTR low) the queue is dropped. Input is read a line at a time, and only
//! when the caller asks for one, so a host that sends many commands at once waits in
//! the USB buffers until each digit's output has room.
use core::fmt;

use crate::hal::usb::UsbBus;
use usb_device::{device::UsbDeviceState, prelude::*};
use usbd_serial::SerialPort;

/// Bytes of output the queue holds: a digit (its 28 rows of ASCII art and two lines)
/// takes about 1 KB, the banner and help about 600 bytes.
const QUEUE: usize = 4096;
/// The longest command line; longer lines are dropped with an error.
pub const LINE: usize = 48;

/// The console: the USB device, its serial port, the output queue and the input line.
pub struct Console<'a> {
    device: UsbDevice<'a, UsbBus>,
    serial: SerialPort<'a, UsbBus>,
    /// Output waiting for the host; `out_start` is the oldest byte.
    out: [u8; QUEUE],
    out_start: usize,
    out_len: usize,
    /// The line being typed.
    line: heapless::Vec<u8, LINE>,
    /// The line overflowed [`LINE`]: the rest of it is dropped up to its end.
    overlong: bool,
    /// `line` was handed out: the next read starts a new one.
    taken: bool,
    /// Whether a terminal held the port open at the last poll.
    open: bool,
}

/// What [`Console::poll`] saw.
pub struct Polled {
    /// A terminal has just opened the port: time for the banner.
    pub opened: bool,
}

/// A complete input line, or one that was too long.
pub enum Line<'l> {
    /// The line, without its ending.
    Text(&'l str),
    /// A line longer than [`LINE`] bytes, or not UTF-8.
    Bad,
}

impl<'a> Console<'a> {
    /// A console on `bus`: the device announces itself as a CDC ACM serial port.
    pub fn new(bus: &'a usb_device::bus::UsbBusAllocator<UsbBus>) -> Self {
        let serial = SerialPort::new(bus);
        // pid.codes' test VID/PID for CDC ACM serial ports (also used by the HAL's examples).
        let device = UsbDeviceBuilder::new(bus, UsbVidPid(0x16c0, 0x27dd))
            .strings(&[StringDescriptors::default()
                .manufacturer("vae-core")
                .product("vae-core digits")
                .serial_number(crate::CHIP)])
            // 64-byte control packets (the chip's maximum, usb-device's default is 8):
            // fewer transactions while enumerating, and the whole 9-byte configuration
            // header in one packet, which rp2040js's USB host (the CI check) expects.
            .and_then(|b| b.max_packet_size_0(64))
            .map(|b| b.device_class(usbd_serial::USB_CLASS_CDC).build());
        let Ok(device) = device else {
            // One language with three short strings and a valid packet size are always
            // accepted.
            unreachable!("one set of USB string descriptors");
        };
        Self {
            device,
            serial,
            out: [0; QUEUE],
            out_start: 0,
            out_len: 0,
            line: heapless::Vec::new(),
            overlong: false,
            taken: false,
            open: false,
        }
    }

    /// Services the USB device (call at least every few milliseconds) and sends what the
    /// queue holds as far as the host takes it.
    pub fn poll(&mut self) -> Polled {
        self.device.poll(&mut [&mut self.serial]);
        let open = self.device.state() == UsbDeviceState::Configured && self.serial.dtr();
        let opened = open && !self.open;
        self.open = open;
        if !open {
            self.out_len = 0;
        }
        while self.out_len > 0 {
            let end = (self.out_start + self.out_len).min(QUEUE);
            match self.serial.write(&self.out[self.out_start..end]) {
                Ok(n) if n > 0 => {
                    self.out_start = (self.out_start + n) % QUEUE;
                    self.out_len -= n;
                }
                _ => break, // endpoint busy: the rest goes at the next poll
            }
        }
        if self.out_len == 0 {
            self.out_start = 0;
        }
        Polled { opened }
    }

    /// Whether a terminal holds the port open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Free bytes in the output queue.
    pub fn room(&self) -> usize {
        QUEUE - self.out_len
    }

    /// The next complete input line, reading at most what the USB buffers hold now.
    pub fn read_line(&mut self) -> Option<Line<'_>> {
        if core::mem::take(&mut self.taken) {
            self.line.clear();
        }
        let mut byte = [0u8; 1];
        loop {
            match self.serial.read(&mut byte) {
                Ok(1) => {}
                _ => return None,
            }
            match byte[0] {
                b'\r' | b'\n' => {
                    if core::mem::take(&mut self.overlong) {
                        self.line.clear();
                        return Some(Line::Bad);
                    }
                    if self.line.is_empty() {
                        continue; // the \n of \r\n, or an empty line
                    }
                    break;
                }
                b => {
                    if self.line.push(b).is_err() {
                        self.overlong = true;
                    }
                }
            }
        }
        self.taken = true;
        let text = core::str::from_utf8(&self.line).ok();
        Some(text.map_or(Line::Bad, Line::Text))
    }
}

/// Writes queue text; when the queue is full the rest is dropped (callers check
/// [`Console::room`] before printing a digit).
impl fmt::Write for Console<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !self.open {
            return Ok(());
        }
        for &b in s.as_bytes() {
            if self.out_len == QUEUE {
                return Err(fmt::Error);
            }
            self.out[(self.out_start + self.out_len) % QUEUE] = b;
            self.out_len += 1;
        }
        Ok(())
    }
}
