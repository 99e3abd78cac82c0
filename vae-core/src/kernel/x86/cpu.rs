//! x86-64 CPU feature detection in `core`: `CPUID` for what the CPU implements and
//! `XGETBV` for what the operating system saves on a context switch (a kernel that does
//! not save the YMM or ZMM registers makes their instructions unusable even where
//! `CPUID` lists them). Needs no `std`, so a `no_std` user on a host gets the fast tiers
//! too. Probed once and cached in an atomic byte (a race probes twice and stores the
//! same answer); compiled with the target features, the answer is a constant.

use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
use core::sync::atomic::{AtomicU8, Ordering};

/// The cached answer is valid.
const KNOWN: u8 = 0x80;
/// AVX2 with the YMM state saved by the OS.
const AVX2: u8 = 1;
/// AVX-512 F, BW and VNNI with the ZMM and mask state saved by the OS.
const AVX512: u8 = 2;
/// AVX2 and AVX-VNNI (`VPDPBUSD` on YMM registers, VEX-encoded) with the YMM state saved.
const AVX_VNNI: u8 = 4;
/// AVX2, AVX-512 VNNI and VL (`VPDPBUSD` on YMM registers, EVEX-encoded) with the ZMM and
/// mask state saved.
const AVX512_VNNI_VL: u8 = 8;

static FEATURES: AtomicU8 = AtomicU8::new(0);

/// Whether the CPU and OS run AVX2.
#[inline]
pub(crate) fn has_avx2() -> bool {
    cfg!(target_feature = "avx2") || features() & AVX2 != 0
}

/// Whether the CPU and OS run AVX-512 F, BW and VNNI.
#[inline]
pub(crate) fn has_avx512_vnni() -> bool {
    cfg!(all(
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vnni"
    )) || features() & AVX512 != 0
}

/// Whether the CPU and OS run AVX2 and AVX-VNNI (Intel since Alder Lake, AMD since Zen 5).
#[inline]
pub(crate) fn has_avx_vnni() -> bool {
    cfg!(all(target_feature = "avx2", target_feature = "avxvnni")) || features() & AVX_VNNI != 0
}

/// Whether the CPU and OS run AVX2 and the 256-bit form of AVX-512 VNNI (AVX-512 VNNI and
/// VL): the same `VPDPBUSD` on YMM registers as AVX-VNNI, in its EVEX encoding.
#[inline]
pub(crate) fn has_avx512_vnni_vl() -> bool {
    cfg!(all(
        target_feature = "avx2",
        target_feature = "avx512vnni",
        target_feature = "avx512vl"
    )) || features() & AVX512_VNNI_VL != 0
}

#[inline]
fn features() -> u8 {
    let f = FEATURES.load(Ordering::Relaxed);
    if f & KNOWN != 0 {
        return f;
    }
    let f = probe() | KNOWN;
    FEATURES.store(f, Ordering::Relaxed);
    f
}

#[cold]
fn probe() -> u8 {
    let bit = |reg: u32, b: u32| reg & (1 << b) != 0;
    // SAFETY (all CPUID calls): every x86-64 CPU has CPUID; leaf 7 is read only when the
    // maximum leaf (leaf 0's EAX) includes it.
    #[allow(unused_unsafe)]
    let max_leaf = unsafe { __cpuid(0) }.eax;
    if max_leaf < 7 {
        return 0;
    }
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
    // OSXSAVE (the OS enabled XGETBV) and AVX.
    if !(bit(leaf1.ecx, 27) && bit(leaf1.ecx, 28)) {
        return 0;
    }
    // SAFETY: OSXSAVE is set, so XGETBV exists and XCR0 is readable.
    let xcr0 = unsafe { xcr0() };
    // XMM (bit 1) and YMM (bit 2) state.
    if xcr0 & 0b110 != 0b110 {
        return 0;
    }
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    let mut f = 0;
    let avx2 = bit(leaf7.ebx, 5);
    if avx2 {
        f |= AVX2;
    }
    // Leaf 7's subleaf 1 exists when subleaf 0's EAX (the last subleaf) is at least 1;
    // AVX-VNNI is its EAX bit 4.
    if avx2 && leaf7.eax >= 1 {
        #[allow(unused_unsafe)]
        let leaf7_1 = unsafe { __cpuid_count(7, 1) };
        if bit(leaf7_1.eax, 4) {
            f |= AVX_VNNI;
        }
    }
    // Opmask (5), upper halves of ZMM0-15 (6) and ZMM16-31 (7); AVX-512 F (EBX 16), BW
    // (EBX 30), VL (EBX 31), VNNI (ECX 11).
    let zmm = xcr0 & 0b1110_0000 == 0b1110_0000;
    let vnni = zmm && bit(leaf7.ebx, 16) && bit(leaf7.ecx, 11);
    if vnni && bit(leaf7.ebx, 30) {
        f |= AVX512;
    }
    if vnni && avx2 && bit(leaf7.ebx, 31) {
        f |= AVX512_VNNI_VL;
    }
    f
}

/// XCR0, the state components the OS saves.
///
/// # Safety
/// The CPU must have XGETBV enabled (CPUID leaf 1, ECX bit 27, OSXSAVE).
#[target_feature(enable = "xsave")]
unsafe fn xcr0() -> u64 {
    // SAFETY: the caller checked OSXSAVE.
    #[allow(unused_unsafe)]
    unsafe {
        _xgetbv(0)
    }
}

#[cfg(test)]
mod tests {
    /// The `core` probe agrees with `std`'s detection.
    #[test]
    fn probe_agrees_with_std() {
        let std_avx2 = std::is_x86_feature_detected!("avx2");
        let std_512 = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni");
        let std_avx_vnni = std_avx2 && std::is_x86_feature_detected!("avxvnni");
        let std_512_vl = std_avx2
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512vl");
        assert_eq!(super::has_avx2(), std_avx2);
        assert_eq!(super::has_avx512_vnni(), std_512);
        assert_eq!(super::has_avx_vnni(), std_avx_vnni);
        assert_eq!(super::has_avx512_vnni_vl(), std_512_vl);
        let p = super::probe();
        assert_eq!(p & super::AVX2 != 0, std_avx2);
        assert_eq!(p & super::AVX512 != 0, std_512);
        assert_eq!(p & super::AVX_VNNI != 0, std_avx_vnni);
        assert_eq!(p & super::AVX512_VNNI_VL != 0, std_512_vl);
    }
}
