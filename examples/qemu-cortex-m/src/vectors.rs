//! A one-entry device interrupt table instead of cortex-m-rt's default 240 (or 32 on
//! ARMv6-M) entries: these firmwares enable no device interrupt, and cortex-m-rt
//! requires at least one entry after the 16 exception vectors. With cortex-m-rt's
//! `device` feature the application supplies `__INTERRUPTS` (and `device.x`, written
//! by `build.rs`); this saves 956 bytes of flash on the M4 (128 on the M0).

unsafe extern "C" {
    /// cortex-m-rt's default handler (an infinite loop unless the firmware overrides it).
    fn DefaultHandler();
}

/// Device interrupt 0 (unused): the default handler.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
#[used]
static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [DefaultHandler];
