//! Enables the SMLAD kernel (`cfg(vae_dsp)`) on Arm targets with the DSP extension:
//! Cortex-M4/M7 (`thumbv7em-*`) and Cortex-M33/M55 (`thumbv8m.main-*`). Stable Rust
//! does not expose the `dsp` target feature to `cfg`, so the target name decides.
//!
//! Enables the Thumb-1 two-row loop (`cfg(vae_thumb1)`) on ARMv6-M (`thumbv6m-*`:
//! Cortex-M0/M0+), whose eight low registers make LLVM spill in the Rust loop.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(vae_dsp)");
    println!("cargo::rustc-check-cfg=cfg(vae_thumb1)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") || target.starts_with("thumbv8m.main") {
        println!("cargo::rustc-cfg=vae_dsp");
    }
    if target.starts_with("thumbv6m") {
        println!("cargo::rustc-cfg=vae_thumb1");
    }
}
