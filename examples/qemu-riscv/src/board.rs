//! The QEMU `virt` board's devices the firmwares use: the NS16550 UART for text, the
//! SiFive test device for the exit status, and the `minstret` CSR for instruction counts.

/// NS16550 UART 0 (QEMU `virt`).
const UART: usize = 0x1000_0000;
/// Transmit holding register.
const UART_THR: usize = 0;
/// Line status register; bit 5: the transmit holding register is empty.
const UART_LSR: usize = 5;
const LSR_THRE: u8 = 1 << 5;
/// SiFive test device ("finisher"): 0x5555 exits QEMU with status 0,
/// `(code << 16) | 0x3333` with status `code`.
const FINISHER: usize = 0x0010_0000;

/// Writes bytes to the UART, waiting for room before each.
pub fn write_bytes(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: the NS16550's registers on QEMU `virt`, byte-wide MMIO; nothing else
        // in the firmware touches them.
        unsafe {
            while core::ptr::read_volatile((UART + UART_LSR) as *const u8) & LSR_THRE == 0 {}
            core::ptr::write_volatile((UART + UART_THR) as *mut u8, b);
        }
    }
}

/// Ends the QEMU run: exit status 0 if `ok`, else 1.
pub fn exit(ok: bool) -> ! {
    let value: u32 = if ok { 0x5555 } else { (1 << 16) | 0x3333 };
    // SAFETY: the SiFive test device's only register, a word-wide MMIO write.
    unsafe { core::ptr::write_volatile(FINISHER as *mut u32, value) };
    loop {
        core::hint::spin_loop();
    }
}

/// Instructions retired since reset (the 64-bit `minstret`, read as high, low, high so a
/// carry between the two halves is not missed). Exact under QEMU's `-icount shift=0`.
#[allow(dead_code)] // the lean firmware does not measure
pub fn instret() -> u64 {
    loop {
        let (hi, lo, hi2): (u32, u32, u32);
        // SAFETY: reads machine-mode counter CSRs (the firmware runs in M-mode); no
        // memory is touched.
        unsafe {
            core::arch::asm!(
                "csrr {0}, minstreth",
                "csrr {1}, minstret",
                "csrr {2}, minstreth",
                out(reg) hi, out(reg) lo, out(reg) hi2,
                options(nomem, nostack)
            );
        }
        if hi == hi2 {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// `core::fmt` output to the UART.
#[allow(dead_code)] // the lean firmware writes bytes directly
pub struct Uart;

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}
